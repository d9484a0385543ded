//! Validated listener settings shared by every weft node: where to listen and
//! with which TLS. Each node's file format (Fabric's `core.yaml` and
//! `orderer.yaml` keys) is read by its own crate through
//! [`super::config_file`] and validated into these types.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use crate::CommonError;

fn cfg_err(field: &str, reason: impl std::fmt::Display) -> CommonError {
    CommonError::NodeConfig(format!("{field}: {reason}"))
}

/// TLS of a listener.
#[derive(Debug, Clone)]
pub enum ListenerTls {
    /// TLS with this server certificate and key.
    Tls(ServerTls),
    /// Plaintext, because the config says so.
    Plaintext,
}

/// A TLS listener's settings.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// Certificate path.
    pub cert: PathBuf,
    /// Key path.
    pub key: PathBuf,
    /// Fabric's `clientAuthRequired`: when true a client must present a
    /// certificate issued by a trusted root (`client_roots` and the channels'
    /// TLS CAs). When false (Fabric's default for peers and orderers) the
    /// server asks for a certificate but neither requires nor verifies it:
    /// clients are authenticated by their signed requests.
    pub client_auth_required: bool,
    /// Extra client root CA files.
    pub client_roots: Vec<PathBuf>,
}

impl ServerTls {
    /// TLS with a node folder's certificate and key as `cryptogen` and
    /// `weft-network` lay them out (`tls/server.crt`, `tls/server.key`).
    pub fn in_node_folder(
        node: &Path,
        client_auth_required: bool,
        client_roots: Vec<PathBuf>,
    ) -> Self {
        Self {
            cert: node.join("tls/server.crt"),
            key: node.join("tls/server.key"),
            client_auth_required,
            client_roots,
        }
    }
}

impl ListenerTls {
    /// The TLS settings, unless plaintext.
    pub fn server(&self) -> Option<&ServerTls> {
        match self {
            Self::Tls(s) => Some(s),
            Self::Plaintext => None,
        }
    }
}

/// A validated listener.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Where to listen.
    pub address: SocketAddr,
    /// How.
    pub tls: ListenerTls,
}

/// `p` relative to `base` unless absolute.
pub fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// A listen address: `host:port`, or a `host` with a separate `port` (the
/// orderer's `General.ListenAddress` + `General.ListenPort`). Host names are
/// resolved, as Fabric's `net.Listen` does. `field` names the key in errors.
pub fn listen_address(
    field: &str,
    address: &str,
    port: Option<u16>,
) -> Result<SocketAddr, CommonError> {
    let text = match port {
        Some(p) if address.parse::<SocketAddr>().is_err() => {
            let host = address.trim_start_matches('[').trim_end_matches(']');
            if host.contains(':') {
                format!("[{host}]:{p}")
            } else {
                format!("{host}:{p}")
            }
        }
        Some(_) => {
            return Err(cfg_err(
                field,
                format!("{address:?} has a port and a separate port is set too: give one"),
            ));
        }
        None => address.to_string(),
    };
    if let Ok(a) = text.parse() {
        return Ok(a);
    }
    match text.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| cfg_err(field, format!("{text:?} resolves to no address"))),
        Err(e) => Err(cfg_err(
            field,
            format!("{text:?}: {e} (use host:port, e.g. 0.0.0.0:7050)"),
        )),
    }
}

/// What a listener's TLS keys said, before validation.
#[derive(Debug, Clone, Default)]
pub struct TlsKeys<'a> {
    /// `TLS.Enabled`: plaintext only when false explicitly.
    pub enabled: Option<bool>,
    /// The certificate path.
    pub cert: Option<&'a Path>,
    /// The key path.
    pub key: Option<&'a Path>,
    /// `ClientAuthRequired` (absent: false, Fabric's default).
    pub client_auth_required: Option<bool>,
    /// `ClientRootCAs`.
    pub client_roots: &'a [PathBuf],
}

