//! Private data kept beside the state, in four column families:
//!
//! - `pvt_tx` (`block tx namespace \0 collection` → the collection's private
//!   rwset bytes): the private writes of each committed transaction this peer
//!   holds, to answer other member peers' pulls and to find the keys to purge;
//! - `pvt_missing` (same key → SHA-256 of the rwset ‖ txid): private writes
//!   this peer's org should hold but that no peer had handed over at commit,
//!   for background reconciliation;
//! - `pvt_expiry` (`expiry block ‖ block tx namespace \0 collection` → the
//!   written key hashes): when each write's BlockToLive runs out;
//! - `pvt_key_index` and `pvt_purged`: where each key's versions are, and
//!   the keys purged ([`super::purge`]);
//! - `transient` and `transient_height`: the transient store, private writes
//!   endorsed (here or by another peer that pushed them) and not yet
//!   committed, by txid and by the height at which they arrived.
//!
//! Commit-time entries are written in the block's `WriteBatch`
//! ([`PrivateCommit`]), so they are exactly as durable as the block.

use std::sync::atomic::Ordering;

use rocksdb::{Direction, IteratorMode, WriteBatch, WriteOptions};
use weft_protos::kvrwset::Version;

use super::{Ledger, PrivateUpdate, corrupt, keys};
use crate::PeerError;

pub(super) const CF_PVT_TX: &str = "pvt_tx";
pub(super) const CF_PVT_MISSING: &str = "pvt_missing";
pub(super) const CF_PVT_EXPIRY: &str = "pvt_expiry";
pub(super) const CF_TRANSIENT: &str = "transient";
pub(super) const CF_TRANSIENT_HEIGHT: &str = "transient_height";

/// A key and its value, as RocksDB hands them out.
type RawEntry = (Box<[u8]>, Box<[u8]>);

/// One transaction's private writes in one collection: where they are.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PvtKey {
    /// Block number.
    pub block: u64,
    /// Position in the block.
    pub tx: u64,
    /// Chaincode namespace.
    pub namespace: String,
    /// Collection.
    pub collection: String,
}

impl PvtKey {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(18 + self.namespace.len() + self.collection.len());
        k.extend_from_slice(&self.block.to_be_bytes());
        k.extend_from_slice(&self.tx.to_be_bytes());
        k.extend_from_slice(self.namespace.as_bytes());
        k.push(0);
        k.extend_from_slice(self.collection.as_bytes());
        k
    }

    fn decode(k: &[u8]) -> Option<Self> {
        if k.len() < 17 {
            return None;
        }
        let rest = &k[16..];
        let at = rest.iter().position(|b| *b == 0)?;
        Some(Self {
            block: keys::parse_number(&k[..8])?,
            tx: keys::parse_number(&k[8..16])?,
            namespace: std::str::from_utf8(&rest[..at]).ok()?.to_string(),
            collection: std::str::from_utf8(&rest[at + 1..]).ok()?.to_string(),
        })
    }

    /// The version the writes gave their keys.
    pub fn version(&self) -> Version {
        Version {
            block_num: self.block,
            tx_num: self.tx,
        }
    }
}

/// Private writes this peer should hold but lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPvt {
    /// Where they are.
    pub key: PvtKey,
    /// The transaction.
    pub tx_id: String,
    /// SHA-256 of the collection's private rwset, as the block commits to it.
    pub hash: Vec<u8>,
}

/// When the private writes of a transaction in a collection expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// The block whose commit purges them (writing block + BlockToLive + 1).
    pub at: u64,
    /// The writes.
    pub key: PvtKey,
    /// SHA-256 of each key written.
    pub key_hashes: Vec<Vec<u8>>,
}

impl Expiry {
    fn encode_key(&self) -> Vec<u8> {
        let mut k = self.at.to_be_bytes().to_vec();
        k.extend(self.key.encode());
        k
    }
}

/// The private side of one block's commit.
#[derive(Debug, Clone, Default)]
pub struct PrivateCommit {
    /// Private rwsets this peer holds, by transaction and collection.
    pub stored: Vec<(PvtKey, Vec<u8>)>,
    /// Private writes this peer should hold but lacks.
    pub missing: Vec<MissingPvt>,
    /// Expiries to schedule.
    pub expiries: Vec<Expiry>,
    /// Expiries that this block carries out (their bookkeeping goes).
    pub expired: Vec<Expiry>,
    /// Transactions whose transient entries go (they are in this block).
    pub transient_done: Vec<String>,
    /// Transient entries that arrived below this height go (retention).
    pub transient_below: Option<u64>,
    /// Keys purged by the block's valid transactions (`PurgePrivateData`).
    pub purges: Vec<super::Purge>,
}

/// A transient entry: private writes of one transaction in one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransientEntry {
    /// Chaincode namespace.
    pub namespace: String,
    /// Collection.
    pub collection: String,
    /// The collection's private rwset bytes.
    pub rwset: Vec<u8>,
}

fn transient_prefix(tx_id: &str) -> Vec<u8> {
    let mut k = tx_id.as_bytes().to_vec();
    k.push(0);
    k
}

