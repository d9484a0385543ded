//! `weft-network bench`: a load generator in the spirit of Hyperledger
//! Caliper. It drives asset-transfer-basic through the client SDK from
//! every org's gateway, at a fixed concurrency or a target rate, and reports
//! committed throughput, latency percentiles and outcomes per validation code
//! ([`stats`]), the node processes' CPU per transaction ([`cpu`]), with an
//! SVG plot over time ([`plot`]). The client is weft's Rust SDK or Fabric's
//! own Node.js Gateway client ([`node`]).

pub mod cpu;
pub mod node;
pub mod plot;
pub mod stats;
pub mod yardstick;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use weft_client_sdk::{ClientError, Contract};

use crate::{NetworkError, NetworkInfo};
use stats::{Report, Sample};

/// What each transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// `CreateAsset` of a new asset each time (no contention).
    Create,
    /// `TransferAsset` of one of `keys` assets: fewer keys, more MVCC conflicts.
    Transfer {
        /// Assets transferred (created first, unmeasured).
        keys: usize,
    },
    /// `ReadAsset` (evaluate, not ordered) of one of `keys` assets.
    Read {
        /// Assets read.
        keys: usize,
    },
}

impl Workload {
    /// Its name in reports.
    pub fn name(&self) -> String {
        match self {
            Self::Create => "create".into(),
            Self::Transfer { keys } => format!("transfer ({keys} keys)"),
            Self::Read { keys } => format!("read ({keys} keys)"),
        }
    }
}

/// How the load is applied.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The workload.
    pub workload: Workload,
    /// Transactions to send.
    pub transactions: usize,
    /// Transactions in flight at most.
    pub concurrency: usize,
    /// Send at this rate (tx/s) instead of as fast as `concurrency` allows.
    pub rate: Option<f64>,
    /// The asset-transfer-basic chaincode's name.
    pub chaincode: String,
    /// Which client sends the transactions.
    pub client: BenchClient,
}

/// The client a bench drives the network with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenchClient {
    /// weft's Rust client SDK, in this process.
    Rust,
    /// Fabric's Node.js Gateway client (`@hyperledger/fabric-gateway`), as a
    /// `node` process running `bench.mjs` from `dir`.
    FabricNode {
        /// Where `bench.mjs` and its `node_modules` are.
        dir: std::path::PathBuf,
        /// How that client signs.
        signer: NodeSigner,
    },
}

/// How the Node.js client signs: the application's choice in Fabric's
/// Gateway API, which takes any function from bytes to a signature
/// (`weft-network bench --node-signer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NodeSigner {
    /// Node's `crypto.sign` (OpenSSL), low-S normalised for ECDSA: tens of
    /// microseconds a signature.
    Openssl,
    /// The SDK's `signers.newPrivateKeySigner`, which fabric-samples use:
    /// ECDSA in pure JavaScript (@noble/curves), about half a millisecond a
    /// signature on this project's VM, three signatures a transaction.
    Noble,
}

impl NodeSigner {
    /// The name `bench.mjs` knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Self::Openssl => "openssl",
            Self::Noble => "noble",
        }
    }
}

fn outcome(result: Result<weft_client_sdk::Status, ClientError>) -> String {
    match result {
        Ok(status) => status.code.as_str_name().to_string(),
        Err(ClientError::Endorse { .. }) => "ENDORSE_ERROR".into(),
        Err(ClientError::Submit { .. }) => "SUBMIT_ERROR".into(),
        Err(ClientError::CommitStatus { .. }) | Err(ClientError::Timeout(_)) => {
            "STATUS_ERROR".into()
        }
        Err(ClientError::Evaluate { .. }) => "EVALUATE_ERROR".into(),
        Err(_) => "CLIENT_ERROR".into(),
    }
}

/// A well-mixed 64-bit hash (Vigna's splitmix64 finaliser).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

async fn one(
    contract: &Contract,
    workload: Workload,
    run: &str,
    keys: &[String],
    i: usize,
) -> String {
    // Keys drawn pseudo-randomly (splitmix64 of the index), so that
    // concurrent transactions collide as often as the key count implies.
    let key = || keys[(splitmix64(i as u64) % keys.len().max(1) as u64) as usize].clone();
    match workload {
        Workload::Create => {
            let id = format!("{run}-{i}");
            let r = async {
                contract
                    .submit_async("CreateAsset", [id.as_str(), "blue", "5", "bench", "100"])
                    .await?
                    .status()
                    .await
            };
            outcome(r.await)
        }
        Workload::Transfer { .. } => {
            let owner = format!("owner{i}");
            let k = key();
            let r = async {
                contract
                    .submit_async("TransferAsset", [k.as_str(), owner.as_str()])
                    .await?
                    .status()
                    .await
            };
            outcome(r.await)
        }
        Workload::Read { .. } => match contract.evaluate_transaction("ReadAsset", [key()]).await {
            Ok(_) => "EVALUATED".into(),
            Err(e) => outcome(Err(e)),
        },
    }
}

