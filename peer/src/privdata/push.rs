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

/// One collection's dissemination: its rules, the eligible peers in the
/// order they are tried, and how far down that list it has gone.
struct Target {
    namespace: String,
    rules: CollectionRules,
    rwset: Vec<u8>,
    candidates: Vec<String>,
    tried: usize,
    acked: i32,
    failures: Vec<String>,
}

impl Target {
    /// `namespace/collection`, as an acknowledgement names it.
    fn name(&self) -> String {
        format!("{}/{}", self.namespace, self.rules.name)
    }

    /// The peers to push to next: up to `maxPeerCount` at first, then as
    /// many as acknowledgements are still short of `requiredPeerCount`.
    fn next_peers(&mut self) -> Vec<String> {
        let want = if self.tried == 0 {
            self.rules
                .maximum_peer_count
                .max(self.rules.required_peer_count)
        } else {
            self.rules.required_peer_count - self.acked
        };
        let want = want.max(0) as usize;
        let end = (self.tried + want).min(self.candidates.len());
        let next = self.candidates[self.tried..end].to_vec();
        self.tried = end;
        next
    }
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
            return own;
        }
        round += 1;
    }
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
                candidates: Vec::new(),
                tried: 0,
                acked: 0,
                failures: Vec::new(),
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
    for t in &mut targets {
        t.candidates = choose(&members, me, &t.rules);
    }
    let height = committer.ledger().height();
    let channel = cfg.channel_id.to_string();
    // Rounds: the first pushes to up to maxPeerCount peers of each
    // collection; each later one to further peers, for the collections
    // still short of requiredPeerCount, until none is or none is left.
    loop {
        let mut per_peer: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, t) in targets.iter_mut().enumerate() {
            for p in t.next_peers() {
                per_peer.entry(p).or_default().push(i);
            }
        }
        if per_peer.is_empty() {
            break;
        }
        let sends = per_peer.iter().map(|(endpoint, which)| {
            let payloads = which
                .iter()
                .map(|&i| PrivatePayload {
                    collection_name: targets[i].rules.name.clone(),
                    namespace: targets[i].namespace.clone(),
                    tx_id: tx_id.to_string(),
                    private_rwset: targets[i].rwset.clone(),
                    private_sim_height: height,
                    collection_configs: None,
                })
                .collect();
            push_one(core, &cfg, &channel, endpoint, payloads)
        });
        let answers = futures::future::join_all(sends).await;
        for ((endpoint, which), answer) in per_peer.iter().zip(answers) {
            for &i in which {
                let t = &mut targets[i];
                match &answer {
                    Ok(kept) if kept.contains(&t.name()) => t.acked += 1,
                    Ok(_) => t.failures.push(format!("{endpoint} refused it")),
                    Err(e) => t.failures.push(format!("{endpoint}: {e}")),
                }
            }
        }
    }
    for t in targets {
        tracing::debug!(%tx_id, collection = %t.name(), acked = t.acked, tried = t.tried, "private data disseminated");
        if t.acked < t.rules.required_peer_count {
            return Err(PushError::Shortfall {
                namespace: t.namespace,
                collection: t.rules.name,
                required: t.rules.required_peer_count,
                acked: t.acked,
                failures: t.failures,
            });
        }
    }
    Ok(())
}

/// Pushes `payloads` to the peer at `endpoint`; the collections it kept.
async fn push_one(
    core: &dyn Support,
    cfg: &weft_common::config::ChannelConfig,
    channel: &str,
    endpoint: &str,
    payloads: Vec<PrivatePayload>,
) -> Result<Vec<String>, String> {
    let body = PushRequest {
        asker: Some(request::asker(channel, core.signer())),
        payloads,
    }
    .encode_to_vec();
    let signed = request::sign(body, core.signer()).map_err(|e| e.to_string())?;
    let kept = super::call_peer(core, cfg, endpoint, PUSH_ACK_TIMEOUT, |mut c| async move {
        c.push(signed).await
    })
    .await?;
    Ok(kept.kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(org: &str, n: u8) -> Member {
        Member {
            msp_id: org.into(),
            identity: vec![n],
            endpoint: format!("{org}-peer{n}"),
            alive: Default::default(),
            state: Default::default(),
            chaincodes: Vec::new(),
        }
    }

    fn rules(members: &[&str], required: i32, max: i32) -> CollectionRules {
        CollectionRules {
            name: "c".into(),
            members: members.iter().map(|m| m.to_string()).collect(),
            required_peer_count: required,
            maximum_peer_count: max,
            block_to_live: 0,
            member_only_read: true,
            member_only_write: true,
            endorsement_policy: None,
        }
    }

    fn target(rules: CollectionRules, candidates: Vec<String>) -> Target {
        Target {
            namespace: "cc".into(),
            rules,
            rwset: Vec::new(),
            candidates,
            tried: 0,
            acked: 0,
            failures: Vec::new(),
        }
    }

    #[test]
    fn own_org_peers_come_first_then_one_peer_of_each_member_org_in_turn() {
        let me = member("Org1", 0);
        let all = [
            me.clone(),
            member("Org2", 1),
            member("Org2", 2),
            member("Org3", 3),
            member("Org1", 4),
            member("Org4", 5),
        ];
        let order = choose(&all, &me, &rules(&["Org1", "Org2", "Org3"], 1, 1));
        assert_eq!(
            order,
            ["Org1-peer4", "Org2-peer1", "Org3-peer3", "Org2-peer2"],
            "Org4 is not a member; this peer is not a target"
        );
    }

    #[test]
    fn a_push_goes_to_max_peers_then_to_further_ones_while_required_acks_are_short() {
        let peers: Vec<String> = (0..4).map(|n| format!("p{n}")).collect();
        let mut t = target(rules(&["Org1"], 2, 3), peers.clone());
        assert_eq!(t.next_peers(), peers[..3]);
        // One acknowledged; two failed: one more peer is tried.
        t.acked = 1;
        assert_eq!(t.next_peers(), peers[3..]);
        // None left: the shortfall stands.
        assert!(t.next_peers().is_empty());

        let mut enough = target(rules(&["Org1"], 1, 1), peers.clone());
        assert_eq!(enough.next_peers(), peers[..1]);
        enough.acked = 1;
        assert!(enough.next_peers().is_empty());

        // requiredPeerCount 0, maxPeerCount 0: nobody.
        assert!(
            target(rules(&["Org1"], 0, 0), peers)
                .next_peers()
                .is_empty()
        );
    }
}
