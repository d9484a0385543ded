//! `protos.Endorser/ProcessProposal`: checks a signed proposal, simulates it
//! and returns a ProposalResponse signed over `payload ‖ endorser`, as Fabric
//! structures it. Malformed proposals are gRPC errors; refusals and chaincode
//! failures are responses with a status and a message that names the cause.
//!
//! - Channel-less proposals: `cscc`/`qscc` admin functions ([`crate::scc`])
//!   and `_lifecycle`'s local functions (install, query installed).
//! - Channel proposals: creator valid on the channel and signature correct,
//!   timestamp within the window, txid not committed, the resource's ACL, then
//!   `_lifecycle`'s channel functions or an application chaincode run in the
//!   WASM runtime against committed state.

mod interest;
mod local;
mod metrics;
mod pool;
mod simulate;
pub(crate) use simulate::apply_defined_indexes;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};
use weft_common::policy::verify_signers;
use weft_common::tx::{UnpackedProposal, create_proposal_response};
use weft_protos::protos::endorser_server::Endorser;
use weft_protos::protos::{self, ChaincodeId, ProposalResponse, SignedProposal};

use tokio::sync::Semaphore;
use weft_common::msp::SigningIdentity;
use weft_common::node::limits::ServiceLimit;

use crate::chaincode::installed::InstalledChaincodes;
use crate::channel::Committer;
use crate::refusal::{Refusal, err, internal};
pub use metrics::EndorserMetrics;
pub(crate) use simulate::installed_for;

/// The version in the `ChaincodeAction` of a system chaincode's endorsement
/// (Fabric's `scc.SysCCVersion`; Fabric's committer refuses an empty one).
pub const SYSTEM_CHAINCODE_VERSION: &str = "syscc";

/// What the endorser needs of the peer, and nothing more (Fabric's endorser
/// `Support`). The node implements it; the unit tests implement it with a fake.
pub trait Support: crate::scc::Support {
    /// The peer's signing identity, which signs endorsements.
    fn signer(&self) -> &SigningIdentity;
    /// How far a proposal's timestamp may be from this peer's clock.
    fn proposal_time_window(&self) -> Duration;
    /// The chaincode packages installed on this peer.
    fn installed(&self) -> &InstalledChaincodes;
    /// Simulations that may hold a chaincode instance at once
    /// (`peer.limits.chaincodeExecutions`).
    fn executions(&self) -> &Semaphore;
    /// What the endorser counts.
    fn metrics(&self) -> &EndorserMetrics;
    /// Hands the private writes of a transaction endorsed on `committer`'s
    /// channel to peers of the collections' member orgs, as many as each
    /// collection requires, before the endorsement is returned.
    fn disseminate<'a>(
        &'a self,
        committer: &'a Committer,
        tx_id: &'a str,
        pvt: &'a weft_protos::rwset::TxPvtReadWriteSet,
    ) -> futures::future::BoxFuture<'a, Result<(), Box<dyn std::error::Error + Send + Sync>>>;
}

/// The Endorser service.
#[derive(Debug, Clone)]
pub struct EndorserService {
    support: Arc<dyn Support>,
    limit: ServiceLimit,
}

impl EndorserService {
    /// A service over `support`, serving at most `limit` calls at once
    /// (`peer.limits.concurrency.endorserService`).
    pub fn new(support: Arc<dyn Support>, limit: ServiceLimit) -> Self {
        Self { support, limit }
    }
}

fn refusal(status: i32, message: String) -> ProposalResponse {
    ProposalResponse {
        version: 1,
        response: Some(protos::Response {
            status,
            message,
            payload: Vec::new(),
        }),
        ..Default::default()
    }
}

/// What a successful simulation produced.
struct Simulated {
    response: protos::Response,
    results: Vec<u8>,
    event: Vec<u8>,
    version: String,
    private: Option<PrivateWrites>,
    /// What the result needs endorsed (Fabric's `ChaincodeInterest`), for
    /// channel chaincode invocations.
    interest: Option<protos::ChaincodeInterest>,
}

/// The private writes of an endorsement.
struct PrivateWrites {
    /// Every collection's, for dissemination.
    all: weft_protos::rwset::TxPvtReadWriteSet,
    /// Those of collections this peer's org belongs to, for its transient store.
    own: Option<weft_protos::rwset::TxPvtReadWriteSet>,
}