/// Validates a listener's TLS. `cert_key` and `key_key` name the keys for
/// errors (`peer.tls.cert.file`, `General.TLS.Certificate`).
pub fn listener_tls(
    base: &Path,
    keys: TlsKeys<'_>,
    cert_key: &str,
    key_key: &str,
) -> Result<ListenerTls, CommonError> {
    if keys.enabled == Some(false) {
        return Ok(ListenerTls::Plaintext);
    }
    let required = |p: Option<&Path>, name: &str| {
        p.filter(|p| !p.as_os_str().is_empty())
            .map(|p| resolve(base, p))
            .ok_or_else(|| cfg_err(name, "required unless TLS is disabled explicitly"))
    };
    Ok(ListenerTls::Tls(ServerTls {
        cert: required(keys.cert, cert_key)?,
        key: required(keys.key, key_key)?,
        client_auth_required: keys.client_auth_required.unwrap_or(false),
        client_roots: keys.client_roots.iter().map(|p| resolve(base, p)).collect(),
    }))
}

/// Parses a duration setting in Go's syntax (`15m`, `7200s`), naming `field` in errors.
pub fn duration(field: &str, text: &str) -> Result<std::time::Duration, CommonError> {
    crate::config::parse_go_duration(text).map_err(|e| cfg_err(field, e))
}

/// Validates the operations listener's TLS: Fabric's `operations.tls`, off
/// unless `enabled` is true (Fabric's default, unlike its other listeners).
pub fn operations_tls(
    base: &Path,
    keys: TlsKeys<'_>,
    cert_key: &str,
    key_key: &str,
) -> Result<ListenerTls, CommonError> {
    let enabled = Some(keys.enabled == Some(true));
    listener_tls(base, TlsKeys { enabled, ..keys }, cert_key, key_key)
}

/// A byte size as Fabric writes it: a number of bytes, or `10 MB`, `512 KB`
/// (units of 1024).
pub fn byte_size(field: &str, value: &serde_yaml_ng::Value) -> Result<usize, CommonError> {
    if let Some(n) = value.as_u64() {
        return Ok(n as usize);
    }
    let text = value
        .as_str()
        .ok_or_else(|| cfg_err(field, "expected a size such as 1 MB"))?
        .trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: usize = number
        .parse()
        .map_err(|_| cfg_err(field, format!("{text:?} is not a size such as 1 MB")))?;
    let factor = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" => 1 << 10,
        "M" | "MB" => 1 << 20,
        "G" | "GB" => 1 << 30,
        other => return Err(cfg_err(field, format!("unknown unit {other:?}"))),
    };
    Ok(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_and_without_a_separate_port() {
        assert_eq!(
            listen_address("a", "0.0.0.0:7050", None).unwrap().port(),
            7050
        );
        assert_eq!(
            listen_address("a", "127.0.0.1", Some(7050))
                .unwrap()
                .to_string(),
            "127.0.0.1:7050"
        );
        assert!(listen_address("a", "localhost", Some(7050)).is_ok());
        assert_eq!(
            listen_address("a", "::1", Some(1)).unwrap().to_string(),
            "[::1]:1"
        );
        let err = listen_address("General.ListenAddress", "0.0.0.0:1", Some(2)).unwrap_err();
        assert!(err.to_string().contains("General.ListenAddress"), "{err}");
        let err = listen_address("Peer.ListenAddress", "nowhere", None).unwrap_err();
        assert!(err.to_string().contains("host:port"), "{err}");
    }

    #[test]
    fn tls_is_on_unless_disabled_and_client_auth_defaults_to_fabrics_false() {
        let cert = PathBuf::from("c.pem");
        let key = PathBuf::from("k.pem");
        let tls = listener_tls(
            Path::new("/etc"),
            TlsKeys {
                cert: Some(&cert),
                key: Some(&key),
                ..Default::default()
            },
            "c",
            "k",
        )
        .unwrap();
        let s = tls.server().unwrap();
        assert!(!s.client_auth_required);
        assert_eq!(s.cert, PathBuf::from("/etc/c.pem"));
        let err = listener_tls(
            Path::new("/"),
            TlsKeys::default(),
            "peer.tls.cert.file",
            "k",
        )
        .unwrap_err();
        assert!(err.to_string().contains("peer.tls.cert.file"), "{err}");
        let off = listener_tls(
            Path::new("/"),
            TlsKeys {
                enabled: Some(false),
                ..Default::default()
            },
            "c",
            "k",
        )
        .unwrap();
        assert!(off.server().is_none());
    }
}
