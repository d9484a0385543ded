//! Running the CA: bind, serve the REST API, stop.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::CaError;
use crate::authority::Authority;
use crate::config::ServerConfig;

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
        let incoming = weft_common::node::net::tls_incoming(listener, tls_config, stopped.clone());
        tokio::spawn(weft_common::node::net::serve_http(
            app,
            incoming,
            weft_common::node::net::tls_certs,
            stopped,
        ))
    } else {
        tracing::warn!("TLS is disabled by configuration: serving plain HTTP");
        let mut stopped = stopped;
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.changed().await;
            });
            if let Err(e) = serve.await {
                tracing::error!("CA server: {e}");
            }
        })
    };
    tracing::info!(%addr, tls = tls.enabled, "CA listening");
    Ok(CaHandle {
        addr,
        authority,
        stop,
        task,
    })
}
