//! What an operator's tool asks an orderer: send one envelope (a config
//! update) over Broadcast, and read one block (the newest config block)
//! over Deliver. Nodes talk to orderers through their own long-lived
//! clients; this is the one-shot side used by the command-line tools.

use futures::StreamExt;
use prost::Message;
use weft_protos::common::{Block, Envelope, HeaderType};
use weft_protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use weft_protos::orderer::{
    SeekInfo, SeekPosition, SeekSpecified, deliver_response, seek_info, seek_position,
};

use crate::CommonError;
use crate::block::last_config_index;
use crate::ids::ChannelId;
use crate::msp::SigningIdentity;

fn failed(endpoint: &str, reason: impl Into<String>) -> CommonError {
    CommonError::Orderer {
        endpoint: endpoint.to_string(),
        reason: reason.into(),
    }
}

/// Sends `envelope` to the orderer's Broadcast and waits for its answer:
/// `Ok` on status 200, otherwise the orderer's status and reason.
pub async fn broadcast(
    channel: tonic::transport::Channel,
    endpoint: &str,
    envelope: Envelope,
) -> Result<(), CommonError> {
    let mut client = AtomicBroadcastClient::new(channel);
    let mut answers = client
        .broadcast(futures::stream::iter([envelope]))
        .await
        .map_err(|s| failed(endpoint, s.message()))?
        .into_inner();
    match answers.next().await {
        Some(Ok(a)) if a.status == 200 => Ok(()),
        Some(Ok(a)) => Err(failed(
            endpoint,
            format!("refused with status {}: {}", a.status, a.info),
        )),
        Some(Err(s)) => Err(failed(endpoint, s.message())),
        None => Err(failed(endpoint, "closed the stream without an answer")),
    }
}

/// Which block to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockWanted {
    /// The newest block.
    Newest,
    /// The oldest block (the genesis block, unless pruned).
    Oldest,
    /// Block `n`.
    Number(u64),
}

/// Reads one block of `channel_id` over Deliver, asking as `signer` (who
/// must satisfy the channel's Readers); `tls_cert_hash` binds the request
/// to the client's TLS certificate when mutual TLS is used.
pub async fn deliver_block(
    channel: tonic::transport::Channel,
    endpoint: &str,
    channel_id: &ChannelId,
    wanted: BlockWanted,
    signer: &SigningIdentity,
    tls_cert_hash: Vec<u8>,
) -> Result<Block, CommonError> {
    let position = match wanted {
        BlockWanted::Newest => seek_position::Type::Newest(Default::default()),
        BlockWanted::Oldest => seek_position::Type::Oldest(Default::default()),
        BlockWanted::Number(number) => seek_position::Type::Specified(SeekSpecified { number }),
    };
    let position = SeekPosition {
        r#type: Some(position),
    };
    let seek = SeekInfo {
        start: Some(position),
        stop: Some(position),
        behavior: seek_info::SeekBehavior::FailIfNotReady as i32,
        ..Default::default()
    };
    let request = crate::tx::signed_bound_envelope(
        HeaderType::DeliverSeekInfo,
        channel_id,
        seek.encode_to_vec(),
        signer,
        tls_cert_hash,
    )?;
    let mut client =
        AtomicBroadcastClient::new(channel).max_decoding_message_size(256 * 1024 * 1024);
    let mut answers = client
        .deliver(futures::stream::iter([request]))
        .await
        .map_err(|s| failed(endpoint, s.message()))?
        .into_inner();
    let mut block = None;
    while let Some(answer) = answers.next().await {
        let answer = answer.map_err(|s| failed(endpoint, s.message()))?;
        match answer.r#type {
            Some(deliver_response::Type::Block(b)) => block = Some(b),
            Some(deliver_response::Type::Status(200)) => break,
            Some(deliver_response::Type::Status(code)) => {
                let why = match code {
                    403 => "forbidden: the signer is not one of the channel's Readers".to_string(),
                    404 => format!("channel {channel_id} or that block is not there"),
                    503 => "the orderer's channel is not serving now".to_string(),
                    other => format!("status {other}"),
                };
                return Err(failed(endpoint, why));
            }
            _ => {}
        }
    }
    block.ok_or_else(|| failed(endpoint, "ended the stream without a block"))
}

/// The newest config block of `channel_id`: the newest block names it
/// (its LAST_CONFIG), then that block is read.
pub async fn config_block(
    channel: tonic::transport::Channel,
    endpoint: &str,
    channel_id: &ChannelId,
    signer: &SigningIdentity,
    tls_cert_hash: Vec<u8>,
) -> Result<Block, CommonError> {
    let newest = deliver_block(
        channel.clone(),
        endpoint,
        channel_id,
        BlockWanted::Newest,
        signer,
        tls_cert_hash.clone(),
    )
    .await?;
    let index = last_config_index(&newest)?;
    if newest.header.as_ref().is_some_and(|h| h.number == index) {
        return Ok(newest);
    }
    deliver_block(
        channel,
        endpoint,
        channel_id,
        BlockWanted::Number(index),
        signer,
        tls_cert_hash,
    )
    .await
}
