//! The CA itself: its key and certificate under the home directory, the
//! registry, and the rules of enroll and register (Fabric CA's semantics).

use std::path::PathBuf;

use base64::Engine;
use serde::{Deserialize, Serialize};
use weft_common::pki::{KeyType, Subject, Usage, Validity};

use crate::CaError;
use crate::config::ServerConfig;
use crate::error::code;
use crate::store::{Attribute, CertRecord, IdentityRecord, Store};

mod affiliations;
mod identities;
mod signing;
mod throttle;

pub use signing::CaFiles;
use signing::SigningCa;

pub use affiliations::{AffiliationInfo, AffiliationRequest};
pub use identities::{IdentityInfo, ModifyRequest};
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

/// Fabric's clients send `null` for fields they leave out: read it as the default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An attribute asked for in an enrollment.
#[derive(Debug, Clone, Deserialize)]
pub struct AttributeRequest {
    /// Its name.
    pub name: String,
    /// Missing is not an error.
    #[serde(default, deserialize_with = "null_as_default")]
    pub optional: bool,
}

/// The body of `POST /api/v1/enroll` and `/reenroll`.
#[derive(Debug, Clone, Deserialize)]
pub struct EnrollRequest {
    /// PKCS#10 request (PEM).
    pub certificate_request: String,
    /// `tls` for a TLS certificate; empty for an enrollment certificate.
    #[serde(default, deserialize_with = "null_as_default")]
    pub profile: String,
    /// Attributes to put into the certificate (default: those marked `ecert`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub attr_reqs: Option<Vec<AttributeRequest>>,
    /// The CA to ask (must be this one's name, or empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub caname: String,
    /// Host names and addresses for the certificate's subject alternative
    /// names (default: those in the request).
    #[serde(default, deserialize_with = "null_as_default")]
    pub hosts: Vec<String>,
}

/// What an enrollment returns: the certificate and the issuing CA's info.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The certificate (PEM).
    pub cert: String,
    /// The CA that signed it.
    pub info: ServerInfo,
}

/// The body of `POST /api/v1/register`.
#[derive(Debug, Clone, Deserialize)]
pub struct RegisterRequest {
    /// The new enrollment id.
    pub id: String,
    /// Its type (default `client`).
    #[serde(default, rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
    /// Its secret (generated when empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret: String,
    /// Enrollments allowed (0: the CA's default).
    #[serde(default, deserialize_with = "null_as_default")]
    pub max_enrollments: i64,
    /// Its affiliation (default: the registrar's).
    #[serde(default, deserialize_with = "null_as_default")]
    pub affiliation: String,
    /// Its attributes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attrs: Vec<Attribute>,
    /// The CA to ask.
    #[serde(default, deserialize_with = "null_as_default")]
    pub caname: String,
}

/// The body of `POST /api/v1/revoke`: an identity, or one certificate.
#[derive(Debug, Clone, Deserialize)]
pub struct RevokeRequest {
    /// Revoke this identity and all its certificates …
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// … or the certificate with this AKI (hex) …
    #[serde(default, deserialize_with = "null_as_default")]
    pub aki: String,
    /// … and serial (hex).
    #[serde(default, deserialize_with = "null_as_default")]
    pub serial: String,
    /// Reason (`keycompromise`, `superseded`, …; default unspecified).
    #[serde(default, deserialize_with = "null_as_default")]
    pub reason: String,
    /// Also return a fresh CRL.
    #[serde(default, deserialize_with = "null_as_default")]
    pub gencrl: bool,
    /// The CA to ask.
    #[serde(default, deserialize_with = "null_as_default")]
    pub caname: String,
}

/// What `revoke` returns.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeResult {
    /// The certificates revoked by this request.
    pub revoked_certs: Vec<RevokedCert>,
    /// Base64 of the CRL (PEM), when asked for.
    #[serde(rename = "CRL", skip_serializing_if = "String::is_empty")]
    pub crl: String,
}

