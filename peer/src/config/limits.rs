//! What remote parties may make the peer hold, from core.yaml with Fabric's
//! names and defaults (`peer.maxRecvMsgSize`, `peer.keepalive.*`,
//! `peer.limits.concurrency.*`, `ledger.state.totalQueryLimit`) and weft's
//! own where Fabric has none (`peer.limits.maxConnections`,
//! `peer.limits.chaincodeExecutions`, `peer.limits.chaincodeFuel`,
//! `peer.limits.chaincodeMemory`).

use std::time::Duration;

use serde::Deserialize;
use weft_common::node::dial::KeepAlive;
use weft_common::node::limits::ServerKeepAlive;
use weft_common::node::net::ConnectionLimits;
use weft_common::node::settings::{byte_size, duration};

use crate::PeerError;

/// The least linear memory chaincode may be given.
const MIN_CHAINCODE_MEMORY: usize = 1024 * 1024;

/// Fabric's default for both message sizes: 100 MiB.
const MAX_MESSAGE: usize = 100 * 1024 * 1024;

/// The peer's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLimits {
    /// Largest gRPC message received (`peer.maxRecvMsgSize`).
    pub max_recv_msg_size: usize,
    /// Largest gRPC message sent (`peer.maxSendMsgSize`).
    pub max_send_msg_size: usize,
    /// Pings on quiet client connections (`peer.keepalive.interval`/`timeout`).
    pub keep_alive: ServerKeepAlive,
    /// Pings on this peer's connections to other peers (`peer.keepalive.client.*`).
    pub client_keep_alive: KeepAlive,
    /// Pings on its connections to orderers (`peer.keepalive.deliveryClient.*`).
    pub delivery_keep_alive: KeepAlive,
    /// ProcessProposal calls at once (`peer.limits.concurrency.endorserService`).
    pub endorser_concurrency: usize,
    /// Deliver streams open at once (`peer.limits.concurrency.deliverService`).
    pub deliver_concurrency: usize,
    /// Connections (and TLS handshakes) held at once (`peer.limits.maxConnections`).
    pub connections: ConnectionLimits,
    /// Chaincode invocations executing at once; more wait their turn
    /// (`peer.limits.chaincodeExecutions`). With the runtime's memory limit per
    /// invocation, this bounds the memory chaincode can hold.
    pub chaincode_executions: usize,
    /// Fuel one chaincode invocation may burn (weft's `peer.limits.chaincodeFuel`;
    /// roughly WASM instructions plus host-call charges). Fabric bounds an
    /// invocation by time (`chaincode.executeTimeout`); fuel makes the bound
    /// the same on a fast and a slow machine.
    pub chaincode_fuel: u64,
    /// Linear memory one chaincode invocation may grow to, in bytes (weft's
    /// `peer.limits.chaincodeMemory`, e.g. `64MB`).
    pub chaincode_memory: usize,
    /// Results one range, composite-key or history query returns at most
    /// (`ledger.state.totalQueryLimit`); the iterator ends there.
    pub total_query_limit: usize,
}

