//! Chaincode events (the gateway's ChaincodeEvents) and block events (the
//! peer's Deliver), from a chosen block, the newest, or a checkpoint.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{BoxStream, Stream, StreamExt};
use prost::Message;
use weft_common::crypto::sha256;
use weft_common::ids::ChannelId;
use weft_protos::common::{Block, Envelope, HeaderType};
use weft_protos::gateway::{ChaincodeEventsRequest, SignedChaincodeEventsRequest};
use weft_protos::orderer::{
    SeekInfo, SeekNextCommit, SeekPosition, SeekSpecified, seek_info, seek_position,
};
use weft_protos::protos::deliver_client::DeliverClient;
use weft_protos::protos::{BlockAndPrivateData, deliver_response};

use crate::checkpoint::{Checkpoint, Checkpointer};
use crate::error::GatewayFailure;
use crate::{ClientError, Gateway, Network};

/// Where an event stream starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventStart {
    /// With the next block to be committed.
    Newest,
    /// With this block.
    Block(u64),
    /// Just after a checkpoint: its block, skipping events up to and
    /// including its transaction.
    Checkpoint(Checkpoint),
}

impl EventStart {
    /// Resumes from `checkpointer` if it has a checkpoint, else starts at `fresh`.
    pub fn resume(checkpointer: &dyn Checkpointer, fresh: EventStart) -> Self {
        let c = checkpointer.checkpoint();
        if c.block_number.is_some() {
            Self::Checkpoint(c)
        } else {
            fresh
        }
    }

    fn position_and_after(&self) -> (SeekPosition, String) {
        let specified = |number| SeekPosition {
            r#type: Some(seek_position::Type::Specified(SeekSpecified { number })),
        };
        match self {
            // Fabric's next-commit position: no block committed before the request.
            Self::Newest => (
                SeekPosition {
                    r#type: Some(seek_position::Type::NextCommit(SeekNextCommit {})),
                },
                String::new(),
            ),
            Self::Block(n) => (specified(*n), String::new()),
            Self::Checkpoint(c) => (
                specified(c.block_number.unwrap_or(0)),
                c.transaction_id.clone().unwrap_or_default(),
            ),
        }
    }
}

/// An event a chaincode set in a valid, committed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodeEvent {
    /// The block the transaction is in.
    pub block_number: u64,
    /// The transaction that set it.
    pub tx_id: String,
    /// The chaincode.
    pub chaincode: String,
    /// The event's name.
    pub name: String,
    /// The event's payload.
    pub payload: Vec<u8>,
}

/// A stream of chaincode events, in chain order; it ends only on error or
/// when dropped.
pub struct ChaincodeEvents {
    inner: BoxStream<'static, Result<ChaincodeEvent, ClientError>>,
}

impl Stream for ChaincodeEvents {
    type Item = Result<ChaincodeEvent, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// A signed (or to be signed offline) request for chaincode events.
#[derive(Debug, Clone)]
pub struct ChaincodeEventsRequestBuilder {
    gateway: Gateway,
    request: Vec<u8>,
    signature: Option<Vec<u8>>,
}

impl ChaincodeEventsRequestBuilder {
    /// The bytes a signer signs.
    pub fn bytes(&self) -> &[u8] {
        &self.request
    }

    /// SHA-256 of [`Self::bytes`].
    pub fn digest(&self) -> [u8; 32] {
        sha256(&self.request)
    }

    /// The same request with a signature made offline over [`Self::bytes`].
    pub fn with_signature(mut self, signature: Vec<u8>) -> Self {
        self.signature = Some(signature);
        self
    }

