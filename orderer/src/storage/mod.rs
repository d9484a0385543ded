//! Per-channel storage: the Raft log, hard state and snapshot, and the
//! channel's block store, behind one trait ([`ChannelStorage`]) with two
//! implementations: [`ChannelStore`] in RocksDB (what a node runs) and
//! [`MemoryStore`] (what the multi-node tests of `Chain` run on, without
//! disks). One conformance suite (`conformance`, tests only) holds both to the
//! same behaviour.
//!
//! Every write that must be atomic is atomic in both:
//! - persisting a Raft `Ready` (snapshot, entries, hard state) is durable
//!   before any message that depends on it is sent;
//! - applying a committed entry writes the block, the chain height and the
//!   applied index together, so a restart never sees a block without its
//!   index or the reverse;
//! - a membership change writes its voters with its applied index.
//!
//! Storage errors are fatal to the channel's Raft instance (as in raft-rs).

mod memory;
mod rocks;

#[cfg(test)]
mod conformance;

use raft::RaftState;
use raft::prelude::{ConfState, Entry, HardState, Snapshot};

pub use memory::MemoryStore;
pub use rocks::ChannelStore;

use crate::OrdererError;

/// The SHA-256 digests of one written block's envelopes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDigests {
    /// The block's number.
    pub number: u64,
    /// One digest per envelope.
    pub digests: Vec<[u8; 32]>,
}

/// What a channel's chain stores: raft-rs's [`raft::Storage`] plus the
/// writes a `Ready` and an apply make, and the block store.
pub trait ChannelStorage: raft::Storage + Clone + Send + Sync + 'static {
    /// The persisted hard state and conf state.
    fn raft_state(&self) -> Result<RaftState, OrdererError>;
    /// Whether anything was ever persisted (a restart rather than a first start).
    fn is_initialized(&self) -> Result<bool, OrdererError>;
    /// Sets the initial membership of a brand-new Raft group.
    fn initialize(&self, voters: &[u64]) -> Result<(), OrdererError> {
        self.set_conf_state(&ConfState {
            voters: voters.to_vec(),
            ..Default::default()
        })
    }
    /// Persists what a Raft `Ready` asks for, atomically: snapshot (replacing
    /// the whole log), new entries (truncating any conflicting suffix) and the
    /// hard state.
    fn persist(
        &self,
        snapshot: Option<&Snapshot>,
        entries: &[Entry],
        hard_state: Option<&HardState>,
    ) -> Result<(), OrdererError>;
    /// Records a new commit index in the hard state.
    fn set_commit(&self, commit: u64) -> Result<(), OrdererError>;
    /// Records a membership change that was applied.
    fn set_conf_state(&self, cs: &ConfState) -> Result<(), OrdererError>;
    /// Applies a committed membership change: its voters and its entry's
    /// index as applied, in one write.
    fn apply_conf_change(&self, index: u64, cs: &ConfState) -> Result<(), OrdererError>;
    /// Applies a committed entry: writes `block` (if any) as the next block
    /// and the entry's index as applied, in one write. A block out of order
    /// is refused and nothing changes.
    fn apply(&self, index: u64, block: Option<(u64, &[u8])>) -> Result<(), OrdererError>;
    /// The last applied Raft index.
    fn applied_index(&self) -> Result<u64, OrdererError>;
    /// Number of blocks stored.
    fn height(&self) -> Result<u64, OrdererError>;
    /// The stored bytes of block `number`.
    fn block(&self, number: u64) -> Result<Option<Vec<u8>>, OrdererError>;
    /// Writes a block outside Raft (a genesis block, or blocks fetched during catch-up).
    fn append_block(&self, number: u64, bytes: &[u8]) -> Result<(), OrdererError> {
        self.apply(self.applied_index()?, Some((number, bytes)))
    }
    /// Takes a snapshot at `index` (already applied) holding `data`, with the
    /// current voters, and drops the log up to it.
    fn snapshot_at(&self, index: u64, data: Vec<u8>) -> Result<(), OrdererError>;
    /// Keeps a committed block that cannot be written yet (earlier blocks are
    /// still being fetched), with its entry's index as applied.
    fn stash_block(&self, index: u64, number: u64, bytes: &[u8]) -> Result<(), OrdererError>;
    /// Moves stashed blocks that now follow the chain into the block store,
    /// in order, and drops stashed blocks below the height; returns those moved.
    fn drain_stash(&self) -> Result<Vec<(u64, Vec<u8>)>, OrdererError>;
    /// A stashed block's bytes.
    fn stashed_block(&self, number: u64) -> Result<Option<Vec<u8>>, OrdererError>;
    /// The highest stashed block number, if any.
    fn highest_stashed(&self) -> Result<Option<u64>, OrdererError>;
    /// Marks a snapshot's index as applied (its state arrives by block transfer).
    fn set_applied(&self, index: u64) -> Result<(), OrdererError>;
    /// The latest snapshot (empty when none).
    fn latest_snapshot(&self) -> Result<Snapshot, OrdererError>;
    /// The envelope digests of the newest written blocks, oldest block first:
    /// whole blocks, newest back, until `max_envelopes` digests or
    /// `max_blocks` blocks are read. How a restarted node remembers what it
    /// ordered before.
    fn recent_envelopes(
        &self,
        max_envelopes: usize,
        max_blocks: u64,
    ) -> Result<Vec<BlockDigests>, OrdererError> {
        recent_envelopes(self, max_envelopes, max_blocks)
    }
}

/// [`ChannelStorage::recent_envelopes`] over any store's blocks.
fn recent_envelopes<S: ChannelStorage>(
    store: &S,
    max_envelopes: usize,
    max_blocks: u64,
) -> Result<Vec<BlockDigests>, OrdererError> {
    let height = store.height()?;
    let mut newest_first = Vec::new();
    let mut count = 0;
    for number in (height.saturating_sub(max_blocks)..height).rev() {
        if count >= max_envelopes {
            break;
        }
        let Some(bytes) = store.block(number)? else {
            break;
        };
        let block = <weft_protos::common::Block as prost::Message>::decode(bytes.as_slice())
            .map_err(|e| OrdererError::Corrupt {
                what: format!("block {number}"),
                reason: e.to_string(),
            })?;
        let digests: Vec<[u8; 32]> = block
            .data
            .iter()
            .flat_map(|d| d.data.iter())
            .map(|env| weft_common::crypto::sha256(env))
            .collect();
        count += digests.len();
        newest_first.push(BlockDigests { number, digests });
    }
    newest_first.reverse();
    Ok(newest_first)
}
