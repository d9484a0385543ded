//! The operations endpoint: `/healthz`, Prometheus `/metrics` (ledger height,
//! blocks and transactions committed by validation code, validate and write
//! latency per block, proposals and their latency) and `/logspec`.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;
use weft_common::node::health::FailedCheck;
use weft_common::node::operations::LogControl;
use weft_protos::protos::TxValidationCode;

use crate::channels::JoinedChannels;
use crate::endorser::EndorserMetrics;

/// What the operations endpoint reads of the peer.
pub trait Support: JoinedChannels {
    /// What `/healthz` reports failing.
    fn failed_checks(&self) -> Vec<FailedCheck>;
    /// What the endorser counts.
    fn endorser_metrics(&self) -> &EndorserMetrics;
    /// The peer's own certificates, whose expiry `/metrics` shows.
    fn own_certificates(&self) -> weft_common::msp::expiry::OwnCertificates;
}

/// Fabric's `/healthz`: 503 naming each failing check ([`Support::failed_checks`]).
async fn healthz(State(core): State<Arc<dyn Support>>) -> impl axum::response::IntoResponse {
    let mut extra = serde_json::Map::new();
    extra.insert("channels".into(), json!(core.channel_ids().len()));
    weft_common::node::health::respond(&core.failed_checks(), extra)
}

fn help(out: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
}

/// The metrics in Prometheus' text format.
pub fn render(core: &dyn Support) -> String {
    let mut out = String::new();
    let channels: Vec<_> = core
        .channel_ids()
        .into_iter()
        .filter_map(|id| core.channel(id.as_str()).map(|c| (id, c)))
        .collect();
    help(
        &mut out,
        "ledger_blockchain_height",
        "gauge",
        "Height of the chain in blocks.",
    );
    for (id, c) in &channels {
        let _ = writeln!(
            out,
            "ledger_blockchain_height{{channel=\"{id}\"}} {}",
            c.ledger().height()
        );
    }
    help(
        &mut out,
        "ledger_blocks_committed_total",
        "counter",
        "Blocks committed since start.",
    );
    for (id, c) in &channels {
        let _ = writeln!(
            out,
            "ledger_blocks_committed_total{{channel=\"{id}\"}} {}",
            c.metrics().blocks.load(Ordering::Relaxed)
        );
    }
    help(
        &mut out,
        "ledger_transactions_total",
        "counter",
        "Transactions committed since start, by validation code.",
    );
    for (id, c) in &channels {
        for (code, n) in c.metrics().txs_by_code.lock().expect("metrics lock").iter() {
            let name = TxValidationCode::try_from(*code).map_or("UNKNOWN", |c| c.as_str_name());
            let _ = writeln!(
                out,
                "ledger_transactions_total{{channel=\"{id}\",validation_code=\"{name}\"}} {n}"
            );
        }
    }
    help(
        &mut out,
        "ledger_block_stage_seconds",
        "histogram",
        "Time per block in each commit stage.",
    );
    for (id, c) in &channels {
        c.metrics().validate.render(
            "ledger_block_stage_seconds",
            &format!("channel=\"{id}\",stage=\"validate\""),
            &mut out,
        );
        c.metrics().write.render(
            "ledger_block_stage_seconds",
            &format!("channel=\"{id}\",stage=\"write\""),
            &mut out,
        );
    }
    let m = core.endorser_metrics();
    help(
        &mut out,
        "endorser_proposals_received_total",
        "counter",
        "Proposals received.",
    );
    let _ = writeln!(
        out,
        "endorser_proposals_received_total {}",
        m.proposals.load(Ordering::Relaxed)
    );
    help(
        &mut out,
        "endorser_proposal_failures_total",
        "counter",
        "Proposals refused or failed.",
    );
    let _ = writeln!(
        out,
        "endorser_proposal_failures_total {}",
        m.proposal_failures.load(Ordering::Relaxed)
    );
    help(
        &mut out,
        "endorser_propose_duration_seconds",
        "histogram",
        "Time to check, simulate and sign a proposal.",
    );
    m.propose_duration
        .render("endorser_propose_duration_seconds", "", &mut out);
    core.own_certificates().render(&mut out);
    out
}

async fn metrics(
    State(core): State<Arc<dyn Support>>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        render(core.as_ref()),
    )
}

/// The operations router; `/logspec` changes the log filter through
/// `log_control` when the binary installed one.
pub fn router(core: Arc<dyn Support>, log_control: Option<Arc<dyn LogControl>>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(core)
        .merge(weft_common::node::operations::logspec_router(log_control))
        .merge(weft_common::node::operations::version_router(env!(
            "CARGO_PKG_VERSION"
        )))
}
