//! Fabric's `orderer.AtomicBroadcast`: Broadcast (admission, then ordering,
//! acknowledged once committed) and Deliver (blocks by SeekInfo).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use prost::Message as _;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};
use weft_common::clock::unix_now;
use weft_common::config::update::apply_update;
use weft_common::msp::SigningIdentity;
use weft_common::node::deliver::{DeliverSettings, TlsBinding};
use weft_common::policy::verify_signers;
use weft_common::tx::{UnpackedEnvelope, signed_envelope};
use weft_protos::common::{
    ConfigEnvelope, ConfigUpdateEnvelope, Envelope, HeaderType, Status as FabricStatus,
};
use weft_protos::orderer::atomic_broadcast_server::AtomicBroadcast;
use weft_protos::orderer::{BroadcastResponse, DeliverResponse};

use crate::channel::ChannelHandle;
use crate::registry::Registry;

/// How long a Broadcast waits for its envelope to be committed.
const ORDER_DEADLINE: Duration = Duration::from_secs(30);
/// Envelopes of one Broadcast stream being ordered at once.
const MAX_IN_FLIGHT_PER_STREAM: usize = 4096;

/// The AtomicBroadcast service.
#[derive(Debug, Clone)]
pub struct BroadcastService {
    registry: Arc<Registry>,
    metrics: Arc<crate::metrics::Metrics>,
    signer: weft_common::msp::SigningIdentity,
    deliver: DeliverSettings,
    client_auth_required: bool,
}

impl BroadcastService {
    /// A service over the node's channels.
    /// `deliver` sets Deliver's time window; `client_auth_required` says
    /// whether the listener requires client certificates (then Deliver
    /// requests must be bound to them, as in Fabric).
    pub fn new(
        registry: Arc<Registry>,
        metrics: Arc<crate::metrics::Metrics>,
        signer: weft_common::msp::SigningIdentity,
        deliver: DeliverSettings,
        client_auth_required: bool,
    ) -> Self {
        Self {
            registry,
            metrics,
            signer,
            deliver,
            client_auth_required,
        }
    }
}

fn reply(status: FabricStatus, info: impl Into<String>) -> BroadcastResponse {
    BroadcastResponse {
        status: status as i32,
        info: info.into(),
    }
}

/// Admission checks of one envelope; the channel to order it on, or the refusal.
fn admit(
    registry: &Registry,
    signer: &SigningIdentity,
    env: &Envelope,
) -> Result<Admitted, BroadcastResponse> {
    let unpacked = UnpackedEnvelope::from_envelope(env)
        .map_err(|e| reply(FabricStatus::BadRequest, format!("bad envelope: {e}")))?;
    let channel_name = &unpacked.channel_header.channel_id;
    let channel = registry.get(channel_name).ok_or_else(|| {
        reply(
            FabricStatus::NotFound,
            format!("channel {channel_name:?} does not exist on this orderer"),
        )
    })?;
    let cfg = channel.config.borrow().clone();
    let max = cfg
        .orderer
        .as_ref()
        .map_or(u32::MAX, |o| o.batch_size.absolute_max_bytes) as usize;
    let size = env.encoded_len();
    if size > max {
        return Err(reply(
            FabricStatus::RequestEntityTooLarge,
            format!("envelope of {size} bytes exceeds the channel's AbsoluteMaxBytes of {max}"),
        ));
    }
    let kind = unpacked.header_type();
    let is_config = kind == HeaderType::ConfigUpdate as i32;
    if !is_config
        && kind != HeaderType::EndorserTransaction as i32
        && kind != HeaderType::Message as i32
    {
        return Err(reply(
            FabricStatus::BadRequest,
            format!("header type {kind} cannot be broadcast"),
        ));
    }
    let signers = verify_signers(&[unpacked.creator_signed_data()], &cfg.msps, unix_now());
    if signers.valid.is_empty() {
        return Err(reply(
            FabricStatus::Forbidden,
            format!("creator refused: {}", signers.refused.join("; ")),
        ));
    }
    cfg.policies
        .evaluate("/Channel/Writers", &signers, &cfg.msps)
        .map_err(|e| reply(FabricStatus::Forbidden, e.to_string()))?;
    if !is_config {
        return Ok(Admitted::Normal(channel));
    }
    // A config update: validate it against the current config and wrap the
    // resulting config in a CONFIG envelope signed by this orderer.
    let update = ConfigUpdateEnvelope::decode(unpacked.data.as_slice()).map_err(|e| {
        reply(
            FabricStatus::BadRequest,
            format!("malformed config update envelope: {e}"),
        )
    })?;
    let new_config = apply_update(&cfg, &update, unix_now()).map_err(|e| {
        reply(
            FabricStatus::BadRequest,
            format!("config update refused: {e}"),
        )
    })?;
    let data = weft_common::config::go_encoding::config_envelope(&ConfigEnvelope {
        config: Some(new_config),
        last_update: Some(env.clone()),
    });
    let config_env = signed_envelope(HeaderType::Config, &cfg.channel_id, data, signer)
        .map_err(|e| reply(FabricStatus::InternalServerError, e.to_string()))?;
    Ok(Admitted::Config(channel, config_env.encode_to_vec()))
}

