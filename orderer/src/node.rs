//! The orderer node: built from a validated config and pre-bound listeners,
//! returns a handle with its addresses and a `shutdown()`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use weft_common::ids::MspId;
use weft_common::msp::folder;
use weft_common::node::client_roots::ClientRoots;
use weft_common::node::task_scope::TaskScope;
use weft_common::tls::{DynamicClientVerifier, TlsIdentity};
use weft_protos::orderer::atomic_broadcast_server::AtomicBroadcastServer;
use weft_protos::weft::cluster::cluster_server::ClusterServer;

use crate::OrdererError;
use crate::broadcast::BroadcastService;
use crate::cluster_service::ClusterService;
use crate::config::{ListenerTls, OrdererConfig};
pub use crate::node_core::{JoinError, NodeCore};
use crate::registry::Registry;
use crate::storage::ChannelStore;
use weft_common::node::deliver::DeliverSettings;
use weft_common::node::net::{
    HttpLimits, join_tasks, no_certs, serve_http, shutdown_signal, tcp_incoming, tls_certs,
    tls_incoming,
};
use weft_common::node::operations_listener::serve_operations;
use weft_common::node::settings::ServerTls;

/// HTTP/2 receive window of one stream on the general listener (the
/// connection's is twice this).
const RECEIVE_WINDOW: u32 = 8 * 1024 * 1024;

/// The node's three listeners, bound before start (tests bind `127.0.0.1:0`).
#[derive(Debug)]
pub struct Listeners {
    /// Broadcast, Deliver, cluster.
    pub general: TcpListener,
    /// Channel participation.
    pub admin: TcpListener,
    /// Operations.
    pub operations: TcpListener,
}

impl Listeners {
    /// Binds the addresses of `config`.
    pub async fn bind(config: &OrdererConfig) -> Result<Self, OrdererError> {
        Ok(Self {
            general: listen(config.general.address).await?,
            admin: listen(config.admin.address).await?,
            operations: listen(config.operations).await?,
        })
    }

    /// Listeners on free ports of 127.0.0.1, as tests and in-process networks use.
    pub async fn local() -> Result<Self, OrdererError> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(Self {
            general: listen(any).await?,
            admin: listen(any).await?,
            operations: listen(any).await?,
        })
    }
}

async fn listen(a: SocketAddr) -> Result<TcpListener, OrdererError> {
    TcpListener::bind(a)
        .await
        .map_err(|e| OrdererError::NodeConfig(format!("cannot listen on {a}: {e}")))
}

