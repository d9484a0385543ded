//! The state a block in flight will write, seen before its write lands: the
//! committer validates the next block against committed state plus this
//! overlay while the previous block is still being written.

use std::collections::{BTreeMap, HashMap, HashSet};

use weft_protos::kvrwset::{KvMetadataEntry, Version};

use crate::PeerError;
use crate::ledger::StateView;
use crate::ledger::{BlockCommit, Ledger};

/// A key's new value with its version; `None`: deleted.
type NewValue = Option<(Version, Vec<u8>)>;

/// (namespace, collection, key hash).
type HashedKey = (String, String, Vec<u8>);

/// Metadata after a write: a deletion drops it; otherwise what the write
/// sets, if it sets any.
fn metadata_after(
    deleted: bool,
    set: &Option<Vec<KvMetadataEntry>>,
) -> Option<Vec<KvMetadataEntry>> {
    if deleted {
        Some(Vec::new())
    } else {
        set.clone()
    }
}

/// What one block being written changes.
#[derive(Debug, Default)]
pub struct Overlay {
    /// namespace → key → new value.
    state: HashMap<String, BTreeMap<String, NewValue>>,
    /// Txids the block indexes.
    tx_ids: HashSet<String>,
    /// (namespace, collection, key hash) → new version and value hash
    /// (`None`: deleted).
    hashed: HashMap<HashedKey, NewValue>,
    /// (namespace, collection, key hash) → metadata after the block, for
    /// private keys whose metadata it sets or drops.
    hashed_metadata: HashMap<HashedKey, Vec<KvMetadataEntry>>,
    /// (namespace, key) → metadata after the block, for keys whose metadata
    /// it sets or drops.
    metadata: HashMap<(String, String), Vec<KvMetadataEntry>>,
}

impl Overlay {
    /// The overlay of a block about to be written.
    pub fn of(c: &BlockCommit) -> Self {
        let mut o = Self::default();
        for u in &c.updates {
            o.state
                .entry(u.namespace.clone())
                .or_default()
                .insert(u.key.clone(), u.value.clone().map(|v| (u.version, v)));
            if let Some(m) = metadata_after(u.value.is_none(), &u.metadata) {
                o.metadata.insert((u.namespace.clone(), u.key.clone()), m);
            }
        }
        for u in &c.hashed_updates {
            let key = (
                u.namespace.clone(),
                u.collection.clone(),
                u.key_hash.clone(),
            );
            if let Some(m) = metadata_after(u.value_hash.is_none(), &u.metadata) {
                o.hashed_metadata.insert(key.clone(), m);
            }
            o.hashed
                .insert(key, u.value_hash.clone().map(|h| (u.version, h)));
        }
        o.tx_ids = c
            .tx_ids
            .iter()
            .filter(|(t, _)| !t.is_empty())
            .map(|(t, _)| t.clone())
            .collect();
        o
    }
}

/// Committed state seen through an optional overlay.
pub struct OverlaidState<'a> {
    /// Committed state.
    pub ledger: &'a Ledger,
    /// The block in flight, if any.
    pub overlay: Option<&'a Overlay>,
}

impl OverlaidState<'_> {
    fn over(&self, ns: &str, key: &str) -> Option<&NewValue> {
        self.overlay?.state.get(ns)?.get(key)
    }
}

impl StateView for OverlaidState<'_> {
    fn value(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, PeerError> {
        match self.over(ns, key) {
            Some(v) => Ok(v.as_ref().map(|(_, b)| b.clone())),
            None => self.ledger.value(ns, key),
        }
    }

    fn version(&self, ns: &str, key: &str) -> Result<Option<Version>, PeerError> {
        match self.over(ns, key) {
            Some(v) => Ok(v.as_ref().map(|(ver, _)| *ver)),
            None => self.ledger.version(ns, key),
        }
    }

    fn range_versions(
        &self,
        ns: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Version)>, PeerError> {
        let Some(over) = self.overlay.and_then(|o| o.state.get(ns)) else {
            return self.ledger.range_versions(ns, start, end, limit);
        };
        let in_range = |k: &&String| k.as_str() >= start && (end.is_empty() || k.as_str() < end);
        // Each deletion in the overlay may hide one committed key.
        let deleted = over
            .iter()
            .filter(|(k, v)| in_range(k) && v.is_none())
            .count();
        let read = limit.saturating_add(deleted);
        let committed = self.ledger.range_versions(ns, start, end, read)?;
        let writes = over
            .iter()
            .filter(|(k, _)| in_range(k))
            .map(|(k, v)| (k, v.as_ref().map(|(ver, _)| *ver)));
        Ok(crate::validation::merge_range_page(committed, read, writes)
            .into_iter()
            .take(limit)
            .collect())
    }

    fn has_tx(&self, tx_id: &str) -> Result<bool, PeerError> {
        if self.overlay.is_some_and(|o| o.tx_ids.contains(tx_id)) {
            return Ok(true);
        }
        self.ledger.has_tx(tx_id)
    }

    fn hashed_value(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
        let key = (ns.to_string(), collection.to_string(), key_hash.to_vec());
        match self.overlay.and_then(|o| o.hashed.get(&key)) {
            Some(v) => Ok(v.clone()),
            None => self.ledger.hashed_value(ns, collection, key_hash),
        }
    }

    fn hashed_metadata(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Vec<KvMetadataEntry>, PeerError> {
        let key = (ns.to_string(), collection.to_string(), key_hash.to_vec());
        match self.overlay.and_then(|o| o.hashed_metadata.get(&key)) {
            Some(m) => Ok(m.clone()),
            None => self.ledger.hashed_metadata(ns, collection, key_hash),
        }
    }

    fn metadata(&self, ns: &str, key: &str) -> Result<Vec<KvMetadataEntry>, PeerError> {
        let over = self
            .overlay
            .and_then(|o| o.metadata.get(&(ns.to_string(), key.to_string())));
        match over {
            Some(m) => Ok(m.clone()),
            None => self.ledger.metadata(ns, key),
        }
    }
}