fn transient_key(tx_id: &str, e: &TransientEntry) -> Vec<u8> {
    let mut k = transient_prefix(tx_id);
    k.extend_from_slice(e.namespace.as_bytes());
    k.push(0);
    k.extend_from_slice(e.collection.as_bytes());
    k.push(0);
    k.extend_from_slice(&weft_common::crypto::sha256(&e.rwset));
    k
}

fn split_transient_key(k: &[u8]) -> Option<(&str, &str, &str)> {
    let mut parts = k.splitn(4, |b| *b == 0);
    let tx = std::str::from_utf8(parts.next()?).ok()?;
    let ns = std::str::from_utf8(parts.next()?).ok()?;
    let coll = std::str::from_utf8(parts.next()?).ok()?;
    Some((tx, ns, coll))
}

impl Ledger {
    /// Adds the private side of a block's commit to its batch; returns how
    /// many transient entries the batch removes.
    pub(super) fn batch_private(
        &self,
        batch: &mut WriteBatch,
        c: &PrivateCommit,
    ) -> Result<usize, PeerError> {
        for (k, rwset) in &c.stored {
            self.batch_store_pvt(batch, k, rwset)?;
        }
        for m in &c.missing {
            let mut v = m.hash.clone();
            v.extend_from_slice(m.tx_id.as_bytes());
            batch.put_cf(self.cf(CF_PVT_MISSING), m.key.encode(), v);
        }
        for e in &c.expiries {
            batch.put_cf(
                self.cf(CF_PVT_EXPIRY),
                e.encode_key(),
                e.key_hashes.concat(),
            );
        }
        for e in &c.expired {
            batch.delete_cf(self.cf(CF_PVT_EXPIRY), e.encode_key());
            batch.delete_cf(self.cf(CF_PVT_TX), e.key.encode());
            batch.delete_cf(self.cf(CF_PVT_MISSING), e.key.encode());
            self.batch_unindex(batch, e);
        }
        self.batch_purges(batch, &c.purges)?;
        if self.transient_len() == 0 {
            return Ok(0);
        }
        // Transient keys removed, by their height-index key.
        let mut removed = std::collections::BTreeSet::new();
        for tx_id in &c.transient_done {
            let prefix = transient_prefix(tx_id);
            for item in self.with_prefix(CF_TRANSIENT, &prefix) {
                let (k, v) = item?;
                let mut hk = v
                    .get(..8)
                    .ok_or_else(|| corrupt("transient entry"))?
                    .to_vec();
                hk.extend_from_slice(&k);
                removed.insert(hk);
            }
        }
        if let Some(below) = c.transient_below {
            let it = self
                .db
                .iterator_cf(self.cf(CF_TRANSIENT_HEIGHT), IteratorMode::Start);
            for item in it {
                let (k, _) = item?;
                if keys::parse_number(k.get(..8).unwrap_or_default()).is_none_or(|h| h >= below) {
                    break;
                }
                removed.insert(k.to_vec());
            }
        }
        for hk in &removed {
            batch.delete_cf(self.cf(CF_TRANSIENT_HEIGHT), hk);
            batch.delete_cf(self.cf(CF_TRANSIENT), &hk[8..]);
        }
        Ok(removed.len())
    }

