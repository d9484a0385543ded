//! Catching up on real block sizes: a consenter pulling blocks of a megabyte
//! and more gets them in answers bounded by bytes (at least one block each),
//! never in one answer larger than the service may send.

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
