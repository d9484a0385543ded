//! Who leads, and what a leader builds on: observing Raft's leadership,
//! rebasing a new leader on its log, reconciling voters with the consenters,
//! and handing leadership over while this node still fetches blocks.

use super::*;

impl<S: ChannelStorage> Chain<S> {
    /// Observes leadership (see the module docs), then tells whether this
    /// node leads and can take offers. Call it, rather than
    /// [`Chain::is_leader`], before deciding on an offer between Readies.
    ///
    /// A leader still fetching the blocks a snapshot skipped takes none until
    /// it has written them: it does not know their envelopes yet, so it could
    /// not tell a resubmission of one from a new envelope.
    pub fn leading(&mut self) -> Result<bool, OrdererError> {
        self.observe_leader()?;
        if let Some(tip) = self.fetching_until
            && self.store.height()? > tip
        {
            self.fetching_until = None;
        }
        Ok(self.leading_term.is_some() && self.fetching_until.is_none())
    }

    pub(super) fn hand_over_while_fetching(&mut self) -> Result<(), OrdererError> {
        if self.leading()? || self.leading_term.is_none() {
            self.fetching_ticks = 0;
            return Ok(());
        }
        self.fetching_ticks += 1;
        if self.fetching_ticks < self.settings.election_tick {
            return Ok(());
        }
        self.fetching_ticks = 0;
        tracing::warn!(fetching_until = ?self.fetching_until, "leader still fetching blocks");
        self.hand_over_leadership("it is still fetching blocks")
    }

    /// If this node leads, hands leadership to the follower whose log
    /// matches most of its own (among the recently active ones first).
    pub(super) fn hand_over_leadership(&mut self, why: &str) -> Result<(), OrdererError> {
        if self.leading_term.is_none() {
            return Ok(());
        }
        let me = self.settings.node_id;
        let voters = self.node.raft.prs().conf().voters().ids();
        let best = self
            .node
            .raft
            .prs()
            .iter()
            .filter(|(id, _)| **id != me && voters.contains(**id))
            .max_by_key(|(_, p)| (p.recent_active, p.matched))
            .map(|(id, _)| *id);
        if let Some(to) = best {
            tracing::warn!(from = me, to, "handing leadership over: {why}");
            self.node.transfer_leader(to);
        }
        Ok(())
    }

    /// The leader brings Raft's voters in line with the consenter membership,
    /// one conf change at a time. Doing it from state rather than from events
    /// means a leader elected mid-change still finishes it.
    pub(super) fn reconcile_voters(&mut self) -> Result<(), OrdererError> {
        if !self.is_leader() || self.node.raft.has_pending_conf() {
            return Ok(());
        }
        let voters: std::collections::BTreeSet<u64> =
            self.node.raft.prs().conf().voters().ids().iter().collect();
        let wanted: std::collections::BTreeSet<u64> =
            self.settings.membership.ids.iter().copied().collect();
        let change = match (
            wanted.difference(&voters).next(),
            voters.difference(&wanted).next(),
        ) {
            (Some(add), _) => Some((*add, true)),
            (None, Some(remove)) => Some((*remove, false)),
            (None, None) => None,
        };
        if let Some((id, add)) = change {
            match self.propose_membership(id, add) {
                Ok(()) => tracing::info!(node = id, add, "proposed raft membership change"),
                Err(OrdererError::Raft(raft::Error::ProposalDropped)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Follows Raft's view of leadership: reports a new leader, and on a
    /// change of the term this node leads in (including starting or ceasing
    /// to lead) drops what the old leadership held and builds on the log for
    /// the new one.
    pub(super) fn observe_leader(&mut self) -> Result<(), OrdererError> {
        let leading_term =
            (self.node.raft.state == StateRole::Leader).then_some(self.node.raft.term);
        if leading_term != self.leading_term {
            if self.leading_term.is_some() {
                // Pending envelopes were never proposed; their clients will resubmit.
                self.cutter.cut();
            }
            self.in_flight.clear();
            self.config_pending = false;
            self.leading_term = leading_term;
            if leading_term.is_some() {
                self.rebase_on_log()?;
            }
        }
        let leader = self.node.raft.leader_id;
        if leader != self.leader {
            self.leader = leader;
            self.events.push(ChainEvent::LeaderChanged(leader));
        }
        Ok(())
    }

    /// A new leader builds on the newest block in its log, committed or not,
    /// persisted or not, and holds the envelopes there as already ordered.
    pub(super) fn rebase_on_log(&mut self) -> Result<(), OrdererError> {
        let applied = self.store.applied_index()?;
        self.tip = self.applied_tip()?;
        let written = self.store.height()? - 1;
        self.fetching_until = (self.tip.0 > written).then_some(self.tip.0);
        let entries = self.node.raft.raft_log.entries(
            applied + 1,
            None,
            raft::GetEntriesContext::empty(false),
        )?;
        for e in entries
            .iter()
            .filter(|e| e.entry_type == EntryType::EntryNormal as i32 && !e.data.is_empty())
        {
            let block = decode_block(&e.data)?;
            for digest in envelope_digests(&e.context, &envelopes_of(&block)) {
                self.in_flight.insert(digest);
            }
            self.config_pending |= is_config_block(&block);
            self.tip = block_tip(&block);
        }
        Ok(())
    }

    /// The newest block this node has applied: the newest written, unless it
    /// is still fetching the blocks a snapshot skipped, in which case the
    /// newest block kept aside past that gap, or else the snapshot's.
    pub(super) fn applied_tip(&self) -> Result<(u64, Vec<u8>), OrdererError> {
        let height = self.store.height()?;
        let written = self
            .store
            .block(height - 1)?
            .expect("height counts stored blocks");
        let newest = match self.store.highest_stashed()? {
            Some(n) => self.store.stashed_block(n)?,
            None => Some(self.store.latest_snapshot()?.data).filter(|d| !d.is_empty()),
        };
        let mut tip = block_tip(&decode_block(&written)?);
        if let Some(bytes) = newest {
            let candidate = block_tip(&decode_block(&bytes)?);
            if candidate.0 > tip.0 {
                tip = candidate;
            }
        }
        Ok(tip)
    }
}
