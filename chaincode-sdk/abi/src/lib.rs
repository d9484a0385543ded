//! The interface between the weft peer (host) and a chaincode compiled to
//! WASM (guest), defined once for both sides so they cannot drift.
//!
//! # Exports the guest provides
//! - `weft_abi_version() -> i32` — must return [`ABI_VERSION`];
//! - `weft_alloc(len: i32) -> i32` — a buffer of `len` bytes in guest memory;
//! - `weft_invoke(ptr: i32, len: i32) -> i64` — runs one invocation: the input
//!   at `ptr..ptr+len` is an [`Invocation`] encoding; the result packs the
//!   response's pointer and length ([`pack`]), the response being a
//!   [`Response`] encoding;
//! - `memory` — the linear memory.
//!
//! # Imports the host provides (module [`HOST_MODULE`])
//! Byte strings cross the boundary as `(ptr, len)` pairs in guest memory.
//! Functions that produce bytes put them in a host-side *result buffer* and
//! return its length (≥ 0); the guest then copies it out with
//! `read_result(ptr, len)`. Negative returns are [`ErrorCode`]s. The host
//! never calls back into the guest during a host call.
//!
//! | import | meaning |
//! |---|---|
//! | `get_state(key) -> i64` | value of `key` in this chaincode's namespace, or `NOT_FOUND` |
//! | `put_state(key, value) -> i32` | write |
//! | `del_state(key) -> i32` | delete |
//! | `range_open(start, end) -> i64` | iterator over `[start, end)` (empty end = to the end); a composite-key prefix query is `start = prefix`, `end = prefix + U+10FFFF` |
//! | `put_private_data`, `del_private_data`, `purge_private_data`, `get_private_data`, `get_private_data_hash` | a collection's private data (`purge`: the key and every past version of it, Fabric 2.5) |
//! | `private_range_open(collection, start, end) -> i64` | the same over a collection's private values this peer holds; as in Fabric, only in a transaction that writes nothing (`UNSUPPORTED` otherwise, and for any write after it) |
//! | `history_open(key) -> i64` | iterator over a key's past values (read-only invocations only) |
//! | `iter_next(id) -> i64` | next item ([`encode_kv`] for ranges, [`encode_history`] for history) or `DONE` |
//! | `iter_close(id) -> i32` | release |
//! | `tx_info(kind) -> i64` | a fact of the transaction ([`TxInfo`]) |
//! | `get_transient(key) -> i64` | transient data, or `NOT_FOUND` |
//! | `set_event(name, payload) -> i32` | the transaction's event (the last one wins) |
//! | `invoke_chaincode(name, args) -> i64` | calls another chaincode on the channel; result is a [`Response`] encoding |
//! | `log(level, msg)` | a log line attributed to the chaincode |
//! | `read_result(ptr, len) -> i32` | copies the result buffer into guest memory |
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

/// The ABI version this crate defines; a module exporting another is refused.
pub const ABI_VERSION: i32 = 1;

/// The import module name of host functions.
pub const HOST_MODULE: &str = "weft";

/// Guest export names.
pub mod exports {
    /// `() -> i32`
    pub const ABI_VERSION: &str = "weft_abi_version";
    /// `(len: i32) -> i32`
    pub const ALLOC: &str = "weft_alloc";
    /// `(ptr: i32, len: i32) -> i64`
    pub const INVOKE: &str = "weft_invoke";
    /// The linear memory.
    pub const MEMORY: &str = "memory";
}

