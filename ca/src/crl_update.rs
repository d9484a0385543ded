//! Revocation that takes effect: a CRL becomes a signed channel config
//! update that adds it to an organisation's MSP. Once the update commits,
//! peers and orderers refuse the revoked identities (Fabric leaves this step
//! to its users).

use prost::Message;
use weft_common::config::go_encoding;
use weft_common::config::update::{compute_update, sign_config_update};
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_protos::common::{
    Block, Config, ConfigEnvelope, ConfigUpdateEnvelope, Envelope, HeaderType, Payload,
};

use crate::CaError;

fn config_err(m: impl Into<String>) -> CaError {
    CaError::Config(m.into())
}

/// The channel config inside a config block (genesis, or the newest config
/// block, e.g. from `weft-peer channel fetch config`).
pub fn config_from_block(block_bytes: &[u8]) -> Result<Config, CaError> {
    let bad = |e: &dyn std::fmt::Display| config_err(format!("not a config block: {e}"));
    let block = Block::decode(block_bytes).map_err(|e| bad(&e))?;
    let first = block
        .data
        .as_ref()
        .and_then(|d| d.data.first())
        .ok_or_else(|| config_err("not a config block: it has no transactions"))?;
    let env = Envelope::decode(first.as_slice()).map_err(|e| bad(&e))?;
    let payload = Payload::decode(env.payload.as_slice()).map_err(|e| bad(&e))?;
    ConfigEnvelope::decode(payload.data.as_slice())
        .map_err(|e| bad(&e))?
        .config
        .ok_or_else(|| config_err("not a config block: its envelope has no config"))
}

/// Sends a CONFIG_UPDATE envelope to an orderer (`host:port`, over TLS
/// with `tls`); returns once the orderer accepted it.
pub async fn submit(
    orderer: &str,
    tls: Option<&weft_common::node::dial::DialTls>,
    envelope: Envelope,
) -> Result<(), CaError> {
    let options = weft_common::node::dial::DialOptions {
        connect_timeout: std::time::Duration::from_secs(10),
        ..Default::default()
    };
    let channel = weft_common::node::dial::dial(orderer, tls, options)
        .await
        .map_err(|e| config_err(e.to_string()))?;
    weft_common::node::orderer_client::broadcast(channel, orderer, envelope)
        .await
        .map_err(|e| config_err(e.to_string()))
}

/// The channel config with `crl_pem` in organisation `msp_id`'s MSP (under
/// `Application` and `Orderer`, wherever the org is), replacing any earlier
/// CRL from the same issuer.
pub fn with_crl(current: &Config, msp_id: &str, crl_pem: &[u8]) -> Result<Config, CaError> {
    let edit = weft_common::config::edit::Edit::AddCrl {
        msp_id: msp_id.to_string(),
        crl_pem: crl_pem.to_vec(),
    };
    weft_common::config::edit::apply(current, &edit).map_err(|e| config_err(e.to_string()))
}

/// The CONFIG_UPDATE envelope that adds `crl_pem` to `msp_id`'s MSP on
/// `channel`, signed by `admins` (enough for the MSP's modification policy,
/// normally one admin of that org) and submitted as `submitter`.
pub fn crl_update_envelope(
    channel: &str,
    current: &Config,
    msp_id: &str,
    crl_pem: &[u8],
    admins: &[&SigningIdentity],
    submitter: &SigningIdentity,
) -> Result<Envelope, CaError> {
    let channel_id = ChannelId::new(channel);
    let updated = with_crl(current, msp_id, crl_pem)?;
    let update = go_encoding::config_update(&compute_update(&channel_id, current, &updated)?);
    let signatures = admins
        .iter()
        .map(|a| sign_config_update(&update, a))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = ConfigUpdateEnvelope {
        config_update: update,
        signatures,
    };
    Ok(weft_common::tx::signed_envelope(
        HeaderType::ConfigUpdate,
        &channel_id,
        envelope.encode_to_vec(),
        submitter,
    )?)
}
