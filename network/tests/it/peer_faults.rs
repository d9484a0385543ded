//! Issue 22's scenarios around peers and clocks, on a network of processes
//! each on its own host (`hosted`), with clients on the bulk path (`load`)
//! and the ledger checker. Skip, saying why, where namespaces cannot be
//! made.

use std::time::Duration;

use weft_testkit::faults::{Faults, skewed_clock};

use crate::hosted::{HostedNetwork, LOG};
use crate::load::Load;

/// Waits up to `secs` for `cond` (async), naming `what` and the story on
/// failure.
async fn wait_until<F, Fut>(faults: &Faults<'_>, what: &str, secs: u64, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            faults.story()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Stops the clients, lets every request end, and checks every peer's
/// chain against what the clients were told: nothing lost, doubled or
/// unexplained, every peer identical, every request committed.
async fn finish_and_check(net: &HostedNetwork, faults: &Faults<'_>, load: Load, from_block: u64) {
    let result = load.finish().await;
    faults.note(format!(
        "{} sent, {} acknowledged, {} resubmitted unchanged",
        result.sent, result.acknowledged, result.resubmitted
    ));
    let report = net
        .converge_and_check(faults, &result.records, from_block)
        .await;
    eprintln!("{}\n{report}", faults.story());
    assert!(report.ok(), "{report}\n{}", faults.story());
    assert_eq!(
        (result.failed, result.unresolved),
        (0, 0),
        "{}",
        faults.story()
    );
    assert_eq!(result.acknowledged, result.sent);
}

fn height_of(heights: &[(String, u64)], peer: &str) -> u64 {
    heights
        .iter()
        .find(|(n, _)| n.starts_with(peer))
        .map_or(0, |h| h.1)
}

/// A peer cut off from every orderer (not from the other peers or the
/// clients) falls behind while the channel moves on; healed, it pulls the
/// blocks it missed and ends with the same chain, verdicts and state
/// (commit hash per block) as every other peer, and no transaction a client
/// was told committed is missing or doubled anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cut_off_from_every_orderer_catches_up_to_the_same_chain_and_state() {
    let net = match HostedNetwork::start(2, 2, "250ms").await {
        Ok(n) => n,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let faults = Faults::new(&net.hosts);
    let from_block = net.peer_heights().await.iter().map(|h| h.1).min().unwrap();
    let load = Load::start(&net, 2, 4);
    wait_until(&faults, "the first requests", 60, || async {
        load.sent() >= 16
    })
    .await;

    let cut = "peer1.org1";
    let orderers = ["orderer1", "orderer2", "orderer3"];
    faults.partition(&[cut], &orderers);
    let at_cut = height_of(&net.peer_heights().await, cut);
    wait_until(
        &faults,
        "the channel to move 5 blocks past the cut-off peer",
        90,
        || async {
            let h = net.peer_heights().await;
            height_of(&h, "peer0.org1") >= at_cut + 5
        },
    )
    .await;
    let behind = height_of(&net.peer_heights().await, cut);
    faults.note(format!(
        "{cut} is at {behind}; it was at {at_cut} when cut off"
    ));
    assert!(
        behind <= at_cut + 1,
        "a peer cut off from every orderer got blocks"
    );
    let mut all = vec![cut];
    all.extend(orderers);
    faults.mend(&all);
    let sent = load.sent();
    wait_until(&faults, "more requests after the heal", 60, || async {
        load.sent() >= sent + 8
    })
    .await;
    finish_and_check(&net, &faults, load, from_block).await;
}

/// An orderer and a peer with clocks 10 minutes ahead order, endorse and
/// commit like the others: inside every time window (15 min by default),
/// nothing breaks. A peer 30 minutes ahead is refused by every orderer's
/// Deliver and by its own endorser's proposal check, and both say it is
/// the clock; with its clock set right it catches up to the same state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_ten_minutes_ahead_break_nothing_and_thirty_minutes_ahead_are_named() {
    let clocks = [("orderer3", "+10m"), ("peer1.org2", "+10m")];
    let net = match HostedNetwork::start_with(2, 2, "250ms", &clocks, &[]).await {
        Ok(n) => n,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let faults = Faults::new(&net.hosts);
    faults.note(format!("clocks: {clocks:?}"));
    let from_block = net.peer_heights().await.iter().map(|h| h.1).min().unwrap();
    let load = Load::start(&net, 2, 4);
    wait_until(&faults, "requests through skewed nodes", 60, || async {
        load.sent() >= 24
    })
    .await;

    // 30 minutes ahead: outside every window.
    faults.note("peer1.org2 restarted with its clock 30 minutes ahead");
    net.restart(
        "peer1.org2",
        LOG,
        skewed_clock("+30m").unwrap(),
        "node-30m.log",
    )
    .await;
    let log = net.hosts.host("peer1.org2").dir.join("node-30m.log");
    wait_until(&faults, "the skewed peer to name its clock", 60, || {
        let log = log.clone();
        async move {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("check this host's clock")
        }
    })
    .await;
    let refused = std::fs::read_to_string(net.hosts.host("orderer1").dir.join(LOG)).unwrap();
    assert!(
        refused.contains("away from this node's clock"),
        "the orderer does not say why it refused"
    );
    let org2 = &net.info.orgs[1];
    let direct = net.info.gateway_as(org2, &org2.user, 1).await.unwrap();
    let err = direct
        .network(&net.info.channel)
        .contract(crate::hosted::CC)
        .evaluate_transaction("GetAllAssets", &[] as &[&str])
        .await
        .unwrap_err()
        .to_string();
    faults.note(format!("a proposal to the skewed peer: {err}"));
    assert!(err.contains("away from this peer's clock"), "{err}");

    // Set right, it catches up.
    faults.note("peer1.org2 restarted with the right time");
    net.restart("peer1.org2", "node-30m.log", Vec::new(), "node-fixed.log")
        .await;
    finish_and_check(&net, &faults, load, from_block).await;
}

/// A peer whose disk fills mid-run: `/healthz` says so at once, and it
/// pauses its commits before the next block's write (RocksDB never meets the
/// full disk mid-block) while the others commit on; with room again it
/// commits on, without a restart. Filled again and restarted on the full
/// disk it opens no ledger and `/healthz` says why; when space returns it
/// opens its ledger, intact (one atomic write per block: no partial block),
/// and catches up to the same chain and state as every other peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_a_full_disk_stops_safely_says_so_and_catches_up_when_space_returns() {
    let full = "peer1.org1";
    let net = match HostedNetwork::start_with(2, 2, "250ms", &[], &[(full, 256)]).await {
        Ok(n) => n,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let faults = Faults::new(&net.hosts);
    let from_block = net.peer_heights().await.iter().map(|h| h.1).min().unwrap();
    let load = Load::start(&net, 2, 4);
    wait_until(&faults, "the first requests", 60, || async {
        load.sent() >= 16
    })
    .await;
    let data = net.data_dir(full);
    faults.fill_disk(full, &data);
    wait_until(&faults, "/healthz to name the disk", 30, || async {
        net.health(full).await.contains("\"disk\"")
    })
    .await;
    // Commits pause before RocksDB would meet the full disk.
    let log = net.hosts.host(full).dir.join(LOG);
    wait_until(&faults, "the peer to pause its commits", 60, || {
        let log = log.clone();
        async move {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("commits pause until it has room")
        }
    })
    .await;
    let paused_at = height_of(&net.peer_heights().await, full);
    wait_until(&faults, "the others to commit 5 blocks on", 60, || async {
        height_of(&net.peer_heights().await, "peer0.org1") >= paused_at + 5
    })
    .await;
    let still = height_of(&net.peer_heights().await, full);
    faults.note(format!(
        "{full} paused at block {paused_at}, still at {still}"
    ));
    assert_eq!(
        still,
        paused_at,
        "a peer wrote to a full disk\n{}",
        faults.story()
    );

    // Room again: commits resume in place.
    faults.free_disk(full, &data);
    wait_until(
        &faults,
        "commits to resume without a restart",
        60,
        || async { height_of(&net.peer_heights().await, full) > paused_at },
    )
    .await;
    faults.fill_disk(full, &data);

    faults.note(format!("restart {full} on its full disk"));
    net.restart(full, LOG, Vec::new(), "node-full.log").await;
    wait_until(
        &faults,
        "/healthz to say why the ledger is closed",
        30,
        || async { net.health(full).await.contains("channels not opened") },
    )
    .await;
    faults.note(format!("{full} /healthz: {}", net.health(full).await));

    faults.free_disk(full, &data);
    wait_until(
        &faults,
        "the ledger to open once there is room",
        30,
        || async { !net.health(full).await.contains("channels not opened") },
    )
    .await;
    finish_and_check(&net, &faults, load, from_block).await;
}

/// A client whose gateway peer is cut off mid-submit: its SDK gateway lists
/// its org's two peers, then the other org's, and moves to the next one
/// when a call gets no answer; the bulk path's transactions in flight are
/// resubmitted unchanged and their status is resolved on the new gateway.
/// No transaction is lost or committed twice, and every peer ends
/// identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_gateway_is_cut_off_mid_submit_fails_over_and_loses_nothing() {
    let net = match HostedNetwork::start(2, 2, "250ms").await {
        Ok(n) => n,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let faults = Faults::new(&net.hosts);
    let from_block = net.peer_heights().await.iter().map(|h| h.1).min().unwrap();
    let gateway = net.failover_gateway(0);
    let first = gateway.endpoint().to_string();
    let contract = gateway
        .network(&net.info.channel)
        .contract(crate::hosted::CC);
    let load = Load::through(vec![contract.clone(), contract], 4);
    wait_until(&faults, "the first requests", 60, || async {
        load.sent() >= 16
    })
    .await;

    let gateway_host = "peer0.org1";
    faults.isolate(gateway_host);
    wait_until(&faults, "the client to fail over", 60, || async {
        gateway.endpoint() != first
    })
    .await;
    faults.note(format!(
        "the client's gateway is now {}",
        gateway.endpoint()
    ));
    let sent = load.sent();
    wait_until(&faults, "requests through the new gateway", 60, || async {
        load.sent() >= sent + 16
    })
    .await;
    faults.heal(gateway_host);
    finish_and_check(&net, &faults, load, from_block).await;
}
