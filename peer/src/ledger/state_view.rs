//! What validation and the lifecycle read from committed state, as a trait so
//! that a block's pending writes can overlay the ledger and tests can use maps.

use weft_protos::kvrwset::{KvMetadataEntry, Version};

use super::Ledger;
use crate::PeerError;

/// What validation reads from committed state. Implemented by [`Ledger`], by a
/// block's pending writes over it, and by in-memory maps in tests.
pub trait StateView: Sync {
    /// Committed value of `key` in `ns`.
    fn value(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, PeerError>;
    /// Committed version of `key` in `ns`.
    fn version(&self, ns: &str, key: &str) -> Result<Option<Version>, PeerError>;
    /// The first `limit` committed keys and versions of `ns` in `[start,
    /// end)` (empty `end`: unbounded), in order.
    fn range_versions(
        &self,
        ns: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Version)>, PeerError>;
    /// Whether a transaction with this txid is already in the ledger.
    fn has_tx(&self, tx_id: &str) -> Result<bool, PeerError>;
    /// Committed version of a private-data key (by its hash) in a collection.
    fn hashed_version(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Option<Version>, PeerError> {
        Ok(self.hashed_value(ns, collection, key_hash)?.map(|(v, _)| v))
    }
    /// Committed metadata of `key` in `ns` (empty: none).
    fn metadata(&self, ns: &str, key: &str) -> Result<Vec<KvMetadataEntry>, PeerError>;
    /// Committed version and value hash of a private-data key (by its hash).
    fn hashed_value(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Option<(Version, Vec<u8>)>, PeerError>;
    /// Committed metadata of a private-data key (by its hash; empty: none).
    fn hashed_metadata(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Vec<KvMetadataEntry>, PeerError>;
}

impl StateView for Ledger {
    fn value(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, PeerError> {
        Ok(self.get_state(ns, key)?.map(|(_, v)| v))
    }
    fn version(&self, ns: &str, key: &str) -> Result<Option<Version>, PeerError> {
        Ok(self.get_state(ns, key)?.map(|(v, _)| v))
    }
    fn range_versions(
        &self,
        ns: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Version)>, PeerError> {
        Ok(self
            .range_page(ns, start, end, limit)?
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect())
    }
    fn has_tx(&self, tx_id: &str) -> Result<bool, PeerError> {
        Ok(self.tx_location(tx_id)?.is_some())
    }
    fn metadata(&self, ns: &str, key: &str) -> Result<Vec<KvMetadataEntry>, PeerError> {
        self.get_metadata(ns, key)
    }
    fn hashed_value(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
        self.get_hashed(ns, collection, key_hash)
    }
    fn hashed_metadata(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Vec<KvMetadataEntry>, PeerError> {
        self.get_hashed_metadata(ns, collection, key_hash)
    }
}
