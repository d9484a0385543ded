//! What a block's commit does with private data, decided from the block's
//! verdict, the transient store and the state (plain synchronous code):
//!
//! - the private writes of valid transactions in collections this peer's org
//!   belongs to are taken from the transient store (only rwsets that hash to
//!   what the block commits to) and stored, or recorded as missing;
//! - writes in collections of other orgs are never stored;
//! - each write in a collection with a BlockToLive is scheduled to expire,
//!   and the writes expiring with this block are purged, value and hash
//!   (the hash stays in the block), unless a later transaction rewrote the key;
//! - a purge (`PurgePrivateData`) drops the key's value and every older
//!   version of it ([`crate::ledger::Purge`]);
//! - the transient entries of the block's transactions, and those older than
//!   the retention, are dropped.

use std::collections::{BTreeMap, HashMap, HashSet};

use prost::Message;
use weft_protos::kvrwset::{KvrwSet, Version};

use super::transient::TransientStore;
use crate::PeerError;
use crate::ledger::{
    Expiry, HashedUpdate, Ledger, MissingPvt, PrivateCommit, PrivateUpdate, Purge, PvtKey,
    StateView, without_keys,
};
use crate::lifecycle::collection_rules::{CollectionRules, lookup};
use crate::validation::BlockVerdict;

/// The private side of one block's commit.
#[derive(Debug, Default)]
pub struct PrivatePlan {
    /// Private values written or purged.
    pub values: Vec<PrivateUpdate>,
    /// Hashed keys purged (appended to the block's hashed updates).
    pub purged_hashes: Vec<HashedUpdate>,
    /// Bookkeeping written with the block.
    pub commit: PrivateCommit,
}

/// Who this peer is and how long transient entries live.
#[derive(Debug, Clone)]
pub struct CommitSettings {
    /// This peer's org; `None`: it stores whatever the transient store
    /// resolves and records nothing as missing (a committer without a peer).
    pub org: Option<String>,
    /// `peer.ledger.pvtdataStore.transientstoreMaxBlockRetention`.
    pub transient_retention: u64,
}

/// Collection rules looked up once per block.
struct Rules<'a, S: StateView + ?Sized> {
    state: &'a S,
    orgs: Vec<String>,
    cache: HashMap<(String, String), Option<CollectionRules>>,
}

impl<S: StateView + ?Sized> Rules<'_, S> {
    fn get(&mut self, ns: &str, coll: &str) -> Result<Option<&CollectionRules>, PeerError> {
        let k = (ns.to_string(), coll.to_string());
        if !self.cache.contains_key(&k) {
            let r = lookup(self.state, &self.orgs, ns, coll)?;
            self.cache.insert(k.clone(), r);
        }
        Ok(self.cache[&k].as_ref())
    }
}

/// Decides the private side of committing block `number`. `state` is the
/// committed state with earlier blocks still being written laid over it.
pub fn plan(
    number: u64,
    verdict: &BlockVerdict,
    channel_orgs: Vec<String>,
    settings: &CommitSettings,
    transient: &TransientStore,
    ledger: &Ledger,
    state: &(impl StateView + ?Sized),
) -> Result<PrivatePlan, PeerError> {
    let mut rules = Rules {
        state,
        orgs: channel_orgs,
        cache: HashMap::new(),
    };
    let mut out = PrivatePlan::default();
    for w in &verdict.private_writes {
        let key = PvtKey {
            block: w.version.block_num,
            tx: w.version.tx_num,
            namespace: w.namespace.clone(),
            collection: w.collection.clone(),
        };
        let eligible = match &settings.org {
            None => true,
            Some(org) => rules
                .get(&w.namespace, &w.collection)?
                .is_some_and(|r| r.has_member(org)),
        };
        if !eligible {
            continue;
        }
        match transient.resolve(w)? {
            Some(r) => {
                out.values.extend(r.updates);
                out.commit.stored.push((key, r.rwset));
            }
            None if settings.org.is_some() => out.commit.missing.push(MissingPvt {
                key,
                tx_id: w.tx_id.clone(),
                hash: w.pvt_rwset_hash.clone(),
            }),
            None => {}
        }
    }
    apply_purges(verdict, &mut out)?;
    // Expiries of this block's writes, one per transaction and collection.
    let mut written: BTreeMap<PvtKey, Vec<Vec<u8>>> = BTreeMap::new();
    for u in &verdict.hashed_updates {
        written
            .entry(PvtKey {
                block: u.version.block_num,
                tx: u.version.tx_num,
                namespace: u.namespace.clone(),
                collection: u.collection.clone(),
            })
            .or_default()
            .push(u.key_hash.clone());
    }
    for (key, key_hashes) in written {
        let btl = rules
            .get(&key.namespace, &key.collection)?
            .map_or(0, |r| r.block_to_live);
        if btl > 0 {
            out.commit.expiries.push(Expiry {
                at: number.saturating_add(btl).saturating_add(1),
                key,
                key_hashes,
            });
        }
    }
    purge_expired(number, verdict, ledger, state, &mut out)?;
    out.commit.transient_done = verdict.txs.iter().map(|t| t.tx_id.clone()).collect();
    let retention = settings.transient_retention.max(1);
    if number > retention && number.is_multiple_of(retention) {
        out.commit.transient_below = Some(number - retention);
    }
    Ok(out)
}

