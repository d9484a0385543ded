//! The rich-query host functions (Fabric's `GetQueryResult` and
//! `GetQueryResultWithPagination`), paginated ranges
//! (`GetStateByRangeWithPagination` and the composite-key forms built on
//! it), and `last_error`, which tells the guest why a query was refused.
//!
//! A query comes from whoever invokes the chaincode, so what it may cost is
//! bounded: its text is charged per byte, every document it examines is
//! charged like a range query's item, it examines at most
//! `ledger.state.totalQueryLimit` documents (more is refused with the
//! cause, never answered from part of the data) and returns at most as many.

use wasmtime::Linker;
use weft_chaincode_abi::{ErrorCode, HOST_MODULE, QueryMetadata, encode_kv, imports as abi};
use weft_chaincode_query::Query;

use super::host::{
    BYTE_COST, CALL_COST, Ctx, HostState, ITEM_COST, MAX_ITERATORS, charge, open_fetched, read_str,
    set_result, sim,
};
use super::host_private::{collection, may_serve_values};
use super::simulator::QueryLimits;
use crate::PeerError;

/// Refuses a query: the reason is kept for `last_error`, and logged.
fn refuse(c: &mut Ctx<'_>, e: &PeerError) -> i64 {
    tracing::debug!(chaincode = %c.data().ctx.chaincode, "rich query refused: {e}");
    c.data_mut().last_refusal = Some(e.to_string());
    ErrorCode::BadQuery.as_return()
}

/// Refuses a page size of 0 or less.
fn bad_page_size(c: &mut Ctx<'_>) -> i64 {
    let e = PeerError::Query(weft_chaincode_query::QueryError::BadOption {
        name: "pageSize".into(),
        reason: "must be positive".into(),
    });
    refuse(c, &e)
}

/// What one query of this invocation may cost (`totalQueryLimit`).
fn limits(c: &Ctx<'_>) -> QueryLimits {
    let limit = c.data().query_limit();
    QueryLimits {
        max_results: limit,
        max_scanned: limit,
    }
}

/// A failed query's answer to the guest: UNSUPPORTED (writes and
/// paginated or private queries mixed) and BAD_QUERY with the reason for
/// `last_error`, INTERNAL (logged) for a ledger failure.
fn failed(c: &mut Ctx<'_>, call: &str, e: PeerError) -> i64 {
    match e {
        PeerError::UnsupportedTransaction(_) => {
            c.data_mut().last_refusal = Some(e.to_string());
            ErrorCode::Unsupported.as_return()
        }
        PeerError::Query(_) | PeerError::QueryTooBroad { .. } => refuse(c, &e),
        e => {
            tracing::warn!("{call}: {e}");
            ErrorCode::Internal.as_return()
        }
    }
}

/// Charges what a query examined and opens an iterator over its results.
fn open_results(
    c: &mut Ctx<'_>,
    outcome: &super::simulator::QueryOutcome,
    metadata: Option<QueryMetadata>,
) -> wasmtime::Result<i64> {
    charge(
        c,
        outcome.scanned as u64 * ITEM_COST + outcome.scanned_bytes as u64 * BYTE_COST,
    )?;
    let items = outcome
        .records
        .iter()
        .map(|(key, value)| encode_kv(key, value))
        .collect();
    Ok(open_fetched(c, items, metadata))
}

