//! Connections from this peer to other nodes (orderers, other orgs' peers):
//! gRPC over mutual TLS with the peer's own TLS identity, trusting the TLS
//! CAs of the channel's orgs.

use std::time::Duration;

use weft_common::tls::TlsIdentity;

/// A gRPC channel to `endpoint` (`host:port`); plaintext when `tls` is `None`.
pub async fn connect(
    endpoint: &str,
    tls: Option<(&TlsIdentity, Vec<Vec<u8>>)>,
) -> Result<tonic::transport::Channel, String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut ep = tonic::transport::Endpoint::from_shared(format!("{scheme}://{endpoint}"))
        .map_err(|e| format!("bad endpoint {endpoint:?}: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    if let Some((identity, roots)) = tls {
        let host = endpoint.rsplit_once(':').map_or(endpoint, |(h, _)| h);
        let mut cfg = tonic::transport::ClientTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(
                &identity.cert_pem,
                &identity.key_pem,
            ))
            .domain_name(host.trim_start_matches('[').trim_end_matches(']'));
        for r in roots {
            cfg = cfg.ca_certificate(tonic::transport::Certificate::from_pem(r));
        }
        ep = ep.tls_config(cfg).map_err(|e| e.to_string())?;
    }
    ep.connect()
        .await
        .map_err(|e| format!("cannot connect to {endpoint}: {e}"))
}

/// Open channels by endpoint, reused across requests (a TLS handshake per
/// endorsement or submission would dominate their cost). A channel that
/// failed is dropped so the next request reconnects.
#[derive(Debug, Default)]
pub struct Connections {
    open: std::sync::Mutex<std::collections::HashMap<String, tonic::transport::Channel>>,
}

impl Connections {
    /// A channel to `endpoint`, opened on first use.
    pub async fn get(
        &self,
        endpoint: &str,
        tls: Option<(&TlsIdentity, Vec<Vec<u8>>)>,
    ) -> Result<tonic::transport::Channel, String> {
        if let Some(c) = self.open.lock().expect("connections lock").get(endpoint) {
            return Ok(c.clone());
        }
        let c = connect(endpoint, tls).await?;
        self.open
            .lock()
            .expect("connections lock")
            .insert(endpoint.to_string(), c.clone());
        Ok(c)
    }

    /// Forgets the channel to `endpoint` (after a failure).
    pub fn drop_endpoint(&self, endpoint: &str) {
        self.open.lock().expect("connections lock").remove(endpoint);
    }
}
