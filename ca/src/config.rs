//! The CA server's settings: YAML (`fabric-ca-server-config.yaml`'s main
//! keys) with `FABRIC_CA_SERVER_*` environment overrides, as Fabric CA reads them.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::CaError;

/// The CA's identity and what it issues.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", default)]
pub struct CaSection {
    /// The CA's name (`caname` in requests; Fabric CA's `ca.name`).
    pub name: String,
}

impl Default for CaSection {
    fn default() -> Self {
        Self { name: "ca".into() }
    }
}

/// Subject of the CA's own certificate (Fabric CA's `csr`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CsrSection {
    /// Common name of the CA certificate.
    pub cn: String,
    /// Organisation: it also goes into every certificate the CA issues.
    #[serde(rename = "o")]
    pub organization: String,
}

impl Default for CsrSection {
    fn default() -> Self {
        Self {
            cn: "fabric-ca-server".into(),
            organization: "Hyperledger".into(),
        }
    }
}

/// Registry defaults (Fabric CA's `registry`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", default)]
pub struct RegistrySection {
    /// Enrollments an identity gets when its registration names none (-1: unlimited).
    pub maxenrollments: i64,
}

impl Default for RegistrySection {
    fn default() -> Self {
        Self { maxenrollments: -1 }
    }
}

/// TLS on the listener (Fabric CA's `tls`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TlsSection {
    /// Serve HTTPS (the default; `false` must be said explicitly).
    pub enabled: bool,
    /// Server certificate (PEM); default: `tls-cert.pem` in the home, issued
    /// by the CA itself at `init`.
    pub certfile: Option<PathBuf>,
    /// Its key (PEM); default: `msp/keystore/tls-key.pem` in the home.
    pub keyfile: Option<PathBuf>,
    /// Host names and addresses the generated certificate is valid for.
    pub hosts: Vec<String>,
}

impl Default for TlsSection {
    fn default() -> Self {
        Self {
            enabled: true,
            certfile: None,
            keyfile: None,
            hosts: vec!["localhost".into(), "127.0.0.1".into()],
        }
    }
}

impl TlsSection {
    /// The certificate and key files, resolved against `home`.
    pub fn files(&self, home: &std::path::Path) -> (PathBuf, PathBuf) {
        (
            self.certfile
                .clone()
                .unwrap_or_else(|| home.join("tls-cert.pem")),
            self.keyfile
                .clone()
                .unwrap_or_else(|| home.join("msp/keystore/tls-key.pem")),
        )
    }
}

/// Whether identities and affiliations may be removed (Fabric CA's `cfg`;
/// both off by default, as in Fabric CA).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RemovalSection {
    /// `cfg.identities`: removal, failed-login throttling, secret hashing.
    pub identities: IdentitiesSection,
    /// `cfg.affiliations.allowremove`.
    pub affiliations: AllowRemove,
}

/// `cfg.identities`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default)]
pub struct IdentitiesSection {
    /// Identities may be removed (off by default, as in Fabric CA).
    pub allowremove: bool,
    /// Failed secrets in a row for one id before its logins are throttled
    /// (Fabric CA's name and default, 10). Fabric CA then locks the id until
    /// a registrar resets its secret, which lets anyone lock out the admin by
    /// guessing; weft instead makes each further attempt wait a back-off that
    /// doubles up to 15 minutes, and a success clears it.
    pub passwordattempts: u32,
    /// PBKDF2-HMAC-SHA256 iterations for newly stored secrets (OWASP's
    /// 600,000 by default). Each secret keeps the count it was hashed with.
    pub passwordhashiterations: u32,
}

impl Default for IdentitiesSection {
    fn default() -> Self {
        Self {
            allowremove: false,
            passwordattempts: 10,
            passwordhashiterations: 600_000,
        }
    }
}

impl IdentitiesSection {
    /// An error naming `cfg.identities.allowremove` unless removal is allowed.
    pub fn check(self, what: &str, section: &str) -> Result<(), CaError> {
        AllowRemove {
            allowremove: self.allowremove,
        }
        .check(what, section)
    }
}

/// Fabric CA's compatibility switches.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct CompatibilitySection {
    /// Accept Fabric CA 1.3's token form, whose signature covers only the
    /// body (`FABRIC_CA_SERVER_COMPATIBILITY_MODE_V1_3`). Off by default.
    /// Even when on, such a token is taken only for a POST with a body,
    /// where what the body asks names the operation; a body-less token could
    /// otherwise be replayed onto any GET or DELETE.
    pub legacytokens: bool,
}

/// One `allowremove` switch.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct AllowRemove {
    /// Removal allowed.
    pub allowremove: bool,
}

