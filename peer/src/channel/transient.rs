//! The transient store: private writes endorsed (by this peer, or by another
//! that pushed them here) and kept until their transaction commits — then the
//! committer moves those the block commits to into the private state — or
//! until `peer.ledger.transientstoreMaxBlockRetention` blocks have passed.
//! Kept in the channel's RocksDB ([`crate::ledger::private`]), so it survives
//! a restart.

use prost::Message;
use weft_protos::kvrwset::KvrwSet;
use weft_protos::rwset::TxPvtReadWriteSet;

use crate::PeerError;
use crate::ledger::{Ledger, PrivateUpdate, TransientEntry};
use crate::validation::PrivateWrites;

/// Fabric's `peer.ledger.pvtdataStore.transientstoreMaxBlockRetention` default.
pub const DEFAULT_MAX_BLOCK_RETENTION: u64 = 1000;

/// Most entries the store holds: a member that pushes more (private writes
/// of transactions that never commit) is refused beyond this.
pub const CAPACITY: usize = 100_000;

/// Why the store refused private writes.
#[derive(Debug, thiserror::Error)]
pub enum TransientError {
    /// It holds [`CAPACITY`] entries already.
    #[error("the transient store is full ({CAPACITY} entries)")]
    Full,
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] PeerError),
}

/// A channel's transient store.
#[derive(Debug, Clone)]
pub struct TransientStore {
    ledger: Ledger,
}

/// Private writes resolved for one transaction and collection.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The collection's private rwset bytes.
    pub rwset: Vec<u8>,
    /// The values written (`None`: deleted).
    pub updates: Vec<PrivateUpdate>,
}

impl TransientStore {
    /// The store in `ledger`'s database.
    pub fn new(ledger: Ledger) -> Self {
        Self { ledger }
    }

    /// Keeps the private writes of a transaction not yet committed.
    pub fn put(&self, tx_id: &str, pvt: &TxPvtReadWriteSet) -> Result<(), TransientError> {
        let entries: Vec<TransientEntry> = pvt
            .ns_pvt_rwset
            .iter()
            .flat_map(|ns| {
                ns.collection_pvt_rwset.iter().map(|c| TransientEntry {
                    namespace: ns.namespace.clone(),
                    collection: c.collection_name.clone(),
                    rwset: c.rwset.clone(),
                })
            })
            .collect();
        self.put_entries(tx_id, &entries)
    }

    /// Keeps private writes of a transaction, one entry per collection.
    pub fn put_entries(
        &self,
        tx_id: &str,
        entries: &[TransientEntry],
    ) -> Result<(), TransientError> {
        if self.ledger.transient_len() + entries.len() > CAPACITY {
            return Err(TransientError::Full);
        }
        self.ledger
            .transient_put(tx_id, self.ledger.height(), entries)?;
        Ok(())
    }

    /// The private rwset bytes of `tx_id` in a collection whose SHA-256 is
    /// `hash`, if the store holds them.
    pub fn find(
        &self,
        tx_id: &str,
        namespace: &str,
        collection: &str,
        hash: &[u8],
    ) -> Result<Option<Vec<u8>>, PeerError> {
        Ok(self
            .ledger
            .transient_get(tx_id)?
            .into_iter()
            .find(|e| {
                e.namespace == namespace
                    && e.collection == collection
                    && weft_common::crypto::sha256(&e.rwset).as_slice() == hash
            })
            .map(|e| e.rwset))
    }

    /// Every entry held for `tx_id` (to answer a member peer's pull).
    pub fn entries(&self, tx_id: &str) -> Result<Vec<TransientEntry>, PeerError> {
        self.ledger.transient_get(tx_id)
    }

    /// The private values behind `w`, if the store holds rwset bytes that
    /// hash to what the transaction committed to.
    pub fn resolve(&self, w: &PrivateWrites) -> Result<Option<Resolved>, PeerError> {
        let Some(rwset) = self.find(&w.tx_id, &w.namespace, &w.collection, &w.pvt_rwset_hash)?
        else {
            return Ok(None);
        };
        Ok(decode_writes(&w.namespace, &w.collection, rwset))
    }
}

/// The values a collection's private rwset writes; `None` if it does not decode.
pub fn decode_writes(namespace: &str, collection: &str, rwset: Vec<u8>) -> Option<Resolved> {
    let kv = KvrwSet::decode(rwset.as_slice()).ok()?;
    Some(Resolved {
        updates: kv
            .writes
            .into_iter()
            .map(|wr| PrivateUpdate {
                namespace: namespace.to_string(),
                collection: collection.to_string(),
                key: wr.key,
                value: (!wr.is_delete).then_some(wr.value),
            })
            .collect(),
        rwset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> TransientEntry {
        TransientEntry {
            namespace: "cc".into(),
            collection: "coll".into(),
            rwset: i.to_be_bytes().to_vec(),
        }
    }

    #[test]
    fn a_member_cannot_fill_the_store_past_its_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        let store = TransientStore::new(ledger.clone());
        // More than the store holds, at once: refused whole, nothing kept.
        let flood: Vec<TransientEntry> = (0..=CAPACITY).map(entry).collect();
        assert!(matches!(
            store.put_entries("tx-flood", &flood),
            Err(TransientError::Full)
        ));
        assert_eq!(ledger.transient_len(), 0);
        // Up to the capacity, kept; one more, refused.
        store.put_entries("tx-fill", &flood[..CAPACITY]).unwrap();
        assert_eq!(ledger.transient_len(), CAPACITY);
        assert!(matches!(
            store.put_entries("tx-one-more", &[entry(CAPACITY + 1)]),
            Err(TransientError::Full)
        ));
        assert!(store.entries("tx-one-more").unwrap().is_empty());
    }
}
