//! Transaction simulation: what a chaincode reads and writes, recorded as a
//! Fabric read/write set.
//!
//! Fabric's rules, followed here: reads see committed state (not the
//! transaction's own earlier writes) and record the version they saw once per
//! key; writes and deletes keep the last value per key; a range query records
//! its bounds and every key/version it returned, for the committer's phantom
//! check. Namespaces isolate chaincodes: each call names the namespace.

use std::collections::BTreeMap;

use prost::Message;
use weft_chaincode_abi::KeyModification;
use weft_protos::kvrwset::{
    HashedRwSet, KvMetadataEntry, KvMetadataWrite, KvRead, KvReadHash, KvWrite, KvWriteHash,
    KvrwSet, QueryReads, RangeQueryInfo, Version, range_query_info,
};
use weft_protos::rwset::{
    CollectionHashedReadWriteSet, CollectionPvtReadWriteSet, NsPvtReadWriteSet, NsReadWriteSet,
    TxPvtReadWriteSet, TxReadWriteSet, tx_read_write_set,
};

use crate::PeerError;

pub use super::memory_ledger::{MemoryLedger, MemorySimulator, VersionedValue};

/// A page of a key's history and the cursor of the next (`None`: no more).
pub type HistoryPage = (Vec<KeyModification>, Option<Vec<u8>>);

