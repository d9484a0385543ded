//! The REST API under `/api/v1`, in Fabric CA's shape: every answer is a
//! cfssl envelope `{"success", "result", "errors": [{"code", "message"}], "messages"}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Serialize;

use crate::CaError;
use crate::authority::{
    Authority, EnrollRequest, Enrollment, ModifyRequest, RegisterRequest, RevokeRequest,
};
use crate::error::code;
use crate::protocol::{CrlResponse, EnrollResponse, IdentitiesResponse, RegisterResponse};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The envelope of a success.
fn ok<T: Serialize>(result: T) -> Response {
    let body = serde_json::json!({"success": true, "result": result, "errors": [], "messages": []});
    (StatusCode::OK, axum::Json(body)).into_response()
}

impl IntoResponse for CaError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        if status >= 500 {
            tracing::error!("request failed: {message}");
        } else {
            tracing::info!(code, "request refused: {message}");
        }
        let body = serde_json::json!({
            "success": false,
            "result": null,
            "errors": [{"code": code, "message": message}],
            "messages": [],
        });
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(body)).into_response()
    }
}

fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, CaError> {
    serde_json::from_slice(body).map_err(|e| {
        CaError::bad_request(code::BAD_REQUEST, format!("malformed request body: {e}"))
    })
}

fn authorization(headers: &HeaderMap) -> Result<&str, CaError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| CaError::unauthorized(code::NO_USER_PASS, "no authorization header"))
}

fn basic_auth(headers: &HeaderMap) -> Result<(String, String), CaError> {
    let h = authorization(headers)?;
    let encoded = h.strip_prefix("Basic ").ok_or_else(|| {
        CaError::unauthorized(
            code::NO_USER_PASS,
            "enroll needs HTTP Basic authorization (enrollment id and secret)",
        )
    })?;
    let text = B64
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            CaError::unauthorized(
                code::NO_USER_PASS,
                "the Basic authorization is not base64 of id:secret",
            )
        })?;
    let (id, secret) = text.split_once(':').ok_or_else(|| {
        CaError::unauthorized(
            code::NO_USER_PASS,
            "no user/pass in the authorization header",
        )
    })?;
    Ok((id.to_string(), secret.to_string()))
}

/// Runs a blocking registry operation off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CaError> + Send + 'static,
) -> Result<T, CaError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CaError::api(500, code::INTERNAL, format!("worker failed: {e}")))?
}

async fn cainfo(State(ca): State<Arc<Authority>>, Body(body): Body) -> Result<Response, CaError> {
    Ok(ok(ca.info_of(&CaName::of(&body)?)?))
}

async fn enroll(
    State(ca): State<Arc<Authority>>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<Response, CaError> {
    let (id, secret) = basic_auth(&headers)?;
    let req: EnrollRequest = json(&body)?;
    let enrolled = blocking(move || ca.enroll(&id, &secret, &req)).await?;
    Ok(enrolled_response(enrolled))
}

fn enrolled_response(e: Enrollment) -> Response {
    ok(EnrollResponse {
        cert: B64.encode(e.cert),
        server_info: e.info,
    })
}

async fn register(State(ca): State<Arc<Authority>>, signed: Signed) -> Result<Response, CaError> {
    let secret = as_caller(ca, signed, |ca, caller, body| {
        let req: RegisterRequest = json(body)?;
        ca.register(caller, &req)
    })
    .await?;
    Ok(ok(RegisterResponse { secret }))
}

/// A request's body, or a refusal in Fabric CA's shape when it cannot be
/// read (too large — axum's 2 MB limit — or cut off).
struct Body(Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = CaError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, CaError> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|e| {
                let status = e.status().as_u16();
                CaError::api(
                    if status >= 500 { 400 } else { status },
                    code::BAD_REQUEST,
                    format!("cannot read the request body: {e}"),
                )
            })
    }
}

