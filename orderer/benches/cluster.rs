//! Throughput and latency of a 3-consenter cluster on loopback, with mutual
//! TLS and admission signature checks on: 1 KB envelopes, BatchTimeout 250 ms,
//! MaxMessageCount 500. Run: `cargo bench -p weft-orderer --bench cluster`.
//! Env: WEFT_BENCH_ENVELOPES (default 30000), WEFT_BENCH_STREAMS (default 12),
//! WEFT_BENCH_BATCH (MaxMessageCount, default 500), WEFT_BENCH_SIZE (envelope
//! payload bytes, default 1024), WEFT_BENCH_ROUNDS (default
//! 3: each round is a fresh cluster; the summary gives the median, because a
//! shared VM's speed changes from one run to the next).

#![allow(missing_docs)]

#[path = "../tests/it/support.rs"]
mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use support::*;
use weft_protos::common::{Envelope, Status};

/// The allocator the node binaries use, so the figure is theirs.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The clients sign in this process: every envelope's check is measured
    // as the orderer that receives it pays for it.
    weft_common::crypto::VerifiedSignatures::process().set_enabled(false);
    let rounds = env_or("WEFT_BENCH_ROUNDS", 3).max(1);
    let mut rates: Vec<f64> = (0..rounds).map(|_| rt.block_on(run())).collect();
    rates.sort_by(f64::total_cmp);
    println!(
        "cluster: median {:.0} envelopes/s over {rounds} rounds (slowest {:.0}, fastest {:.0})",
        rates[rates.len() / 2],
        rates[0],
        rates[rates.len() - 1]
    );
}

/// One round on a fresh cluster; returns envelopes committed per second.
async fn run() -> f64 {
    let total = env_or("WEFT_BENCH_ENVELOPES", 30_000);
    let streams = env_or("WEFT_BENCH_STREAMS", 12);
    let (mut net, listeners) =
        Net::with_batch_timeout(3, env_or("WEFT_BENCH_BATCH", 500) as u32, "250ms").await;
    net.start_and_join(listeners).await;
    let user = net.user();
    // The machine's speed right now, in the unit the target is stated in.
    let message = vec![7u8; 1024];
    let signature = user.sign(&message).unwrap();
    let checks = 500;
    let t = Instant::now();
    for _ in 0..checks {
        user.identity
            .certificate()
            .public_key
            .verify_uncached(&message, &signature)
            .unwrap();
    }
    println!(
        "cluster: one ECDSA P-256 verification takes {:.0} µs of one core now (the target assumes 67)",
        t.elapsed().as_secs_f64() * 1e6 / checks as f64
    );
    let size = env_or("WEFT_BENCH_SIZE", 1024);
    eprintln!("signing {total} envelopes of {size} bytes...");
    let envs: Vec<Envelope> = (0..total)
        .map(|i| envelope(&user, CHANNEL, i, size))
        .collect();

    // Each stream goes to one of the three nodes; latency is measured per envelope
    // from the moment it is handed to the stream to its SUCCESS response.
    let mut tasks = Vec::new();
    let usage_before = ProcessUsage::now();
    let started = Instant::now();
    let per_stream = total.div_ceil(streams);
    for (s, chunk) in envs.chunks(per_stream).enumerate() {
        let chunk = chunk.to_vec();
        let mut client = net.client(s % 3).await;
        tasks.push(tokio::spawn(async move {
            let (tx, rx) = tokio::sync::mpsc::channel(chunk.len().max(1));
            let mut sent_at = Vec::with_capacity(chunk.len());
            let mut responses = client
                .broadcast(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .unwrap()
                .into_inner();
            for e in chunk {
                sent_at.push(Instant::now());
                tx.send(e).await.unwrap();
            }
            let mut latencies = Vec::with_capacity(sent_at.len());
            for at in sent_at {
                let r = responses.next().await.unwrap().unwrap();
                assert_eq!(r.status, Status::Success as i32, "{}", r.info);
                latencies.push(at.elapsed());
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    let usage = ProcessUsage::now().since(&usage_before);
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "cluster: 3 consenters, {total} envelopes of {size} bytes over {streams} streams in {:.2} s = {:.0} envelopes/s committed; \
         broadcast->commit latency p50 {:?} p90 {:?} p99 {:?}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.9),
        pct(0.99)
    );
    // CPU time is steadier than wall time on a shared VM: it does not count
    // cycles stolen by neighbours. It includes the bench's own clients.
    println!(
        "cluster: {:.2} s of CPU in that window = {:.0} µs of CPU per envelope (all three nodes and the clients); {} page faults",
        usage.cpu_seconds,
        usage.cpu_seconds * 1e6 / total as f64,
        usage.minor_faults
    );
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
    total as f64 / elapsed.as_secs_f64()
}

/// What this process has used so far, from /proc/self/stat.
struct ProcessUsage {
    /// User + system CPU seconds.
    cpu_seconds: f64,
    /// Minor page faults (fresh memory touched for the first time).
    minor_faults: u64,
}

impl ProcessUsage {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the parenthesised command name: minflt is the 8th,
        // utime and stime the 12th and 13th (clock ticks, USER_HZ = 100).
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Self {
            cpu_seconds: (field(11) + field(12)) as f64 / 100.0,
            minor_faults: field(7),
        }
    }

    fn since(&self, earlier: &Self) -> Self {
        Self {
            cpu_seconds: self.cpu_seconds - earlier.cpu_seconds,
            minor_faults: self.minor_faults - earlier.minor_faults,
        }
    }
}
