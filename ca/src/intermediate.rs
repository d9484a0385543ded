//! An intermediate CA's first start: it makes a key, enrolls it at its
//! parent CA with the `ca` profile (the parent's identity needs
//! `hf.IntermediateCA=true`), and keeps the certificate with the parent's
//! chain, so what it issues verifies up to the parent's root.

use rcgen::{CertificateParams, DnType, KeyPair};

use crate::CaError;
use crate::authority::CaFiles;
use crate::client::CaClient;
use crate::config::ServerConfig;

/// Enrolls this CA's certificate from `intermediate.parentserver` unless it
/// has one; returns whether it enrolled. A root CA (no parent URL) does nothing.
pub async fn enroll_from_parent(config: &ServerConfig) -> Result<bool, CaError> {
    let parent = &config.intermediate.parentserver;
    let files = CaFiles::enrollment(config);
    if parent.url.is_empty() || files.cert.exists() {
        return Ok(false);
    }
    let (id, secret) = CaClient::credentials(&parent.url).ok_or_else(|| {
        CaError::Config(format!(
            "intermediate.parentserver.url {:?}: expected https://id:secret@host:port",
            parent.url
        ))
    })?;
    let client = CaClient::new(&parent.url, &config.intermediate.tls.certfiles)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| CaError::Config(e.to_string()))?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, config.csr.cn.as_str());
    let csr = params
        .serialize_request(&key)
        .and_then(|r| r.pem())
        .map_err(|e| CaError::Config(e.to_string()))?;
    let (cert, parent_chain) = client
        .enroll_request(
            &id,
            &secret,
            &crate::protocol::EnrollRequest {
                certificate_request: csr,
                profile: "ca".into(),
                caname: parent.caname.clone(),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| CaError::Config(format!("enrolling at the parent CA as '{id}': {e}")))?;
    let chain = format!("{}{}", parent_chain.trim_end(), format_args!("\n{cert}"));
    files.write(&cert, &key.serialize_pem(), Some(&chain))?;
    tracing::info!(parent = %parent.url.split('@').next_back().unwrap_or_default(), "enrolled as an intermediate CA");
    Ok(true)
}