/// Runs the bench against the network `info` describes. `progress(done,
/// total)` is called as transactions finish.
pub async fn run(
    info: &NetworkInfo,
    opts: &BenchOptions,
    progress: impl Fn(usize, usize) + Send + Sync + 'static,
) -> Result<Report, NetworkError> {
    let run_id = hex::encode(weft_common::crypto::random_bytes(4));
    // The machine's speed on both sides of the load, on the network's key type.
    let signer = match info.orgs.first() {
        Some(org) => Some(weft_client_sdk::identity::load_msp(&org.user.msp, &org.msp_id)?.1),
        None => None,
    };
    let yardstick = || signer.as_deref().and_then(yardstick::Yardstick::measure);
    let before = yardstick();
    let (samples, cpu_before, cpu_after) = match &opts.client {
        BenchClient::Rust => run_rust(info, opts, run_id, progress).await?,
        BenchClient::FabricNode { dir, signer } => {
            node::run(info, opts, dir, *signer, &run_id, &progress).await?
        }
    };
    let mut report = Report::from_samples(&opts.workload.name(), &samples);
    report.server_cpu = cpu::ServerCpu::between(&cpu_before, &cpu_after, report.succeeded);
    report.yardstick = before.map(|b| b.least(yardstick()));
    Ok(report)
}

/// The samples of a run with weft's Rust client, and the CPU snapshots
/// around its measured phase.
async fn run_rust(
    info: &NetworkInfo,
    opts: &BenchOptions,
    run_id: String,
    progress: impl Fn(usize, usize) + Send + Sync + 'static,
) -> Result<(Vec<Sample>, cpu::CpuSnapshot, cpu::CpuSnapshot), NetworkError> {
    let mut contracts = Vec::new();
    for org in &info.orgs {
        let gateway = info.gateway(&org.msp_id).await?;
        contracts.push(gateway.network(&info.channel).contract(&opts.chaincode));
    }
    let keys: Vec<String> = match opts.workload {
        Workload::Transfer { keys } | Workload::Read { keys } => (0..keys.max(1))
            .map(|k| format!("{run_id}-key{k}"))
            .collect(),
        Workload::Create => Vec::new(),
    };
    // Set-up, not measured: the assets to transfer or read.
    let setup: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let c = contracts[i % contracts.len()].clone();
            let k = k.clone();
            async move {
                c.submit_transaction("CreateAsset", [k.as_str(), "blue", "5", "bench", "100"])
                    .await
            }
        })
        .collect();
    use futures::StreamExt;
    let created: Vec<_> = futures::stream::iter(setup)
        .buffer_unordered(opts.concurrency.clamp(1, 64))
        .collect()
        .await;
    if let Some(Err(e)) = created.into_iter().find(Result::is_err) {
        return Err(NetworkError::Client(e));
    }

    let shared = Arc::new((contracts, keys, run_id));
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(progress);
    let cpu_before = cpu::CpuSnapshot::take(&info.dir, None);
    let started = Instant::now();
    let samples = Arc::new(std::sync::Mutex::new(Vec::with_capacity(opts.transactions)));
    let limit = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = Vec::new();
    let total = opts.transactions;
    let workload = opts.workload;
    let all_samples = samples.clone();
    let spawn_one = move |i: usize| {
        let shared = shared.clone();
        let samples = samples.clone();
        let done = done.clone();
        let progress = progress.clone();
        async move {
            let (contracts, keys, run_id) = &*shared;
            let sent = Instant::now();
            let outcome = one(&contracts[i % contracts.len()], workload, run_id, keys, i).await;
            samples.lock().expect("samples lock").push(Sample {
                sent_at: (sent - started).as_secs_f64(),
                latency: sent.elapsed().as_secs_f64(),
                outcome,
            });
            progress(done.fetch_add(1, Ordering::SeqCst) + 1, total);
        }
    };
    match opts.rate {
        Some(rate) if rate > 0.0 => {
            let period = Duration::from_secs_f64(1.0 / rate);
            for i in 0..total {
                tokio::time::sleep_until((started + period.mul_f64(i as f64)).into()).await;
                let permit = limit.clone().acquire_owned().await.expect("semaphore");
                let f = spawn_one(i);
                tasks.push(tokio::spawn(async move {
                    f.await;
                    drop(permit);
                }));
            }
        }
        _ => {
            for _ in 0..opts.concurrency.max(1) {
                let next = next.clone();
                let spawn_one = spawn_one.clone();
                tasks.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= total {
                            break;
                        }
                        spawn_one(i).await;
                    }
                }));
            }
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let cpu_after = cpu::CpuSnapshot::take(&info.dir, None);
    let samples = all_samples.lock().expect("samples lock").clone();
    Ok((samples, cpu_before, cpu_after))
}

/// Writes `report` as JSON and its SVG plot next to it (`<stem>.svg`).
pub fn write_report(
    report: &Report,
    json: &std::path::Path,
) -> Result<std::path::PathBuf, NetworkError> {
    let text = serde_json::to_vec_pretty(report).expect("report JSON");
    std::fs::write(json, text).map_err(|e| NetworkError::io(json, e))?;
    let svg = json.with_extension("svg");
    std::fs::write(&svg, plot::svg(report)).map_err(|e| NetworkError::io(&svg, e))?;
    Ok(svg)
}