/// Admits one envelope (its checks, a config update validated and wrapped
/// in a CONFIG envelope signed by this orderer), orders it and waits for its
/// block: Broadcast's answer for it. Channel participation's update uses it
/// too, so a config update is checked the same way on both. The envelope
/// arrives decoded (by gRPC or the participation API) and is encoded once,
/// after admission, for the block.
pub(crate) async fn order_envelope(
    registry: &Registry,
    metrics: &crate::metrics::Metrics,
    signer: &SigningIdentity,
    env: Envelope,
) -> BroadcastResponse {
    let started = std::time::Instant::now();
    let ordered = match admit(registry, signer, &env) {
        Err(refusal) => {
            metrics
                .broadcast_refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return refusal;
        }
        Ok(Admitted::Normal(channel)) => {
            channel
                .order_and_wait(env.encode_to_vec(), ORDER_DEADLINE)
                .await
        }
        Ok(Admitted::Config(channel, env)) => {
            channel.order_config_and_wait(env, ORDER_DEADLINE).await
        }
    };
    match ordered {
        Ok(_block) => {
            metrics.broadcast_latency.observe(started.elapsed());
            reply(FabricStatus::Success, "")
        }
        Err(crate::OrdererError::UpdateRefused(msg)) => reply(FabricStatus::BadRequest, msg),
        Err(e) => reply(FabricStatus::ServiceUnavailable, e.to_string()),
    }
}

/// What admission let through.
enum Admitted {
    /// A normal envelope, ordered as received.
    Normal(Arc<ChannelHandle>),
    /// A config update, turned into this CONFIG envelope.
    Config(Arc<ChannelHandle>, Vec<u8>),
}

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl AtomicBroadcast for BroadcastService {
    type BroadcastStream = ResponseStream<BroadcastResponse>;
    type DeliverStream = ResponseStream<DeliverResponse>;

    async fn broadcast(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::BroadcastStream>, Status> {
        let incoming = request.into_inner();
        let registry = self.registry.clone();
        let metrics = self.metrics.clone();
        let signer = self.signer.clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            // Envelopes of one stream are admitted and ordered concurrently, and
            // answered in the order they came, each once it is committed.
            let responses = incoming
                .take_while(|item| futures::future::ready(item.is_ok()))
                .map(move |item| {
                    let registry = registry.clone();
                    let metrics = metrics.clone();
                    let signer = signer.clone();
                    async move {
                        let env = item.expect("errors end the stream above");
                        order_envelope(&registry, &metrics, &signer, env).await
                    }
                })
                .buffered(MAX_IN_FLIGHT_PER_STREAM);
            let mut responses = std::pin::pin!(responses);
            while let Some(resp) = responses.next().await {
                if tx.send(Ok(resp)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverStream>, Status> {
        let binding = TlsBinding::of(&request, self.client_auth_required);
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(crate::deliver::serve(
            request.into_inner(),
            self.registry.clone(),
            self.deliver,
            binding,
            tx,
        ));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}
