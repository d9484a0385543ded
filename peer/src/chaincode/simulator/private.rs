//! The private-data side of a simulation: hashed reads, private writes
//! (put, delete, purge), private metadata, and how they become Fabric's
//! hashed and private rwsets.

use std::collections::BTreeMap;

use prost::Message;
use weft_protos::kvrwset::{
    HashedRwSet, KvMetadataWriteHash, KvReadHash, KvWrite, KvWriteHash, KvrwSet, Version,
};
use weft_protos::rwset::{
    CollectionHashedReadWriteSet, CollectionPvtReadWriteSet, NsPvtReadWriteSet, TxPvtReadWriteSet,
    tx_read_write_set,
};

use super::{Simulator, StateReader};
use crate::PeerError;

/// A collection's hashed reads: key → its hash and the version read.
pub(super) type HashedReads = BTreeMap<String, (Vec<u8>, Option<Version>)>;

/// A collection's private writes: key → what was done to it last.
pub(super) type PrivateKeys = BTreeMap<String, PrivateWrite>;

/// What a transaction did to a private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PrivateWrite {
    Put(Vec<u8>),
    Delete,
    /// A delete that also purges the key's past versions.
    Purge,
}

impl PrivateWrite {
    pub(super) fn value(&self) -> Option<&Vec<u8>> {
        match self {
            Self::Put(v) => Some(v),
            Self::Delete | Self::Purge => None,
        }
    }
}

impl<R: StateReader> Simulator<R> {
    pub(super) fn record_hashed_read(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError> {
        let key_hash = weft_common::crypto::sha256(key.as_bytes()).to_vec();
        let current = self.reader.read_hashed(ns, collection, &key_hash)?;
        self.hashed_reads
            .entry((ns.to_string(), collection.to_string()))
            .or_default()
            .entry(key.to_string())
            .or_insert_with(|| (key_hash, current.as_ref().map(|(v, _)| *v)));
        Ok(current.map(|(_, h)| h))
    }

    /// SHA-256 of a private value as committed (any channel member can read
    /// it), recording a hashed read.
    pub fn private_hash(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError> {
        self.record_hashed_read(ns, collection, key)
    }

    /// A private value this peer holds, recording a hashed read.
    pub fn get_private(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError> {
        self.record_hashed_read(ns, collection, key)?;
        self.reader.read_private(ns, collection, key)
    }

    /// Records a private write: its hashes go in the transaction, the value
    /// in [`Self::private_rwset`] for the endorsing peer's transient store.
    pub fn put_private(&mut self, ns: &str, collection: &str, key: &str, value: Vec<u8>) {
        self.write_private(ns, collection, key, PrivateWrite::Put(value));
    }

    pub(super) fn write_private(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
        value: PrivateWrite,
    ) {
        self.private_writes
            .entry((ns.to_string(), collection.to_string()))
            .or_default()
            .insert(key.to_string(), value);
    }

    pub(super) fn private_kv(writes: &PrivateKeys) -> Vec<u8> {
        KvrwSet {
            writes: writes
                .iter()
                .map(|(k, w)| KvWrite {
                    key: k.clone(),
                    is_delete: w.value().is_none(),
                    value: w.value().cloned().unwrap_or_default(),
                })
                .collect(),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// The private writes, if any, as Fabric's private rwset.
    pub fn private_rwset(&self) -> Option<TxPvtReadWriteSet> {
        if self.private_writes.is_empty() {
            return None;
        }
        let mut by_ns: BTreeMap<&str, Vec<CollectionPvtReadWriteSet>> = BTreeMap::new();
        for ((ns, coll), writes) in &self.private_writes {
            by_ns
                .entry(ns)
                .or_default()
                .push(CollectionPvtReadWriteSet {
                    collection_name: coll.clone(),
                    rwset: Self::private_kv(writes),
                });
        }
        Some(TxPvtReadWriteSet {
            data_model: tx_read_write_set::DataModel::Kv as i32,
            ns_pvt_rwset: by_ns
                .into_iter()
                .map(|(ns, collection_pvt_rwset)| NsPvtReadWriteSet {
                    namespace: ns.to_string(),
                    collection_pvt_rwset,
                })
                .collect(),
        })
    }

    pub(super) fn collection_sets(&self, ns: &str) -> Vec<CollectionHashedReadWriteSet> {
        let mut names: Vec<&String> = self
            .hashed_reads
            .keys()
            .chain(self.private_writes.keys())
            .chain(self.private_metadata_writes.keys())
            .filter(|(n, _)| n == ns)
            .map(|(_, c)| c)
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|coll| {
                let key = (ns.to_string(), coll.clone());
                let reads = self.hashed_reads.get(&key);
                let writes = self.private_writes.get(&key);
                // Reads and writes in the order of their keys (Fabric's
                // rwset builder), not of their hashes.
                let hashed_writes: Vec<KvWriteHash> = writes
                    .iter()
                    .flat_map(|m| m.iter())
                    .map(|(k, w)| KvWriteHash {
                        key_hash: weft_common::crypto::sha256(k.as_bytes()).to_vec(),
                        is_delete: w.value().is_none(),
                        value_hash: w
                            .value()
                            .map(|v| weft_common::crypto::sha256(v).to_vec())
                            .unwrap_or_default(),
                        is_purge: *w == PrivateWrite::Purge,
                    })
                    .collect();
                let hashed = HashedRwSet {
                    hashed_reads: reads
                        .iter()
                        .flat_map(|m| m.values())
                        .map(|(h, v)| KvReadHash {
                            key_hash: h.clone(),
                            version: *v,
                        })
                        .collect(),
                    hashed_writes,
                    metadata_writes: self
                        .private_metadata_writes
                        .get(&key)
                        .into_iter()
                        .flatten()
                        .map(|(k, entries)| KvMetadataWriteHash {
                            key_hash: weft_common::crypto::sha256(k.as_bytes()).to_vec(),
                            entries: entries.clone(),
                        })
                        .collect(),
                };
                CollectionHashedReadWriteSet {
                    collection_name: coll.clone(),
                    hashed_rwset: hashed.encode_to_vec(),
                    pvt_rwset_hash: writes
                        .map(|w| weft_common::crypto::sha256(&Self::private_kv(w)).to_vec())
                        .unwrap_or_default(),
                }
            })
            .collect()
    }
}
