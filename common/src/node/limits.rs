//! Limits on what a remote party can make a node hold: requests in flight per
//! gRPC service, HTTP/2 streams per connection, and keep-alive pings that
//! close connections whose other end is gone. Connection counts and
//! handshake times are in [`super::net::ConnectionLimits`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// HTTP/2 streams (requests) one connection may have open at once. Clients
/// beyond it queue their calls; they are not refused.
pub const MAX_CONCURRENT_STREAMS: u32 = 256;

/// A cap on one gRPC service's requests in flight, as Fabric's
/// `peer.limits.concurrency.*`: a request over the cap is refused at once with
/// RESOURCE_EXHAUSTED rather than queued. A stream holds its place until it ends.
#[derive(Debug, Clone)]
pub struct ServiceLimit {
    service: &'static str,
    limit: usize,
    permits: Arc<Semaphore>,
}

impl ServiceLimit {
    /// At most `limit` requests of `service` (its gRPC name, e.g. `protos.Endorser`) at once.
    pub fn new(service: &'static str, limit: usize) -> Self {
        Self {
            service,
            limit,
            permits: Arc::new(Semaphore::new(limit)),
        }
    }

    /// A place for one request, held until the permit is dropped.
    pub fn try_acquire(&self) -> Result<OwnedSemaphorePermit, tonic::Status> {
        self.permits.clone().try_acquire_owned().map_err(|_| {
            tonic::Status::resource_exhausted(format!(
                "too many requests for {}, exceeding concurrency limit ({}); retry later",
                self.service, self.limit
            ))
        })
    }

    /// The cap.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// Keep-alive pings a server sends on a quiet connection, closing it when
/// none is answered (Fabric's `peer.keepalive.interval`/`timeout`,
/// `General.Keepalive.ServerInterval`/`ServerTimeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerKeepAlive {
    /// Quiet time before a ping.
    pub interval: Duration,
    /// Time the answer may take.
    pub timeout: Duration,
}

impl Default for ServerKeepAlive {
    /// Fabric's defaults: 7200 s and 20 s.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(7200),
            timeout: Duration::from_secs(20),
        }
    }
}

/// A tonic server builder with these keep-alive pings and
/// [`MAX_CONCURRENT_STREAMS`] per connection.
pub fn grpc_server(keep_alive: ServerKeepAlive) -> tonic::transport::Server {
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(keep_alive.interval))
        .http2_keepalive_timeout(Some(keep_alive.timeout))
        .max_concurrent_streams(Some(MAX_CONCURRENT_STREAMS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_limit_refuses_beyond_its_cap_and_frees_places() {
        let limit = ServiceLimit::new("protos.Endorser", 2);
        let a = limit.try_acquire().unwrap();
        let _b = limit.try_acquire().unwrap();
        let refused = limit.try_acquire().unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(
            refused
                .message()
                .contains("protos.Endorser, exceeding concurrency limit (2)"),
            "{}",
            refused.message()
        );
        drop(a);
        assert!(limit.try_acquire().is_ok());
    }
}
