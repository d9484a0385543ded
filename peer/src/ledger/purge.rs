//! `PurgePrivateData` in the private data store, in two column families:
//!
//! - `pvt_key_index` (`namespace \0 collection \0 key hash ‖ block ‖ tx` →
//!   the key): where each version of a private key is kept in `pvt_tx`,
//!   written with every private rwset stored, removed when that version
//!   expires or is purged;
//! - `pvt_purged` (`namespace \0 collection \0 key hash` → block ‖ tx): the
//!   last purge of each key, kept for good, so that versions older than it
//!   are never stored again (a peer that reconciles from one that has not
//!   seen the purge trims them) and a rwset missing them is still complete.
//!
//! A purge committed in block b at position t drops, in the same write as the
//! block, every version of the key older than (b, t) from `pvt_tx` (the rwsets
//! are rewritten without it) and, unless a later transaction of the block
//! writes the key again, its current value.

use std::collections::BTreeMap;

use prost::Message;
use rocksdb::WriteBatch;
use weft_protos::kvrwset::{KvrwSet, Version};

use super::{CF_PRIVATE, Ledger, corrupt, keys};
use crate::PeerError;
use crate::ledger::private::{CF_PVT_MISSING, CF_PVT_TX, Expiry, PvtKey};

pub(super) const CF_PVT_KEY_INDEX: &str = "pvt_key_index";
pub(super) const CF_PVT_PURGED: &str = "pvt_purged";

/// A purge of one private key by a valid transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purge {
    /// Chaincode namespace.
    pub namespace: String,
    /// Collection.
    pub collection: String,
    /// SHA-256 of the key.
    pub key_hash: Vec<u8>,
    /// The purging transaction's block and position.
    pub version: Version,
    /// Whether the key's current value goes too (no later transaction of
    /// the block writes it again).
    pub drop_value: bool,
}

fn version_bytes(v: &Version) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&v.block_num.to_be_bytes());
    b[8..].copy_from_slice(&v.tx_num.to_be_bytes());
    b
}

fn parse_version(b: &[u8]) -> Option<Version> {
    Some(Version {
        block_num: keys::parse_number(b.get(..8)?)?,
        tx_num: keys::parse_number(b.get(8..16)?)?,
    })
}

fn index_key(ns: &str, coll: &str, key_hash: &[u8], at: &Version) -> Vec<u8> {
    let mut k = keys::collection_key(ns, coll, key_hash);
    k.extend_from_slice(&version_bytes(at));
    k
}

/// The SHA-256 of each key a collection's private rwset writes, with the key.
fn written_keys(rwset: &[u8]) -> Result<Vec<(Vec<u8>, String)>, PeerError> {
    let kv = KvrwSet::decode(rwset).map_err(|_| corrupt("stored private rwset"))?;
    Ok(kv
        .writes
        .into_iter()
        .map(|w| {
            (
                weft_common::crypto::sha256(w.key.as_bytes()).to_vec(),
                w.key,
            )
        })
        .collect())
}

/// `rwset` without its writes to keys whose hash `drop` accepts; `None`
/// when nothing is dropped.
pub fn without_keys(
    rwset: &[u8],
    mut drop: impl FnMut(&[u8]) -> Result<bool, PeerError>,
) -> Result<Option<Vec<u8>>, PeerError> {
    let mut kv = KvrwSet::decode(rwset).map_err(|_| corrupt("private rwset"))?;
    let before = kv.writes.len();
    let mut keep = Vec::with_capacity(before);
    for w in kv.writes {
        if !drop(&weft_common::crypto::sha256(w.key.as_bytes()))? {
            keep.push(w);
        }
    }
    if keep.len() == before {
        return Ok(None);
    }
    kv.writes = keep;
    Ok(Some(kv.encode_to_vec()))
}

