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
    ChannelHeader, ConfigUpdate, ConfigUpdateEnvelope, Envelope, HeaderType, Payload,
    SignatureHeader,
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
    /// does: the envelope around it is signed by `admin` too. An admin who
    /// has signed already is not added twice (it would count once anyway).
    pub fn sign(&mut self, admin: &SigningIdentity) -> Result<(), ConfigtxError> {
        if !self.signed_by(admin) {
            self.envelope = add_signature(&self.envelope, admin)?;
        }
        Ok(())
    }

    /// Whether `who` has signed the update.
    pub fn signed_by(&self, who: &SigningIdentity) -> bool {
        self.envelope.signatures.iter().any(|s| {
            SignatureHeader::decode(s.signature_header.as_slice())
                .is_ok_and(|h| h.creator == who.serialized())
        })
    }

    /// The CONFIG_UPDATE envelope an orderer takes, signed by `submitter`,
    /// whose signature is added to the update first, as Fabric's `peer
    /// channel update` adds it.
    pub fn submission(&self, submitter: &SigningIdentity) -> Result<Envelope, ConfigtxError> {
        let mut signed = self.clone();
        signed.sign(submitter)?;
        Ok(weft_common::tx::signed_envelope(
            HeaderType::ConfigUpdate,
            &self.channel,
            signed.envelope.encode_to_vec(),
            submitter,
        )?)
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
    /// `weft-configtx fetch config`).
    pub fn review(&self, config_block: &Path) -> Result<UpdateReview, ConfigtxError> {
        self.review_against(&crate::channel_update::read_config_block(config_block)?)
    }

    /// What it changes and who must still sign, against `current`.
    pub fn review_against(&self, current: &ChannelConfig) -> Result<UpdateReview, ConfigtxError> {
        if current.channel_id != self.channel {
            return Err(ConfigtxError::Usage(format!(
                "the update is for channel {}, the config block is {}'s",
                self.channel, current.channel_id
            )));
        }
        Ok(review_update(
            current,
            &self.envelope,
            weft_common::clock::unix_now(),
        )?)
    }
}
