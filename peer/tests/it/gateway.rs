//! Fabric's Gateway flow against weft peers: Evaluate, Endorse (on the orgs
//! the policy needs), client-side signing, Submit, CommitStatus; MVCC between
//! concurrent clients; errors that name the org, peer and cause.

use prost::Message;
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_common::tx::ProposalBuilder;
use weft_protos::common::Envelope;
use weft_protos::gateway::gateway_client::GatewayClient;
use weft_protos::gateway::{
    CommitStatusRequest, EndorseRequest, EvaluateRequest, SignedCommitStatusRequest, SubmitRequest,
};
use weft_protos::protos::TxValidationCode as Code;

use crate::lifecycle::{args, deploy};
use crate::net::*;
use crate::support::*;

pub(crate) type Client = GatewayClient<tonic::transport::Channel>;

pub(crate) async fn client(net: &Net, peer: &weft_peer::node::PeerHandle) -> Client {
    let ch = net.user_channel(peer).await;
    GatewayClient::new(ch)
}

fn proposal(user: &SigningIdentity, a: &[&str]) -> weft_common::tx::SignedProposalBundle {
    ProposalBuilder::new(ChannelId::new(CHANNEL), "basic")
        .args(args(a))
        .sign(user)
        .unwrap()
}

async fn evaluate(
    gw: &mut Client,
    user: &SigningIdentity,
    a: &[&str],
) -> Result<Vec<u8>, tonic::Status> {
    let p = proposal(user, a);
    let r = gw
        .evaluate(EvaluateRequest {
            transaction_id: p.tx_id.to_string(),
            channel_id: CHANNEL.into(),
            proposed_transaction: Some(p.signed),
            target_organizations: vec![],
        })
        .await?;
    Ok(r.into_inner().result.unwrap().payload)
}

/// Endorse through the gateway and sign the prepared transaction as the client does.
pub(crate) async fn endorse(
    gw: &mut Client,
    user: &SigningIdentity,
    a: &[&str],
) -> Result<(String, Envelope), tonic::Status> {
    let p = proposal(user, a);
    let r = gw
        .endorse(EndorseRequest {
            transaction_id: p.tx_id.to_string(),
            channel_id: CHANNEL.into(),
            proposed_transaction: Some(p.signed),
            endorsing_organizations: vec![],
        })
        .await?;
    let mut env = r.into_inner().prepared_transaction.unwrap();
    env.signature = user.sign(&env.payload).unwrap();
    Ok((p.tx_id.to_string(), env))
}

/// Submits a prepared transaction through the gateway.
pub(crate) async fn submit(
    gw: &mut Client,
    tx_id: &str,
    env: Envelope,
) -> Result<(), tonic::Status> {
    gw.submit(SubmitRequest {
        transaction_id: tx_id.into(),
        channel_id: CHANNEL.into(),
        prepared_transaction: Some(env),
    })
    .await
    .map(drop)
}

pub(crate) async fn submit_and_wait(
    gw: &mut Client,
    user: &SigningIdentity,
    tx_id: &str,
    env: Envelope,
) -> (Code, u64) {
    submit(gw, tx_id, env).await.unwrap();
    let request = CommitStatusRequest {
        transaction_id: tx_id.into(),
        channel_id: CHANNEL.into(),
        identity: user.serialized().to_vec(),
    }
    .encode_to_vec();
    let signature = user.sign(&request).unwrap();
    let r = gw
        .commit_status(SignedCommitStatusRequest { request, signature })
        .await
        .unwrap()
        .into_inner();
    (Code::try_from(r.result).unwrap(), r.block_number)
}