/// A token-authenticated request, as it arrived: what the token signs.
struct Signed {
    method: Method,
    path: String,
    token: String,
    body: Bytes,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for Signed {
    type Rejection = CaError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, CaError> {
        let token = authorization(req.headers())?.to_string();
        let method = req.method().clone();
        let uri: &Uri = req.uri();
        let path = uri
            .path_and_query()
            .map_or(uri.path(), |p| p.as_str())
            .to_string();
        let Body(body) = Body::from_request(req, state).await?;
        Ok(Self {
            method,
            path,
            token,
            body,
        })
    }
}

/// Authenticates the caller of `req` by its token, then runs `f` with it
/// and the body, off the async threads.
async fn as_caller<T: Send + 'static>(
    ca: Arc<Authority>,
    req: Signed,
    f: impl FnOnce(&Authority, &crate::store::IdentityRecord, &[u8]) -> Result<T, CaError>
    + Send
    + 'static,
) -> Result<T, CaError> {
    blocking(move || {
        let caller =
            ca.authenticate_token(&req.token, req.method.as_str(), &req.path, &req.body)?;
        f(&ca, &caller, &req.body)
    })
    .await
}

/// [`as_caller`], answered with the CA's name added to the result.
async fn as_caller_named<T: Serialize + Send + 'static>(
    ca: Arc<Authority>,
    req: Signed,
    f: impl FnOnce(&Authority, &crate::store::IdentityRecord, &[u8]) -> Result<T, CaError>
    + Send
    + 'static,
) -> Result<Response, CaError> {
    let name = ca.name().to_string();
    let result = as_caller(ca, req, f).await?;
    Ok(with_caname(&name, result))
}

async fn list_identities(
    State(ca): State<Arc<Authority>>,
    signed: Signed,
) -> Result<Response, CaError> {
    let name = ca.name().to_string();
    let all = as_caller(ca, signed, |ca, caller, _| ca.list_identities(caller)).await?;
    Ok(ok(IdentitiesResponse {
        identities: all,
        caname: name,
    }))
}

async fn get_identity(
    State(ca): State<Arc<Authority>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    signed: Signed,
) -> Result<Response, CaError> {
    as_caller_named(ca, signed, move |ca, caller, _| {
        ca.get_identity(caller, &id)
    })
    .await
}

/// `?force=true` on the calls that remove or move things.
#[derive(Debug, Default, serde::Deserialize)]
struct Force {
    #[serde(default)]
    force: Option<String>,
}

impl Force {
    fn on(&self) -> bool {
        self.force
            .as_deref()
            .is_some_and(|f| f.eq_ignore_ascii_case("true"))
    }
}

/// `result` (any serialisable object) with the CA's name added, as Fabric CA answers.
fn with_caname<T: Serialize>(ca_name: &str, result: T) -> Response {
    let mut v = serde_json::to_value(result).expect("result JSON");
    v["caname"] = ca_name.into();
    ok(v)
}

async fn modify_identity(
    State(ca): State<Arc<Authority>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    signed: Signed,
) -> Result<Response, CaError> {
    as_caller_named(ca, signed, move |ca, caller, body| {
        let req: ModifyRequest = json(body)?;
        let mut v =
            serde_json::to_value(ca.modify_identity(caller, &id, &req)?).expect("identity JSON");
        if !req.secret.is_empty() {
            v["secret"] = req.secret.into();
        }
        Ok(v)
    })
    .await
}

async fn remove_identity(
    State(ca): State<Arc<Authority>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(force): Query<Force>,
    signed: Signed,
) -> Result<Response, CaError> {
    as_caller_named(ca, signed, move |ca, caller, _| {
        ca.remove_identity(caller, &id, force.on())
    })
    .await
}

async fn list_affiliations(
    State(ca): State<Arc<Authority>>,
    signed: Signed,
) -> Result<Response, CaError> {
    as_caller_named(ca, signed, |ca, caller, _| ca.affiliations(caller)).await
}

async fn add_affiliation(
    State(ca): State<Arc<Authority>>,
    Query(force): Query<Force>,
    signed: Signed,
) -> Result<Response, CaError> {
    as_caller_named(ca, signed, move |ca, caller, body| {
        ca.add_affiliation(caller, &json(body)?, force.on())
    })
    .await
}

async fn get_affiliation(
    State(ca): State<Arc<Authority>>,
    axum::extract::Path(affiliation): axum::extract::Path<String>,
    signed: Signed,
) -> Result<Response, CaError> {
    as_caller_named(ca, signed, move |ca, caller, _| {
        ca.affiliation(caller, &affiliation)
    })
    .await
}

