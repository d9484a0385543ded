//! The channel's consenters as this node sees them: Raft ids, endpoints and
//! the TLS certificates they present.

use prost::Message as _;
use weft_common::config::ChannelConfig;
use weft_protos::common::Block;

use crate::OrdererError;
use crate::membership::{Membership, consenter_certs};
use crate::storage::{ChannelStorage, ChannelStore};

/// A consenter of the channel as this node sees it.
#[derive(Debug, Clone)]
pub struct Consenter {
    /// Raft id.
    pub id: u64,
    /// `host:port` of its cluster service.
    pub endpoint: String,
    /// Host name, for TLS server name checks.
    pub host: String,
    /// Its client TLS certificate (DER), which it must present when calling us.
    pub client_cert_der: Vec<u8>,
}

/// Consenters from a channel config, and which one is this node (by its TLS certificate).
pub fn consenters(
    cfg: &ChannelConfig,
    membership: &Membership,
) -> Result<Vec<Consenter>, OrdererError> {
    let ord = cfg
        .orderer
        .as_ref()
        .ok_or_else(|| OrdererError::ChannelConfig("it has no Orderer group".into()))?;
    if ord.consensus_type != "etcdraft" {
        return Err(OrdererError::ChannelConfig(format!(
            "consensus type {:?} is not supported (etcdraft only)",
            ord.consensus_type
        )));
    }
    ord.consenters
        .iter()
        .zip(&membership.ids)
        .map(|(c, id)| {
            Ok(Consenter {
                id: *id,
                endpoint: format!("{}:{}", c.host, c.port),
                host: c.host.clone(),
                client_cert_der: weft_common::tls::parse_certs(&c.client_tls_cert)?
                    .remove(0)
                    .to_vec(),
            })
        })
        .collect()
}

/// The consenter membership as of the store's newest block (genesis ids when none is recorded).
pub fn stored_membership(
    store: &ChannelStore,
    cfg: &ChannelConfig,
) -> Result<Membership, OrdererError> {
    let certs = consenter_certs(cfg)?;
    let height = store.height()?;
    let last = store
        .block(height.saturating_sub(1))?
        .and_then(|b| Block::decode(b.as_slice()).ok())
        .ok_or_else(|| OrdererError::Corrupt {
            what: "block store".into(),
            reason: "no blocks".into(),
        })?;
    Ok(Membership::from_block(&last, &certs).unwrap_or_else(|| Membership::genesis(certs)))
}
