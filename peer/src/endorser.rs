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

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tonic::{Request, Response, Status};
use weft_common::policy::verify_signers;
use weft_common::tx::{UnpackedProposal, create_proposal_response};
use weft_protos::lifecycle::{
    GetInstalledChaincodePackageArgs, GetInstalledChaincodePackageResult, InstallChaincodeArgs,
    InstallChaincodeResult, QueryInstalledChaincodeArgs, QueryInstalledChaincodeResult,
    QueryInstalledChaincodesResult, query_installed_chaincodes_result,
};
use weft_protos::protos::endorser_server::Endorser;
use weft_protos::protos::{self, ChaincodeEvent, ChaincodeId, ProposalResponse, SignedProposal};

use crate::PeerError;
use crate::chaincode::{InvocationContext, Simulator, TxSimulator};
use crate::channel::Committer;
use crate::lifecycle::layout::{self, NAMESPACES};
use crate::lifecycle::scc::Lifecycle;
use crate::node::PeerCore;
use crate::scc::{SccError, err};

/// The version in the `ChaincodeAction` of a system chaincode's endorsement
/// (Fabric's `scc.SysCCVersion`; Fabric's committer refuses an empty one).
pub const SYSTEM_CHAINCODE_VERSION: &str = "syscc";

/// How far a proposal's timestamp may be from the peer's clock, unless the config says otherwise.
pub const TIMESTAMP_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The Endorser service.
#[derive(Debug, Clone)]
pub struct EndorserService {
    core: Arc<PeerCore>,
}

impl EndorserService {
    /// A service over the peer's shared state.
    pub fn new(core: Arc<PeerCore>) -> Self {
        Self { core }
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
    private: Option<weft_protos::rwset::TxPvtReadWriteSet>,
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
        }
    }
}

#[tonic::async_trait]
impl Endorser for EndorserService {
    async fn process_proposal(
        &self,
        request: Request<SignedProposal>,
    ) -> Result<Response<ProposalResponse>, Status> {
        let _place = self.core.endorser_limit.try_acquire()?;
        endorse(&self.core, request.into_inner())
            .await
            .map(Response::new)
    }
}

