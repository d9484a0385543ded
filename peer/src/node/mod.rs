//! The peer node: built from a validated config and a pre-bound listener,
//! returns a handle with its addresses and a `shutdown()`.
//!
//! Architecture invariant: this module only wires. The services (`endorser`,
//! `gateway`, `discovery`, `deliver`, `scc`, `operations`) each declare what
//! they need of the peer as a `Support` trait; [`PeerCore`] implements them
//! (in `support`), and no service imports this module.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use weft_common::ids::{ChannelId, MspId};
use weft_common::msp::{Msp, MspManager, SigningIdentity, folder};
use weft_common::node::client_roots::ClientRoots;
use weft_common::node::limits::ServiceLimit;
use weft_common::node::net::{join_tasks, shutdown_signal, tcp_incoming, tls_incoming};
use weft_common::node::settings::ListenerTls;
use weft_common::tls::{DynamicClientVerifier, TlsIdentity};
use weft_protos::common::Block;
use weft_protos::protos::endorser_server::EndorserServer;

use crate::PeerError;
use crate::channel::Committer;
use crate::channels::{Channels, DeliveryIdentity};

use crate::config::PeerConfig;

/// The peer's listeners, bound before start (tests bind `127.0.0.1:0`).
#[derive(Debug)]
pub struct Listeners {
    /// Peer services (Fabric's 7051).
    pub peer: TcpListener,
    /// Operations (Fabric's 9443).
    pub operations: TcpListener,
}

impl Listeners {
    /// Binds the addresses of `config`.
    pub async fn bind(config: &PeerConfig) -> Result<Self, PeerError> {
        Ok(Self {
            peer: listen(config.listener.address).await?,
            operations: listen(config.operations).await?,
        })
    }

    /// Listeners on free ports of 127.0.0.1, as tests and in-process networks use.
    pub async fn local() -> Result<Self, PeerError> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(Self {
            peer: listen(any).await?,
            operations: listen(any).await?,
        })
    }
}

async fn listen(addr: SocketAddr) -> Result<TcpListener, PeerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| PeerError::Listen {
            addr: addr.to_string(),
            source,
        })
}

/// What the peer's services share.
pub struct PeerCore {
    /// The peer's name.
    pub id: String,
    /// The peer's signing identity.
    pub signer: SigningIdentity,
    /// The peer's own MSP (who is an admin of this peer).
    pub local_msp: MspManager,
    /// How far a proposal's timestamp may be from this peer's clock.
    pub proposal_time_window: std::time::Duration,
    /// Gateway requests served at once.
    pub gateway_concurrency: usize,
    /// What remote parties may make the peer hold.
    pub limits: crate::config::PeerLimits,
    /// ProcessProposal calls in flight (`peer.limits.concurrency.endorserService`).
    pub endorser_limit: ServiceLimit,
    /// Deliver streams open (`peer.limits.concurrency.deliverService`).
    pub deliver_limit: ServiceLimit,
    /// Chaincode invocations executing (`peer.limits.chaincodeExecutions`).
    pub executions: Arc<tokio::sync::Semaphore>,
    /// Other orgs' peers the gateway knows from the config.
    pub gateway_peers: Vec<crate::config::GatewayPeer>,
    /// Endorsement counters for `/metrics`.
    pub metrics: crate::endorser::EndorserMetrics,
    /// Changes the log filter on `/logspec` (when the binary installed one).
    pub log_control: Option<Arc<dyn weft_common::node::operations::LogControl>>,
    /// Chaincode packages installed on this peer.
    pub installed: crate::chaincode::installed::InstalledChaincodes,
    data_dir: PathBuf,
    tls: Option<TlsIdentity>,
    client_auth_required: bool,
    /// Whether any member of this org may ask discovery for the local peers.
    pub discovery_org_members_allowed: bool,
    discovery_member: crate::discovery::members::LocalMember,
    /// The other peers of each channel, as last asked.
    views: crate::discovery::members::Views,
    /// The channels this peer has joined.
    pub channels: Channels,
}

impl std::fmt::Debug for PeerCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerCore").field("id", &self.id).finish()
    }
}

impl PeerCore {
    /// Joins the channel whose genesis block this is (see [`Channels::join`]).
    pub fn join(&self, genesis: Block) -> Result<ChannelId, PeerError> {
        self.channels.join(genesis)
    }

    /// The committer of a joined channel.
    pub fn channel(&self, id: &str) -> Option<Arc<Committer>> {
        self.channels.get(id)
    }

    /// Pulls blocks from these orderer endpoints instead of the channel config's
    /// (for channels joined after this call).
    pub fn set_orderer_endpoints(&self, endpoints: Vec<String>) {
        self.channels.set_orderer_endpoints(endpoints);
    }
}

/// A running peer.
#[derive(Debug)]
pub struct PeerHandle {
    /// Peer services address.
    pub addr: SocketAddr,
    /// Operations address.
    pub operations_addr: SocketAddr,
    /// Shared state (tests inspect channels through it).
    pub core: Arc<PeerCore>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl PeerHandle {
    /// Stops the listeners and block delivery, and waits until every ledger is
    /// closed (so a new node can open the same data directory).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.core.channels.stop_all().await;
        join_tasks(self.tasks, std::time::Duration::from_secs(5)).await;
    }
}

