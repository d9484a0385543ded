//! Driving a raft-rs `RawNode`: the Ready loop, one step at a time.
//!
//! [`handle_ready`] follows raft-rs's documented Ready handling, made stricter
//! so that nothing leaves the node before it is durable:
//!
//! 1. persist the snapshot, the new entries and the hard state (one atomic write);
//! 2. send the messages (including those that must wait for persistence);
//! 3. hand a received snapshot to the state machine (it catches up on blocks);
//! 4. apply committed entries, in order;
//! 5. advance; persist the new commit index, send and apply what the light
//!    ready carries; `advance_apply`.
//!
//! The effects go through [`ReadyEffects`], so the ordering is unit-tested
//! without I/O, and the async shell only moves messages and timers.

use raft::prelude::{Entry, HardState, Message, Snapshot};
use raft::{RawNode, Storage};

use crate::OrdererError;

/// What a Ready asks the outside world to do.
pub trait ReadyEffects {
    /// Make the snapshot, entries and hard state durable (atomically).
    fn persist(
        &mut self,
        snapshot: Option<&Snapshot>,
        entries: &[Entry],
        hard_state: Option<&HardState>,
    ) -> Result<(), OrdererError>;
    /// Send messages to other nodes (best effort; Raft retries).
    fn send(&mut self, messages: Vec<Message>);
    /// The node fell behind a snapshot: bring the state machine up to it.
    fn restore(&mut self, snapshot: &Snapshot) -> Result<(), OrdererError>;
    /// Apply committed entries, in order.
    fn apply(&mut self, entries: Vec<Entry>) -> Result<(), OrdererError>;
    /// Record a new commit index.
    fn commit_index(&mut self, commit: u64) -> Result<(), OrdererError>;
}

/// Handles one Ready, if the node has one. Returns whether it did.
pub fn handle_ready<S: Storage>(
    node: &mut RawNode<S>,
    fx: &mut impl ReadyEffects,
) -> Result<bool, OrdererError> {
    if !node.has_ready() {
        return Ok(false);
    }
    let mut rd = node.ready();
    let snapshot = (!rd.snapshot().is_empty()).then(|| rd.snapshot().clone());
    // 1. Durable first.
    fx.persist(snapshot.as_ref(), rd.entries(), rd.hs())?;
    // 2. Then talk.
    let mut out = rd.take_messages();
    out.extend(rd.take_persisted_messages());
    if !out.is_empty() {
        fx.send(out);
    }
    // 3. Catch the state machine up to a snapshot.
    if let Some(s) = &snapshot {
        fx.restore(s)?;
    }
    // 4. Apply.
    let committed = rd.take_committed_entries();
    if !committed.is_empty() {
        fx.apply(committed)?;
    }
    // 5. Advance.
    let mut light = node.advance(rd);
    if let Some(commit) = light.commit_index() {
        fx.commit_index(commit)?;
    }
    let msgs = light.take_messages();
    if !msgs.is_empty() {
        fx.send(msgs);
    }
    let committed = light.take_committed_entries();
    if !committed.is_empty() {
        fx.apply(committed)?;
    }
    node.advance_apply();
    Ok(true)
}

/// A slog drain that forwards raft-rs's logs to `tracing` (target `raft`).
pub struct SlogToTracing;

impl slog::Drain for SlogToTracing {
    type Ok = ();
    type Err = slog::Never;

    fn log(
        &self,
        record: &slog::Record<'_>,
        _values: &slog::OwnedKVList,
    ) -> Result<(), slog::Never> {
        let msg = record.msg().to_string();
        match record.level() {
            slog::Level::Critical | slog::Level::Error => tracing::error!(target: "raft", "{msg}"),
            slog::Level::Warning => tracing::warn!(target: "raft", "{msg}"),
            slog::Level::Info => tracing::info!(target: "raft", "{msg}"),
            slog::Level::Debug => tracing::debug!(target: "raft", "{msg}"),
            slog::Level::Trace => tracing::trace!(target: "raft", "{msg}"),
        }
        Ok(())
    }
}

