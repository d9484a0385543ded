//! `/healthz` tells an operator what is wrong, as Fabric's does (503 with the
//! failed checks), instead of always answering OK.

use std::time::Duration;

use crate::gateway::http_get;
use crate::net::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_names_a_channel_no_orderer_delivers_to() {
    let mut net = Net::start(1, 5).await;
    let peer = net
        .start_peer_configured(1, 0, |c| c.delivery_stall = Duration::from_millis(300))
        .await;
    net.join(1, &peer).await;
    let healthy = http_get(peer.operations_addr, "/healthz").await;
    assert!(healthy.starts_with("HTTP/1.1 200"), "{healthy}");
    assert!(healthy.contains("\"status\":\"OK\""), "{healthy}");
    let version = http_get(peer.operations_addr, "/version").await;
    assert!(version.starts_with("HTTP/1.1 200"), "{version}");
    assert!(version.contains("\"Version\":"), "{version}");

    // The only orderer goes away: delivery fails on every attempt.
    net.orderers[0].take().unwrap().shutdown().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let report = loop {
        let r = http_get(peer.operations_addr, "/healthz").await;
        if r.starts_with("HTTP/1.1 503") {
            break r;
        }
        assert!(tokio::time::Instant::now() < deadline, "still healthy: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Still alive, though not healthy: what a liveness check asks.
    let version = http_get(peer.operations_addr, "/version").await;
    assert!(version.starts_with("HTTP/1.1 200"), "{version}");
    assert!(
        report.contains("\"component\":\"channel:mychannel\""),
        "{report}"
    );
    assert!(
        report.contains("no orderer has delivered blocks for"),
        "{report}"
    );
    peer.shutdown().await;
    net.shutdown().await;
}
