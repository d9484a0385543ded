//! Outgoing gRPC connections: the one way weft dials a node (`host:port`),
//! over server-authenticated or mutual TLS, or plaintext.

use std::time::Duration;

use crate::CommonError;

/// TLS towards the node dialled.
#[derive(Debug, Clone, Default)]
pub struct DialTls {
    /// Root CAs (PEM) the node's certificate must chain to.
    pub roots: Vec<Vec<u8>>,
    /// Client certificate and key (PEM), for mutual TLS.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// Name to check the node's certificate against (default: the endpoint's host).
    pub server_name: Option<String>,
}

/// HTTP/2 pings that find a dead connection: one after `interval` without
/// traffic (idle or not), and the connection is closed if no answer comes
/// within `timeout` (Fabric's `keepalive.client` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Quiet time before a ping.
    pub interval: Duration,
    /// Time the answer may take.
    pub timeout: Duration,
}

impl Default for KeepAlive {
    /// Fabric's client defaults: 60 s and 20 s (also the least interval
    /// Fabric's servers accept, `keepalive.minInterval`).
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(20),
        }
    }
}

/// How patient a dial is.
#[derive(Debug, Clone, Copy)]
pub struct DialOptions {
    /// How long the TCP and TLS handshake may take.
    pub connect_timeout: Duration,
    /// Keep-alive pings, so a dead node is noticed instead of awaited forever.
    pub keep_alive: Option<KeepAlive>,
}

impl Default for DialOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            keep_alive: Some(KeepAlive::default()),
        }
    }
}

/// The host part of `host:port` (brackets of an IPv6 literal removed).
fn host_of(endpoint: &str) -> &str {
    let host = endpoint.rsplit_once(':').map_or(endpoint, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Opens a gRPC channel to `endpoint` (`host:port`); plaintext when `tls` is
/// `None`. An error names the endpoint and every cause (refused, bad
/// certificate, timeout, …). The TCP, TLS and HTTP/2 handshakes together
/// get `options.connect_timeout`: a host that accepts a connection and then
/// says nothing cannot hold the caller.
pub async fn dial(
    endpoint: &str,
    tls: Option<&DialTls>,
    options: DialOptions,
) -> Result<tonic::transport::Channel, CommonError> {
    let ep = configure(endpoint, tls, options)?;
    match tokio::time::timeout(options.connect_timeout, ep.connect()).await {
        Ok(r) => r.map_err(|source| CommonError::Connect {
            endpoint: endpoint.to_string(),
            source,
        }),
        Err(_) => Err(CommonError::ConnectTimeout {
            endpoint: endpoint.to_string(),
            after: options.connect_timeout,
        }),
    }
}

/// Like [`dial`], but connects on first use (and reconnects after a
/// failure), so a node that is down now is not an error now.
pub fn dial_lazy(
    endpoint: &str,
    tls: Option<&DialTls>,
    options: DialOptions,
) -> Result<tonic::transport::Channel, CommonError> {
    Ok(configure(endpoint, tls, options)?.connect_lazy())
}

/// The endpoint `dial` and `dial_lazy` connect to.
fn configure(
    endpoint: &str,
    tls: Option<&DialTls>,
    options: DialOptions,
) -> Result<tonic::transport::Endpoint, CommonError> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut ep = tonic::transport::Endpoint::from_shared(format!("{scheme}://{endpoint}"))
        .map_err(|source| CommonError::BadEndpoint {
            endpoint: endpoint.to_string(),
            source,
        })?
        .connect_timeout(options.connect_timeout)
        .tcp_nodelay(true);
    if let Some(k) = options.keep_alive {
        ep = ep
            .http2_keep_alive_interval(k.interval)
            .keep_alive_timeout(k.timeout)
            .keep_alive_while_idle(true);
    }
    if let Some(t) = tls {
        let mut cfg = tonic::transport::ClientTlsConfig::new().domain_name(
            t.server_name
                .clone()
                .unwrap_or_else(|| host_of(endpoint).to_string()),
        );
        for root in &t.roots {
            cfg = cfg.ca_certificate(tonic::transport::Certificate::from_pem(root));
        }
        if let Some((cert, key)) = &t.identity {
            cfg = cfg.identity(tonic::transport::Identity::from_pem(cert, key));
        }
        ep = ep.tls_config(cfg).map_err(|source| CommonError::DialTls {
            endpoint: endpoint.to_string(),
            source,
        })?;
    }
    Ok(ep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_endpoints() {
        assert_eq!(
            host_of("peer0.org1.example.com:7051"),
            "peer0.org1.example.com"
        );
        assert_eq!(host_of("[::1]:7051"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }

    /// A listener that accepts connections and never answers (its backlog
    /// completes the TCP handshake): the TLS handshake never ends. (Over
    /// plaintext, HTTP/2 does not wait for the server before the first call,
    /// so there it is each call's deadline that bounds the wait.)
    #[tokio::test]
    async fn a_host_that_accepts_and_stays_silent_fails_the_dial_in_time() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = silent.local_addr().unwrap().to_string();
        let options = DialOptions {
            connect_timeout: std::time::Duration::from_millis(300),
            ..DialOptions::default()
        };
        let tls = DialTls {
            roots: Vec::new(),
            identity: None,
            server_name: None,
        };
        let e = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            dial(&endpoint, Some(&tls), options),
        )
        .await
        .expect("the dial gives up by itself")
        .unwrap_err();
        assert!(
            matches!(&e, CommonError::ConnectTimeout { endpoint: ep, .. } if *ep == endpoint),
            "{e}"
        );
        assert!(e.to_string().contains("no handshake within 300ms"), "{e}");
    }

    #[tokio::test]
    async fn a_refused_dial_names_the_endpoint_and_the_cause() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("127.0.0.1:{port}");
        let e = dial(&endpoint, None, DialOptions::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&endpoint) && e.to_lowercase().contains("refused"),
            "{e}"
        );
        let e = dial("not an address", None, DialOptions::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a host:port"), "{e}");
    }
}
