//! `protos.Deliver` for clients: blocks (`Deliver`) or filtered blocks
//! (`DeliverFiltered`: txid, type, validation code and chaincode events
//! without payloads) from a `SeekInfo` start to its stop, following new
//! commits when the stop is in the future. Requests are signed envelopes,
//! checked against the channel's `event/Block` / `event/FilteredBlock` ACLs.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use prost::Message;
use tonic::{Request, Response, Status, Streaming};
use weft_common::policy::verify_signers;
use weft_common::tx::UnpackedEnvelope;
use weft_protos::common::{Block, Envelope, HeaderType, Status as FabricStatus};
use weft_protos::orderer::{SeekInfo, seek_info, seek_position};
use weft_protos::protos::deliver_server::Deliver;
use weft_protos::protos::{
    DeliverResponse, FilteredBlock, FilteredChaincodeAction, FilteredTransaction,
    FilteredTransactionActions, deliver_response, filtered_transaction,
};

use crate::channel::Committer;
use crate::node::PeerCore;

type Responses = Pin<Box<dyn Stream<Item = Result<DeliverResponse, Status>> + Send>>;

/// The Deliver service.
#[derive(Debug, Clone)]
pub struct DeliverService {
    core: Arc<PeerCore>,
}

impl DeliverService {
    /// A service over the peer's shared state.
    pub fn new(core: Arc<PeerCore>) -> Self {
        Self { core }
    }
}

fn status(s: FabricStatus) -> DeliverResponse {
    DeliverResponse {
        r#type: Some(deliver_response::Type::Status(s as i32)),
    }
}

/// The filtered form of a committed block.
pub fn filter_block(channel: &str, block: &Block) -> FilteredBlock {
    let codes = weft_common::block::transactions_filter(block);
    let data = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or_default();
    FilteredBlock {
        channel_id: channel.to_string(),
        number: block.header.as_ref().map_or(0, |h| h.number),
        filtered_transactions: data
            .iter()
            .enumerate()
            .filter_map(|(i, bytes)| {
                let env = UnpackedEnvelope::from_bytes(bytes).ok()?;
                let events = env
                    .endorser_transaction()
                    .ok()
                    .and_then(|t| t.action.event)
                    .map(|mut e| {
                        e.payload.clear();
                        vec![FilteredChaincodeAction {
                            chaincode_event: Some(e),
                        }]
                    })
                    .unwrap_or_default();
                Some(FilteredTransaction {
                    txid: env.channel_header.tx_id.clone(),
                    r#type: env.header_type(),
                    tx_validation_code: i32::from(codes.get(i).copied().unwrap_or(0)),
                    data: (env.header_type() == HeaderType::EndorserTransaction as i32).then_some(
                        filtered_transaction::Data::TransactionActions(
                            FilteredTransactionActions {
                                chaincode_actions: events,
                            },
                        ),
                    ),
                })
            })
            .collect(),
    }
}

impl DeliverService {
    fn serve(&self, request: Request<Streaming<Envelope>>, filtered: bool) -> Responses {
        let core = self.core.clone();
        let mut incoming = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            while let Some(Ok(env)) = incoming.next().await {
                let end = seek(&core, &env, filtered, &tx).await;
                if tx.send(Ok(status(end))).await.is_err() {
                    return;
                }
            }
        });
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
    }
}

/// Serves one SeekInfo request; returns the closing status.
async fn seek(
    core: &PeerCore,
    env: &Envelope,
    filtered: bool,
    tx: &tokio::sync::mpsc::Sender<Result<DeliverResponse, Status>>,
) -> FabricStatus {
    let Ok(e) = UnpackedEnvelope::from_envelope(env) else {
        return FabricStatus::BadRequest;
    };
    let Ok(seek) = SeekInfo::decode(e.data.as_slice()) else {
        return FabricStatus::BadRequest;
    };
    let Some(committer) = core.channel(&e.channel_header.channel_id) else {
        return FabricStatus::NotFound;
    };
    let cfg = committer.config();
    let signers = verify_signers(
        &[e.creator_signed_data()],
        &cfg.msps,
        crate::clock::unix_now(),
    );
    let resource = if filtered {
        "event/FilteredBlock"
    } else {
        "event/Block"
    };
    let path = cfg
        .acl_policy(resource)
        .unwrap_or_else(|| "/Channel/Application/Readers".into());
    if let Err(err) = cfg.policies.evaluate(&path, &signers, &cfg.msps) {
        tracing::info!(channel = %cfg.channel_id, "deliver refused: {err}");
        return FabricStatus::Forbidden;
    }
    let height = committer.ledger().height();
    let position = |p: Option<&weft_protos::orderer::SeekPosition>, newest: u64| match p
        .and_then(|p| p.r#type.as_ref())
    {
        Some(seek_position::Type::Oldest(_)) => 0,
        Some(seek_position::Type::Specified(s)) => s.number,
        _ => newest,
    };
    let start = position(seek.start.as_ref(), height.saturating_sub(1));
    let stop = position(seek.stop.as_ref(), height.saturating_sub(1));
    if stop < start {
        return FabricStatus::BadRequest;
    }
    let fail_if_not_ready = seek.behavior == seek_info::SeekBehavior::FailIfNotReady as i32;
    let mut commits = committer.subscribe();
    let mut next = start;
    while next <= stop {
        if next >= committer.ledger().height() {
            if fail_if_not_ready {
                return FabricStatus::NotFound;
            }
            tokio::select! {
                r = commits.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = r {
                        return FabricStatus::ServiceUnavailable;
                    }
                }
                _ = tx.closed() => return FabricStatus::ServiceUnavailable,
            }
            continue;
        }
        let Some(response) = block_response(&committer, next, filtered) else {
            return FabricStatus::InternalServerError;
        };
        if tx.send(Ok(response)).await.is_err() {
            return FabricStatus::ServiceUnavailable;
        }
        next += 1;
    }
    FabricStatus::Success
}

fn block_response(committer: &Committer, number: u64, filtered: bool) -> Option<DeliverResponse> {
    let block = committer.ledger().block(number).ok()??;
    Some(DeliverResponse {
        r#type: Some(if filtered {
            deliver_response::Type::FilteredBlock(filter_block(
                committer.config().channel_id.as_str(),
                &block,
            ))
        } else {
            deliver_response::Type::Block(block)
        }),
    })
}

#[tonic::async_trait]
impl Deliver for DeliverService {
    type DeliverStream = Responses;
    type DeliverFilteredStream = Responses;
    type DeliverWithPrivateDataStream = Responses;

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Responses>, Status> {
        Ok(Response::new(self.serve(request, false)))
    }

    async fn deliver_filtered(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Responses>, Status> {
        Ok(Response::new(self.serve(request, true)))
    }

    async fn deliver_with_private_data(
        &self,
        _request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Responses>, Status> {
        Err(Status::unimplemented(
            "DeliverWithPrivateData is not supported: weft does not disseminate private data",
        ))
    }
}