/// Checks, simulates and signs one proposal on this peer (what ProcessProposal
/// and the Gateway's local endorsements run).
pub async fn endorse(core: &Arc<PeerCore>, sp: SignedProposal) -> Result<ProposalResponse, Status> {
    let started = std::time::Instant::now();
    let result = endorse_inner(core, sp).await;
    let m = &core.metrics;
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
    core: &Arc<PeerCore>,
    sp: SignedProposal,
) -> Result<ProposalResponse, Status> {
    {
        let p = UnpackedProposal::from_signed(&sp)
            .map_err(|e| Status::invalid_argument(format!("malformed proposal: {e}")))?;
        p.check_txid()
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let task_core = core.clone();
        let p2 = p.clone();
        // At most `peer.limits.chaincodeExecutions` simulations hold a chaincode
        // instance (and its memory) at once; the others wait here.
        let _turn = core
            .executions
            .acquire()
            .await
            .map_err(|_| Status::unavailable("the peer is shutting down"))?;
        // Simulation and signature checks are CPU work; JoinChain also needs the runtime context.
        let result = tokio::task::spawn_blocking(move || {
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
        let cc = ChaincodeId {
            name: p.chaincode_name.clone(),
            version: done.version,
            path: String::new(),
        };
        let response = create_proposal_response(
            &p,
            done.response,
            done.results,
            done.event,
            cc,
            &core.signer,
        )
        .map_err(|e| Status::internal(format!("cannot sign the response: {e}")))?;
        if let Some(pvt) = done.private
            && let Some(c) = core.channel(&p.channel_header.channel_id)
        {
            c.transient().put(&p.channel_header.tx_id, pvt);
        }
        Ok(response)
    }
}

fn process(core: &Arc<PeerCore>, p: &UnpackedProposal) -> Result<Simulated, SccError> {
    let channel = p.channel_header.channel_id.clone();
    let function = p
        .args()
        .first()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .unwrap_or_default();
    match (p.chaincode_name.as_str(), channel.is_empty()) {
        ("cscc" | "qscc", _) => crate::scc::invoke(core, p).map(Simulated::payload),
        ("_lifecycle", true) => local_lifecycle(core, p, &function).map(Simulated::payload),
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
            check_proposal(core, &committer, p, cc, &function)?;
            simulate(core, &committer, p, cc, &function)
        }
    }
}

/// Creator, signature, timestamp, duplicate txid and ACL.
fn check_proposal(
    core: &PeerCore,
    committer: &Committer,
    p: &UnpackedProposal,
    cc: &str,
    function: &str,
) -> Result<(), SccError> {
    let cfg = committer.config();
    let signers = verify_signers(
        &[p.creator_signed_data()],
        &cfg.msps,
        crate::clock::unix_now(),
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
    let skew = (crate::clock::unix_now() - ts).unsigned_abs();
    if skew > core.proposal_time_window.as_secs() {
        return Err(err(
            400,
            format!(
                "the proposal's timestamp is {skew} s away from this peer's clock (allowed: {} s)",
                core.proposal_time_window.as_secs()
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
            let my_org = core.signer.identity.msp_id().to_string();
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

fn internal(e: PeerError) -> SccError {
    err(500, e.to_string())
}

fn simulate(
    core: &Arc<PeerCore>,
    committer: &Committer,
    p: &UnpackedProposal,
    cc: &str,
    function: &str,
) -> Result<Simulated, SccError> {
    let cfg = committer.config();
    let ledger = committer.ledger().clone();
    let mut sim = Simulator::new(ledger.clone());
    let my_org = core.signer.identity.msp_id().to_string();
    if cc == crate::lifecycle::NAMESPACE {
        let payload = Lifecycle {
            sim: &mut sim,
            config: &cfg,
            my_org: &my_org,
        }
        .invoke(function, p.args())?;
        return Ok(Simulated {
            response: protos::Response {
                status: 200,
                message: String::new(),
                payload,
            },
            results: sim.rwset().encode_to_vec(),
            event: Vec::new(),
            // Fabric's endorser names every system chaincode's version so.
            version: SYSTEM_CHAINCODE_VERSION.into(),
            private: sim.private_rwset(),
        });
    }
    // The definition: its sequence is read through the simulation (as Fabric
    // records it), the rest and this org's package choice directly.
    let sequence = sim
        .get_state(crate::lifecycle::NAMESPACE, &layout::field_key(NAMESPACES, cc, "Sequence"))
        .map_err(internal)?
        .and_then(|v| layout::data_int(&v))
        .ok_or_else(|| {
            err(
                404,
                format!("chaincode definition for '{cc}' not found: make sure it has been committed on channel {}", cfg.channel_id),
            )
        })?;
    let read = |k: String| {
        ledger
            .get_state(crate::lifecycle::NAMESPACE, &k)
            .map_err(internal)
    };
    let info = read(layout::field_key(NAMESPACES, cc, "EndorsementInfo"))?
        .and_then(|(_, v)| layout::endorsement_info(&v))
        .unwrap_or_default();
    let version = info.version.clone();
    check_init(&mut sim, p, cc, &info)?;
    let installed = installed_for(core, &ledger, cc, sequence)?;
    let creator = weft_common::msp::Identity::from_serialized(&p.signature_header.creator)
        .map_err(|e| err(400, format!("creator: {e}")))?;
    let ts = p.channel_header.timestamp.unwrap_or_default();
    let ctx = InvocationContext {
        chaincode: cc.to_string(),
        args: p.args().to_vec(),
        tx_id: p.channel_header.tx_id.clone(),
        channel_id: cfg.channel_id.to_string(),
        timestamp: (ts.seconds, ts.nanos),
        creator_msp_id: creator.msp_id().to_string(),
        creator_cert: creator.cert_pem(),
        transient: p.transient().clone(),
        read_only: false,
    };
    let (outcome, sim) = core.installed.runtime().invoke(
        &installed.compiled,
        ctx,
        Box::new(sim),
        Some(Arc::new(DefinedChaincodes {
            core: core.clone(),
            ledger: ledger.clone(),
        })),
    );
    let outcome = outcome.map_err(|e| err(500, format!("error in simulation: {e}")))?;
    if outcome.response.status >= 400 {
        return Err(err(
            outcome.response.status as i32,
            format!(
                "error in simulation: transaction returned with failure: {}",
                outcome.response.message
            ),
        ));
    }
    let event = outcome
        .event
        .map(|(name, payload)| {
            ChaincodeEvent {
                chaincode_id: cc.to_string(),
                tx_id: p.channel_header.tx_id.clone(),
                event_name: name,
                payload,
            }
            .encode_to_vec()
        })
        .unwrap_or_default();
    Ok(Simulated {
        response: protos::Response {
            status: outcome.response.status as i32,
            message: outcome.response.message,
            payload: outcome.response.payload,
        },
        results: sim.rwset().encode_to_vec(),
        event,
        version,
        private: None,
    })
}

/// Fabric's Init-once rule for definitions with `init_required`: the first
/// transaction of a version must be an init (`is_init`), and only the first.
fn check_init(
    sim: &mut Simulator<crate::ledger::Ledger>,
    p: &UnpackedProposal,
    cc: &str,
    info: &weft_protos::lifecycle::ChaincodeEndorsementInfo,
) -> Result<(), SccError> {
    let is_init = p
        .invocation
        .chaincode_spec
        .as_ref()
        .and_then(|s| s.input.as_ref())
        .is_some_and(|i| i.is_init);
    if !info.init_required {
        if is_init {
            return Err(err(
                400,
                format!("chaincode '{cc}' does not require initialization but called as init"),
            ));
        }
        return Ok(());
    }
    let done = sim
        .get_state(cc, layout::INITIALIZED_KEY)
        .map_err(internal)?;
    let initialized = done.as_deref() == Some(info.version.as_bytes());
    match (initialized, is_init) {
        (true, true) => Err(err(
            400,
            format!("chaincode '{cc}' is already initialized but called as init"),
        )),
        (false, false) => Err(err(
            400,
            format!(
                "chaincode '{cc}' has not been initialized for version {}, must call as init first",
                info.version
            ),
        )),
        (false, true) => sim
            .put_state(
                cc,
                layout::INITIALIZED_KEY,
                info.version.clone().into_bytes(),
            )
            .map_err(internal),
        (true, false) => Ok(()),
    }
}

/// The package this org chose for `cc` at `sequence`, installed on this peer.
/// The package this peer's org chose for `cc` at `sequence`, if installed here.
pub(crate) fn installed_for(
    core: &PeerCore,
    ledger: &crate::ledger::Ledger,
    cc: &str,
    sequence: i64,
) -> Result<crate::chaincode::installed::Installed, SccError> {
    let my_org = core.signer.identity.msp_id().to_string();
    let coll = layout::implicit_collection(&my_org);
    let package_id = ledger
        .get_private(
            crate::lifecycle::NAMESPACE,
            &coll,
            &layout::field_key(layout::CHAINCODE_SOURCES, &format!("{cc}#{sequence}"), "PackageID"),
        )
        .map_err(internal)?
        .and_then(|v| layout::data_string(&v))
        .ok_or_else(|| {
            err(
                500,
                format!("chaincode definition for '{cc}' exists, but {my_org} has not approved it with a package on this peer (sequence {sequence})"),
            )
        })?;
    core.installed.get(&package_id).ok_or_else(|| {
        err(
            500,
            format!("chaincode definition for '{cc}' exists, but chaincode {package_id} is not installed on this peer"),
        )
    })
}

/// Chaincodes a chaincode may call (`invoke_chaincode`): those with a
/// committed definition whose package this org installed here.
struct DefinedChaincodes {
    core: Arc<PeerCore>,
    ledger: crate::ledger::Ledger,
}

impl crate::chaincode::runtime::ChaincodeResolver for DefinedChaincodes {
    fn resolve(&self, name: &str) -> Option<Arc<crate::chaincode::CompiledChaincode>> {
        let (_, v) = self
            .ledger
            .get_state(
                crate::lifecycle::NAMESPACE,
                &layout::field_key(NAMESPACES, name, "Sequence"),
            )
            .ok()??;
        let sequence = layout::data_int(&v)?;
        installed_for(&self.core, &self.ledger, name, sequence)
            .ok()
            .map(|i| i.compiled)
    }
}

/// `_lifecycle`'s peer-local functions; only an admin of this peer's org may call them.
fn local_lifecycle(
    core: &PeerCore,
    p: &UnpackedProposal,
    function: &str,
) -> Result<Vec<u8>, SccError> {
    crate::scc::require_local_admin(core, p)?;
    let arg = p.args().get(1).map_or(&[][..], |a| a.as_slice());
    let bad = |e: prost::DecodeError| {
        err(
            400,
            format!("{function}: the argument does not decode: {e}"),
        )
    };
    match function {
        "InstallChaincode" => {
            let a = InstallChaincodeArgs::decode(arg).map_err(bad)?;
            let i = core
                .installed
                .install(&a.chaincode_install_package)
                .map_err(|e| err(500, format!("failed to install chaincode: {e}")))?;
            tracing::info!(package_id = %i.package_id, "installed chaincode");
            Ok(InstallChaincodeResult {
                package_id: i.package_id,
                label: i.label,
            }
            .encode_to_vec())
        }
        "QueryInstalledChaincodes" => Ok(QueryInstalledChaincodesResult {
            installed_chaincodes: core
                .installed
                .list()
                .into_iter()
                .map(|i| query_installed_chaincodes_result::InstalledChaincode {
                    package_id: i.package_id,
                    label: i.label,
                    references: Default::default(),
                })
                .collect(),
        }
        .encode_to_vec()),
        "QueryInstalledChaincode" => {
            let a = QueryInstalledChaincodeArgs::decode(arg).map_err(bad)?;
            let i = core.installed.get(&a.package_id).ok_or_else(|| {
                err(
                    404,
                    format!(
                        "could not find chaincode with package id '{}'",
                        a.package_id
                    ),
                )
            })?;
            Ok(QueryInstalledChaincodeResult {
                package_id: i.package_id,
                label: i.label,
                references: Default::default(),
            }
            .encode_to_vec())
        }
        "GetInstalledChaincodePackage" => {
            let a = GetInstalledChaincodePackageArgs::decode(arg).map_err(bad)?;
            let bytes = core
                .installed
                .package_bytes(&a.package_id)
                .map_err(internal)?
                .ok_or_else(|| {
                    err(
                        404,
                        format!(
                            "could not find chaincode with package id '{}'",
                            a.package_id
                        ),
                    )
                })?;
            Ok(GetInstalledChaincodePackageResult {
                chaincode_install_package: bytes,
            }
            .encode_to_vec())
        }
        other => Err(err(
            400,
            format!("_lifecycle/{other} needs a channel (or does not exist)"),
        )),
    }
}
