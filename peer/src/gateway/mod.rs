//! The Gateway service (`gateway.Gateway`), as Fabric's client SDKs use it:
//! Evaluate on this peer; Endorse on the peers of the organisations the
//! chaincode's endorsement policy needs (this peer, other orgs' anchor peers),
//! returning the unsigned transaction; Submit to an orderer with failover;
//! CommitStatus from commit notifications; ChaincodeEvents from committed
//! blocks. Failures name the org, peer and reason; too much concurrent work
//! gives RESOURCE_EXHAUSTED instead of a hang.

mod broadcast_line;
mod events;
mod failure;
mod status;
#[cfg(test)]
mod tests;
pub mod transient;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use prost::Message;
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};
use weft_common::policy::{SignedData, verify_signers};
use weft_common::tx::{UnpackedProposal, prepare_transaction};
use weft_protos::gateway::gateway_server::Gateway;
use weft_protos::gateway::{
    ChaincodeEventsResponse, CommitStatusRequest, CommitStatusResponse, EndorseRequest,
    EndorseResponse, ErrorDetail, EvaluateRequest, EvaluateResponse, SignedChaincodeEventsRequest,
    SignedCommitStatusRequest, SubmitRequest, SubmitResponse,
};
use weft_protos::protos::endorser_client::EndorserClient;
use weft_protos::protos::{ProposalResponse, SignedProposal};

use crate::channel::Committer;
use crate::channel::tx_waiters::WaitEnded;
use crate::config::PeerLimits;
use failure::{NotOrdered, Shortfall, Unendorsed};
use status::with_details;

/// What the gateway needs of the peer besides what discovery needs (it
/// endorses locally, finds other orgs' peers as discovery does, and submits).
pub trait Support: crate::discovery::Support {
    /// The orderers to submit to on a channel: the override if set, else the config's.
    fn orderer_endpoints(&self, config: &weft_common::config::ChannelConfig) -> Vec<String>;
}

/// The Gateway service.
#[derive(Debug, Clone)]
pub struct GatewayService {
    core: Arc<dyn Support>,
    /// The same peer, as the local endorser sees it.
    endorser: Arc<dyn crate::endorser::Support>,
    limit: Arc<Semaphore>,
    concurrency: usize,
    max_recv_msg_size: usize,
    connections: Arc<crate::remote::Connections>,
    /// Long-lived Broadcast streams to the orderers.
    lines: Arc<broadcast_line::BroadcastLines>,
}

impl GatewayService {
    /// A service over `core` serving at most `concurrency` requests at once
    /// (`peer.gateway.maxConcurrentRequests`), calling other peers within `limits`.
    pub fn new(core: Arc<dyn Support>, concurrency: usize, limits: &PeerLimits) -> Self {
        Self {
            limit: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            max_recv_msg_size: limits.max_recv_msg_size,
            connections: Arc::new(crate::remote::Connections::new(limits.client_keep_alive)),
            lines: Arc::default(),
            endorser: core.clone(),
            core,
        }
    }

    fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        self.limit.clone().try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "the gateway is serving its limit of {} requests (Peer.Gateway.MaxConcurrentRequests); retry later",
                self.concurrency
            ))
        })
    }

    fn channel(&self, id: &str) -> Result<Arc<Committer>, Status> {
        self.core
            .channel(id)
            .ok_or_else(|| Status::not_found(format!("channel '{id}' is not joined by this peer")))
    }
}

/// One organisation's endorsement attempt.
struct Attempt {
    msp_id: String,
    address: String,
    result: Result<ProposalResponse, Unendorsed>,
}

impl Attempt {
    /// The endorsement, if the peer gave one with status 200.
    fn endorsed(&self) -> Option<&ProposalResponse> {
        self.result
            .as_ref()
            .ok()
            .filter(|r| r.response.as_ref().map_or(0, |r| r.status) == 200)
    }

    /// What went wrong, unless the peer endorsed.
    fn failure(&self) -> Option<ErrorDetail> {
        if self.endorsed().is_some() {
            return None;
        }
        let message = match &self.result {
            Err(e) => e.to_string(),
            Ok(r) => {
                let (status, text) = r
                    .response
                    .as_ref()
                    .map_or((0, ""), |r| (r.status, r.message.as_str()));
                format!("chaincode response {status}, {text}")
            }
        };
        Some(ErrorDetail {
            address: self.address.clone(),
            msp_id: self.msp_id.clone(),
            message,
        })
    }
}

