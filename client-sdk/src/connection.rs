//! gRPC channels to a gateway peer, over TLS (optionally mutual) or plaintext.

use std::path::Path;
use std::time::Duration;

use weft_common::node::dial::{DialOptions, DialTls, dial};

use crate::ClientError;

/// TLS towards the gateway peer.
#[derive(Debug, Clone)]
pub struct Tls {
    /// Root CA (PEM) that signed the peer's TLS certificate.
    pub ca_pem: Vec<u8>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
    /// Name to check the peer's certificate against (default: the endpoint's host).
    pub server_name: Option<String>,
}

impl Tls {
    /// Server-authenticated TLS trusting `ca_pem`.
    pub fn new(ca_pem: Vec<u8>) -> Self {
        Self {
            ca_pem,
            client: None,
            server_name: None,
        }
    }

    /// Reads the CA file and, for mutual TLS, a `(certificate, key)` pair of files.
    pub fn from_files(ca: &Path, client: Option<(&Path, &Path)>) -> Result<Self, ClientError> {
        let read = |p: &Path| std::fs::read(p).map_err(|e| ClientError::file(p, e));
        let mut tls = Self::new(read(ca)?);
        if let Some((cert, key)) = client {
            tls.client = Some((read(cert)?, read(key)?));
        }
        Ok(tls)
    }

    /// Adds a client certificate and key (PEM) for mutual TLS.
    pub fn with_client_identity(mut self, cert_pem: Vec<u8>, key_pem: Vec<u8>) -> Self {
        self.client = Some((cert_pem, key_pem));
        self
    }

    /// Checks the peer's certificate against `name` instead of the endpoint's host.
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }
}

fn dial_tls(tls: Option<&Tls>) -> Option<DialTls> {
    tls.map(|t| DialTls {
        roots: vec![t.ca_pem.clone()],
        identity: t.client.clone(),
        server_name: t.server_name.clone(),
    })
}

/// A gRPC channel to `endpoint` that connects on first use (and again after
/// a failure).
pub fn connect_lazy(
    endpoint: &str,
    tls: Option<&Tls>,
) -> Result<tonic::transport::Channel, ClientError> {
    let options = DialOptions {
        connect_timeout: Duration::from_secs(10),
        ..DialOptions::default()
    };
    weft_common::node::dial::dial_lazy(endpoint, dial_tls(tls).as_ref(), options).map_err(
        |source| ClientError::Connect {
            endpoint: endpoint.to_string(),
            source,
        },
    )
}

/// Opens a gRPC channel to `endpoint` (`host:port`).
pub async fn connect(
    endpoint: &str,
    tls: Option<&Tls>,
) -> Result<tonic::transport::Channel, ClientError> {
    let tls = dial_tls(tls);
    let options = DialOptions {
        connect_timeout: Duration::from_secs(10),
        ..DialOptions::default()
    };
    dial(endpoint, tls.as_ref(), options)
        .await
        .map_err(|source| ClientError::Connect {
            endpoint: endpoint.to_string(),
            source,
        })
}