    /// The transient store lost `n` entries.
    pub(super) fn transient_removed(&self, n: usize) {
        if n > 0 {
            let _ = self
                .transient_count
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                    Some(c.saturating_sub(n))
                });
        }
    }

    /// Recounts the transient store's entries (at open).
    pub(super) fn count_transient(&self) {
        let n = self
            .db
            .iterator_cf(self.cf(CF_TRANSIENT), IteratorMode::Start)
            .count();
        self.transient_count.store(n, Ordering::Release);
    }

    /// The entries of column family `cf` whose keys start with `prefix`, in
    /// key order.
    pub(super) fn with_prefix<'a>(
        &'a self,
        cf: &str,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = Result<RawEntry, rocksdb::Error>> + 'a {
        self.db
            .iterator_cf(self.cf(cf), IteratorMode::From(prefix, Direction::Forward))
            .take_while(move |item| !matches!(item, Ok((k, _)) if !k.starts_with(prefix)))
    }

    /// Transient entries held.
    pub fn transient_len(&self) -> usize {
        self.transient_count.load(Ordering::Acquire)
    }

    /// Keeps private writes of a transaction not yet committed, received at
    /// ledger height `height`. An entry already held is not duplicated;
    /// different rwsets for the same collection are all kept (the block
    /// decides which one is genuine).
    pub fn transient_put(
        &self,
        tx_id: &str,
        height: u64,
        entries: &[TransientEntry],
    ) -> Result<(), PeerError> {
        let mut batch = WriteBatch::default();
        let mut added = 0;
        for e in entries {
            let k = transient_key(tx_id, e);
            if self.db.get_cf(self.cf(CF_TRANSIENT), &k)?.is_some() {
                continue;
            }
            let mut v = height.to_be_bytes().to_vec();
            v.extend_from_slice(&e.rwset);
            let mut hk = height.to_be_bytes().to_vec();
            hk.extend_from_slice(&k);
            batch.put_cf(self.cf(CF_TRANSIENT), &k, v);
            batch.put_cf(self.cf(CF_TRANSIENT_HEIGHT), hk, []);
            added += 1;
        }
        if added == 0 {
            return Ok(());
        }
        let mut w = WriteOptions::default();
        w.set_sync(true);
        self.db.write_opt(batch, &w)?;
        self.transient_count.fetch_add(added, Ordering::AcqRel);
        Ok(())
    }

    /// The transient entries of a transaction.
    pub fn transient_get(&self, tx_id: &str) -> Result<Vec<TransientEntry>, PeerError> {
        if self.transient_len() == 0 {
            return Ok(Vec::new());
        }
        let prefix = transient_prefix(tx_id);
        let mut out = Vec::new();
        for item in self.with_prefix(CF_TRANSIENT, &prefix) {
            let (k, v) = item?;
            let (_, ns, coll) = split_transient_key(&k).ok_or_else(|| corrupt("transient key"))?;
            out.push(TransientEntry {
                namespace: ns.to_string(),
                collection: coll.to_string(),
                rwset: v
                    .get(8..)
                    .ok_or_else(|| corrupt("transient entry"))?
                    .to_vec(),
            });
        }
        Ok(out)
    }

    /// The private rwset of one committed transaction in one collection, if
    /// this peer holds it.
    pub fn pvt_rwset(&self, k: &PvtKey) -> Result<Option<Vec<u8>>, PeerError> {
        Ok(self.db.get_cf(self.cf(CF_PVT_TX), k.encode())?)
    }

    /// Every private rwset this peer holds for block `block`, in the order
    /// of transaction, namespace and collection.
    pub fn pvt_rwsets_of_block(&self, block: u64) -> Result<Vec<(PvtKey, Vec<u8>)>, PeerError> {
        let prefix = block.to_be_bytes();
        let mut out = Vec::new();
        for item in self.with_prefix(CF_PVT_TX, &prefix) {
            let (k, v) = item?;
            let key = PvtKey::decode(&k).ok_or_else(|| corrupt("private data key"))?;
            out.push((key, v.to_vec()));
        }
        Ok(out)
    }

    /// Up to `limit` private writes this peer lacks, oldest first.
    pub fn missing_pvt(&self, limit: usize) -> Result<Vec<MissingPvt>, PeerError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_PVT_MISSING), IteratorMode::Start)
            .take(limit)
        {
            let (k, v) = item?;
            let key = PvtKey::decode(&k).ok_or_else(|| corrupt("missing private data key"))?;
            if v.len() < 32 {
                return Err(corrupt("missing private data entry"));
            }
            out.push(MissingPvt {
                key,
                hash: v[..32].to_vec(),
                tx_id: String::from_utf8_lossy(&v[32..]).into_owned(),
            });
        }
        Ok(out)
    }

    /// The expiries due at block `at`.
    pub fn expiring(&self, at: u64) -> Result<Vec<Expiry>, PeerError> {
        let prefix = at.to_be_bytes();
        let mut out = Vec::new();
        for item in self.with_prefix(CF_PVT_EXPIRY, &prefix) {
            let (k, v) = item?;
            let key = PvtKey::decode(&k[8..]).ok_or_else(|| corrupt("expiry key"))?;
            out.push(Expiry {
                at,
                key,
                key_hashes: v.chunks(32).map(<[u8]>::to_vec).collect(),
            });
        }
        Ok(out)
    }

    /// Stores private writes fetched after their block committed: the
    /// rwsets, and the values that are still current (the caller checked
    /// their hashed versions with commits held off).
    pub fn commit_reconciled(
        &self,
        stored: &[(PvtKey, Vec<u8>)],
        values: &[PrivateUpdate],
    ) -> Result<(), PeerError> {
        let mut batch = WriteBatch::default();
        for (k, rwset) in stored {
            self.batch_store_pvt(&mut batch, k, rwset)?;
        }
        // Not while an index is being built (it holds this lock): the
        // values would miss it.
        let _no_build = self.info.read().expect("info lock");
        self.batch_private_values(&mut batch, values)?;
        let mut w = WriteOptions::default();
        w.set_sync(true);
        self.db.write_opt(batch, &w)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pvt_keys_round_trip_and_sort_by_block_then_tx() {
        let k = PvtKey {
            block: 9,
            tx: 2,
            namespace: "cc".into(),
            collection: "_implicit_org_Org1MSP".into(),
        };
        assert_eq!(PvtKey::decode(&k.encode()), Some(k.clone()));
        let later = PvtKey { tx: 3, ..k.clone() };
        assert!(k.encode() < later.encode());
    }

    #[test]
    fn transient_keys_split_back_into_their_parts() {
        let e = TransientEntry {
            namespace: "cc".into(),
            collection: "coll".into(),
            rwset: b"x".to_vec(),
        };
        let k = transient_key("tx1", &e);
        assert_eq!(split_transient_key(&k), Some(("tx1", "cc", "coll")));
        assert!(k.starts_with(&transient_prefix("tx1")));
        assert!(!k.starts_with(&transient_prefix("tx")));
    }
}
