//! Connections from this peer to other nodes (orderers, other orgs' peers):
//! gRPC over mutual TLS with the peer's own TLS identity, trusting the TLS
//! CAs of the channel's orgs.

use weft_common::node::dial::{DialOptions, DialTls, KeepAlive, dial};
use weft_common::tls::TlsIdentity;

/// A gRPC channel to `endpoint` (`host:port`); plaintext when `tls` is
/// `None`. Keep-alive pings close it if the node stops answering.
pub async fn connect(
    endpoint: &str,
    tls: Option<(&TlsIdentity, Vec<Vec<u8>>)>,
    keep_alive: KeepAlive,
) -> Result<tonic::transport::Channel, weft_common::CommonError> {
    let tls = tls.map(|(identity, roots)| DialTls {
        roots,
        identity: Some((identity.cert_pem.clone(), identity.key_pem.clone())),
        server_name: None,
    });
    let options = DialOptions {
        keep_alive: Some(keep_alive),
        ..DialOptions::default()
    };
    dial(endpoint, tls.as_ref(), options).await
}

/// Open channels by endpoint, reused across requests (a TLS handshake per
/// endorsement or submission would dominate their cost). A channel that
/// failed is dropped so the next request reconnects.
#[derive(Debug, Default)]
pub struct Connections {
    open: std::sync::Mutex<std::collections::HashMap<String, tonic::transport::Channel>>,
    keep_alive: KeepAlive,
}

impl Connections {
    /// No connections yet; those opened will ping as `keep_alive` says.
    pub fn new(keep_alive: KeepAlive) -> Self {
        Self {
            open: Default::default(),
            keep_alive,
        }
    }

    /// A channel to `endpoint`, opened on first use.
    pub async fn get(
        &self,
        endpoint: &str,
        tls: Option<(&TlsIdentity, Vec<Vec<u8>>)>,
    ) -> Result<tonic::transport::Channel, weft_common::CommonError> {
        if let Some(c) = self.open.lock().expect("connections lock").get(endpoint) {
            return Ok(c.clone());
        }
        let c = connect(endpoint, tls, self.keep_alive).await?;
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