impl AllowRemove {
    /// An error naming the switch (`cfg.<section>.allowremove`) unless removing `what` is allowed.
    pub fn check(self, what: &str, section: &str) -> Result<(), CaError> {
        if self.allowremove {
            return Ok(());
        }
        Err(CaError::api(
            403,
            crate::error::code::REMOVAL_DISABLED,
            format!("{what} removal is disabled on this CA (set cfg.{section}.allowremove: true)"),
        ))
    }
}

/// A second, separate CA on the same server for TLS certificates, as Fabric
/// deployments run one: enrollments with `profile: tls` (or addressed to its
/// name) are signed by it, so TLS trust and identity trust have different roots.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TlsCaSection {
    /// Run the TLS CA.
    pub enabled: bool,
    /// Its name (`caname` in requests).
    pub name: String,
    /// Common name of its certificate [default: `tlsca.` + the CA's CN].
    pub cn: String,
}

impl Default for TlsCaSection {
    fn default() -> Self {
        Self {
            enabled: false,
            name: "tlsca".into(),
            cn: String::new(),
        }
    }
}

/// The parent of an intermediate CA (Fabric CA's `intermediate`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IntermediateSection {
    /// Where to enroll.
    pub parentserver: ParentServer,
    /// TLS roots to trust for the parent.
    pub tls: ParentTls,
}

/// `intermediate.parentserver`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ParentServer {
    /// `https://id:secret@host:port`; the identity needs `hf.IntermediateCA=true`.
    /// Empty: this CA is a root.
    pub url: String,
    /// The parent's CA name (empty: its default).
    pub caname: String,
}

/// `intermediate.tls`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ParentTls {
    /// PEM files of the parent's TLS roots.
    pub certfiles: Vec<PathBuf>,
}

/// Fabric CA's default affiliation tree.
fn default_affiliations() -> std::collections::BTreeMap<String, Vec<String>> {
    [
        (
            "org1".to_string(),
            vec!["department1".to_string(), "department2".to_string()],
        ),
        ("org2".to_string(), vec!["department1".to_string()]),
    ]
    .into_iter()
    .collect()
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Where the CA keeps its key, certificate and database.
    #[serde(skip)]
    pub home: PathBuf,
    /// Listen address (Fabric CA's default port 7054).
    pub address: String,
    /// Port, when `address` has none.
    pub port: u16,
    /// The CA.
    pub ca: CaSection,
    /// Its certificate's subject.
    pub csr: CsrSection,
    /// Registry defaults.
    pub registry: RegistrySection,
    /// Validity of issued certificates, in days (Fabric CA's default: one year).
    pub expiry_days: i64,
    /// TLS on the listener.
    pub tls: TlsSection,
    /// Removal switches.
    pub cfg: RemovalSection,
    /// Compatibility switches.
    pub compatibility: CompatibilitySection,
    /// The separate TLS CA.
    pub tlsca: TlsCaSection,
    /// The parent, when this CA is an intermediate.
    pub intermediate: IntermediateSection,
    /// Affiliations created at `init` (top level → children), Fabric CA's
    /// `affiliations` section.
    pub affiliations: std::collections::BTreeMap<String, Vec<String>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            home: PathBuf::from("."),
            address: "0.0.0.0".into(),
            port: 7054,
            ca: CaSection::default(),
            csr: CsrSection::default(),
            registry: RegistrySection::default(),
            expiry_days: 365,
            tls: TlsSection::default(),
            cfg: RemovalSection::default(),
            compatibility: CompatibilitySection::default(),
            tlsca: TlsCaSection::default(),
            intermediate: IntermediateSection::default(),
            affiliations: default_affiliations(),
        }
    }
}

impl ServerConfig {
    /// Every affiliation of the `affiliations` section, parents first
    /// (`org1`, `org1.department1`, …).
    pub fn affiliation_names(&self) -> Vec<String> {
        let mut all = Vec::new();
        for (top, children) in &self.affiliations {
            all.push(top.clone());
            all.extend(children.iter().map(|c| format!("{top}.{c}")));
        }
        all
    }

    /// `cfg.identities.passwordhashiterations`, which must not be 0.
    pub fn secret_iterations(&self) -> Result<std::num::NonZeroU32, CaError> {
        std::num::NonZeroU32::new(self.cfg.identities.passwordhashiterations).ok_or_else(|| {
            CaError::Config("cfg.identities.passwordhashiterations must be at least 1".into())
        })
    }

    /// The listen address.
    pub fn listen(&self) -> Result<SocketAddr, CaError> {
        let text = if self.address.contains(':') {
            self.address.clone()
        } else {
            format!("{}:{}", self.address, self.port)
        };
        text.parse()
            .map_err(|e| CaError::Config(format!("address {text:?}: {e}")))
    }