/// Host import names (all in [`HOST_MODULE`]).
pub mod imports {
    /// `(key_ptr, key_len) -> i64`
    pub const GET_STATE: &str = "get_state";
    /// `(key_ptr, key_len, val_ptr, val_len) -> i32`
    pub const PUT_STATE: &str = "put_state";
    /// `(key_ptr, key_len) -> i32`
    pub const DEL_STATE: &str = "del_state";
    /// `(keys_ptr, keys_len) -> i64`: the values of many keys at once
    /// (Fabric 3.1's `GetMultipleStates`); keys as [`encode_keys`](crate::encode_keys),
    /// the answer as [`encode_values`](crate::encode_values) in the result buffer.
    pub const GET_MULTIPLE_STATES: &str = "get_multiple_states";
    /// `(coll_ptr, coll_len, keys_ptr, keys_len) -> i64`: private values of
    /// many keys at once (Fabric 3.1's `GetMultiplePrivateData`), as
    /// `get_multiple_states`.
    pub const GET_MULTIPLE_PRIVATE_DATA: &str = "get_multiple_private_data";
    /// `(writes_ptr, writes_len) -> i32`: many writes and deletes in one call
    /// (Fabric 3.1's write batch), as [`encode_writes`](crate::encode_writes).
    pub const PUT_STATES: &str = "put_states";
    /// `(key_ptr, key_len) -> i64`: the key's endorsement policy (Fabric's
    /// `GetStateValidationParameter`); not found when it has none.
    pub const GET_STATE_VALIDATION_PARAMETER: &str = "get_state_validation_parameter";
    /// `(key_ptr, key_len, policy_ptr, policy_len) -> i32` (Fabric's
    /// `SetStateValidationParameter`).
    pub const SET_STATE_VALIDATION_PARAMETER: &str = "set_state_validation_parameter";
    /// `(coll_ptr, coll_len, key_ptr, key_len) -> i64`: a private key's
    /// endorsement policy (Fabric's `GetPrivateDataValidationParameter`);
    /// not found when it has none.
    pub const GET_PRIVATE_DATA_VALIDATION_PARAMETER: &str = "get_private_data_validation_parameter";
    /// `(coll_ptr, coll_len, key_ptr, key_len, policy_ptr, policy_len) -> i32`
    /// (Fabric's `SetPrivateDataValidationParameter`).
    pub const SET_PRIVATE_DATA_VALIDATION_PARAMETER: &str = "set_private_data_validation_parameter";
    /// `(coll_ptr, coll_len, key_ptr, key_len) -> i64`: a private value
    /// (Fabric's `GetPrivateData`).
    pub const GET_PRIVATE_DATA: &str = "get_private_data";
    /// `(coll_ptr, coll_len, key_ptr, key_len) -> i64`: the SHA-256 of a
    /// private value as committed (Fabric's `GetPrivateDataHash`).
    pub const GET_PRIVATE_DATA_HASH: &str = "get_private_data_hash";
    /// `(coll_ptr, coll_len, key_ptr, key_len, val_ptr, val_len) -> i32`
    /// (Fabric's `PutPrivateData`).
    pub const PUT_PRIVATE_DATA: &str = "put_private_data";
    /// `(coll_ptr, coll_len, key_ptr, key_len) -> i32` (Fabric's `DelPrivateData`).
    pub const DEL_PRIVATE_DATA: &str = "del_private_data";
    /// `(coll_ptr, coll_len, key_ptr, key_len) -> i32` (Fabric 2.5's
    /// `PurgePrivateData`): deletes the key and, on every member peer, every
    /// past version of it.
    pub const PURGE_PRIVATE_DATA: &str = "purge_private_data";
    /// `(start_ptr, start_len, end_ptr, end_len) -> i64`
    pub const RANGE_OPEN: &str = "range_open";
    /// `(start_ptr, start_len, end_ptr, end_len, page_size, bookmark_ptr,
    /// bookmark_len) -> i64`: one page of a range (Fabric's
    /// `GetStateByRangeWithPagination`): at most `page_size` keys from the
    /// bookmark (empty: from `start`) on, read with `iter_next`; its
    /// [`QueryMetadata`](crate::QueryMetadata) (whose bookmark is the next
    /// key, empty after the last) from `query_metadata`. Only in a
    /// transaction that writes nothing.
    pub const RANGE_OPEN_PAGED: &str = "range_open_paged";
    /// `(coll_ptr, coll_len, start_ptr, start_len, end_ptr, end_len) -> i64`:
    /// an iterator over a collection's private values (Fabric's
    /// `GetPrivateDataByRange`), read with `iter_next` as [`encode_kv`] items.
    pub const PRIVATE_RANGE_OPEN: &str = "private_range_open";
    /// `(query_ptr, query_len, bookmark_ptr, bookmark_len, page_size) -> i64`:
    /// an iterator over the results of a rich query (CouchDB's JSON query
    /// language) on this namespace, read with `iter_next` as [`encode_kv`]
    /// items. `page_size < 0`: every result (Fabric's `GetQueryResult`);
    /// otherwise one page after the bookmark (`GetQueryResultWithPagination`),
    /// whose metadata `query_metadata` returns. A refused query returns
    /// [`ErrorCode::BadQuery`](crate::ErrorCode::BadQuery).
    pub const QUERY_OPEN: &str = "query_open";
    /// `(coll_ptr, coll_len, query_ptr, query_len) -> i64`: an iterator over
    /// the results of a rich query on a collection's private values this
    /// peer holds (Fabric's `GetPrivateDataQueryResult`), as `query_open`.
    /// Only in a transaction that writes nothing.
    pub const PRIVATE_QUERY_OPEN: &str = "private_query_open";
    /// `(id) -> i64`: the [`QueryMetadata`](crate::QueryMetadata) of a
    /// query iterator, in the result buffer.
    pub const QUERY_METADATA: &str = "query_metadata";
    /// `() -> i64`: why the last call returning
    /// [`ErrorCode::BadQuery`](crate::ErrorCode::BadQuery) was refused (UTF-8,
    /// in the result buffer); not found when none was.
    pub const LAST_ERROR: &str = "last_error";
    /// `(key_ptr, key_len) -> i64`
    pub const HISTORY_OPEN: &str = "history_open";
    /// `(id) -> i64`
    pub const ITER_NEXT: &str = "iter_next";
    /// `(id) -> i32`
    pub const ITER_CLOSE: &str = "iter_close";
    /// `(kind) -> i64`
    pub const TX_INFO: &str = "tx_info";
    /// `(key_ptr, key_len) -> i64`
    pub const GET_TRANSIENT: &str = "get_transient";
    /// `(name_ptr, name_len, payload_ptr, payload_len) -> i32`
    pub const SET_EVENT: &str = "set_event";
    /// `(name_ptr, name_len, args_ptr, args_len) -> i64`
    pub const INVOKE_CHAINCODE: &str = "invoke_chaincode";
    /// `(level, msg_ptr, msg_len)`
    pub const LOG: &str = "log";
    /// `(ptr, len) -> i32`
    pub const READ_RESULT: &str = "read_result";