/// Starts a peer.
pub async fn start(config: PeerConfig, listeners: Listeners) -> Result<PeerHandle, PeerError> {
    start_with(config, listeners, None).await
}

/// Starts a peer whose `/logspec` changes the process's log filter through `log_control`.
pub async fn start_with(
    config: PeerConfig,
    listeners: Listeners,
    log_control: Option<Arc<dyn weft_common::node::operations::LogControl>>,
) -> Result<PeerHandle, PeerError> {
    let msp_id = MspId::new(config.msp_id.clone());
    let local = folder::load(&config.msp_dir, &msp_id)?;
    let signer = match local.signing {
        Some(s) => s,
        None => folder::load_signing_identity(&config.msp_dir, &msp_id)?,
    };
    let local_msp = MspManager::new([Msp::from_config(&local.config)?]);
    let (tls, extra_roots) = match &config.listener.tls {
        ListenerTls::Tls(s) => {
            let roots = s
                .client_roots
                .iter()
                .map(|p| std::fs::read(p).map_err(PeerError::file(p)))
                .collect::<Result<Vec<_>, _>>()?;
            (Some(TlsIdentity::load(&s.cert, &s.key)?), roots)
        }
        ListenerTls::Plaintext => (None, Vec::new()),
    };
    // The peer's own org's TLS CAs are trusted for clients from the start.
    let mut initial_roots = extra_roots.clone();
    initial_roots.extend(local.config.tls_root_certs.iter().cloned());
    initial_roots.extend(local.config.tls_intermediate_certs.iter().cloned());
    // peer.tls.clientAuthRequired (false by default, as in Fabric): clients
    // are authenticated by their signed proposals and requests.
    let verifier = match config.listener.tls.server() {
        Some(s) => Some(DynamicClientVerifier::with_mode(
            &initial_roots,
            s.client_auth_required,
        )?),
        None => None,
    };
    let (shutdown, shutdown_rx) = watch::channel(false);
    let runtime = Arc::new(crate::chaincode::ChaincodeRuntime::new(
        crate::chaincode::RuntimeConfig {
            cache_dir: Some(config.data_dir.join("chaincodes").join("compiled")),
            total_query_limit: config.limits.total_query_limit,
            fuel_per_invocation: config.limits.chaincode_fuel,
            memory_limit_bytes: config.limits.chaincode_memory,
            ..Default::default()
        },
    )?);
    let installed = crate::chaincode::installed::InstalledChaincodes::open(
        config.data_dir.join("chaincodes").join("packages"),
        runtime,
    )?;
    let addr = listeners
        .peer
        .local_addr()
        .map_err(|source| PeerError::Listen {
            addr: "the peer listener (its address cannot be read)".into(),
            source,
        })?;
    let endpoint = match &config.external_endpoint {
        Some(e) => e.clone(),
        None if addr.ip().is_unspecified() => {
            let e = format!("127.0.0.1:{}", addr.port());
            tracing::warn!(
                "peer.address is not set: service discovery will name this peer {e}, which only clients on this host can reach"
            );
            e
        }
        None => addr.to_string(),
    };
    let channels = Channels::new(
        config.data_dir.join("ledgers"),
        DeliveryIdentity {
            signer: signer.clone(),
            tls: tls.clone(),
            keep_alive: config.limits.delivery_keep_alive,
        },
        config.delivery_stall,
        Arc::new(ClientRoots::new(verifier.clone(), initial_roots)),
        shutdown_rx.clone(),
    );
    let core = Arc::new(PeerCore {
        id: config.id.clone(),
        signer,
        local_msp,
        proposal_time_window: config.proposal_time_window,
        gateway_concurrency: config.gateway_concurrency,
        limits: config.limits.clone(),
        endorser_limit: ServiceLimit::new("protos.Endorser", config.limits.endorser_concurrency),
        deliver_limit: ServiceLimit::new("protos.Deliver", config.limits.deliver_concurrency),
        executions: Arc::new(tokio::sync::Semaphore::new(
            config.limits.chaincode_executions,
        )),
        gateway_peers: config.gateway_peers.clone(),
        metrics: Default::default(),
        log_control,
        installed,
        data_dir: config.data_dir.clone(),
        tls: tls.clone(),
        client_auth_required: config
            .listener
            .tls
            .server()
            .is_some_and(|s| s.client_auth_required),
        discovery_org_members_allowed: config.discovery_org_members_allowed,
        discovery_member: crate::discovery::members::LocalMember::new(endpoint),
        views: Default::default(),
        channels,
    });
    crate::operations::Support::own_certificates(core.as_ref()).log(weft_common::clock::unix_now());
    core.channels
        .set_private_data(crate::channels::PrivateDataSource {
            fetch: Arc::new(support::PrivateFetcher(Arc::downgrade(&core))),
            reconcile_interval: config.reconcile_interval,
            transient_retention: config.transient_retention,
        });
    let weak = Arc::downgrade(&core);
    core.channels.set_chaincode_upkeep(Arc::new(move |ledger| {
        if let Some(core) = weak.upgrade() {
            crate::endorser::apply_defined_indexes(core.as_ref(), ledger);
        }
    }));
    resume_channels(&core, shutdown_rx.clone())?;

    let operations_addr =
        listeners
            .operations
            .local_addr()
            .map_err(|source| PeerError::Listen {
                addr: "the operations listener (its address cannot be read)".into(),
                source,
            })?;
    let mut tasks = Vec::new();
    let limits = &config.limits;
    let gateway = config.gateway_enabled.then(|| {
        weft_protos::gateway::gateway_server::GatewayServer::new(
            crate::gateway::GatewayService::new(core.clone(), config.gateway_concurrency, limits),
        )
        .max_decoding_message_size(limits.max_recv_msg_size)
        .max_encoding_message_size(limits.max_send_msg_size)
    });
    let router = weft_common::node::limits::grpc_server(limits.keep_alive)
        .add_service(
            EndorserServer::new(crate::endorser::EndorserService::new(
                core.clone(),
                core.endorser_limit.clone(),
            ))
            .max_decoding_message_size(limits.max_recv_msg_size)
            .max_encoding_message_size(limits.max_send_msg_size),
        )
        .add_service(
            weft_protos::protos::deliver_server::DeliverServer::new(
                crate::deliver::DeliverService::new(
                    core.clone(),
                    core.deliver_limit.clone(),
                    core.client_auth_required,
                    core.proposal_time_window,
                ),
            )
            .max_decoding_message_size(limits.max_recv_msg_size)
            .max_encoding_message_size(limits.max_send_msg_size),
        )
        .add_optional_service(gateway)
        .add_optional_service(config.discovery_enabled.then(|| {
            weft_protos::discovery::discovery_server::DiscoveryServer::new(
                crate::discovery::DiscoveryService::new(core.clone()),
            )
        }))
        .add_service(
            weft_protos::weft::membership::membership_server::MembershipServer::new(
                crate::discovery::members::MembershipService::new(core.clone()),
            ),
        )
        .add_service(
            weft_protos::weft::privdata::private_data_server::PrivateDataServer::new(
                crate::privdata::service::PrivateDataService::new(core.clone()),
            )
            .max_decoding_message_size(limits.max_recv_msg_size)
            .max_encoding_message_size(limits.max_send_msg_size),
        );
    let signal = shutdown_signal(shutdown_rx.clone());
    match (&tls, verifier) {
        (Some(id), Some(verifier)) => {
            let server_tls = Arc::new(weft_common::tls::server_config(id, verifier, &[b"h2"])?);
            let incoming = tls_incoming(
                listeners.peer,
                server_tls,
                limits.connections,
                shutdown_rx.clone(),
            );
            tasks.push(tokio::spawn(async move {
                if let Err(e) = router.serve_with_incoming_shutdown(incoming, signal).await {
                    tracing::error!("peer listener: {e}");
                }
            }));
        }
        _ => {
            let incoming = tcp_incoming(listeners.peer, limits.connections, shutdown_rx.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = router.serve_with_incoming_shutdown(incoming, signal).await {
                    tracing::error!("peer listener: {e}");
                }
            }));
        }
    }
    tasks.push(
        weft_common::node::operations_listener::serve_operations(
            crate::operations::router(core.clone(), core.log_control.clone()),
            listeners.operations,
            &config.operations_tls,
            limits.connections,
            shutdown_rx.clone(),
        )
        .map_err(PeerError::from)?,
    );
    tracing::info!(peer = %config.id, %addr, operations = %operations_addr, "peer started");
    Ok(PeerHandle {
        addr,
        operations_addr,
        core,
        shutdown,
        tasks,
    })
}

