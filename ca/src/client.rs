//! `weft-ca client`: Fabric CA's client side. Enrolling writes Fabric's MSP
//! folder (`signcerts/cert.pem`, `keystore/<ski>_sk`, `cacerts/` or, for
//! the TLS profile, `tlscacerts/`); the other calls sign Fabric CA tokens
//! with that identity.

use std::path::{Path, PathBuf};

use base64::Engine;
use rcgen::{CertificateParams, DnType, KeyPair};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::protocol::{Attribute, EnrollRequest, EnrollResponse, ServerInfo};

use crate::CaError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A connection to a CA: its URL (`https://host:port`) and the TLS roots to trust.
#[derive(Debug, Clone)]
pub struct CaClient {
    base: String,
    http: reqwest::Client,
    host_port: String,
}

/// An identity enrolled into an MSP folder.
#[derive(Debug)]
pub struct MspIdentity {
    /// Its certificate (PEM).
    pub cert_pem: String,
    key: KeyPair,
}

fn client_err(e: impl std::fmt::Display) -> CaError {
    CaError::api(
        502,
        crate::error::code::INTERNAL,
        format!("cannot reach the CA: {e}"),
    )
}

/// Fabric CA client's key file name: hex(SHA-256 of the public key point) + `_sk`.
fn key_file(key: &KeyPair) -> String {
    format!(
        "{}_sk",
        hex::encode(weft_common::crypto::sha256(key.public_key_raw()))
    )
}

/// Replaces whatever key the MSP folder holds with `key`.
fn store_key(msp: &Path, key: &KeyPair) -> Result<(), CaError> {
    let dir = msp.join("keystore");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    write_key(&dir.join(key_file(key)), key)
}

/// Writes a private key: mode 0600 in a 0700 folder.
fn write_key(path: &Path, key: &KeyPair) -> Result<(), CaError> {
    weft_common::crypto::write_private_key(path, key.serialize_pem().as_bytes())
        .map_err(|e| CaError::io(path, e))
}

/// A new P-256 key and a PKCS#10 request (PEM) for it with `CN=cn`.
fn key_and_request(cn: &str) -> Result<(KeyPair, String), CaError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| CaError::Config(e.to_string()))?;
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    let csr = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .map_err(|e| CaError::Config(e.to_string()))?;
    Ok((key, csr))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CaError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CaError::io(dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| CaError::io(path, e))
}

