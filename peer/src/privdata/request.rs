//! Signed peer-to-peer requests: the asking peer names the channel, its
//! identity and the time, and signs the request; the answering peer checks
//! the signature against the channel's MSPs, the clock skew, and that the
//! signer is a peer (where its MSP tells roles apart).

use std::time::Duration;

use prost::Message;
use weft_common::config::ChannelConfig;
use weft_common::msp::{Role, SigningIdentity, ValidatedIdentity};
use weft_common::policy::{SignedData, verify_signers};
use weft_protos::weft::privdata::{Asker, SignedPrivateRequest};

/// Why a request is refused.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// It does not decode.
    #[error("malformed request: {0}")]
    Malformed(#[from] prost::DecodeError),
    /// It names no asker.
    #[error("the request names no asker")]
    NoAsker,
    /// Its timestamp is too far from this peer's clock.
    #[error("the request's timestamp is {0} s away from this peer's clock")]
    Skew(u64),
    /// Its signer is not valid on the channel.
    #[error("the request's signer is not valid on channel {channel}: {why}")]
    Signer {
        /// The channel.
        channel: String,
        /// Why.
        why: String,
    },
    /// Its signer is not a peer.
    #[error("only peers may exchange private data; the signer is a {0:?} of {1}")]
    NotAPeer(Role, String),
    /// This peer cannot sign.
    #[error("cannot sign the request: {0}")]
    Sign(weft_common::CommonError),
}

impl From<RequestError> for tonic::Status {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Malformed(_) | RequestError::NoAsker | RequestError::Skew(_) => {
                tonic::Status::invalid_argument(e.to_string())
            }
            RequestError::Signer { .. } | RequestError::NotAPeer(..) => {
                tonic::Status::permission_denied(e.to_string())
            }
            RequestError::Sign(_) => tonic::Status::internal(e.to_string()),
        }
    }
}

/// Who asks, now.
pub fn asker(channel: &str, signer: &SigningIdentity) -> Asker {
    Asker {
        channel: channel.to_string(),
        identity: signer.serialized().to_vec(),
        timestamp: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
    }
}

/// Signs an encoded request.
pub fn sign(
    payload: Vec<u8>,
    signer: &SigningIdentity,
) -> Result<SignedPrivateRequest, RequestError> {
    let signature = signer.sign(&payload).map_err(RequestError::Sign)?;
    Ok(SignedPrivateRequest { payload, signature })
}

/// The asker's channel, before the channel's MSPs can check it.
pub fn channel_of(asker: Option<&Asker>) -> Result<&str, RequestError> {
    asker
        .map(|a| a.channel.as_str())
        .ok_or(RequestError::NoAsker)
}

/// Checks a decoded request's asker and signature.
pub fn verify(
    r: &SignedPrivateRequest,
    asker: Option<&Asker>,
    cfg: &ChannelConfig,
    window: Duration,
) -> Result<ValidatedIdentity, RequestError> {
    let a = asker.ok_or(RequestError::NoAsker)?;
    let now = weft_common::clock::unix_now();
    let sent = a.timestamp.as_ref().map_or(0, |t| t.seconds);
    let skew = (now - sent).unsigned_abs();
    if skew > window.as_secs() {
        return Err(RequestError::Skew(skew));
    }
    let mut signers = verify_signers(
        &[SignedData {
            identity: a.identity.clone(),
            data: r.payload.clone(),
            signature: r.signature.clone(),
        }],
        &cfg.msps,
        now,
    );
    let Some(signer) = signers.valid.pop() else {
        return Err(RequestError::Signer {
            channel: cfg.channel_id.to_string(),
            why: signers.refused.join("; "),
        });
    };
    match signer.role {
        None | Some(Role::Peer) => Ok(signer),
        Some(other) => Err(RequestError::NotAPeer(
            other,
            signer.identity.msp_id().to_string(),
        )),
    }
}

/// Decodes a signed request's payload.
pub fn decode<M: Message + Default>(r: &SignedPrivateRequest) -> Result<M, RequestError> {
    Ok(M::decode(r.payload.as_slice())?)
}
