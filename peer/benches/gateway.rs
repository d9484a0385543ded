//! CreateAsset through the Gateway on a whole network in this process (one
//! Raft orderer, Org1 and Org2 with one peer each, a policy needing both):
//! committed transactions per second and latency percentiles, with
//! concurrent clients doing what Fabric's SDK does (Endorse, sign, Submit,
//! CommitStatus). Not a criterion bench: it prints its own figures.
//!
//! `cargo bench -p weft-peer --bench gateway` (WEFT_BENCH_TXS, WEFT_BENCH_CLIENTS to change the load)

#![allow(missing_docs, dead_code, unused_imports)] // shares the integration tests' harness

use std::time::{Duration, Instant};

#[path = "../tests/it/lifecycle.rs"]
mod lifecycle;
#[path = "../tests/it/net.rs"]
mod net;
#[path = "../tests/it/support.rs"]
mod support;

use net::Net;
use prost::Message;
use weft_common::ids::ChannelId;
use weft_common::tx::ProposalBuilder;
use weft_protos::gateway::gateway_client::GatewayClient;
use weft_protos::gateway::{
    CommitStatusRequest, EndorseRequest, SignedCommitStatusRequest, SubmitRequest,
};

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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let total = env_or("WEFT_BENCH_TXS", 2000);
    let clients = env_or("WEFT_BENCH_CLIENTS", 64);
    let net = Net::start(1, 200).await;
    let (p1, p2) = (net.start_peer(1, 0).await, net.start_peer(2, 0).await);
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let mut admins = [net.admin(1, &p1).await, net.admin(2, &p2).await];
    lifecycle::deploy(&net, [&p1, &p2], &mut admins, "basic_1.0", 1).await;

    let user = net.orgs.user(1);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (user, next) = (user.clone(), next.clone());
        let ch = net.user_channel(&p1).await;
        tasks.push(tokio::spawn(async move {
            let mut gw = GatewayClient::new(ch);
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return out;
                }
                let t0 = Instant::now();
                let id = format!("bench{i:07}");
                let p = ProposalBuilder::new(ChannelId::new(support::CHANNEL), "basic")
                    .function("CreateAsset", [id.as_str(), "blue", "5", "Tom", "300"])
                    .sign(&user)
                    .unwrap();
                let tx_id = p.tx_id.to_string();
                let mut env = match gw
                    .endorse(EndorseRequest {
                        transaction_id: tx_id.clone(),
                        channel_id: support::CHANNEL.into(),
                        proposed_transaction: Some(p.signed),
                        endorsing_organizations: vec![],
                    })
                    .await
                {
                    Ok(r) => r.into_inner().prepared_transaction.unwrap(),
                    Err(e) => {
                        out.push((t0.elapsed(), format!("endorse: {}", e.code())));
                        continue;
                    }
                };
                env.signature = user.sign(&env.payload).unwrap();
                if let Err(e) = gw
                    .submit(SubmitRequest {
                        transaction_id: tx_id.clone(),
                        channel_id: support::CHANNEL.into(),
                        prepared_transaction: Some(env),
                    })
                    .await
                {
                    out.push((t0.elapsed(), format!("submit: {}", e.code())));
                    continue;
                }
                let request = CommitStatusRequest {
                    transaction_id: tx_id,
                    channel_id: support::CHANNEL.into(),
                    identity: user.serialized().to_vec(),
                }
                .encode_to_vec();
                let signature = user.sign(&request).unwrap();
                let code = match gw
                    .commit_status(SignedCommitStatusRequest { request, signature })
                    .await
                {
                    Ok(r) => weft_protos::protos::TxValidationCode::try_from(r.into_inner().result)
                        .map_or("?".to_string(), |c| c.as_str_name().to_string()),
                    Err(e) => format!("status: {}", e.code()),
                };
                out.push((t0.elapsed(), code));
            }
        }));
    }
    let mut results: Vec<(Duration, String)> = Vec::new();
    for t in tasks {
        results.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    let mut by_code = std::collections::BTreeMap::new();
    for (_, c) in &results {
        *by_code.entry(c.clone()).or_insert(0usize) += 1;
    }
    let mut lat: Vec<Duration> = results
        .iter()
        .filter(|(_, c)| c == "VALID")
        .map(|(d, _)| *d)
        .collect();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let valid = by_code.get("VALID").copied().unwrap_or(0);
    println!("CreateAsset through the gateway: {total} transactions, {clients} concurrent clients");
    println!(
        "committed VALID: {valid} in {elapsed:.2?} = {:.0} tx/s",
        valid as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency p50 {:.0?}  p90 {:.0?}  p99 {:.0?}",
        pct(0.50),
        pct(0.90),
        pct(0.99)
    );
    println!("by outcome: {by_code:?}");
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
