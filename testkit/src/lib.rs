//! What weft's test suites share, so that each does not keep its own copy.
//!
//! Tests never sleep for a fixed time: they wait on a condition with a
//! timeout ([`wait_for`]), which fails with what was awaited.

pub mod disks;
pub mod faults;
pub mod hosts;
pub mod ledger_check;
pub mod material;
pub mod netfilter;

use std::time::Duration;

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(20);

/// Waits until `cond` holds, polling, for at most `timeout`; panics naming
/// `what` if it never does.
pub async fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_until_the_condition_holds() {
        let mut polls = 0;
        wait_for("three polls", Duration::from_secs(5), || {
            polls += 1;
            polls >= 3
        })
        .await;
        assert_eq!(polls, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out waiting for nothing")]
    async fn names_what_never_came() {
        wait_for("nothing", Duration::from_millis(50), || false).await;
    }
}