impl Simulated {
    fn payload(payload: Vec<u8>) -> Self {
        Self {
            response: protos::Response {
                status: 200,
                message: String::new(),
                payload,
            },
            results: Vec::new(),
            event: Vec::new(),
            version: String::new(),
            private: None,
            interest: None,
        }
    }
}

#[tonic::async_trait]
impl Endorser for EndorserService {
    async fn process_proposal(
        &self,
        request: Request<SignedProposal>,
    ) -> Result<Response<ProposalResponse>, Status> {
        let _place = self.limit.try_acquire()?;
        endorse(&self.support, request.into_inner())
            .await
            .map(Response::new)
    }
}

/// What a proposal's answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A signed endorsement (ProcessProposal, the Gateway's Endorse).
    Endorsement,
    /// The chaincode's response alone (the Gateway's Evaluate, which returns
    /// nothing else to its client): checked and simulated the same way, but
    /// nothing is signed, so no signature is made only to be thrown away.
    ResponseOnly,
}

/// Checks, simulates and signs one proposal on this peer (what ProcessProposal
/// and the Gateway's local endorsements run).
pub async fn endorse(
    core: &Arc<dyn Support>,
    sp: SignedProposal,
) -> Result<ProposalResponse, Status> {
    unpack_and_run(core, sp, Answer::Endorsement).await
}

/// Checks and simulates one proposal as [`endorse`] does, for the Gateway's
/// Evaluate: the answer carries the chaincode's response and no payload or
/// endorsement.
pub async fn evaluate(
    core: &Arc<dyn Support>,
    sp: SignedProposal,
) -> Result<ProposalResponse, Status> {
    unpack_and_run(core, sp, Answer::ResponseOnly).await
}

async fn unpack_and_run(
    core: &Arc<dyn Support>,
    sp: SignedProposal,
    answer: Answer,
) -> Result<ProposalResponse, Status> {
    measured(core, async {
        let p = UnpackedProposal::from_signed(&sp)
            .map_err(|e| Status::invalid_argument(format!("malformed proposal: {e}")))?;
        endorse_inner(core, Arc::new(p), answer).await
    })
    .await
}

/// [`endorse`] for a proposal its caller has already unpacked (the gateway,
/// which read it to plan the endorsements): decoded once per peer.
pub async fn endorse_unpacked(
    core: &Arc<dyn Support>,
    p: Arc<UnpackedProposal>,
) -> Result<ProposalResponse, Status> {
    measured(core, endorse_inner(core, p, Answer::Endorsement)).await
}

