//! Stage two, serial in block order: in-block duplicate txids, read-version
//! (MVCC) checks and range-query phantom checks, counting the writes of
//! earlier valid transactions of the same block.

use std::collections::{BTreeMap, HashMap, HashSet};

use weft_common::tx::NsRwSet;
use weft_protos::kvrwset::{KvRead, RangeQueryInfo, Version, range_query_info};
use weft_protos::protos::TxValidationCode as Code;

use super::transaction::{CollectionRw, Verdict};
use super::{BlockVerdict, PrivateWrites, StateView, TxVerdict};
use crate::PeerError;
use crate::ledger::{HashedUpdate, Purge, StateUpdate};

/// Writes of the block's valid transactions so far: namespace → key → version
/// (`None`: deleted), and the same for hashed private keys.
#[derive(Default)]
struct BlockWrites(
    HashMap<String, BTreeMap<String, Option<Version>>>,
    HashMap<(String, String, Vec<u8>), Option<Version>>,
);

impl BlockWrites {
    fn get(&self, ns: &str, key: &str) -> Option<Option<Version>> {
        self.0.get(ns).and_then(|m| m.get(key)).cloned()
    }
}

fn same(a: Option<&Version>, b: Option<&Version>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.block_num == b.block_num && a.tx_num == b.tx_num,
        _ => false,
    }
}

fn fmt_version(v: Option<&Version>) -> String {
    v.map_or("absent".into(), |v| {
        format!("({}, {})", v.block_num, v.tx_num)
    })
}

