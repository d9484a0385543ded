//! The orderer's configuration: Fabric's `orderer.yaml`, read with Fabric's
//! key names (compared case-insensitively) and `ORDERER_*` environment
//! overrides, validated into [`OrdererConfig`]. A Fabric operator's file works
//! unchanged: the keys weft implements are used, Fabric's other keys are
//! ignored with one warning each ([`fabric_keys`]), anything else is refused.
//!
//! ```yaml
//! General:
//!   ListenAddress: 0.0.0.0            # or 0.0.0.0:7050 without ListenPort
//!   ListenPort: 7050                  # Broadcast, Deliver and the cluster service
//!   TLS:
//!     Enabled: true                   # weft's default (plaintext only when false)
//!     Certificate: tls/server.crt
//!     PrivateKey: tls/server.key
//!     ClientAuthRequired: false       # Fabric's default: clients need no certificate
//!     ClientRootCAs: []               # besides the channels' TLS CAs
//!   LocalMSPDir: msp
//!   LocalMSPID: OrdererMSP
//!   Authentication: { TimeWindow: 15m }
//!   MaxRecvMsgSize: 104857600
//!   MaxSendMsgSize: 104857600
//! FileLedger: { Location: /var/weft/orderer }
//! Admin:                              # channel participation API (osnadmin)
//!   ListenAddress: 127.0.0.1:7053
//!   TLS: { Enabled: true, Certificate: ..., PrivateKey: ..., ClientAuthRequired: true, ClientRootCAs: [tlsca.pem] }
//! ChannelParticipation: { MaxRequestBodySize: 1 MB }
//! Operations: { ListenAddress: 127.0.0.1:8443 }   # /healthz, /metrics, /logspec
//! ```
//!
//! Any key can be set by an environment variable named after its path:
//! `ORDERER_GENERAL_LISTENPORT=7050`. Relative paths are relative to the
//! config file's directory.

mod fabric_keys;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use weft_common::node::config_file::{ConfigFile, KeyTable, read_config, read_file};
use weft_common::node::limits::ServerKeepAlive;
use weft_common::node::net::ConnectionLimits;
pub use weft_common::node::settings::{Listener, ListenerTls, ServerTls};
use weft_common::node::settings::{
    TlsKeys, byte_size, duration, listen_address, listener_tls, operations_tls, resolve,
};

use crate::OrdererError;

/// The keys weft reads from orderer.yaml.
const WEFT_KEYS: &[&str] = &[
    "admin.listenaddress",
    "admin.tls.certificate",
    "admin.tls.clientauthrequired",
    "admin.tls.clientrootcas",
    "admin.tls.enabled",
    "admin.tls.privatekey",
    "channelparticipation.maxrequestbodysize",
    "fileledger.location",
    "general.authentication.timewindow",
    "general.cluster.rpctimeout",
    "general.keepalive.serverinterval",
    "general.keepalive.servertimeout",
    "general.listenaddress",
    "general.listenport",
    "general.localmspdir",
    "general.localmspid",
    "general.maxconnections",
    "general.maxrecvmsgsize",
    "general.maxsendmsgsize",
    "general.tls.certificate",
    "general.tls.clientauthrequired",
    "general.tls.clientrootcas",
    "general.tls.enabled",
    "general.tls.privatekey",
    "operations.listenaddress",
    "operations.tls.certificate",
    "operations.tls.clientauthrequired",
    "operations.tls.clientrootcas",
    "operations.tls.enabled",
    "operations.tls.privatekey",
];

/// orderer.yaml's keys: weft's and Fabric's.
pub const KEYS: KeyTable = KeyTable {
    weft: WEFT_KEYS,
    fabric: fabric_keys::FABRIC_ONLY,
};

/// A `TLS` section (Fabric's orderer.yaml shape).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct TlsYaml {
    enabled: Option<bool>,
    certificate: Option<PathBuf>,
    privatekey: Option<PathBuf>,
    clientauthrequired: Option<bool>,
    #[serde(default)]
    clientrootcas: Option<Vec<PathBuf>>,
}

