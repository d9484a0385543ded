//! The operations endpoint: `/healthz` and Prometheus `/metrics` (ledger height per channel).

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::node::PeerCore;

async fn healthz(State(core): State<Arc<PeerCore>>) -> Json<serde_json::Value> {
    Json(json!({ "status": "OK", "channels": core.channel_ids().len() }))
}

async fn metrics(
    State(core): State<Arc<PeerCore>>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let mut out = String::from(
        "# HELP ledger_blockchain_height Height of the chain in blocks.\n# TYPE ledger_blockchain_height gauge\n",
    );
    for id in core.channel_ids() {
        if let Some(c) = core.channel(id.as_str()) {
            let _ = writeln!(
                out,
                "ledger_blockchain_height{{channel=\"{id}\"}} {}",
                c.ledger().height()
            );
        }
    }
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        out,
    )
}

/// The operations router.
pub fn router(core: Arc<PeerCore>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(core)
}