/// A running orderer.
#[derive(Debug)]
pub struct OrdererHandle {
    /// Broadcast/Deliver/cluster address.
    pub general_addr: SocketAddr,
    /// Channel participation address.
    pub admin_addr: SocketAddr,
    /// Operations address.
    pub operations_addr: SocketAddr,
    /// Shared state (tests inspect channels through it).
    pub core: Arc<NodeCore>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl OrdererHandle {
    /// Stops every listener and channel, and waits until the channels'
    /// databases are closed (so a new node can open the same data directory).
    pub async fn shutdown(self) {
        // Servers stop accepting and close their connections (gRPC: GOAWAY);
        // channels stop, which ends long-lived Deliver and Broadcast streams.
        let _ = self.shutdown.send(true);
        let channels = self.core.registry.drain();
        for c in &channels {
            c.stop_and_wait().await;
        }
        self.core.tasks.shutdown().await;
        join_tasks(self.tasks, std::time::Duration::from_secs(5)).await;
        let stores: Vec<ChannelStore> = channels.iter().map(|c| c.store().clone()).collect();
        drop(channels);
        // Requests still in flight hold the channel briefly; they end once its task has.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while !stores.iter().all(ChannelStore::is_last_handle)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

fn read_roots(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, OrdererError> {
    paths
        .iter()
        .map(|p| {
            std::fs::read(p).map_err(|e| {
                OrdererError::NodeConfig(format!("client root CA {}: {e}", p.display()))
            })
        })
        .collect()
}

/// Refuses listeners that would let an outsider in: the cluster service
/// (on the general listener) authenticates consenters by their TLS
/// certificates, so it needs TLS (Fabric refuses a cluster orderer without it
/// too); participation without TLS has no client certificate to authorise a
/// request, so it is served only on a loopback address.
fn check_listeners(config: &OrdererConfig, listeners: &Listeners) -> Result<(), OrdererError> {
    if matches!(config.general.tls, ListenerTls::Plaintext) {
        return Err(OrdererError::NodeConfig(
            "General.TLS.Enabled: false: the cluster service on the general listener tells \
             consenters apart by their TLS certificates, so TLS is required"
                .into(),
        ));
    }
    if matches!(config.admin.tls, ListenerTls::Plaintext) {
        let addr = listeners
            .admin
            .local_addr()
            .map_err(|e| OrdererError::NodeConfig(format!("the admin listener: {e}")))?;
        if !addr.ip().is_loopback() {
            return Err(OrdererError::NodeConfig(format!(
                "Admin.TLS.Enabled: false: channel participation without TLS has no client \
                 certificate to authorise requests, so it listens only on a loopback address \
                 (127.0.0.1 or ::1), not {addr}"
            )));
        }
    }
    Ok(())
}

/// Starts an orderer.
pub async fn start(
    config: OrdererConfig,
    listeners: Listeners,
) -> Result<OrdererHandle, OrdererError> {
    start_with(config, listeners, None).await
}

/// Starts an orderer whose `/logspec` changes the process's log filter through `log_control`.
pub async fn start_with(
    config: OrdererConfig,
    listeners: Listeners,
    log_control: Option<Arc<dyn crate::operations::LogControl>>,
) -> Result<OrdererHandle, OrdererError> {
    check_listeners(&config, &listeners)?;
    let signer =
        folder::load_signing_identity(&config.msp_dir, &MspId::new(config.msp_id.clone()))?;
    let (general_tls, extra_roots) = match &config.general.tls {
        ListenerTls::Tls(s) => (
            Some(TlsIdentity::load(&s.cert, &s.key)?),
            read_roots(&s.client_roots)?,
        ),
        ListenerTls::Plaintext => (None, Vec::new()),
    };
    // Fabric's General.TLS.ClientAuthRequired (false by default): clients of
    // Broadcast and Deliver are authenticated by their signed envelopes; the
    // cluster service checks the certificate a consenter presents either way.
    let general_verifier = match config.general.tls.server() {
        Some(s) => Some(DynamicClientVerifier::with_mode(
            &extra_roots,
            s.client_auth_required,
        )?),
        None => None,
    };
    let (shutdown, shutdown_rx) = watch::channel(false);
    let core = Arc::new(NodeCore {
        registry: Arc::new(Registry::default()),
        admin_tls: config.admin.tls.server().is_some(),
        data_dir: config.data_dir.clone(),
        signer,
        tls: general_tls.clone(),
        client_roots: Arc::new(ClientRoots::new(general_verifier.clone(), extra_roots)),
        shutdown: shutdown_rx.clone(),
        tasks: TaskScope::current(),
        rpc_timeout: config.rpc_timeout,
        metrics: Arc::new(crate::metrics::Metrics::default()),
        log_control,
        joining: Default::default(),
        deferred: Default::default(),
    });
    core.own_certificates().log(weft_common::clock::unix_now());
    core.resume_channels()?;

    let addrs = (
        listeners
            .general
            .local_addr()
            .map_err(|e| OrdererError::NodeConfig(e.to_string()))?,
        listeners
            .admin
            .local_addr()
            .map_err(|e| OrdererError::NodeConfig(e.to_string()))?,
        listeners
            .operations
            .local_addr()
            .map_err(|e| OrdererError::NodeConfig(e.to_string()))?,
    );
    let mut tasks = Vec::new();

    // General listener: Broadcast, Deliver, cluster.
    let router = weft_common::node::limits::grpc_server(config.keep_alive)
        // Receive windows large enough for a batch of Raft appends: with
        // hyper's 1 MB default every large append waited for window updates
        // from a busy receiver. (Not hyper's adaptive window: it starts at
        // 64 KB, and h2 sizes its allowance for small DATA frames from the
        // window, so a Broadcast stream of small envelopes got the connection
        // closed with ENHANCE_YOUR_CALM "too_many_data_frames".)
        .initial_stream_window_size(Some(RECEIVE_WINDOW))
        .initial_connection_window_size(Some(2 * RECEIVE_WINDOW))
        .add_service(
            AtomicBroadcastServer::new(BroadcastService::new(
                core.registry.clone(),
                core.metrics.clone(),
                core.signer.clone(),
                DeliverSettings {
                    time_window: config.time_window,
                },
                config
                    .general
                    .tls
                    .server()
                    .is_some_and(|s| s.client_auth_required),
            ))
            .max_decoding_message_size(config.max_recv_msg_size)
            .max_encoding_message_size(config.max_send_msg_size),
        )
        .add_service(
            ClusterServer::new(ClusterService::new(
                core.registry.clone(),
                general_tls.is_some(),
                config.max_send_msg_size,
            ))
            .max_decoding_message_size(config.max_recv_msg_size)
            .max_encoding_message_size(config.max_send_msg_size),
        );
    match (&general_tls, general_verifier) {
        (Some(id), Some(verifier)) => {
            let tls = Arc::new(weft_common::tls::server_config(id, verifier, &[b"h2"])?);
            let incoming = tls_incoming(
                listeners.general,
                tls,
                config.connections,
                shutdown_rx.clone(),
            );
            let signal = shutdown_signal(shutdown_rx.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = router.serve_with_incoming_shutdown(incoming, signal).await {
                    tracing::error!("general listener: {e}");
                }
            }));
        }
        _ => {
            let incoming = tcp_incoming(listeners.general, config.connections, shutdown_rx.clone());
            let signal = shutdown_signal(shutdown_rx.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = router.serve_with_incoming_shutdown(incoming, signal).await {
                    tracing::error!("general listener: {e}");
                }
            }));
        }
    }

