//! Listeners: TCP accept loops that complete the TLS handshake before a
//! connection reaches gRPC or HTTP, so every listener does mutual TLS with the
//! node's own verifier.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// What one listener lets remote parties hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once, handshakes included. Further clients wait
    /// in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// Time a client has to complete its TLS handshake.
    pub handshake_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_240,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// A connection holding its place under the listener's
/// [`ConnectionLimits::max_connections`] until it is dropped.
#[derive(Debug)]
pub struct Held<IO> {
    io: IO,
    _permit: OwnedSemaphorePermit,
}

impl<IO> Held<IO> {
    /// The connection itself.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Held<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Held<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<IO: tonic::transport::server::Connected> tonic::transport::server::Connected for Held<IO> {
    type ConnectInfo = IO::ConnectInfo;
    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

/// Accepts up to `limits.max_connections` TCP connections at once. An accept
/// error (EMFILE, ENFILE, ENOBUFS...) is logged and retried after a pause
/// that doubles up to a second, so a node out of descriptors does not spin.
fn accept_loop(
    listener: TcpListener,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
    mut accepted: impl FnMut(TcpStream, std::net::SocketAddr, OwnedSemaphorePermit) -> bool
    + Send
    + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::spawn(async move {
        let mut pause =
            crate::backoff::Backoff::new(Duration::from_millis(5), Duration::from_secs(1));
        loop {
            let permit = tokio::select! {
                _ = shutdown.changed() => break,
                p = slots.clone().acquire_owned() => p.expect("never closed"),
            };
            let (tcp, peer) = tokio::select! {
                _ = shutdown.changed() => break,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        let wait = pause.next_wait();
                        tracing::warn!("accept failed, retrying in {wait:?}: {e}");
                        tokio::select! {
                            _ = shutdown.changed() => break,
                            _ = tokio::time::sleep(wait) => {}
                        }
                        continue;
                    }
                },
            };
            pause.reset();
            let _ = tcp.set_nodelay(true);
            if !accepted(tcp, peer, permit) {
                break;
            }
        }
    });
}

/// Accepts TCP connections and yields those whose TLS handshake succeeds
/// within the limits.
pub fn tls_incoming(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    limits: ConnectionLimits,
    shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Held<TlsStream<TcpStream>>, std::io::Error>> {
    let acceptor = TlsAcceptor::from(config);
    let (tx, rx) = mpsc::channel(128);
    accept_loop(listener, limits, shutdown, move |tcp, peer, permit| {
        let acceptor = acceptor.clone();
        let sender = tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = sender
                        .send(Ok(Held {
                            io: tls,
                            _permit: permit,
                        }))
                        .await;
                }
                Ok(Err(e)) => tracing::info!(%peer, "TLS handshake refused: {e}"),
                Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
            }
        });
        !tx.is_closed()
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// Accepts plaintext TCP connections (only when the config disables TLS)
/// within the limits.
pub fn tcp_incoming(
    listener: TcpListener,
    limits: ConnectionLimits,
    shutdown: watch::Receiver<bool>,
) -> impl Stream<Item = Result<Held<TcpStream>, std::io::Error>> {
    let (tx, rx) = mpsc::channel(128);
    accept_loop(listener, limits, shutdown, move |tcp, _, permit| {
        let sender = tx.clone();
        tokio::spawn(async move {
            let _ = sender
                .send(Ok(Held {
                    io: tcp,
                    _permit: permit,
                }))
                .await;
        });
        !tx.is_closed()
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// The DER certificates a client presented, attached to each HTTP request.
#[derive(Debug, Clone, Default)]
pub struct ClientCerts(pub Vec<Vec<u8>>);

/// What an HTTP listener lets one request hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time a client has to send a request's headers (HTTP/1).
    pub header_read_timeout: Duration,
    /// Largest request body a handler reads.
    pub max_body: usize,
}

impl HttpLimits {
    /// An operations endpoint's: its only body is a `/logspec` of a few bytes.
    pub const OPERATIONS: Self = Self {
        header_read_timeout: Duration::from_secs(10),
        max_body: 64 * 1024,
    };

    /// `max_body` bytes, headers within 10 s.
    pub fn with_body(max_body: usize) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_body,
        }
    }
}

/// Serves an axum router on a stream of connections, attaching each
/// connection's client certificates to its requests. On shutdown, open
/// connections are closed too.
pub async fn serve_http<S, IO>(
    router: axum::Router,
    incoming: S,
    certs_of: fn(&IO) -> ClientCerts,
    limits: HttpLimits,
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
        let svc = router
            .clone()
            .layer(axum::Extension(certs))
            .layer(axum::extract::DefaultBodyLimit::max(limits.max_body));
        connections.spawn(async move {
            let svc = hyper_util::service::TowerToHyperService::new(svc);
            let mut builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            builder
                .http2()
                .timer(hyper_util::rt::TokioTimer::new())
                .max_concurrent_streams(64)
                .keep_alive_interval(Some(Duration::from_secs(60)));
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
pub fn tls_certs(io: &Held<TlsStream<TcpStream>>) -> ClientCerts {
    ClientCerts(
        io.get_ref()
            .get_ref()
            .1
            .peer_certificates()
            .map(|c| c.iter().map(|c| c.to_vec()).collect())
            .unwrap_or_default(),
    )
}

/// No certificates on plaintext connections.
pub fn no_certs(_: &Held<TcpStream>) -> ClientCerts {
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
