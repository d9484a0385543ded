//! The CA itself: its key and certificate under the home directory, the
//! registry, and the rules of enroll and register (Fabric CA's semantics).

use std::path::PathBuf;

use base64::Engine;
use weft_common::pki::{KeyType, Subject, Usage, Validity};

use crate::CaError;
use crate::config::ServerConfig;
use crate::error::code;
use crate::store::{Attribute, CertRecord, IdentityRecord, Store};

mod affiliations;
mod enroll;
mod identities;
mod register;
mod revoke;
mod signing;
mod throttle;
mod token;

pub use signing::CaFiles;
use signing::SigningCa;

pub use crate::protocol::{
    AffiliationInfo, AffiliationRequest, AttributeRequest, EnrollRequest, IdentityInfo,
    ModifyRequest, RegisterRequest, RevokeRequest, RevokeResult, RevokedCert, ServerInfo,
};
pub use throttle::LoginThrottle;

/// Fabric CA's attribute extension: `{"attrs":{name: value}}` as raw JSON.
pub const ATTRIBUTE_EXTENSION_OID: [u64; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 1];

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Attributes Fabric CA gives its bootstrap admin.
const BOOTSTRAP_ATTRIBUTES: [(&str, &str); 7] = [
    ("hf.Registrar.Roles", "*"),
    ("hf.Registrar.DelegateRoles", "*"),
    ("hf.Registrar.Attributes", "*"),
    ("hf.Revoker", "true"),
    ("hf.GenCRL", "true"),
    ("hf.IntermediateCA", "true"),
    ("hf.AffiliationMgr", "true"),
];

/// What an enrollment returns: the certificate and the issuing CA's info.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The certificate (PEM).
    pub cert: String,
    /// The CA that signed it.
    pub info: ServerInfo,
}

/// RFC 5280 reason codes by Fabric CA's names.
fn reason_code(reason: &str) -> Result<i64, CaError> {
    Ok(match reason.to_ascii_lowercase().as_str() {
        "" | "unspecified" => 0,
        "keycompromise" => 1,
        "cacompromise" => 2,
        "affiliationchange" => 3,
        "superseded" => 4,
        "cessationofoperation" => 5,
        "certificatehold" => 6,
        "removefromcrl" => 8,
        "privilegewithdrawn" => 9,
        "aacompromise" => 10,
        other => {
            return Err(CaError::bad_request(
                code::BAD_REQUEST,
                format!("unknown revocation reason '{other}'"),
            ));
        }
    })
}

/// A serial number as Fabric CA writes it: lowercase hex, no leading zeros.
pub fn serial_hex(serial: &[u8]) -> String {
    let h = hex::encode(serial);
    let t = h.trim_start_matches('0');
    if t.is_empty() {
        "0".into()
    } else {
        t.to_string()
    }
}

fn serial_bytes(hex_serial: &str) -> Result<Vec<u8>, CaError> {
    let padded = if hex_serial.len() % 2 == 1 {
        format!("0{hex_serial}")
    } else {
        hex_serial.to_string()
    };
    hex::decode(&padded).map_err(|e| {
        CaError::bad_request(
            code::BAD_REQUEST,
            format!("serial {hex_serial:?} is not hex: {e}"),
        )
    })
}

fn now() -> i64 {
    weft_common::clock::unix_now()
}

/// A running CA: its signing CAs and the registry.
pub struct Authority {
    config: ServerConfig,
    enrollment: SigningCa,
    tls: Option<SigningCa>,
    store: Store,
    throttle: LoginThrottle,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authority({})", self.config.ca.name)
    }
}

fn db_path(config: &ServerConfig) -> PathBuf {
    config.home.join("fabric-ca-server.db")
}

/// A random secret of 16 characters (letters and digits).
fn random_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    weft_common::crypto::random_bytes(16)
        .into_iter()
        .map(|b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect()
}

