//! The peer's configuration: Fabric's `core.yaml`, read with Fabric's key
//! names (compared case-insensitively) and `CORE_*` environment overrides,
//! validated into [`PeerConfig`]. A Fabric operator's file works unchanged:
//! the keys weft implements are used, Fabric's other keys are ignored with one
//! warning each ([`fabric_keys`]), anything else is refused.
//!
//! ```yaml
//! peer:
//!   id: peer0.org1.example.com
//!   listenAddress: 0.0.0.0:7051        # Endorser, Deliver, Gateway
//!   tls:
//!     enabled: true                    # weft's default (plaintext only when false)
//!     clientAuthRequired: false        # Fabric's default: clients need no certificate
//!     cert: { file: tls/server.crt }   # also the peer's client certificate towards other nodes
//!     key: { file: tls/server.key }
//!     clientRootCAs: { files: [] }     # besides its own org's and the channels' TLS CAs
//!   mspConfigPath: msp
//!   localMspId: Org1MSP
//!   fileSystemPath: /var/weft/peer     # one ledger per channel below it
//!   authentication: { timewindow: 15m }
//!   gateway:
//!     enabled: true
//!     peers: [{ MSPID: Org2MSP, Address: peer0.org2.example.com:9051 }]   # weft: besides anchor peers
//!   limits:                            # beyond a limit: RESOURCE_EXHAUSTED (see SECURITY.md)
//!     concurrency: { gatewayService: 500, endorserService: 2500, deliverService: 2500 }
//!     maxConnections: 10240            # weft: connections and TLS handshakes held at once
//!     chaincodeExecutions: 4           # weft: invocations running at once (2 x cores)
//!     chaincodeFuel: 10000000000       # weft: work per invocation
//!     chaincodeMemory: 256 MB          # weft: linear memory per invocation
//!   maxRecvMsgSize: 104857600
//!   maxSendMsgSize: 104857600
//!   keepalive: { interval: 7200s, timeout: 20s, client: { interval: 60s, timeout: 20s } }
//!   address: peer0.org1.example.com:7051   # where discovery says this peer is
//!   gossip: { externalEndpoint: peer0.org1.example.com:7051 }   # (preferred over address)
//!   discovery: { enabled: true, orgMembersAllowedAccess: false }
//! operations:
//!   listenAddress: 127.0.0.1:9443      # /healthz, /metrics, /logspec
//! ledger:
//!   state: { totalQueryLimit: 100000 } # results of one range or history query
//! ```
//!
//! Any key can be set by an environment variable named after its path:
//! `CORE_PEER_LISTENADDRESS=127.0.0.1:7051`, `CORE_PEER_LOCALMSPID=Org2MSP`,
//! `CORE_PEER_TLS_CERT_FILE=...`. Relative paths are relative to the file.

mod fabric_keys;
mod limits;

pub use limits::PeerLimits;
use limits::{KeepaliveYaml, LimitsKeys, LimitsYaml};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use weft_common::node::config_file::{ConfigFile, KeyTable, read_config, read_file};
use weft_common::node::settings::{
    Listener, ListenerTls, ServerTls, TlsKeys, duration, listen_address, listener_tls,
    operations_tls, resolve,
};

use crate::PeerError;

/// The keys weft reads from core.yaml.
const WEFT_KEYS: &[&str] = &[
    "ledger.state.totalquerylimit",
    "operations.listenaddress",
    "operations.tls.cert.file",
    "operations.tls.clientauthrequired",
    "operations.tls.clientrootcas.files",
    "operations.tls.enabled",
    "operations.tls.key.file",
    "peer.address",
    "peer.authentication.timewindow",
    "peer.deliveryclient.reconnecttotaltimethreshold",
    "peer.discovery.enabled",
    "peer.discovery.orgmembersallowedaccess",
    "peer.filesystempath",
    "peer.gateway.enabled",
    "peer.gateway.peers",
    "peer.gossip.externalendpoint",
    "peer.id",
    "peer.keepalive.client.interval",
    "peer.keepalive.client.timeout",
    "peer.keepalive.deliveryclient.interval",
    "peer.keepalive.deliveryclient.timeout",
    "peer.keepalive.interval",
    "peer.keepalive.timeout",
    "peer.limits.chaincodeexecutions",
    "peer.limits.chaincodefuel",
    "peer.limits.chaincodememory",
    "peer.limits.concurrency.deliverservice",
    "peer.limits.concurrency.endorserservice",
    "peer.limits.concurrency.gatewayservice",
    "peer.limits.maxconnections",
    "peer.listenaddress",
    "peer.localmspid",
    "peer.maxrecvmsgsize",
    "peer.maxsendmsgsize",
    "peer.mspconfigpath",
    "peer.gossip.pvtdata.reconcilesleepinterval",
    "peer.gossip.pvtdata.transientstoremaxblockretention",
    "peer.tls.cert.file",
    "peer.tls.clientauthrequired",
    "peer.tls.clientrootcas.files",
    "peer.tls.enabled",
    "peer.tls.key.file",
];