impl TlsYaml {
    fn keys(&self) -> TlsKeys<'_> {
        TlsKeys {
            enabled: self.enabled,
            cert: self.certificate.as_deref(),
            key: self.privatekey.as_deref(),
            client_auth_required: self.clientauthrequired,
            client_roots: self.clientrootcas.as_deref().unwrap_or_default(),
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
struct GeneralYaml {
    listenaddress: Option<String>,
    listenport: Option<u16>,
    #[serde(default)]
    tls: TlsYaml,
    localmspdir: Option<PathBuf>,
    localmspid: Option<String>,
    #[serde(default)]
    authentication: AuthenticationYaml,
    maxrecvmsgsize: Option<usize>,
    maxsendmsgsize: Option<usize>,
    maxconnections: Option<usize>,
    #[serde(default)]
    keepalive: KeepaliveYaml,
    #[serde(default)]
    cluster: ClusterYaml,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct KeepaliveYaml {
    serverinterval: Option<String>,
    servertimeout: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct ClusterYaml {
    rpctimeout: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct ListenerYaml {
    listenaddress: Option<String>,
    #[serde(default)]
    tls: TlsYaml,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct LedgerYaml {
    location: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct ParticipationYaml {
    maxrequestbodysize: Option<serde_yaml_ng::Value>,
}

/// The file as weft reads it (keys lowercased).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
struct OrdererYaml {
    #[serde(default)]
    general: GeneralYaml,
    #[serde(default)]
    admin: ListenerYaml,
    #[serde(default)]
    operations: ListenerYaml,
    #[serde(default)]
    fileledger: LedgerYaml,
    #[serde(default)]
    channelparticipation: ParticipationYaml,
}

/// Fabric's defaults for what an orderer.yaml leaves out.
mod defaults {
    pub const LISTEN_PORT: u16 = 7050;
    pub const ADMIN: &str = "127.0.0.1:7053";
    pub const OPERATIONS: &str = "127.0.0.1:8443";
    pub const MAX_MESSAGE: usize = 100 * 1024 * 1024;
    pub const MAX_REQUEST_BODY: usize = 1024 * 1024;
    pub const RPC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(7);
    pub const TIME_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct OrdererConfig {
    /// Broadcast, Deliver and the cluster service (Fabric's 7050).
    pub general: Listener,
    /// Channel participation (Fabric's 7053). Its TLS always requires client
    /// certificates from its `ClientRootCAs` (Fabric's rule).
    pub admin: Listener,
    /// Operations (Fabric's 8443).
    pub operations: SocketAddr,
    /// The operations listener's TLS (Fabric's `Operations.TLS`, off by default).
    pub operations_tls: ListenerTls,
    /// MSP folder.
    pub msp_dir: PathBuf,
    /// MSP id.
    pub msp_id: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// How far a Deliver request's timestamp may be from this orderer's clock.
    pub time_window: Duration,
    /// Largest gRPC message received on the general listener.
    pub max_recv_msg_size: usize,
    /// Largest gRPC message sent on the general listener.
    pub max_send_msg_size: usize,
    /// Largest channel participation request body (a join's config block).
    pub max_request_body_size: usize,
    /// Keep-alive pings on the general listener's quiet connections
    /// (`General.Keepalive.ServerInterval`/`ServerTimeout`).
    pub keep_alive: ServerKeepAlive,
    /// Connections each listener holds at once (weft's `General.MaxConnections`).
    pub connections: ConnectionLimits,
    /// How long one call to another consenter may take before the link
    /// gives up on it and reports the consenter unreachable (`General.Cluster.RPCTimeout`).
    pub rpc_timeout: Duration,
}

impl OrdererConfig {
    /// An orderer on these listeners with Fabric's defaults for the rest.
    pub fn new(
        general: Listener,
        admin: Listener,
        operations: SocketAddr,
        msp: (PathBuf, String),
        data_dir: PathBuf,
    ) -> Self {
        Self {
            general,
            admin,
            operations,
            operations_tls: ListenerTls::Plaintext,
            msp_dir: msp.0,
            msp_id: msp.1,
            data_dir,
            time_window: defaults::TIME_WINDOW,
            max_recv_msg_size: defaults::MAX_MESSAGE,
            max_send_msg_size: defaults::MAX_MESSAGE,
            max_request_body_size: defaults::MAX_REQUEST_BODY,
            keep_alive: ServerKeepAlive::default(),
            connections: ConnectionLimits::default(),
            rpc_timeout: defaults::RPC_TIMEOUT,
        }
    }
}

impl OrdererConfig {
    /// An orderer of `OrdererMSP` from its node folder (`msp/`, `tls/`) on
    /// ports to be bound by the caller (`Listeners::local` in `node`):
    /// the general listener asks for client certificates as
    /// `client_auth_required` says, the admin listener requires one issued
    /// by `admin_client_ca` (Fabric's channel-participation setting).
    pub fn local(
        node: &Path,
        client_auth_required: bool,
        admin_client_ca: PathBuf,
        data_dir: PathBuf,
    ) -> Self {
        let unbound = SocketAddr::from(([127, 0, 0, 1], 0));
        let tls =
            |required, roots| ListenerTls::Tls(ServerTls::in_node_folder(node, required, roots));
        Self::new(
            Listener {
                address: unbound,
                tls: tls(client_auth_required, Vec::new()),
            },
            Listener {
                address: unbound,
                tls: tls(true, vec![admin_client_ca]),
            },
            unbound,
            (node.join("msp"), "OrdererMSP".into()),
            data_dir,
        )
    }
}

fn cfg_err(field: &str, reason: impl std::fmt::Display) -> OrdererError {
    OrdererError::NodeConfig(format!("{field}: {reason}"))
}

fn required<T>(value: Option<T>, key: &str) -> Result<T, OrdererError> {
    value.ok_or_else(|| cfg_err(key, "required"))
}

impl OrdererConfig {
    /// Parses YAML text (paths relative to `base`) with `ORDERER_*` environment overrides.
    pub fn parse(
        text: &str,
        base: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<ConfigFile<Self>, OrdererError> {
        let file: ConfigFile<OrdererYaml> =
            read_config(text, "orderer.yaml", "ORDERER", &KEYS, env)?;
        let y = file.config;
        let g = &y.general;
        let general = Listener {
            address: listen_address(
                "General.ListenAddress",
                g.listenaddress.as_deref().unwrap_or("127.0.0.1"),
                match (&g.listenaddress, g.listenport) {
                    (_, Some(p)) => Some(p),
                    (Some(a), None) if a.parse::<SocketAddr>().is_ok() => None,
                    _ => Some(defaults::LISTEN_PORT),
                },
            )?,
            tls: listener_tls(
                base,
                g.tls.keys(),
                "General.TLS.Certificate",
                "General.TLS.PrivateKey",
            )?,
        };
        let mut admin_tls = y.admin.tls.clone();
        if admin_tls.enabled != Some(false) {
            match admin_tls.clientauthrequired {
                Some(false) => {
                    return Err(cfg_err(
                        "Admin.TLS.ClientAuthRequired",
                        "must be true when Admin.TLS is enabled: the participation API \
                         authenticates its callers by their TLS client certificate",
                    ));
                }
                _ => admin_tls.clientauthrequired = Some(true),
            }
        }
        let admin = Listener {
            address: listen_address(
                "Admin.ListenAddress",
                y.admin.listenaddress.as_deref().unwrap_or(defaults::ADMIN),
                None,
            )?,
            tls: listener_tls(
                base,
                admin_tls.keys(),
                "Admin.TLS.Certificate",
                "Admin.TLS.PrivateKey",
            )?,
        };
        let config = Self {
            general,
            admin,
            operations: listen_address(
                "Operations.ListenAddress",
                y.operations
                    .listenaddress
                    .as_deref()
                    .unwrap_or(defaults::OPERATIONS),
                None,
            )?,
            operations_tls: operations_tls(
                base,
                y.operations.tls.keys(),
                "Operations.TLS.Certificate",
                "Operations.TLS.PrivateKey",
            )?,
            msp_dir: resolve(
                base,
                &required(g.localmspdir.clone(), "General.LocalMSPDir")?,
            ),
            msp_id: required(g.localmspid.clone(), "General.LocalMSPID")?,
            data_dir: resolve(
                base,
                &required(y.fileledger.location.clone(), "FileLedger.Location")?,
            ),
            time_window: match &g.authentication.timewindow {
                Some(t) => duration("General.Authentication.TimeWindow", t)?,
                None => defaults::TIME_WINDOW,
            },
            max_recv_msg_size: g.maxrecvmsgsize.unwrap_or(defaults::MAX_MESSAGE),
            max_send_msg_size: g.maxsendmsgsize.unwrap_or(defaults::MAX_MESSAGE),
            max_request_body_size: match &y.channelparticipation.maxrequestbodysize {
                Some(v) => byte_size("ChannelParticipation.MaxRequestBodySize", v)?,
                None => defaults::MAX_REQUEST_BODY,
            },
            keep_alive: ServerKeepAlive {
                interval: match &g.keepalive.serverinterval {
                    Some(t) => duration("General.Keepalive.ServerInterval", t)?,
                    None => ServerKeepAlive::default().interval,
                },
                timeout: match &g.keepalive.servertimeout {
                    Some(t) => duration("General.Keepalive.ServerTimeout", t)?,
                    None => ServerKeepAlive::default().timeout,
                },
            },
            connections: ConnectionLimits {
                max_connections: match g.maxconnections {
                    Some(0) => return Err(cfg_err("General.MaxConnections", "must be at least 1")),
                    Some(n) => n,
                    None => ConnectionLimits::default().max_connections,
                },
                ..ConnectionLimits::default()
            },
            rpc_timeout: match &g.cluster.rpctimeout {
                Some(t) => duration("General.Cluster.RPCTimeout", t)?,
                None => defaults::RPC_TIMEOUT,
            },
        };
        Ok(ConfigFile {
            config,
            ignored: file.ignored,
        })
    }

    /// Loads a config file, applying `ORDERER_*` environment variables.
    pub fn load(path: &Path) -> Result<ConfigFile<Self>, OrdererError> {
        let (text, base) = read_file(path)?;
        Self::parse(&text, &base, std::env::vars())
    }
}

#[cfg(test)]
mod tests;
