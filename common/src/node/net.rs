//! Listeners: TCP accept loops that complete the TLS handshake before a
//! connection reaches gRPC or HTTP, so every listener does mutual TLS with the
//! node's own verifier.

use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Accepts TCP connections and yields those whose TLS handshake succeeds.
pub fn tls_incoming(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    mut shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<TlsStream<TcpStream>, std::io::Error>> {
    let acceptor = TlsAcceptor::from(config);
    let (tx, rx) = mpsc::channel(128);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                _ = shutdown.changed() => break,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send(Ok(tls)).await;
                    }
                    Ok(Err(e)) => tracing::info!(%peer, "TLS handshake refused: {e}"),
                    Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// Accepts plaintext TCP connections (only when the config disables TLS).
pub fn tcp_incoming(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<TcpStream, std::io::Error>> {
    let (tx, rx) = mpsc::channel(128);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                r = listener.accept() => match r {
                    Ok((tcp, _)) => {
                        let _ = tcp.set_nodelay(true);
                        if tx.send(Ok(tcp)).await.is_err() { break; }
                    }
                    Err(e) => tracing::warn!("accept failed: {e}"),
                },
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// The DER certificates a client presented, attached to each HTTP request.
#[derive(Debug, Clone, Default)]
pub struct ClientCerts(pub Vec<Vec<u8>>);

/// Serves an axum router on a stream of connections, attaching each
/// connection's client certificates to its requests. On shutdown, open
/// connections are closed too.
pub async fn serve_http<S, IO>(
    router: axum::Router,
    incoming: S,
    certs_of: fn(&IO) -> ClientCerts,
    mut shutdown: watch::Receiver<bool>,
) where
    S: Stream<Item = Result<IO, std::io::Error>> + Send + 'static,
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use futures::StreamExt;
    let mut incoming = std::pin::pin!(incoming);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let io = tokio::select! {
            _ = shutdown.changed() => break,
            next = incoming.next() => match next {
                Some(Ok(io)) => io,
                Some(Err(_)) => continue,
                None => break,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let certs = certs_of(&io);
        let svc = router.clone().layer(axum::Extension(certs));
        connections.spawn(async move {
            let svc = hyper_util::service::TowerToHyperService::new(svc);
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            if let Err(e) = builder
                .serve_connection(hyper_util::rt::TokioIo::new(io), svc)
                .await
            {
                tracing::debug!("http connection: {e}");
            }
        });
    }
    connections.shutdown().await;
}

/// Client certificates of a TLS connection.
pub fn tls_certs(io: &TlsStream<TcpStream>) -> ClientCerts {
    ClientCerts(
        io.get_ref()
            .1
            .peer_certificates()
            .map(|c| c.iter().map(|c| c.to_vec()).collect())
            .unwrap_or_default(),
    )
}

/// No certificates on plaintext connections.
pub fn no_certs(_: &TcpStream) -> ClientCerts {
    ClientCerts::default()
}

/// Resolves once `rx` turns true (or its sender is gone): the shutdown future servers wait on.
pub async fn shutdown_signal(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Waits for a node's server tasks after shutdown was signalled; a task that
/// has not ended within `grace` is aborted.
pub async fn join_tasks(tasks: Vec<tokio::task::JoinHandle<()>>, grace: Duration) {
    for mut t in tasks {
        if tokio::time::timeout(grace, &mut t).await.is_err() {
            t.abort();
            let _ = t.await;
        }
    }
}