impl GatewayService {
    /// Asks `msp_id` to endorse the proposal: this peer itself when it is
    /// its own org (with the proposal as already unpacked), else the org's
    /// peers one after another until one answers.
    async fn endorse_at(
        &self,
        msp_id: String,
        cfg: &weft_common::config::ChannelConfig,
        sp: &SignedProposal,
        unpacked: &Arc<UnpackedProposal>,
    ) -> Attempt {
        let mine = self.core.signer().identity.msp_id().to_string();
        if msp_id == mine {
            let result = crate::endorser::endorse_unpacked(&self.endorser, unpacked.clone())
                .await
                .map_err(Unendorsed::Local);
            return Attempt {
                msp_id,
                address: self.core.local_member().endpoint().to_string(),
                result,
            };
        }
        // Peers named in this peer's config first, then the org's anchor peers.
        let mut peers: Vec<String> = self
            .core
            .known_peers()
            .iter()
            .filter(|p| p.msp_id == msp_id)
            .map(|p| p.address.clone())
            .collect();
        peers.extend(
            cfg.application
                .as_ref()
                .and_then(|a| a.orgs.iter().find(|(id, _)| id.as_str() == msp_id))
                .map(|(_, o)| {
                    o.anchor_peers
                        .iter()
                        .map(|(h, p)| format!("{h}:{p}"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        );
        peers.dedup();
        if peers.is_empty() {
            return Attempt {
                msp_id: msp_id.clone(),
                address: String::new(),
                result: Err(Unendorsed::NoPeer(msp_id)),
            };
        }
        let mut last = None;
        for address in peers {
            let tls = self.core.tls().map(|t| (t, cfg.tls_roots()));
            let result = match self.connections.get(&address, tls).await {
                Err(e) => Err(Unendorsed::Connect(e)),
                Ok(channel) => EndorserClient::new(channel)
                    .max_decoding_message_size(self.max_recv_msg_size)
                    .process_proposal(sp.clone())
                    .await
                    .map(|r| r.into_inner())
                    .map_err(Unendorsed::Remote),
            };
            let ok = result.is_ok();
            if !ok {
                self.connections.drop_endpoint(&address);
            }
            last = Some(Attempt {
                msp_id: msp_id.clone(),
                address,
                result,
            });
            if ok {
                break;
            }
        }
        last.expect("at least one peer was asked")
    }
}

#[tonic::async_trait]
impl Gateway for GatewayService {
    async fn evaluate(
        &self,
        request: Request<EvaluateRequest>,
    ) -> Result<Response<EvaluateResponse>, Status> {
        let _permit = self.permit()?;
        let req = request.into_inner();
        let sp = req.proposed_transaction.ok_or_else(|| {
            Status::invalid_argument("EvaluateRequest has no proposed transaction")
        })?;
        let r = crate::endorser::evaluate(&self.endorser, sp).await?;
        let resp = r.response.unwrap_or_default();
        if resp.status >= 400 {
            return Err(with_details(
                tonic::Code::Aborted,
                format!("evaluate call to endorser returned error: {}", resp.message),
                vec![ErrorDetail {
                    address: self.core.local_member().endpoint().to_string(),
                    msp_id: self.core.signer().identity.msp_id().to_string(),
                    message: format!("chaincode response {}, {}", resp.status, resp.message),
                }],
            ));
        }
        Ok(Response::new(EvaluateResponse { result: Some(resp) }))
    }

    async fn endorse(
        &self,
        request: Request<EndorseRequest>,
    ) -> Result<Response<EndorseResponse>, Status> {
        let _permit = self.permit()?;
        let req = request.into_inner();
        let sp = req.proposed_transaction.ok_or_else(|| {
            Status::invalid_argument("EndorseRequest has no proposed transaction")
        })?;
        let p = Arc::new(
            UnpackedProposal::from_signed(&sp)
                .map_err(|e| Status::invalid_argument(format!("malformed proposal: {e}")))?,
        );
        let committer = self.channel(&p.channel_header.channel_id)?;
        // Read once per request: the policies both checks below evaluate.
        let policies = crate::validation::PolicyCache::new(committer.ledger());
        let cfg = committer.config();
        let explicit = !req.endorsing_organizations.is_empty();
        let orgs: Vec<String> = if explicit {
            req.endorsing_organizations.clone()
        } else {
            cfg.application
                .as_ref()
                .map(|a| a.orgs.keys().map(|m| m.to_string()).collect())
                .unwrap_or_default()
        };
        // This org first: when its endorsement alone satisfies the policy
        // (an OR, ANY or single-org policy), no other org is asked.
        let mine = self.core.signer().identity.msp_id().to_string();
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut others = orgs;
        // Transient data goes to other orgs only if they are members of the
        // collections the local endorsement touched (`transient`).
        let protect = !explicit && !p.transient().is_empty();
        let mut protecting: Vec<String> = Vec::new();
        if protect && !others.contains(&mine) {
            return Err(Status::failed_precondition(
                "no endorsers found in the gateway's organization; retry specifying endorsing organization(s) to protect transient data",
            ));
        }
        if !explicit && let Some(at) = others.iter().position(|o| *o == mine) {
            others.remove(at);
            let local = self.endorse_at(mine.clone(), &cfg, &sp, &p).await;
            let alone = local.endorsed().is_some_and(|r| {
                policy_check(
                    committer.ledger(),
                    &policies,
                    &cfg,
                    &p.chaincode_name,
                    std::slice::from_ref(r),
                )
                .is_ok_and(|r| r.is_ok())
            });
            if protect && !alone {
                match local.endorsed() {
                    Some(r) => {
                        let touched = transient::collections_touched(r);
                        let orgs = crate::lifecycle::collection_rules::channel_orgs(&cfg);
                        let (kept, excluding) =
                            transient::trusted_orgs(committer.ledger(), &orgs, &touched, others)
                                .map_err(|e| Status::internal(e.to_string()))?;
                        others = kept;
                        protecting = excluding;
                    }
                    // As Fabric: no other org is asked before this one endorsed.
                    _ => others = Vec::new(),
                }
            }
            attempts.push(local);
            if alone {
                others.clear();
            }
        }
        attempts.extend(
            futures::future::join_all(
                others
                    .into_iter()
                    .map(|org| self.endorse_at(org, &cfg, &sp, &p)),
            )
            .await,
        );
        // A peer a block behind another simulates against older state (the
        // client's previous transaction is not there yet). Fabric's gateway
        // prefers peers at the highest ledger height; this one gives the
        // peers a moment to catch up and asks again — this peer too, since
        // it may be the one behind.
        let differing = |attempts: &[Attempt], local: &[u8]| -> Vec<usize> {
            (1..attempts.len())
                .filter(|&i| match &attempts[i].result {
                    Ok(r) => attempts[i].endorsed().is_none() || r.payload != local,
                    Err(_) => false,
                })
                .collect()
        };
        if let Some(local) = attempts
            .first()
            .filter(|a| a.msp_id == mine)
            .and_then(Attempt::endorsed)
            // The usual case, every endorsement alike, copies nothing.
            .filter(|local| !differing(&attempts, &local.payload).is_empty())
        {
            let mut local_payload = local.payload.clone();
            for round in 0..3u32 {
                if differing(&attempts, &local_payload).is_empty() {
                    break;
                }
                tokio::time::sleep(weft_common::backoff::Backoff::nth(
                    std::time::Duration::from_millis(100),
                    std::time::Duration::from_millis(800),
                    round,
                ))
                .await;
                let again = self.endorse_at(mine.clone(), &cfg, &sp, &p).await;
                if let Some(payload) = again.endorsed().map(|r| r.payload.clone()) {
                    local_payload = payload;
                    attempts[0] = again;
                }
                for i in differing(&attempts, &local_payload) {
                    let org = attempts[i].msp_id.clone();
                    attempts[i] = self.endorse_at(org, &cfg, &sp, &p).await;
                }
            }
        }
        let failures: Vec<ErrorDetail> = attempts.iter().filter_map(Attempt::failure).collect();
        // Successful responses grouped by the payload they signed.
        let mut groups: BTreeMap<&[u8], Vec<&Attempt>> = BTreeMap::new();
        for a in &attempts {
            if let Some(r) = a.endorsed() {
                groups.entry(&r.payload).or_default().push(a);
            }
        }
        let best = groups
            .values()
            .max_by_key(|g| (g.len(), g.iter().any(|a| a.msp_id == mine)))
            .cloned()
            .unwrap_or_default();
        let fail = |why: String, mut details: Vec<ErrorDetail>| {
            if groups.len() > 1 {
                details.push(ErrorDetail {
                    address: String::new(),
                    msp_id: String::new(),
                    message: format!("{} different results were endorsed (the chaincode is not deterministic, or state differs between peers)", groups.len()),
                });
            }
            with_details(tonic::Code::Aborted, why, details)
        };
        if best.is_empty() {
            return Err(fail(
                format!(
                    "failed to endorse transaction {}: no organisation endorsed it",
                    p.channel_header.tx_id
                ),
                failures,
            ));
        }
        if explicit && (best.len() < attempts.len()) {
            return Err(fail(
                "failed to endorse transaction: not every requested organisation endorsed it"
                    .into(),
                failures,
            ));
        }
        let responses: Vec<ProposalResponse> = best
            .iter()
            .filter_map(|a| a.result.as_ref().ok().cloned())
            .collect();
        if !explicit {
            let verdict = policy_check(
                committer.ledger(),
                &policies,
                &cfg,
                &p.chaincode_name,
                &responses,
            )?;
            if let Err(why) = verdict {
                if !protecting.is_empty() {
                    return Err(Status::failed_precondition(format!(
                        "requires endorsement from organisation(s) that are not in the distribution policy of the private data collection(s): [{}]; retry specifying trusted endorsing organizations to protect transient data",
                        protecting.join(" ")
                    )));
                }
                return Err(fail(
                    format!("failed to collect enough transaction endorsements: {why}"),
                    failures,
                ));
            }
        }
        let env = prepare_transaction(&p, &responses)
            .map_err(|e| Status::internal(format!("cannot assemble the transaction: {e}")))?;
        Ok(Response::new(EndorseResponse {
            prepared_transaction: Some(env),
        }))
    }

    async fn submit(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let _permit = self.permit()?;
        let req = request.into_inner();
        let env = req
            .prepared_transaction
            .ok_or_else(|| Status::invalid_argument("SubmitRequest has no prepared transaction"))?;
        if env.signature.is_empty() {
            return Err(Status::invalid_argument(
                "the prepared transaction is not signed",
            ));
        }
        let committer = self.channel(&req.channel_id)?;
        let cfg = committer.config();
        let endpoints = self.core.orderer_endpoints(&cfg);
        // An envelope the channel refuses for its size goes on a stream of
        // its own, where the orderer's refusal (or its gRPC limit) touches
        // no other submission.
        let alone = cfg
            .orderer
            .as_ref()
            .is_some_and(|o| env.encoded_len() > o.batch_size.absolute_max_bytes as usize);
        let mut details = Vec::new();
        for endpoint in &endpoints {
            let tls = self.core.tls().map(|t| (t, cfg.tls_roots()));
            let sent = match self.connections.get(endpoint, tls).await {
                Err(e) => Err(NotOrdered::Connect(e)),
                Ok(channel) if alone => broadcast_line::submit_alone(channel, env.clone()).await,
                Ok(channel) => self.lines.submit(endpoint, channel, env.clone()).await,
            };
            match sent {
                Ok(()) => return Ok(Response::new(SubmitResponse {})),
                Err(why) => {
                    self.connections.drop_endpoint(endpoint);
                    if !matches!(why, NotOrdered::Refused { .. }) {
                        self.lines.drop_endpoint(endpoint);
                    }
                    tracing::info!(orderer = %endpoint, tx_id = %req.transaction_id, "submit failed: {why}");
                    details.push(ErrorDetail {
                        address: endpoint.clone(),
                        msp_id: String::new(),
                        message: why.to_string(),
                    });
                }
            }
        }
        Err(with_details(
            tonic::Code::Unavailable,
            format!(
                "no orderer of channel {} accepted transaction {}",
                req.channel_id, req.transaction_id
            ),
            details,
        ))
    }

    async fn commit_status(
        &self,
        request: Request<SignedCommitStatusRequest>,
    ) -> Result<Response<CommitStatusResponse>, Status> {
        // Held while the call waits for the commit: waiters are bounded too.
        let _permit = self.permit()?;
        let signed = request.into_inner();
        let req = CommitStatusRequest::decode(signed.request.as_slice()).map_err(|e| {
            Status::invalid_argument(format!("malformed commit status request: {e}"))
        })?;
        let committer = self.channel(&req.channel_id)?;
        authorize(
            &committer,
            &req.identity,
            &signed.request,
            &signed.signature,
        )?;
        // Registered before the ledger is read: a commit in between is not missed.
        let wait = committer.wait_for_tx(&req.transaction_id);
        let loc = match committer.ledger().tx_location(&req.transaction_id)? {
            Some(loc) => loc,
            None => wait.await.map_err(|e| match e {
                WaitEnded::Closed => Status::unavailable(e.to_string()),
                WaitEnded::Unreadable(_) => Status::internal(e.to_string()),
            })?,
        };
        Ok(Response::new(CommitStatusResponse {
            result: loc.code,
            block_number: loc.block,
        }))
    }

    type ChaincodeEventsStream =
        Pin<Box<dyn Stream<Item = Result<ChaincodeEventsResponse, Status>> + Send>>;

    async fn chaincode_events(
        &self,
        request: Request<SignedChaincodeEventsRequest>,
    ) -> Result<Response<Self::ChaincodeEventsStream>, Status> {
        // Held for the stream's life, as Fabric counts streams in flight.
        let permit = self.permit()?;
        let signed = request.into_inner();
        let req = weft_protos::gateway::ChaincodeEventsRequest::decode(signed.request.as_slice())
            .map_err(|e| {
            Status::invalid_argument(format!("malformed chaincode events request: {e}"))
        })?;
        let committer = self.channel(&req.channel_id)?;
        authorize(
            &committer,
            &req.identity,
            &signed.request,
            &signed.signature,
        )?;
        let access = events::Access::new(&committer, req.identity.clone(), signed);
        let stream = events::stream(committer, req, access, permit);
        Ok(Response::new(Box::pin(stream)))
    }
}

/// Whether these endorsements (all of one payload) satisfy every policy the
/// committer will check for what they endorse: the chaincode's, a written
/// collection's own, and the key-level policies of the keys written (the
/// error says what is missing). `Err` only when the ledger fails.
fn policy_check(
    ledger: &crate::ledger::Ledger,
    policies: &crate::validation::PolicyCache<'_>,
    cfg: &weft_common::config::ChannelConfig,
    chaincode: &str,
    responses: &[ProposalResponse],
) -> Result<Result<(), Shortfall>, crate::PeerError> {
    let Some(first) = responses.first() else {
        return Ok(Err(Shortfall::Unreadable("no endorsement".into())));
    };
    let rwset = match endorsed_rwset(first) {
        Ok(r) => r,
        Err(why) => return Ok(Err(Shortfall::Unreadable(why))),
    };
    let signed: Vec<SignedData> = responses
        .iter()
        .filter_map(|r| {
            let e = r.endorsement.as_ref()?;
            let mut data = r.payload.clone();
            data.extend_from_slice(&e.endorser);
            Some(SignedData {
                identity: e.endorser.clone(),
                data,
                signature: e.signature.clone(),
            })
        })
        .collect();
    let signers = verify_signers(&signed, &cfg.msps, weft_common::clock::unix_now());
    Ok(crate::validation::transaction::check_endorsements(
        chaincode, &rwset, &signers, cfg, ledger, policies,
    )?
    .map_err(Shortfall::Policy))
}

/// The read/write set an endorsement signed.
fn endorsed_rwset(r: &ProposalResponse) -> Result<Vec<weft_common::tx::NsRwSet>, String> {
    use prost::Message;
    let payload = weft_protos::protos::ProposalResponsePayload::decode(r.payload.as_slice())
        .map_err(|e| format!("malformed proposal response payload: {e}"))?;
    let action = weft_protos::protos::ChaincodeAction::decode(payload.extension.as_slice())
        .map_err(|e| format!("malformed chaincode action: {e}"))?;
    weft_common::tx::decode_ns_rwsets(&action.results).map_err(|e| e.reason)
}

/// Checks a signed gateway request: the identity is valid on the channel,
/// signed these bytes, and satisfies the channel's Readers policy.
pub(super) fn authorize(
    committer: &Committer,
    identity: &[u8],
    data: &[u8],
    signature: &[u8],
) -> Result<(), Status> {
    let cfg = committer.config();
    let signers = verify_signers(
        &[SignedData {
            identity: identity.to_vec(),
            data: data.to_vec(),
            signature: signature.to_vec(),
        }],
        &cfg.msps,
        weft_common::clock::unix_now(),
    );
    if signers.valid.is_empty() {
        return Err(Status::permission_denied(format!(
            "the request's identity or signature is not valid: {}",
            signers.refused.join("; ")
        )));
    }
    cfg.policies
        .evaluate("/Channel/Application/Readers", &signers, &cfg.msps)
        .map_err(|e| Status::permission_denied(e.to_string()))
}
