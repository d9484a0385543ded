//! A channel's storage in RocksDB: the Raft log, hard state and snapshot, and
//! the channel's block store, in one database with column families.
//!
//! Every write that must be atomic is one `WriteBatch`:
//! - persisting a Raft `Ready` (snapshot, entries, hard state) is synced before
//!   any message that depends on it is sent;
//! - applying a committed entry writes the block, the chain height and the
//!   applied index together, so a restart never sees a block without its index
//!   or the reverse. These writes are not synced: the entry they come from is
//!   already durable in the Raft log, so after a crash both roll back together
//!   and the entry is applied again (the WAL is sequential, so the next synced
//!   write — a persist or a snapshot — makes them durable too).
//!
//! Storage errors are fatal to the channel's Raft instance (as in raft-rs).

use std::path::Path;
use std::sync::{Arc, Mutex};

use prost011::Message as _;
use raft::prelude::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{RaftState, StorageError};
use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};

use super::ChannelStorage;
use crate::OrdererError;

const CF_LOG: &str = "raft_log";
const CF_STATE: &str = "raft_state";
const CF_BLOCKS: &str = "blocks";
/// Committed blocks that arrived before the blocks they follow (during catch-up).
const CF_STASH: &str = "stashed_blocks";
const KEY_HARD_STATE: &[u8] = b"hard_state";
const KEY_CONF_STATE: &[u8] = b"conf_state";
const KEY_SNAPSHOT: &[u8] = b"snapshot";
const KEY_APPLIED: &[u8] = b"applied_index";
const KEY_HEIGHT: &[u8] = b"height";

fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

fn from_be(b: &[u8]) -> Result<u64, OrdererError> {
    let arr: [u8; 8] = b.try_into().map_err(|_| OrdererError::Corrupt {
        what: "u64 key".into(),
        reason: format!("{} bytes", b.len()),
    })?;
    Ok(u64::from_be_bytes(arr))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> OrdererError {
    OrdererError::Corrupt {
        what: what.into(),
        reason: e.to_string(),
    }
}

/// Index bounds of the log and the term of every entry in it, cached so
/// that raft's frequent queries (`term` above all) never read the database.
#[derive(Debug, Clone, Default)]
struct Bounds {
    /// Index and term of the latest snapshot (0 when none).
    snapshot_index: u64,
    snapshot_term: u64,
    /// Last entry index (== snapshot_index when the log is empty).
    last_index: u64,
    /// `terms[i]` is the term of entry `snapshot_index + 1 + i`.
    terms: std::collections::VecDeque<u64>,
}

impl Bounds {
    /// The log now starts after a snapshot at `index` (entries up to it are gone).
    fn compact_to(&mut self, index: u64, term: u64) {
        if index >= self.last_index {
            self.terms.clear();
        } else {
            let gone = index.saturating_sub(self.snapshot_index) as usize;
            self.terms.drain(..gone.min(self.terms.len()));
        }
        self.snapshot_index = index;
        self.snapshot_term = term;
        self.last_index = self.last_index.max(index);
    }

    /// The log is now empty after an installed snapshot at `index`.
    fn reset_to(&mut self, index: u64, term: u64) {
        self.terms.clear();
        self.snapshot_index = index;
        self.snapshot_term = term;
        self.last_index = index;
    }

    /// `entries` (consecutive) replace everything from their first index on.
    fn append(&mut self, entries: &[Entry]) {
        let Some(first) = entries.first() else {
            return;
        };
        let keep = first.index.saturating_sub(self.snapshot_index + 1) as usize;
        self.terms.truncate(keep);
        self.terms.extend(entries.iter().map(|e| e.term));
        self.last_index = entries.last().expect("non-empty").index;
    }

    /// The term of entry `idx`, if it is in the log.
    fn term_of(&self, idx: u64) -> Option<u64> {
        let i = idx.checked_sub(self.snapshot_index + 1)?;
        self.terms.get(usize::try_from(i).ok()?).copied()
    }
}

/// One channel's database.
#[derive(Clone)]
pub struct ChannelStore {
    db: Arc<DB>,
    bounds: Arc<Mutex<Bounds>>,
}

impl std::fmt::Debug for ChannelStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelStore")
            .field("path", &self.db.path())
            .finish()
    }
}

fn sync_opts() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

