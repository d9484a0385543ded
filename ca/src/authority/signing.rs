//! The server's signing CAs and their files under the home directory: the
//! enrollment CA (a self-signed root, or an intermediate enrolled from a
//! parent CA) and the optional, separate TLS CA.

use std::path::{Path, PathBuf};

use base64::Engine;
use weft_common::pki::{CertAuthority, KeyType, Subject, Validity};

use super::{B64, ServerInfo};
use crate::CaError;
use crate::config::ServerConfig;

/// Where one CA keeps its certificate, key and chain.
#[derive(Debug, Clone)]
pub struct CaFiles {
    /// Its certificate (PEM).
    pub cert: PathBuf,
    /// Its key (PKCS#8 PEM).
    pub key: PathBuf,
    /// The chain clients trust, root first (intermediates only; a root's
    /// chain is its certificate).
    pub chain: PathBuf,
}

impl CaFiles {
    /// The enrollment CA's files: Fabric CA's `ca-cert.pem`,
    /// `msp/keystore/priv_sk`, `ca-chain.pem`.
    pub fn enrollment(config: &ServerConfig) -> Self {
        Self::under(&config.home)
    }

    /// The TLS CA's files, the same names under `tlsca/`.
    pub fn tls(config: &ServerConfig) -> Self {
        Self::under(&config.home.join("tlsca"))
    }

    fn under(dir: &Path) -> Self {
        Self {
            cert: dir.join("ca-cert.pem"),
            key: dir.join("msp/keystore/priv_sk"),
            chain: dir.join("ca-chain.pem"),
        }
    }

    /// Writes a CA's key, certificate and (for an intermediate) chain.
    pub fn write(&self, cert_pem: &str, key_pem: &str, chain: Option<&str>) -> Result<(), CaError> {
        for (path, text) in [(&self.key, key_pem), (&self.cert, cert_pem)]
            .into_iter()
            .chain(chain.map(|c| (&self.chain, c)))
        {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| CaError::io(dir, e))?;
            }
            if path == &self.key {
                weft_common::crypto::write_private_key(path, text.as_bytes())
            } else {
                std::fs::write(path, text)
            }
            .map_err(|e| CaError::io(path, e))?;
        }
        Ok(())
    }

    /// Creates a self-signed root here unless a certificate exists; returns whether it did.
    pub fn create_root(&self, subject: &Subject) -> Result<bool, CaError> {
        if self.cert.exists() {
            return Ok(false);
        }
        let ca = CertAuthority::new_root(
            subject,
            KeyType::EcdsaP256,
            Validity::days_from_now(15 * 365),
        )?;
        self.write(ca.cert_pem(), ca.key_pem(), None)?;
        tracing::info!(cert = %self.cert.display(), "created a root CA key and certificate");
        Ok(true)
    }
}

/// One signing CA of the server.
pub(super) struct SigningCa {
    /// Its name (`caname`).
    pub name: String,
    /// Key and certificate.
    pub ca: CertAuthority,
    /// Hex of its subject key identifier: the AKI of what it issues.
    pub aki: String,
    /// The chain clients trust, root first (PEM).
    pub chain: String,
    /// Whether it is an intermediate (so it may not certify further CAs).
    pub intermediate: bool,
    /// Whether it is the TLS CA (what it issues is for TLS).
    pub tls: bool,
}

impl SigningCa {
    /// Loads the CA in `files` (`tls`: it is the TLS CA).
    pub fn load(name: &str, files: &CaFiles, tls: bool) -> Result<Self, CaError> {
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p).map_err(|e| {
                CaError::io(
                    p,
                    format!("{e} (run `weft-ca server init -b admin:adminpw` first)"),
                )
            })
        };
        let cert = read(&files.cert)?;
        let ca = CertAuthority::from_pem(&cert, &read(&files.key)?)?;
        let (chain, intermediate) = if files.chain.exists() {
            (read(&files.chain)?, true)
        } else {
            (cert.clone(), false)
        };
        Ok(Self {
            name: name.to_string(),
            aki: subject_key_id(&cert)?,
            ca,
            chain,
            intermediate,
            tls,
        })
    }

    /// What `cainfo` says about it.
    pub fn info(&self) -> ServerInfo {
        ServerInfo {
            ca_name: self.name.clone(),
            ca_chain: B64.encode(&self.chain),
            issuer_public_key: String::new(),
            issuer_revocation_public_key: String::new(),
            version: concat!("weft-ca ", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// Hex of a certificate's subject key identifier (its AKI on what it issues).
pub(super) fn subject_key_id(cert_pem: &str) -> Result<String, CaError> {
    let der = pem::parse(cert_pem).map_err(|e| CaError::Config(format!("CA certificate: {e}")))?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.contents())
        .map_err(|e| CaError::Config(format!("CA certificate: {e}")))?;
    for ext in cert.extensions() {
        if let x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) =
            ext.parsed_extension()
        {
            return Ok(hex::encode(k.0));
        }
    }
    Err(CaError::Config(
        "the CA certificate has no subject key identifier".into(),
    ))
}
