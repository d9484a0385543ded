//! Pulling private data: before a block commits, the committing peer asks
//! member peers for the private writes its org should hold and its
//! transient store lacks; what is still missing after the commit is
//! recorded, and reconciliation asks again in the background until it is
//! found or expires. Every answer is checked against the hash the block
//! commits to, so a member peer cannot hand over anything else.

use std::collections::BTreeMap;
use std::time::Duration;

use prost::Message;
use weft_common::tx::UnpackedEnvelope;
use weft_protos::common::Block;
use weft_protos::gossip::PvtDataDigest;
use weft_protos::weft::privdata::PullRequest;

use super::request;
use crate::PeerError;
use crate::channel::Committer;
use crate::discovery::Support;
use crate::ledger::{MissingPvt, PvtKey, TransientEntry};
use crate::lifecycle::collection_rules::{CollectionRules, channel_orgs, lookup};

/// How long a peer may take to answer a pull.
pub const PULL_TIMEOUT: Duration = Duration::from_secs(3);
/// Missing entries one reconciliation round asks for.
pub const RECONCILE_BATCH: usize = 256;

/// The private writes in `block` that this peer's org should hold and its
/// transient store lacks.
pub fn wanted_in(committer: &Committer, block: &Block) -> Result<Vec<MissingPvt>, PeerError> {
    let Some(org) = committer.org() else {
        return Ok(Vec::new());
    };
    let number = block.header.as_ref().map_or(0, |h| h.number);
    let orgs = channel_orgs(&committer.config());
    let mut rules: BTreeMap<(String, String), Option<CollectionRules>> = BTreeMap::new();
    let mut out = Vec::new();
    let data = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or_default();
    for (i, bytes) in data.iter().enumerate() {
        let Ok(env) = UnpackedEnvelope::from_bytes(bytes) else {
            continue;
        };
        let Ok(etx) = env.endorser_transaction() else {
            continue;
        };
        let tx_id = env.channel_header.tx_id.clone();
        for ns in &etx.action.rwset {
            for c in ns
                .collections
                .iter()
                .filter(|c| !c.pvt_rwset_hash.is_empty())
            {
                let k = (ns.namespace.clone(), c.collection_name.clone());
                if !rules.contains_key(&k) {
                    let r = lookup(committer.ledger(), &orgs, &k.0, &k.1)?;
                    rules.insert(k.clone(), r);
                }
                if !rules[&k].as_ref().is_some_and(|r| r.has_member(org)) {
                    continue;
                }
                let held = committer
                    .transient()
                    .find(&tx_id, &k.0, &k.1, &c.pvt_rwset_hash)?
                    .is_some();
                if !held {
                    out.push(MissingPvt {
                        key: PvtKey {
                            block: number,
                            tx: i as u64,
                            namespace: k.0,
                            collection: k.1,
                        },
                        tx_id: tx_id.clone(),
                        hash: c.pvt_rwset_hash.clone(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Asks member peers for `wanted`, own org first; returns what was found,
/// each rwset what its block commits to ([`super::verify::genuine`]).
pub async fn fetch(
    core: &dyn Support,
    committer: &Committer,
    wanted: &[MissingPvt],
) -> Result<Vec<(MissingPvt, Vec<u8>)>, PeerError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let cfg = committer.config();
    let orgs = channel_orgs(&cfg);
    let members = core
        .views()
        .members(core, core.local_member(), committer)
        .await
        .map_err(|s| PeerError::Call {
            what: "the channel's peers".into(),
            source: s,
        })?;
    let me = &members[0];
    // Which peers may hold each wanted entry: its collection's members.
    let mut member_orgs: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for w in wanted {
        let k = (w.key.namespace.clone(), w.key.collection.clone());
        if let std::collections::btree_map::Entry::Vacant(e) = member_orgs.entry(k) {
            let (ns, coll) = e.key();
            let m = lookup(committer.ledger(), &orgs, ns, coll)?
                .map(|r| r.members)
                .unwrap_or_default();
            e.insert(m);
        }
    }
    let mut peers: Vec<_> = members
        .iter()
        .filter(|m| m.identity != me.identity)
        .filter(|m| member_orgs.values().any(|orgs| orgs.contains(&m.msp_id)))
        .collect();
    peers.sort_by_key(|m| m.msp_id != me.msp_id);
    let mut found: Vec<(MissingPvt, Vec<u8>)> = Vec::new();
    let mut left: Vec<&MissingPvt> = wanted.iter().collect();
    let channel = cfg.channel_id.to_string();
    for peer in peers {
        let ask: Vec<&MissingPvt> = left
            .iter()
            .copied()
            .filter(|w| {
                member_orgs[&(w.key.namespace.clone(), w.key.collection.clone())]
                    .contains(&peer.msp_id)
            })
            .collect();
        if ask.is_empty() {
            continue;
        }
        let body = PullRequest {
            asker: Some(request::asker(&channel, core.signer())),
            digests: ask
                .iter()
                .take(super::service::MAX_DIGESTS)
                .map(|w| PvtDataDigest {
                    tx_id: w.tx_id.clone(),
                    namespace: w.key.namespace.clone(),
                    collection: w.key.collection.clone(),
                    block_seq: w.key.block,
                    seq_in_block: w.key.tx,
                })
                .collect(),
        }
        .encode_to_vec();
        let signed = match request::sign(body, core.signer()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("{e}");
                break;
            }
        };
        let answer = super::call_peer(
            core,
            &cfg,
            &peer.endpoint,
            PULL_TIMEOUT,
            |mut c| async move { c.pull(signed).await },
        )
        .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                tracing::debug!(peer = %peer.endpoint, "private data pull failed: {e}");
                continue;
            }
        };
        for element in answer.elements {
            let Some(d) = element.digest else { continue };
            let Some(pos) = left.iter().position(|w| {
                w.tx_id == d.tx_id
                    && w.key.namespace == d.namespace
                    && w.key.collection == d.collection
            }) else {
                continue;
            };
            let ledger = committer.ledger();
            let genuine = element.payload.into_iter().find(|p| {
                super::verify::genuine(ledger, left[pos], p).unwrap_or_else(|e| {
                    tracing::warn!("cannot check pulled private data: {e}");
                    false
                })
            });
            match genuine {
                Some(rwset) => found.push((left.swap_remove(pos).clone(), rwset)),
                None => {
                    tracing::warn!(peer = %peer.endpoint, tx_id = %d.tx_id, "a pulled private rwset does not match the block's hash; ignored")
                }
            }
        }
        if left.is_empty() {
            break;
        }
    }
    Ok(found)
}

/// Before `block` commits: fetches the private writes this peer should hold
/// and lacks into the transient store, where the commit finds them.
pub async fn before_commit(core: &dyn Support, committer: &Committer, block: &Block) {
    let wanted = match wanted_in(committer, block) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("cannot tell which private data block needs: {e}");
            return;
        }
    };
    if wanted.is_empty() {
        return;
    }
    match fetch(core, committer, &wanted).await {
        Ok(found) => {
            tracing::debug!(
                wanted = wanted.len(),
                found = found.len(),
                "pulled private data before commit"
            );
            for (w, rwset) in found {
                let entry = TransientEntry {
                    namespace: w.key.namespace,
                    collection: w.key.collection,
                    rwset,
                };
                if let Err(e) = committer.transient().put_entries(&w.tx_id, &[entry]) {
                    tracing::warn!("cannot keep pulled private data: {e}");
                }
            }
        }
        Err(e) => tracing::info!("private data pull before commit failed: {e}"),
    }
}

/// One reconciliation round: asks member peers for up to
/// [`RECONCILE_BATCH`] missing entries and stores what they hand over;
/// returns how many were stored.
pub async fn reconcile(core: &dyn Support, committer: &Committer) -> Result<usize, PeerError> {
    let missing = committer.ledger().missing_pvt(RECONCILE_BATCH)?;
    if missing.is_empty() {
        return Ok(0);
    }
    let found = fetch(core, committer, &missing).await?;
    if found.is_empty() {
        return Ok(0);
    }
    let n = found.len();
    committer.reconcile(found.into_iter().map(|(w, rwset)| (w.key, rwset)).collect())?;
    tracing::info!(channel = %committer.config().channel_id, reconciled = n, left = missing.len() - n, "reconciled missing private data");
    Ok(n)
}