impl CaClient {
    /// A client for `url` (`https://host:port`, optionally with
    /// `user:secret@`, which is stripped), trusting the PEM certificates in `tls_roots`.
    pub fn new(url: &str, tls_roots: &[PathBuf]) -> Result<Self, CaError> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            CaError::Config(format!("CA URL {url:?}: expected https://host:port"))
        })?;
        let host_port = rest
            .rsplit_once('@')
            .map_or(rest, |(_, h)| h)
            .trim_end_matches('/')
            .to_string();
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false);
        for root in tls_roots {
            let pem = std::fs::read(root).map_err(|e| CaError::io(root, e))?;
            builder = builder.add_root_certificate(
                reqwest::Certificate::from_pem(&pem).map_err(|e| CaError::io(root, e))?,
            );
        }
        Ok(Self {
            base: format!("{scheme}://{host_port}/api/v1"),
            http: builder.build().map_err(client_err)?,
            host_port,
        })
    }

    /// The enrollment id and secret in a URL's `user:secret@`, if any.
    pub fn credentials(url: &str) -> Option<(String, String)> {
        let rest = url.split_once("://")?.1;
        let (userinfo, _) = rest.rsplit_once('@')?;
        let (id, secret) = userinfo.split_once(':')?;
        Some((id.to_string(), secret.to_string()))
    }

    async fn answer(r: reqwest::Response) -> Result<Value, CaError> {
        let status = r.status().as_u16();
        let body: Value = r.json().await.map_err(client_err)?;
        if body["success"] == true {
            return Ok(body["result"].clone());
        }
        let e = &body["errors"][0];
        Err(CaError::api(
            status,
            e["code"].as_u64().unwrap_or(0) as u16,
            e["message"]
                .as_str()
                .unwrap_or("the CA refused the request")
                .to_string(),
        ))
    }

    /// Enrolls `id` with a new P-256 key and writes the MSP folder at `msp`:
    /// the chain's roots go to `cacerts/` and its intermediates to
    /// `intermediatecerts/` (`tlscacerts/`, `tlsintermediatecerts/` for the
    /// `tls` profile). `hosts` become the certificate's subject alternative names.
    pub async fn enroll(
        &self,
        id: &str,
        secret: &str,
        profile: &str,
        hosts: &[String],
        msp: &Path,
    ) -> Result<MspIdentity, CaError> {
        let (key, csr) = key_and_request(id)?;
        let (cert, chain) = self
            .enroll_request(
                id,
                secret,
                &EnrollRequest {
                    certificate_request: csr,
                    profile: profile.to_string(),
                    hosts: hosts.to_vec(),
                    ..Default::default()
                },
            )
            .await?;
        write(&msp.join("signcerts/cert.pem"), cert.as_bytes())?;
        store_key(msp, &key)?;
        self.write_chain(msp, if profile == "tls" { "tls" } else { "" }, &chain)?;
        Ok(MspIdentity {
            cert_pem: cert,
            key,
        })
    }

    /// Fabric CA client's `getcainfo`: writes the chain of the CA named
    /// `caname` (empty: the default) into the MSP folder at `msp` — roots to
    /// `cacerts/`, intermediates to `intermediatecerts/` — without enrolling.
    pub async fn getcainfo(&self, caname: &str, msp: &Path) -> Result<(), CaError> {
        let chain = self.ca_chain(caname).await?;
        self.write_chain(msp, "", &chain)
    }

    /// Writes a CA chain into `<msp>/<prefix>cacerts/` (roots) and
    /// `<prefix>intermediatecerts/`, in a file named after the CA's address.
    fn write_chain(&self, msp: &Path, prefix: &str, chain: &str) -> Result<(), CaError> {
        let ca_file = format!("{}.pem", self.host_port.replace([':', '.'], "-"));
        let (roots, intermediates) = split_chain(chain)?;
        write(
            &msp.join(format!("{prefix}cacerts")).join(&ca_file),
            roots.as_bytes(),
        )?;
        if !intermediates.is_empty() {
            write(
                &msp.join(format!("{prefix}intermediatecerts"))
                    .join(&ca_file),
                intermediates.as_bytes(),
            )?;
        }
        Ok(())
    }

    /// The chain (PEM, root first) of the CA named `caname` on the server
    /// (empty: its default CA), from `cainfo`.
    pub async fn ca_chain(&self, caname: &str) -> Result<String, CaError> {
        let r = self
            .http
            .post(format!("{}/cainfo", self.base))
            .json(&json!({ "caname": caname }))
            .send()
            .await
            .map_err(client_err)?;
        let info: ServerInfo = typed(Self::answer(r).await?)?;
        decode_pem(&info.ca_chain)
    }

    /// `POST enroll` with HTTP Basic `id:secret` and `body`; returns the
    /// certificate and the CA chain (both PEM).
    pub async fn enroll_request(
        &self,
        id: &str,
        secret: &str,
        body: &EnrollRequest,
    ) -> Result<(String, String), CaError> {
        let r = self
            .http
            .post(format!("{}/enroll", self.base))
            .basic_auth(id, Some(secret))
            .json(body)
            .send()
            .await
            .map_err(client_err)?;
        let result: EnrollResponse = typed(Self::answer(r).await?)?;
        Ok((
            decode_pem(&result.cert)?,
            decode_pem(&result.server_info.ca_chain)?,
        ))
    }

    /// The identity enrolled in MSP folder `msp`.
    pub fn load(msp: &Path) -> Result<MspIdentity, CaError> {
        let cert_path = msp.join("signcerts/cert.pem");
        let keystore = msp.join("keystore");
        let key_path = std::fs::read_dir(&keystore)
            .map_err(|e| CaError::io(&keystore, e))?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with("_sk"))
            })
            .ok_or_else(|| CaError::io(&keystore, "no <ski>_sk key file"))?;
        let cert_pem = std::fs::read_to_string(&cert_path).map_err(|e| {
            CaError::io(
                &cert_path,
                format!("{e} (enroll first: weft-ca client enroll)"),
            )
        })?;
        let key_pem = std::fs::read_to_string(&key_path).map_err(|e| CaError::io(&key_path, e))?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| CaError::io(&key_path, e))?;
        Ok(MspIdentity { cert_pem, key })
    }

    fn token(who: &MspIdentity, method: &str, path: &str, body: &[u8]) -> Result<String, CaError> {
        let b64cert = B64.encode(&who.cert_pem);
        let payload = format!(
            "{method}.{}.{}.{b64cert}",
            B64.encode(path),
            B64.encode(body)
        );
        let signer = weft_common::crypto::EcdsaP256Signer::from_pkcs8(&who.key.serialize_der())?;
        let sig = weft_common::crypto::Signer::sign(&signer, payload.as_bytes())?;
        Ok(format!("{b64cert}.{}", B64.encode(sig)))
    }

    /// A token-authenticated call to `/api/v1/<api>` (a body means POST, none
    /// GET), its result read as `R`.
    pub async fn send<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        who: &MspIdentity,
        method: reqwest::Method,
        api: &str,
        body: Option<&B>,
    ) -> Result<R, CaError> {
        typed(self.request(who, method, api, body).await?)
    }

    /// A token-authenticated call to `/api/v1/<api>` (a body means POST, none GET).
    pub async fn call<B: Serialize + ?Sized>(
        &self,
        who: &MspIdentity,
        api: &str,
        body: Option<&B>,
    ) -> Result<Value, CaError> {
        let method = if body.is_some() {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        self.request(who, method, api, body).await
    }

    /// A token-authenticated `method` call to `/api/v1/<api>` (which may
    /// carry a query, e.g. `identities/x?force=true`).
    pub async fn request<B: Serialize + ?Sized>(
        &self,
        who: &MspIdentity,
        method: reqwest::Method,
        api: &str,
        body: Option<&B>,
    ) -> Result<Value, CaError> {
        let path = format!("/api/v1/{api}");
        let bytes = body.map_or_else(Vec::new, |b| serde_json::to_vec(b).expect("request JSON"));
        let token = Self::token(who, method.as_str(), &path, &bytes)?;
        let r = self
            .http
            .request(method, format!("{}/{api}", self.base))
            .header("authorization", token)
            .body(bytes);
        Self::answer(r.send().await.map_err(client_err)?).await
    }
}