/// Resolves stage-one verdicts into the block's verdict.
pub fn resolve(
    block: u64,
    checked: Vec<Verdict>,
    state: &dyn StateView,
) -> Result<BlockVerdict, PeerError> {
    let mut writes = BlockWrites::default();
    let mut seen = HashSet::new();
    let mut txs = Vec::with_capacity(checked.len());
    let mut updates = Vec::new();
    let mut hashed_updates = Vec::new();
    let mut purges = Vec::new();
    let mut private_writes = Vec::new();
    // (namespace, key) whose metadata an earlier transaction of the block wrote.
    let mut parameters_changed: HashMap<String, HashSet<String>> = HashMap::new();
    // (namespace, collection, key hash) of private keys likewise.
    let mut hashed_parameters_changed: HashSet<(String, String, Vec<u8>)> = HashSet::new();
    for (i, (tx_id, c)) in checked.into_iter().enumerate() {
        let tx = match c {
            Err(inv) => {
                txs.push(TxVerdict {
                    tx_id,
                    code: inv.code,
                    reason: Some(inv.reason),
                });
                continue;
            }
            Ok(tx) => tx,
        };
        let mut verdict = TxVerdict {
            tx_id: tx.tx_id.clone(),
            code: Code::Valid,
            reason: None,
        };
        // Fabric invalidates a write to a key whose validation parameter an
        // earlier transaction of the block changed (and that passed its
        // endorsement checks), rather than judge it by either policy.
        let changed_public = tx.rwset.iter().find_map(|ns| {
            super::key_level::written_keys(&ns.kv)
                .find(|k| {
                    parameters_changed
                        .get(&ns.namespace)
                        .is_some_and(|keys| keys.contains(*k))
                })
                .map(|k| format!("{}/{k:?}", ns.namespace))
        });
        let changed_private = || {
            tx.collections.iter().find_map(|c| {
                super::key_level::written_key_hashes(&c.hashed)
                    .find(|h| {
                        hashed_parameters_changed.contains(&(
                            c.namespace.clone(),
                            c.collection.clone(),
                            h.to_vec(),
                        ))
                    })
                    .map(|h| {
                        format!(
                            "{}/{} key {}",
                            c.namespace,
                            c.collection,
                            hex::encode(&h[..h.len().min(8)])
                        )
                    })
            })
        };
        let changed_parameter = changed_public.or_else(changed_private);
        if changed_parameter.is_none() {
            for ns in &tx.rwset {
                for m in &ns.kv.metadata_writes {
                    parameters_changed
                        .entry(ns.namespace.clone())
                        .or_default()
                        .insert(m.key.clone());
                }
            }
            for c in &tx.collections {
                for m in &c.hashed.metadata_writes {
                    hashed_parameters_changed.insert((
                        c.namespace.clone(),
                        c.collection.clone(),
                        m.key_hash.clone(),
                    ));
                }
            }
        }
        if let Some(what) = changed_parameter {
            verdict.code = Code::EndorsementPolicyFailure;
            verdict.reason = Some(format!(
                "{}: the key-level endorsement policy of {what} was changed by an earlier transaction of this block",
                tx.tx_id
            ));
        } else if !seen.insert(tx.tx_id.clone()) {
            verdict.code = Code::DuplicateTxid;
            verdict.reason = Some(format!(
                "{}: an earlier transaction of this block has this txid",
                tx.tx_id
            ));
        } else if let Some((code, why)) = match conflicts(&tx.rwset, &writes, state)? {
            Some(c) => Some(c),
            None => hashed_conflicts(&tx.collections, &writes, state)?,
        } {
            verdict.code = code;
            verdict.reason = Some(format!("{}: {why}", tx.tx_id));
        } else {
            let version = Version {
                block_num: block,
                tx_num: i as u64,
            };
            for ns in &tx.rwset {
                let metadata_of = |key: &str| {
                    ns.kv
                        .metadata_writes
                        .iter()
                        .find(|m| m.key == key)
                        .map(|m| m.entries.clone())
                };
                for w in &ns.kv.writes {
                    writes
                        .0
                        .entry(ns.namespace.clone())
                        .or_default()
                        .insert(w.key.clone(), (!w.is_delete).then_some(version));
                    updates.push(StateUpdate {
                        namespace: ns.namespace.clone(),
                        key: w.key.clone(),
                        value: (!w.is_delete).then(|| w.value.clone()),
                        version,
                        tx_id: tx.tx_id.clone(),
                        timestamp_seconds: tx.timestamp_seconds,
                        metadata: metadata_of(&w.key),
                        in_history: true,
                    });
                }
                // Metadata written without the value: the key keeps its
                // value under the transaction's version, as Fabric's ledger
                // does; a key that does not exist gets none.
                for m in &ns.kv.metadata_writes {
                    if ns.kv.writes.iter().any(|w| w.key == m.key) {
                        continue;
                    }
                    let value = match updates
                        .iter()
                        .rev()
                        .find(|u| u.namespace == ns.namespace && u.key == m.key)
                    {
                        Some(u) => u.value.clone(),
                        None => state.value(&ns.namespace, &m.key)?,
                    };
                    let Some(value) = value else { continue };
                    writes
                        .0
                        .entry(ns.namespace.clone())
                        .or_default()
                        .insert(m.key.clone(), Some(version));
                    updates.push(StateUpdate {
                        namespace: ns.namespace.clone(),
                        key: m.key.clone(),
                        value: Some(value),
                        version,
                        tx_id: tx.tx_id.clone(),
                        timestamp_seconds: tx.timestamp_seconds,
                        metadata: Some(m.entries.clone()),
                        in_history: false,
                    });
                }
            }
            for c in &tx.collections {
                hashed_writes(
                    c,
                    version,
                    state,
                    &mut writes,
                    &mut hashed_updates,
                    &mut purges,
                )?;
                if !c.pvt_rwset_hash.is_empty() {
                    private_writes.push(PrivateWrites {
                        tx_id: tx.tx_id.clone(),
                        namespace: c.namespace.clone(),
                        collection: c.collection.clone(),
                        pvt_rwset_hash: c.pvt_rwset_hash.clone(),
                        version,
                    });
                }
            }
        }
        txs.push(verdict);
    }
    Ok(BlockVerdict {
        txs,
        updates,
        hashed_updates,
        purges,
        private_writes,
        new_config: None,
    })
}

