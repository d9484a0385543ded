//! The peer's threat model, one attack per test: what a hostile orderer (or a
//! stolen orderer key), member or client tries, and the peer refusing it with
//! a clear cause while it keeps serving.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use prost::Message;
use tokio::sync::watch;
use weft_common::block::{header_hash, sign_block, transactions_filter};
use weft_common::msp::SigningIdentity;
use weft_protos::common::{
    Block, Config, Envelope, ImplicitMetaPolicy, Policy, implicit_meta_policy,
};
use weft_protos::protos::TxValidationCode as Code;

use crate::bad_orderer::{FaultyOrderer, serve};
use crate::net::*;
use crate::support::*;
use crate::validation::Chain;

/// `current` with the channel's Endorsement policy loosened to ANY
/// Endorsement (its sequence unchanged, as `compute_update` wants it).
fn loosened(current: &Config) -> Config {
    let mut config = current.clone();
    let app = config
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Application")
        .unwrap();
    app.policies.get_mut("Endorsement").unwrap().policy = Some(Policy {
        r#type: 3,
        value: ImplicitMetaPolicy {
            sub_policy: "Endorsement".into(),
            rule: implicit_meta_policy::Rule::Any as i32,
        }
        .encode_to_vec(),
    });
    config
}

/// What a hostile orderer would like every peer to adopt: the Endorsement
/// policy loosened and Org2 removed, at the next sequence.
fn hijacked(current: &Config) -> Config {
    let mut config = loosened(current);
    config.sequence += 1;
    config
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Application")
        .unwrap()
        .groups
        .remove("Org2MSP");
    config
}

/// An update only Org1's admin needs to sign: Org1's Writers policy becomes its Admins.
fn org1_update(current: &Config, admins: &[SigningIdentity]) -> Envelope {
    let mut updated = current.clone();
    let org1 = updated
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Application")
        .unwrap()
        .groups
        .get_mut("Org1MSP")
        .unwrap();
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
                    &loosened(&before.config),
                    std::slice::from_ref(&admin1),
                )),
            ),
            Code::InvalidConfigTransaction,
            "needs its mod_policy /Channel/Application/Admins",
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
    let honest = config_update(&before.config, &loosened(&before.config), &both);
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
    let mut chain: Vec<Block> = {
        let channel = net.orderers[0]
            .as_ref()
            .unwrap()
            .core
            .registry
            .get(CHANNEL)
            .unwrap();
        (0..height)
            .map(|n| Block::decode(channel.store().block(n).unwrap().unwrap().as_slice()).unwrap())
            .collect()
    };
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

mod limits {
    //! A client that sends oversized messages, holds many requests or streams
    //! open, or opens connections and never speaks: refused at the limit, with
    //! the cause named, while the peer keeps serving.

    use std::time::Duration;

    use tonic::Code as GrpcCode;
    use weft_common::node::net::ConnectionLimits;
    use weft_protos::protos::SignedProposal;
    use weft_protos::protos::deliver_client::DeliverClient;
    use weft_protos::protos::endorser_client::EndorserClient;

    use super::*;

    /// A proposal the endorser refuses as malformed: proof that it was served.
    fn junk(bytes: usize) -> SignedProposal {
        SignedProposal {
            proposal_bytes: vec![7; bytes],
            signature: Vec::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oversized_messages_and_too_many_proposals_are_refused() {
        let net = Net::start(1, 5).await;
        let peer = net
            .start_peer_configured(1, 0, |c| c.limits.max_recv_msg_size = 1024 * 1024)
            .await;
        let mut endorser = EndorserClient::new(net.user_channel(&peer).await);

        let big = endorser
            .process_proposal(junk(2 * 1024 * 1024))
            .await
            .unwrap_err();
        assert_eq!(big.code(), GrpcCode::OutOfRange, "{big:?}");
        assert!(
            big.message().contains("message length too large"),
            "{big:?}"
        );

        // Every place of peer.limits.concurrency.endorserService is taken.
        let places: Vec<_> = (0..peer.core.endorser_limit.limit())
            .map(|_| peer.core.endorser_limit.try_acquire().unwrap())
            .collect();
        let busy = endorser.process_proposal(junk(10)).await.unwrap_err();
        assert_eq!(busy.code(), GrpcCode::ResourceExhausted, "{busy:?}");
        assert!(
            busy.message()
                .contains("too many requests for protos.Endorser, exceeding concurrency limit"),
            "{busy:?}"
        );
        drop(places);
        let served = endorser.process_proposal(junk(10)).await.unwrap_err();
        assert_eq!(served.code(), GrpcCode::InvalidArgument, "{served:?}");
        peer.shutdown().await;
        net.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deliver_streams_beyond_the_limit_are_refused_until_one_ends() {
        let net = Net::start(1, 5).await;
        let peer = net
            .start_peer_configured(1, 0, |c| c.limits.deliver_concurrency = 1)
            .await;
        let mut deliver = DeliverClient::new(net.user_channel(&peer).await);
        let (hold, requests) = tokio::sync::mpsc::channel::<weft_protos::common::Envelope>(1);
        let open = deliver
            .deliver(tokio_stream::wrappers::ReceiverStream::new(requests))
            .await
            .unwrap();
        let idle = futures::stream::pending::<weft_protos::common::Envelope>();
        let refused = deliver.deliver(idle).await.unwrap_err();
        assert_eq!(refused.code(), GrpcCode::ResourceExhausted, "{refused:?}");
        assert!(refused.message().contains("protos.Deliver"), "{refused:?}");

        drop((hold, open));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let idle = futures::stream::pending::<weft_protos::common::Envelope>();
            match deliver.deliver(idle).await {
                Ok(_) => break,
                Err(e) => {
                    assert_eq!(e.code(), GrpcCode::ResourceExhausted, "{e:?}");
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "the ended stream gave its place back"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        peer.shutdown().await;
        net.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_that_never_finish_their_handshake_lose_their_place() {
        let net = Net::start(1, 5).await;
        let limits = ConnectionLimits {
            max_connections: 4,
            handshake_timeout: Duration::from_millis(500),
        };
        let peer = net
            .start_peer_configured(1, 0, |c| c.limits.connections = limits)
            .await;
        // The attacker takes every place with TCP connections that say nothing.
        let mut silent = Vec::new();
        for _ in 0..limits.max_connections {
            silent.push(tokio::net::TcpStream::connect(peer.addr).await.unwrap());
        }
        // A client still gets in once the handshake timeout frees the places.
        let started = tokio::time::Instant::now();
        let mut endorser = EndorserClient::new(net.user_channel(&peer).await);
        let served = endorser.process_proposal(junk(10)).await.unwrap_err();
        assert_eq!(served.code(), GrpcCode::InvalidArgument, "{served:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        for mut s in silent {
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 1];
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .expect("the peer closes a silent connection")
                .unwrap_or(0);
            assert_eq!(n, 0, "closed without a word");
        }
        peer.shutdown().await;
        net.shutdown().await;
    }
}