    /// Opens the stream.
    pub async fn open(self) -> Result<ChaincodeEvents, ClientError> {
        let signature = self
            .signature
            .ok_or(ClientError::Unsigned("chaincode events request"))?;
        let stream = self
            .gateway
            .client()
            .chaincode_events(SignedChaincodeEventsRequest {
                request: self.request,
                signature,
            })
            .await
            .map_err(|s| ClientError::Events(GatewayFailure::from_status(&s)))?
            .into_inner();
        let inner = stream
            .flat_map(|r| {
                let items: Vec<Result<ChaincodeEvent, ClientError>> = match r {
                    Ok(resp) => resp
                        .events
                        .into_iter()
                        .map(|e| {
                            Ok(ChaincodeEvent {
                                block_number: resp.block_number,
                                tx_id: e.tx_id,
                                chaincode: e.chaincode_id,
                                name: e.event_name,
                                payload: e.payload,
                            })
                        })
                        .collect(),
                    Err(s) => vec![Err(ClientError::Events(GatewayFailure::from_status(&s)))],
                };
                futures::stream::iter(items)
            })
            .boxed();
        Ok(ChaincodeEvents { inner })
    }
}

/// A stream of whole committed blocks (with their validation codes in the
/// metadata), in order: `Block`s from [`Network::block_events`], or
/// [`BlockAndPrivateData`] from [`Network::block_and_private_data_events`].
pub struct BlockEvents<T = Block> {
    inner: BoxStream<'static, Result<T, ClientError>>,
}

impl<T> Stream for BlockEvents<T> {
    type Item = Result<T, ClientError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl Network {
    /// A request for `chaincode`'s events from `start`, signed if the gateway
    /// has a signer (else sign it offline, then [`ChaincodeEventsRequestBuilder::open`]).
    pub fn new_chaincode_events_request(
        &self,
        chaincode: &str,
        start: &EventStart,
    ) -> ChaincodeEventsRequestBuilder {
        let (position, after) = start.position_and_after();
        let request = ChaincodeEventsRequest {
            channel_id: self.name.clone(),
            chaincode_id: chaincode.to_string(),
            identity: self.gateway.serialized_identity().to_vec(),
            start_position: Some(position),
            after_transaction_id: after,
        }
        .encode_to_vec();
        let signature = self.gateway.try_sign(&request).ok().flatten();
        ChaincodeEventsRequestBuilder {
            gateway: self.gateway.clone(),
            request,
            signature,
        }
    }

    /// `chaincode`'s events from `start`.
    pub async fn chaincode_events(
        &self,
        chaincode: &str,
        start: EventStart,
    ) -> Result<ChaincodeEvents, ClientError> {
        self.new_chaincode_events_request(chaincode, &start)
            .open()
            .await
    }

    /// Committed blocks from `start` (a checkpoint's block; block events have
    /// no transaction-level resume). Needs the channel's `Readers` access.
    pub async fn block_events(&self, start: EventStart) -> Result<BlockEvents, ClientError> {
        self.deliver(start, false, |t| match t {
            deliver_response::Type::Block(b) => Some(b),
            _ => None,
        })
        .await
    }

    /// Committed blocks from `start`, each with the private data the peer
    /// holds and this client may read (Fabric's `DeliverWithPrivateData`:
    /// `memberOnlyRead` collections only for members' clients), by
    /// transaction position.
    pub async fn block_and_private_data_events(
        &self,
        start: EventStart,
    ) -> Result<BlockEvents<BlockAndPrivateData>, ClientError> {
        self.deliver(start, true, |t| match t {
            deliver_response::Type::BlockAndPrivateData(b) => Some(b),
            _ => None,
        })
        .await
    }

    /// Opens a Deliver stream (with private data or not) from `start`;
    /// `item` picks the responses it yields.
    async fn deliver<T: Send + 'static>(
        &self,
        start: EventStart,
        with_private_data: bool,
        item: fn(deliver_response::Type) -> Option<T>,
    ) -> Result<BlockEvents<T>, ClientError> {
        let (position, _) = start.position_and_after();
        let seek = SeekInfo {
            start: Some(position),
            stop: Some(SeekPosition {
                r#type: Some(seek_position::Type::Specified(SeekSpecified {
                    number: u64::MAX,
                })),
            }),
            behavior: seek_info::SeekBehavior::BlockUntilReady as i32,
            ..Default::default()
        };
        let payload = weft_common::tx::bound_envelope_payload(
            HeaderType::DeliverSeekInfo,
            &ChannelId::new(&self.name),
            seek.encode_to_vec(),
            self.gateway.serialized_identity(),
            self.gateway.inner.tls_cert_hash.clone(),
        );
        let signature = self
            .gateway
            .try_sign(&payload)?
            .ok_or(ClientError::Unsigned("block events request"))?;
        let mut client =
            DeliverClient::new(self.gateway.channel()).max_decoding_message_size(256 * 1024 * 1024);
        let request = futures::stream::iter([Envelope { payload, signature }]);
        let opened = if with_private_data {
            client.deliver_with_private_data(request).await
        } else {
            client.deliver(request).await
        };
        let stream = opened
            .map_err(|s| ClientError::Events(GatewayFailure::from_status(&s)))?
            .into_inner();
        let inner = stream
            .filter_map(move |r| async move {
                match r {
                    Ok(resp) => match resp.r#type {
                        Some(deliver_response::Type::Status(code)) => {
                            Some(Err(ClientError::Events(GatewayFailure {
                                code: tonic::Code::Unavailable,
                                message: format!(
                                    "the peer ended block delivery with status {code}"
                                ),
                                details: Vec::new(),
                            })))
                        }
                        Some(t) => item(t).map(Ok),
                        None => None,
                    },
                    Err(s) => Some(Err(ClientError::Events(GatewayFailure::from_status(&s)))),
                }
            })
            .boxed();
        Ok(BlockEvents { inner })
    }
}
