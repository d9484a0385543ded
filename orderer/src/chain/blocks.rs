//! Reading the blocks the chain writes: envelope digests, config blocks, the
//! consenters a committed config names.

use super::*;

/// The SHA-256 digests of a block's envelopes, in order: from its entry's
/// `context` when the leader put them there, else computed.
pub(super) fn envelope_digests(context: &[u8], envelopes: &[&[u8]]) -> Vec<[u8; 32]> {
    if !envelopes.is_empty() && context.len() == envelopes.len() * 32 {
        context
            .chunks_exact(32)
            .map(|c| c.try_into().expect("chunks of 32 bytes"))
            .collect()
    } else {
        envelopes.iter().map(|env| sha256(env)).collect()
    }
}

/// A decoded block's envelopes as slices.
pub(super) fn envelopes_of(block: &Block) -> Vec<&[u8]> {
    block
        .data
        .iter()
        .flat_map(|d| d.data.iter())
        .map(Vec::as_slice)
        .collect()
}

pub(super) fn decode_block(bytes: &[u8]) -> Result<Block, OrdererError> {
    Block::decode(bytes).map_err(|e| OrdererError::Corrupt {
        what: "block in raft entry".into(),
        reason: e.to_string(),
    })
}

/// Whether a block holds a single CONFIG transaction.
pub fn is_config_block(block: &Block) -> bool {
    let data = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or_default();
    matches!(data, [only] if is_config_envelope(only))
}

/// Whether an envelope is a CONFIG transaction.
pub(super) fn is_config_envelope(envelope: &[u8]) -> bool {
    weft_common::tx::UnpackedEnvelope::from_bytes(envelope)
        .is_ok_and(|e| e.header_type() == weft_protos::common::HeaderType::Config as i32)
}

/// Takes the consenters of committed config block `number`. A config that
/// cannot be loaded is an error naming the block: the channel halts rather
/// than order under the config it was meant to replace.
pub(super) fn adopt_membership(
    membership: &mut Membership,
    number: u64,
    block: &Block,
) -> Result<Vec<Change>, OrdererError> {
    let unloadable = |e: &dyn std::fmt::Display| {
        OrdererError::ChannelConfig(format!(
            "cannot load the config committed in block {number}: {e}"
        ))
    };
    let cfg = weft_common::config::ChannelConfig::from_block(block).map_err(|e| unloadable(&e))?;
    let certs = consenter_certs(&cfg).map_err(|e| unloadable(&e))?;
    let (updated, changes) = membership.update(certs);
    *membership = updated;
    Ok(changes)
}

pub(super) fn block_tip(block: &Block) -> (u64, Vec<u8>) {
    let h = block.header.clone().unwrap_or_default();
    (h.number, header_hash(&h).to_vec())
}
