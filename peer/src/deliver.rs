//! `protos.Deliver` for clients: blocks (`Deliver`) or filtered blocks
//! (`DeliverFiltered`: txid, type, validation code and chaincode events
//! without payloads), served by the Deliver the orderer shares
//! (`weft_common::node::deliver`, Fabric's seek semantics). Requests are
//! signed envelopes, checked against the channel's `event/Block` /
//! `event/FilteredBlock` ACLs.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use futures::future::BoxFuture;
use tonic::{Request, Response, Status, Streaming};
use weft_common::CommonError;
use weft_common::node::deliver::{
    DeliverChannel, DeliverSettings, TlsBinding, deliver_blocks, run_stream,
};
use weft_common::node::limits::ServiceLimit;
use weft_common::policy::{SignedData, verify_signers};
use weft_common::tx::UnpackedEnvelope;
use weft_protos::common::{Block, Envelope, HeaderType, Status as FabricStatus};
use weft_protos::protos::deliver_server::Deliver;
use weft_protos::protos::{
    DeliverResponse, FilteredBlock, FilteredChaincodeAction, FilteredTransaction,
    FilteredTransactionActions, deliver_response, filtered_transaction,
};

use crate::channel::Committer;
use crate::channels::JoinedChannels;

type Responses = Pin<Box<dyn Stream<Item = Result<DeliverResponse, Status>> + Send>>;

/// The Deliver service.
#[derive(Debug, Clone)]
pub struct DeliverService {
    channels: Arc<dyn JoinedChannels>,
    limit: ServiceLimit,
    client_auth_required: bool,
    time_window: std::time::Duration,
}

impl DeliverService {
    /// A service over the peer's channels, holding at most `limit` streams
    /// open (`peer.limits.concurrency.deliverService`). With
    /// `client_auth_required`, requests must be bound to the client's TLS
    /// certificate, as in Fabric; their timestamps may be `time_window` away
    /// from this peer's clock.
    pub fn new(
        channels: Arc<dyn JoinedChannels>,
        limit: ServiceLimit,
        client_auth_required: bool,
        time_window: std::time::Duration,
    ) -> Self {
        Self {
            channels,
            limit,
            client_auth_required,
            time_window,
        }
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

/// A joined channel as Deliver reads it, with the ACL resource of the kind of
/// stream (`event/Block` or `event/FilteredBlock`).
struct ChannelBlocks {
    committer: Arc<Committer>,
    resource: &'static str,
}

impl DeliverChannel for ChannelBlocks {
    fn height(&self) -> u64 {
        self.committer.ledger().height()
    }

    fn block(&self, number: u64) -> Option<Block> {
        self.committer.ledger().block(number).ok()?
    }

    fn wait_beyond(&self, height: u64) -> BoxFuture<'_, bool> {
        // Subscribe before looking at the height, so no commit is missed.
        let mut commits = self.committer.subscribe();
        Box::pin(async move {
            while self.height() <= height {
                if let Err(tokio::sync::broadcast::error::RecvError::Closed) = commits.recv().await
                {
                    return false;
                }
            }
            true
        })
    }

    fn config_sequence(&self) -> u64 {
        self.committer.config().config.sequence
    }

    fn authorize(&self, request: &SignedData) -> Result<(), CommonError> {
        let cfg = self.committer.config();
        let signers = verify_signers(
            std::slice::from_ref(request),
            &cfg.msps,
            weft_common::clock::unix_now(),
        );
        let path = cfg
            .acl_policy(self.resource)
            .unwrap_or_else(|| "/Channel/Application/Readers".into());
        cfg.policies
            .evaluate(&path, &signers, &cfg.msps)
            .map(|_| ())
    }
}

impl DeliverService {
    fn serve(
        &self,
        request: Request<Streaming<Envelope>>,
        filtered: bool,
    ) -> Result<Responses, Status> {
        // The stream holds its place until it ends.
        let place = self.limit.try_acquire()?;
        let binding = TlsBinding::of(&request, self.client_auth_required);
        let settings = DeliverSettings {
            time_window: self.time_window,
        };
        let core = self.channels.clone();
        let incoming = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let resource = if filtered {
            "event/FilteredBlock"
        } else {
            "event/Block"
        };
        let stream = run_stream(
            incoming,
            tx,
            |s| Ok(status(s)),
            move |env, tx| {
                let core = core.clone();
                let binding = binding.clone();
                async move {
                    deliver_blocks(
                        &env,
                        settings,
                        &binding,
                        |id| {
                            core.channel(id).map(|committer| {
                                Arc::new(ChannelBlocks {
                                    committer,
                                    resource,
                                })
                            })
                        },
                        &tx,
                        |channel, block| Ok(block_response(channel, block, filtered)),
                    )
                    .await
                }
            },
        );
        tokio::spawn(async move {
            stream.await;
            drop(place);
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }
}

fn block_response(channel: &ChannelBlocks, block: Block, filtered: bool) -> DeliverResponse {
    DeliverResponse {
        r#type: Some(if filtered {
            deliver_response::Type::FilteredBlock(filter_block(
                channel.committer.config().channel_id.as_str(),
                &block,
            ))
        } else {
            deliver_response::Type::Block(block)
        }),
    }
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
        self.serve(request, false).map(Response::new)
    }

    async fn deliver_filtered(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Responses>, Status> {
        self.serve(request, true).map(Response::new)
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
