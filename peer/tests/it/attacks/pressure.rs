//! A peer under pressure: clients flood it with `GetAllAssets` over many keys
//! while an attacker holds thousands of idle HTTP/2 connections. The peer runs
//! as the `weft-peer` binary, so that the memory measured is its own. Its
//! resident memory stays under the bound its limits give (see
//! [`memory_bound`]) and it keeps committing blocks.
//!
//! Small by default; `scripts/soak.sh` runs it at full size
//! (`WEFT_PRESSURE_KEYS=200000`, `WEFT_PRESSURE_CONNECTIONS=10000`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use weft_common::tls::TlsIdentity;
use weft_peer::config::PeerLimits;

use super::*;
use crate::crash::{Child, core_yaml};
use crate::lifecycle::{args, basic_wasm, deploy, endorse};

const MIB: u64 = 1024 * 1024;

/// What one idle connection may cost the peer: its TLS session and buffers,
/// its HTTP/2 connection state and the task that serves it.
const PER_CONNECTION: u64 = 64 * 1024;

/// The peer's memory above its resting state is bounded by its limits: each
/// of `peer.limits.chaincodeExecutions` invocations holds at most
/// `peer.limits.chaincodeMemory` inside WASM plus three copies of its
/// response outside (the response, the signed proposal response, the gRPC
/// frame); each connection holds [`PER_CONNECTION`].
fn memory_bound(limits: &PeerLimits, response: u64, connections: u64) -> u64 {
    let wasm = limits.chaincode_memory as u64;
    limits.chaincode_executions as u64 * (wasm + 3 * response) + connections * PER_CONNECTION
}

fn scale(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v}: expected a number")),
        Err(_) => default,
    }
}

/// One `/proc/<pid>/status` field in bytes (`VmRSS`, `VmHWM`).
fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"));
    kb.trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// Resets the process's peak resident memory (`VmHWM`) to its current one.
fn reset_peak(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
}

/// Asset `i` as asset-transfer-basic stores it.
fn asset(i: usize) -> (String, Vec<u8>) {
    let id = format!("asset{i:07}");
    let value = serde_json::json!({
        "ID": id, "Color": "blue", "Size": 5, "Owner": "Tomoko", "AppraisedValue": 300,
    });
    (id, serde_json::to_vec(&value).unwrap())
}

/// A TLS connection as Org1's User1 that sends the HTTP/2 preface and an
/// empty SETTINGS frame, and then nothing.
async fn idle_http2(
    addr: &str,
    tls: Arc<rustls::ClientConfig>,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    s.flush().await.unwrap();
    s
}

/// `GetAllAssets` evaluated by the peer behind `client`, signed by `user`.
async fn get_all_assets(
    user: &weft_common::msp::SigningIdentity,
    client: &mut weft_peer::admin::AdminClient,
) -> weft_protos::protos::Response {
    let (_, r) = endorse(
        user,
        CHANNEL,
        "basic",
        args(&["GetAllAssets"]),
        &mut [client],
    )
    .await;
    r[0].response.clone().unwrap()
}

