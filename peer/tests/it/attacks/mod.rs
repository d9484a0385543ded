//! The peer's threat model, one attack per test: what a hostile orderer (or a
//! stolen orderer key), member or client tries, and the peer refusing it with
//! a clear cause while it keeps serving.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use prost::Message;
use tokio::sync::watch;
use weft_common::block::{header_hash, sign_block, transactions_filter};
use weft_common::msp::SigningIdentity;
use weft_protos::common::{Block, Config, Envelope, Policy};
use weft_protos::protos::TxValidationCode as Code;

use crate::bad_orderer::{FaultyOrderer, serve};
use crate::net::*;
use crate::support::*;
use crate::validation::Chain;

/// What a hostile orderer would like every peer to adopt: the Endorsement
/// policy loosened and Org2 removed, at the next sequence.
fn hijacked(current: &Config) -> Config {
    let mut config = any_endorsement(current);
    config.sequence += 1;
    application(&mut config).groups.remove("Org2MSP");
    config
}

/// An update only Org1's admin needs to sign: Org1's Writers policy becomes its Admins.
fn org1_update(current: &Config, admins: &[SigningIdentity]) -> Envelope {
    let mut updated = current.clone();
    let org1 = application_org(&mut updated, "Org1MSP");
    let admins_policy = org1.policies["Admins"].policy.clone();
    org1.policies.get_mut("Writers").unwrap().policy = admins_policy;
    config_update(current, &updated, admins)
}

/// A transaction endorsed by Org2's peer alone: the channel's MAJORITY
/// Endorsement refuses it; a hijacked ANY Endorsement would let it in.
fn org2_only(orgs: &Orgs, key: &str) -> Envelope {
    endorsed_tx(
        "basic",
        rwset(vec![Ns::new("basic").write(key, b"v")]),
        &orgs.user(1),
        &[&orgs.peer(2)],
    )
    .1
}

#[test]
fn config_blocks_need_the_updates_admins_signed() {
    let chain = Chain::new();
    let (_, def) = define_chaincode(&chain.orgs, "basic", "/Channel/Application/Endorsement");
    assert_eq!(Chain::codes(&chain.commit(&[def])), [Code::Valid]);
    let orderer = chain.orgs.orderer(1);
    let before = chain.committer.config();
    let (admin1, admin2) = (chain.orgs.admin(1), chain.orgs.admin(2));

    let mut tampered_signature = honest_config_tx(
        &orderer,
        &before,
        org1_update(&before.config, std::slice::from_ref(&admin1)),
    );
    tampered_signature.signature[8] ^= 1;
    let attacks = [
        (
            "a config with no update",
            config_tx(&orderer, hijacked(&before.config), None),
            Code::InvalidConfigTransaction,
            "carries no config update",
        ),
        (
            "an update signed by one org's admin where the channel's admins must sign",
            config_tx(
                &orderer,
                hijacked(&before.config),
                Some(config_update(
                    &before.config,
                    &any_endorsement(&before.config),
                    std::slice::from_ref(&admin1),
                )),
            ),
            Code::InvalidConfigTransaction,
            "needs its mod_policy /Channel/Application/Admins: it still needs 1 more of the Admins of Org2MSP",
        ),
        (
            "a genuine update next to a config it does not yield",
            config_tx(
                &orderer,
                hijacked(&before.config),
                Some(org1_update(&before.config, std::slice::from_ref(&admin1))),
            ),
            Code::InvalidConfigTransaction,
            "group /Channel/Application differs",
        ),
        (
            "an honest config whose envelope signature is broken",
            tampered_signature,
            Code::BadCreatorSignature,
            "creator refused",
        ),
    ];
    for (what, tx, code, cause) in attacks {
        let done = chain.commit(&[tx]);
        assert_eq!(Chain::codes(&done), [code], "{what}");
        let reason = done.txs[0].reason.clone().unwrap_or_default();
        assert!(
            reason.contains(cause),
            "{what}: the refusal names its cause: {reason}"
        );
        let after = chain.committer.config();
        assert_eq!(
            after.config, before.config,
            "{what}: the config is unchanged"
        );
        assert_eq!(
            chain.committer.ledger().info().last_config,
            0,
            "{what}: still the genesis config"
        );
        assert_eq!(
            Chain::codes(&chain.commit(&[org2_only(&chain.orgs, what)])),
            [Code::EndorsementPolicyFailure],
            "{what}: the old Endorsement policy still rules"
        );
    }

    // The peer keeps working: an honest update signed by both admins is adopted.
    let both = [admin1, admin2];
    let honest = config_update(&before.config, &any_endorsement(&before.config), &both);
    let done = chain.commit(&[honest_config_tx(&orderer, &before, honest)]);
    assert_eq!(Chain::codes(&done), [Code::Valid]);
    assert_eq!(chain.committer.config().sequence(), before.sequence() + 1);
    assert_eq!(
        Chain::codes(&chain.commit(&[org2_only(&chain.orgs, "after")])),
        [Code::Valid]
    );
}