/// One orderer, Org1 and Org2 with a peer each (and their admins), `basic`
/// deployed.
pub(crate) async fn two_orgs_with_basic() -> (
    Net,
    weft_peer::node::PeerHandle,
    weft_peer::node::PeerHandle,
    [weft_peer::admin::AdminClient; 2],
) {
    let net = Net::start(1, 10).await;
    let (p1, p2) = (net.start_peer(1, 0).await, net.start_peer(2, 0).await);
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let mut admins = [net.admin(1, &p1).await, net.admin(2, &p2).await];
    deploy(&net, [&p1, &p2], &mut admins, "basic_1.0", 1).await;
    (net, p1, p2, admins)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_gateway_endorses_submits_and_reports_commit_status() {
    let (net, p1, p2, mut admins) = two_orgs_with_basic().await;
    let user = net.orgs.user(1);
    let mut gw = client(&net, &p1).await;

    // submitTransaction: the gateway collects Org1's (local) and Org2's (anchor peer) endorsements.
    let (id, env) = endorse(
        &mut gw,
        &user,
        &["CreateAsset", "asset9", "blue", "5", "Tom", "300"],
    )
    .await
    .unwrap();
    let (code, block) = submit_and_wait(&mut gw, &user, &id, env).await;
    // Org2's peer has it too before the next endorsements read it.
    wait_height(&p2, block + 1).await;
    assert_eq!(code, Code::Valid);
    assert!(block >= 1);
    let asset: serde_json::Value = serde_json::from_slice(
        &evaluate(&mut gw, &user, &["ReadAsset", "asset9"])
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(asset["Owner"], "Tom");

    // Two clients transfer the same asset at once: both are endorsed against
    // the same state; one commits, the other is told MVCC_READ_CONFLICT.
    let (id_a, env_a) = endorse(&mut gw, &user, &["TransferAsset", "asset9", "Ann"])
        .await
        .unwrap();
    let (id_b, env_b) = endorse(&mut gw, &user, &["TransferAsset", "asset9", "Bob"])
        .await
        .unwrap();
    let mut gw_b = client(&net, &p1).await;
    let (a, b) = tokio::join!(
        submit_and_wait(&mut gw, &user, &id_a, env_a),
        submit_and_wait(&mut gw_b, &user, &id_b, env_b)
    );
    let mut codes = [a.0, b.0];
    codes.sort_by_key(|c| *c as i32);
    assert_eq!(codes, [Code::Valid, Code::MvccReadConflict]);

    // The operations endpoint counts them.
    let metrics = http_get(p1.operations_addr, "/metrics").await;
    for want in [
        "ledger_transactions_total{channel=\"mychannel\",validation_code=\"VALID\"}",
        "ledger_transactions_total{channel=\"mychannel\",validation_code=\"MVCC_READ_CONFLICT\"} 1",
        "ledger_block_stage_seconds_count{channel=\"mychannel\",stage=\"write\"}",
        "endorser_proposals_received_total",
    ] {
        assert!(metrics.contains(want), "{want} missing from\n{metrics}");
    }
    // Its own certificates' expiry (cryptogen's: ten years).
    let year_ahead = weft_common::clock::unix_now() + 365 * 86_400;
    for cert in ["enrollment", "tls"] {
        let at = weft_common::msp::expiry::gauge_in(&metrics, cert);
        assert!(
            at.is_some_and(|t| t > year_ahead),
            "{cert}: {at:?} in\n{metrics}"
        );
    }
    assert!(
        http_get(p1.operations_addr, "/healthz")
            .await
            .contains("OK")
    );

    // Errors say what failed and where.
    let err = evaluate(&mut gw, &user, &["ReadAsset", "missing"])
        .await
        .unwrap_err();
    assert!(
        err.message().contains("missing") && err.message().contains("Org1MSP"),
        "{}",
        err.message()
    );
    let err = endorse(&mut gw, &user, &["DeleteAsset", "missing"])
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Aborted);
    assert!(
        err.message().contains("Org2MSP") && err.message().contains("missing"),
        "{}",
        err.message()
    );
    // A proposal from an hour ago.
    let stale = ProposalBuilder::new(ChannelId::new(CHANNEL), "basic")
        .args(args(&["ReadAsset", "asset9"]))
        .timestamp(prost_types::Timestamp {
            seconds: weft_common::clock::unix_now() - 3600,
            nanos: 0,
        })
        .sign(&user)
        .unwrap();
    let err = gw
        .evaluate(EvaluateRequest {
            transaction_id: stale.tx_id.to_string(),
            channel_id: CHANNEL.into(),
            proposed_transaction: Some(stale.signed),
            target_organizations: vec![],
        })
        .await
        .unwrap_err();
    assert!(
        err.message().contains("away from this peer's clock"),
        "{}",
        err.message()
    );
    // A bad signature on the proposal.
    let mut bad = proposal(&user, &["ReadAsset", "asset9"]);
    let last = bad.signed.signature.len() - 1;
    bad.signed.signature[last] ^= 1;
    let err = gw
        .evaluate(EvaluateRequest {
            transaction_id: bad.tx_id.to_string(),
            channel_id: CHANNEL.into(),
            proposed_transaction: Some(bad.signed),
            target_organizations: vec![],
        })
        .await
        .unwrap_err();
    assert!(err.message().contains("access denied"), "{}", err.message());

    // Block events for clients: filtered blocks carry txids, codes and event names.
    let filtered = deliver_filtered(&net, &p1, &user, block).await;
    let created = filtered
        .iter()
        .flat_map(|b| b.filtered_transactions.iter())
        .find(|t| t.txid == id)
        .expect("the CreateAsset transaction in the filtered blocks");
    assert_eq!(created.tx_validation_code, Code::Valid as i32);
    let Some(weft_protos::protos::filtered_transaction::Data::TransactionActions(actions)) =
        &created.data
    else {
        panic!("no actions");
    };
    let event = actions.chaincode_actions[0]
        .chaincode_event
        .as_ref()
        .unwrap();
    assert_eq!(event.event_name, "CreateAsset");
    assert!(event.payload.is_empty(), "filtered events carry no payload");
    // The orderer org is not a reader of the application channel.
    let outsider = net.orgs.orderer(1);
    let status = deliver_status(&net, &p1, &outsider, block).await;
    assert_eq!(status, weft_protos::common::Status::Forbidden as i32);

    // A chaincode that either org may endorse: the gateway's own org suffices,
    // and Org2's peer is not asked.
    let mut d = crate::lifecycle::named_definition("anyorg", 1, "anyorg_1.0");
    d.validation_parameter = weft_protos::protos::ApplicationPolicy {
        r#type: Some(
            weft_protos::protos::application_policy::Type::SignaturePolicy(
                weft_common::policy::parse_signature_policy("OR('Org1MSP.peer', 'Org2MSP.peer')")
                    .unwrap()
                    .to_proto(),
            ),
        ),
    }
    .encode_to_vec();
    crate::lifecycle::deploy_definition(
        &net,
        [&p1, &p2],
        &mut admins,
        d,
        &crate::lifecycle::misbehaving_wasm(),
    )
    .await;
    let asked = |p: &weft_peer::node::PeerHandle| {
        p.core
            .metrics
            .proposals
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = asked(&p2);
    let prop = ProposalBuilder::new(ChannelId::new(CHANNEL), "anyorg")
        .args(args(&["Put", "k", "v"]))
        .sign(&user)
        .unwrap();
    let r = gw
        .endorse(EndorseRequest {
            transaction_id: prop.tx_id.to_string(),
            channel_id: CHANNEL.into(),
            proposed_transaction: Some(prop.signed),
            endorsing_organizations: vec![],
        })
        .await
        .unwrap();
    let mut env = r.into_inner().prepared_transaction.unwrap();
    env.signature = user.sign(&env.payload).unwrap();
    assert_eq!(
        submit_and_wait(&mut gw, &user, prop.tx_id.as_ref(), env)
            .await
            .0,
        Code::Valid
    );
    assert_eq!(asked(&p2), before, "Org2's peer was not needed");

    // A gateway at its limit says so at once instead of queueing.
    let busy = net
        .start_peer_configured(1, 1, |c| c.gateway_concurrency = 0)
        .await;
    let err = evaluate(
        &mut client(&net, &busy).await,
        &user,
        &["ReadAsset", "asset9"],
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::ResourceExhausted,
        "{}",
        err.message()
    );
    busy.shutdown().await;

    // Org2's peer goes down: endorsement fails, naming Org2 and the policy.
    p2.shutdown().await;
    let err = endorse(
        &mut gw,
        &user,
        &["CreateAsset", "asset10", "red", "1", "Ann", "1"],
    )
    .await
    .unwrap_err();
    assert!(
        err.message().contains("Org2MSP") && err.message().contains("not satisfied"),
        "{}",
        err.message()
    );
    // ... and the gateway keeps serving.
    assert!(
        evaluate(&mut gw, &user, &["ReadAsset", "asset9"])
            .await
            .is_ok()
    );

    p1.shutdown().await;
    net.shutdown().await;
}

async fn deliver_client(
    net: &Net,
    peer: &weft_peer::node::PeerHandle,
) -> weft_protos::protos::deliver_client::DeliverClient<tonic::transport::Channel> {
    let ch = net.user_channel(peer).await;
    weft_protos::protos::deliver_client::DeliverClient::new(ch)
}

/// Filtered blocks 0..=to.
async fn deliver_filtered(
    net: &Net,
    peer: &weft_peer::node::PeerHandle,
    signer: &SigningIdentity,
    to: u64,
) -> Vec<weft_protos::protos::FilteredBlock> {
    use futures::StreamExt;
    let mut stream = deliver_client(net, peer)
        .await
        .deliver_filtered(futures::stream::iter([seek_envelope(signer, 0, to)]))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(r) = stream.next().await {
        match r.unwrap().r#type.unwrap() {
            weft_protos::protos::deliver_response::Type::FilteredBlock(b) => out.push(b),
            weft_protos::protos::deliver_response::Type::Status(s) => {
                assert_eq!(s, weft_protos::common::Status::Success as i32);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(out.len() as u64, to + 1);
    out
}

/// The status a Deliver request ends with.
async fn deliver_status(
    net: &Net,
    peer: &weft_peer::node::PeerHandle,
    signer: &SigningIdentity,
    to: u64,
) -> i32 {
    use futures::StreamExt;
    let mut stream = deliver_client(net, peer)
        .await
        .deliver(futures::stream::iter([seek_envelope(signer, 0, to)]))
        .await
        .unwrap()
        .into_inner();
    while let Some(r) = stream.next().await {
        if let Some(weft_protos::protos::deliver_response::Type::Status(s)) = r.unwrap().r#type {
            return s;
        }
    }
    panic!("no status")
}

/// A plain HTTP/1.1 GET on the operations listener; returns the body.
/// A plain HTTP/1.1 GET; the whole response, status line first.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