/// Waits until the peer at `admin` has committed `tx_id`; its validation code.
async fn committed(
    admin: &mut weft_peer::admin::AdminClient,
    tx_id: &str,
    within: Duration,
) -> i32 {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Ok(tx) = admin.transaction(CHANNEL, tx_id).await {
            return tx.validation_code;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{tx_id} not committed within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_get_all_assets_and_idle_connections_leaves_memory_bounded_and_blocks_committing()
 {
    let keys = scale("WEFT_PRESSURE_KEYS", 2_000);
    let connections = scale("WEFT_PRESSURE_CONNECTIONS", 200);
    let clients = scale("WEFT_PRESSURE_CLIENTS", 12);
    // The defaults: Fabric's, and weft's chaincode budgets, which let
    // asset-transfer-basic list 100,000 assets as a Fabric peer would.
    let limits = PeerLimits::default();
    basic_wasm();

    // Org1's peer is the binary; Org2's runs in-process.
    let net = Net::start(1, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("core.yaml");
    std::fs::write(&config, core_yaml(&net, &dir.path().join("data"))).unwrap();
    let child = Child::start(&config).await;
    let addr = child.addr.clone();
    let child = child.drain_log();
    let pid = child.id().unwrap();
    let mut admin1 = net.client_at(1, "Admin", 1, &addr).await;
    admin1.join(&net.genesis.encode_to_vec()).await.unwrap();
    let p2 = net.start_peer(2, 0).await;
    net.join(2, &p2).await;
    let mut admins = [admin1, net.admin(2, &p2).await];
    deploy(&net, [&p2, &p2], &mut admins, "basic_1.0", 1).await;

    // The ledger: `keys` assets, written by transactions of 1,000 writes.
    let orgs = &net.orgs;
    let (user, endorsers) = (orgs.user(1), [orgs.peer(1), orgs.peer(2)]);
    let endorsers: Vec<_> = endorsers.iter().collect();
    let write = |from: usize, to: usize| {
        let mut ns = Ns::new("basic");
        for i in from..to {
            let (k, v) = asset(i);
            ns = ns.write(&k, &v);
        }
        endorsed_tx("basic", rwset(vec![ns]), &user, &endorsers)
    };
    let mut last = String::new();
    let starts: Vec<usize> = (0..keys).step_by(1000).collect();
    for batch in starts.chunks(20) {
        let envs = batch
            .iter()
            .map(|&from| {
                let (id, env) = write(from, (from + 1000).min(keys));
                last = id;
                env
            })
            .collect();
        net.broadcast(0, envs).await;
    }
    let loading = Duration::from_secs(60 + keys as u64 / 500);
    assert_eq!(committed(&mut admins[0], &last, loading).await, 0);

    // The answer every flood request gets (the query stops at totalQueryLimit).
    let mut probe = net.client_at(1, "User1", 1, &addr).await;
    let answer = get_all_assets(&user, &mut probe).await;
    assert_eq!(answer.status, 200, "{}", answer.message);
    let listed = serde_json::from_slice::<Vec<serde_json::Value>>(&answer.payload).unwrap();
    assert_eq!(listed.len(), keys.min(limits.total_query_limit));
    let response = answer.payload.len() as u64;

    reset_peak(pid);
    let resting = status_bytes(pid, "VmRSS");

    // The attacker's idle connections, opened 50 at a time.
    let user_tls = orgs.user_dir(1, "User1").join("tls");
    let tls = Arc::new(
        weft_common::tls::client_config(
            &TlsIdentity::load(&user_tls.join("client.crt"), &user_tls.join("client.key")).unwrap(),
            &[std::fs::read(orgs.org_tls_ca(1)).unwrap()],
            &[b"h2"],
        )
        .unwrap(),
    );
    let mut idle = Vec::with_capacity(connections);
    while idle.len() < connections {
        let n = (connections - idle.len()).min(50);
        idle.extend(
            futures::future::join_all((0..n).map(|_| idle_http2(&addr, tls.clone()))).await,
        );
    }
    let with_idle = status_bytes(pid, "VmRSS");

    // The flood: every client asks for every asset, again and again.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let largest = Arc::new(AtomicU64::new(response));
    let mut flood = Vec::new();
    for _ in 0..clients {
        let mut client = net.client_at(1, "User1", 1, &addr).await;
        let (user, stop, served, largest) =
            (user.clone(), stop.clone(), served.clone(), largest.clone());
        flood.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = get_all_assets(&user, &mut client).await;
                assert_eq!(r.status, 200, "{}", r.message);
                // The assets committed during the flood join the answer.
                assert!(r.payload.len() as u64 >= response, "every asset listed");
                largest.fetch_max(r.payload.len() as u64, Ordering::Relaxed);
                served.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Waits until `n` flood requests have been served; a client's failure ends the test.
    async fn in_swing(served: &AtomicU64, flood: &mut Vec<tokio::task::JoinHandle<()>>, n: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        while served.load(Ordering::Relaxed) < n {
            if let Some(i) = flood.iter().position(|t| t.is_finished()) {
                flood.remove(i).await.expect("a flood client failed");
                panic!("a flood client stopped");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the flood is served"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    in_swing(&served, &mut flood, clients as u64).await;

    // Blocks keep committing under the flood.
    let before = served.load(Ordering::Relaxed);
    let commits_started = tokio::time::Instant::now();
    for i in 0..5 {
        let (id, env) = write(keys + i, keys + i + 1);
        net.broadcast(0, vec![env]).await;
        assert_eq!(
            committed(&mut admins[0], &id, Duration::from_secs(120)).await,
            0
        );
    }
    let commit_time = commits_started.elapsed();
    // ...and the flood is still served after them.
    in_swing(
        &served,
        &mut flood,
        served.load(Ordering::Relaxed) + clients as u64,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for t in flood {
        t.await.unwrap();
    }
    let peak = status_bytes(pid, "VmHWM");
    let response = largest.load(Ordering::Relaxed);
    let bound = memory_bound(&limits, response, connections as u64 + clients as u64 + 4);
    eprintln!(
        "pressure: {keys} keys, {connections} idle connections, {clients} clients; \
         resting {} MiB, with idle connections {} MiB ({} KiB each), peak {} MiB \
         (bound {} MiB above resting); {} GetAllAssets of {} KiB served; \
         5 blocks committed in {commit_time:?} during the flood ({before} served before them)",
        resting / MIB,
        with_idle / MIB,
        with_idle.saturating_sub(resting) / 1024 / connections.max(1) as u64,
        peak / MIB,
        bound / MIB,
        served.load(Ordering::Relaxed),
        response / 1024,
    );
    assert!(
        peak <= resting + bound,
        "peak {} MiB over resting {} MiB + bound {} MiB",
        peak / MIB,
        resting / MIB,
        bound / MIB
    );
    // Every idle connection was held (none refused), and the peer still serves.
    assert_eq!(idle.len(), connections);
    drop(idle);
    assert!(admins[0].chain_info(CHANNEL).await.is_ok());
    p2.shutdown().await;
    net.shutdown().await;
    drop(child);
}