async fn rename_affiliation(
    State(ca): State<Arc<Authority>>,
    axum::extract::Path(affiliation): axum::extract::Path<String>,
    Query(force): Query<Force>,
    signed: Signed,
) -> Result<Response, CaError> {
    as_caller_named(ca, signed, move |ca, caller, body| {
        ca.rename_affiliation(caller, &affiliation, &json(body)?, force.on())
    })
    .await
}

async fn delete_affiliation(
    State(ca): State<Arc<Authority>>,
    axum::extract::Path(affiliation): axum::extract::Path<String>,
    Query(force): Query<Force>,
    signed: Signed,
) -> Result<Response, CaError> {
    as_caller_named(ca, signed, move |ca, caller, _| {
        ca.delete_affiliation(caller, &affiliation, force.on())
    })
    .await
}

async fn reenroll(State(ca): State<Arc<Authority>>, signed: Signed) -> Result<Response, CaError> {
    let enrolled = as_caller(ca, signed, |ca, caller, body| {
        let req: EnrollRequest = json(body)?;
        ca.reenroll(caller, &req)
    })
    .await?;
    Ok(enrolled_response(enrolled))
}

async fn revoke(State(ca): State<Arc<Authority>>, signed: Signed) -> Result<Response, CaError> {
    let result = as_caller(ca, signed, |ca, caller, body| {
        let req: RevokeRequest = json(body)?;
        ca.revoke(caller, &req)
    })
    .await?;
    Ok(ok(result))
}

/// A body that may name a CA (`gencrl`, `cainfo`); empty bodies name none.
#[derive(Debug, Default, serde::Deserialize)]
struct CaName {
    #[serde(default)]
    caname: Option<String>,
}

impl CaName {
    fn of(body: &[u8]) -> Result<String, CaError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(String::new());
        }
        Ok(json::<CaName>(body)?.caname.unwrap_or_default())
    }
}

async fn gencrl(State(ca): State<Arc<Authority>>, signed: Signed) -> Result<Response, CaError> {
    let crl = as_caller(ca, signed, |ca, caller, body| {
        ca.gencrl(caller, &CaName::of(body)?)
    })
    .await?;
    Ok(ok(CrlResponse { crl }))
}

/// Any path or method the API does not have: a 404 or 405 in the cfssl
/// envelope (not an empty body), naming what was asked for.
async fn unknown(method: Method, uri: Uri) -> CaError {
    CaError::api(
        404,
        code::BAD_REQUEST,
        format!("no such API: {method} {}", uri.path()),
    )
}

async fn wrong_method(method: Method, uri: Uri) -> CaError {
    CaError::api(
        405,
        code::BAD_REQUEST,
        format!("{} does not take {method}", uri.path()),
    )
}

/// The router of the CA's REST API.
pub fn router(ca: Arc<Authority>) -> axum::Router {
    axum::Router::new()
        .route("/api/v1/cainfo", get(cainfo).post(cainfo))
        .route("/cainfo", get(cainfo).post(cainfo))
        .route("/api/v1/enroll", post(enroll))
        .route("/enroll", post(enroll))
        .route("/api/v1/register", post(register))
        .route("/register", post(register))
        .route("/api/v1/identities", get(list_identities).post(register))
        .route(
            "/api/v1/identities/{id}",
            get(get_identity)
                .put(modify_identity)
                .delete(remove_identity),
        )
        .route(
            "/api/v1/affiliations",
            get(list_affiliations).post(add_affiliation),
        )
        .route(
            "/api/v1/affiliations/{name}",
            get(get_affiliation)
                .put(rename_affiliation)
                .delete(delete_affiliation),
        )
        .route("/api/v1/reenroll", post(reenroll))
        .route("/reenroll", post(reenroll))
        .route("/api/v1/revoke", post(revoke))
        .route("/revoke", post(revoke))
        .route("/api/v1/gencrl", post(gencrl))
        .route("/gencrl", post(gencrl))
        .fallback(unknown)
        .method_not_allowed_fallback(wrong_method)
        .with_state(ca)
}
