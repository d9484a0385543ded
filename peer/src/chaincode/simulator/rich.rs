//! Rich queries in a simulation (Fabric's `GetQueryResult` and
//! `GetQueryResultWithPagination`): a CouchDB-style JSON query evaluated
//! over the namespace's committed JSON values by `weft-chaincode-query`.
//!
//! As in Fabric, each key returned is recorded as a read with the version
//! seen, so the committer's MVCC check covers it; nothing records which keys
//! the query did *not* return, so a document that starts to match between
//! endorsement and commit is not detected (Fabric documents the same for
//! CouchDB). A paginated query is allowed only in a transaction that writes
//! nothing, as in Fabric.

use weft_chaincode_query::Query;

use super::{Simulator, StateReader};
use crate::PeerError;

/// What one rich query may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Results returned at most (`ledger.state.totalQueryLimit`); a page
    /// never holds more.
    pub max_results: usize,
    /// Documents examined at most. A query that would examine more is
    /// refused rather than answered from part of the data.
    pub max_scanned: usize,
}

/// A query's answer and what it took.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutcome {
    /// The results: each key and its value as stored (restricted to the
    /// query's `fields`, re-encoded, when it has them).
    pub records: Vec<(String, Vec<u8>)>,
    /// Where the next page starts (empty when there are no results).
    pub bookmark: String,
    /// Documents (keys) examined.
    pub scanned: usize,
    /// Bytes of the values examined.
    pub scanned_bytes: usize,
}

/// Keys read from the state database at a time while scanning.
const SCAN_PAGE: usize = 1024;

impl<R: StateReader> Simulator<R> {
    /// Runs `query` over the committed values of `ns`; `paging` is (page
    /// size, bookmark) for the paginated form.
    pub(super) fn run_rich_query(
        &mut self,
        ns: &str,
        query: &Query,
        paging: Option<(usize, &str)>,
        limits: QueryLimits,
    ) -> Result<QueryOutcome, PeerError> {
        if paging.is_some() {
            self.begin_paginated()?;
        }
        let mut stored = std::collections::HashMap::new();
        let mut scanned = 0usize;
        let mut scanned_bytes = 0usize;
        let mut docs = Vec::new();
        let mut next = String::new();
        loop {
            let batch = self.reader.read_range(ns, &next, "", SCAN_PAGE)?;
            let full = batch.len() == SCAN_PAGE;
            for (key, version, value) in batch {
                scanned += 1;
                if scanned > limits.max_scanned {
                    return Err(PeerError::QueryTooBroad {
                        scanned: limits.max_scanned,
                    });
                }
                scanned_bytes += value.len();
                next = format!("{key}\0");
                // Only JSON objects are documents; anything else is skipped.
                if let Ok(doc @ serde_json::Value::Object(_)) = serde_json::from_slice(&value) {
                    docs.push((key.clone(), doc));
                    stored.insert(key, (version, value));
                }
            }
            if !full {
                break;
            }
        }
        // A page size replaces the query's own limit, as in Fabric; either
        // is capped by the peer's.
        let (size, bookmark) = match paging {
            Some((size, bookmark)) => (size, bookmark),
            None => (query.limit.unwrap_or(usize::MAX), ""),
        };
        let page = query.run(docs, Some(size.min(limits.max_results)), bookmark)?;
        let reads = self.reads.entry(ns.to_string()).or_default();
        let records = page
            .records
            .into_iter()
            .filter_map(|record| {
                let (version, value) = stored.remove(&record.key)?;
                reads.entry(record.key.clone()).or_insert(Some(version));
                let value = match query.fields {
                    None => value,
                    Some(_) => record.value.to_string().into_bytes(),
                };
                Some((record.key, value))
            })
            .collect();
        Ok(QueryOutcome {
            records,
            bookmark: page.bookmark,
            scanned,
            scanned_bytes,
        })
    }
}
