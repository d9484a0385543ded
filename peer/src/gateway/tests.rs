//! The gateway against [`crate::fake_peer`]: local evaluation and
//! endorsement, its concurrency limit, and failures that name the peer or
//! orderer that failed — with other orgs' peers and orderers that are not
//! there.

use prost::Message;
use tonic::{Code, Request};
use weft_protos::common::{ChannelHeader, Envelope, Header, Payload};
use weft_protos::gateway::gateway_server::Gateway;
use weft_protos::gateway::{
    CommitStatusRequest, EndorseRequest, EvaluateRequest, SignedCommitStatusRequest, SubmitRequest,
};
use weft_protos::protos::SignedProposal;

use super::GatewayService;
use crate::config::{GatewayPeer, PeerLimits};
use crate::fake_peer::{CHANNEL, Fixture, proposal};

/// An address nothing listens on (a port just bound and released).
fn nobody() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

fn gateway(f: &Fixture, concurrency: usize) -> GatewayService {
    GatewayService::new(f.peer.clone(), concurrency, &PeerLimits::default())
}

fn evaluate(sp: SignedProposal) -> Request<EvaluateRequest> {
    Request::new(EvaluateRequest {
        proposed_transaction: Some(sp),
        ..Default::default()
    })
}

fn endorse(sp: SignedProposal, orgs: &[&str]) -> Request<EndorseRequest> {
    Request::new(EndorseRequest {
        channel_id: CHANNEL.into(),
        proposed_transaction: Some(sp),
        endorsing_organizations: orgs.iter().map(|o| o.to_string()).collect(),
        ..Default::default()
    })
}

fn definitions(f: &Fixture) -> SignedProposal {
    proposal(
        CHANNEL,
        "_lifecycle",
        &["QueryChaincodeDefinitions", ""],
        &f.user(1, "User1"),
    )
}

#[tokio::test]
async fn evaluate_returns_this_peers_result() {
    let f = Fixture::new();
    let r = gateway(&f, 10)
        .evaluate(evaluate(definitions(&f)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.result.unwrap().status, 200);
}

/// Evaluate returns only the chaincode's response, so the peer signs
/// nothing for it; the response is the one an endorsement would carry.
#[tokio::test]
async fn an_evaluation_signs_nothing_and_answers_as_an_endorsement_would() {
    let f = Fixture::new();
    let support: std::sync::Arc<dyn crate::endorser::Support> = f.peer.clone();
    let evaluated = crate::endorser::evaluate(&support, definitions(&f))
        .await
        .unwrap();
    let endorsed = crate::endorser::endorse(&support, definitions(&f))
        .await
        .unwrap();
    assert_eq!(evaluated.response.as_ref().unwrap().status, 200);
    assert_eq!(evaluated.response, endorsed.response);
    assert!(evaluated.endorsement.is_none(), "nothing signed");
    assert!(evaluated.payload.is_empty());
    assert!(endorsed.endorsement.is_some() && !endorsed.payload.is_empty());
}

#[tokio::test]
async fn an_evaluation_refused_is_aborted_naming_this_peer_and_the_cause() {
    let f = Fixture::new();
    let sp = proposal(CHANNEL, "basic", &["Get"], &f.user(1, "User1"));
    let e = gateway(&f, 10).evaluate(evaluate(sp)).await.unwrap_err();
    assert_eq!(e.code(), Code::Aborted);
    let m = e.message();
    assert!(m.contains("Org1MSP (peer0.org1.example.com:7051)"), "{m}");
    assert!(m.contains("definition for 'basic' not found"), "{m}");
    assert!(
        !e.details().is_empty(),
        "the ErrorDetails travel with the status"
    );
}

#[tokio::test]
async fn a_gateway_at_its_limit_refuses_with_resource_exhausted() {
    let f = Fixture::new();
    let e = gateway(&f, 0)
        .evaluate(evaluate(definitions(&f)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(
        e.message().contains("MaxConcurrentRequests"),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn endorsing_on_a_channel_of_this_org_alone_prepares_the_transaction() {
    let f = Fixture::new();
    let sp = definitions(&f);
    let r = gateway(&f, 10)
        .endorse(endorse(sp, &[]))
        .await
        .unwrap()
        .into_inner();
    let env = r.prepared_transaction.unwrap();
    assert!(
        env.signature.is_empty(),
        "the client signs it, not the gateway"
    );
    let payload = Payload::decode(env.payload.as_slice()).unwrap();
    let header = payload.header.unwrap();
    let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
    assert_eq!(ch.channel_id, CHANNEL);
}

#[tokio::test]
async fn an_org_whose_peers_are_unreachable_is_named_with_each_address_tried() {
    let absent = nobody();
    let f = Fixture::with(
        vec![GatewayPeer {
            msp_id: "Org2MSP".into(),
            address: absent.clone(),
        }],
        Vec::new(),
    );
    let e = gateway(&f, 10)
        .endorse(endorse(definitions(&f), &["Org2MSP"]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Aborted);
    assert!(
        e.message().contains(&format!("Org2MSP ({absent})")),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn submit_tries_every_orderer_and_names_each_failure() {
    let (a, b) = (nobody(), nobody());
    let f = Fixture::with(Vec::new(), vec![a.clone(), b.clone()]);
    let gw = gateway(&f, 10);
    let unsigned = Envelope {
        payload: Payload {
            header: Some(Header::default()),
            data: Vec::new(),
        }
        .encode_to_vec(),
        signature: Vec::new(),
    };
    let submit = |env: Envelope| {
        Request::new(SubmitRequest {
            transaction_id: "tx1".into(),
            channel_id: CHANNEL.into(),
            prepared_transaction: Some(env),
        })
    };
    let e = gw.submit(submit(unsigned.clone())).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let signed = Envelope {
        signature: vec![1],
        ..unsigned
    };
    let e = gw.submit(submit(signed)).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    for orderer in [&a, &b] {
        assert!(e.message().contains(orderer.as_str()), "{}", e.message());
    }
}

/// Anyone the channel's Readers admit may hold CommitStatus calls open for
/// transactions that never commit. Each holds one of the gateway's permits,
/// so they are bounded by its limit, and a call its client abandons leaves
/// no wait behind.
#[tokio::test]
async fn commit_status_waits_are_bounded_by_the_limit_and_gone_when_abandoned() {
    let f = Fixture::new();
    let g = std::sync::Arc::new(gateway(&f, 2));
    let user = f.user(1, "User1");
    let status = |tx_id: &str| {
        let request = CommitStatusRequest {
            channel_id: CHANNEL.into(),
            transaction_id: tx_id.into(),
            identity: user.identity.serialized().to_vec(),
        }
        .encode_to_vec();
        Request::new(SignedCommitStatusRequest {
            signature: user.sign(&request).unwrap(),
            request,
        })
    };
    let committer = g.channel(CHANNEL).unwrap();
    let held: Vec<_> = ["never-1", "never-2"]
        .into_iter()
        .map(|tx_id| {
            let (g, request) = (g.clone(), status(tx_id));
            tokio::spawn(async move { g.commit_status(request).await })
        })
        .collect();
    weft_testkit::wait_for(
        "both calls waiting",
        std::time::Duration::from_secs(10),
        || committer.waited_for() == 2,
    )
    .await;
    let refused = g.commit_status(status("never-3")).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    for call in held {
        call.abort();
        assert!(call.await.unwrap_err().is_cancelled());
    }
    assert_eq!(committer.waited_for(), 0, "no wait outlives its call");
}