impl Default for PeerLimits {
    fn default() -> Self {
        Self {
            max_recv_msg_size: MAX_MESSAGE,
            max_send_msg_size: MAX_MESSAGE,
            keep_alive: ServerKeepAlive::default(),
            client_keep_alive: KeepAlive::default(),
            delivery_keep_alive: KeepAlive::default(),
            endorser_concurrency: 2500,
            deliver_concurrency: 2500,
            connections: ConnectionLimits::default(),
            chaincode_executions: 2 * std::thread::available_parallelism().map_or(2, |n| n.get()),
            chaincode_fuel: crate::chaincode::runtime::DEFAULT_FUEL,
            chaincode_memory: crate::chaincode::runtime::DEFAULT_MEMORY,
            total_query_limit: 100_000,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(super) struct PingYaml {
    interval: Option<String>,
    timeout: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(super) struct KeepaliveYaml {
    interval: Option<String>,
    timeout: Option<String>,
    #[serde(default)]
    client: PingYaml,
    #[serde(default)]
    deliveryclient: PingYaml,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(super) struct ConcurrencyYaml {
    pub(super) gatewayservice: Option<usize>,
    endorserservice: Option<usize>,
    deliverservice: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(super) struct LimitsYaml {
    #[serde(default)]
    pub(super) concurrency: ConcurrencyYaml,
    maxconnections: Option<usize>,
    chaincodeexecutions: Option<usize>,
    chaincodefuel: Option<u64>,
    chaincodememory: Option<serde_yaml_ng::Value>,
}

/// The core.yaml keys behind [`PeerLimits`].
pub(super) struct LimitsKeys<'a> {
    pub max_recv: Option<usize>,
    pub max_send: Option<usize>,
    pub keepalive: &'a KeepaliveYaml,
    pub limits: &'a LimitsYaml,
    pub total_query_limit: Option<usize>,
}

fn at_least_one(key: &str, value: Option<usize>, default: usize) -> Result<usize, PeerError> {
    match value {
        Some(0) => Err(PeerError::Config(format!("{key}: must be at least 1"))),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

fn ping(
    key: &str,
    yaml: (&Option<String>, &Option<String>),
    default: (Duration, Duration),
) -> Result<(Duration, Duration), PeerError> {
    let interval = match yaml.0 {
        Some(t) => duration(&format!("{key}.interval"), t)?,
        None => default.0,
    };
    let timeout = match yaml.1 {
        Some(t) => duration(&format!("{key}.timeout"), t)?,
        None => default.1,
    };
    Ok((interval, timeout))
}

impl PeerLimits {
    pub(super) fn parse(keys: LimitsKeys<'_>) -> Result<Self, PeerError> {
        let d = Self::default();
        let k = keys.keepalive;
        let server = ping(
            "peer.keepalive",
            (&k.interval, &k.timeout),
            (d.keep_alive.interval, d.keep_alive.timeout),
        )?;
        let client = ping(
            "peer.keepalive.client",
            (&k.client.interval, &k.client.timeout),
            (d.client_keep_alive.interval, d.client_keep_alive.timeout),
        )?;
        let delivery = ping(
            "peer.keepalive.deliveryClient",
            (&k.deliveryclient.interval, &k.deliveryclient.timeout),
            (
                d.delivery_keep_alive.interval,
                d.delivery_keep_alive.timeout,
            ),
        )?;
        let l = keys.limits;
        Ok(Self {
            max_recv_msg_size: at_least_one(
                "peer.maxRecvMsgSize",
                keys.max_recv,
                d.max_recv_msg_size,
            )?,
            max_send_msg_size: at_least_one(
                "peer.maxSendMsgSize",
                keys.max_send,
                d.max_send_msg_size,
            )?,
            keep_alive: ServerKeepAlive {
                interval: server.0,
                timeout: server.1,
            },
            client_keep_alive: KeepAlive {
                interval: client.0,
                timeout: client.1,
            },
            delivery_keep_alive: KeepAlive {
                interval: delivery.0,
                timeout: delivery.1,
            },
            endorser_concurrency: at_least_one(
                "peer.limits.concurrency.endorserService",
                l.concurrency.endorserservice,
                d.endorser_concurrency,
            )?,
            deliver_concurrency: at_least_one(
                "peer.limits.concurrency.deliverService",
                l.concurrency.deliverservice,
                d.deliver_concurrency,
            )?,
            connections: ConnectionLimits {
                max_connections: at_least_one(
                    "peer.limits.maxConnections",
                    l.maxconnections,
                    d.connections.max_connections,
                )?,
                ..d.connections
            },
            chaincode_executions: at_least_one(
                "peer.limits.chaincodeExecutions",
                l.chaincodeexecutions,
                d.chaincode_executions,
            )?,
            chaincode_fuel: match l.chaincodefuel {
                Some(0) => {
                    return Err(PeerError::Config(
                        "peer.limits.chaincodeFuel: must be at least 1".into(),
                    ));
                }
                Some(n) => n,
                None => d.chaincode_fuel,
            },
            chaincode_memory: match &l.chaincodememory {
                None => d.chaincode_memory,
                Some(value) => {
                    let bytes = byte_size("peer.limits.chaincodeMemory", value)?;
                    if bytes < MIN_CHAINCODE_MEMORY {
                        return Err(PeerError::Config(format!(
                            "peer.limits.chaincodeMemory: {bytes} bytes is below the 1 MiB chaincode may need"
                        )));
                    }
                    bytes
                }
            },
            total_query_limit: at_least_one(
                "ledger.state.totalQueryLimit",
                keys.total_query_limit,
                d.total_query_limit,
            )?,
        })
    }
}
