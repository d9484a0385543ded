//! The operations endpoint: `/healthz`, Prometheus `/metrics`, and `/logspec`
//! (GET the current log filter, PUT `{"spec": "debug,raft=info"}` to change it).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;
use weft_common::node::health::{self, FailedCheck};

use crate::node_core::NodeCore;

pub use weft_common::node::operations::LogControl;

/// Fabric's `/healthz`: 503 naming each channel that stopped on its own
/// (its reason) and a data disk about to fill up.
async fn healthz(State(core): State<Arc<NodeCore>>) -> impl IntoResponse {
    let channels = core.registry.list();
    let mut failed: Vec<FailedCheck> = channels
        .iter()
        .filter_map(|c| {
            c.failure().map(|reason| FailedCheck {
                component: format!("channel:{}", c.id),
                reason,
            })
        })
        .collect();
    if let Some(reason) = core.deferred() {
        failed.push(FailedCheck {
            component: "channels".into(),
            reason,
        });
    }
    failed.extend(health::disk_check(core.data_dir(), health::MIN_FREE_BYTES));
    let mut extra = serde_json::Map::new();
    extra.insert("channels".into(), json!(channels.len()));
    health::respond(&failed, extra)
}

async fn metrics(
    State(core): State<Arc<NodeCore>>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    (
        StatusCode::OK,
        [("content-type", "text/plain; version=0.0.4")],
        {
            let mut text = core.metrics.render();
            core.own_certificates().render(&mut text);
            text
        },
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
        .merge(weft_common::node::operations::version_router(env!(
            "CARGO_PKG_VERSION"
        )))
}
