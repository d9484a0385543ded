//! The operations endpoint: `/healthz`, Prometheus `/metrics`, and `/logspec`
//! (GET the current log filter, PUT `{"spec": "debug,raft=info"}` to change it).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::node::NodeCore;

pub use weft_common::node::operations::LogControl;

async fn healthz(State(core): State<Arc<NodeCore>>) -> Json<serde_json::Value> {
    Json(json!({ "status": "OK", "channels": core.registry.list().len() }))
}

async fn metrics(
    State(core): State<Arc<NodeCore>>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        core.metrics.render(),
    )
}

/// The operations router.
pub fn router(core: Arc<NodeCore>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(core.clone())
        .merge(weft_common::node::operations::logspec_router(
            core.log_control.clone(),
        ))
}
