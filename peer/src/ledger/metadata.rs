//! Per-key metadata of public state and of private keys by their hash
//! (Fabric's `GetStateMetadata`, `GetPrivateDataMetadata`): named entries
//! kept beside a key's value, of which Fabric defines one, the key's
//! validation parameter (its key-level endorsement policy).

use std::sync::atomic::Ordering;

use prost::Message;
use weft_protos::kvrwset::{KvMetadataEntry, KvMetadataWrite};

use super::{CF_HASHED_METADATA, CF_METADATA, Ledger, corrupt, keys};
use crate::PeerError;

/// The metadata entry holding a key's endorsement policy (Fabric's
/// `MetaDataKeys_VALIDATION_PARAMETER`): a serialised `SignaturePolicyEnvelope`.
pub const VALIDATION_PARAMETER: &str = "VALIDATION_PARAMETER";

/// Stored form: the entries as a `KVMetadataWrite` without its key.
pub(super) fn encode(entries: &[KvMetadataEntry]) -> Vec<u8> {
    KvMetadataWrite {
        key: String::new(),
        entries: entries.to_vec(),
    }
    .encode_to_vec()
}

impl Ledger {
    /// The committed metadata of `key` in `ns` (empty: none).
    pub fn get_metadata(&self, ns: &str, key: &str) -> Result<Vec<KvMetadataEntry>, PeerError> {
        self.read_metadata(CF_METADATA, &keys::state_key(ns, key))
    }

    /// The committed metadata of a private key, by its hash (empty: none);
    /// every peer of the channel holds it, as it holds the hashed state.
    pub fn get_hashed_metadata(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Vec<KvMetadataEntry>, PeerError> {
        self.read_metadata(
            CF_HASHED_METADATA,
            &keys::collection_key(ns, collection, key_hash),
        )
    }

    fn read_metadata(&self, cf: &str, k: &[u8]) -> Result<Vec<KvMetadataEntry>, PeerError> {
        if !self.any_metadata.load(Ordering::Acquire) {
            return Ok(Vec::new());
        }
        match self.db.get_cf(self.cf(cf), k)? {
            None => Ok(Vec::new()),
            Some(b) => KvMetadataWrite::decode(b.as_slice())
                .map(|w| w.entries)
                .map_err(|_| corrupt("key metadata")),
        }
    }
}

/// The validation parameter among `entries`, if one is set.
pub fn validation_parameter(entries: &[KvMetadataEntry]) -> Option<&[u8]> {
    entries
        .iter()
        .find(|e| e.name == VALIDATION_PARAMETER)
        .map(|e| e.value.as_slice())
}
