//! weft's orderer-to-orderer service: Raft messages in, envelopes forwarded to
//! the leader, blocks pulled by lagging consenters. Only the consenters of a
//! channel may call it for that channel (checked by client TLS certificate).

use std::sync::Arc;

use prost011::Message as _;
use tonic::{Request, Response, Status};
use weft_protos::weft::cluster::cluster_server::Cluster;
use weft_protos::weft::cluster::forward_response::Outcome;
use weft_protos::weft::cluster::{
    BlocksRequest, BlocksResponse, ForwardRequest, ForwardResponse, StepRequest, StepResponse,
};

use crate::chain::{Offer, Offered};
use crate::channel::ChannelHandle;
use crate::registry::Registry;
use crate::storage::ChannelStorage;

/// Most blocks returned by one PullBlocks call.
const MAX_BLOCKS_PER_PULL: u64 = 1000;

/// Most block bytes returned by one PullBlocks call (at least one block is
/// always returned): blocks of megabytes each must not make the answer
/// exceed the largest message the service may send.
const MAX_BYTES_PER_PULL: usize = 16 * 1024 * 1024;

/// The cluster service.
#[derive(Debug, Clone)]
pub struct ClusterService {
    registry: Arc<Registry>,
    tls: bool,
    pull_bytes: usize,
}

impl ClusterService {
    /// A service over the node's channels; `tls` says whether callers present
    /// certificates; `max_send` is the largest message it may send.
    pub fn new(registry: Arc<Registry>, tls: bool, max_send: usize) -> Self {
        Self {
            registry,
            tls,
            pull_bytes: MAX_BYTES_PER_PULL.min(max_send / 2),
        }
    }

    fn authorize<T>(&self, req: &Request<T>, channel: &str) -> Result<Arc<ChannelHandle>, Status> {
        self.caller(req, channel).map(|(handle, _)| handle)
    }

    /// The channel and the calling consenter's Raft id (`None` without TLS,
    /// where callers cannot be told apart).
    fn caller<T>(
        &self,
        req: &Request<T>,
        channel: &str,
    ) -> Result<(Arc<ChannelHandle>, Option<u64>), Status> {
        let handle = self
            .registry
            .get(channel)
            .ok_or_else(|| Status::not_found(format!("channel {channel:?} is not served here")))?;
        if !self.tls {
            return Ok((handle, None));
        }
        let certs = req
            .peer_certs()
            .ok_or_else(|| Status::unauthenticated("no client TLS certificate"))?;
        let leaf = certs
            .first()
            .ok_or_else(|| Status::unauthenticated("no client TLS certificate"))?;
        match handle.consenter_id(leaf.as_ref()) {
            Some(id) => Ok((handle, Some(id))),
            None => Err(Status::permission_denied(format!(
                "the caller is not a consenter of channel {channel}"
            ))),
        }
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn step(&self, request: Request<StepRequest>) -> Result<Response<StepResponse>, Status> {
        let (handle, caller) = self.caller(&request, &request.get_ref().channel)?;
        let mut msgs = Vec::new();
        for bytes in &request.get_ref().messages {
            // Decoding from `Bytes` (not a slice) lets prost hand each entry's
            // data over without an intermediate copy.
            let msg = raft::prelude::Message::decode(bytes.clone())
                .map_err(|e| Status::invalid_argument(format!("raft message: {e}")))?;
            // A consenter speaks only for itself: a message claiming to come
            // from another could forge that node's vote or acknowledgement.
            if let Some(id) = caller
                && msg.from != id
            {
                return Err(Status::permission_denied(format!(
                    "raft message from node {} sent by consenter {id}",
                    msg.from
                )));
            }
            msgs.push(msg);
        }
        handle.step(msgs).await.map_err(Status::from)?;
        Ok(Response::new(StepResponse {}))
    }

    async fn forward(
        &self,
        request: Request<ForwardRequest>,
    ) -> Result<Response<ForwardResponse>, Status> {
        let handle = self.authorize(&request, &request.get_ref().channel)?;
        let req = request.into_inner();
        let offers = if req.config {
            let mut offers = Vec::with_capacity(req.envelopes.len());
            for envelope in req.envelopes {
                offers.push(handle.offer_config(envelope).await);
            }
            offers.into_iter().collect::<Result<Vec<_>, _>>()
        } else {
            handle.offer_many(offered(req.envelopes, req.digests)).await
        };
        let offers = offers.map_err(Status::from)?;
        let outcomes = offers
            .into_iter()
            .map(|o| match o {
                Offer::Accepted => Outcome::Accepted as i32,
                Offer::Duplicate => Outcome::Duplicate as i32,
                Offer::NotLeader(_) => Outcome::NotLeader as i32,
            })
            .collect();
        Ok(Response::new(ForwardResponse {
            outcomes,
            leader: *handle.leader.borrow(),
        }))
    }

    async fn pull_blocks(
        &self,
        request: Request<BlocksRequest>,
    ) -> Result<Response<BlocksResponse>, Status> {
        let handle = self.authorize(&request, &request.get_ref().channel)?;
        let req = request.into_inner();
        let height = handle.store().height().map_err(Status::from)?;
        let to = req
            .to
            .min(height)
            .min(req.from.saturating_add(MAX_BLOCKS_PER_PULL));
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        let mut bytes = 0usize;
        for n in req.from..to {
            let block = handle
                .store()
                .block(n)
                .map_err(Status::from)?
                .ok_or_else(|| Status::internal("missing block"))?;
            bytes += block.len();
            if !blocks.is_empty() && bytes > self.pull_bytes {
                // The puller asks again from where this answer ends.
                break;
            }
            blocks.push(block);
        }
        Ok(Response::new(BlocksResponse { blocks }))
    }
}

/// Forwarded envelopes with the digests the forwarding consenter sent, or
/// hashed here when those are missing or do not fit the envelopes.
fn offered(envelopes: Vec<Vec<u8>>, digests: Vec<Vec<u8>>) -> Vec<Offered> {
    let fit = digests.len() == envelopes.len() && digests.iter().all(|d| d.len() == 32);
    if !fit {
        return envelopes.into_iter().map(Offered::new).collect();
    }
    envelopes
        .into_iter()
        .zip(digests)
        .map(|(bytes, d)| Offered::hashed(bytes, d.try_into().expect("32 bytes, checked")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_common::crypto::sha256;

    #[test]
    fn forwarded_digests_are_used_when_they_fit_and_computed_otherwise() {
        let envs = vec![b"one".to_vec(), b"two".to_vec()];
        let sent = vec![vec![1u8; 32], vec![2u8; 32]];
        let digests = |o: Vec<Offered>| o.iter().map(Offered::digest).collect::<Vec<_>>();
        assert_eq!(
            digests(offered(envs.clone(), sent.clone())),
            vec![[1u8; 32], [2u8; 32]],
            "the forwarding consenter's digests"
        );
        let hashed = vec![sha256(b"one"), sha256(b"two")];
        assert_eq!(
            digests(offered(envs.clone(), Vec::new())),
            hashed,
            "none sent"
        );
        assert_eq!(
            digests(offered(envs.clone(), sent[..1].to_vec())),
            hashed,
            "one per envelope, or none used"
        );
        assert_eq!(
            digests(offered(envs, vec![vec![1u8; 32], vec![2u8; 31]])),
            hashed,
            "each 32 bytes, or none used"
        );
    }
}