    /// Every import the host provides; a module importing anything else is refused.
    pub const ALL: &[&str] = &[
        GET_STATE,
        PUT_STATE,
        DEL_STATE,
        GET_MULTIPLE_STATES,
        GET_MULTIPLE_PRIVATE_DATA,
        PUT_STATES,
        GET_STATE_VALIDATION_PARAMETER,
        SET_STATE_VALIDATION_PARAMETER,
        GET_PRIVATE_DATA_VALIDATION_PARAMETER,
        SET_PRIVATE_DATA_VALIDATION_PARAMETER,
        GET_PRIVATE_DATA,
        GET_PRIVATE_DATA_HASH,
        PUT_PRIVATE_DATA,
        DEL_PRIVATE_DATA,
        PURGE_PRIVATE_DATA,
        RANGE_OPEN,
        RANGE_OPEN_PAGED,
        PRIVATE_RANGE_OPEN,
        QUERY_OPEN,
        PRIVATE_QUERY_OPEN,
        QUERY_METADATA,
        LAST_ERROR,
        HISTORY_OPEN,
        ITER_NEXT,
        ITER_CLOSE,
        TX_INFO,
        GET_TRANSIENT,
        SET_EVENT,
        INVOKE_CHAINCODE,
        LOG,
        READ_RESULT,
    ];
}

/// Why a host call failed (returned negated, as a negative number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorCode {
    /// The key, transient entry or chaincode does not exist.
    NotFound = 1,
    /// A range or history iterator has no more items.
    Done = 2,
    /// Arguments are malformed (bad pointers, bad UTF-8 key, bad encoding).
    InvalidArgument = 3,
    /// Not allowed here (writing in an evaluate, history in a submit, ...).
    Forbidden = 4,
    /// No iterator with that id.
    NoSuchIterator = 5,
    /// The peer failed (ledger error); the invocation should fail.
    Internal = 6,
    /// The result buffer is larger than the guest's buffer.
    BufferTooSmall = 7,
    /// The transaction mixes what Fabric keeps apart: a private-data query
    /// in a transaction that writes, or a write after one.
    Unsupported = 8,
    /// A rich query was refused (malformed, not supported, or over the
    /// peer's limits); `last_error` says why.
    BadQuery = 9,
}