impl ChannelStore {
    /// Opens (or creates) the store at `dir`.
    pub fn open(dir: &Path) -> Result<Self, OrdererError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [CF_LOG, CF_STATE, CF_BLOCKS, CF_STASH]
            .map(|n| ColumnFamilyDescriptor::new(n, Options::default()));
        let db = DB::open_cf_descriptors(&opts, dir, cfs)?;
        let store = Self {
            db: Arc::new(db),
            bounds: Arc::new(Mutex::new(Bounds::default())),
        };
        let snap = store.stored_snapshot()?;
        let (si, st) = snap.metadata.as_ref().map_or((0, 0), |m| (m.index, m.term));
        let mut bounds = Bounds {
            snapshot_index: si,
            snapshot_term: st,
            last_index: si,
            terms: Default::default(),
        };
        bounds.append(&store.log_from(si + 1)?);
        *store.bounds.lock().expect("bounds lock") = bounds;
        Ok(store)
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column families are created at open")
    }

    fn get_msg<M: prost011::Message + Default>(
        &self,
        cf: &str,
        key: &[u8],
    ) -> Result<Option<M>, OrdererError> {
        match self.db.get_cf(self.cf(cf), key)? {
            None => Ok(None),
            Some(b) => M::decode(b.as_slice())
                .map(Some)
                .map_err(|e| corrupt(&String::from_utf8_lossy(key), e)),
        }
    }

    /// Every log entry from index `low` on (what a restart reloads the terms from).
    fn log_from(&self, low: u64) -> Result<Vec<Entry>, OrdererError> {
        let mut out = Vec::new();
        let mut it = self.db.raw_iterator_cf(self.cf(CF_LOG));
        it.seek(be(low));
        while let Some(v) = it.value() {
            out.push(Entry::decode(v).map_err(|e| corrupt("raft log entry", e))?);
            it.next();
        }
        it.status()?;
        Ok(out)
    }

    fn stored_snapshot(&self) -> Result<Snapshot, OrdererError> {
        Ok(self
            .get_msg::<Snapshot>(CF_STATE, KEY_SNAPSHOT)?
            .unwrap_or_default())
    }

    /// Whether this is the last open handle on the database.
    pub fn is_last_handle(&self) -> bool {
        Arc::strong_count(&self.db) == 1
    }
}

fn storage_err(e: OrdererError) -> raft::Error {
    raft::Error::Store(StorageError::Other(Box::new(e)))
}

impl raft::Storage for ChannelStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        self.raft_state().map_err(storage_err)
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _ctx: raft::GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        let (snapshot_index, last_index) = {
            let b = self.bounds.lock().expect("bounds lock");
            (b.snapshot_index, b.last_index)
        };
        if low <= snapshot_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > last_index + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let max = max_size.into();
        let mut out = Vec::with_capacity((high - low) as usize);
        let mut size = 0u64;
        let mut it = self.db.raw_iterator_cf(self.cf(CF_LOG));
        it.seek(be(low));
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let idx = from_be(k).map_err(storage_err)?;
            if idx >= high {
                break;
            }
            let e = Entry::decode(v).map_err(|e| storage_err(corrupt("raft log entry", e)))?;
            size += e.encoded_len() as u64;
            // Always return at least one entry, as raft requires.
            if !out.is_empty() && max.is_some_and(|m| size > m) {
                break;
            }
            out.push(e);
            it.next();
        }
        it.status().map_err(|e| storage_err(e.into()))?;
        if out.is_empty() || out[0].index != low {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let b = self.bounds.lock().expect("bounds lock");
        if idx == b.snapshot_index {
            return Ok(b.snapshot_term);
        }
        if idx < b.snapshot_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        b.term_of(idx)
            .ok_or(raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.bounds.lock().expect("bounds lock").snapshot_index + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.bounds.lock().expect("bounds lock").last_index)
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let snap = self.stored_snapshot().map_err(storage_err)?;
        match &snap.metadata {
            Some(md) if md.index >= request_index && md.index > 0 => Ok(snap),
            _ => Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            )),
        }
    }
}

impl ChannelStorage for ChannelStore {
    /// The persisted hard state and conf state.
    fn raft_state(&self) -> Result<RaftState, OrdererError> {
        Ok(RaftState {
            hard_state: self.get_msg(CF_STATE, KEY_HARD_STATE)?.unwrap_or_default(),
            conf_state: self.get_msg(CF_STATE, KEY_CONF_STATE)?.unwrap_or_default(),
        })
    }