/// One revoked certificate.
#[derive(Debug, Clone, Serialize)]
pub struct RevokedCert {
    /// Serial (hex).
    #[serde(rename = "Serial")]
    pub serial: String,
    /// AKI (hex).
    #[serde(rename = "AKI")]
    pub aki: String,
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
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What `cainfo` and `enroll` return about the CA.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerInfo {
    /// The CA's name.
    #[serde(rename = "CAName")]
    pub ca_name: String,
    /// Base64 of the CA chain (PEM).
    #[serde(rename = "CAChain")]
    pub ca_chain: String,
    /// Idemix issuer key (not supported: empty).
    pub issuer_public_key: String,
    /// Idemix revocation key (not supported: empty).
    pub issuer_revocation_public_key: String,
    /// Server version.
    pub version: String,
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

    /// `enroll`: checks the secret and the enrollment limit, then certifies
    /// the request's key. A refusal changes nothing.
    pub fn enroll(
        &self,
        id: &str,
        secret: &str,
        req: &EnrollRequest,
    ) -> Result<Enrollment, CaError> {
        let issuer = self.issuer_of(req)?;
        let ca_max = self.config.registry.maxenrollments;
        if ca_max == 0 {
            return Err(CaError::unauthorized(
                22,
                "enrollment is disabled on this CA",
            ));
        }
        let checked = self.check_secret(id, secret)?;
        let cert = self.store.enroll(
            id,
            |identity| {
                // The secret may have changed since it was checked.
                if !identity.same_secret(&checked) {
                    return Err(CaError::unauthorized(code::AUTH_FAILURE, "Authentication failure"));
                }
                // From here on the caller proved its secret: name the cause.
                if identity.revoked {
                    return Err(CaError::unauthorized(
                        code::REVOKED_ID,
                        format!("identity '{id}' is revoked and may not enroll"),
                    ));
                }
                let limit = if identity.max_enrollments > 0 { identity.max_enrollments } else { ca_max };
                if limit > 0 && identity.enrollments >= limit {
                    return Err(CaError::unauthorized(
                        code::INVALID_PASS,
                        format!(
                            "identity '{id}' has used its {limit} enrollment(s); reenroll with its certificate or ask a registrar to raise max_enrollments"
                        ),
                    ));
                }
                Ok(())
            },
                                    |identity| self.certify(identity, req, issuer),
        )?;
        Ok(Enrollment {
            info: issuer.info(),
            cert: cert.pem,
        })
    }

    /// `reenroll`: a new certificate for the caller (authenticated by its
    /// current one), e.g. before it expires. It does not count against
    /// `max_enrollments`.
    pub fn reenroll(
        &self,
        caller: &IdentityRecord,
        req: &EnrollRequest,
    ) -> Result<Enrollment, CaError> {
        let issuer = self.issuer_of(req)?;
        let cert = self.certify(caller, req, issuer)?;
        self.store.insert_certificate(&cert)?;
        Ok(Enrollment {
            info: issuer.info(),
            cert: cert.pem,
        })
    }

    /// Which CA signs an enrollment, and what for: the CA named by
    /// `caname`, except that the TLS profile goes to the TLS CA when the
    /// server runs one and the request names no CA.
    fn issuer_of(&self, req: &EnrollRequest) -> Result<&SigningCa, CaError> {
        match (&self.tls, req.profile.as_str(), req.caname.as_str()) {
            (Some(tls), "tls", "") => Ok(tls),
            _ => self.signer(&req.caname),
        }
    }

    /// Issues the certificate for an enrollment of `identity`, signed by `issuer`.
    fn certify(
        &self,
        identity: &IdentityRecord,
        req: &EnrollRequest,
        issuer: &SigningCa,
    ) -> Result<CertRecord, CaError> {
        let mut attrs = serde_json::Map::new();
        attrs.insert("hf.Affiliation".into(), identity.affiliation.clone().into());
        attrs.insert("hf.EnrollmentID".into(), identity.id.clone().into());
        attrs.insert("hf.Type".into(), identity.kind.clone().into());
        match &req.attr_reqs {
            None => {
                for a in identity.attributes.iter().filter(|a| a.ecert) {
                    attrs.insert(a.name.clone(), a.value.clone().into());
                }
            }
            Some(wanted) => {
                for w in wanted {
                    match identity.attribute(&w.name) {
                        Some(v) => {
                            attrs.insert(w.name.clone(), v.into());
                        }
                        None if w.optional => {}
                        None => {
                            return Err(CaError::bad_request(
                                code::BAD_REQUEST,
                                format!("identity '{}' has no attribute '{}'", identity.id, w.name),
                            ));
                        }
                    }
                }
            }
        }
        let extension = serde_json::to_vec(&serde_json::json!({ "attrs": attrs })).expect("JSON");
        let usage = match req.profile.as_str() {
            "" if issuer.tls => Usage::Tls,
            "" => Usage::Signing,
            "tls" => Usage::Tls,
            "ca" => {
                Self::may_certify_a_ca(identity, issuer)?;
                Usage::Ca
            }
            other => {
                return Err(CaError::bad_request(
                    code::BAD_REQUEST,
                    format!("unknown profile '{other}' (use tls, ca, or none)"),
                ));
            }
        };
        let ou = match identity.kind.as_str() {
            "user" => "client",
            k => k,
        };
        let mut subject = Subject {
            organization: Some(self.config.csr.organization.clone()),
            ..Subject::fabric_style(&self.config.csr.organization, &identity.id)
        };
        let mut extensions = Vec::new();
        if usage != Usage::Ca {
            subject = subject.with_ou(ou);
            extensions.push((ATTRIBUTE_EXTENSION_OID.to_vec(), extension));
        }
        let (pem, serial) = issuer
            .ca
            .issue_for_request(
                &req.certificate_request,
                &subject,
                &req.hosts,
                usage,
                Validity::days_from_now(self.config.expiry_days),
                &extensions,
            )
            .map_err(|e| CaError::bad_request(code::BAD_CSR, e.to_string()))?;
        Ok(CertRecord {
            serial: serial_hex(&serial),
            aki: issuer.aki.clone(),
            id: identity.id.clone(),
            pem,
            revoked_reason: None,
            revoked_at: None,
        })
    }

    /// Whether `identity` may get an intermediate CA certificate from `issuer`.
    fn may_certify_a_ca(identity: &IdentityRecord, issuer: &SigningCa) -> Result<(), CaError> {
        Self::require_flag(
            identity,
            "hf.IntermediateCA",
            "enroll as an intermediate CA",
            code::AUTHORIZATION,
        )?;
        if issuer.intermediate || issuer.tls {
            return Err(CaError::api(
                403,
                code::AUTHORIZATION,
                format!(
                    "CA '{}' may not certify CAs (it is {})",
                    issuer.name,
                    if issuer.tls {
                        "a TLS CA"
                    } else {
                        "an intermediate with path length 0"
                    }
                ),
            ));
        }
        Ok(())
    }

    /// Checks a Fabric CA token (`b64(cert).b64(signature)`, the signature
    /// over `method.b64(uri).b64(body).b64(cert)`) and returns the caller.
    pub fn authenticate_token(
        &self,
        header: &str,
        method: &str,
        uri: &str,
        body: &[u8],
    ) -> Result<IdentityRecord, CaError> {
        let bad =
            |m: &str| CaError::unauthorized(code::INVALID_TOKEN, format!("invalid token: {m}"));
        let (b64cert, b64sig) = header
            .split_once('.')
            .ok_or_else(|| bad("expected <cert>.<signature>"))?;
        let cert_pem = B64
            .decode(b64cert)
            .map_err(|_| bad("the certificate is not base64"))?;
        let sig = B64
            .decode(b64sig)
            .map_err(|_| bad("the signature is not base64"))?;
        let cert = weft_common::msp::Certificate::from_pem(&cert_pem)
            .map_err(|e| bad(&format!("the certificate does not parse: {e}")))?;
        let serial = serial_hex(&cert.serial);
        let record = self
            .store
            .certificate(&serial, &self.enrollment.aki)?
            .ok_or_else(|| {
                CaError::unauthorized(
                    code::UNTRUSTED_CERT,
                    "the token's certificate was not issued by this CA",
                )
            })?;
        let issued = weft_common::msp::Certificate::from_pem(record.pem.as_bytes())?;
        if issued.der != cert.der {
            return Err(CaError::unauthorized(
                code::UNTRUSTED_CERT,
                "the token's certificate was not issued by this CA",
            ));
        }
        if record.revoked_reason.is_some() {
            return Err(CaError::unauthorized(
                code::CERT_REVOKED,
                "the token's certificate is revoked",
            ));
        }
        let now = now();
        if now < cert.not_before {
            return Err(bad(&format!(
                "the certificate is not yet valid (from Unix time {})",
                cert.not_before
            )));
        }
        if now > cert.not_after {
            return Err(bad(&format!(
                "the certificate expired at Unix time {}",
                cert.not_after
            )));
        }
        let payload = format!(
            "{method}.{}.{}.{b64cert}",
            B64.encode(uri),
            B64.encode(body)
        );
        if cert.public_key.verify(payload.as_bytes(), &sig).is_err() {
            let legacy = format!("{}.{b64cert}", B64.encode(body));
            if cert.public_key.verify(legacy.as_bytes(), &sig).is_err() {
                return Err(bad("the signature does not match the request"));
            }
            if !self.config.compatibility.legacytokens {
                return Err(bad(
                    "a legacy token (signed over the body only) is refused; \
                     the server accepts them with compatibility.legacytokens",
                ));
            }
            if method != "POST" || body.is_empty() {
                return Err(bad(
                    "a legacy token is accepted only for a POST with a body \
                     (it is not bound to the method or path)",
                ));
            }
        }
        let identity = self
            .store
            .identity(&record.id)?
            .ok_or_else(|| CaError::unauthorized(code::AUTH_FAILURE, "Authentication failure"))?;
        if identity.revoked {
            return Err(CaError::unauthorized(
                code::REVOKED_ID,
                format!("identity '{}' is revoked", identity.id),
            ));
        }
        Ok(identity)
    }

    /// `register`: `caller` registers a new identity, within its authority
    /// (`hf.Registrar.Roles`, `hf.Registrar.Attributes`, its affiliation).
    /// Returns the secret.
    pub fn register(
        &self,
        caller: &IdentityRecord,
        req: &RegisterRequest,
    ) -> Result<String, CaError> {
        self.check_caname(&req.caname)?;
        if req.id.trim().is_empty() {
            return Err(CaError::bad_request(
                code::BAD_REQUEST,
                "the identity needs an id",
            ));
        }
        let kind = if req.kind.is_empty() {
            "client"
        } else {
            req.kind.as_str()
        };
        Self::may_register(caller, kind)?;
        let affiliation = if req.affiliation.is_empty() {
            caller.affiliation.clone()
        } else {
            req.affiliation.clone()
        };
        self.may_place_into(caller, &affiliation)?;
        Self::may_grant(caller, &req.attrs)?;
        let max = self.max_enrollments(req.max_enrollments)?;
        let secret = if req.secret.is_empty() {
            random_secret()
        } else {
            req.secret.clone()
        };
        self.store.insert_identity(&IdentityRecord::new(
            &req.id,
            kind,
            &affiliation,
            req.attrs.clone(),
            max,
            &secret,
            self.iterations(),
        ))?;
        Ok(secret)
    }

    /// The types `caller` may register (`hf.Registrar.Roles`); an error if it is no registrar.
    fn registrar_roles(caller: &IdentityRecord) -> Result<&str, CaError> {
        caller.attribute("hf.Registrar.Roles").ok_or_else(|| {
            CaError::forbidden(format!(
                "'{}' is not a registrar (no hf.Registrar.Roles)",
                caller.id
            ))
        })
    }

    /// Whether `caller` is a registrar for identities of type `kind`.
    fn may_register(caller: &IdentityRecord, kind: &str) -> Result<(), CaError> {
        let roles = Self::registrar_roles(caller)?;
        if !list_allows(roles, kind) {
            return Err(CaError::forbidden(format!(
                "'{}' may register types [{roles}], not '{kind}'",
                caller.id
            )));
        }
        Ok(())
    }

    /// Whether `caller` may put an identity into `affiliation`, which must exist.
    fn may_place_into(&self, caller: &IdentityRecord, affiliation: &str) -> Result<(), CaError> {
        if !covers(&caller.affiliation, affiliation) {
            return Err(CaError::forbidden(format!(
                "'{}' of affiliation '{}' may not register into '{affiliation}'",
                caller.id, caller.affiliation
            )));
        }
        if !self.store.affiliation_exists(affiliation)? {
            return Err(CaError::bad_request(
                code::AFFILIATION_NOT_FOUND,
                format!(
                    "affiliation '{affiliation}' does not exist (add it with the affiliations API)"
                ),
            ));
        }
        Ok(())
    }

    /// Whether `caller` may grant `attrs` (`hf.Registrar.Attributes`, and
    /// for `hf.*` attributes no more than it holds itself).
    fn may_grant(caller: &IdentityRecord, attrs: &[Attribute]) -> Result<(), CaError> {
        let allowed_attrs = caller.attribute("hf.Registrar.Attributes").unwrap_or("");
        for a in attrs {
            if !list_allows(allowed_attrs, &a.name) {
                return Err(CaError::forbidden(format!(
                    "'{}' may not register attribute '{}' (hf.Registrar.Attributes: [{allowed_attrs}])",
                    caller.id, a.name
                )));
            }
            if a.name.starts_with("hf.") {
                let own = caller.attribute(&a.name).unwrap_or("");
                let grantable = own == "*"
                    || own == a.value
                    || (own == "true" && a.value == "false")
                    || a.value.split(',').all(|v| list_allows(own, v.trim()));
                if !grantable {
                    return Err(CaError::forbidden(format!(
                        "'{}' may not grant {}={} (it holds '{own}')",
                        caller.id, a.name, a.value
                    )));
                }
            }
        }
        Ok(())
    }

    /// The enrollment limit for a request asking for `requested` (0: the
    /// CA's default), within the CA's own limit.
    fn max_enrollments(&self, requested: i64) -> Result<i64, CaError> {
        let ca_max = self.config.registry.maxenrollments;
        let max = if requested == 0 { ca_max } else { requested };
        if ca_max > 0 && (max < 0 || max > ca_max) {
            return Err(CaError::bad_request(
                code::BAD_REQUEST,
                format!("max_enrollments {max} exceeds this CA's limit of {ca_max}"),
            ));
        }
        Ok(max)
    }
}

impl Authority {
    fn require_flag(
        caller: &IdentityRecord,
        flag: &str,
        what: &str,
        code: u16,
    ) -> Result<(), CaError> {
        if caller.attribute(flag) == Some("true") {
            Ok(())
        } else {
            Err(CaError::api(
                403,
                code,
                format!("'{}' may not {what} ({flag} is not true)", caller.id),
            ))
        }
    }

