//! What a command-line client does with peers and orderers: endorse a
//! proposal on several peers, assemble and sign the transaction, broadcast
//! it to an orderer, and wait for its commit status (through a peer's
//! Gateway). Used by `weft-peer chaincode invoke` and the lifecycle commands.

use futures::StreamExt;
use prost::Message;
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_common::tls::TlsIdentity;
use weft_common::tx::{ProposalBuilder, SignedProposalBundle, assemble_transaction};
use weft_protos::gateway::gateway_client::GatewayClient;
use weft_protos::gateway::{CommitStatusRequest, SignedCommitStatusRequest};
use weft_protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use weft_protos::protos::{ProposalResponse, TxValidationCode};

use crate::PeerError;
use crate::admin::AdminClient;

/// Where to reach a node over mutual TLS.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`.
    pub address: String,
    /// TLS root CA of the node's certificate and the client's TLS identity (`None`: plaintext).
    pub tls: Option<(TlsIdentity, Vec<u8>)>,
}

impl Target {
    async fn channel(&self) -> Result<tonic::transport::Channel, PeerError> {
        crate::remote::connect(
            &self.address,
            self.tls.as_ref().map(|(id, ca)| (id, vec![ca.clone()])),
            Default::default(),
        )
        .await
        .map_err(PeerError::Common)
    }
}

/// A chaincode call: what the proposal asks for.
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// The channel.
    pub channel: String,
    /// The chaincode.
    pub chaincode: String,
    /// Arguments, function name first.
    pub args: Vec<Vec<u8>>,
    /// Invoke as the chaincode's init.
    pub is_init: bool,
    /// Transient data: given to the chaincode, kept out of the transaction.
    pub transient: std::collections::BTreeMap<String, Vec<u8>>,
}

impl Call {
    /// A call of `chaincode` on `channel` with `args`.
    pub fn new(channel: &str, chaincode: &str, args: Vec<Vec<u8>>) -> Self {
        Self {
            channel: channel.into(),
            chaincode: chaincode.into(),
            args,
            ..Self::default()
        }
    }
}

/// Signs a proposal and collects every peer's endorsement; if any peer
/// refuses, the error names every peer that did, with its status and message.
pub async fn endorse(
    creator: &SigningIdentity,
    call: Call,
    peers: &mut [(String, AdminClient)],
) -> Result<(SignedProposalBundle, Vec<ProposalResponse>), PeerError> {
    let mut builder = ProposalBuilder::new(ChannelId::new(&call.channel), &call.chaincode)
        .args(call.args)
        .init(call.is_init);
    for (key, value) in call.transient {
        builder = builder.transient(key, value);
    }
    let bundle = builder.sign(creator)?;
    let mut responses = Vec::new();
    let mut refusals = Vec::new();
    for (address, peer) in peers.iter_mut() {
        let r = match peer.process(&bundle.signed).await {
            Ok(r) => r,
            Err(e) => {
                refusals.push(format!("  - {address}: {e}"));
                continue;
            }
        };
        let status = r.response.as_ref().map_or(0, |r| r.status);
        if status != 200 {
            let message = r.response.map(|r| r.message).unwrap_or_default();
            refusals.push(format!("  - {address}: status {status}, {message}"));
            continue;
        }
        responses.push(r);
    }
    if !refusals.is_empty() {
        return Err(PeerError::Remote(format!(
            "endorsement failure: {} of {} peers refused\n{}",
            refusals.len(),
            peers.len(),
            refusals.join("\n")
        )));
    }
    Ok((bundle, responses))
}

/// Assembles the endorsed transaction, signs it as `creator` and broadcasts
/// it to `orderer`; returns the txid once the orderer accepted it.
pub async fn submit(
    creator: &SigningIdentity,
    bundle: &SignedProposalBundle,
    responses: &[ProposalResponse],
    orderer: &Target,
) -> Result<String, PeerError> {
    let env = assemble_transaction(&bundle.unpacked, responses, creator)?;
    let mut client = AtomicBroadcastClient::new(orderer.channel().await?);
    let mut stream = client
        .broadcast(futures::stream::iter([env]))
        .await
        .map_err(|source| PeerError::Call {
            what: format!("orderer {}", orderer.address),
            source,
        })?
        .into_inner();
    match stream.next().await {
        Some(Ok(r)) if r.status == 200 => Ok(bundle.tx_id.to_string()),
        Some(Ok(r)) => Err(PeerError::Remote(format!(
            "orderer {} refused the transaction: status {}, {}",
            orderer.address, r.status, r.info
        ))),
        Some(Err(source)) => Err(PeerError::Call {
            what: format!("orderer {}", orderer.address),
            source,
        }),
        None => Err(PeerError::Remote(format!(
            "orderer {} closed the stream",
            orderer.address
        ))),
    }
}

