//! Catching up on real block sizes: a consenter pulling blocks of a megabyte
//! and more gets them in answers bounded by bytes (at least one block each),
//! never in one answer larger than the service may send.

use prost::Message as _;
use weft_protos::weft::cluster::BlocksRequest;
use weft_protos::weft::cluster::cluster_client::ClusterClient;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn megabyte_blocks_are_pulled_in_answers_bounded_by_bytes() {
    let (mut net, mut listeners) = Net::new(1, 1).await;
    let mut config = net.config(0);
    // 14 blocks of 0.9 MB (the test channel's AbsoluteMaxBytes is 1 MB) are
    // three times what one answer may carry.
    config.max_send_msg_size = 4 * 1024 * 1024;
    let node = weft_orderer::node::start(config, listeners.remove(0))
        .await
        .unwrap();
    net.add_joined(node).await;
    let user = net.user();
    let mut client = net.client(0).await;
    let sent = broadcast(
        &mut client,
        (0..14)
            .map(|i| envelope(&user, CHANNEL, i, 900 * 1024))
            .collect(),
    )
    .await;
    assert!(
        sent.iter()
            .all(|s| s.0 == weft_protos::common::Status::Success as i32)
    );
    wait_for("14 blocks", std::time::Duration::from_secs(60), || {
        net.height_of(0) >= 15
    })
    .await;

    // Pulled as a consenter would (with the consenter's own TLS identity).
    let od = orderer_dir(net.dir.path(), 1);
    let me = (
        std::fs::read(od.join("tls/server.crt")).unwrap(),
        std::fs::read(od.join("tls/server.key")).unwrap(),
    );
    let mut cluster = ClusterClient::new(crate::client_tls::channel(&net, Some(me)).await.unwrap())
        .max_decoding_message_size(256 * 1024 * 1024);
    let (mut from, mut answers) = (0u64, 0);
    while from < 15 {
        let blocks = cluster
            .pull_blocks(BlocksRequest {
                channel: CHANNEL.into(),
                from,
                to: 15,
            })
            .await
            .expect("an answer within the message size")
            .into_inner()
            .blocks;
        assert!(!blocks.is_empty(), "at least one block per answer");
        let bytes: usize = blocks.iter().map(Vec::len).sum();
        assert!(
            blocks.len() == 1 || bytes <= 2 * 1024 * 1024,
            "{bytes} bytes"
        );
        from += blocks.len() as u64;
        answers += 1;
    }
    assert!(answers >= 6, "{answers} answers for 12.6 MB");
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}

/// Must-show of the orderer catch-up: a channel of megabyte blocks takes a
/// fourth consenter. While the new consenter has not caught up (not started,
/// then fetching) the channel goes on ordering megabyte blocks; once started
/// it pulls the chain up to its join block, is sent a snapshot (the log was
/// compacted) and fetches the blocks it skipped, then follows Raft.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consenter_added_to_a_channel_of_megabyte_blocks_catches_up() {
    use crate::membership::{consenter, consenters_update, current_config};
    use std::time::Duration;
    use weft_protos::common::Status;

    const BLOCK: usize = 1536 * 1024;
    // One envelope per block, blocks up to 2 MB, snapshots every 4 MB. The
    // nodes send at most 8 MiB per message, so the chain (about 30 MB) cannot
    // travel in one answer.
    let (mut net, mut listeners) =
        Net::build_with_block_limit(4, 3, 1, "100ms", "4 MB", "2 MB").await;
    let config = |net: &Net, i| {
        let mut c = net.config(i);
        c.max_send_msg_size = 8 * 1024 * 1024;
        c
    };
    let fourth_listeners = listeners.pop().unwrap();
    let fourth_port = net.general_ports[3];
    for (i, l) in listeners.into_iter().enumerate() {
        let node = weft_orderer::node::start(config(&net, i), l).await.unwrap();
        node.core.join_channel(&net.genesis).await.unwrap();
        net.nodes.push(Some(node));
    }
    let user = net.user();
    let mut client = net.client(0).await;
    let mut next = 0;
    let mut send = async |client: &mut _, n: usize| {
        let envs = (next..next + n)
            .map(|i| envelope(&user, CHANNEL, i, BLOCK))
            .collect();
        next += n;
        let sent = broadcast(client, envs).await;
        assert!(
            sent.iter().all(|s| s.0 == Status::Success as i32),
            "{sent:?}"
        );
    };
    send(&mut client, 10).await;

    let add = consenters_update(&net, &current_config(&net, 0), |c| {
        c.push(consenter(&net, 4, fourth_port))
    });
    let r = broadcast(&mut client, vec![add]).await;
    assert_eq!(r[0].0, Status::Success as i32, "{}", r[0].1);
    let n = &net;
    wait_for("the config block", Duration::from_secs(60), || {
        n.height_of(0) >= 12
    })
    .await;
    let join_block = deliver(&net, 0, 11, 11).await.0.remove(0).encode_to_vec();

    // Four consenters, one not caught up: three still make a quorum.
    send(&mut client, 4).await;
    wait_for(
        "blocks ordered without the new consenter",
        Duration::from_secs(60),
        || n.height_of(0) >= 16,
    )
    .await;

    // It starts, joins with the config block, and catches up while more
    // megabyte blocks are ordered.
    net.nodes.push(Some(
        weft_orderer::node::start(config(&net, 3), fourth_listeners)
            .await
            .unwrap(),
    ));
    net.node(3).core.join_channel(&join_block).await.unwrap();
    send(&mut client, 4).await;
    let target = net.height_of(0);
    let n = &net;
    wait_for(
        "the new consenter to catch up",
        Duration::from_secs(120),
        || n.height_of(3) >= target,
    )
    .await;
    let chain = identical_chains(&net, target).await;
    let bytes: usize = chain.iter().map(|b| b.encoded_len()).sum();
    assert!(
        bytes / chain.len() >= 1024 * 1024,
        "blocks average {} bytes",
        bytes / chain.len()
    );
    // It is a voter: with one of the first three stopped, the channel still
    // orders (three of four).
    let leader = net.leader().await;
    let down = (0..3).find(|i| *i != leader).unwrap();
    net.nodes[down].take().unwrap().shutdown().await;
    let mut client = net.client(leader).await;
    send(&mut client, 2).await;
    let target = net.height_of(leader);
    let n = &net;
    wait_for(
        "the new consenter to follow",
        Duration::from_secs(60),
        || n.height_of(3) >= target,
    )
    .await;
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}