/// Links the rich-query host functions.
pub(super) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        HOST_MODULE,
        abi::QUERY_OPEN,
        |mut c: Ctx<'_>,
         qp: i32,
         ql: i32,
         bp: i32,
         bl: i32,
         page_size: i32|
         -> wasmtime::Result<i64> {
            charge(
                &mut c,
                CALL_COST + (ql.max(0) + bl.max(0)) as u64 * BYTE_COST,
            )?;
            let text = try_code!(read_str(&mut c, qp, ql));
            let bookmark = try_code!(read_str(&mut c, bp, bl));
            if c.data().iterators_open() >= MAX_ITERATORS {
                return Ok(ErrorCode::Forbidden.as_return());
            }
            let query = match Query::parse(&text) {
                Ok(q) => q,
                Err(e) => return Ok(refuse(&mut c, &e.into())),
            };
            let paging = match page_size {
                n if n < 0 => None,
                0 => return Ok(bad_page_size(&mut c)),
                n => Some((n as usize, bookmark.as_str())),
            };
            let limits = limits(&c);
            let (s, ns) = sim(&mut c);
            let outcome = match s.rich_query(&ns, &query, paging, limits) {
                Ok(o) => o,
                Err(e) => return Ok(failed(&mut c, abi::QUERY_OPEN, e)),
            };
            let metadata = paging.map(|_| QueryMetadata {
                fetched_records_count: outcome.records.len() as u32,
                bookmark: outcome.bookmark.clone(),
            });
            open_results(&mut c, &outcome, metadata)
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::RANGE_OPEN_PAGED,
        |mut c: Ctx<'_>,
         sp: i32,
         sl: i32,
         ep: i32,
         el: i32,
         page_size: i32,
         bp: i32,
         bl: i32|
         -> wasmtime::Result<i64> {
            charge(
                &mut c,
                CALL_COST + (sl.max(0) + el.max(0) + bl.max(0)) as u64 * BYTE_COST,
            )?;
            let start = try_code!(read_str(&mut c, sp, sl));
            let end = try_code!(read_str(&mut c, ep, el));
            let bookmark = try_code!(read_str(&mut c, bp, bl));
            if c.data().iterators_open() >= MAX_ITERATORS {
                return Ok(ErrorCode::Forbidden.as_return());
            }
            if page_size <= 0 {
                return Ok(bad_page_size(&mut c));
            }
            // The bookmark is the next page's first key: it must lie in the range.
            let from = if bookmark.is_empty() {
                start.clone()
            } else {
                bookmark
            };
            if from < start || (!end.is_empty() && from >= end) {
                let e = PeerError::Query(weft_chaincode_query::QueryError::BadBookmark(from));
                return Ok(refuse(&mut c, &e));
            }
            let size = (page_size as usize).min(c.data().query_limit());
            let (s, ns) = sim(&mut c);
            let (page, next) = match s.range_page(&ns, &from, &end, size) {
                Ok(p) => p,
                Err(e) => return Ok(failed(&mut c, abi::RANGE_OPEN_PAGED, e)),
            };
            charge(
                &mut c,
                page.iter()
                    .map(|(k, v)| ITEM_COST + (k.len() + v.len()) as u64 * BYTE_COST)
                    .sum(),
            )?;
            let metadata = QueryMetadata {
                fetched_records_count: page.len() as u32,
                bookmark: next,
            };
            let items = page.iter().map(|(k, v)| encode_kv(k, v)).collect();
            Ok(open_fetched(&mut c, items, Some(metadata)))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::PRIVATE_QUERY_OPEN,
        |mut c: Ctx<'_>, cp: i32, cl: i32, qp: i32, ql: i32| -> wasmtime::Result<i64> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + ql.max(0)) as u64 * BYTE_COST,
            )?;
            let call = abi::PRIVATE_QUERY_OPEN;
            let (coll, access) = try_code!(collection(&mut c, call, (cp, cl)));
            let text = try_code!(read_str(&mut c, qp, ql));
            try_code!(may_serve_values(&c, call, &coll, access));
            if c.data().iterators_open() >= MAX_ITERATORS {
                return Ok(ErrorCode::Forbidden.as_return());
            }
            let query = match Query::parse(&text) {
                Ok(q) => q,
                Err(e) => return Ok(refuse(&mut c, &e.into())),
            };
            let limits = limits(&c);
            let (s, ns) = sim(&mut c);
            let outcome = match s.private_rich_query(&ns, &coll, &query, limits) {
                Ok(o) => o,
                Err(e) => return Ok(failed(&mut c, call, e)),
            };
            open_results(&mut c, &outcome, None)
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::QUERY_METADATA,
        |mut c: Ctx<'_>, id: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST)?;
            match c.data().query_metadata(id).map(QueryMetadata::encode) {
                Some(bytes) => set_result(&mut c, bytes),
                None => Ok(ErrorCode::NoSuchIterator.as_return()),
            }
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::LAST_ERROR,
        |mut c: Ctx<'_>| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST)?;
            match c.data_mut().last_refusal.take() {
                Some(why) => set_result(&mut c, why.into_bytes()),
                None => Ok(ErrorCode::NotFound.as_return()),
            }
        },
    )?;
    Ok(())
}
