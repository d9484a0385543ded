//! Config changes on a running channel, apart from the actor that drives
//! them: the leader's last check of a CONFIG envelope before it orders it,
//! reading a committed config back, and what a committed config changes on
//! this node.

use prost::Message as _;
use weft_common::config::ChannelConfig;
use weft_protos::common::Block;

use super::clients::ConsenterLinks;
use super::{ChannelHandle, consenters};
use crate::OrdererError;
use crate::chain::Chain;
use crate::cutter::BatchLimits;
use crate::membership::consenter_certs;
use crate::raft_outbox::Outbox;
use crate::storage::{ChannelStorage, ChannelStore};

/// Whether a CONFIG envelope holds the next config (the sequence after
/// `current`, with no other config in flight) and a consenter change the
/// cluster can take. Anything else is refused as the client's to fix.
pub(super) fn check_next_config(
    chain: &Chain,
    current: &ChannelConfig,
    env: &[u8],
) -> Result<(), OrdererError> {
    let bad = |e: String| OrdererError::UpdateRefused(e);
    let unpacked =
        weft_common::tx::UnpackedEnvelope::from_bytes(env).map_err(|e| bad(e.to_string()))?;
    let ce = weft_protos::common::ConfigEnvelope::decode(unpacked.data.as_slice())
        .map_err(|e| bad(e.to_string()))?;
    let sequence = ce.config.as_ref().map_or(0, |c| c.sequence);
    let now = current.sequence();
    if chain.config_pending() || sequence != now + 1 {
        return Err(bad(format!(
            "the channel config changed while this update was validated (now at sequence {now}); recompute the update and resubmit"
        )));
    }
    let new_cfg = ChannelConfig::from_config(
        current.channel_id.clone(),
        ce.config
            .as_ref()
            .ok_or_else(|| bad("the CONFIG envelope holds no config".into()))?,
    )
    .map_err(|e| bad(e.to_string()))?;
    chain.check_membership_change(consenter_certs(&new_cfg).map_err(|e| bad(e.to_string()))?)
}

/// The config committed in block `number`, read back from the store.
pub(super) fn committed_config(
    store: &ChannelStore,
    number: u64,
) -> Result<ChannelConfig, OrdererError> {
    let corrupt = |reason: String| OrdererError::Corrupt {
        what: format!("config block {number}"),
        reason,
    };
    let bytes = store
        .block(number)?
        .ok_or_else(|| corrupt("missing from the store".into()))?;
    let block = Block::decode(bytes.as_slice()).map_err(|e| corrupt(e.to_string()))?;
    Ok(ChannelConfig::from_block(&block)?)
}

/// What a committed config changes on this node: the chain's batch limits,
/// and the consenters with their clients and Raft links.
pub(super) fn adopt(
    chain: &mut Chain,
    handle: &ChannelHandle,
    outbox: &mut Outbox<ConsenterLinks>,
    cfg: &ChannelConfig,
) {
    chain.set_limits(batch_limits(cfg));
    match consenters(cfg, chain.membership()) {
        Ok(list) => {
            handle
                .clients
                .set_consenters(&list, handle.self_id, cfg.tls_roots());
            outbox.retain(|id| list.iter().any(|c| c.id == id));
            *handle.consenters.write().expect("consenters lock") = list;
        }
        Err(e) => tracing::error!(channel = %handle.id, "consenters of the new config: {e}"),
    }
}

/// The block cutter's limits a channel config sets.
pub(super) fn batch_limits(cfg: &ChannelConfig) -> BatchLimits {
    let ord = cfg.orderer.as_ref().expect("checked by consenters()");
    BatchLimits {
        max_message_count: ord.batch_size.max_message_count,
        preferred_max_bytes: ord.batch_size.preferred_max_bytes,
        timeout: ord.batch_timeout,
    }
}
