//! `protos.Deliver` for clients: blocks (`Deliver`), filtered blocks
//! (`DeliverFiltered`: txid, type, validation code and chaincode events
//! without payloads), or blocks with the private data this peer holds and
//! the requester may read (`DeliverWithPrivateData`), served by the Deliver
//! the orderer shares (`weft_common::node::deliver`, Fabric's seek
//! semantics). Requests are signed envelopes, checked against the channel's
//! `event/Block` / `event/FilteredBlock` ACLs.
//!
//! With private data, as Fabric decides: a collection that is not
//! `memberOnlyRead` is sent to any requester the ACL admits; one that is,
//! and an org's implicit collection, only to a requester whose org is a
//! member.

use std::collections::BTreeMap;
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
    BlockAndPrivateData, DeliverResponse, FilteredBlock, FilteredChaincodeAction,
    FilteredTransaction, FilteredTransactionActions, deliver_response, filtered_transaction,
};
use weft_protos::rwset::{
    CollectionPvtReadWriteSet, NsPvtReadWriteSet, TxPvtReadWriteSet, tx_read_write_set,
};

use crate::channel::Committer;
use crate::channels::JoinedChannels;
use crate::lifecycle::implicit_collection_org;

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

/// What a Deliver stream sends for each block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blocks,
    Filtered,
    WithPrivateData,
}

impl Kind {
    /// The ACL resource its requests are checked against.
    fn resource(self) -> &'static str {
        match self {
            Self::Filtered => "event/FilteredBlock",
            Self::Blocks | Self::WithPrivateData => "event/Block",
        }
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
        kind: Kind,
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
        let resource = kind.resource();
        let stream = run_stream(
            incoming,
            tx,
            |s| Ok(status(s)),
            move |env, tx| {
                let core = core.clone();
                let binding = binding.clone();
                async move {
                    // Who asks, for the private data they may read (the
                    // request's signature is checked before any block goes).
                    let requester = (kind == Kind::WithPrivateData)
                        .then(|| UnpackedEnvelope::from_envelope(&env).ok())
                        .flatten()
                        .map(|e| e.creator_signed_data());
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
                        |channel, block| block_response(channel, block, kind, requester.as_ref()),
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

fn block_response(
    channel: &ChannelBlocks,
    block: Block,
    kind: Kind,
    requester: Option<&SignedData>,
) -> Result<DeliverResponse, Status> {
    let r#type = match kind {
        Kind::Blocks => deliver_response::Type::Block(block),
        Kind::Filtered => deliver_response::Type::FilteredBlock(filter_block(
            channel.committer.config().channel_id.as_str(),
            &block,
        )),
        Kind::WithPrivateData => {
            let private_data_map = match requester {
                Some(r) => readable_private_data(&channel.committer, &block, r).map_err(|e| {
                    tracing::warn!("private data of a delivered block: {e}");
                    Status::internal(format!("cannot read the block's private data: {e}"))
                })?,
                None => Default::default(),
            };
            deliver_response::Type::BlockAndPrivateData(BlockAndPrivateData {
                block: Some(block),
                private_data_map,
            })
        }
    };
    Ok(DeliverResponse {
        r#type: Some(r#type),
    })
}

/// The private data of `block` this peer holds that `requester` may read,
/// by transaction position.
fn readable_private_data(
    committer: &Committer,
    block: &Block,
    requester: &SignedData,
) -> Result<BTreeMap<u64, TxPvtReadWriteSet>, crate::PeerError> {
    let number = block.header.as_ref().map_or(0, |h| h.number);
    let ledger = committer.ledger();
    let held = ledger.pvt_rwsets_of_block(number)?;
    if held.is_empty() {
        return Ok(BTreeMap::new());
    }
    let cfg = committer.config();
    let signers = verify_signers(
        std::slice::from_ref(requester),
        &cfg.msps,
        weft_common::clock::unix_now(),
    );
    let org = signers
        .valid
        .first()
        .map(|v| v.identity.msp_id().to_string());
    let orgs = crate::lifecycle::collection_rules::channel_orgs(&cfg);
    let mut out: BTreeMap<u64, TxPvtReadWriteSet> = BTreeMap::new();
    for (key, rwset) in held {
        // Members-only collections go to members only, and so do an org's
        // implicit collection (Fabric, which finds no definition for one,
        // fails the stream instead); `_lifecycle`'s are never sent.
        let implicit = implicit_collection_org(&key.collection).is_some();
        let readable = crate::lifecycle::collection_rules::lookup(
            ledger,
            &orgs,
            &key.namespace,
            &key.collection,
        )?
        .is_some_and(|rules| {
            let member = org.as_deref().is_some_and(|o| rules.has_member(o));
            member || !(rules.member_only_read || implicit)
        });
        if !readable || key.namespace == crate::lifecycle::NAMESPACE {
            continue;
        }
        let tx = out.entry(key.tx).or_insert_with(|| TxPvtReadWriteSet {
            data_model: tx_read_write_set::DataModel::Kv as i32,
            ns_pvt_rwset: Vec::new(),
        });
        let collection = CollectionPvtReadWriteSet {
            collection_name: key.collection,
            rwset,
        };
        match tx
            .ns_pvt_rwset
            .iter_mut()
            .find(|n| n.namespace == key.namespace)
        {
            Some(ns) => ns.collection_pvt_rwset.push(collection),
            None => tx.ns_pvt_rwset.push(NsPvtReadWriteSet {
                namespace: key.namespace,
                collection_pvt_rwset: vec![collection],
            }),
        }
    }
    Ok(out)
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
        self.serve(request, Kind::Blocks).map(Response::new)
    }

    async fn deliver_filtered(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Responses>, Status> {
        self.serve(request, Kind::Filtered).map(Response::new)
    }

    async fn deliver_with_private_data(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Responses>, Status> {
        self.serve(request, Kind::WithPrivateData)
            .map(Response::new)
    }
}
