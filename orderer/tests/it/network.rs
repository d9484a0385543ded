//! Whole orderer nodes in-process on 127.0.0.1:0 ports: gRPC with mutual TLS,
//! Raft between nodes, RocksDB, crypto and genesis made by weft-configtx.

use std::time::Duration;

use futures::StreamExt;
use prost::Message as _;
use weft_common::ids::ChannelId;
use weft_common::ids::MspId;
use weft_common::msp::folder;
use weft_common::pki::KeyType;
use weft_common::tx::signed_envelope;
use weft_protos::common::{Envelope, HeaderType, Status};
use weft_protos::orderer::{SeekInfo, deliver_response};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_consenters_order_10000_envelopes_into_identical_chains() {
    let (mut net, listeners) = Net::new(3, 500).await;
    net.start_and_join(listeners).await;
    let user = net.user();
    // 10,000 envelopes of ~1 KB, on one stream to each of the three nodes at once.
    let mut tasks = Vec::new();
    for node in 0..3 {
        let envs: Vec<Envelope> = (0..10_000)
            .filter(|i| i % 3 == node)
            .map(|i| envelope(&user, CHANNEL, i, 1000))
            .collect();
        let mut client = net.client(node).await;
        tasks.push(tokio::spawn(
            async move { broadcast(&mut client, envs).await },
        ));
    }
    for t in tasks {
        for (status, info) in t.await.unwrap() {
            assert_eq!(status, Status::Success as i32, "{info}");
        }
    }
    // Every node ends at the same height with the same headers and data. Each
    // acknowledgement came from the node that took the envelope, once that node
    // wrote its block: the highest node holds them all, and the others follow.
    let mut h = 0;
    for i in 0..3 {
        h = h.max(height(&net, i).await);
    }
    for i in 0..3 {
        let n = &net;
        wait_for("followers to catch up", Duration::from_secs(60), || {
            n.height_of(i) >= h
        })
        .await;
    }
    let chain = identical_chains(&net, h).await;
    assert_exactly_once(&chain[1..], 10_000);
    assert!(
        chain[1..]
            .iter()
            .all(|b| b.data.as_ref().unwrap().data.len() <= 500)
    );
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_status_and_the_node_keeps_serving() {
    let (mut net, listeners) = Net::new(1, 10).await;
    net.start_all(listeners).await;
    net.node(0).core.join_channel(&net.genesis).await.unwrap();
    net.leader().await;
    let user = net.user();
    let mut client = net.client(0).await;

    let malformed = Envelope {
        payload: vec![0xff, 0xff, 0x01],
        signature: vec![],
    };
    let wrong_channel = envelope(&user, "nosuchchannel", 1, 10);
    let mut bad_sig = envelope(&user, CHANNEL, 2, 10);
    let last = bad_sig.signature.len() - 3;
    bad_sig.signature[last] ^= 0x55;
    let unsigned = Envelope {
        signature: vec![],
        ..envelope(&user, CHANNEL, 3, 10)
    };
    // An identity from a CA the channel does not know.
    let stranger_dir = tempfile::tempdir().unwrap();
    let mut cc = crypto();
    cc.peer_orgs[0].domain = "org9.example.com".into();
    weft_configtx::cryptogen::generate(&cc, stranger_dir.path(), KeyType::EcdsaP256).unwrap();
    let stranger = folder::load_signing_identity(
        &stranger_dir
            .path()
            .join("peerOrganizations/org9.example.com/users/User1@org9.example.com/msp"),
        &MspId::new("Org1MSP"),
    )
    .unwrap();
    let unknown_creator = envelope(&stranger, CHANNEL, 4, 10);
    let oversized = envelope(&user, CHANNEL, 5, 1100 * 1024);
    let good = envelope(&user, CHANNEL, 6, 10);

    let results = broadcast(
        &mut client,
        vec![
            malformed,
            wrong_channel,
            bad_sig,
            unsigned,
            unknown_creator,
            oversized,
            good,
        ],
    )
    .await;
    let expect = [
        (Status::BadRequest, "malformed"),
        (Status::NotFound, "nosuchchannel"),
        (Status::Forbidden, "signature"),
        (Status::Forbidden, "signature"),
        (Status::Forbidden, "not issued by any CA"),
        (Status::RequestEntityTooLarge, "AbsoluteMaxBytes"),
        (Status::Success, ""),
    ];
    for (i, ((status, info), (want, text))) in results.iter().zip(expect).enumerate() {
        assert_eq!(*status, want as i32, "envelope {i}: {info}");
        assert!(
            info.contains(text),
            "envelope {i}: {info:?} should mention {text:?}"
        );
    }
    // Deliver refuses a reader it does not know.
    let seek = SeekInfo {
        start: None,
        stop: None,
        ..Default::default()
    };
    let env = signed_envelope(
        HeaderType::DeliverSeekInfo,
        &ChannelId::new(CHANNEL),
        seek.encode_to_vec(),
        &stranger,
    )
    .unwrap();
    let mut stream = client
        .deliver(futures::stream::iter(vec![env]))
        .await
        .unwrap()
        .into_inner();
    match stream.next().await.unwrap().unwrap().r#type.unwrap() {
        deliver_response::Type::Status(s) => assert_eq!(s, Status::Forbidden as i32),
        other => panic!("expected FORBIDDEN, got {other:?}"),
    }
    // Asking for a block that does not exist yet with FAIL_IF_NOT_READY.
    let (blocks, status) = deliver(&net, 0, 0, 1000).await;
    assert_eq!(status, Status::NotFound as i32);
    assert!(!blocks.is_empty(), "existing blocks were sent first");
    // Still serving.
    let results = broadcast(&mut client, vec![envelope(&user, CHANNEL, 7, 10)]).await;
    assert_eq!(results[0].0, Status::Success as i32);
    // An envelope already in a block, resubmitted (a client unsure whether it
    // was ordered): acknowledged at once and not ordered again.
    let again = envelope(&user, CHANNEL, 8, 10);
    broadcast(&mut client, vec![again.clone()]).await;
    let before = height(&net, 0).await;
    let started = std::time::Instant::now();
    let results = broadcast(&mut client, vec![again]).await;
    assert_eq!(results[0].0, Status::Success as i32, "{}", results[0].1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "acknowledged without waiting for a new block"
    );
    broadcast(&mut client, vec![envelope(&user, CHANNEL, 9, 10)]).await;
    let (blocks, _) = deliver(&net, 0, before, before + 5).await;
    let hashes: Vec<_> = blocks
        .iter()
        .flat_map(|b| b.data.iter().flat_map(|d| d.data.clone()))
        .collect();
    assert_eq!(
        hashes.len(),
        1,
        "only the new envelope was ordered after the resubmission"
    );
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_dies_mid_stream_and_a_restarted_node_catches_up() {
    let (mut net, listeners) = Net::new(3, 100).await;
    let leader = net.start_and_join(listeners).await;
    let follower = (0..3).find(|i| *i != leader).unwrap();
    let user = net.user();
    let total = 3000;

    let mut client = net.client(follower).await;
    let (tx, rx) = tokio::sync::mpsc::channel(total);
    let mut responses = client
        .broadcast(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    for i in 0..1000 {
        tx.send(envelope(&user, CHANNEL, i, 200)).await.unwrap();
    }
    let mut acked = Vec::new();
    while acked.len() < 500 {
        let r = responses.next().await.unwrap().unwrap();
        assert_eq!(r.status, Status::Success as i32, "{}", r.info);
        acked.push(acked.len());
    }
    // Kill the leader while envelopes are in flight.
    net.nodes[leader].take().unwrap().shutdown().await;
    for i in 1000..total {
        tx.send(envelope(&user, CHANNEL, i, 200)).await.unwrap();
    }
    while acked.len() < total {
        let r = responses.next().await.unwrap().unwrap();
        assert_eq!(
            r.status,
            Status::Success as i32,
            "envelope {}: {}",
            acked.len(),
            r.info
        );
        acked.push(acked.len());
    }
    // Every acknowledged envelope is in the surviving nodes' chain exactly once.
    let h = height(&net, follower).await;
    let (blocks, status) = deliver(&net, follower, 0, h - 1).await;
    assert_eq!(status, Status::Success as i32);
    assert_exactly_once(&blocks[1..], total);

    // The old leader restarts from its data directory, on its consenter port, and catches up.
    net.restart(leader).await;
    let n = &net;
    wait_for(
        "the restarted node to catch up",
        Duration::from_secs(30),
        || {
            n.node(leader)
                .core
                .registry
                .get(CHANNEL)
                .is_some_and(|c| *c.height.borrow() >= h)
        },
    )
    .await;
    let (restarted, _) = deliver(&net, leader, 0, h - 1).await;
    for (a, b) in blocks.iter().zip(&restarted) {
        assert_eq!(a.header, b.header);
        assert_eq!(a.data, b.data);
    }
    // A client unsure whether an early envelope was ordered resubmits it to
    // the restarted node: it still knows the envelope's block, answers at
    // once, and nothing is ordered again.
    let early = Envelope::decode(blocks[1].data.as_ref().unwrap().data[0].as_slice()).unwrap();
    let mut client = net.client(leader).await;
    let started = std::time::Instant::now();
    let results = broadcast(&mut client, vec![early]).await;
    assert_eq!(results[0].0, Status::Success as i32, "{}", results[0].1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "acknowledged from the rebuilt index, without waiting"
    );
    broadcast(&mut client, vec![envelope(&user, CHANNEL, total, 200)]).await;
    let now = height(&net, leader).await;
    let (tail, _) = deliver(&net, leader, h, now - 1).await;
    let ordered: usize = tail
        .iter()
        .map(|b| b.data.as_ref().map_or(0, |d| d.data.len()))
        .sum();
    assert_eq!(
        ordered, 1,
        "only the new envelope was ordered after the restart"
    );
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}

fn config_update_envelope(
    current: &weft_protos::common::Config,
    max_message_count: u32,
    admins: &[&weft_common::msp::SigningIdentity],
    submitter: &weft_common::msp::SigningIdentity,
) -> Envelope {
    use weft_common::config::update::{compute_update, sign_config_update};
    let mut updated = current.clone();
    let ord = updated
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Orderer")
        .unwrap();
    let value = ord.values.get_mut("BatchSize").unwrap();
    let mut bs = weft_protos::orderer::BatchSize::decode(value.value.as_slice()).unwrap();
    bs.max_message_count = max_message_count;
    value.value = bs.encode_to_vec();
    let update = compute_update(&ChannelId::new(CHANNEL), current, &updated)
        .unwrap()
        .encode_to_vec();
    let signatures = admins
        .iter()
        .map(|a| sign_config_update(&update, a).unwrap())
        .collect();
    let cue = weft_protos::common::ConfigUpdateEnvelope {
        config_update: update,
        signatures,
    };
    signed_envelope(
        HeaderType::ConfigUpdate,
        &ChannelId::new(CHANNEL),
        cue.encode_to_vec(),
        submitter,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_updates_are_validated_ordered_alone_and_adopted_by_every_node() {
    let (mut net, listeners) = Net::new(3, 10).await;
    net.start_and_join(listeners).await;
    let crypto = net.dir.path().join("crypto");
    let orderer_admin = folder::load_signing_identity(
        &crypto.join("ordererOrganizations/example.com/users/Admin@example.com/msp"),
        &MspId::new("OrdererMSP"),
    )
    .unwrap();
    let org1_admin = folder::load_signing_identity(
        &crypto.join("peerOrganizations/org1.example.com/users/Admin@org1.example.com/msp"),
        &MspId::new("Org1MSP"),
    )
    .unwrap();
    let original = net
        .node(0)
        .core
        .registry
        .get(CHANNEL)
        .unwrap()
        .config
        .borrow()
        .config
        .clone();
    let mut client = net.client(1).await;

    // Signed only by an application admin: the orderer group's Admins policy is not met.
    let wrong = config_update_envelope(&original, 42, &[&org1_admin], &org1_admin);
    let r = broadcast(&mut client, vec![wrong]).await;
    assert_eq!(r[0].0, Status::BadRequest as i32);
    assert!(r[0].1.contains("/Channel/Orderer/Admins"), "{}", r[0].1);

    // Signed by the orderer admin: ordered into its own config block and adopted everywhere.
    let good = config_update_envelope(&original, 42, &[&orderer_admin], &orderer_admin);
    let r = broadcast(&mut client, vec![good]).await;
    assert_eq!(r[0].0, Status::Success as i32, "{}", r[0].1);
    for i in 0..3 {
        let n = &net;
        wait_for(
            "every node to adopt the new config",
            Duration::from_secs(20),
            || {
                let c = n.node(i).core.registry.get(CHANNEL).unwrap();
                let cfg = c.config.borrow();
                cfg.sequence() == 1
                    && cfg.orderer.as_ref().unwrap().batch_size.max_message_count == 42
            },
        )
        .await;
    }
    let h = height(&net, 1).await;
    let (blocks, _) = deliver(&net, 1, 0, h - 1).await;
    let config_block = blocks.last().unwrap();
    assert_eq!(
        config_block.data.as_ref().unwrap().data.len(),
        1,
        "a config block holds only the config"
    );
    let cfg = weft_common::config::ChannelConfig::from_block(config_block).unwrap();
    assert_eq!(cfg.sequence(), 1);

    // A later normal block names the config block as its last config.
    let user = net.user();
    assert_eq!(
        broadcast(&mut client, vec![envelope(&user, CHANNEL, 1, 10)]).await[0].0,
        Status::Success as i32
    );
    let h2 = height(&net, 1).await;
    let (later, _) = deliver(&net, 1, h2 - 1, h2 - 1).await;
    assert_eq!(
        weft_common::block::last_config_index(&later[0]).unwrap(),
        h - 1
    );

    // The same update again is stale.
    let stale = config_update_envelope(&original, 43, &[&orderer_admin], &orderer_admin);
    let r = broadcast(&mut client, vec![stale]).await;
    assert_eq!(r[0].0, Status::BadRequest as i32);
    assert!(r[0].1.contains("version"), "{}", r[0].1);

    // A restarted node comes back with the updated config.
    net.nodes[2].take().unwrap().shutdown().await;
    net.restart(2).await;
    let c = net.node(2).core.registry.get(CHANNEL).unwrap();
    assert_eq!(c.config.borrow().sequence(), 1);
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}
