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
    KvMetadataEntry, KvMetadataWrite, KvRead, KvWrite, KvrwSet, QueryReads, RangeQueryInfo,
    Version, range_query_info,
};
use weft_protos::rwset::{NsReadWriteSet, TxPvtReadWriteSet, TxReadWriteSet, tx_read_write_set};

use crate::PeerError;

pub use super::memory_ledger::{MemoryLedger, MemorySimulator, VersionedValue};

mod private;
mod reader;
mod rich;

use private::{HashedReads, PrivateKeys, PrivateWrite};
pub use reader::StateReader;
pub use rich::{QueryLimits, QueryOutcome};

/// A page of a range: keys and values, and the next page's first key (empty
/// when the range is exhausted).
pub type RangePage = (Vec<(String, Vec<u8>)>, String);

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
    /// Committed metadata of a private key (Fabric's
    /// `GetPrivateDataMetadata`), recording a hashed read of the key.
    fn get_private_metadata(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Vec<KvMetadataEntry>, PeerError>;
    /// Sets a private key's metadata to `entries` (Fabric's
    /// `SetPrivateDataMetadata`): a hashed metadata write, seen by every peer.
    fn set_private_metadata(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
        entries: Vec<KvMetadataEntry>,
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
    /// One page of committed keys of `ns` in `[start, end)` (Fabric's
    /// `GetStateByRangeWithPagination`, `start` being the bookmark when
    /// there is one): at most `size` results, recorded as a range query, and
    /// the next key after them (empty when the range is exhausted). Only in
    /// a transaction that writes nothing.
    fn range_page(
        &mut self,
        ns: &str,
        start: &str,
        end: &str,
        size: usize,
    ) -> Result<RangePage, PeerError>;
    /// Runs a rich query over the committed JSON values of `ns` (Fabric's
    /// `GetQueryResult`; with `paging` = (page size, bookmark),
    /// `GetQueryResultWithPagination`), recording each key returned as read.
    fn rich_query(
        &mut self,
        ns: &str,
        query: &weft_chaincode_query::Query,
        paging: Option<(usize, &str)>,
        limits: QueryLimits,
    ) -> Result<QueryOutcome, PeerError>;
    /// Runs a rich query over the private values of `collection` this peer
    /// holds (Fabric's `GetPrivateDataQueryResult`). Nothing is recorded, so
    /// as with private ranges it is refused once the transaction has
    /// written, and every write after it is refused.
    fn private_rich_query(
        &mut self,
        ns: &str,
        collection: &str,
        query: &weft_chaincode_query::Query,
        limits: QueryLimits,
    ) -> Result<QueryOutcome, PeerError>;
    /// The read/write set recorded so far.
    fn rwset(&self) -> TxReadWriteSet;
}

/// A range as recorded while it was read (raw reads), in the form Fabric's
/// endorsers put in the read/write set ([`crate::range_summary`]).
fn fabric_form(mut info: RangeQueryInfo) -> RangeQueryInfo {
    let reads = match info.reads_info.take() {
        Some(range_query_info::ReadsInfo::RawReads(raw)) => raw.kv_reads,
        _ => Vec::new(),
    };
    info.reads_info = crate::range_summary::reads_info(reads);
    info
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
    /// (namespace, collection) → key → the metadata it is set to.
    private_metadata_writes: BTreeMap<(String, String), BTreeMap<String, Vec<KvMetadataEntry>>>,
    /// Whether anything was written, whether private data was queried, and
    /// whether a paginated query ran: Fabric refuses a transaction that
    /// writes and does either of the others.
    wrote: bool,
    queried_private: bool,
    paginated: bool,
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
            private_metadata_writes: BTreeMap::new(),
            wrote: false,
            queried_private: false,
            paginated: false,
        }
    }

    /// A paginated query: refused once the transaction has written, and
    /// refusing writes after it (Fabric's rule).
    fn begin_paginated(&mut self) -> Result<(), PeerError> {
        if self.wrote {
            return Err(PeerError::UnsupportedTransaction(
                "the transaction has written; paginated queries are allowed only in transactions that write nothing",
            ));
        }
        self.paginated = true;
        Ok(())
    }

    /// A query of private data (recorded nowhere): refused once the
    /// transaction has written, and refusing writes after it (Fabric's rule).
    fn begin_private_query(&mut self) -> Result<(), PeerError> {
        if self.wrote {
            return Err(PeerError::UnsupportedTransaction(
                "queries on private data are supported only in a transaction that writes nothing",
            ));
        }
        self.queried_private = true;
        Ok(())
    }

    /// Fabric's rule: no write once private data has been queried.
    fn may_write(&mut self) -> Result<(), PeerError> {
        if self.queried_private {
            return Err(PeerError::UnsupportedTransaction(
                "the transaction has queried private data; writes are not allowed after that",
            ));
        }
        if self.paginated {
            return Err(PeerError::UnsupportedTransaction(
                "the transaction has run a paginated query; writes are not allowed after that",
            ));
        }
        self.wrote = true;
        Ok(())
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

    fn get_private_metadata(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Vec<KvMetadataEntry>, PeerError> {
        self.record_hashed_read(ns, collection, key)?;
        let key_hash = weft_common::crypto::sha256(key.as_bytes());
        self.reader.read_hashed_metadata(ns, collection, &key_hash)
    }

    fn set_private_metadata(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
        mut entries: Vec<KvMetadataEntry>,
    ) -> Result<(), PeerError> {
        self.may_write()?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        self.private_metadata_writes
            .entry((ns.to_string(), collection.to_string()))
            .or_default()
            .insert(key.to_string(), entries);
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
        self.begin_private_query()?;
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
            // The least key after the last one read; as in Fabric, the
            // recorded end is the last key read until the range is exhausted.
            Some((last, _, _)) if page.len() == max => {
                open.next = format!("{last}\0");
                info.end_key = last.clone();
            }
            _ => {
                open.done = true;
                info.itr_exhausted = true;
                info.end_key = open.end.clone();
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

    fn rich_query(
        &mut self,
        ns: &str,
        query: &weft_chaincode_query::Query,
        paging: Option<(usize, &str)>,
        limits: QueryLimits,
    ) -> Result<QueryOutcome, PeerError> {
        self.run_rich_query(ns, query, paging, limits)
    }

    fn private_rich_query(
        &mut self,
        ns: &str,
        collection: &str,
        query: &weft_chaincode_query::Query,
        limits: QueryLimits,
    ) -> Result<QueryOutcome, PeerError> {
        self.run_private_rich_query(ns, collection, query, limits)
    }

    fn range_page(
        &mut self,
        ns: &str,
        start: &str,
        end: &str,
        size: usize,
    ) -> Result<RangePage, PeerError> {
        self.begin_paginated()?;
        // One more than the page: the first key of the next page.
        let mut read = self
            .reader
            .read_range(ns, start, end, size.saturating_add(1))?;
        let next = if read.len() > size {
            read.pop().map(|(k, _, _)| k).unwrap_or_default()
        } else {
            String::new()
        };
        let exhausted = next.is_empty();
        self.ranges
            .entry(ns.to_string())
            .or_default()
            .push(RangeQueryInfo {
                start_key: start.to_string(),
                end_key: match read.last() {
                    Some((last, _, _)) if !exhausted => last.clone(),
                    _ => end.to_string(),
                },
                itr_exhausted: exhausted,
                reads_info: Some(range_query_info::ReadsInfo::RawReads(QueryReads {
                    kv_reads: read
                        .iter()
                        .map(|(k, v, _)| KvRead {
                            key: k.clone(),
                            version: Some(*v),
                        })
                        .collect(),
                })),
            });
        Ok((read.into_iter().map(|(k, _, v)| (k, v)).collect(), next))
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
            .chain(self.private_metadata_writes.keys().map(|(ns, _)| ns))
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
                    range_queries_info: self
                        .ranges
                        .get(ns)
                        .map(|infos| infos.iter().cloned().map(fabric_form).collect())
                        .unwrap_or_default(),
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
mod tests;
