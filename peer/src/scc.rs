//! System chaincodes the admin commands use, invoked like Fabric's through
//! `ProcessProposal`: `cscc` (JoinChain, GetChannels, GetConfigBlock) and
//! `qscc` (GetChainInfo, GetBlockByNumber, GetBlockByHash, GetTransactionByID,
//! GetBlockByTxID). Arguments and results are Fabric's.

use std::sync::Arc;

use prost::Message;
use weft_common::policy::verify_signers;
use weft_common::tx::UnpackedProposal;
use weft_protos::common::Block;
use weft_protos::protos::{ChannelInfo, ChannelQueryResponse};

use weft_common::ids::ChannelId;
use weft_common::msp::MspManager;

use crate::PeerError;
use crate::channel::Committer;
use crate::channels::JoinedChannels;
use crate::refusal::{Refusal, err, internal};

/// What the system chaincodes need of the peer: its channels, joining one,
/// and its own MSP (who is an admin of this peer).
pub trait Support: JoinedChannels {
    /// Joins the channel whose genesis block this is.
    fn join(&self, genesis: Block) -> Result<ChannelId, PeerError>;
    /// The peer's own MSP.
    fn local_msp(&self) -> &MspManager;
}

/// Runs a system chaincode proposal; `Ok` carries the response payload.
pub fn invoke(core: &dyn Support, p: &UnpackedProposal) -> Result<Vec<u8>, Refusal> {
    let args = p.args();
    let function = args
        .first()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .ok_or_else(|| err(400, "no function name in the arguments"))?;
    match (p.chaincode_name.as_str(), function.as_str()) {
        ("cscc", "JoinChain") => {
            require_local_admin(core, p)?;
            let bytes = args
                .get(1)
                .ok_or_else(|| err(400, "JoinChain needs the genesis block"))?;
            let block = Block::decode(bytes.as_slice())
                .map_err(|e| err(400, format!("the genesis block does not decode: {e}")))?;
            core.join(block).map_err(|e| err(500, e.to_string()))?;
            Ok(Vec::new())
        }
        ("cscc", "GetChannels") => {
            require_local_member(core, p)?;
            Ok(ChannelQueryResponse {
                channels: core
                    .channel_ids()
                    .into_iter()
                    .map(|c| ChannelInfo {
                        channel_id: c.to_string(),
                    })
                    .collect(),
            }
            .encode_to_vec())
        }
        ("cscc", "GetConfigBlock") => {
            let c = channel_for(core, p, args, "cscc/GetConfigBlock")?;
            let n = c.ledger().info().last_config;
            block_bytes(&c, n)
        }
        ("qscc", f) => {
            let c = channel_for(core, p, args, &format!("qscc/{f}"))?;
            let arg = |i: usize| {
                args.get(i)
                    .ok_or_else(|| err(400, format!("{f} needs argument {i}")))
            };
            let ledger = c.ledger();
            match f {
                "GetChainInfo" => Ok(ledger.info().to_proto().encode_to_vec()),
                "GetBlockByNumber" => {
                    let text = String::from_utf8_lossy(arg(2)?).into_owned();
                    let n: u64 = text
                        .parse()
                        .map_err(|_| err(400, format!("block number {text:?} is not a number")))?;
                    block_bytes(&c, n)
                }
                "GetBlockByHash" => ledger
                    .block_by_hash(arg(2)?)
                    .map_err(internal)?
                    .map(|b| b.encode_to_vec())
                    .ok_or_else(|| err(404, "no block has this hash")),
                "GetTransactionByID" => {
                    let id = String::from_utf8_lossy(arg(2)?).into_owned();
                    ledger
                        .transaction_by_id(&id)
                        .map_err(internal)?
                        .map(|t| t.encode_to_vec())
                        .ok_or_else(|| err(404, format!("no transaction {id}")))
                }
                "GetBlockByTxID" => {
                    let id = String::from_utf8_lossy(arg(2)?).into_owned();
                    ledger
                        .block_by_tx_id(&id)
                        .map_err(internal)?
                        .map(|b| b.encode_to_vec())
                        .ok_or_else(|| err(404, format!("no transaction {id}")))
                }
                other => Err(err(400, format!("qscc has no function {other}"))),
            }
        }
        (cc, f) => Err(err(
            400,
            format!(
                "{cc}/{f}: this peer serves the system chaincodes cscc and qscc here; application chaincodes are endorsed through the Gateway"
            ),
        )),
    }
}

fn block_bytes(c: &Committer, n: u64) -> Result<Vec<u8>, Refusal> {
    c.ledger()
        .block_bytes(n)
        .map_err(|e| err(500, e.to_string()))?
        .ok_or_else(|| {
            err(
                404,
                format!(
                    "block {n} is not committed (height {})",
                    c.ledger().height()
                ),
            )
        })
}

fn require_local(core: &dyn Support, p: &UnpackedProposal, admin: bool) -> Result<(), Refusal> {
    let sd = p.creator_signed_data();
    let signers = verify_signers(
        std::slice::from_ref(&sd),
        core.local_msp(),
        weft_common::clock::unix_now(),
    );
    let Some(v) = signers.valid.first() else {
        return Err(err(
            403,
            format!(
                "access denied: the creator is not of this peer's organisation: {}",
                signers.refused.join("; ")
            ),
        ));
    };
    if admin && !v.is_admin {
        return Err(err(
            403,
            format!(
                "access denied: {} is not an admin of {}",
                v.identity
                    .certificate()
                    .common_name
                    .clone()
                    .unwrap_or_default(),
                v.identity.msp_id()
            ),
        ));
    }
    Ok(())
}

/// Refuses a creator who is not an admin of this peer's own MSP.
pub fn require_local_admin(core: &dyn Support, p: &UnpackedProposal) -> Result<(), Refusal> {
    require_local(core, p, true)
}

fn require_local_member(core: &dyn Support, p: &UnpackedProposal) -> Result<(), Refusal> {
    require_local(core, p, false)
}

/// The channel named by `args[1]`, after checking the creator against its ACL for `resource`.
fn channel_for(
    core: &dyn Support,
    p: &UnpackedProposal,
    args: &[Vec<u8>],
    resource: &str,
) -> Result<Arc<Committer>, Refusal> {
    let name = args
        .get(1)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .ok_or_else(|| err(400, format!("{resource} needs a channel name")))?;
    let c = core
        .channel(&name)
        .ok_or_else(|| err(404, format!("this peer has not joined channel {name}")))?;
    let cfg = c.config();
    let path = cfg
        .acl_policy(resource)
        .unwrap_or_else(|| "/Channel/Application/Readers".into());
    let signers = verify_signers(
        &[p.creator_signed_data()],
        &cfg.msps,
        weft_common::clock::unix_now(),
    );
    cfg.policies
        .evaluate(&path, &signers, &cfg.msps)
        .map_err(|e| err(403, format!("access denied for {resource} on {name}: {e}")))?;
    Ok(c)
}