/// Waits for the transaction's commit on `peer` (its Gateway's CommitStatus);
/// returns the validation code and block number.
pub async fn wait_for_commit(
    creator: &SigningIdentity,
    channel: &str,
    tx_id: &str,
    peer: &Target,
) -> Result<(TxValidationCode, u64), PeerError> {
    let request = CommitStatusRequest {
        transaction_id: tx_id.into(),
        channel_id: channel.into(),
        identity: creator.serialized().to_vec(),
    }
    .encode_to_vec();
    let signature = creator.sign(&request)?;
    let r = GatewayClient::new(peer.channel().await?)
        .commit_status(SignedCommitStatusRequest { request, signature })
        .await
        .map_err(|s| {
            PeerError::Remote(format!(
                "commit status from {}: {}",
                peer.address,
                s.message()
            ))
        })?
        .into_inner();
    Ok((
        TxValidationCode::try_from(r.result).unwrap_or(TxValidationCode::InvalidOtherReason),
        r.block_number,
    ))
}

/// Parses Fabric's `-c` argument: `{"Args":["fn","a"]}` or `{"function":"fn","Args":["a"]}`.
pub fn parse_ctor(text: &str) -> Result<Vec<Vec<u8>>, PeerError> {
    #[derive(serde::Deserialize)]
    struct Ctor {
        #[serde(default, alias = "Function")]
        function: Option<String>,
        #[serde(default, alias = "args")]
        #[serde(rename = "Args")]
        args: Vec<String>,
    }
    let c: Ctor = serde_json::from_str(text).map_err(|e| {
        PeerError::Config(format!(
            "-c {text:?}: {e}; expected {{\"Args\":[\"function\",\"arg\",...]}}"
        ))
    })?;
    Ok(c.function
        .into_iter()
        .chain(c.args)
        .map(String::into_bytes)
        .collect())
}

/// Parses Fabric's `--transient` argument: a JSON object whose values are
/// base64 (`{"asset_properties":"eyJvYmplY3RUeXBlIjoi..."}`).
pub fn parse_transient(
    text: &str,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, PeerError> {
    use base64::Engine as _;
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|e| {
            PeerError::Config(format!(
                "--transient {text:?}: {e}; expected {{\"key\":\"<base64>\",...}}"
            ))
        })?;
    map.into_iter()
        .map(|(k, v)| {
            base64::engine::general_purpose::STANDARD
                .decode(&v)
                .map(|b| (k.clone(), b))
                .map_err(|e| {
                    PeerError::Config(format!(
                        "--transient: the value of {k:?} is not base64: {e}"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctor_forms_of_fabrics_cli() {
        assert_eq!(
            parse_ctor(r#"{"Args":["ReadAsset","a1"]}"#).unwrap(),
            vec![b"ReadAsset".to_vec(), b"a1".to_vec()]
        );
        assert_eq!(
            parse_ctor(r#"{"function":"InitLedger","Args":[]}"#).unwrap(),
            vec![b"InitLedger".to_vec()]
        );
        assert!(
            parse_ctor("InitLedger")
                .unwrap_err()
                .to_string()
                .contains("expected")
        );
    }

    #[test]
    fn transient_maps_of_fabrics_cli() {
        let t = parse_transient(r#"{"asset":"aGVsbG8=","empty":""}"#).unwrap();
        assert_eq!(t["asset"], b"hello");
        assert!(t["empty"].is_empty());
        let e = parse_transient(r#"{"asset":"not base64!"}"#).unwrap_err();
        assert!(e.to_string().contains("\"asset\" is not base64"), "{e}");
        assert!(
            parse_transient("[1]")
                .unwrap_err()
                .to_string()
                .contains("expected")
        );
    }
}
