//! What a contract can ask of the peer: the ABI's host functions, as a trait
//! so that the WASM host bindings and [`crate::mock::MockStub`] are interchangeable.

use std::fmt;

use weft_chaincode_abi::{ErrorCode, KeyModification, QueryMetadata, Response, TxInfo};

use crate::ContractError;

/// A host call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerError {
    /// The ABI error code.
    pub code: ErrorCode,
    /// Which call.
    pub call: &'static str,
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.code {
            ErrorCode::NotFound => "not found",
            ErrorCode::Done => "no more items",
            ErrorCode::InvalidArgument => "invalid argument",
            ErrorCode::Forbidden => {
                "refused by the peer's access rules (the client's org or this peer is not a member of the collection)"
            }
            ErrorCode::NoSuchIterator => "no such iterator",
            ErrorCode::Internal => "the peer failed",
            ErrorCode::BufferTooSmall => "buffer too small",
            ErrorCode::Unsupported => {
                "unsupported transaction: queries on private data and paginated queries are allowed only in a transaction that writes nothing, and no write may follow one"
            }
            ErrorCode::BadQuery => "the rich query was refused",
        };
        write!(f, "{}: {what}", self.call)
    }
}

impl std::error::Error for LedgerError {}

/// The ledger API of one invocation, in this chaincode's namespace.
pub trait Ledger {
    /// A key's committed value.
    fn get_state(&mut self, key: &str) -> Result<Option<Vec<u8>>, LedgerError>;
    /// Writes a key.
    fn put_state(&mut self, key: &str, value: &[u8]) -> Result<(), LedgerError>;
    /// Deletes a key.
    fn del_state(&mut self, key: &str) -> Result<(), LedgerError>;
    /// The committed values of many keys, in order (one host call).
    fn get_multiple_states(&mut self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, LedgerError>;
    /// Private values of many keys of `collection`, in order (one host call).
    fn get_multiple_private_data(
        &mut self,
        collection: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, LedgerError>;
    /// Many writes (`Some`) and deletes (`None`) in one host call.
    fn put_states(&mut self, writes: &[(&str, Option<&[u8]>)]) -> Result<(), LedgerError>;
    /// A key's committed endorsement policy (Fabric's validation parameter).
    fn get_state_validation_parameter(&mut self, key: &str)
    -> Result<Option<Vec<u8>>, LedgerError>;
    /// Sets a key's endorsement policy: from the next transaction on, writes
    /// to the key must satisfy it instead of the chaincode's policy.
    fn set_state_validation_parameter(
        &mut self,
        key: &str,
        policy: &[u8],
    ) -> Result<(), LedgerError>;
    /// A private key's committed endorsement policy.
    fn get_private_data_validation_parameter(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError>;
    /// Sets a private key's endorsement policy (kept by the key's hash, so
    /// every peer of the channel checks it).
    fn set_private_data_validation_parameter(
        &mut self,
        collection: &str,
        key: &str,
        policy: &[u8],
    ) -> Result<(), LedgerError>;
    /// A private value of `collection` this peer holds.
    fn get_private_data(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError>;
    /// The SHA-256 of a private value as committed (readable by every org).
    fn get_private_data_hash(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError>;
    /// Writes a private value (`None`: deletes it).
    fn put_private_data(
        &mut self,
        collection: &str,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<(), LedgerError>;
    /// Deletes a private value and has every member peer drop every past
    /// version of it (Fabric 2.5's `PurgePrivateData`).
    fn purge_private_data(&mut self, collection: &str, key: &str) -> Result<(), LedgerError>;
    /// Keys in `[start, end)` (empty `end`: to the end), in key order.
    fn get_range(&mut self, start: &str, end: &str) -> Result<Vec<(String, Vec<u8>)>, LedgerError>;
    /// Private values of `collection` this peer holds with keys in
    /// `[start, end)` (empty `end`: to the end), in key order.
    fn get_private_data_range(
        &mut self,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, LedgerError>;
    /// One page of keys in `[start, end)` (empty `end`: to the end) from
    /// `bookmark` (empty: from `start`), and the next page's bookmark
    /// (empty after the last). Only in a transaction that writes nothing.
    fn get_range_page(
        &mut self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<(KeyValues, QueryMetadata), ContractError>;
    /// Runs a rich query (CouchDB's JSON query language) over this
    /// namespace; with `page` = (page size, bookmark), one page and its
    /// metadata. A refused query's error carries the peer's reason (status
    /// 400).
    fn get_query_result(
        &mut self,
        query: &str,
        page: Option<(i32, &str)>,
    ) -> Result<QueryResults, ContractError>;
    /// Runs a rich query over `collection`'s private values this peer holds
    /// (only in a transaction that writes nothing).
    fn get_private_data_query_result(
        &mut self,
        collection: &str,
        query: &str,
    ) -> Result<KeyValues, ContractError>;
    /// A key's past values, newest first (evaluations only).
    fn get_history(&mut self, key: &str) -> Result<Vec<KeyModification>, LedgerError>;
    /// A fact of the transaction.
    fn tx_info(&mut self, kind: TxInfo) -> Result<Vec<u8>, LedgerError>;
    /// Transient data.
    fn get_transient(&mut self, key: &str) -> Result<Option<Vec<u8>>, LedgerError>;
    /// Sets the transaction's event.
    fn set_event(&mut self, name: &str, payload: &[u8]) -> Result<(), LedgerError>;
    /// Calls another chaincode on the channel.
    fn invoke_chaincode(&mut self, name: &str, args: &[Vec<u8>]) -> Result<Response, LedgerError>;
    /// Logs a line.
    fn log(&mut self, level: i32, message: &str);
}

/// Keys and their values, as range and rich queries return them.
pub type KeyValues = Vec<(String, Vec<u8>)>;

/// A rich query's answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryResults {
    /// Keys and values, in the query's order.
    pub records: KeyValues,
    /// For a paginated query: results fetched and the next page's bookmark.
    pub metadata: Option<QueryMetadata>,
}