/// core.yaml's keys: weft's and Fabric's.
pub const KEYS: KeyTable = KeyTable {
    weft: WEFT_KEYS,
    fabric: fabric_keys::FABRIC_ONLY,
};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct FileYaml {
    file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct FilesYaml {
    files: Option<Vec<PathBuf>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct TlsYaml {
    enabled: Option<bool>,
    clientauthrequired: Option<bool>,
    #[serde(default)]
    cert: FileYaml,
    #[serde(default)]
    key: FileYaml,
    #[serde(default)]
    clientrootcas: FilesYaml,
}

impl TlsYaml {
    fn keys(&self) -> TlsKeys<'_> {
        TlsKeys {
            enabled: self.enabled,
            cert: self.cert.file.as_deref(),
            key: self.key.file.as_deref(),
            client_auth_required: self.clientauthrequired,
            client_roots: self.clientrootcas.files.as_deref().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct AuthenticationYaml {
    timewindow: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct GatewayYaml {
    enabled: Option<bool>,
    peers: Option<Vec<GatewayPeer>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct DiscoveryYaml {
    enabled: Option<bool>,
    orgmembersallowedaccess: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct GossipYaml {
    externalendpoint: Option<String>,
    #[serde(default)]
    pvtdata: PvtDataYaml,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct PvtDataYaml {
    reconcilesleepinterval: Option<String>,
    transientstoremaxblockretention: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct DeliveryClientYaml {
    reconnecttotaltimethreshold: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct PeerYaml {
    id: Option<String>,
    listenaddress: Option<String>,
    address: Option<String>,
    #[serde(default)]
    gossip: GossipYaml,
    #[serde(default)]
    discovery: DiscoveryYaml,
    #[serde(default)]
    tls: TlsYaml,
    mspconfigpath: Option<PathBuf>,
    localmspid: Option<String>,
    filesystempath: Option<PathBuf>,
    #[serde(default)]
    authentication: AuthenticationYaml,
    #[serde(default)]
    gateway: GatewayYaml,
    #[serde(default)]
    limits: LimitsYaml,
    #[serde(default)]
    keepalive: KeepaliveYaml,
    maxrecvmsgsize: Option<usize>,
    maxsendmsgsize: Option<usize>,
    #[serde(default)]
    deliveryclient: DeliveryClientYaml,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct StateYaml {
    totalquerylimit: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct LedgerYaml {
    #[serde(default)]
    state: StateYaml,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct OperationsYaml {
    listenaddress: Option<String>,
    #[serde(default)]
    tls: TlsYaml,
}

/// The file as weft reads it (keys lowercased).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct CoreYaml {
    #[serde(default)]
    peer: PeerYaml,
    #[serde(default)]
    operations: OperationsYaml,
    #[serde(default)]
    ledger: LedgerYaml,
}

/// A peer the gateway may ask for endorsements (weft's `peer.gateway.peers`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayPeer {
    /// Its org's MSP id.
    #[serde(rename = "MSPID", alias = "mspid", alias = "mspId")]
    pub msp_id: String,
    /// `host:port`.
    #[serde(rename = "Address", alias = "address")]
    pub address: String,
}

/// Fabric's defaults for what a core.yaml leaves out.
mod defaults {
    pub const ID: &str = "peer0";
    pub const LISTEN: &str = "0.0.0.0:7051";
    pub const OPERATIONS: &str = "127.0.0.1:9443";
    pub const GATEWAY_CONCURRENCY: usize = 500;
    pub const DELIVERY_STALL: std::time::Duration = std::time::Duration::from_secs(3600);
    pub const RECONCILE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
    /// How far a proposal's timestamp may be from the peer's clock
    /// (`peer.authentication.timewindow`, Fabric's 15 minutes).
    pub const PROPOSAL_TIME_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// The peer's name.
    pub id: String,
    /// Services listener (Fabric's 7051).
    pub listener: Listener,
    /// Operations listener (Fabric's 9443).
    pub operations: SocketAddr,
    /// The operations listener's TLS (Fabric's `operations.tls`, off by default).
    pub operations_tls: ListenerTls,
    /// How long every orderer may fail to deliver blocks before `/healthz`
    /// reports the channel (`peer.deliveryclient.reconnectTotalTimeThreshold`,
    /// 3600 s; Fabric's peer gives up delivery then, weft's keeps trying).
    pub delivery_stall: std::time::Duration,
    /// How often missing private data is asked for again
    /// (`peer.gossip.pvtData.reconcileSleepInterval`, 1 min).
    pub reconcile_interval: std::time::Duration,
    /// Blocks a transient store entry lives at most
    /// (`peer.gossip.pvtData.transientstoreMaxBlockRetention`, 1000).
    pub transient_retention: u64,
    /// MSP folder.
    pub msp_dir: PathBuf,
    /// MSP id.
    pub msp_id: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// How far a proposal's (or Deliver request's) timestamp may be from the
    /// peer's clock (`peer.authentication.timewindow`).
    pub proposal_time_window: std::time::Duration,
    /// Whether the Gateway service is served (`peer.gateway.enabled`).
    pub gateway_enabled: bool,
    /// Gateway requests (Evaluate, Endorse) served at once before RESOURCE_EXHAUSTED
    /// (`peer.limits.concurrency.gatewayService`).
    pub gateway_concurrency: usize,
    /// Other orgs' peers the gateway knows from this config.
    pub gateway_peers: Vec<GatewayPeer>,
    /// The endpoint other peers and clients reach this peer at, as service
    /// discovery reports it (`peer.gossip.externalEndpoint`, else
    /// `peer.address`; unset: the address the listener is bound to).
    pub external_endpoint: Option<String>,
    /// Whether service discovery is served (`peer.discovery.enabled`).
    pub discovery_enabled: bool,
    /// What remote parties may make the peer hold.
    pub limits: PeerLimits,
    /// Whether any member of this peer's org, not only its admins, may ask
    /// for the local peers (`peer.discovery.orgMembersAllowedAccess`).
    pub discovery_org_members_allowed: bool,
}

impl PeerConfig {
    /// A peer on this listener with Fabric's defaults for the rest.
    pub fn new(
        id: impl Into<String>,
        listener: Listener,
        operations: SocketAddr,
        msp: (PathBuf, String),
        data_dir: PathBuf,
    ) -> Self {
        Self {
            id: id.into(),
            listener,
            operations,
            operations_tls: ListenerTls::Plaintext,
            delivery_stall: defaults::DELIVERY_STALL,
            reconcile_interval: defaults::RECONCILE_INTERVAL,
            transient_retention: crate::channel::transient::DEFAULT_MAX_BLOCK_RETENTION,
            msp_dir: msp.0,
            msp_id: msp.1,
            data_dir,
            proposal_time_window: defaults::PROPOSAL_TIME_WINDOW,
            gateway_enabled: true,
            gateway_concurrency: defaults::GATEWAY_CONCURRENCY,
            gateway_peers: Vec::new(),
            external_endpoint: None,
            discovery_enabled: true,
            discovery_org_members_allowed: false,
            limits: PeerLimits::default(),
        }
    }
}

impl PeerConfig {
    /// Peer `name` of `msp_id` from its node folder (`msp/`, `tls/`) on
    /// ports to be bound by the caller (`Listeners::local` in `node`),
    /// asking for client certificates as `client_auth_required` says.
    pub fn local(
        name: &str,
        node: &Path,
        msp_id: &str,
        client_auth_required: bool,
        data_dir: PathBuf,
    ) -> Self {
        let unbound = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::new(
            name,
            Listener {
                address: unbound,
                tls: ListenerTls::Tls(ServerTls::in_node_folder(
                    node,
                    client_auth_required,
                    Vec::new(),
                )),
            },
            unbound,
            (node.join("msp"), msp_id.into()),
            data_dir,
        )
    }
}

fn cfg_err(field: &str, reason: impl std::fmt::Display) -> PeerError {
    PeerError::Config(format!("{field}: {reason}"))
}

fn required<T>(value: Option<T>, key: &str) -> Result<T, PeerError> {
    value.ok_or_else(|| cfg_err(key, "required"))
}

impl PeerConfig {
    /// Parses YAML text (paths relative to `base`) with `CORE_*` environment overrides.
    pub fn parse(
        text: &str,
        base: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<ConfigFile<Self>, PeerError> {
        let file: ConfigFile<CoreYaml> = read_config(text, "core.yaml", "CORE", &KEYS, env)?;
        let p = file.config.peer;
        let tls = listener_tls(
            base,
            p.tls.keys(),
            "peer.tls.cert.file",
            "peer.tls.key.file",
        )?;
        let config = Self {
            id: p.id.unwrap_or_else(|| defaults::ID.into()),
            listener: Listener {
                address: listen_address(
                    "peer.listenAddress",
                    p.listenaddress.as_deref().unwrap_or(defaults::LISTEN),
                    None,
                )?,
                tls,
            },
            operations: listen_address(
                "operations.listenAddress",
                file.config
                    .operations
                    .listenaddress
                    .as_deref()
                    .unwrap_or(defaults::OPERATIONS),
                None,
            )?,
            delivery_stall: match &p.deliveryclient.reconnecttotaltimethreshold {
                None => defaults::DELIVERY_STALL,
                Some(text) => duration("peer.deliveryclient.reconnectTotalTimeThreshold", text)?,
            },
            reconcile_interval: match &p.gossip.pvtdata.reconcilesleepinterval {
                None => defaults::RECONCILE_INTERVAL,
                Some(text) => duration("peer.gossip.pvtData.reconcileSleepInterval", text)?,
            },
            transient_retention: p
                .gossip
                .pvtdata
                .transientstoremaxblockretention
                .unwrap_or(crate::channel::transient::DEFAULT_MAX_BLOCK_RETENTION)
                .max(1),
            operations_tls: operations_tls(
                base,
                file.config.operations.tls.keys(),
                "operations.tls.cert.file",
                "operations.tls.key.file",
            )?,
            msp_dir: resolve(base, &required(p.mspconfigpath, "peer.mspConfigPath")?),
            msp_id: required(p.localmspid, "peer.localMspId")?,
            data_dir: resolve(base, &required(p.filesystempath, "peer.fileSystemPath")?),
            proposal_time_window: match &p.authentication.timewindow {
                None => defaults::PROPOSAL_TIME_WINDOW,
                Some(text) => duration("peer.authentication.timewindow", text)?,
            },
            gateway_enabled: p.gateway.enabled.unwrap_or(true),
            gateway_concurrency: p
                .limits
                .concurrency
                .gatewayservice
                .unwrap_or(defaults::GATEWAY_CONCURRENCY),
            gateway_peers: p.gateway.peers.unwrap_or_default(),
            external_endpoint: p
                .gossip
                .externalendpoint
                .filter(|e| !e.is_empty())
                .or(p.address.filter(|a| !a.is_empty())),
            discovery_enabled: p.discovery.enabled.unwrap_or(true),
            discovery_org_members_allowed: p.discovery.orgmembersallowedaccess.unwrap_or(false),
            limits: PeerLimits::parse(LimitsKeys {
                max_recv: p.maxrecvmsgsize,
                max_send: p.maxsendmsgsize,
                keepalive: &p.keepalive,
                limits: &p.limits,
                total_query_limit: file.config.ledger.state.totalquerylimit,
            })?,
        };
        Ok(ConfigFile {
            config,
            ignored: file.ignored,
        })
    }

    /// Loads a config file, applying `CORE_*` environment variables.
    pub fn load(path: &Path) -> Result<ConfigFile<Self>, PeerError> {
        let (text, base) = read_file(path)?;
        Self::parse(&text, &base, std::env::vars())
    }
}

#[cfg(test)]
mod tests;
