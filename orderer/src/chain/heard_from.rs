//! Which followers a leader has heard from lately, for the membership checks.
//!
//! raft-rs keeps one flag per follower (`recent_active`): any message from the
//! follower sets it, and every quorum check (once an election timeout)
//! clears all of them. Right after a check every follower reads as silent
//! until it answers the next heartbeat, so a consenter update checked in that
//! window would count none of them reachable and be refused on a healthy
//! cluster. [`HeardFrom`] keeps the followers of the period the last check
//! closed: a follower counts if it spoke in this period or the one before,
//! so one that has gone quiet still drops out within two election timeouts.
//! Sans-IO: the chain calls it around each tick.

use std::collections::BTreeSet;

/// The followers heard from in the period before the current one.
#[derive(Debug, Default)]
pub(crate) struct HeardFrom {
    previous: BTreeSet<u64>,
}

impl HeardFrom {
    /// Records one tick of a leader: `before` and `after` are the followers
    /// Raft counted active on either side of it. A flag that went out means
    /// a quorum check closed the period, and `before` is what it heard.
    pub(crate) fn ticked(&mut self, before: BTreeSet<u64>, after: &BTreeSet<u64>) {
        if !before.is_subset(after) {
            self.previous = before;
        }
    }

    /// Forgets the last period (this node stopped leading: a later term
    /// starts from what Raft hears then).
    pub(crate) fn forget(&mut self) {
        self.previous.clear();
    }

    /// Whether `id` spoke in the period the last quorum check closed.
    pub(crate) fn in_previous_period(&self, id: u64) -> bool {
        self.previous.contains(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u64]) -> BTreeSet<u64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn a_follower_counts_through_the_check_that_clears_it_and_drops_out_after_two() {
        let mut heard = HeardFrom::default();
        // Both followers answer during the first period.
        heard.ticked(set(&[]), &set(&[2]));
        heard.ticked(set(&[2]), &set(&[2, 3]));
        assert!(!heard.in_previous_period(2));
        // The quorum check clears both flags: they still count.
        heard.ticked(set(&[2, 3]), &set(&[]));
        assert!(heard.in_previous_period(2) && heard.in_previous_period(3));
        // Only 2 answers in the next period; the check after it drops 3.
        heard.ticked(set(&[]), &set(&[2]));
        assert!(heard.in_previous_period(3), "kept until the period ends");
        heard.ticked(set(&[2]), &set(&[]));
        assert!(heard.in_previous_period(2));
        assert!(!heard.in_previous_period(3), "silent for a whole period");
        heard.forget();
        assert!(!heard.in_previous_period(2));
    }
}
