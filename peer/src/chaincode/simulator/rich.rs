//! Rich queries in a simulation (Fabric's `GetQueryResult` and
//! `GetQueryResultWithPagination`): a CouchDB-style JSON query evaluated
//! over the namespace's committed JSON values by `weft-chaincode-query`.
//!
//! As in Fabric, each key returned is recorded as a read with the version
//! seen, so the committer's MVCC check covers it; nothing records which keys
//! the query did *not* return, so a document that starts to match between
//! endorsement and commit is not detected (Fabric documents the same for
//! CouchDB). A paginated query is allowed only in a transaction that writes
//! nothing, as in Fabric. A query on a collection's private values
//! (`GetPrivateDataQueryResult`) records nothing at all, so it follows the
//! rule of private ranges: never in a transaction that writes.

use std::collections::HashMap;

use weft_chaincode_query::Query;

use crate::ledger::IndexScope;
use weft_protos::kvrwset::Version;

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

/// The documents a query is run over, and what finding them took.
#[derive(Default)]
struct Candidates {
    /// Key and document, in key order.
    docs: Vec<(String, serde_json::Value)>,
    /// Each candidate's version and value as stored.
    stored: HashMap<String, (Version, Vec<u8>)>,
    scanned: usize,
    scanned_bytes: usize,
}

impl Candidates {
    /// Counts a key examined and keeps it if its value is a JSON object.
    fn offer(&mut self, key: String, version: Version, value: Vec<u8>) {
        self.scanned += 1;
        self.scanned_bytes += value.len();
        if let Ok(doc @ serde_json::Value::Object(_)) = serde_json::from_slice(&value) {
            self.docs.push((key.clone(), doc));
            self.stored.insert(key, (version, value));
        }
    }
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
        let mut found = Candidates::default();
        if let Some(keys) = self.index_candidates(IndexScope::Public(ns), query, limits)? {
            for key in keys {
                if let Some((version, value)) = self.reader.read(ns, &key)? {
                    found.offer(key, version, value);
                }
            }
        } else {
            tracing::debug!(
                namespace = ns,
                "rich query plan: no usable index, scanning the namespace"
            );
            let mut next = String::new();
            loop {
                let batch = self.reader.read_range(ns, &next, "", SCAN_PAGE)?;
                let full = batch.len() == SCAN_PAGE;
                for (key, version, value) in batch {
                    if found.scanned >= limits.max_scanned {
                        return Err(PeerError::QueryTooBroad {
                            scanned: limits.max_scanned,
                        });
                    }
                    next = format!("{key}\0");
                    found.offer(key, version, value);
                }
                if !full {
                    break;
                }
            }
        }
        let Candidates {
            docs,
            mut stored,
            scanned,
            scanned_bytes,
        } = found;
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
                Some(returned(query, record, value))
            })
            .collect();
        Ok(QueryOutcome {
            records,
            bookmark: page.bookmark,
            scanned,
            scanned_bytes,
        })
    }

    /// The keys an index of `scope` finds for `query`, in key order, or
    /// `None` when no index serves it (the plan is in the debug log).
    fn index_candidates(
        &self,
        scope: IndexScope<'_>,
        query: &Query,
        limits: QueryLimits,
    ) -> Result<Option<Vec<String>>, PeerError> {
        let indexes = self.reader.indexes(scope);
        let Some(plan) = weft_chaincode_query::plan(query, &indexes)? else {
            tracing::debug!(?scope, "rich query plan: no usable index, scanning");
            return Ok(None);
        };
        let def = &indexes[plan.index];
        let mut keys = self.reader.read_index(
            scope,
            def,
            &plan.start,
            &plan.end,
            limits.max_scanned.saturating_add(1),
        )?;
        tracing::debug!(
            ?scope,
            index = %format!("{}/{}", def.ddoc, def.name),
            fields_used = plan.fields_used,
            candidates = keys.len(),
            "rich query plan"
        );
        if keys.len() > limits.max_scanned {
            return Err(PeerError::QueryTooBroad {
                scanned: limits.max_scanned,
            });
        }
        // Results come in key order (or the query's sort), whatever the
        // index's order.
        keys.sort();
        Ok(Some(keys))
    }

    /// Runs `query` over the private values of `collection` this peer
    /// holds, through an index of the collection when one serves it.
    pub(super) fn run_private_rich_query(
        &mut self,
        ns: &str,
        collection: &str,
        query: &Query,
        limits: QueryLimits,
    ) -> Result<QueryOutcome, PeerError> {
        if self.wrote {
            return Err(PeerError::UnsupportedTransaction(
                "queries on private data are supported only in a transaction that writes nothing",
            ));
        }
        self.queried_private = true;
        let mut found = Candidates::default();
        let scope = IndexScope::Private(ns, collection);
        if let Some(keys) = self.index_candidates(scope, query, limits)? {
            for key in keys {
                if let Some(value) = self.reader.read_private(ns, collection, &key)? {
                    found.offer(key, Version::default(), value);
                }
            }
            return self.private_outcome(query, limits, found);
        }
        let mut next = String::new();
        loop {
            let batch = self
                .reader
                .read_private_range(ns, collection, &next, "", SCAN_PAGE)?;
            let full = batch.len() == SCAN_PAGE;
            for (key, value) in batch {
                if found.scanned >= limits.max_scanned {
                    return Err(PeerError::QueryTooBroad {
                        scanned: limits.max_scanned,
                    });
                }
                next = format!("{key}\0");
                // Private values carry no version a query could record.
                found.offer(key, Version::default(), value);
            }
            if !full {
                break;
            }
        }
        self.private_outcome(query, limits, found)
    }

    /// The results of a private query over its candidates.
    fn private_outcome(
        &self,
        query: &Query,
        limits: QueryLimits,
        mut found: Candidates,
    ) -> Result<QueryOutcome, PeerError> {
        let size = query.limit.unwrap_or(usize::MAX).min(limits.max_results);
        let page = query.run(std::mem::take(&mut found.docs), Some(size), "")?;
        let records = page
            .records
            .into_iter()
            .filter_map(|record| {
                let (_, value) = found.stored.remove(&record.key)?;
                Some(returned(query, record, value))
            })
            .collect();
        Ok(QueryOutcome {
            records,
            bookmark: page.bookmark,
            scanned: found.scanned,
            scanned_bytes: found.scanned_bytes,
        })
    }
}

/// A result as returned to the chaincode: the value as stored, or the
/// query's `fields` of it.
fn returned(
    query: &Query,
    record: weft_chaincode_query::Record,
    stored: Vec<u8>,
) -> (String, Vec<u8>) {
    let value = match query.fields {
        None => stored,
        Some(_) => record.value.to_string().into_bytes(),
    };
    (record.key, value)
}