/// A raft logger that writes through `tracing`.
pub fn raft_logger() -> slog::Logger {
    slog::Logger::root(SlogToTracing, slog::o!())
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, VecDeque};

    use raft::prelude::EntryType;

    use super::*;
    use crate::storage::ChannelStorage;
    use crate::storage::ChannelStore;

    /// Records the order of effects and performs them on a real store.
    struct Recorder {
        store: ChannelStore,
        log: Vec<&'static str>,
        outbox: Vec<Message>,
        applied: Vec<Vec<u8>>,
    }

    impl ReadyEffects for Recorder {
        fn persist(
            &mut self,
            s: Option<&Snapshot>,
            e: &[Entry],
            hs: Option<&HardState>,
        ) -> Result<(), OrdererError> {
            if s.is_some() || !e.is_empty() || hs.is_some() {
                self.log.push("persist");
            }
            self.store.persist(s, e, hs)
        }
        fn send(&mut self, m: Vec<Message>) {
            self.log.push("send");
            self.outbox.extend(m);
        }
        fn restore(&mut self, _s: &Snapshot) -> Result<(), OrdererError> {
            self.log.push("restore");
            Ok(())
        }
        fn apply(&mut self, entries: Vec<Entry>) -> Result<(), OrdererError> {
            self.log.push("apply");
            for e in entries {
                if e.entry_type == EntryType::EntryNormal as i32 && !e.data.is_empty() {
                    self.applied.push(e.data.clone());
                }
                self.store.apply(e.index, None)?;
            }
            Ok(())
        }
        fn commit_index(&mut self, c: u64) -> Result<(), OrdererError> {
            self.log.push("commit");
            self.store.set_commit(c)
        }
    }

    struct Peer {
        node: RawNode<ChannelStore>,
        fx: Recorder,
        _dir: tempfile::TempDir,
    }

    fn cluster(n: u64) -> HashMap<u64, Peer> {
        (1..=n)
            .map(|id| {
                let dir = tempfile::tempdir().unwrap();
                let store = ChannelStore::open(dir.path()).unwrap();
                store.initialize(&(1..=n).collect::<Vec<_>>()).unwrap();
                let cfg = raft::Config {
                    id,
                    election_tick: 10,
                    heartbeat_tick: 1,
                    ..Default::default()
                };
                let node = RawNode::new(&cfg, store.clone(), &raft_logger()).unwrap();
                let fx = Recorder {
                    store,
                    log: Vec::new(),
                    outbox: Vec::new(),
                    applied: Vec::new(),
                };
                (
                    id,
                    Peer {
                        node,
                        fx,
                        _dir: dir,
                    },
                )
            })
            .collect()
    }

    /// Runs Ready handling and message delivery until the cluster is quiet.
    fn settle(peers: &mut HashMap<u64, Peer>) {
        let mut queue: VecDeque<Message> = VecDeque::new();
        for _ in 0..10_000 {
            for p in peers.values_mut() {
                p.fx.log.push("|"); // one Ready cycle per segment
                handle_ready(&mut p.node, &mut p.fx).unwrap();
                queue.extend(p.fx.outbox.drain(..));
            }
            let Some(m) = queue.pop_front() else {
                if peers.values().all(|p| !p.node.has_ready()) {
                    return;
                }
                continue;
            };
            if let Some(p) = peers.get_mut(&m.to) {
                p.node.step(m).unwrap();
            }
        }
        panic!("cluster did not settle");
    }

    #[test]
    fn every_ready_persists_before_it_sends_or_applies() {
        let mut peers = cluster(3);
        peers.get_mut(&1).unwrap().node.campaign().unwrap();
        settle(&mut peers);
        assert!(peers[&1].node.raft.state == raft::StateRole::Leader);
        for i in 0..20u8 {
            peers
                .get_mut(&1)
                .unwrap()
                .node
                .propose(vec![], vec![i])
                .unwrap();
            settle(&mut peers);
        }
        for (id, p) in &peers {
            assert_eq!(
                p.fx.applied,
                (0..20u8).map(|i| vec![i]).collect::<Vec<_>>(),
                "node {id} applied the same sequence"
            );
            // Within every Ready cycle, nothing is persisted after a message
            // was sent or an entry applied.
            let mut cycles_with_persist = 0;
            for cycle in p.fx.log.split(|s| *s == "|") {
                let first_effect = cycle.iter().position(|s| *s == "send" || *s == "apply");
                if let Some(persist) = cycle.iter().rposition(|s| *s == "persist") {
                    cycles_with_persist += 1;
                    if let Some(effect) = first_effect {
                        assert!(
                            persist < effect,
                            "node {id}: persisted after sending/applying in {cycle:?}"
                        );
                    }
                }
            }
            assert!(
                cycles_with_persist > 20,
                "node {id} persisted in {cycles_with_persist} cycles"
            );
        }
    }

    /// A fake effects recorder that checks, within a single `handle_ready`, that
    /// persistence happens before any message leaves and before any apply.
    #[test]
    fn ordering_within_one_ready_is_persist_send_apply() {
        let mut peers = cluster(1);
        let p = peers.get_mut(&1).unwrap();
        p.node.campaign().unwrap();
        p.fx.log.clear();
        handle_ready(&mut p.node, &mut p.fx).unwrap();
        p.node.propose(vec![], b"x".to_vec()).unwrap();
        p.fx.log.clear();
        // A single-node leader appends and commits in the same cycle.
        while handle_ready(&mut p.node, &mut p.fx).unwrap() {}
        let first_persist =
            p.fx.log
                .iter()
                .position(|s| *s == "persist")
                .expect("persisted");
        let first_apply =
            p.fx.log
                .iter()
                .position(|s| *s == "apply")
                .expect("applied");
        assert!(first_persist < first_apply, "{:?}", p.fx.log);
        assert_eq!(p.fx.applied.last().unwrap(), b"x");
    }

    #[test]
    fn a_restarted_node_resumes_from_its_store() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = ChannelStore::open(dir.path()).unwrap();
            store.initialize(&[1]).unwrap();
            let cfg = raft::Config {
                id: 1,
                ..Default::default()
            };
            let mut node = RawNode::new(&cfg, store.clone(), &raft_logger()).unwrap();
            let mut fx = Recorder {
                store,
                log: vec![],
                outbox: vec![],
                applied: vec![],
            };
            node.campaign().unwrap();
            while handle_ready(&mut node, &mut fx).unwrap() {}
            for i in 0..5u8 {
                node.propose(vec![], vec![i]).unwrap();
                while handle_ready(&mut node, &mut fx).unwrap() {}
            }
            assert_eq!(fx.applied.len(), 5);
        }
        let store = ChannelStore::open(dir.path()).unwrap();
        let applied = store.applied_index().unwrap();
        let cfg = raft::Config {
            id: 1,
            applied,
            ..Default::default()
        };
        let mut node = RawNode::new(&cfg, store.clone(), &raft_logger()).unwrap();
        let mut fx = Recorder {
            store,
            log: vec![],
            outbox: vec![],
            applied: vec![],
        };
        node.campaign().unwrap();
        while handle_ready(&mut node, &mut fx).unwrap() {}
        node.propose(vec![], vec![99]).unwrap();
        while handle_ready(&mut node, &mut fx).unwrap() {}
        assert_eq!(
            fx.applied,
            vec![vec![99]],
            "nothing applied twice after restart"
        );
    }
}
