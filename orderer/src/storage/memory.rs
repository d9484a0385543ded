//! A channel's storage in memory, with the RocksDB store's behaviour (the
//! conformance suite checks both): what the multi-node tests of `Chain` run
//! on. Clones share one state, so a test "restarts" a node by opening a new
//! chain on a clone of its store: everything written survives, as on disk
//! after a synced write.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use raft::prelude::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{RaftState, StorageError};

use super::ChannelStorage;
use crate::OrdererError;

#[derive(Debug, Default)]
struct State {
    hard_state: HardState,
    conf_state: Option<ConfState>,
    snapshot: Snapshot,
    /// Entries after the snapshot, by index.
    log: BTreeMap<u64, Entry>,
    applied: u64,
    blocks: BTreeMap<u64, Vec<u8>>,
    stash: BTreeMap<u64, Vec<u8>>,
}

impl State {
    fn snapshot_index_term(&self) -> (u64, u64) {
        self.snapshot
            .metadata
            .as_ref()
            .map_or((0, 0), |m| (m.index, m.term))
    }

    fn last_index(&self) -> u64 {
        self.log
            .keys()
            .next_back()
            .copied()
            .unwrap_or(self.snapshot_index_term().0)
    }

    fn height(&self) -> u64 {
        self.blocks.len() as u64
    }
}

/// One channel's store, in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("memory store lock")
    }
}

fn unavailable() -> raft::Error {
    raft::Error::Store(StorageError::Unavailable)
}

impl raft::Storage for MemoryStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        let s = self.state();
        Ok(RaftState {
            hard_state: s.hard_state.clone(),
            conf_state: s.conf_state.clone().unwrap_or_default(),
        })
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _ctx: raft::GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        let s = self.state();
        if low <= s.snapshot_index_term().0 {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > s.last_index() + 1 {
            return Err(unavailable());
        }
        let max = max_size.into();
        let mut out: Vec<Entry> = Vec::new();
        let mut size = 0u64;
        for e in s.log.range(low..high).map(|(_, e)| e) {
            size += prost011::Message::encoded_len(e) as u64;
            // Always return at least one entry, as raft requires.
            if !out.is_empty() && max.is_some_and(|m| size > m) {
                break;
            }
            out.push(e.clone());
        }
        if out.first().is_none_or(|e| e.index != low) {
            return Err(unavailable());
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let s = self.state();
        let (si, st) = s.snapshot_index_term();
        if idx == si {
            return Ok(st);
        }
        if idx < si {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        s.log.get(&idx).map(|e| e.term).ok_or_else(unavailable)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.state().snapshot_index_term().0 + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.state().last_index())
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let s = self.state();
        match &s.snapshot.metadata {
            Some(md) if md.index >= request_index && md.index > 0 => Ok(s.snapshot.clone()),
            _ => Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            )),
        }
    }
}

impl ChannelStorage for MemoryStore {
    fn raft_state(&self) -> Result<RaftState, OrdererError> {
        Ok(raft::Storage::initial_state(self)?)
    }

    fn is_initialized(&self) -> Result<bool, OrdererError> {
        Ok(self.state().conf_state.is_some())
    }

    fn persist(
        &self,
        snapshot: Option<&Snapshot>,
        entries: &[Entry],
        hard_state: Option<&HardState>,
    ) -> Result<(), OrdererError> {
        let mut s = self.state();
        if let Some((snap, md)) = snapshot.and_then(|sn| sn.metadata.as_ref().map(|md| (sn, md))) {
            s.snapshot = snap.clone();
            if let Some(cs) = &md.conf_state {
                s.conf_state = Some(cs.clone());
            }
            // The leader's snapshot replaces the whole log.
            s.log.clear();
        }
        if let Some(first) = entries.first() {
            // A new entry at index i replaces everything from i on.
            s.log.split_off(&first.index);
            for e in entries {
                s.log.insert(e.index, e.clone());
            }
        }
        if let Some(hs) = hard_state {
            s.hard_state = hs.clone();
        }
        Ok(())
    }

    fn set_commit(&self, commit: u64) -> Result<(), OrdererError> {
        self.state().hard_state.commit = commit;
        Ok(())
    }

    fn set_conf_state(&self, cs: &ConfState) -> Result<(), OrdererError> {
        self.state().conf_state = Some(cs.clone());
        Ok(())
    }

    fn apply_conf_change(&self, index: u64, cs: &ConfState) -> Result<(), OrdererError> {
        let mut s = self.state();
        s.conf_state = Some(cs.clone());
        s.applied = index;
        Ok(())
    }

    fn apply(&self, index: u64, block: Option<(u64, &[u8])>) -> Result<(), OrdererError> {
        let mut s = self.state();
        if let Some((number, bytes)) = block {
            let height = s.height();
            if number != height {
                return Err(OrdererError::Corrupt {
                    what: "block store".into(),
                    reason: format!("applying block {number} at height {height}"),
                });
            }
            s.blocks.insert(number, bytes.to_vec());
        }
        s.applied = index;
        Ok(())
    }

    fn applied_index(&self) -> Result<u64, OrdererError> {
        Ok(self.state().applied)
    }

    fn height(&self) -> Result<u64, OrdererError> {
        Ok(self.state().height())
    }

    fn block(&self, number: u64) -> Result<Option<Vec<u8>>, OrdererError> {
        Ok(self.state().blocks.get(&number).cloned())
    }

    fn snapshot_at(&self, index: u64, data: Vec<u8>) -> Result<(), OrdererError> {
        let term = raft::Storage::term(self, index)?;
        let mut s = self.state();
        s.snapshot = Snapshot {
            data,
            metadata: Some(SnapshotMetadata {
                conf_state: Some(s.conf_state.clone().unwrap_or_default()),
                index,
                term,
            }),
        };
        let kept = s.log.split_off(&(index + 1));
        s.log = kept;
        Ok(())
    }

    fn stash_block(&self, index: u64, number: u64, bytes: &[u8]) -> Result<(), OrdererError> {
        let mut s = self.state();
        s.stash.insert(number, bytes.to_vec());
        s.applied = index;
        Ok(())
    }

    fn drain_stash(&self) -> Result<Vec<(u64, Vec<u8>)>, OrdererError> {
        let mut s = self.state();
        let mut out = Vec::new();
        loop {
            let height = s.height();
            let Some(bytes) = s.stash.remove(&height) else {
                break;
            };
            s.blocks.insert(height, bytes.clone());
            out.push((height, bytes));
        }
        // Drop stale entries below the height (already written by catch-up).
        let height = s.height();
        let kept = s.stash.split_off(&height);
        s.stash = kept;
        Ok(out)
    }

    fn stashed_block(&self, number: u64) -> Result<Option<Vec<u8>>, OrdererError> {
        Ok(self.state().stash.get(&number).cloned())
    }

    fn highest_stashed(&self) -> Result<Option<u64>, OrdererError> {
        Ok(self.state().stash.keys().next_back().copied())
    }

    fn set_applied(&self, index: u64) -> Result<(), OrdererError> {
        self.state().applied = index;
        Ok(())
    }

    fn latest_snapshot(&self) -> Result<Snapshot, OrdererError> {
        Ok(self.state().snapshot.clone())
    }
}