/// The block's purges (`PurgePrivateData`): the versions of the keys that
/// earlier transactions of this block wrote leave the rwsets stored with it
/// (the ledger drops those of earlier blocks), and the current value goes
/// unless a later transaction of the block writes the key again.
fn apply_purges(verdict: &BlockVerdict, out: &mut PrivatePlan) -> Result<(), PeerError> {
    let order = |v: &Version| (v.block_num, v.tx_num);
    for p in &verdict.purges {
        let rewritten_later = verdict.hashed_updates.iter().any(|u| {
            u.namespace == p.namespace
                && u.collection == p.collection
                && u.key_hash == p.key_hash
                && order(&u.version) > order(&p.version)
        });
        for (k, rwset) in &mut out.commit.stored {
            if k.namespace != p.namespace
                || k.collection != p.collection
                || order(&k.version()) >= order(&p.version)
            {
                continue;
            }
            let Some(rest) = without_keys(rwset, |h| Ok(h == p.key_hash))? else {
                continue;
            };
            if !rewritten_later {
                let kv = KvrwSet::decode(rwset.as_slice())
                    .map_err(|_| PeerError::Ledger("private rwset".into()))?;
                out.values.extend(
                    kv.writes
                        .into_iter()
                        .filter(|w| weft_common::crypto::sha256(w.key.as_bytes()) == *p.key_hash)
                        .map(|w| PrivateUpdate {
                            namespace: p.namespace.clone(),
                            collection: p.collection.clone(),
                            key: w.key,
                            value: None,
                        }),
                );
            }
            *rwset = rest;
        }
        out.commit.purges.push(Purge {
            drop_value: !rewritten_later,
            ..p.clone()
        });
    }
    Ok(())
}

/// Purges the writes whose BlockToLive ends with block `number`.
fn purge_expired(
    number: u64,
    verdict: &BlockVerdict,
    ledger: &Ledger,
    state: &(impl StateView + ?Sized),
    out: &mut PrivatePlan,
) -> Result<(), PeerError> {
    let expiring = ledger.expiring(number)?;
    if expiring.is_empty() {
        return Ok(());
    }
    let rewritten: HashSet<(&str, &str, &[u8])> = verdict
        .hashed_updates
        .iter()
        .map(|u| {
            (
                u.namespace.as_str(),
                u.collection.as_str(),
                u.key_hash.as_slice(),
            )
        })
        .collect();
    let purge_version = Version {
        block_num: number,
        tx_num: u64::MAX,
    };
    for e in expiring {
        let (ns, coll) = (e.key.namespace.as_str(), e.key.collection.as_str());
        // Keys of the expiring writes, by hash, if this peer holds them.
        let keys: HashMap<Vec<u8>, String> = match ledger.pvt_rwset(&e.key)? {
            Some(rwset) => KvrwSet::decode(rwset.as_slice())
                .map(|kv| {
                    kv.writes
                        .into_iter()
                        .map(|w| {
                            (
                                weft_common::crypto::sha256(w.key.as_bytes()).to_vec(),
                                w.key,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            None => HashMap::new(),
        };
        for h in &e.key_hashes {
            if rewritten.contains(&(ns, coll, h.as_slice()))
                || state.hashed_version(ns, coll, h)? != Some(e.key.version())
            {
                continue;
            }
            out.purged_hashes.push(HashedUpdate {
                namespace: ns.to_string(),
                collection: coll.to_string(),
                key_hash: h.clone(),
                value_hash: None,
                version: purge_version,
                metadata: None,
            });
            if let Some(k) = keys.get(h) {
                out.values.push(PrivateUpdate {
                    namespace: ns.to_string(),
                    collection: coll.to_string(),
                    key: k.clone(),
                    value: None,
                });
            }
        }
        tracing::debug!(
            block = number,
            namespace = ns,
            collection = coll,
            written_in = e.key.block,
            "private data expired (BlockToLive)"
        );
        out.commit.expired.push(e);
    }
    Ok(())
}
