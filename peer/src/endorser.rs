//! `protos.Endorser/ProcessProposal`. Today it serves the system chaincodes
//! ([`crate::scc`]) behind the admin commands; malformed proposals are gRPC
//! errors, refusals are responses with Fabric's status and a message.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use weft_common::tx::{UnpackedProposal, create_proposal_response};
use weft_protos::protos::endorser_server::Endorser;
use weft_protos::protos::{self, ChaincodeId, ProposalResponse, SignedProposal};

use crate::node::PeerCore;

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

#[tonic::async_trait]
impl Endorser for EndorserService {
    async fn process_proposal(
        &self,
        request: Request<SignedProposal>,
    ) -> Result<Response<ProposalResponse>, Status> {
        let sp = request.into_inner();
        let p = UnpackedProposal::from_signed(&sp)
            .map_err(|e| Status::invalid_argument(format!("malformed proposal: {e}")))?;
        p.check_txid()
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let core = self.core.clone();
        let p2 = p.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _enter = tracing::debug_span!("scc", chaincode = %p2.chaincode_name).entered();
            crate::scc::invoke(&core, &p2)
        });
        // JoinChain starts a task, so it needs the runtime context spawn_blocking keeps.
        let result = result
            .await
            .map_err(|e| Status::internal(format!("proposal task: {e}")))?;
        let response = match result {
            Ok(payload) => protos::Response {
                status: 200,
                message: String::new(),
                payload,
            },
            Err(e) => {
                tracing::info!(chaincode = %p.chaincode_name, status = e.status, "proposal refused: {}", e.message);
                return Ok(Response::new(refusal(e.status, e.message)));
            }
        };
        let cc = ChaincodeId {
            name: p.chaincode_name.clone(),
            ..Default::default()
        };
        create_proposal_response(&p, response, Vec::new(), Vec::new(), cc, &self.core.signer)
            .map(Response::new)
            .map_err(|e| Status::internal(format!("cannot sign the response: {e}")))
    }
}
