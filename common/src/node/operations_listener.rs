//! The operations listener as Fabric serves it: plaintext unless
//! `operations.tls.enabled`; with TLS, every resource but `/healthz` and
//! `/version` needs a client certificate from `operations.tls.clientRootCAs`
//! (Fabric's `RequireCert` on `/logspec` and `/metrics`), and with
//! `clientAuthRequired` the handshake itself refuses other clients.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::CommonError;
use crate::node::net::{
    ClientCerts, ConnectionLimits, HttpLimits, no_certs, serve_http, tcp_incoming, tls_certs,
    tls_incoming,
};
use crate::node::settings::ListenerTls;
use crate::tls::{DynamicClientVerifier, TlsIdentity};

/// Resources anyone who reaches the listener may read, TLS or not.
const OPEN: [&str; 2] = ["/healthz", "/version"];

/// Answers 401 unless the request's client certificate chains to `roots`.
async fn require_cert(roots: Arc<DynamicClientVerifier>, request: Request, next: Next) -> Response {
    if OPEN.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let verified = request
        .extensions()
        .get::<ClientCerts>()
        .is_some_and(|c| roots.verifies(&c.0));
    if verified {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({
                "error": "a client certificate from operations.tls.clientRootCAs is required"
            })),
        )
            .into_response()
    }
}

/// Starts serving the operations `router` on `listener`; the future ends at shutdown.
pub fn serve_operations(
    router: Router,
    listener: TcpListener,
    tls: &ListenerTls,
    connections: ConnectionLimits,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, CommonError> {
    let limits = HttpLimits::OPERATIONS;
    let Some(server) = tls.server() else {
        let incoming = tcp_incoming(listener, connections, shutdown.clone());
        return Ok(tokio::spawn(serve_http(
            router, incoming, no_certs, limits, shutdown,
        )));
    };
    let identity = TlsIdentity::load(&server.cert, &server.key)?;
    let roots = server
        .client_roots
        .iter()
        .map(|p| {
            std::fs::read(p).map_err(|e| {
                CommonError::NodeConfig(format!(
                    "operations.tls.clientRootCAs: {}: {e}",
                    p.display()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let verifier = DynamicClientVerifier::with_mode(&roots, server.client_auth_required)?;
    let config = Arc::new(crate::tls::server_config(
        &identity,
        verifier.clone(),
        &[b"h2", b"http/1.1"],
    )?);
    let router = router.layer(axum::middleware::from_fn(move |req, next| {
        require_cert(verifier.clone(), req, next)
    }));
    let incoming = tls_incoming(listener, config, connections, shutdown.clone());
    Ok(tokio::spawn(serve_http(
        router, incoming, tls_certs, limits, shutdown,
    )))
}
