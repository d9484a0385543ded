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
use weft_protos::kvrwset::Version;

use super::{Simulator, StateReader};
use crate::PeerError;
use crate::ledger::IndexScope;

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

    /// Runs `query` over the candidates (at most `size` results, after
    /// `bookmark`): each result's key and value as stored (or its `fields`),
    /// with `returned(key, version)` told of each.
    fn answer(
        mut self,
        query: &Query,
        size: usize,
        bookmark: &str,
        mut returned: impl FnMut(&str, Version),
    ) -> Result<QueryOutcome, PeerError> {
        let page = query.run(std::mem::take(&mut self.docs), Some(size), bookmark)?;
        let records = page
            .records
            .into_iter()
            .filter_map(|record| {
                let (version, stored) = self.stored.remove(&record.key)?;
                returned(&record.key, version);
                let value = match query.fields {
                    None => stored,
                    Some(_) => record.value.to_string().into_bytes(),
                };
                Some((record.key, value))
            })
            .collect();
        Ok(QueryOutcome {
            records,
            bookmark: page.bookmark,
            scanned: self.scanned,
            scanned_bytes: self.scanned_bytes,
        })
    }

    /// Offers every value `next_page(after)` yields, page by page from the
    /// start, refusing the query past `limits.max_scanned` values.
    fn scan(
        &mut self,
        limits: QueryLimits,
        mut next_page: impl FnMut(&str) -> Result<Vec<(String, Version, Vec<u8>)>, PeerError>,
    ) -> Result<(), PeerError> {
        let mut next = String::new();
        loop {
            let batch = next_page(&next)?;
            let full = batch.len() == SCAN_PAGE;
            for (key, version, value) in batch {
                if self.scanned >= limits.max_scanned {
                    return Err(PeerError::QueryTooBroad {
                        scanned: limits.max_scanned,
                    });
                }
                next = format!("{key}\0");
                self.offer(key, version, value);
            }
            if !full {
                return Ok(());
            }
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
            let reader = &self.reader;
            found.scan(limits, |after| reader.read_range(ns, after, "", SCAN_PAGE))?;
        }
        // A page size replaces the query's own limit, as in Fabric; either
        // is capped by the peer's.
        let (size, bookmark) = match paging {
            Some((size, bookmark)) => (size, bookmark),
            None => (query.limit.unwrap_or(usize::MAX), ""),
        };
        let reads = self.reads.entry(ns.to_string()).or_default();
        found.answer(
            query,
            size.min(limits.max_results),
            bookmark,
            |key, version| {
                reads.entry(key.to_string()).or_insert(Some(version));
            },
        )
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
        self.begin_private_query()?;
        let mut found = Candidates::default();
        let scope = IndexScope::Private(ns, collection);
        if let Some(keys) = self.index_candidates(scope, query, limits)? {
            for key in keys {
                if let Some(value) = self.reader.read_private(ns, collection, &key)? {
                    found.offer(key, Version::default(), value);
                }
            }
        } else {
            let reader = &self.reader;
            // Private values carry no version a query could record.
            found.scan(limits, |after| {
                Ok(reader
                    .read_private_range(ns, collection, after, "", SCAN_PAGE)?
                    .into_iter()
                    .map(|(k, v)| (k, Version::default(), v))
                    .collect())
            })?;
        }
        let size = query.limit.unwrap_or(usize::MAX).min(limits.max_results);
        found.answer(query, size, "", |_, _| {})
    }
}