    // Admin listener: channel participation.
    let admin_router = crate::participation::router(core.clone(), config.max_request_body_size);
    match &config.admin.tls {
        ListenerTls::Tls(ServerTls {
            cert,
            key,
            client_roots,
            ..
        }) => {
            // Always mutual: a certificate from Admin.TLS.ClientRootCAs is what
            // authorises a participation request (Fabric's rule).
            let id = TlsIdentity::load(cert, key)?;
            let verifier = DynamicClientVerifier::new(&read_roots(client_roots)?)?;
            let tls = Arc::new(weft_common::tls::server_config(
                &id,
                verifier,
                &[b"h2", b"http/1.1"],
            )?);
            let incoming = tls_incoming(
                listeners.admin,
                tls,
                config.connections,
                shutdown_rx.clone(),
            );
            tasks.push(tokio::spawn(serve_http(
                admin_router,
                incoming,
                tls_certs,
                HttpLimits::with_body(config.max_request_body_size),
                shutdown_rx.clone(),
            )));
        }
        ListenerTls::Plaintext => {
            let incoming = tcp_incoming(listeners.admin, config.connections, shutdown_rx.clone());
            tasks.push(tokio::spawn(serve_http(
                admin_router,
                incoming,
                no_certs,
                HttpLimits::with_body(config.max_request_body_size),
                shutdown_rx.clone(),
            )));
        }
    }

    // Operations listener.
    tasks.push(serve_operations(
        crate::operations::router(core.clone()),
        listeners.operations,
        &config.operations_tls,
        config.connections,
        shutdown_rx.clone(),
    )?);

    tracing::info!(general = %addrs.0, admin = %addrs.1, operations = %addrs.2, "orderer started");
    Ok(OrdererHandle {
        general_addr: addrs.0,
        admin_addr: addrs.1,
        operations_addr: addrs.2,
        core,
        shutdown,
        tasks,
    })
}
