//! A REST backend for asset-transfer-basic, built on the weft client SDK —
//! the "client server" between browsers or mobile apps and the ledger.
//!
//! | Method | Path                  | Chaincode call                  |
//! |--------|-----------------------|---------------------------------|
//! | GET    | `/assets`             | `GetAllAssets` (evaluate)       |
//! | GET    | `/assets?owner=&color=&pageSize=&bookmark=` | `QueryAssetsWithPagination` (evaluate): a page of the assets matching the filters, `{"assets", "count", "bookmark"}` |
//! | GET    | `/assets/{id}`        | `ReadAsset` (evaluate)          |
//! | POST   | `/assets`             | `CreateAsset` (submit)          |
//! | PUT    | `/assets/{id}/owner`  | `TransferAsset` (submit, MVCC conflicts retried) |
//! | DELETE | `/assets/{id}`        | `DeleteAsset` (submit)          |
//!
//! Errors become HTTP statuses with a JSON body `{"error": "...", "details": [...]}`:
//! 404 for an unknown asset, 409 for an existing one or a conflict that
//! outlasted the retries, 400 for bad input, 502 when the network fails.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};
use weft_client_sdk::retry::{RetryPolicy, submit_with_retry};
use weft_client_sdk::{ClientError, Contract};

/// An asset as asset-transfer-basic stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Its id.
    #[serde(rename = "ID")]
    pub id: String,
    /// Colour.
    #[serde(rename = "Color")]
    pub color: String,
    /// Size.
    #[serde(rename = "Size")]
    pub size: u64,
    /// Owner.
    #[serde(rename = "Owner")]
    pub owner: String,
    /// Appraised value.
    #[serde(rename = "AppraisedValue")]
    pub appraised_value: u64,
}

/// The body of `PUT /assets/{id}/owner`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewOwner {
    /// The new owner.
    pub owner: String,
}

/// A failed request, as JSON.
#[derive(Debug)]
pub struct ApiError(StatusCode, String, Vec<String>);

impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> Self {
        let text = e.to_string();
        let details: Vec<String> = e
            .details()
            .iter()
            .map(|d| format!("{} ({}): {}", d.msp_id, d.address, d.message))
            .collect();
        let all = format!("{text} {}", details.join(" "));
        let status = if all.contains("does not exist") {
            StatusCode::NOT_FOUND
        } else if all.contains("already exists") || e.is_mvcc_conflict() {
            StatusCode::CONFLICT
        } else if matches!(
            e,
            ClientError::Evaluate { .. } | ClientError::Endorse { .. }
        ) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::BAD_GATEWAY
        };
        Self(status, text, details)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.1, "details": self.2 });
        (self.0, Json(body)).into_response()
    }
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(
            StatusCode::BAD_GATEWAY,
            format!("the chaincode returned unexpected JSON: {e}"),
            Vec::new(),
        )
    })
}

/// The filters and page of `GET /assets`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListParams {
    /// Only this owner's assets.
    pub owner: Option<String>,
    /// Only assets of this colour.
    pub color: Option<String>,
    /// Assets per page (default 20, at most 1,000).
    pub page_size: Option<u32>,
    /// Where the page starts: the previous page's `bookmark`.
    pub bookmark: Option<String>,
}

/// A page of `GET /assets` with filters or paging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetPage {
    /// The assets, in id order.
    pub assets: Vec<Asset>,
    /// How many.
    pub count: u32,
    /// Pass as `bookmark` for the next page; empty after the last.
    pub bookmark: String,
}

/// The chaincode's answer to `QueryAssetsWithPagination`.
#[derive(Deserialize)]
struct ChaincodePage {
    records: Vec<Asset>,
    #[serde(rename = "fetchedRecordsCount")]
    fetched_records_count: u32,
    bookmark: String,
}

const MAX_PAGE: u32 = 1_000;

async fn list(
    State(c): State<Contract>,
    Query(p): Query<ListParams>,
) -> Result<Response, ApiError> {
    if p.owner.is_none() && p.color.is_none() && p.page_size.is_none() && p.bookmark.is_none() {
        let all: Vec<Asset> = decode(&c.evaluate_transaction("GetAllAssets", [""; 0]).await?)?;
        return Ok(Json(all).into_response());
    }
    let size = p.page_size.unwrap_or(20);
    if size == 0 || size > MAX_PAGE {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("pageSize must be between 1 and {MAX_PAGE}"),
            Vec::new(),
        ));
    }
    // The selector is built as JSON, so no parameter can change its shape.
    let mut selector = serde_json::Map::new();
    if let Some(owner) = p.owner {
        selector.insert("Owner".into(), owner.into());
    }
    if let Some(color) = p.color {
        selector.insert("Color".into(), color.into());
    }
    let query = serde_json::json!({ "selector": selector }).to_string();
    let page: ChaincodePage = decode(
        &c.evaluate_transaction(
            "QueryAssetsWithPagination",
            [query, size.to_string(), p.bookmark.unwrap_or_default()],
        )
        .await?,
    )?;
    Ok(Json(AssetPage {
        assets: page.records,
        count: page.fetched_records_count,
        bookmark: page.bookmark,
    })
    .into_response())
}

async fn read(State(c): State<Contract>, Path(id): Path<String>) -> Result<Json<Asset>, ApiError> {
    Ok(Json(decode(
        &c.evaluate_transaction("ReadAsset", [id]).await?,
    )?))
}

async fn create(
    State(c): State<Contract>,
    Json(a): Json<Asset>,
) -> Result<(StatusCode, Json<Asset>), ApiError> {
    let (size, value) = (a.size.to_string(), a.appraised_value.to_string());
    c.submit_transaction("CreateAsset", [&a.id, &a.color, &size, &a.owner, &value])
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

async fn transfer(
    State(c): State<Contract>,
    Path(id): Path<String>,
    Json(body): Json<NewOwner>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let previous = submit_with_retry(RetryPolicy::default(), || {
        c.submit_transaction("TransferAsset", [&id, &body.owner])
    })
    .await?;
    Ok(Json(serde_json::json!({
        "id": id,
        "owner": body.owner,
        "previousOwner": String::from_utf8_lossy(&previous),
    })))
}

async fn delete(State(c): State<Contract>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    c.submit_transaction("DeleteAsset", [id]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The REST API over `contract` (asset-transfer-basic).
pub fn app(contract: Contract) -> axum::Router {
    axum::Router::new()
        .route("/assets", get(list).post(create))
        .route("/assets/{id}", get(read).delete(delete))
        .route("/assets/{id}/owner", put(transfer))
        .with_state(contract)
}
