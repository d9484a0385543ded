//! Deliver on the orderer: a channel's blocks through the shared Deliver
//! (`weft_common::node::deliver`, Fabric's semantics), readable by the
//! channel's `/Channel/Readers`.

use std::sync::Arc;

use futures::future::BoxFuture;
use prost::Message as _;
use tokio::sync::mpsc;
use tonic::Status;
use weft_common::CommonError;
use weft_common::node::deliver::{
    DeliverChannel, DeliverSettings, TlsBinding, deliver_blocks, run_stream,
};
use weft_common::policy::{SignedData, verify_signers};
use weft_protos::common::{Block, Envelope};
use weft_protos::orderer::{DeliverResponse, deliver_response};

use crate::channel::ChannelHandle;
use crate::registry::Registry;
use crate::storage::ChannelStorage;

impl DeliverChannel for ChannelHandle {
    fn height(&self) -> u64 {
        *self.height.borrow()
    }

    fn block(&self, number: u64) -> Option<Block> {
        let bytes = self.store().block(number).ok()??;
        Block::decode(bytes.as_slice()).ok()
    }

    fn wait_beyond(&self, height: u64) -> BoxFuture<'_, bool> {
        let mut heights = self.height.clone();
        Box::pin(async move { heights.wait_for(|h| *h > height).await.is_ok() })
    }

    fn config_sequence(&self) -> u64 {
        self.config.borrow().config.sequence
    }

    fn authorize(&self, request: &SignedData) -> Result<(), CommonError> {
        let cfg = self.config.borrow().clone();
        let signers = verify_signers(
            std::slice::from_ref(request),
            &cfg.msps,
            weft_common::clock::unix_now(),
        );
        cfg.policies
            .evaluate("/Channel/Readers", &signers, &cfg.msps)
            .map(|_| ())
    }
}

fn block_response(block: Block) -> Result<DeliverResponse, Status> {
    Ok(DeliverResponse {
        r#type: Some(deliver_response::Type::Block(block)),
    })
}

fn status_response(status: weft_protos::common::Status) -> Result<DeliverResponse, Status> {
    Ok(DeliverResponse {
        r#type: Some(deliver_response::Type::Status(status as i32)),
    })
}

/// Serves one Deliver stream into `tx`.
pub async fn serve(
    incoming: tonic::Streaming<Envelope>,
    registry: Arc<Registry>,
    settings: DeliverSettings,
    binding: TlsBinding,
    tx: mpsc::Sender<Result<DeliverResponse, Status>>,
) {
    run_stream(incoming, tx, status_response, |env, tx| {
        let registry = registry.clone();
        let binding = binding.clone();
        async move {
            deliver_blocks(
                &env,
                settings,
                &binding,
                |id| registry.get(id),
                &tx,
                |_, block| block_response(block),
            )
            .await
        }
    })
    .await
}
