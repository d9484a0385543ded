//! The channel participation API, compatible with Fabric's `osnadmin`:
//! `/participation/v1/channels` — join (multipart `config-block`), list, get,
//! remove. Served on the admin listener, whose TLS requires a client
//! certificate issued by one of `Admin.TLS.ClientRootCAs`: as in Fabric, that
//! handshake is the authorisation (any certificate of those CAs, with or
//! without an `admin` OU — cryptogen's admin TLS certificates carry none).
//! Errors carry Fabric's texts (`cannot join: channel already exists`).

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;

use crate::node_core::NodeCore;
use weft_common::node::net::ClientCerts;

type ApiResult = Result<Response, (StatusCode, Json<serde_json::Value>)>;

fn api_err(code: StatusCode, msg: impl Into<String>) -> (StatusCode, Json<serde_json::Value>) {
    (code, Json(json!({ "error": msg.into() })))
}

fn channel_info(core: &NodeCore, name: &str) -> serde_json::Value {
    let height = core.registry.get(name).map_or(0, |c| *c.height.borrow());
    json!({
        "name": name,
        "url": format!("/participation/v1/channels/{name}"),
        "consensusRelation": "consenter",
        "status": "active",
        "height": height,
    })
}

/// The admin listener's TLS has verified the client's certificate against
/// `Admin.TLS.ClientRootCAs` before any request arrives; this only refuses a
/// connection that somehow carries none (defence in depth).
fn authorize(
    core: &NodeCore,
    certs: &ClientCerts,
) -> Result<(), (StatusCode, Json<serde_json::Value>)> {
    if !core.admin_tls || !certs.0.is_empty() {
        return Ok(()); // plaintext admin listener: explicitly configured, trusted network
    }
    Err(api_err(
        StatusCode::UNAUTHORIZED,
        "a TLS client certificate is required",
    ))
}

async fn list(
    State(core): State<Arc<NodeCore>>,
    Extension(certs): Extension<ClientCerts>,
) -> ApiResult {
    authorize(&core, &certs)?;
    let channels: Vec<_> = core
        .registry
        .list()
        .iter()
        .map(|c| json!({ "name": c.id.as_str(), "url": format!("/participation/v1/channels/{}", c.id) }))
        .collect();
    Ok(Json(json!({ "systemChannel": null, "channels": channels })).into_response())
}

async fn get_one(
    State(core): State<Arc<NodeCore>>,
    Extension(certs): Extension<ClientCerts>,
    Path(name): Path<String>,
) -> ApiResult {
    authorize(&core, &certs)?;
    if core.registry.get(&name).is_none() {
        return Err(api_err(StatusCode::NOT_FOUND, "channel does not exist"));
    }
    Ok(Json(channel_info(&core, &name)).into_response())
}

async fn join(
    State(core): State<Arc<NodeCore>>,
    Extension(certs): Extension<ClientCerts>,
    mut form: Multipart,
) -> ApiResult {
    authorize(&core, &certs)?;
    let mut block = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| api_err(StatusCode::BAD_REQUEST, format!("multipart: {e}")))?
    {
        if field.name() == Some("config-block") {
            block = Some(
                field
                    .bytes()
                    .await
                    .map_err(|e| api_err(StatusCode::BAD_REQUEST, e.to_string()))?,
            );
        }
    }
    let block = block.ok_or_else(|| {
        api_err(
            StatusCode::BAD_REQUEST,
            "form field 'config-block' is missing",
        )
    })?;
    match core.join_channel(&block).await {
        Ok(name) => Ok((StatusCode::CREATED, Json(channel_info(&core, &name))).into_response()),
        Err(crate::node_core::JoinError::Exists(_)) => {
            let mut response = api_err(
                StatusCode::METHOD_NOT_ALLOWED,
                "cannot join: channel already exists",
            )
            .into_response();
            response.headers_mut().insert(
                axum::http::header::ALLOW,
                axum::http::HeaderValue::from_static("GET, DELETE"),
            );
            Ok(response)
        }
        Err(crate::node_core::JoinError::Invalid(msg)) => Err(api_err(
            StatusCode::BAD_REQUEST,
            format!("invalid join block: {msg}"),
        )),
        Err(crate::node_core::JoinError::Internal(msg)) => Err(api_err(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot join: {msg}"),
        )),
    }
}

async fn remove(
    State(core): State<Arc<NodeCore>>,
    Extension(certs): Extension<ClientCerts>,
    Path(name): Path<String>,
) -> ApiResult {
    authorize(&core, &certs)?;
    match core.remove_channel(&name).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(false) => Err(api_err(
            StatusCode::NOT_FOUND,
            "cannot remove: channel does not exist",
        )),
        Err(e) => Err(api_err(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot remove: {e}"),
        )),
    }
}

/// The participation router; a request body (a join's multipart form) may be
/// at most `max_body` bytes (`ChannelParticipation.MaxRequestBodySize`).
pub fn router(core: Arc<NodeCore>, max_body: usize) -> Router {
    Router::new()
        .route("/participation/v1/channels", get(list).post(join))
        .route(
            "/participation/v1/channels/{name}",
            get(get_one).delete(remove),
        )
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(core)
}