impl ErrorCode {
    /// The negative value a host function returns for this error.
    pub const fn as_return(self) -> i64 {
        -(self as i64)
    }

    /// Decodes a negative host return value.
    pub fn from_return(v: i64) -> Option<Self> {
        Some(match -v {
            1 => Self::NotFound,
            2 => Self::Done,
            3 => Self::InvalidArgument,
            4 => Self::Forbidden,
            5 => Self::NoSuchIterator,
            6 => Self::Internal,
            7 => Self::BufferTooSmall,
            8 => Self::Unsupported,
            9 => Self::BadQuery,
            _ => return None,
        })
    }
}

/// Facts of the transaction a chaincode can ask for with `tx_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum TxInfo {
    /// The transaction id (UTF-8).
    TxId = 0,
    /// The channel id (UTF-8).
    ChannelId = 1,
    /// The proposal timestamp: 8 bytes seconds (LE, i64) then 4 bytes nanos (LE, i32).
    Timestamp = 2,
    /// The creator's MSP id (UTF-8).
    CreatorMspId = 3,
    /// The creator's certificate (PEM).
    CreatorCert = 4,
    /// Whether this is a read-only evaluation: one byte, 1 or 0.
    ReadOnly = 5,
}

impl TxInfo {
    /// From the `kind` argument.
    pub fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::TxId,
            1 => Self::ChannelId,
            2 => Self::Timestamp,
            3 => Self::CreatorMspId,
            4 => Self::CreatorCert,
            5 => Self::ReadOnly,
            _ => return None,
        })
    }
}

/// Log levels for `log`.
pub mod log_level {
    /// Error.
    pub const ERROR: i32 = 1;
    /// Warning.
    pub const WARN: i32 = 2;
    /// Information.
    pub const INFO: i32 = 3;
    /// Debug.
    pub const DEBUG: i32 = 4;
}

/// Packs a pointer and a length into `weft_invoke`'s return value.
pub const fn pack(ptr: u32, len: u32) -> i64 {
    ((ptr as u64) << 32 | len as u64) as i64
}

/// Unpacks `weft_invoke`'s return value into (pointer, length).
pub const fn unpack(v: i64) -> (u32, u32) {
    let v = v as u64;
    ((v >> 32) as u32, v as u32)
}

// ---- encodings: u32 little-endian length prefixes ----

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// Reads length-prefixed byte strings.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self) -> Option<&'a [u8]> {
        if self.0.len() < 4 {
            return None;
        }
        let len = u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]) as usize;
        let rest = &self.0[4..];
        if rest.len() < len {
            return None;
        }
        let (b, rest) = rest.split_at(len);
        self.0 = rest;
        Some(b)
    }

    fn u32(&mut self) -> Option<u32> {
        if self.0.len() < 4 {
            return None;
        }
        let v = u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]);
        self.0 = &self.0[4..];
        Some(v)
    }

    /// A value written by [`put_optional`].
    fn optional(&mut self) -> Option<Option<&'a [u8]>> {
        let (flag, rest) = self.0.split_first()?;
        self.0 = rest;
        match flag {
            0 => Some(None),
            1 => Some(Some(self.bytes()?)),
            _ => None,
        }
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// Appends 0 for `None`, or 1 and the bytes length-prefixed.
fn put_optional(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_bytes(out, v);
        }
    }
}

/// What `weft_invoke` is given: the arguments (`args[0]` is the function).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    /// Function name then arguments, as in Fabric's `ChaincodeInput.args`.
    pub args: Vec<Vec<u8>>,
}

impl Invocation {
    /// Encodes: count, then each argument length-prefixed.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.args.len() as u32).to_le_bytes());
        for a in &self.args {
            put_bytes(&mut out, a);
        }
        out
    }

    /// Decodes; `None` if malformed.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader(b);
        let n = r.u32()? as usize;
        let mut args = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            args.push(r.bytes()?.to_vec());
        }
        r.done().then_some(Self { args })
    }
}

/// A chaincode's response, as Fabric's `peer.Response`: status 200 is success,
/// 400 and up is an error.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// HTTP-like status.
    pub status: u32,
    /// Error message (empty on success).
    pub message: String,
    /// Result bytes.
    pub payload: Vec<u8>,
}

