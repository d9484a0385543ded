//! Checking a block received from an orderer before it is validated: it is
//! the next block, links to the previous one, its data hash is right and its
//! orderer signatures satisfy the channel's `BlockValidation` policy.

use weft_common::block::{check_data_hash, signature_set};
use weft_common::config::ChannelConfig;
use weft_common::policy::verify_signers;
use weft_protos::common::Block;

/// The channel policy orderer signatures must satisfy.
pub const BLOCK_VALIDATION: &str = "/Channel/Orderer/BlockValidation";

/// Why a block from an orderer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block {number} refused: {reason}")]
pub struct BadBlock {
    /// The block's number (as it claims).
    pub number: u64,
    /// What was wrong.
    pub reason: String,
}

/// Checks that `block` may follow a chain of `height` blocks whose newest
/// header hash is `current_hash`, under `config`, at Unix time `now`.
pub fn verify_block(
    block: &Block,
    height: u64,
    current_hash: &[u8],
    config: &ChannelConfig,
    now: i64,
) -> Result<(), BadBlock> {
    let header = block.header.as_ref().ok_or(BadBlock {
        number: height,
        reason: "no header".into(),
    })?;
    let bad = |reason: String| BadBlock {
        number: header.number,
        reason,
    };
    if header.number != height {
        return Err(bad(format!("expected block {height}")));
    }
    if header.previous_hash != current_hash {
        return Err(bad(format!(
            "previous hash {} is not the hash of block {}",
            hex::encode(&header.previous_hash),
            height.saturating_sub(1)
        )));
    }
    check_data_hash(block).map_err(|e| bad(e.to_string()))?;
    let signed = signature_set(block).map_err(|e| bad(format!("signatures: {e}")))?;
    let signers = verify_signers(&signed, &config.msps, now);
    config
        .policies
        .evaluate(BLOCK_VALIDATION, &signers, &config.msps)
        .map_err(|e| bad(e.to_string()))
}