/// A valid transaction's writes to collection `c`: hashed values (a purge
/// also noted), and metadata — with the value, or alone, when the key keeps
/// its value hash under the transaction's version (a key that does not
/// exist gets none), as for public keys.
fn hashed_writes(
    c: &CollectionRw,
    version: Version,
    state: &dyn StateView,
    writes: &mut BlockWrites,
    updates: &mut Vec<HashedUpdate>,
    purges: &mut Vec<Purge>,
) -> Result<(), PeerError> {
    let metadata_of = |h: &[u8]| {
        c.hashed
            .metadata_writes
            .iter()
            .find(|m| m.key_hash == h)
            .map(|m| m.entries.clone())
    };
    let key = |h: &[u8]| (c.namespace.clone(), c.collection.clone(), h.to_vec());
    for w in &c.hashed.hashed_writes {
        let live = !w.is_delete && !w.is_purge;
        writes.1.insert(key(&w.key_hash), live.then_some(version));
        updates.push(HashedUpdate {
            namespace: c.namespace.clone(),
            collection: c.collection.clone(),
            key_hash: w.key_hash.clone(),
            value_hash: live.then(|| w.value_hash.clone()),
            version,
            metadata: metadata_of(&w.key_hash),
        });
        if w.is_purge {
            purges.push(Purge {
                namespace: c.namespace.clone(),
                collection: c.collection.clone(),
                key_hash: w.key_hash.clone(),
                version,
                drop_value: true,
            });
        }
    }
    for m in &c.hashed.metadata_writes {
        if c.hashed
            .hashed_writes
            .iter()
            .any(|w| w.key_hash == m.key_hash)
        {
            continue;
        }
        let earlier = updates.iter().rev().find(|u| {
            u.namespace == c.namespace && u.collection == c.collection && u.key_hash == m.key_hash
        });
        let value_hash = match earlier {
            Some(u) => u.value_hash.clone(),
            None => state
                .hashed_value(&c.namespace, &c.collection, &m.key_hash)?
                .map(|(_, h)| h),
        };
        let Some(value_hash) = value_hash else {
            continue;
        };
        writes.1.insert(key(&m.key_hash), Some(version));
        updates.push(HashedUpdate {
            namespace: c.namespace.clone(),
            collection: c.collection.clone(),
            key_hash: m.key_hash.clone(),
            value_hash: Some(value_hash),
            version,
            metadata: Some(m.entries.clone()),
        });
    }
    Ok(())
}

/// Hashed reads of private data against the hashed state (and the block's earlier writes).
fn hashed_conflicts(
    collections: &[CollectionRw],
    writes: &BlockWrites,
    state: &dyn StateView,
) -> Result<Option<(Code, String)>, PeerError> {
    for c in collections {
        for read in &c.hashed.hashed_reads {
            let key = (
                c.namespace.clone(),
                c.collection.clone(),
                read.key_hash.clone(),
            );
            let current = match writes.1.get(&key) {
                Some(v) => *v,
                None => state.hashed_version(&c.namespace, &c.collection, &read.key_hash)?,
            };
            if !same(read.version.as_ref(), current.as_ref()) {
                return Ok(Some((
                    Code::MvccReadConflict,
                    format!(
                        "read private key {} of {}/{} at version {}, now {}",
                        hex::encode(&read.key_hash[..read.key_hash.len().min(8)]),
                        c.namespace,
                        c.collection,
                        fmt_version(read.version.as_ref()),
                        fmt_version(current.as_ref())
                    ),
                )));
            }
        }
    }
    Ok(None)
}

fn conflicts(
    rwset: &[NsRwSet],
    writes: &BlockWrites,
    state: &dyn StateView,
) -> Result<Option<(Code, String)>, PeerError> {
    for ns in rwset {
        for read in &ns.kv.reads {
            let current = match writes.get(&ns.namespace, &read.key) {
                Some(v) => v,
                None => state.version(&ns.namespace, &read.key)?,
            };
            if !same(read.version.as_ref(), current.as_ref()) {
                return Ok(Some((
                    Code::MvccReadConflict,
                    format!(
                        "read {}/{:?} at version {}, now {}",
                        ns.namespace,
                        read.key,
                        fmt_version(read.version.as_ref()),
                        fmt_version(current.as_ref())
                    ),
                )));
            }
        }
        for rq in &ns.kv.range_queries_info {
            if let Some(why) = phantom(&ns.namespace, rq, writes, state)? {
                return Ok(Some((Code::PhantomReadConflict, why)));
            }
        }
    }
    Ok(None)
}

/// Results a Merkle-summarised range may be re-read to, at most; a summary
/// claiming more is refused (Fabric's default `totalQueryLimit` is 100,000).
const MAX_SUMMARISED_RESULTS: u64 = 200_000;

