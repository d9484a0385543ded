//! Running the CA: bind, serve the REST API, stop.

use std::net::SocketAddr;
use std::sync::Arc;

use weft_common::node::net::{self, ConnectionLimits, HttpLimits};

use crate::CaError;
use crate::authority::Authority;
use crate::config::ServerConfig;

/// What one request may hold: its headers within 10 s, a body of at most
/// 1 MiB (a CSR with attribute requests, or a registration, is a few KB).
const LIMITS: HttpLimits = HttpLimits {
    header_read_timeout: std::time::Duration::from_secs(10),
    max_body: 1024 * 1024,
};

/// A running CA server.
pub struct CaHandle {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The CA.
    pub authority: Arc<Authority>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl CaHandle {
    /// Stops serving and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Opens the initialised CA of `config` and serves it on `listener`.
pub async fn start(
    config: ServerConfig,
    listener: tokio::net::TcpListener,
) -> Result<CaHandle, CaError> {
    let authority = Arc::new(Authority::open(config)?);
    let addr = listener
        .local_addr()
        .map_err(|e| CaError::Config(format!("listener: {e}")))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let app = crate::api::router(authority.clone());
    let tls = &authority.config().tls;
    let task = if tls.enabled {
        let (cert, key) = tls.files(&authority.config().home);
        let identity = weft_common::tls::TlsIdentity::load(&cert, &key)?;
        let tls_config = Arc::new(weft_common::tls::server_config_server_auth(
            &identity,
            &[b"h2", b"http/1.1"],
        )?);
        let incoming = net::tls_incoming(
            listener,
            tls_config,
            ConnectionLimits::default(),
            stopped.clone(),
        );
        tokio::spawn(net::serve_http(
            app,
            incoming,
            net::tls_certs,
            LIMITS,
            stopped,
        ))
    } else {
        tracing::warn!("TLS is disabled by configuration: serving plain HTTP");
        let incoming = net::tcp_incoming(listener, ConnectionLimits::default(), stopped.clone());
        tokio::spawn(net::serve_http(
            app,
            incoming,
            net::no_certs,
            LIMITS,
            stopped,
        ))
    };
    tracing::info!(%addr, tls = tls.enabled, "CA listening");
    Ok(CaHandle {
        addr,
        authority,
        stop,
        task,
    })
}