    /// Reads YAML (may be empty) and applies `FABRIC_CA_SERVER_*` overrides:
    /// `_ADDRESS`, `_PORT`, `_CA_NAME`, `_CSR_CN`, `_TLS_ENABLED`, `_REGISTRY_MAXENROLLMENTS`,
    /// `_CFG_IDENTITIES_ALLOWREMOVE`, `_CFG_IDENTITIES_PASSWORDATTEMPTS`,
    /// `_CFG_IDENTITIES_PASSWORDHASHITERATIONS`, `_COMPATIBILITY_MODE_V1_3`,
    /// `_CFG_AFFILIATIONS_ALLOWREMOVE`,
    /// `_TLSCA_ENABLED`, `_TLSCA_NAME`, `_INTERMEDIATE_PARENTSERVER_URL`,
    /// `_INTERMEDIATE_PARENTSERVER_CANAME`, `_INTERMEDIATE_TLS_CERTFILES` (comma-separated).
    pub fn parse(
        text: &str,
        home: PathBuf,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, CaError> {
        let mut c: Self = if text.trim().is_empty() {
            Self::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| CaError::Config(e.to_string()))?
        };
        c.home = home;
        for (k, v) in env {
            let Some(key) = k.strip_prefix("FABRIC_CA_SERVER_") else {
                continue;
            };
            let bad = |e: &dyn std::fmt::Display| CaError::Config(format!("{k}={v}: {e}"));
            match key {
                "ADDRESS" => c.address = v,
                "PORT" => c.port = v.parse().map_err(|e| bad(&e))?,
                "CA_NAME" => c.ca.name = v,
                "CSR_CN" => c.csr.cn = v,
                "TLS_ENABLED" => c.tls.enabled = v.parse().map_err(|e| bad(&e))?,
                "REGISTRY_MAXENROLLMENTS" => {
                    c.registry.maxenrollments = v.parse().map_err(|e| bad(&e))?
                }
                "CFG_IDENTITIES_ALLOWREMOVE" => {
                    c.cfg.identities.allowremove = v.parse().map_err(|e| bad(&e))?
                }
                "CFG_IDENTITIES_PASSWORDATTEMPTS" => {
                    c.cfg.identities.passwordattempts = v.parse().map_err(|e| bad(&e))?
                }
                "CFG_IDENTITIES_PASSWORDHASHITERATIONS" => {
                    c.cfg.identities.passwordhashiterations = v.parse().map_err(|e| bad(&e))?
                }
                "COMPATIBILITY_MODE_V1_3" => {
                    c.compatibility.legacytokens = v.parse().map_err(|e| bad(&e))?
                }
                "CFG_AFFILIATIONS_ALLOWREMOVE" => {
                    c.cfg.affiliations.allowremove = v.parse().map_err(|e| bad(&e))?
                }
                "TLSCA_ENABLED" => c.tlsca.enabled = v.parse().map_err(|e| bad(&e))?,
                "TLSCA_NAME" => c.tlsca.name = v,
                "INTERMEDIATE_PARENTSERVER_URL" => c.intermediate.parentserver.url = v,
                "INTERMEDIATE_PARENTSERVER_CANAME" => c.intermediate.parentserver.caname = v,
                "INTERMEDIATE_TLS_CERTFILES" => {
                    c.intermediate.tls.certfiles = v.split(',').map(PathBuf::from).collect()
                }
                _ => {}
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_yaml_and_env() {
        let c = ServerConfig::parse("", "/h".into(), std::iter::empty()).unwrap();
        assert_eq!(c.listen().unwrap().port(), 7054);
        let c = ServerConfig::parse(
            "ca: { name: ca-org1 }\ncsr: { cn: ca.org1.example.com, o: org1.example.com }\nregistry: { maxenrollments: 3 }\n",
            "/h".into(),
            [("FABRIC_CA_SERVER_PORT".to_string(), "8054".to_string())].into_iter(),
        )
        .unwrap();
        assert_eq!(c.ca.name, "ca-org1");
        assert_eq!(c.csr.organization, "org1.example.com");
        assert_eq!(c.registry.maxenrollments, 3);
        assert_eq!(c.listen().unwrap().port(), 8054);
        assert!(ServerConfig::parse("port: x", "/h".into(), std::iter::empty()).is_err());
        let c = ServerConfig::parse(
            "tlsca: { enabled: true }\nintermediate: { parentserver: { url: 'https://ica:pw@root:7054' } }\n",
            "/h".into(),
            [(
                "FABRIC_CA_SERVER_INTERMEDIATE_TLS_CERTFILES".to_string(),
                "a.pem,b.pem".to_string(),
            )]
            .into_iter(),
        )
        .unwrap();
        assert!(c.tlsca.enabled);
        assert_eq!(c.tlsca.name, "tlsca");
        assert_eq!(c.intermediate.parentserver.url, "https://ica:pw@root:7054");
        assert_eq!(c.intermediate.tls.certfiles.len(), 2);
        assert_eq!(c.affiliation_names()[..2], ["org1", "org1.department1"]);
    }
}