/// Counts a proposal, whether it was endorsed, and how long it took.
async fn measured(
    core: &Arc<dyn Support>,
    work: impl std::future::Future<Output = Result<ProposalResponse, Status>>,
) -> Result<ProposalResponse, Status> {
    let started = std::time::Instant::now();
    let result = work.await;
    let m = core.metrics();
    m.proposals
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ok = matches!(&result, Ok(r) if r.response.as_ref().is_some_and(|r| r.status == 200));
    if !ok {
        m.proposal_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    m.propose_duration.observe(started.elapsed());
    result
}

async fn endorse_inner(
    core: &Arc<dyn Support>,
    p: Arc<UnpackedProposal>,
    answer: Answer,
) -> Result<ProposalResponse, Status> {
    {
        p.check_txid()
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let task_core = core.clone();
        let p2 = p.clone();
        // At most `peer.limits.chaincodeExecutions` simulations hold a chaincode
        // instance (and its memory) at once; the others wait here.
        let _turn = core
            .executions()
            .acquire()
            .await
            .map_err(|_| Status::unavailable("the peer is shutting down"))?;
        // Simulation and signature checks are CPU work, done off the runtime.
        let result = pool::run(move || {
            let _enter =
                tracing::debug_span!("proposal", chaincode = %p2.chaincode_name, tx_id = %p2.channel_header.tx_id)
                    .entered();
            process(&task_core, &p2)
        })
        .await
        .map_err(|e| Status::internal(format!("proposal task: {e}")))?;
        let done = match result {
            Ok(done) => done,
            Err(e) => {
                tracing::info!(chaincode = %p.chaincode_name, status = e.status, "proposal refused: {}", e.message);
                return Ok(refusal(e.status, e.message));
            }
        };
        let mut response = match answer {
            Answer::Endorsement => create_proposal_response(
                &p,
                done.response,
                done.results,
                done.event,
                ChaincodeId {
                    name: p.chaincode_name.clone(),
                    version: done.version,
                    path: String::new(),
                },
                core.signer(),
            )
            .map_err(|e| Status::internal(format!("cannot sign the response: {e}")))?,
            Answer::ResponseOnly => ProposalResponse {
                version: 1,
                response: Some(done.response),
                ..Default::default()
            },
        };
        response.interest = done.interest;
        if let Some(pvt) = done.private
            && let Some(c) = core.channel(&p.channel_header.channel_id)
        {
            let tx_id = &p.channel_header.tx_id;
            if let Err(e) = core.disseminate(&c, tx_id, &pvt.all).await {
                tracing::info!(chaincode = %p.chaincode_name, %tx_id, "proposal refused: {e}");
                return Ok(refusal(500, e.to_string()));
            }
            if let Some(own) = &pvt.own
                && let Err(e) = c.transient().put(tx_id, own)
            {
                tracing::warn!(%tx_id, "cannot keep the private writes of an endorsement: {e}");
                return Ok(refusal(500, format!("cannot keep the private writes: {e}")));
            }
        }
        Ok(response)
    }
}

fn process(core: &Arc<dyn Support>, p: &UnpackedProposal) -> Result<Simulated, Refusal> {
    let channel = p.channel_header.channel_id.clone();
    let function = p
        .args()
        .first()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .unwrap_or_default();
    match (p.chaincode_name.as_str(), channel.is_empty()) {
        ("cscc" | "qscc", _) => crate::scc::invoke(core.as_ref(), p).map(Simulated::payload),
        ("_lifecycle", true) => {
            local::local_lifecycle(core.as_ref(), p, &function).map(Simulated::payload)
        }
        (_, true) => Err(err(
            400,
            format!(
                "chaincode {} must be invoked on a channel",
                p.chaincode_name
            ),
        )),
        (cc, false) => {
            let committer = core.channel(&channel).ok_or_else(|| {
                err(
                    404,
                    format!("channel '{channel}' not found: this peer has not joined it"),
                )
            })?;
            check_proposal(core.as_ref(), &committer, p, cc, &function)?;
            simulate::simulate(core, &committer, p, cc, &function)
        }
    }
}

/// Creator, signature, timestamp, duplicate txid and ACL.
fn check_proposal(
    core: &dyn Support,
    committer: &Committer,
    p: &UnpackedProposal,
    cc: &str,
    function: &str,
) -> Result<(), Refusal> {
    let cfg = committer.config();
    let signers = verify_signers(
        &[p.creator_signed_data()],
        &cfg.msps,
        weft_common::clock::unix_now(),
    );
    let Some(creator) = signers.valid.first() else {
        return Err(err(
            403,
            format!(
                "access denied: the proposal's creator or signature is not valid on channel {}: {}",
                cfg.channel_id,
                signers.refused.join("; ")
            ),
        ));
    };
    let ts = p.channel_header.timestamp.as_ref().map_or(0, |t| t.seconds);
    let skew = (weft_common::clock::unix_now() - ts).unsigned_abs();
    if skew > core.proposal_time_window().as_secs() {
        return Err(err(
            400,
            format!(
                "the proposal's timestamp is {skew} s away from this peer's clock (allowed: {} s)",
                core.proposal_time_window().as_secs()
            ),
        ));
    }
    if committer
        .ledger()
        .tx_location(&p.channel_header.tx_id)
        .map_err(internal)?
        .is_some()
    {
        return Err(err(
            409,
            format!(
                "duplicate transaction found [{}]: it is already committed",
                p.channel_header.tx_id
            ),
        ));
    }
    let resource = if cc == crate::lifecycle::NAMESPACE {
        if function == "ApproveChaincodeDefinitionForMyOrg" {
            let my_org = core.signer().identity.msp_id().to_string();
            if creator.identity.msp_id().as_str() != my_org || !creator.is_admin {
                return Err(err(
                    403,
                    format!(
                        "access denied: only an admin of {my_org} may approve for {my_org} on this peer; the creator is {} of {}",
                        creator.role.map_or("member", |r| r.as_str()),
                        creator.identity.msp_id()
                    ),
                ));
            }
            return Ok(());
        }
        format!("_lifecycle/{function}")
    } else {
        "peer/Propose".to_string()
    };
    let path = cfg
        .acl_policy(&resource)
        .unwrap_or_else(|| "/Channel/Application/Writers".into());
    cfg.policies
        .evaluate(&path, &signers, &cfg.msps)
        .map_err(|e| {
            err(
                403,
                format!("access denied for {resource} on {}: {e}", cfg.channel_id),
            )
        })
}