impl Ledger {
    /// Stores a collection's private rwset of a committed transaction, with
    /// the index of the keys it writes; it is no longer missing.
    pub(super) fn batch_store_pvt(
        &self,
        batch: &mut WriteBatch,
        k: &PvtKey,
        rwset: &[u8],
    ) -> Result<(), PeerError> {
        batch.put_cf(self.cf(CF_PVT_TX), k.encode(), rwset);
        batch.delete_cf(self.cf(CF_PVT_MISSING), k.encode());
        for (hash, key) in written_keys(rwset)? {
            batch.put_cf(
                self.cf(CF_PVT_KEY_INDEX),
                index_key(&k.namespace, &k.collection, &hash, &k.version()),
                key,
            );
        }
        Ok(())
    }

    /// Drops the index entries of writes that expire.
    pub(super) fn batch_unindex(&self, batch: &mut WriteBatch, e: &Expiry) {
        for h in &e.key_hashes {
            batch.delete_cf(
                self.cf(CF_PVT_KEY_INDEX),
                index_key(&e.key.namespace, &e.key.collection, h, &e.key.version()),
            );
        }
    }

    /// Carries out a block's purges on what earlier blocks stored.
    pub(super) fn batch_purges(
        &self,
        batch: &mut WriteBatch,
        purges: &[Purge],
    ) -> Result<(), PeerError> {
        // Rewritten rwsets, so that two purges of one rwset both apply.
        let mut trimmed: BTreeMap<PvtKey, Vec<u8>> = BTreeMap::new();
        for p in purges {
            let (ns, coll) = (p.namespace.as_str(), p.collection.as_str());
            let marker = keys::collection_key(ns, coll, &p.key_hash);
            batch.put_cf(self.cf(CF_PVT_PURGED), &marker, version_bytes(&p.version));
            let mut keys_seen = Vec::new();
            for item in self.with_prefix(CF_PVT_KEY_INDEX, &marker) {
                let (ik, key) = item?;
                let at = parse_version(&ik[marker.len()..])
                    .ok_or_else(|| corrupt("private key index"))?;
                if (at.block_num, at.tx_num) >= (p.version.block_num, p.version.tx_num) {
                    break;
                }
                batch.delete_cf(self.cf(CF_PVT_KEY_INDEX), &ik);
                let location = PvtKey {
                    block: at.block_num,
                    tx: at.tx_num,
                    namespace: p.namespace.clone(),
                    collection: p.collection.clone(),
                };
                let current = match trimmed.get(&location) {
                    Some(r) => Some(r.clone()),
                    None => self.pvt_rwset(&location)?,
                };
                if let Some(rwset) = current
                    && let Some(rest) = without_keys(&rwset, |h| Ok(h == p.key_hash))?
                {
                    trimmed.insert(location, rest);
                }
                keys_seen.push(String::from_utf8_lossy(&key).into_owned());
            }
            if p.drop_value {
                for key in keys_seen {
                    batch.delete_cf(
                        self.cf(CF_PRIVATE),
                        keys::collection_key(ns, coll, key.as_bytes()),
                    );
                }
            }
        }
        for (location, rwset) in trimmed {
            batch.put_cf(self.cf(CF_PVT_TX), location.encode(), rwset);
        }
        Ok(())
    }

    /// The version of the last purge of a private key, if it was ever purged.
    pub fn purged_at(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Option<Version>, PeerError> {
        match self.db.get_cf(
            self.cf(CF_PVT_PURGED),
            keys::collection_key(ns, collection, key_hash),
        )? {
            None => Ok(None),
            Some(v) => parse_version(&v)
                .map(Some)
                .ok_or_else(|| corrupt("purge marker")),
        }
    }

    /// Whether the version `at` of a private key is purged here.
    pub fn is_purged(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
        at: &Version,
    ) -> Result<bool, PeerError> {
        Ok(self
            .purged_at(ns, collection, key_hash)?
            .is_some_and(|p| (at.block_num, at.tx_num) < (p.block_num, p.tx_num)))
    }

    /// `rwset` (of the transaction at `k`) without the keys purged here since.
    pub fn trim_purged(&self, k: &PvtKey, rwset: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let at = k.version();
        let trimmed = without_keys(&rwset, |h| {
            self.is_purged(&k.namespace, &k.collection, h, &at)
        })?;
        Ok(trimmed.unwrap_or(rwset))
    }
}
