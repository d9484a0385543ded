//! Node settings shared by every weft node's YAML config: listeners with
//! their TLS, paths relative to the config file, and environment overrides in
//! Fabric's style (`PEER_PEER_LISTENADDRESS=...`, `ORDERER_GENERAL_...`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::CommonError;

fn cfg_err(field: &str, reason: impl std::fmt::Display) -> CommonError {
    CommonError::Config(format!("{field}: {reason}"))
}

/// TLS settings of one listener.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TlsSection {
    /// Defaults to true; plaintext only when set to false explicitly.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Server certificate (PEM).
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    /// Server key (PEM).
    #[serde(default)]
    pub private_key: Option<PathBuf>,
    /// Extra client root CAs (channel orgs' TLS CAs are added automatically).
    #[serde(default, rename = "ClientRootCAs")]
    pub client_root_cas: Vec<PathBuf>,
}

/// A listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ListenerSection {
    /// `host:port`.
    pub listen_address: String,
    /// TLS.
    #[serde(default, rename = "TLS")]
    pub tls: TlsSection,
}

/// Validated TLS settings.
#[derive(Debug, Clone)]
pub enum ListenerTls {
    /// Mutual TLS with this certificate and key, and these extra client roots.
    Mutual {
        /// Certificate path.
        cert: PathBuf,
        /// Key path.
        key: PathBuf,
        /// Extra client root CA files.
        client_roots: Vec<PathBuf>,
    },
    /// Plaintext, because the config says so.
    Plaintext,
}

/// A validated listener.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Where to listen.
    pub address: SocketAddr,
    /// How.
    pub tls: ListenerTls,
}

/// Applies `PREFIX_A_B=value` environment variables to the YAML tree: each
/// segment names a key at that level, compared case-insensitively; a missing
/// one-word key is added.
pub fn apply_env_overrides(
    value: &mut serde_yaml_ng::Value,
    prefix: &str,
    vars: impl Iterator<Item = (String, String)>,
) {
    for (name, v) in vars {
        let Some(path) = name.strip_prefix(prefix).and_then(|p| p.strip_prefix('_')) else {
            continue;
        };
        let segments: Vec<&str> = path.split('_').collect();
        set_path(value, &segments, &v);
    }
}

fn set_path(node: &mut serde_yaml_ng::Value, segments: &[&str], raw: &str) {
    let Some(map) = node.as_mapping_mut() else {
        return;
    };
    // Keys may themselves be several segments long (none in weft's config, but be generous).
    for take in 1..=segments.len() {
        let wanted = segments[..take].concat().to_ascii_uppercase();
        let key = map
            .keys()
            .find(|k| k.as_str().is_some_and(|s| s.to_ascii_uppercase() == wanted))
            .cloned();
        if let Some(key) = key {
            let child = map.get_mut(&key).expect("key exists");
            if take == segments.len() {
                *child = serde_yaml_ng::from_str(raw)
                    .unwrap_or(serde_yaml_ng::Value::String(raw.into()));
            } else {
                set_path(child, &segments[take..], raw);
            }
            return;
        }
    }
    // A missing one-word leaf (e.g. `Enabled`) is added in the file's PascalCase.
    if let [leaf] = segments {
        let mut key = leaf.to_ascii_lowercase();
        if let Some(first) = key.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        let v = serde_yaml_ng::from_str(raw).unwrap_or(serde_yaml_ng::Value::String(raw.into()));
        map.insert(serde_yaml_ng::Value::String(key), v);
    }
}

/// `p` relative to `base` unless absolute.
pub fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Validates a listener section named `name` (for error messages).
pub fn listener(base: &Path, name: &str, s: &ListenerSection) -> Result<Listener, CommonError> {
    let address = s.listen_address.parse().map_err(|e| {
        cfg_err(
            &format!("{name}.ListenAddress"),
            format!(
                "{:?}: {e} (use host:port, e.g. 0.0.0.0:7050)",
                s.listen_address
            ),
        )
    })?;
    let tls = if s.tls.enabled == Some(false) {
        ListenerTls::Plaintext
    } else {
        let cert = s.tls.certificate.as_ref().ok_or_else(|| {
            cfg_err(
                &format!("{name}.TLS.Certificate"),
                "required unless TLS.Enabled is false",
            )
        })?;
        let key = s.tls.private_key.as_ref().ok_or_else(|| {
            cfg_err(
                &format!("{name}.TLS.PrivateKey"),
                "required unless TLS.Enabled is false",
            )
        })?;
        ListenerTls::Mutual {
            cert: resolve(base, cert),
            key: resolve(base, key),
            client_roots: s
                .tls
                .client_root_cas
                .iter()
                .map(|p| resolve(base, p))
                .collect(),
        }
    };
    Ok(Listener { address, tls })
}

/// A node's signing identity: an MSP folder in Fabric's layout and its MSP id.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MspSection {
    /// The MSP folder of the node's signing identity.
    pub dir: PathBuf,
    /// Its MSP id.
    #[serde(rename = "ID")]
    pub id: String,
}

/// The operations listener (plain HTTP, local by default).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OperationsSection {
    /// `host:port`.
    pub listen_address: String,
}

impl OperationsSection {
    /// The section with this default address (each node has its Fabric port).
    pub fn at(address: &str) -> Self {
        Self {
            listen_address: address.into(),
        }
    }

    /// The validated address.
    pub fn address(&self) -> Result<SocketAddr, CommonError> {
        self.listen_address
            .parse()
            .map_err(|e| cfg_err("Operations.ListenAddress", e))
    }
}

/// Parses a node's YAML file text after applying `PREFIX_*` environment
/// overrides; errors name the file.
pub fn read_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
    prefix: &str,
    env: impl Iterator<Item = (String, String)>,
) -> Result<T, CommonError> {
    let mut value: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| cfg_err(file, e))?;
    apply_env_overrides(&mut value, prefix, env);
    serde_yaml_ng::from_value(value).map_err(|e| cfg_err(file, e))
}
