//! Dissemination at endorsement: the endorsing peer hands a transaction's
//! private writes to peers of each collection's member orgs — its own org's
//! other peers first — before it returns the endorsement. A collection needs
//! `requiredPeerCount` acknowledgements, or the endorsement fails naming the
//! collection; it goes to `maxPeerCount` peers at most.

use std::collections::BTreeMap;
use std::time::Duration;

use prost::Message;
use weft_protos::gossip::PrivatePayload;
use weft_protos::rwset::TxPvtReadWriteSet;
use weft_protos::weft::privdata::PushRequest;
use weft_protos::weft::privdata::private_data_client::PrivateDataClient;

use super::request;
use crate::channel::Committer;
use crate::discovery::Support;
use crate::discovery::members::Member;
use crate::lifecycle::collection_rules::{CollectionRules, channel_orgs, lookup};

/// How long a peer may take to acknowledge a push (Fabric's
/// `peer.gossip.pvtData.pushAckTimeout`).
pub const PUSH_ACK_TIMEOUT: Duration = Duration::from_secs(3);

/// Why private writes could not be disseminated as their collections require.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// A collection's required peers did not all acknowledge.
    #[error(
        "failed to distribute private data of collection {collection} of chaincode {namespace}: required to disseminate to at least {required} peers, {acked} acknowledged{}",
        if .failures.is_empty() { String::new() } else { format!(" ({})", .failures.join("; ")) }
    )]
    Shortfall {
        /// Chaincode.
        namespace: String,
        /// Collection.
        collection: String,
        /// `requiredPeerCount`.
        required: i32,
        /// Acknowledgements received.
        acked: i32,
        /// What went wrong with each peer tried.
        failures: Vec<String>,
    },
    /// The request could not be built.
    #[error(transparent)]
    Request(#[from] request::RequestError),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] crate::PeerError),
}

/// One collection's dissemination: its rules and the peers chosen.
struct Target {
    namespace: String,
    rules: CollectionRules,
    rwset: Vec<u8>,
    peers: Vec<String>,
}

/// Orders the peers of a collection's member orgs for a push from `me`:
/// peers of my own org first, then one peer of each other org in turn.
pub fn choose(members: &[Member], me: &Member, rules: &CollectionRules) -> Vec<String> {
    let eligible = |m: &&Member| m.identity != me.identity && rules.has_member(&m.msp_id);
    let mut own: Vec<String> = members
        .iter()
        .filter(eligible)
        .filter(|m| m.msp_id == me.msp_id)
        .map(|m| m.endpoint.clone())
        .collect();
    let mut by_org: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for m in members
        .iter()
        .filter(eligible)
        .filter(|m| m.msp_id != me.msp_id)
    {
        by_org
            .entry(&m.msp_id)
            .or_default()
            .push(m.endpoint.clone());
    }
    let mut round = 0;
    loop {
        let before = own.len();
        for peers in by_org.values() {
            if let Some(p) = peers.get(round) {
                own.push(p.clone());
            }
        }
        if own.len() == before {
            break;
        }
        round += 1;
    }
    let max = rules
        .maximum_peer_count
        .max(rules.required_peer_count)
        .max(0) as usize;
    own.truncate(max);
    own
}

/// Pushes `pvt`, the private writes of `tx_id` endorsed on `committer`'s
/// channel, to member peers; fails when a collection's required peers do
/// not acknowledge in time.
pub async fn disseminate(
    core: &dyn Support,
    committer: &Committer,
    tx_id: &str,
    pvt: &TxPvtReadWriteSet,
) -> Result<(), PushError> {
    let cfg = committer.config();
    let orgs = channel_orgs(&cfg);
    let mut targets = Vec::new();
    for ns in &pvt.ns_pvt_rwset {
        for c in &ns.collection_pvt_rwset {
            let Some(rules) = lookup(committer.ledger(), &orgs, &ns.namespace, &c.collection_name)?
            else {
                continue;
            };
            if rules.maximum_peer_count <= 0 && rules.required_peer_count <= 0 {
                continue;
            }
            targets.push(Target {
                namespace: ns.namespace.clone(),
                rules,
                rwset: c.rwset.clone(),
                peers: Vec::new(),
            });
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    let members = core
        .views()
        .members(core, core.local_member(), committer)
        .await
        .map_err(|s| crate::PeerError::Call {
            what: "the channel's peers".into(),
            source: s,
        })?;
    let me = &members[0];
    // One request per peer, carrying every collection it is chosen for.
    let mut per_peer: BTreeMap<String, Vec<PrivatePayload>> = BTreeMap::new();
    let height = committer.ledger().height();
    for t in &mut targets {
        t.peers = choose(&members, me, &t.rules);
        for p in &t.peers {
            per_peer.entry(p.clone()).or_default().push(PrivatePayload {
                collection_name: t.rules.name.clone(),
                namespace: t.namespace.clone(),
                tx_id: tx_id.to_string(),
                private_rwset: t.rwset.clone(),
                private_sim_height: height,
                collection_configs: None,
            });
        }
    }
    let channel = cfg.channel_id.to_string();
    let sends = per_peer.into_iter().map(|(endpoint, payloads)| {
        let channel = channel.clone();
        let cfg = cfg.clone();
        async move {
            let result = async {
                let body = PushRequest {
                    asker: Some(request::asker(&channel, core.signer())),
                    payloads,
                }
                .encode_to_vec();
                let signed = request::sign(body, core.signer()).map_err(|e| e.to_string())?;
                let conn = core
                    .views()
                    .connect(core, &cfg, &endpoint)
                    .await
                    .map_err(|e| e.to_string())?;
                match tokio::time::timeout(
                    PUSH_ACK_TIMEOUT,
                    PrivateDataClient::new(conn).push(signed),
                )
                .await
                {
                    Ok(Ok(r)) => Ok(r.into_inner().kept),
                    Ok(Err(s)) => {
                        core.views().forget(&endpoint);
                        Err(s.message().to_string())
                    }
                    Err(_) => {
                        core.views().forget(&endpoint);
                        Err(format!("no acknowledgement in {PUSH_ACK_TIMEOUT:?}"))
                    }
                }
            }
            .await;
            (endpoint, result)
        }
    });
    let answers: Vec<(String, Result<Vec<String>, String>)> =
        futures::future::join_all(sends).await;
    for t in &targets {
        let name = format!("{}/{}", t.namespace, t.rules.name);
        let mut acked = 0;
        let mut failures = Vec::new();
        for (endpoint, answer) in answers.iter().filter(|(e, _)| t.peers.contains(e)) {
            match answer {
                Ok(kept) if kept.contains(&name) => acked += 1,
                Ok(_) => failures.push(format!("{endpoint} refused it")),
                Err(e) => failures.push(format!("{endpoint}: {e}")),
            }
        }
        tracing::debug!(%tx_id, collection = %name, acked, peers = t.peers.len(), "private data disseminated");
        if acked < t.rules.required_peer_count {
            return Err(PushError::Shortfall {
                namespace: t.namespace.clone(),
                collection: t.rules.name.clone(),
                required: t.rules.required_peer_count,
                acked,
                failures,
            });
        }
    }
    Ok(())
}
