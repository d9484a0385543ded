//! The peer's configuration: a YAML file (`core.yaml`) in Fabric's spirit, with
//! environment overrides, validated into [`PeerConfig`].
//!
//! ```yaml
//! Peer:
//!   ID: peer0.org1.example.com
//!   ListenAddress: 0.0.0.0:7051        # Endorser (admin queries), later Gateway and Deliver
//!   TLS: { Certificate: tls/server.crt, PrivateKey: tls/server.key, ClientRootCAs: [] }
//!   MSP: { Dir: msp, ID: Org1MSP }
//!   FileSystemPath: /var/weft/peer     # one ledger per channel below it
//!   ProposalTimeWindow: 15m            # proposals further from the peer's clock are refused
//!   Gateway:
//!     MaxConcurrentRequests: 1024      # more Evaluate/Endorse at once: RESOURCE_EXHAUSTED
//!     Peers: [{ MSPID: Org2MSP, Address: peer0.org2.example.com:9051 }]   # besides anchor peers
//! Operations:
//!   ListenAddress: 127.0.0.1:9443      # /healthz, /metrics
//! ```
//!
//! Any key can be overridden by an environment variable named after its path
//! with Fabric's `CORE_` prefix: `CORE_PEER_LISTENADDRESS=127.0.0.1:7051`,
//! `CORE_PEER_MSP_ID=Org2MSP`. Relative paths are relative to the file. TLS
//! is on unless `TLS: { Enabled: false }` says otherwise. The same TLS
//! certificate is the peer's client certificate towards orderers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use weft_common::node::settings::{Listener, ListenerSection, listener, read_yaml, resolve};
pub use weft_common::node::settings::{MspSection, OperationsSection};

use crate::PeerError;

/// The `Peer` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PeerSection {
    /// The peer's name (logs).
    #[serde(rename = "ID", default = "default_id")]
    pub id: String,
    /// The service listener.
    #[serde(flatten)]
    pub listener: ListenerSection,
    /// Signing identity.
    #[serde(rename = "MSP")]
    pub msp: MspSection,
    /// Data directory.
    pub file_system_path: PathBuf,
    /// How far a proposal's timestamp may be from the peer's clock (Go duration, default 15m).
    #[serde(default)]
    pub proposal_time_window: Option<String>,
    /// Gateway settings.
    #[serde(default)]
    pub gateway: GatewaySection,
}

/// The `Peer.Gateway` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GatewaySection {
    /// Evaluate and Endorse requests served at once; more get RESOURCE_EXHAUSTED.
    #[serde(default = "default_gateway_concurrency")]
    pub max_concurrent_requests: usize,
    /// Other orgs' peers to ask for endorsements, tried before the anchor
    /// peers of the channel config.
    #[serde(default)]
    pub peers: Vec<GatewayPeer>,
}

/// A peer the gateway may ask for endorsements.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GatewayPeer {
    /// Its org's MSP id.
    #[serde(rename = "MSPID")]
    pub msp_id: String,
    /// `host:port`.
    pub address: String,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            max_concurrent_requests: default_gateway_concurrency(),
            peers: Vec::new(),
        }
    }
}

fn default_gateway_concurrency() -> usize {
    1024
}

fn default_id() -> String {
    "peer0".into()
}

