//! The channel participation API, compatible with Fabric's `osnadmin`:
//! `/participation/v1/channels` — join (multipart `config-block`), list, get,
//! remove, and Fabric 3.1's update (PUT, multipart `config-update-envelope`:
//! checked and ordered exactly as Broadcast orders it) and block fetch
//! (`/channels/{name}/blocks/{newest|oldest|config|N}`). Served on the admin listener, whose TLS requires a client
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

/// The file part `name` of a multipart form.
async fn form_file(
    mut form: Multipart,
    name: &str,
) -> Result<axum::body::Bytes, (StatusCode, Json<serde_json::Value>)> {
    let mut found = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| api_err(StatusCode::BAD_REQUEST, format!("multipart: {e}")))?
    {
        if field.name() == Some(name) {
            found = Some(
                field
                    .bytes()
                    .await
                    .map_err(|e| api_err(StatusCode::BAD_REQUEST, e.to_string()))?,
            );
        }
    }
    found.ok_or_else(|| {
        api_err(
            StatusCode::BAD_REQUEST,
            format!("form field '{name}' is missing"),
        )
    })
}

async fn join(
    State(core): State<Arc<NodeCore>>,
    Extension(certs): Extension<ClientCerts>,
    form: Multipart,
) -> ApiResult {
    authorize(&core, &certs)?;
    let block = form_file(form, "config-block").await?;
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

/// Fabric 3.1's channel update: a CONFIG_UPDATE envelope, ordered as
/// Broadcast orders it; 201 with the channel's info once its block is written.
async fn update(
    State(core): State<Arc<NodeCore>>,
    Extension(certs): Extension<ClientCerts>,
    form: Multipart,
) -> ApiResult {
    use weft_protos::common::{HeaderType, Status as FabricStatus};
    authorize(&core, &certs)?;
    let bytes = form_file(form, "config-update-envelope").await?;
    let invalid = |why: String| {
        api_err(
            StatusCode::BAD_REQUEST,
            format!("invalid config update envelope: {why}"),
        )
    };
    let envelope = <weft_protos::common::Envelope as prost::Message>::decode(bytes.as_ref())
        .map_err(|e| invalid(e.to_string()))?;
    let unpacked = weft_common::tx::UnpackedEnvelope::from_envelope(&envelope)
        .map_err(|e| invalid(e.to_string()))?;
    if unpacked.header_type() != HeaderType::ConfigUpdate as i32 {
        return Err(invalid("bad type: not a CONFIG_UPDATE".into()));
    }
    let name = unpacked.channel_header.channel_id.clone();
    if core.registry.get(&name).is_none() {
        return Err(api_err(
            StatusCode::METHOD_NOT_ALLOWED,
            "cannot update: channel does not exist",
        ));
    }
    let answer =
        crate::broadcast::order_envelope(&core.registry, &core.metrics, &core.signer, envelope)
            .await;
    let code = match FabricStatus::try_from(answer.status) {
        Ok(FabricStatus::Success) => {
            return Ok((StatusCode::CREATED, Json(channel_info(&core, &name))).into_response());
        }
        Ok(FabricStatus::Forbidden) => StatusCode::FORBIDDEN,
        Ok(FabricStatus::ServiceUnavailable) => StatusCode::SERVICE_UNAVAILABLE,
        Ok(FabricStatus::RequestEntityTooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    Err(api_err(code, format!("cannot update: {}", answer.info)))
}

/// Fabric 3.1's block fetch: the block's bytes.
async fn fetch_block(
    State(core): State<Arc<NodeCore>>,
    Extension(certs): Extension<ClientCerts>,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult {
    use crate::storage::ChannelStorage;
    authorize(&core, &certs)?;
    let channel = core
        .registry
        .get(&name)
        .ok_or_else(|| api_err(StatusCode::NOT_FOUND, "channel does not exist"))?;
    let height = *channel.height.borrow();
    let read = |n: u64| {
        channel
            .store()
            .block(n)
            .ok()
            .flatten()
            .ok_or_else(|| api_err(StatusCode::NOT_FOUND, format!("block {n} does not exist")))
    };
    let newest = height.checked_sub(1);
    let bytes = match id.as_str() {
        "newest" => read(newest.unwrap_or(0))?,
        "oldest" => read(0)?,
        "config" => {
            let top = read(newest.unwrap_or(0))?;
            let block = <weft_protos::common::Block as prost::Message>::decode(top.as_slice())
                .map_err(|e| api_err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            let index = weft_common::block::last_config_index(&block)
                .map_err(|e| api_err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            read(index)?
        }
        other => match other.parse::<u64>() {
            Ok(n) => read(n)?,
            Err(_) => {
                return Err(api_err(
                    StatusCode::BAD_REQUEST,
                    format!("'{other}' not equal <newest|oldest|config|(number)>"),
                ));
            }
        },
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/octet-stream"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

/// The participation router; a request body (a join's multipart form) may be
/// at most `max_body` bytes (`ChannelParticipation.MaxRequestBodySize`).
pub fn router(core: Arc<NodeCore>, max_body: usize) -> Router {
    Router::new()
        .route(
            "/participation/v1/channels",
            get(list).post(join).put(update),
        )
        .route(
            "/participation/v1/channels/{name}",
            get(get_one).delete(remove),
        )
        .route(
            "/participation/v1/channels/{name}/blocks/{id}",
            get(fetch_block),
        )
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .with_state(core)
}
