//! The orderer's configuration: a YAML file (`orderer.yaml`) in Fabric's style,
//! with environment overrides, validated into [`OrdererConfig`].
//!
//! ```yaml
//! General:
//!   ListenAddress: 0.0.0.0:7050      # Broadcast, Deliver and the cluster service
//!   TLS: { Certificate: tls/server.crt, PrivateKey: tls/server.key, ClientRootCAs: [] }
//! Admin:
//!   ListenAddress: 127.0.0.1:7053    # channel participation API
//!   TLS: { Certificate: tls/server.crt, PrivateKey: tls/server.key, ClientRootCAs: [tlsca.pem] }
//! Operations:
//!   ListenAddress: 127.0.0.1:8443    # /healthz, /metrics, /logspec
//! MSP: { Dir: msp, ID: OrdererMSP }
//! FileLedger: { Location: /var/weft/orderer }
//! ```
//!
//! Any key can be overridden by an environment variable named after its path:
//! `ORDERER_GENERAL_LISTENADDRESS=127.0.0.1:7050`. Relative paths are relative
//! to the config file's directory. TLS is always on unless a listener says
//! `TLS: { Enabled: false }` explicitly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
pub use weft_common::node::settings::{
    Listener, ListenerSection, ListenerTls, MspSection, OperationsSection, TlsSection,
    apply_env_overrides,
};
use weft_common::node::settings::{listener, read_yaml, resolve};

use crate::OrdererError;

/// The ledger section.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LedgerSection {
    /// Data directory (one RocksDB per channel below it).
    pub location: PathBuf,
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OrdererYaml {
    /// Broadcast/Deliver/cluster listener.
    pub general: ListenerSection,
    /// Channel participation listener.
    pub admin: ListenerSection,
    /// Operations listener.
    #[serde(default = "default_operations")]
    pub operations: OperationsSection,
    /// Signing identity.
    #[serde(rename = "MSP")]
    pub msp: MspSection,
    /// Storage.
    pub file_ledger: LedgerSection,
}

fn default_operations() -> OperationsSection {
    OperationsSection::at("127.0.0.1:8443")
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct OrdererConfig {
    /// Broadcast, Deliver and the cluster service (Fabric's 7050).
    pub general: Listener,
    /// Channel participation (Fabric's 7053).
    pub admin: Listener,
    /// Operations (Fabric's 8443).
    pub operations: SocketAddr,
    /// MSP folder.
    pub msp_dir: PathBuf,
    /// MSP id.
    pub msp_id: String,
    /// Data directory.
    pub data_dir: PathBuf,
}

fn cfg_err(field: &str, reason: impl std::fmt::Display) -> OrdererError {
    OrdererError::Config(format!("{field}: {reason}"))
}

impl OrdererConfig {
    /// Parses YAML text (paths relative to `base`) with environment overrides.
    pub fn parse(
        text: &str,
        base: &Path,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, OrdererError> {
        let y: OrdererYaml = read_yaml(text, "orderer.yaml", "ORDERER", env)?;
        Ok(Self {
            general: listener(base, "General", &y.general)?,
            admin: listener(base, "Admin", &y.admin)?,
            operations: y.operations.address()?,
            msp_dir: resolve(base, &y.msp.dir),
            msp_id: y.msp.id,
            data_dir: resolve(base, &y.file_ledger.location),
        })
    }

    /// Loads a config file, applying `ORDERER_*` environment variables.
    pub fn load(path: &Path) -> Result<Self, OrdererError> {
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

    const YAML: &str = "
General:
  ListenAddress: 0.0.0.0:7050
  TLS: { Certificate: tls/server.crt, PrivateKey: tls/server.key }
Admin:
  ListenAddress: 127.0.0.1:7053
  TLS: { Certificate: tls/server.crt, PrivateKey: tls/server.key, ClientRootCAs: [tlsca.pem] }
MSP: { Dir: msp, ID: OrdererMSP }
FileLedger: { Location: data }
";

    #[test]
    fn parses_with_fabric_defaults_and_relative_paths() {
        let c = OrdererConfig::parse(YAML, Path::new("/etc/weft"), std::iter::empty()).unwrap();
        assert_eq!(c.general.address.port(), 7050);
        assert_eq!(c.admin.address.port(), 7053);
        assert_eq!(c.operations.port(), 8443);
        assert_eq!(c.data_dir, PathBuf::from("/etc/weft/data"));
        match &c.admin.tls {
            ListenerTls::Mutual { client_roots, .. } => {
                assert_eq!(client_roots, &[PathBuf::from("/etc/weft/tlsca.pem")])
            }
            ListenerTls::Plaintext => panic!("TLS is on by default"),
        }
    }

    #[test]
    fn environment_overrides_any_key() {
        let env = vec![
            (
                "ORDERER_GENERAL_LISTENADDRESS".to_string(),
                "127.0.0.1:0".to_string(),
            ),
            ("ORDERER_ADMIN_TLS_ENABLED".to_string(), "false".to_string()),
            ("OTHER_VAR".to_string(), "x".to_string()),
        ];
        let c = OrdererConfig::parse(YAML, Path::new("/"), env.into_iter()).unwrap();
        assert_eq!(c.general.address.to_string(), "127.0.0.1:0");
        assert!(matches!(c.admin.tls, ListenerTls::Plaintext));
    }

    #[test]
    fn errors_name_the_field() {
        let err = OrdererConfig::parse(
            &YAML.replace("0.0.0.0:7050", "nowhere"),
            Path::new("/"),
            std::iter::empty(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("General.ListenAddress"), "{err}");
        let err = OrdererConfig::parse(
            &YAML.replace(
                "{ Certificate: tls/server.crt, PrivateKey: tls/server.key }",
                "{}",
            ),
            Path::new("/"),
            std::iter::empty(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("General.TLS.Certificate"), "{err}");
        let err = OrdererConfig::parse(
            &YAML.replace("FileLedger", "FileLedgr"),
            Path::new("/"),
            std::iter::empty(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