impl Authority {
    /// `weft-ca server init`: creates the CA's key and self-signed certificate
    /// (unless they exist), the database, and the bootstrap identity.
    pub fn init(config: &ServerConfig, bootstrap: Option<(&str, &str)>) -> Result<(), CaError> {
        let files = CaFiles::enrollment(config);
        if !config.intermediate.parentserver.url.is_empty() && !files.cert.exists() {
            return Err(CaError::Config(
                "this CA is an intermediate whose certificate is not enrolled yet: \
                 `weft-ca server init` enrolls it from intermediate.parentserver.url"
                    .into(),
            ));
        }
        let subject = |cn: &str| Subject {
            organization: Some(config.csr.organization.clone()),
            ..Subject::fabric_style(&config.csr.organization, cn)
        };
        files.create_root(&subject(&config.csr.cn))?;
        if config.tlsca.enabled {
            let cn = if config.tlsca.cn.is_empty() {
                format!("tlsca.{}", config.csr.cn)
            } else {
                config.tlsca.cn.clone()
            };
            CaFiles::tls(config).create_root(&subject(&cn))?;
        }
        let (tls_cert, tls_key) = config.tls.files(&config.home);
        if config.tls.enabled && !tls_cert.exists() {
            let signer = SigningCa::load(&config.ca.name, &files, false)?;
            let issued = signer.ca.issue(
                &Subject::fabric_style(&config.csr.organization, &config.csr.cn),
                &config.tls.hosts,
                Usage::Tls,
                KeyType::EcdsaP256,
                Validity::days_from_now(365),
            )?;
            if let Some(dir) = tls_key.parent() {
                std::fs::create_dir_all(dir).map_err(|e| CaError::io(dir, e))?;
            }
            // An intermediate presents itself too, so clients that trust the root can verify.
            let served = if signer.intermediate {
                format!("{}{}", issued.cert_pem, signer.ca.cert_pem())
            } else {
                issued.cert_pem
            };
            std::fs::write(&tls_cert, served).map_err(|e| CaError::io(&tls_cert, e))?;
            weft_common::crypto::write_private_key(&tls_key, issued.key_pem.as_bytes())
                .map_err(|e| CaError::io(&tls_key, e))?;
            tracing::info!(cert = %tls_cert.display(), "created the CA's TLS certificate");
        }
        let store = Store::open(&db_path(config))?;
        if store.first_time("affiliations_seeded")? {
            store.add_affiliations(&config.affiliation_names())?;
        }
        if let Some((id, secret)) = bootstrap
            && store.identity(id)?.is_none()
        {
            let attrs = BOOTSTRAP_ATTRIBUTES
                .iter()
                .map(|(n, v)| Attribute {
                    name: n.to_string(),
                    value: v.to_string(),
                    ecert: false,
                })
                .collect();
            store.insert_identity(&IdentityRecord::new(
                id,
                "client",
                "",
                attrs,
                -1,
                secret,
                config.secret_iterations()?,
            ))?;
            tracing::info!(id, "registered the bootstrap identity");
        }
        Ok(())
    }

    /// Opens an initialised CA.
    pub fn open(config: ServerConfig) -> Result<Self, CaError> {
        let enrollment = SigningCa::load(&config.ca.name, &CaFiles::enrollment(&config), false)?;
        let tls = if config.tlsca.enabled {
            Some(SigningCa::load(
                &config.tlsca.name,
                &CaFiles::tls(&config),
                true,
            )?)
        } else {
            None
        };
        let store = Store::open(&db_path(&config))?;
        config.secret_iterations()?;
        Ok(Self {
            throttle: LoginThrottle::new(config.cfg.identities.passwordattempts),
            config,
            enrollment,
            tls,
            store,
        })
    }

    /// The registry.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The CA's name.
    pub fn name(&self) -> &str {
        &self.config.ca.name
    }

    /// The enrollment CA's certificate (PEM).
    pub fn cert_pem(&self) -> &str {
        self.enrollment.ca.cert_pem()
    }

