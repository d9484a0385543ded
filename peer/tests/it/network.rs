//! Orderer cluster + peers in-process: envelopes built with the common crate are
//! ordered, and every peer commits identical blocks, state and validation codes.

use std::collections::BTreeMap;

use weft_peer::admin::BlockSelector;
use weft_protos::common::{Block, BlockchainInfo};
use weft_protos::protos::TxValidationCode as Code;

use crate::net::*;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_peers_commit_identical_ledgers_from_a_raft_cluster() {
    let net = Net::start(3, 50).await;
    let p1 = net.start_peer(1, 0).await;
    net.join(1, &p1).await;
    let mut commits = p1.core.channel(CHANNEL).unwrap().subscribe();
    let orgs = &net.orgs;
    let (_, def) = define_chaincode(orgs, "basic", "AND('Org1MSP.peer', 'Org2MSP.peer')");
    net.broadcast(0, vec![def]).await;
    // 200 creates over 20 keys: per key the first create wins, later ones
    // conflict (in the same block or against a committed version).
    let mut envs = Vec::new();
    let mut ids = Vec::new();
    for i in 0..200 {
        let key = format!("k{:02}", i % 20);
        let (id, env) = endorsed_tx(
            "basic",
            rwset(vec![
                Ns::new("basic")
                    .read(&key, None)
                    .write(&key, format!("v{i}").as_bytes()),
            ]),
            &orgs.user(1),
            &[&orgs.peer(1), &orgs.peer(2)],
        );
        ids.push(id);
        envs.push(env);
    }
    // Spread over the three orderers (followers forward to the leader).
    let chunks: Vec<Vec<_>> = envs.chunks(70).map(<[_]>::to_vec).collect();
    for (i, chunk) in chunks.into_iter().enumerate() {
        net.broadcast(i % 3, chunk).await;
    }
    // The second peer joins late and replays everything from block 0.
    let target = net.settled_height().await;
    wait_height(&p1, target).await;
    let p2 = net.start_peer(2, 0).await;
    net.join(2, &p2).await;
    wait_height(&p2, target).await;
    assert_same_ledgers(&p1, &p2, &["basic", "_lifecycle"]);

    // Exactly one create per key is VALID; every txid is indexed with its code.
    let ledger = p1.core.channel(CHANNEL).unwrap().ledger().clone();
    let mut valid_per_key: BTreeMap<String, usize> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        let loc = ledger
            .tx_location(id)
            .unwrap()
            .unwrap_or_else(|| panic!("tx {i} not committed"));
        let code = Code::try_from(loc.code).unwrap();
        assert!(
            matches!(code, Code::Valid | Code::MvccReadConflict),
            "tx {i}: {code:?}"
        );
        if code == Code::Valid {
            *valid_per_key.entry(format!("k{:02}", i % 20)).or_default() += 1;
        }
    }
    assert_eq!(valid_per_key.len(), 20);
    assert!(valid_per_key.values().all(|n| *n == 1), "{valid_per_key:?}");
    assert_eq!(ledger.range("basic", "", "").unwrap().len(), 20);

    // The commit notifications carry every transaction's code and block, in block order.
    let mut notified = BTreeMap::new();
    let mut last = 0;
    while let Ok(done) = commits.try_recv() {
        assert_eq!(done.number, last + 1, "notifications in block order");
        last = done.number;
        for t in &done.txs {
            notified.insert(t.tx_id.clone(), (done.number, t.code));
        }
    }
    assert_eq!(last, target - 1);
    for id in &ids {
        let loc = ledger.tx_location(id).unwrap().unwrap();
        assert_eq!(
            notified[id],
            (loc.block, Code::try_from(loc.code).unwrap()),
            "{id}"
        );
    }

    // The admin queries agree with the ledger.
    let mut admin = net.admin(2, &p2).await;
    assert_eq!(admin.channels().await.unwrap(), vec![CHANNEL.to_string()]);
    let info: BlockchainInfo = admin.chain_info(CHANNEL).await.unwrap();
    assert_eq!(info.height, target);
    assert_eq!(info.current_block_hash, ledger.info().current_hash);
    use prost::Message;
    let newest = Block::decode(
        admin
            .block(CHANNEL, BlockSelector::Newest)
            .await
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    assert_eq!(newest.header.unwrap().number, target - 1);
    let config = Block::decode(
        admin
            .block(CHANNEL, BlockSelector::Config)
            .await
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    assert_eq!(config.header.unwrap().number, 0);
    // Which create of a key wins depends on the order the leader received the
    // forwarded envelopes in; the admin answer must match the ledger's, both ways.
    for id in [&ids[0], &ids[20]] {
        let tx = admin.transaction(CHANNEL, id).await.unwrap();
        let loc = ledger.tx_location(id).unwrap().unwrap();
        assert_eq!(tx.validation_code, loc.code, "{id}");
    }
    let missing = admin
        .block(CHANNEL, BlockSelector::Number(target + 5))
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("not committed"), "{missing}");
    let not_joined = admin.chain_info("nochannel").await.unwrap_err();
    assert!(
        not_joined.to_string().contains("not joined"),
        "{not_joined}"
    );
    // Org2's admin may read the channel on Org1's peer, but not join it to channels.
    assert_eq!(org2_admin_on_p1_info(&net, &p1).await, target);
    let mut org2_admin_on_p1 = net.admin_of(2, 1, &p1).await;
    let refused = org2_admin_on_p1.join(&[]).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");

    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_peer_restarts_at_its_height_and_catches_up() {
    let net = Net::start(1, 10).await;
    let orgs = &net.orgs;
    let p1 = net.start_peer(1, 0).await;
    net.join(1, &p1).await;
    let (_, def) = define_chaincode(orgs, "basic", "OR('Org1MSP.peer', 'Org2MSP.peer')");
    net.broadcast(0, vec![def]).await;
    let tx = |i: usize| {
        endorsed_tx(
            "basic",
            rwset(vec![Ns::new("basic").write(&format!("k{i}"), b"v")]),
            &orgs.user(1),
            &[&orgs.peer(1)],
        )
        .1
    };
    net.broadcast(0, (0..30).map(tx).collect()).await;
    wait_height(&p1, net.settled_height().await).await;
    let before = p1.core.channel(CHANNEL).unwrap().ledger().height();
    p1.shutdown().await;
    // Blocks ordered while the peer is down.
    net.broadcast(0, (30..60).map(tx).collect()).await;
    let p1 = net.start_peer(1, 0).await;
    assert!(p1.core.channel(CHANNEL).unwrap().ledger().height() >= before);
    wait_height(&p1, net.settled_height().await).await;
    let ledger = p1.core.channel(CHANNEL).unwrap().ledger().clone();
    assert_eq!(ledger.range("basic", "", "").unwrap().len(), 60);
    // Each block exactly once: numbers are contiguous and link.
    for n in 1..ledger.height() {
        weft_common::block::check_link(
            &ledger.block(n - 1).unwrap().unwrap(),
            &ledger.block(n).unwrap().unwrap(),
        )
        .unwrap();
    }
    p1.shutdown().await;
    net.shutdown().await;
}

async fn org2_admin_on_p1_info(net: &Net, p1: &weft_peer::node::PeerHandle) -> u64 {
    net.admin_of(2, 1, p1)
        .await
        .chain_info(CHANNEL)
        .await
        .unwrap()
        .height
}
