//! The operations endpoint: `/healthz` (and, later, `/metrics` and `/logspec`).

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::node::NodeCore;

/// The operations router.
pub fn router(core: Arc<NodeCore>) -> Router {
    Router::new().route(
        "/healthz",
        get(move || {
            let channels = core.registry.list().len();
            async move { Json(json!({ "status": "OK", "channels": channels })) }
        }),
    )
}