    /// Whether anything was ever persisted (a restart rather than a first start).
    fn is_initialized(&self) -> Result<bool, OrdererError> {
        Ok(self.db.get_cf(self.cf(CF_STATE), KEY_CONF_STATE)?.is_some())
    }

    /// Persists what a Raft `Ready` asks for, atomically: snapshot (replacing the
    /// whole log), new entries (truncating any conflicting suffix) and the hard state.
    fn persist(
        &self,
        snapshot: Option<&Snapshot>,
        entries: &[Entry],
        hard_state: Option<&HardState>,
    ) -> Result<(), OrdererError> {
        let mut batch = WriteBatch::default();
        let mut last_index = self.bounds.lock().expect("bounds lock").last_index;
        let snapshot = snapshot.and_then(|s| s.metadata.as_ref().map(|md| (s, md)));
        if let Some((snap, md)) = snapshot {
            batch.put_cf(self.cf(CF_STATE), KEY_SNAPSHOT, snap.encode_to_vec());
            if let Some(cs) = &md.conf_state {
                batch.put_cf(self.cf(CF_STATE), KEY_CONF_STATE, cs.encode_to_vec());
            }
            // The leader's snapshot replaces the whole log, as raft-rs's
            // storage does: entries after it may be of a stale term.
            batch.delete_range_cf(self.cf(CF_LOG), be(0), be(u64::MAX));
            last_index = md.index;
        }
        if let Some(first) = entries.first() {
            // A new entry at index i replaces everything from i on.
            if first.index <= last_index {
                batch.delete_range_cf(self.cf(CF_LOG), be(first.index), be(last_index + 1));
            }
            for e in entries {
                batch.put_cf(self.cf(CF_LOG), be(e.index), e.encode_to_vec());
            }
        }
        if let Some(hs) = hard_state {
            batch.put_cf(self.cf(CF_STATE), KEY_HARD_STATE, hs.encode_to_vec());
        }
        self.db.write_opt(batch, &sync_opts())?;
        let mut bounds = self.bounds.lock().expect("bounds lock");
        if let Some((_, md)) = snapshot {
            bounds.reset_to(md.index, md.term);
        }
        bounds.append(entries);
        Ok(())
    }

    /// Records a new commit index in the hard state. Not synced: Raft can learn
    /// the commit index again from the leader after a crash.
    fn set_commit(&self, commit: u64) -> Result<(), OrdererError> {
        let mut hs: HardState = self.get_msg(CF_STATE, KEY_HARD_STATE)?.unwrap_or_default();
        hs.commit = commit;
        self.db.put_cf_opt(
            self.cf(CF_STATE),
            KEY_HARD_STATE,
            hs.encode_to_vec(),
            &WriteOptions::default(),
        )?;
        Ok(())
    }

    /// Records a membership change that was applied.
    fn set_conf_state(&self, cs: &ConfState) -> Result<(), OrdererError> {
        self.db.put_cf_opt(
            self.cf(CF_STATE),
            KEY_CONF_STATE,
            cs.encode_to_vec(),
            &sync_opts(),
        )?;
        Ok(())
    }