impl Response {
    /// A 200 response with a payload.
    pub fn ok(payload: Vec<u8>) -> Self {
        Self {
            status: 200,
            message: String::new(),
            payload,
        }
    }

    /// A 500 response with a message.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            status: 500,
            message: message.into(),
            payload: Vec::new(),
        }
    }

    /// Encodes: status, message, payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.message.len() + self.payload.len());
        out.extend_from_slice(&self.status.to_le_bytes());
        put_bytes(&mut out, self.message.as_bytes());
        put_bytes(&mut out, &self.payload);
        out
    }

    /// Decodes; `None` if malformed.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader(b);
        let status = r.u32()?;
        let message = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        let payload = r.bytes()?.to_vec();
        r.done().then_some(Self {
            status,
            message,
            payload,
        })
    }
}

/// Encodes a range item: key then value.
pub fn encode_kv(key: &str, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len() + value.len());
    put_bytes(&mut out, key.as_bytes());
    put_bytes(&mut out, value);
    out
}

/// Decodes a range item.
pub fn decode_kv(b: &[u8]) -> Option<(String, Vec<u8>)> {
    let mut r = Reader(b);
    let key = String::from_utf8(r.bytes()?.to_vec()).ok()?;
    let value = r.bytes()?.to_vec();
    r.done().then_some((key, value))
}

/// What a paginated rich query reports beside its results (Fabric's
/// `QueryResponseMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryMetadata {
    /// Results in this page.
    pub fetched_records_count: u32,
    /// Where the next page starts; empty when this page is empty.
    pub bookmark: String,
}

impl QueryMetadata {
    /// Encodes: the count, then the bookmark length-prefixed.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.fetched_records_count.to_le_bytes().to_vec();
        put_bytes(&mut out, self.bookmark.as_bytes());
        out
    }

    /// Decodes what [`QueryMetadata::encode`] wrote.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader(b);
        let fetched_records_count = r.u32()?;
        let bookmark = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        r.done().then_some(Self {
            fetched_records_count,
            bookmark,
        })
    }
}

/// One past value of a key (history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyModification {
    /// The transaction that wrote it.
    pub tx_id: String,
    /// The value (empty when deleted).
    pub value: Vec<u8>,
    /// Seconds of the writing transaction's timestamp.
    pub timestamp_seconds: i64,
    /// Whether the key was deleted.
    pub is_delete: bool,
}

/// Encodes a history item.
pub fn encode_history(m: &KeyModification) -> Vec<u8> {
    let mut out = Vec::new();
    put_bytes(&mut out, m.tx_id.as_bytes());
    put_bytes(&mut out, &m.value);
    out.extend_from_slice(&m.timestamp_seconds.to_le_bytes());
    out.push(u8::from(m.is_delete));
    out
}

/// Decodes a history item.
pub fn decode_history(b: &[u8]) -> Option<KeyModification> {
    let mut r = Reader(b);
    let tx_id = String::from_utf8(r.bytes()?.to_vec()).ok()?;
    let value = r.bytes()?.to_vec();
    if r.0.len() != 9 {
        return None;
    }
    let mut secs = [0u8; 8];
    secs.copy_from_slice(&r.0[..8]);
    Some(KeyModification {
        tx_id,
        value,
        timestamp_seconds: i64::from_le_bytes(secs),
        is_delete: r.0[8] == 1,
    })
}

/// Encodes a list of keys: a count, then each key length-prefixed.
pub fn encode_keys(keys: &[&str]) -> Vec<u8> {
    let mut out = (keys.len() as u32).to_le_bytes().to_vec();
    for k in keys {
        put_bytes(&mut out, k.as_bytes());
    }
    out
}

/// Decodes [`encode_keys`]; `None` for malformed bytes or a key that is not UTF-8.
pub fn decode_keys(b: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader(b);
    let n = r.u32()? as usize;
    // Each key takes at least its 4-byte length: no allocation beyond the input.
    if n > b.len() / 4 {
        return None;
    }
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        keys.push(String::from_utf8(r.bytes()?.to_vec()).ok()?);
    }
    r.done().then_some(keys)
}

