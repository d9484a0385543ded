//! The operations endpoint: `/healthz`, Prometheus `/metrics`, and `/logspec`
//! (GET the current log filter, PUT `{"spec": "debug,raft=info"}` to change it).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::node::NodeCore;

/// Changes the process's log filter at run time (the binary owns the subscriber).
pub trait LogControl: Send + Sync {
    /// The current filter.
    fn get(&self) -> String;
    /// Sets a new filter (`RUST_LOG` syntax); an error says why it is invalid.
    fn set(&self, spec: &str) -> Result<(), String>;
}

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

async fn get_logspec(State(core): State<Arc<NodeCore>>) -> (StatusCode, Json<serde_json::Value>) {
    match &core.log_control {
        Some(c) => (StatusCode::OK, Json(json!({ "spec": c.get() }))),
        None => (
            StatusCode::NOT_IMPLEMENTED,
            Json(json!({ "error": "this process does not expose its log filter" })),
        ),
    }
}

async fn put_logspec(
    State(core): State<Arc<NodeCore>>,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, Json<serde_json::Value>) {
    let Some(spec) = body.get("spec").and_then(|s| s.as_str()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "body must be {\"spec\": \"<filter>\"}" })),
        );
    };
    match &core.log_control {
        Some(c) => match c.set(spec) {
            Ok(()) => (StatusCode::NO_CONTENT, Json(json!({}))),
            Err(e) => (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))),
        },
        None => (
            StatusCode::NOT_IMPLEMENTED,
            Json(json!({ "error": "this process does not expose its log filter" })),
        ),
    }
}

/// The operations router.
pub fn router(core: Arc<NodeCore>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/logspec", get(get_logspec).put(put_logspec))
        .with_state(core)
}