fn default_operations() -> OperationsSection {
    OperationsSection::at("127.0.0.1:9443")
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CoreYaml {
    /// The peer.
    pub peer: PeerSection,
    /// Operations.
    #[serde(default = "default_operations")]
    pub operations: OperationsSection,
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
    /// MSP folder.
    pub msp_dir: PathBuf,
    /// MSP id.
    pub msp_id: String,
    /// Data directory.
    pub data_dir: PathBuf,
    /// How far a proposal's timestamp may be from the peer's clock.
    pub proposal_time_window: std::time::Duration,
    /// Gateway requests (Evaluate, Endorse) served at once before RESOURCE_EXHAUSTED.
    pub gateway_concurrency: usize,
    /// Other orgs' peers the gateway knows from this config.
    pub gateway_peers: Vec<GatewayPeer>,
}

fn cfg_err(field: &str, reason: impl std::fmt::Display) -> PeerError {
    PeerError::Config(format!("{field}: {reason}"))
}

impl PeerConfig {
    /// Parses YAML text (paths relative to `base`) with `CORE_*` environment overrides.
    pub fn parse(
        text: &str,
        base: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, PeerError> {
        let y: CoreYaml = read_yaml(text, "core.yaml", "CORE", env)?;
        Ok(Self {
            id: y.peer.id,
            listener: listener(base, "Peer", &y.peer.listener)?,
            operations: y.operations.address()?,
            msp_dir: resolve(base, &y.peer.msp.dir),
            msp_id: y.peer.msp.id,
            data_dir: resolve(base, &y.peer.file_system_path),
            proposal_time_window: match &y.peer.proposal_time_window {
                None => crate::endorser::TIMESTAMP_WINDOW,
                Some(text) => weft_common::config::parse_go_duration(text)
                    .map_err(|e| cfg_err("Peer.ProposalTimeWindow", e))?,
            },
            gateway_concurrency: y.peer.gateway.max_concurrent_requests,
            gateway_peers: y.peer.gateway.peers,
        })
    }

    /// Loads a config file, applying `CORE_*` environment variables.
    pub fn load(path: &Path) -> Result<Self, PeerError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| cfg_err(&path.display().to_string(), e))?;
        Self::parse(
            &text,
            path.parent().unwrap_or(Path::new(".")),
            std::env::vars(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_common::node::settings::ListenerTls;

    const YAML: &str = "
Peer:
  ID: peer0.org1.example.com
  ListenAddress: 0.0.0.0:7051
  TLS: { Certificate: tls/server.crt, PrivateKey: tls/server.key }
  MSP: { Dir: msp, ID: Org1MSP }
  FileSystemPath: data
";

    #[test]
    fn parses_with_fabric_defaults_and_relative_paths() {
        let c = PeerConfig::parse(YAML, Path::new("/etc/weft"), std::iter::empty()).unwrap();
        assert_eq!(c.listener.address.port(), 7051);
        assert_eq!(c.operations.port(), 9443);
        assert_eq!(c.data_dir, PathBuf::from("/etc/weft/data"));
        assert!(matches!(c.listener.tls, ListenerTls::Mutual { .. }));
    }

    #[test]
    fn core_environment_variables_override_keys() {
        let env = [
            ("CORE_PEER_LISTENADDRESS", "127.0.0.1:0"),
            ("CORE_PEER_MSP_ID", "Org2MSP"),
            ("CORE_PEER_TLS_ENABLED", "false"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let c = PeerConfig::parse(YAML, Path::new("/"), env.into_iter()).unwrap();
        assert_eq!(c.listener.address.to_string(), "127.0.0.1:0");
        assert_eq!(c.msp_id, "Org2MSP");
        assert!(matches!(c.listener.tls, ListenerTls::Plaintext));
    }

    #[test]
    fn gateway_peers_and_limits_parse() {
        let yaml = YAML.replace(
            "  FileSystemPath: data\n",
            "  FileSystemPath: data\n  Gateway:\n    MaxConcurrentRequests: 7\n    Peers: [{ MSPID: Org2MSP, Address: 127.0.0.1:9051 }]\n",
        );
        let c = PeerConfig::parse(&yaml, Path::new("/"), std::iter::empty()).unwrap();
        assert_eq!(c.gateway_concurrency, 7);
        assert_eq!(
            c.gateway_peers,
            vec![GatewayPeer {
                msp_id: "Org2MSP".into(),
                address: "127.0.0.1:9051".into()
            }]
        );
    }

    #[test]
    fn the_sample_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/core.yaml");
        let c = PeerConfig::parse(
            &std::fs::read_to_string(&path).unwrap(),
            path.parent().unwrap(),
            std::iter::empty(),
        )
        .unwrap();
        assert_eq!(c.msp_id, "Org1MSP");
        assert_eq!(c.listener.address.port(), 7051);
    }

    #[test]
    fn errors_name_the_field() {
        let err = PeerConfig::parse(
            &YAML.replace("0.0.0.0:7051", "nowhere"),
            Path::new("/"),
            std::iter::empty(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("Peer.ListenAddress"), "{err}");
        let err = PeerConfig::parse(
            &YAML.replace("FileSystemPath", "FileSystemPth"),
            Path::new("/"),
            std::iter::empty(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("FileSystemPath"), "{err}");
    }
}