    /// Applies a committed membership change: the voters it leaves and its
    /// entry's index as applied, in one synced write. A snapshot taken later
    /// in the same Ready then carries these voters, and a crash cannot leave
    /// the change applied but its voters unrecorded.
    fn apply_conf_change(&self, index: u64, cs: &ConfState) -> Result<(), OrdererError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_STATE), KEY_CONF_STATE, cs.encode_to_vec());
        batch.put_cf(self.cf(CF_STATE), KEY_APPLIED, be(index));
        self.db.write_opt(batch, &sync_opts())?;
        Ok(())
    }

    /// Applies a committed entry: writes `block` (if any) as the next block and
    /// the entry's index as applied, in one atomic write.
    fn apply(&self, index: u64, block: Option<(u64, &[u8])>) -> Result<(), OrdererError> {
        let mut batch = WriteBatch::default();
        if let Some((number, bytes)) = block {
            let height = self.height()?;
            if number != height {
                return Err(OrdererError::Corrupt {
                    what: "block store".into(),
                    reason: format!("applying block {number} at height {height}"),
                });
            }
            batch.put_cf(self.cf(CF_BLOCKS), be(number), bytes);
            batch.put_cf(self.cf(CF_STATE), KEY_HEIGHT, be(number + 1));
        }
        batch.put_cf(self.cf(CF_STATE), KEY_APPLIED, be(index));
        self.db.write(batch)?;
        Ok(())
    }

    /// The last applied Raft index.
    fn applied_index(&self) -> Result<u64, OrdererError> {
        self.db
            .get_cf(self.cf(CF_STATE), KEY_APPLIED)?
            .map_or(Ok(0), |b| from_be(&b))
    }

    /// Number of blocks stored.
    fn height(&self) -> Result<u64, OrdererError> {
        self.db
            .get_cf(self.cf(CF_STATE), KEY_HEIGHT)?
            .map_or(Ok(0), |b| from_be(&b))
    }

    /// The stored bytes of block `number`.
    fn block(&self, number: u64) -> Result<Option<Vec<u8>>, OrdererError> {
        Ok(self.db.get_cf(self.cf(CF_BLOCKS), be(number))?)
    }

    /// Takes a snapshot at `index` (already applied) holding `data`, and drops
    /// the log up to it.
    fn snapshot_at(&self, index: u64, data: Vec<u8>) -> Result<(), OrdererError> {
        let term = raft::Storage::term(self, index)?;
        let cs: ConfState = self.get_msg(CF_STATE, KEY_CONF_STATE)?.unwrap_or_default();
        let snap = Snapshot {
            data,
            metadata: Some(SnapshotMetadata {
                conf_state: Some(cs),
                index,
                term,
            }),
        };
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_STATE), KEY_SNAPSHOT, snap.encode_to_vec());
        batch.delete_range_cf(self.cf(CF_LOG), be(0), be(index + 1));
        self.db.write_opt(batch, &sync_opts())?;
        self.bounds
            .lock()
            .expect("bounds lock")
            .compact_to(index, term);
        Ok(())
    }

    /// Records a committed block that cannot be written yet because earlier
    /// blocks are still being fetched, together with its entry's index as applied.
    fn stash_block(&self, index: u64, number: u64, bytes: &[u8]) -> Result<(), OrdererError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_STASH), be(number), bytes);
        batch.put_cf(self.cf(CF_STATE), KEY_APPLIED, be(index));
        self.db.write_opt(batch, &sync_opts())?;
        Ok(())
    }

    /// Moves stashed blocks that now follow the chain into the block store, in
    /// order; returns them.
    fn drain_stash(&self) -> Result<Vec<(u64, Vec<u8>)>, OrdererError> {
        let mut out = Vec::new();
        loop {
            let height = self.height()?;
            let Some(bytes) = self.db.get_cf(self.cf(CF_STASH), be(height))? else {
                break;
            };
            let mut batch = WriteBatch::default();
            batch.put_cf(self.cf(CF_BLOCKS), be(height), &bytes);
            batch.put_cf(self.cf(CF_STATE), KEY_HEIGHT, be(height + 1));
            batch.delete_cf(self.cf(CF_STASH), be(height));
            self.db.write_opt(batch, &sync_opts())?;
            out.push((height, bytes));
        }
        // Drop stale entries below the height (already written by catch-up).
        let height = self.height()?;
        self.db
            .delete_range_cf_opt(self.cf(CF_STASH), be(0), be(height), &sync_opts())?;
        Ok(out)
    }

    /// A stashed block's bytes.
    fn stashed_block(&self, number: u64) -> Result<Option<Vec<u8>>, OrdererError> {
        Ok(self.db.get_cf(self.cf(CF_STASH), be(number))?)
    }

    /// The highest stashed block number, if any.
    fn highest_stashed(&self) -> Result<Option<u64>, OrdererError> {
        let mut it = self.db.raw_iterator_cf(self.cf(CF_STASH));
        it.seek_to_last();
        it.status()?;
        it.key().map(from_be).transpose()
    }

    /// Marks a snapshot's index as applied (its state arrives by block transfer).
    fn set_applied(&self, index: u64) -> Result<(), OrdererError> {
        self.db
            .put_cf_opt(self.cf(CF_STATE), KEY_APPLIED, be(index), &sync_opts())?;
        Ok(())
    }

    fn latest_snapshot(&self) -> Result<Snapshot, OrdererError> {
        self.stored_snapshot()
    }
}