/// What the host functions need from the ledger during one simulation.
pub trait TxSimulator: Send {
    /// Committed value of `key` in `ns` (recording the read and its version).
    fn get_state(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, PeerError>;
    /// Records a write.
    fn put_state(&mut self, ns: &str, key: &str, value: Vec<u8>) -> Result<(), PeerError>;
    /// Records a delete.
    fn del_state(&mut self, ns: &str, key: &str) -> Result<(), PeerError>;
    /// Committed metadata of `key` in `ns`, recording a read of the key
    /// (Fabric's `GetStateMetadata`).
    fn get_state_metadata(
        &mut self,
        ns: &str,
        key: &str,
    ) -> Result<Vec<KvMetadataEntry>, PeerError>;
    /// Sets `key`'s metadata to `entries` (Fabric's `SetStateMetadata`).
    fn set_state_metadata(
        &mut self,
        ns: &str,
        key: &str,
        entries: Vec<KvMetadataEntry>,
    ) -> Result<(), PeerError>;
    /// A private value this peer holds in `collection` (recording a hashed read).
    fn get_private_data(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError>;
    /// SHA-256 of a private value as committed, which every channel member
    /// can read (recording a hashed read).
    fn get_private_data_hash(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError>;
    /// Records a private write (`None`: a deletion): hashes in the
    /// transaction, the value only in [`TxSimulator::private_writes`].
    fn put_private_data(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
        value: Option<Vec<u8>>,
    ) -> Result<(), PeerError>;
    /// Records a purge (Fabric 2.5's `PurgePrivateData`): a deletion that
    /// also has member peers drop every past version of the key.
    fn purge_private_data(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<(), PeerError>;
    /// Whether the transaction purges a private key.
    fn purges(&self) -> bool {
        false
    }
    /// The private writes, if any, as Fabric's private rwset.
    fn private_writes(&self) -> Option<TxPvtReadWriteSet>;
    /// Opens a range query over committed keys in `[start, end)` (empty
    /// `end`: to the end), recorded in the read set; returns its handle.
    fn open_range(&mut self, ns: &str, start: &str, end: &str) -> usize;
    /// Opens a range query over the private values of `collection` this
    /// peer holds (Fabric's `GetPrivateDataByRange`). Nothing is recorded,
    /// so, as in Fabric, it is refused once the transaction has written and
    /// every write after it is refused.
    fn open_private_range(
        &mut self,
        ns: &str,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<usize, PeerError>;
    /// The next (up to) `max` results of range query `query` (public ones
    /// recorded as read); empty when it is exhausted.
    fn next_range(&mut self, query: usize, max: usize)
    -> Result<Vec<(String, Vec<u8>)>, PeerError>;
    /// Every result of a range query at once (for system chaincode reading a
    /// few known keys; user chaincode iterates page by page).
    fn get_range(
        &mut self,
        ns: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, PeerError> {
        let query = self.open_range(ns, start, end);
        let mut out = Vec::new();
        loop {
            let page = self.next_range(query, 1024)?;
            if page.is_empty() {
                return Ok(out);
            }
            out.extend(page);
        }
    }
    /// Up to `max` past values of a key, newest first, after `cursor` (from
    /// the previous page; `None`: from the newest), and the next page's cursor.
    fn history_page(
        &mut self,
        ns: &str,
        key: &str,
        cursor: Option<&[u8]>,
        max: usize,
    ) -> Result<HistoryPage, PeerError>;
    /// The read/write set recorded so far.
    fn rwset(&self) -> TxReadWriteSet;
}

/// Committed state a simulation reads: the peer's ledger, or a [`MemoryLedger`].
pub trait StateReader: Send {
    /// Committed value and version of `key` in `ns`.
    fn read(&self, ns: &str, key: &str) -> Result<Option<(Version, Vec<u8>)>, PeerError>;
    /// The first `limit` committed keys of `ns` in `[start, end)` (empty
    /// `end`: unbounded), in key order.
    fn read_range(
        &self,
        ns: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Version, Vec<u8>)>, PeerError>;
    /// Up to `limit` past values of a key, newest first, after `cursor`.
    fn read_history(
        &self,
        ns: &str,
        key: &str,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<HistoryPage, PeerError>;
    /// Version and value hash of a private key (by its hash), as every peer sees it.
    fn read_hashed(
        &self,
        _ns: &str,
        _collection: &str,
        _key_hash: &[u8],
    ) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
        Ok(None)
    }
    /// A private value this peer holds.
    fn read_private(
        &self,
        _ns: &str,
        _collection: &str,
        _key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError> {
        Ok(None)
    }
    /// The first `limit` private values of a collection this peer holds in
    /// `[start, end)` (empty `end`: unbounded), in key order.
    fn read_private_range(
        &self,
        _ns: &str,
        _collection: &str,
        _start: &str,
        _end: &str,
        _limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, PeerError> {
        Ok(Vec::new())
    }
    /// Committed metadata of a key (empty: none).
    fn read_metadata(&self, _ns: &str, _key: &str) -> Result<Vec<KvMetadataEntry>, PeerError> {
        Ok(Vec::new())
    }
}

impl StateReader for crate::ledger::Ledger {
    fn read(&self, ns: &str, key: &str) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
        self.get_state(ns, key)
    }
    fn read_range(
        &self,
        ns: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Version, Vec<u8>)>, PeerError> {
        self.range_page(ns, start, end, limit)
    }
    fn read_history(
        &self,
        ns: &str,
        key: &str,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<HistoryPage, PeerError> {
        self.history_page(ns, key, cursor, limit)
    }
    fn read_hashed(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
        self.get_hashed(ns, collection, key_hash)
    }
    fn read_private(
        &self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError> {
        self.get_private(ns, collection, key)
    }
    fn read_private_range(
        &self,
        ns: &str,
        collection: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, PeerError> {
        self.private_range_page(ns, collection, start, end, limit)
    }
    fn read_metadata(&self, ns: &str, key: &str) -> Result<Vec<KvMetadataEntry>, PeerError> {
        self.get_metadata(ns, key)
    }
}

/// Simulates one transaction over committed state, recording its read/write set.
#[derive(Debug, Clone)]
pub struct Simulator<R> {
    reader: R,
    reads: BTreeMap<String, BTreeMap<String, Option<Version>>>,
    writes: BTreeMap<String, BTreeMap<String, Option<Vec<u8>>>>,
    /// namespace → key → the metadata it is set to.
    metadata_writes: BTreeMap<String, BTreeMap<String, Vec<KvMetadataEntry>>>,
    ranges: BTreeMap<String, Vec<RangeQueryInfo>>,
    /// Range queries being read, by handle.
    open_ranges: Vec<OpenRange>,
    /// (namespace, collection) → key → its hash and the version read (by
    /// key, as Fabric orders hashed reads).
    hashed_reads: BTreeMap<(String, String), HashedReads>,
    /// (namespace, collection) → key → private value written (`None`: deleted).
    private_writes: BTreeMap<(String, String), PrivateKeys>,
    /// Whether anything was written, and whether private data was queried:
    /// Fabric refuses a transaction that does both.
    wrote: bool,
    queried_private: bool,
}

/// A range query being read page by page.
#[derive(Debug, Clone)]
struct OpenRange {
    ns: String,
    /// The collection of a private-data range, which records nothing.
    collection: Option<String>,
    /// Its `RangeQueryInfo` in `ranges[ns]` (public ranges).
    info: usize,
    /// The first key of the next page.
    next: String,
    end: String,
    done: bool,
}

/// A collection's hashed reads: key → its hash and the version read.
type HashedReads = BTreeMap<String, (Vec<u8>, Option<Version>)>;

/// A collection's private writes: key → what was done to it last.
type PrivateKeys = BTreeMap<String, PrivateWrite>;

/// What a transaction did to a private key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PrivateWrite {
    Put(Vec<u8>),
    Delete,
    /// A delete that also purges the key's past versions.
    Purge,
}

impl PrivateWrite {
    fn value(&self) -> Option<&Vec<u8>> {
        match self {
            Self::Put(v) => Some(v),
            Self::Delete | Self::Purge => None,
        }
    }
}

impl<R: StateReader> Simulator<R> {
    /// A simulation reading `reader`.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            reads: BTreeMap::new(),
            writes: BTreeMap::new(),
            metadata_writes: BTreeMap::new(),
            ranges: BTreeMap::new(),
            open_ranges: Vec::new(),
            hashed_reads: BTreeMap::new(),
            private_writes: BTreeMap::new(),
            wrote: false,
            queried_private: false,
        }
    }

    /// Fabric's rule: no write once private data has been queried.
    fn may_write(&mut self) -> Result<(), PeerError> {
        if self.queried_private {
            return Err(PeerError::UnsupportedTransaction(
                "the transaction has queried private data; writes are not allowed after that",
            ));
        }
        self.wrote = true;
        Ok(())
    }

    fn record_hashed_read(
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

    fn write_private(&mut self, ns: &str, collection: &str, key: &str, value: PrivateWrite) {
        self.private_writes
            .entry((ns.to_string(), collection.to_string()))
            .or_default()
            .insert(key.to_string(), value);
    }

    fn private_kv(writes: &PrivateKeys) -> Vec<u8> {
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

    fn collection_sets(&self, ns: &str) -> Vec<CollectionHashedReadWriteSet> {
        let mut names: Vec<&String> = self
            .hashed_reads
            .keys()
            .chain(self.private_writes.keys())
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
                    metadata_writes: Vec::new(),
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

impl<R: StateReader> TxSimulator for Simulator<R> {
    fn get_state(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, PeerError> {
        let current = self.reader.read(ns, key)?;
        self.reads
            .entry(ns.to_string())
            .or_default()
            .entry(key.to_string())
            .or_insert_with(|| current.as_ref().map(|(v, _)| *v));
        Ok(current.map(|(_, v)| v))
    }

    fn put_state(&mut self, ns: &str, key: &str, value: Vec<u8>) -> Result<(), PeerError> {
        self.may_write()?;
        self.writes
            .entry(ns.to_string())
            .or_default()
            .insert(key.to_string(), Some(value));
        Ok(())
    }

    fn del_state(&mut self, ns: &str, key: &str) -> Result<(), PeerError> {
        self.may_write()?;
        self.writes
            .entry(ns.to_string())
            .or_default()
            .insert(key.to_string(), None);
        Ok(())
    }

    fn get_state_metadata(
        &mut self,
        ns: &str,
        key: &str,
    ) -> Result<Vec<KvMetadataEntry>, PeerError> {
        let version = self.reader.read(ns, key)?.map(|(v, _)| v);
        self.reads
            .entry(ns.to_string())
            .or_default()
            .entry(key.to_string())
            .or_insert(version);
        self.reader.read_metadata(ns, key)
    }

    fn set_state_metadata(
        &mut self,
        ns: &str,
        key: &str,
        mut entries: Vec<KvMetadataEntry>,
    ) -> Result<(), PeerError> {
        self.may_write()?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        self.metadata_writes
            .entry(ns.to_string())
            .or_default()
            .insert(key.to_string(), entries);
        Ok(())
    }

    fn get_private_data(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError> {
        self.get_private(ns, collection, key)
    }

    fn get_private_data_hash(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError> {
        self.private_hash(ns, collection, key)
    }

    fn put_private_data(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
        value: Option<Vec<u8>>,
    ) -> Result<(), PeerError> {
        self.may_write()?;
        let w = value.map_or(PrivateWrite::Delete, PrivateWrite::Put);
        self.write_private(ns, collection, key, w);
        Ok(())
    }

    fn purge_private_data(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<(), PeerError> {
        self.may_write()?;
        self.write_private(ns, collection, key, PrivateWrite::Purge);
        Ok(())
    }

    fn purges(&self) -> bool {
        self.private_writes
            .values()
            .any(|keys| keys.values().any(|w| *w == PrivateWrite::Purge))
    }

    fn private_writes(&self) -> Option<TxPvtReadWriteSet> {
        self.private_rwset()
    }

    fn open_range(&mut self, ns: &str, start: &str, end: &str) -> usize {
        let infos = self.ranges.entry(ns.to_string()).or_default();
        infos.push(RangeQueryInfo {
            start_key: start.to_string(),
            end_key: end.to_string(),
            itr_exhausted: false,
            reads_info: Some(range_query_info::ReadsInfo::RawReads(QueryReads::default())),
        });
        self.open_ranges.push(OpenRange {
            ns: ns.to_string(),
            collection: None,
            info: infos.len() - 1,
            next: start.to_string(),
            end: end.to_string(),
            done: false,
        });
        self.open_ranges.len() - 1
    }

    fn open_private_range(
        &mut self,
        ns: &str,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<usize, PeerError> {
        if self.wrote {
            return Err(PeerError::UnsupportedTransaction(
                "queries on private data are supported only in a transaction that writes nothing",
            ));
        }
        self.queried_private = true;
        self.open_ranges.push(OpenRange {
            ns: ns.to_string(),
            collection: Some(collection.to_string()),
            info: 0,
            next: start.to_string(),
            end: end.to_string(),
            done: false,
        });
        Ok(self.open_ranges.len() - 1)
    }

    fn next_range(
        &mut self,
        query: usize,
        max: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, PeerError> {
        let Some(open) = self.open_ranges.get_mut(query) else {
            return Err(PeerError::Ledger(format!("no range query {query}")));
        };
        if open.done || max == 0 {
            return Ok(Vec::new());
        }
        if let Some(collection) = &open.collection {
            let page = self
                .reader
                .read_private_range(&open.ns, collection, &open.next, &open.end, max)?;
            match page.last() {
                Some((last, _)) if page.len() == max => open.next = format!("{last}\0"),
                _ => open.done = true,
            }
            return Ok(page);
        }
        let page = self
            .reader
            .read_range(&open.ns, &open.next, &open.end, max)?;
        let info = &mut self.ranges.get_mut(&open.ns).expect("opened")[open.info];
        if let Some(range_query_info::ReadsInfo::RawReads(raw)) = &mut info.reads_info {
            raw.kv_reads.extend(page.iter().map(|(k, v, _)| KvRead {
                key: k.clone(),
                version: Some(*v),
            }));
        }
        match page.last() {
            // The least key after the last one read.
            Some((last, _, _)) if page.len() == max => open.next = format!("{last}\0"),
            _ => {
                open.done = true;
                info.itr_exhausted = true;
            }
        }
        Ok(page.into_iter().map(|(k, _, v)| (k, v)).collect())
    }

    fn history_page(
        &mut self,
        ns: &str,
        key: &str,
        cursor: Option<&[u8]>,
        max: usize,
    ) -> Result<HistoryPage, PeerError> {
        self.reader.read_history(ns, key, cursor, max)
    }

    fn rwset(&self) -> TxReadWriteSet {
        let mut namespaces: Vec<&String> = self
            .reads
            .keys()
            .chain(self.writes.keys())
            .chain(self.metadata_writes.keys())
            .chain(self.ranges.keys())
            .chain(self.hashed_reads.keys().map(|(ns, _)| ns))
            .chain(self.private_writes.keys().map(|(ns, _)| ns))
            .collect();
        namespaces.sort();
        namespaces.dedup();
        let ns_rwset = namespaces
            .into_iter()
            .map(|ns| {
                let kv = KvrwSet {
                    reads: self
                        .reads
                        .get(ns)
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| KvRead {
                                    key: k.clone(),
                                    version: *v,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    range_queries_info: self.ranges.get(ns).cloned().unwrap_or_default(),
                    writes: self
                        .writes
                        .get(ns)
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| KvWrite {
                                    key: k.clone(),
                                    is_delete: v.is_none(),
                                    value: v.clone().unwrap_or_default(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    metadata_writes: self
                        .metadata_writes
                        .get(ns)
                        .map(|m| {
                            m.iter()
                                .map(|(k, entries)| KvMetadataWrite {
                                    key: k.clone(),
                                    entries: entries.clone(),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                };
                NsReadWriteSet {
                    namespace: ns.clone(),
                    rwset: kv.encode_to_vec(),
                    collection_hashed_rwset: self.collection_sets(ns),
                }
            })
            .collect();
        TxReadWriteSet {
            data_model: tx_read_write_set::DataModel::Kv as i32,
            ns_rwset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Committed state with no public keys and these private values of
    /// `ns`/`coll`.
    struct PrivateOnly(BTreeMap<String, Vec<u8>>);

    impl StateReader for PrivateOnly {
        fn read(&self, _: &str, _: &str) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
            Ok(None)
        }
        fn read_range(
            &self,
            _: &str,
            _: &str,
            _: &str,
            _: usize,
        ) -> Result<Vec<(String, Version, Vec<u8>)>, PeerError> {
            Ok(Vec::new())
        }
        fn read_history(
            &self,
            _: &str,
            _: &str,
            _: Option<&[u8]>,
            _: usize,
        ) -> Result<HistoryPage, PeerError> {
            Ok((Vec::new(), None))
        }
        fn read_private_range(
            &self,
            ns: &str,
            collection: &str,
            start: &str,
            end: &str,
            limit: usize,
        ) -> Result<Vec<(String, Vec<u8>)>, PeerError> {
            assert_eq!((ns, collection), ("cc", "coll"));
            Ok(self
                .0
                .range(start.to_string()..)
                .take_while(|(k, _)| end.is_empty() || k.as_str() < end)
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect())
        }
    }

    #[test]
    fn private_ranges_page_record_nothing_and_exclude_writes_as_in_fabric() {
        let values = (0..5).map(|i| (format!("k{i}"), vec![i as u8])).collect();
        let mut sim = Simulator::new(PrivateOnly(values));
        let q = sim.open_private_range("cc", "coll", "k1", "k4").unwrap();
        let mut keys = Vec::new();
        loop {
            let page = sim.next_range(q, 2).unwrap();
            if page.is_empty() {
                break;
            }
            keys.extend(page.into_iter().map(|(k, _)| k));
        }
        assert_eq!(keys, ["k1", "k2", "k3"]);
        let rwset = sim.rwset();
        assert!(rwset.ns_rwset.is_empty(), "{rwset:?}");
        for refused in [
            sim.put_state("cc", "k", b"v".to_vec()),
            sim.del_state("cc", "k"),
            sim.put_private_data("cc", "coll", "k", None),
            sim.set_state_metadata("cc", "k", Vec::new()),
        ] {
            assert!(matches!(refused, Err(PeerError::UnsupportedTransaction(_))));
        }

        let mut sim = Simulator::new(PrivateOnly(BTreeMap::new()));
        sim.put_state("cc", "k", b"v".to_vec()).unwrap();
        let refused = sim.open_private_range("cc", "coll", "", "").unwrap_err();
        assert!(refused.to_string().contains("writes nothing"), "{refused}");
    }

    #[test]
    fn metadata_reads_record_the_key_and_metadata_writes_replace_the_entries() {
        let mut ledger = MemoryLedger::default();
        ledger.put("cc", "k", b"1", 2, 0);
        let mut sim = ledger.simulator();
        assert!(sim.get_state_metadata("cc", "k").unwrap().is_empty());
        let entry = |name: &str, value: &[u8]| KvMetadataEntry {
            name: name.into(),
            value: value.to_vec(),
        };
        sim.set_state_metadata("cc", "k", vec![entry("Z", b"z"), entry("A", b"a")])
            .unwrap();
        sim.set_state_metadata("cc", "new", vec![entry("A", b"1")])
            .unwrap();
        let rw = sim.rwset();
        let kv = KvrwSet::decode(rw.ns_rwset[0].rwset.as_slice()).unwrap();
        assert_eq!(kv.reads.len(), 1);
        assert_eq!(kv.reads[0].version.map(|v| v.block_num), Some(2));
        assert!(kv.writes.is_empty(), "metadata is not a value write");
        let written: Vec<(&str, Vec<&str>)> = kv
            .metadata_writes
            .iter()
            .map(|m| {
                (
                    m.key.as_str(),
                    m.entries.iter().map(|e| e.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(written, [("k", vec!["A", "Z"]), ("new", vec!["A"])]);
    }

    #[test]
    fn records_reads_writes_and_ranges_like_fabric() {
        let mut ledger = MemoryLedger::default();
        ledger.put("cc", "a", b"1", 3, 0);
        ledger.put("cc", "b", b"2", 4, 1);
        ledger.put("other", "a", b"x", 1, 0);
        let mut sim = ledger.simulator();
        assert_eq!(sim.get_state("cc", "a").unwrap(), Some(b"1".to_vec()));
        sim.put_state("cc", "a", b"9".to_vec()).unwrap();
        // No read-your-writes: still the committed value, and the read version stays.
        assert_eq!(sim.get_state("cc", "a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(sim.get_state("cc", "zz").unwrap(), None);
        sim.del_state("cc", "b").unwrap();
        let range = sim.get_range("cc", "a", "c").unwrap();
        assert_eq!(range.len(), 2);
        let rw = sim.rwset();
        assert_eq!(rw.ns_rwset.len(), 1, "only namespaces touched appear");
        let kv = KvrwSet::decode(rw.ns_rwset[0].rwset.as_slice()).unwrap();
        assert_eq!(
            kv.reads
                .iter()
                .map(|r| (r.key.as_str(), r.version.map(|v| v.block_num)))
                .collect::<Vec<_>>(),
            vec![("a", Some(3)), ("zz", None)]
        );
        assert_eq!(kv.writes.len(), 2);
        assert!(kv.writes.iter().any(|w| w.key == "b" && w.is_delete));
        assert_eq!(kv.range_queries_info[0].start_key, "a");
        // Namespaces are separate.
        assert_eq!(ledger.simulator().get_state("other", "b").unwrap(), None);
    }
}
