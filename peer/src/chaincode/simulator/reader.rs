//! What a simulation reads: committed state, from the peer's ledger or a
//! [`super::MemoryLedger`].

use weft_chaincode_query::IndexDef;

use crate::ledger::IndexScope;
use weft_protos::kvrwset::{KvMetadataEntry, Version};

use super::HistoryPage;
use crate::PeerError;

/// Committed state a simulation reads: the peer's ledger, or a [`super::MemoryLedger`].
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
    /// Committed metadata of a private key, by its hash (empty: none).
    fn read_hashed_metadata(
        &self,
        _ns: &str,
        _collection: &str,
        _key_hash: &[u8],
    ) -> Result<Vec<KvMetadataEntry>, PeerError> {
        Ok(Vec::new())
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
    /// The JSON indexes of `scope` (none: rich queries scan).
    fn indexes(&self, _scope: IndexScope<'_>) -> Vec<IndexDef> {
        Vec::new()
    }
    /// Keys of index `def` whose entries lie in `[start, end)`, in index
    /// order, at most `limit`.
    fn read_index(
        &self,
        _scope: IndexScope<'_>,
        _def: &IndexDef,
        _start: &[u8],
        _end: &[u8],
        _limit: usize,
    ) -> Result<Vec<String>, PeerError> {
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
    fn read_hashed_metadata(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Vec<KvMetadataEntry>, PeerError> {
        self.get_hashed_metadata(ns, collection, key_hash)
    }
    fn read_metadata(&self, ns: &str, key: &str) -> Result<Vec<KvMetadataEntry>, PeerError> {
        self.get_metadata(ns, key)
    }
    fn indexes(&self, scope: IndexScope<'_>) -> Vec<IndexDef> {
        self.indexes_in(scope)
    }
    fn read_index(
        &self,
        scope: IndexScope<'_>,
        def: &IndexDef,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<String>, PeerError> {
        self.index_keys(scope, def, start, end, limit)
    }
}