/// Re-runs a recorded range query over committed state plus the block's
/// earlier writes and compares the results with what the endorser saw: raw
/// reads one by one, a Merkle summary by rebuilding it
/// ([`crate::range_summary`]). A range not read to its end covers its start
/// to the last key read, inclusive (Fabric records that key as the end).
fn phantom(
    ns: &str,
    rq: &RangeQueryInfo,
    writes: &BlockWrites,
    state: &dyn StateView,
) -> Result<Option<String>, PeerError> {
    let end = if !rq.itr_exhausted && !rq.end_key.is_empty() {
        format!("{}\0", rq.end_key)
    } else {
        rq.end_key.clone()
    };
    let in_range = |k: &&String| {
        k.as_str() >= rq.start_key.as_str() && (end.is_empty() || k.as_str() < end.as_str())
    };
    let block_writes = writes.0.get(ns);
    let deleted = block_writes.map_or(0, |w| {
        w.iter().filter(|(k, v)| in_range(k) && v.is_none()).count()
    });
    let current = |read: usize| -> Result<BTreeMap<String, Version>, PeerError> {
        let committed = state.range_versions(ns, &rq.start_key, &end, read)?;
        Ok(super::merge_range_page(
            committed,
            read,
            block_writes
                .into_iter()
                .flat_map(|w| w.iter())
                .filter(|(k, _)| in_range(k))
                .map(|(k, v)| (k, *v)),
        ))
    };
    let empty = Vec::new();
    let recorded = match &rq.reads_info {
        Some(range_query_info::ReadsInfo::RawReads(r)) => &r.kv_reads,
        // Fabric records no reads for a range that returned nothing.
        None => &empty,
        Some(range_query_info::ReadsInfo::ReadsMerkleHashes(summary)) => {
            let most = crate::range_summary::max_results(summary);
            if most > MAX_SUMMARISED_RESULTS {
                return Ok(Some(format!(
                    "range [{:?}, {:?}) of {ns} is summarised as up to {most} results, more than weft re-reads ({MAX_SUMMARISED_RESULTS})",
                    rq.start_key, rq.end_key
                )));
            }
            // Every current result up to the most the summary can cover,
            // and one more (which would make it differ).
            let read = (most as usize).saturating_add(1).saturating_add(deleted);
            let now = current(read)?;
            let results = now.into_iter().map(|(key, v)| KvRead {
                key,
                version: Some(v),
            });
            return Ok(match crate::range_summary::check(summary, results) {
                Ok(()) => None,
                Err(crate::range_summary::Mismatch::Malformed) => Some(format!(
                    "range [{:?}, {:?}) of {ns}: Merkle summary of degree {} is malformed",
                    rq.start_key, rq.end_key, summary.max_degree
                )),
                Err(crate::range_summary::Mismatch::Differs) => Some(format!(
                    "range [{:?}, {:?}) of {ns}: results differ from the endorser's (Merkle summary of {} hashes at level {})",
                    rq.start_key,
                    rq.end_key,
                    summary.max_level_hashes.len(),
                    summary.max_level
                )),
            });
        }
    };
    // Only as many keys as the endorser read (and one more, for a key that
    // appeared) are read back, whatever the range's size.
    let read = recorded.len().saturating_add(1).saturating_add(deleted);
    let now = current(read)?;
    let mut results = now.iter();
    for read in recorded {
        match results.next() {
            Some((k, v)) if *k == read.key && same(read.version.as_ref(), Some(v)) => {}
            Some((k, v)) => {
                return Ok(Some(format!(
                    "range [{:?}, {:?}) of {ns}: endorser saw {:?} at {}, now {k:?} at ({}, {})",
                    rq.start_key,
                    rq.end_key,
                    read.key,
                    fmt_version(read.version.as_ref()),
                    v.block_num,
                    v.tx_num
                )));
            }
            None => {
                return Ok(Some(format!(
                    "range [{:?}, {:?}) of {ns}: {:?} is gone",
                    rq.start_key, rq.end_key, read.key
                )));
            }
        }
    }
    if rq.itr_exhausted
        && let Some((k, _)) = results.next()
    {
        return Ok(Some(format!(
            "range [{:?}, {:?}) of {ns}: {k:?} appeared",
            rq.start_key, rq.end_key
        )));
    }
    Ok(None)
}
