//! Config update files as admins pass them around for signatures: Fabric's
//! CONFIG_UPDATE envelope (what `peer channel signconfigtx` and `peer channel
//! update` read), or a bare `ConfigUpdate` (what `configtxlator
//! compute_update` writes), which is wrapped on first signature.

use std::path::Path;

use prost::Message;
use weft_common::config::ChannelConfig;
use weft_common::config::update::{UpdateReview, add_signature, review_update};
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_protos::common::{
    Block, ChannelHeader, ConfigUpdate, ConfigUpdateEnvelope, Envelope, HeaderType, Payload,
};

use crate::ConfigtxError;

/// A config update read from a file.
#[derive(Debug, Clone)]
pub struct UpdateFile {
    /// The channel it changes.
    pub channel: ChannelId,
    /// The update and the signatures it has.
    pub envelope: ConfigUpdateEnvelope,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> ConfigtxError {
    ConfigtxError::Decode(format!("{}: {why}", path.display()))
}

impl UpdateFile {
    /// Reads a CONFIG_UPDATE envelope or a bare config update.
    pub fn read(path: &Path) -> Result<Self, ConfigtxError> {
        let bytes = std::fs::read(path).map_err(|e| ConfigtxError::io(path, e))?;
        if let Some(f) = Self::from_envelope(&bytes) {
            return Ok(f);
        }
        let update = ConfigUpdate::decode(bytes.as_slice())
            .ok()
            .filter(|u| !u.channel_id.is_empty() && u.write_set.is_some())
            .ok_or_else(|| {
                bad(
                    path,
                    "neither a CONFIG_UPDATE envelope nor a config update (make one with `weft-configtx compute-update` or configtxlator)",
                )
            })?;
        Ok(Self {
            channel: ChannelId::parse(&update.channel_id).map_err(|e| bad(path, e))?,
            envelope: ConfigUpdateEnvelope {
                config_update: bytes,
                signatures: Vec::new(),
            },
        })
    }

    fn from_envelope(bytes: &[u8]) -> Option<Self> {
        let env = Envelope::decode(bytes).ok()?;
        let payload = Payload::decode(env.payload.as_slice()).ok()?;
        let header = ChannelHeader::decode(payload.header?.channel_header.as_slice()).ok()?;
        if header.r#type != HeaderType::ConfigUpdate as i32 {
            return None;
        }
        Some(Self {
            channel: ChannelId::parse(&header.channel_id).ok()?,
            envelope: ConfigUpdateEnvelope::decode(payload.data.as_slice()).ok()?,
        })
    }

    /// Adds `admin`'s signature, as Fabric's `peer channel signconfigtx`
    /// does: the envelope around it is signed by `admin` too.
    pub fn sign(&mut self, admin: &SigningIdentity) -> Result<(), ConfigtxError> {
        self.envelope = add_signature(&self.envelope, admin)?;
        Ok(())
    }

    /// Writes it as a CONFIG_UPDATE envelope signed by `submitter`.
    pub fn write(&self, path: &Path, submitter: &SigningIdentity) -> Result<(), ConfigtxError> {
        let env = weft_common::tx::signed_envelope(
            HeaderType::ConfigUpdate,
            &self.channel,
            self.envelope.encode_to_vec(),
            submitter,
        )?;
        std::fs::write(path, env.encode_to_vec()).map_err(|e| ConfigtxError::io(path, e))
    }

    /// What it changes and who must still sign, against the channel's
    /// config in `config_block` (its newest config block, e.g. from
    /// `weft-peer channel fetch config`).
    pub fn review(&self, config_block: &Path) -> Result<UpdateReview, ConfigtxError> {
        let bytes = std::fs::read(config_block).map_err(|e| ConfigtxError::io(config_block, e))?;
        let block = Block::decode(bytes.as_slice()).map_err(|e| bad(config_block, e))?;
        let current = ChannelConfig::from_block(&block)?;
        if current.channel_id != self.channel {
            return Err(ConfigtxError::Usage(format!(
                "the update is for channel {}, the config block is {}'s",
                self.channel, current.channel_id
            )));
        }
        Ok(review_update(
            &current,
            &self.envelope,
            weft_common::clock::unix_now(),
        )?)
    }
}