/// A CA's result read as `R`.
fn typed<R: DeserializeOwned>(result: Value) -> Result<R, CaError> {
    serde_json::from_value(result).map_err(|e| {
        CaError::api(
            502,
            0,
            format!("the CA sent a result this client cannot read: {e}"),
        )
    })
}

/// A base64 PEM field of a CA's answer.
fn decode_pem(v: &str) -> Result<String, CaError> {
    B64.decode(v)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| CaError::api(502, 0, "the CA sent a certificate that is not base64 PEM"))
}

/// Splits a CA chain (PEM) into its self-signed roots and its intermediates.
pub fn split_chain(chain: &str) -> Result<(String, String), CaError> {
    let bad =
        |e: &dyn std::fmt::Display| CaError::api(502, 0, format!("the CA sent a bad chain: {e}"));
    let (mut roots, mut intermediates) = (String::new(), String::new());
    for block in pem::parse_many(chain).map_err(|e| bad(&e))? {
        let (_, cert) =
            x509_parser::parse_x509_certificate(block.contents()).map_err(|e| bad(&e))?;
        let text = pem::encode_config(
            &block,
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        );
        if cert.subject() == cert.issuer() {
            roots.push_str(&text);
        } else {
            intermediates.push_str(&text);
        }
    }
    if roots.is_empty() {
        return Err(bad(&"no root certificate in it"));
    }
    Ok((roots, intermediates))
}

/// Parses Fabric CA's `--id.attrs` (`name=value[:ecert],...`).
pub fn parse_attrs(text: &str) -> Result<Vec<Attribute>, CaError> {
    text.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            let (name, rest) = a.split_once('=').ok_or_else(|| {
                CaError::Config(format!("attribute {a:?}: expected name=value[:ecert]"))
            })?;
            let (value, ecert) = match rest.strip_suffix(":ecert") {
                Some(v) => (v, true),
                None => (rest, false),
            };
            Ok(Attribute {
                name: name.to_string(),
                value: value.to_string(),
                ecert,
            })
        })
        .collect()
}

/// A certificate request for a new key, stored as `reenroll-key.pem` in the MSP folder
/// until the CA answers (a reenroll keeps the old key until then).
pub fn new_request_for(msp: &Path) -> Result<String, CaError> {
    let cert = std::fs::read_to_string(msp.join("signcerts/cert.pem"))
        .map_err(|e| CaError::io(&msp.join("signcerts/cert.pem"), e))?;
    let cn = weft_common::msp::Certificate::from_pem(cert.as_bytes())?
        .common_name
        .unwrap_or_default();
    let (key, csr) = key_and_request(&cn)?;
    write_key(&msp.join("reenroll-key.pem"), &key)?;
    Ok(csr)
}

/// Installs a reenroll's certificate with the key made by [`new_request_for`].
pub fn store_reenrolled(msp: &Path, result: &EnrollResponse) -> Result<(), CaError> {
    let cert = B64
        .decode(&result.cert)
        .map_err(|e| CaError::api(502, 0, format!("the CA sent bad base64: {e}")))?;
    let next = msp.join("reenroll-key.pem");
    let pem_text = std::fs::read_to_string(&next).map_err(|e| CaError::io(&next, e))?;
    let key = KeyPair::from_pem(&pem_text).map_err(|e| CaError::io(&next, e))?;
    store_key(msp, &key)?;
    std::fs::remove_file(&next).map_err(|e| CaError::io(&next, e))?;
    write(&msp.join("signcerts/cert.pem"), &cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{RegisterResponse, RevokeResult};

    #[test]
    fn a_result_of_the_wrong_shape_is_a_502_naming_what_could_not_be_read() {
        let e = typed::<RegisterResponse>(json!({ "secret": 5 })).unwrap_err();
        assert!(matches!(e, CaError::Api { status: 502, .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("cannot read"), "{text}");
        assert!(text.contains("invalid type"), "{text}");
        let ok: RevokeResult = typed(json!({ "RevokedCerts": [] })).unwrap();
        assert!(ok.revoked_certs.is_empty() && ok.crl.is_empty());
    }
}