fn codes_of(block: &Block) -> Vec<Code> {
    transactions_filter(block)
        .iter()
        .map(|c| Code::try_from(i32::from(*c)).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_config_block_forged_with_a_stolen_orderer_key_changes_no_peer() {
    let net = Net::start(1, 5).await;
    let orgs = &net.orgs;
    let (_, def) = define_chaincode(orgs, "basic", "/Channel/Application/Endorsement");
    net.broadcast(0, vec![def]).await;
    let height = net.settled_height().await;
    let mut chain: Vec<Block> = net.orderer_blocks(0, height);
    let genesis_config = weft_common::config::ChannelConfig::from_block(&chain[0]).unwrap();

    // With orderer 1's key, the attacker signs a block that hijacks the
    // channel's config, and a block after it that only the hijacked policy allows.
    let stolen = orgs.orderer(1);
    let mut next = |envs: &[Envelope]| {
        let last = chain.last().unwrap();
        let mut b = block(
            last.header.as_ref().unwrap().number + 1,
            header_hash(last.header.as_ref().unwrap()).to_vec(),
            envs,
        );
        sign_block(&mut b, 0, Vec::new(), &stolen).unwrap();
        chain.push(b);
    };
    next(&[config_tx(&stolen, hijacked(&genesis_config.config), None)]);
    next(&[org2_only(orgs, "stolen")]);

    let (stop, stop_rx) = watch::channel(false);
    let faulty = serve(
        &net,
        1,
        FaultyOrderer {
            blocks: chain.clone(),
            bad: height,
            bad_served: Arc::new(AtomicUsize::new(0)),
        },
        stop_rx,
    )
    .await;
    let peers = [net.start_peer(1, 0).await, net.start_peer(2, 0).await];
    for (org, peer) in [1, 2].into_iter().zip(&peers) {
        peer.core.set_orderer_endpoints(vec![faulty.clone()]);
        net.join(org, peer).await;
    }
    for peer in &peers {
        wait_height(peer, height + 2).await;
        let committer = peer.core.channel(CHANNEL).unwrap();
        let ledger = committer.ledger();
        assert_eq!(
            codes_of(&ledger.block(height).unwrap().unwrap()),
            [Code::InvalidConfigTransaction]
        );
        assert_eq!(
            codes_of(&ledger.block(height + 1).unwrap().unwrap()),
            [Code::EndorsementPolicyFailure]
        );
        assert_eq!(committer.config().config, genesis_config.config);
        assert_eq!(ledger.info().last_config, 0);
        assert_eq!(ledger.get_state("basic", "stolen").unwrap(), None);
    }
    let _ = stop.send(true);
    for peer in peers {
        peer.shutdown().await;
    }
    net.shutdown().await;
}

/// A ChaincodeEvents request for `basic` on the channel, signed by `user`.
fn events_request(user: &SigningIdentity) -> weft_protos::gateway::SignedChaincodeEventsRequest {
    let request = weft_protos::gateway::ChaincodeEventsRequest {
        channel_id: CHANNEL.into(),
        chaincode_id: "basic".into(),
        identity: user.serialized().to_vec(),
        ..Default::default()
    }
    .encode_to_vec();
    weft_protos::gateway::SignedChaincodeEventsRequest {
        signature: user.sign(&request).unwrap(),
        request,
    }
}

mod limits;
mod packages;
mod pressure;
mod streams;
mod submissions;