    fn require_affiliation(caller: &IdentityRecord, affiliation: &str) -> Result<(), CaError> {
        if covers(&caller.affiliation, affiliation) {
            Ok(())
        } else {
            Err(CaError::api(
                403,
                17,
                format!(
                    "'{}' of affiliation '{}' may not act on affiliation '{affiliation}'",
                    caller.id, caller.affiliation
                ),
            ))
        }
    }

    /// `revoke`: by identity (it may not enroll again, and every certificate
    /// it holds is revoked) or by AKI + serial. Needs `hf.Revoker`.
    pub fn revoke(
        &self,
        caller: &IdentityRecord,
        req: &RevokeRequest,
    ) -> Result<RevokeResult, CaError> {
        self.check_caname(&req.caname)?;
        Self::require_flag(caller, "hf.Revoker", "revoke", code::AUTHORIZATION)?;
        let reason = reason_code(&req.reason)?;
        let revoked = if !req.id.is_empty() {
            let identity = self.store.identity(&req.id)?.ok_or_else(|| {
                CaError::api(404, 10, format!("identity '{}' is not registered", req.id))
            })?;
            Self::require_authority_over(caller, &identity)?;
            self.store.revoke_identity(&req.id, reason, now())?
        } else {
            if req.serial.is_empty() || req.aki.is_empty() {
                return Err(CaError::bad_request(
                    15,
                    "revoke needs an identity (id), or a certificate (aki and serial)",
                ));
            }
            let serial = serial_hex(&serial_bytes(&req.serial.to_ascii_lowercase())?);
            let aki = req.aki.to_ascii_lowercase();
            let cert = self.store.certificate(&serial, &aki)?.ok_or_else(|| {
                CaError::api(
                    404,
                    30,
                    format!(
                        "no certificate with serial {} and AKI {}",
                        req.serial, req.aki
                    ),
                )
            })?;
            if let Some(owner) = self.store.identity(&cert.id)? {
                Self::require_authority_over(caller, &owner)?;
            }
            if !self
                .store
                .revoke_certificate(&cert.serial, &cert.aki, reason, now())?
            {
                return Err(CaError::bad_request(
                    66,
                    format!("certificate {} is already revoked", req.serial),
                ));
            }
            vec![(cert.serial, cert.aki)]
        };
        let crl = if req.gencrl {
            self.crl_pem()?
        } else {
            String::new()
        };
        Ok(RevokeResult {
            revoked_certs: revoked
                .into_iter()
                .map(|(serial, aki)| RevokedCert { serial, aki })
                .collect(),
            crl: if crl.is_empty() { crl } else { B64.encode(crl) },
        })
    }

    /// The enrollment CA's CRL (PEM): every certificate it issued that is
    /// revoked, numbered in sequence.
    pub fn crl_pem(&self) -> Result<String, CaError> {
        self.crl_pem_of(&self.enrollment)
    }

    fn crl_pem_of(&self, signer: &SigningCa) -> Result<String, CaError> {
        let serials = self
            .store
            .revoked_serials(&signer.aki)?
            .iter()
            .map(|s| serial_bytes(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(signer.ca.crl(&serials, self.store.next_crl_number()?, 7)?)
    }

    /// `gencrl` of the CA named `caname` (empty: the enrollment CA): needs
    /// `hf.GenCRL`. Returns base64 of the CRL (PEM).
    pub fn gencrl(&self, caller: &IdentityRecord, caname: &str) -> Result<String, CaError> {
        Self::require_flag(caller, "hf.GenCRL", "generate CRLs", 35)?;
        Ok(B64.encode(self.crl_pem_of(self.signer(caname)?)?))
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