/// Encodes the answer to a multi-key read: a count, then per key 0 (no
/// value) or 1 and the value length-prefixed.
pub fn encode_values(values: &[Option<Vec<u8>>]) -> Vec<u8> {
    let mut out = (values.len() as u32).to_le_bytes().to_vec();
    for v in values {
        put_optional(&mut out, v.as_deref());
    }
    out
}

/// Decodes [`encode_values`].
pub fn decode_values(b: &[u8]) -> Option<Vec<Option<Vec<u8>>>> {
    let mut r = Reader(b);
    let n = r.u32()? as usize;
    if n > b.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(r.optional()?.map(<[u8]>::to_vec));
    }
    r.done().then_some(out)
}

/// Encodes a batch of writes: a count, then per write the key, and 0 (a
/// delete) or 1 and the value.
pub fn encode_writes(writes: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut out = (writes.len() as u32).to_le_bytes().to_vec();
    for (k, v) in writes {
        put_bytes(&mut out, k.as_bytes());
        put_optional(&mut out, *v);
    }
    out
}

/// Decodes [`encode_writes`].
pub fn decode_writes(b: &[u8]) -> Option<Vec<(String, Option<Vec<u8>>)>> {
    let mut r = Reader(b);
    let n = r.u32()? as usize;
    if n > b.len() / 5 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let key = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        out.push((key, r.optional()?.map(<[u8]>::to_vec)));
    }
    r.done().then_some(out)
}

/// Encodes `invoke_chaincode`'s argument list (same as an [`Invocation`]).
pub fn encode_args(args: &[Vec<u8>]) -> Vec<u8> {
    Invocation {
        args: args.to_vec(),
    }
    .encode()
}

#[cfg(test)]
mod tests {
    extern crate std;
    use alloc::vec;

    use super::*;

    #[test]
    fn encodings_round_trip_and_reject_garbage() {
        let inv = Invocation {
            args: vec![b"CreateAsset".to_vec(), b"a1".to_vec(), vec![]],
        };
        assert_eq!(Invocation::decode(&inv.encode()), Some(inv));
        assert_eq!(Invocation::decode(&[5, 0, 0, 0, 1]), None);
        let r = Response {
            status: 404,
            message: "no such asset".into(),
            payload: vec![1, 2],
        };
        assert_eq!(Response::decode(&r.encode()), Some(r.clone()));
        let mut trailing = r.encode();
        trailing.push(0);
        assert_eq!(Response::decode(&trailing), None);
        assert_eq!(
            decode_kv(&encode_kv("k", b"v")),
            Some(("k".into(), b"v".to_vec()))
        );
        let m = KeyModification {
            tx_id: "t".into(),
            value: vec![9],
            timestamp_seconds: -5,
            is_delete: true,
        };
        assert_eq!(decode_history(&encode_history(&m)), Some(m));
        assert_eq!(
            decode_keys(&encode_keys(&["a", "", "c"])).unwrap(),
            ["a", "", "c"]
        );
        assert_eq!(
            decode_keys(&[255, 255, 255, 255]),
            None,
            "a count beyond the bytes"
        );
        let values = vec![Some(b"v".to_vec()), None, Some(Vec::new())];
        assert_eq!(decode_values(&encode_values(&values)), Some(values));
        let writes = encode_writes(&[("a", Some(b"1".as_slice())), ("b", None)]);
        assert_eq!(
            decode_writes(&writes),
            Some(vec![("a".into(), Some(b"1".to_vec())), ("b".into(), None)])
        );
        assert_eq!(decode_writes(&writes[..writes.len() - 1]), None);
        let q = QueryMetadata {
            fetched_records_count: 7,
            bookmark: "5b2261225d".into(),
        };
        assert_eq!(QueryMetadata::decode(&q.encode()), Some(q.clone()));
        assert_eq!(QueryMetadata::decode(&q.encode()[..5]), None);
        assert_eq!(
            ErrorCode::from_return(ErrorCode::BadQuery.as_return()),
            Some(ErrorCode::BadQuery)
        );
        assert_eq!(unpack(pack(0xdead_beef, 42)), (0xdead_beef, 42));
        assert_eq!(
            ErrorCode::from_return(ErrorCode::Done.as_return()),
            Some(ErrorCode::Done)
        );
    }
}