/// How often a full disk is looked at again.
const DISK_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Opens the channel ledgers found on disk. RocksDB must never meet a full
/// disk (Debian's build aborts the process on the write error), so with the
/// data directory's disk full the peer serves without them, `/healthz`
/// says why, and they are opened once it has room.
fn resume_channels(
    core: &Arc<PeerCore>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), PeerError> {
    use weft_common::node::health::{MIN_FREE_BYTES, disk_check};
    let dir = core.data_dir.clone();
    let Some(full) = disk_check(&dir, MIN_FREE_BYTES) else {
        return core.channels.resume();
    };
    tracing::error!(
        "the data directory's disk is full ({}): channel ledgers are opened once it has room",
        full.reason
    );
    core.channels
        .set_deferred(Some(format!("channels not opened: {}", full.reason)));
    let core = Arc::downgrade(core);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(DISK_RECHECK);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            if disk_check(&dir, MIN_FREE_BYTES).is_some() {
                continue;
            }
            let Some(core) = core.upgrade() else { return };
            match core.channels.resume() {
                Ok(()) => {
                    tracing::info!("the data directory's disk has room: channel ledgers opened");
                    core.channels.set_deferred(None);
                }
                Err(e) => {
                    tracing::error!("opening the channel ledgers failed: {e}");
                    core.channels
                        .set_deferred(Some(format!("channels not opened: {e}")));
                }
            }
            return;
        }
    });
    Ok(())
}
