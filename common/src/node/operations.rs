//! What every node's operations endpoint shares: `/logspec` over a
//! reloadable `tracing` filter (the binaries install it), and a latency
//! histogram in Prometheus' text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// Changes the process's log filter at run time (the binary owns the subscriber).
pub trait LogControl: Send + Sync {
    /// The current filter.
    fn get(&self) -> String;
    /// Sets a new filter (`RUST_LOG` syntax); an error says why it is invalid.
    fn set(&self, spec: &str) -> Result<(), crate::CommonError>;
}

/// `/logspec` backed by a reloadable `tracing` filter.
struct ReloadableFilter {
    handle: reload::Handle<EnvFilter, Registry>,
    spec: Mutex<String>,
}

impl LogControl for ReloadableFilter {
    fn get(&self) -> String {
        self.spec.lock().expect("spec lock").clone()
    }

    fn set(&self, spec: &str) -> Result<(), crate::CommonError> {
        let refused = |reason: String| crate::CommonError::LogSpec {
            spec: spec.to_string(),
            reason,
        };
        let filter = EnvFilter::try_new(spec).map_err(|e| refused(e.to_string()))?;
        self.handle
            .reload(filter)
            .map_err(|e| refused(e.to_string()))?;
        *self.spec.lock().expect("spec lock") = spec.to_string();
        Ok(())
    }
}

/// Installs the process's log subscriber (stderr, filter from `RUST_LOG`,
/// default `info`) and returns the control `/logspec` uses.
pub fn init_logging() -> Arc<dyn LogControl> {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
    Arc::new(ReloadableFilter {
        handle,
        spec: Mutex::new(spec),
    })
}

type Control = Option<Arc<dyn LogControl>>;

const NO_CONTROL: &str = "this process does not expose its log filter";

async fn get_logspec(State(c): State<Control>) -> (StatusCode, Json<serde_json::Value>) {
    match &c {
        Some(c) => (StatusCode::OK, Json(json!({ "spec": c.get() }))),
        None => (
            StatusCode::NOT_IMPLEMENTED,
            Json(json!({ "error": NO_CONTROL })),
        ),
    }
}

async fn put_logspec(
    State(c): State<Control>,
    Json(body): Json<serde_json::Value>,
) -> (StatusCode, Json<serde_json::Value>) {
    let Some(spec) = body.get("spec").and_then(|s| s.as_str()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "body must be {\"spec\": \"<filter>\"}" })),
        );
    };
    match &c {
        Some(c) => match c.set(spec) {
            Ok(()) => (StatusCode::NO_CONTENT, Json(json!({}))),
            Err(e) => (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": e.to_string() })),
            ),
        },
        None => (
            StatusCode::NOT_IMPLEMENTED,
            Json(json!({ "error": NO_CONTROL })),
        ),
    }
}

/// `GET /logspec` (the current filter) and `PUT /logspec` with `{"spec": "debug,raft=info"}`.
pub fn logspec_router(control: Control) -> Router {
    Router::new()
        .route("/logspec", get(get_logspec).put(put_logspec))
        .with_state(control)
}

/// `GET /version` as Fabric's nodes answer it: `{"Version": …, "CommitSHA": …}`.
/// It needs nothing from the node but a running HTTP server, which makes
/// it the liveness check (`/healthz` also fails while, say, no orderer
/// delivers, which a restart would not cure).
pub fn version_router(version: &'static str) -> Router {
    Router::new().route(
        "/version",
        get(move || async move {
            Json(json!({
                "Version": version,
                "CommitSHA": option_env!("WEFT_COMMIT").unwrap_or("development build"),
            }))
        }),
    )
}

/// Upper bounds (seconds) of latency histograms.
const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// A latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// Appends the histogram as metric `name` with `labels` (e.g. `stage="validate"`, or empty).
    pub fn render(&self, name: &str, labels: &str, out: &mut String) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            out,
            "{name}_sum{braces} {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}
