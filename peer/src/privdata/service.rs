//! weft's `PrivateData` service: member peers push the private writes they
//! endorsed, and pull what they lack. Only a peer of a channel org may call
//! it, with a request it signed; a push is kept only for collections this
//! peer's org belongs to, and a pull is answered only for collections the
//! asking peer's org belongs to — so a peer of another org never receives a
//! private value from here.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use weft_protos::gossip::{PvtDataDigest, PvtDataElement};
use weft_protos::weft::privdata::private_data_server::PrivateData;
use weft_protos::weft::privdata::{
    PullRequest, PullResponse, PushRequest, PushResponse, SignedPrivateRequest,
};

use super::request;
use crate::channel::Committer;
use crate::channel::transient::TransientError;
use crate::discovery::Support;
use crate::ledger::{PvtKey, TransientEntry};
use crate::lifecycle::collection_rules::{CollectionRules, channel_orgs, lookup};

/// Most digests one pull may ask for.
pub const MAX_DIGESTS: usize = 1024;

/// The service over the peer's state.
#[derive(Debug, Clone)]
pub struct PrivateDataService {
    core: Arc<dyn Support>,
}

impl PrivateDataService {
    /// The service over `core`.
    pub fn new(core: Arc<dyn Support>) -> Self {
        Self { core }
    }

    fn committer(&self, channel: &str) -> Result<Arc<Committer>, Status> {
        self.core
            .channel(channel)
            .ok_or_else(|| Status::not_found(format!("channel {channel:?} is not joined here")))
    }
}

fn rules(
    committer: &Committer,
    orgs: &[String],
    ns: &str,
    coll: &str,
) -> Result<Option<CollectionRules>, Status> {
    lookup(committer.ledger(), orgs, ns, coll).map_err(Status::from)
}

#[tonic::async_trait]
impl PrivateData for PrivateDataService {
    async fn push(
        &self,
        request: Request<SignedPrivateRequest>,
    ) -> Result<Response<PushResponse>, Status> {
        let r = request.into_inner();
        let push: PushRequest = request::decode(&r)?;
        let committer = self.committer(request::channel_of(push.asker.as_ref())?)?;
        let cfg = committer.config();
        let sender = request::verify(
            &r,
            push.asker.as_ref(),
            &cfg,
            self.core.proposal_time_window(),
        )?;
        let orgs = channel_orgs(&cfg);
        let me = self.core.signer().identity.msp_id().to_string();
        let mut answer = PushResponse::default();
        for p in push.payloads {
            let name = format!("{}/{}", p.namespace, p.collection_name);
            let member = rules(&committer, &orgs, &p.namespace, &p.collection_name)?
                .is_some_and(|c| c.has_member(&me));
            if !member {
                tracing::warn!(from = %sender.identity.msp_id(), tx_id = %p.tx_id, collection = %name, "pushed private data refused: this peer's org is not a member");
                answer.refused.push(name);
                continue;
            }
            let entry = TransientEntry {
                namespace: p.namespace,
                collection: p.collection_name,
                rwset: p.private_rwset,
            };
            match committer.transient().put_entries(&p.tx_id, &[entry]) {
                Ok(()) => answer.kept.push(name),
                Err(TransientError::Full) => {
                    return Err(Status::resource_exhausted(TransientError::Full.to_string()));
                }
                Err(TransientError::Ledger(e)) => return Err(e.into()),
            }
        }
        Ok(Response::new(answer))
    }

    async fn pull(
        &self,
        request: Request<SignedPrivateRequest>,
    ) -> Result<Response<PullResponse>, Status> {
        let r = request.into_inner();
        let pull: PullRequest = request::decode(&r)?;
        let committer = self.committer(request::channel_of(pull.asker.as_ref())?)?;
        let cfg = committer.config();
        let asker = request::verify(
            &r,
            pull.asker.as_ref(),
            &cfg,
            self.core.proposal_time_window(),
        )?;
        if pull.digests.len() > MAX_DIGESTS {
            return Err(Status::invalid_argument(format!(
                "a pull may ask for {MAX_DIGESTS} digests at most, not {}",
                pull.digests.len()
            )));
        }
        let orgs = channel_orgs(&cfg);
        let asking_org = asker.identity.msp_id().to_string();
        let mut answer = PullResponse::default();
        for d in pull.digests {
            let allowed = rules(&committer, &orgs, &d.namespace, &d.collection)?
                .is_some_and(|c| c.has_member(&asking_org));
            if !allowed {
                tracing::warn!(from = %asking_org, collection = %d.collection, "private data pull refused: the asking peer's org is not a member");
                continue;
            }
            let payload = found(&committer, &d).map_err(|e| -> Status { e.into() })?;
            if !payload.is_empty() {
                answer.elements.push(PvtDataElement {
                    digest: Some(d),
                    payload,
                });
            }
        }
        Ok(Response::new(answer))
    }
}

/// The rwsets this peer holds for a digest: committed, or in the transient
/// store (every candidate; the asker keeps the one its block commits to).
fn found(committer: &Committer, d: &PvtDataDigest) -> Result<Vec<Vec<u8>>, crate::PeerError> {
    let committed = committer.ledger().pvt_rwset(&PvtKey {
        block: d.block_seq,
        tx: d.seq_in_block,
        namespace: d.namespace.clone(),
        collection: d.collection.clone(),
    })?;
    if let Some(rwset) = committed {
        return Ok(vec![rwset]);
    }
    Ok(committer
        .transient()
        .entries(&d.tx_id)?
        .into_iter()
        .filter(|e| e.namespace == d.namespace && e.collection == d.collection)
        .map(|e| e.rwset)
        .collect())
}