    /// The TLS CA's certificate (PEM), when the server runs one.
    pub fn tls_ca_cert_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca.cert_pem())
    }

    /// `cainfo` of the enrollment CA.
    pub fn info(&self) -> ServerInfo {
        self.enrollment.info()
    }

    /// `cainfo` of the CA named `caname` (empty: the enrollment CA).
    pub fn info_of(&self, caname: &str) -> Result<ServerInfo, CaError> {
        Ok(self.signer(caname)?.info())
    }

    /// The CA a request addressed to `caname` goes to.
    fn signer(&self, caname: &str) -> Result<&SigningCa, CaError> {
        if caname.is_empty() || caname == self.enrollment.name {
            return Ok(&self.enrollment);
        }
        match &self.tls {
            Some(tls) if caname == tls.name => Ok(tls),
            _ => Err(CaError::bad_request(
                19,
                format!(
                    "CA '{caname}' does not exist (this server has '{}'{})",
                    self.enrollment.name,
                    self.tls
                        .as_ref()
                        .map(|t| format!(" and '{}'", t.name))
                        .unwrap_or_default()
                ),
            )),
        }
    }

    fn check_caname(&self, caname: &str) -> Result<(), CaError> {
        self.signer(caname).map(|_| ())
    }

    /// PBKDF2 iterations for secrets stored now.
    fn iterations(&self) -> std::num::NonZeroU32 {
        self.config
            .secret_iterations()
            .expect("checked when the CA opened")
    }

    /// Checks `secret` against `id`'s, outside the database lock, with the
    /// failed-login throttle. Unknown ids cost the same hash and the same
    /// answer as a wrong secret.
    fn check_secret(&self, id: &str, secret: &str) -> Result<IdentityRecord, CaError> {
        let now = std::time::Instant::now();
        if let Some(wait) = self.throttle.wait(id, now) {
            return Err(CaError::unauthorized(
                code::PASSWORD_ATTEMPTS,
                format!(
                    "too many failed attempts for '{id}' (cfg.identities.passwordattempts is {}): retry in {}s",
                    self.throttle.limit(),
                    wait.as_secs().max(1)
                ),
            ));
        }
        let found = self.store.identity(id)?;
        let matches = match &found {
            Some(identity) => identity.secret_matches(secret),
            None => {
                // The same work as a real check, so timing does not tell.
                IdentityRecord::new(id, "", "", Vec::new(), 0, "", self.iterations());
                false
            }
        };
        match found {
            Some(identity) if matches => {
                self.throttle.succeeded(id);
                Ok(identity)
            }
            _ => {
                self.throttle.failed(id, now);
                tracing::warn!(id, "failed enrollment secret");
                Err(CaError::unauthorized(
                    code::AUTH_FAILURE,
                    "Authentication failure",
                ))
            }
        }
    }
}

/// Whether affiliation `outer` is `inner` or above it (the root `""` covers all).
pub(crate) fn covers(outer: &str, inner: &str) -> bool {
    outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}."))
}

/// Whether a comma-separated allow list (`*`, names, `prefix*`) covers `item`.
pub(crate) fn list_allows(list: &str, item: &str) -> bool {
    list.split(',').map(str::trim).any(|p| {
        p == "*"
            || p == item
            || p.strip_suffix('*')
                .is_some_and(|prefix| item.starts_with(prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::{covers, list_allows};

    #[test]
    fn affiliations_cover_themselves_and_below() {
        assert!(covers("", "org1.dept"));
        assert!(covers("org1", "org1"));
        assert!(covers("org1", "org1.dept"));
        assert!(!covers("org1", "org10"));
        assert!(!covers("org1.dept", "org1"));
    }

    #[test]
    fn allow_lists() {
        assert!(list_allows("*", "peer"));
        assert!(list_allows("client, peer", "peer"));
        assert!(!list_allows("client,peer", "orderer"));
        assert!(list_allows("app.*", "app.role"));
        assert!(!list_allows("", "x"));
    }
}
