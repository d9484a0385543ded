//! The endorser against [`crate::fake_peer`]: what each check refuses, and that
//! what it signs is signed by the identity its `Support` hands out.

use prost::Message;
use weft_common::ids::ChannelId;
use weft_common::msp::{Identity, SigningIdentity};
use weft_common::tx::ProposalBuilder;
use weft_protos::lifecycle::QueryInstalledChaincodesResult;
use weft_protos::protos::{ChannelQueryResponse, SignedProposal};

use crate::fake_peer::{CHANNEL, Fixture, WINDOW, proposal};

#[tokio::test]
async fn a_lifecycle_query_is_endorsed_and_signed_by_the_supports_identity() {
    let f = Fixture::new();
    let sp = proposal(
        CHANNEL,
        "_lifecycle",
        &["QueryChaincodeDefinitions", ""],
        &f.user(1, "User1"),
    );
    let r = f.endorse(sp).await.unwrap();
    assert_eq!(r.response.as_ref().unwrap().status, 200, "{:?}", r.response);
    let e = r.endorsement.unwrap();
    assert_eq!(e.endorser, f.peer.signer.serialized());
    let signed = [r.payload.as_slice(), e.endorser.as_slice()].concat();
    Identity::from_serialized(&e.endorser)
        .unwrap()
        .verify(&signed, &e.signature)
        .unwrap();
    assert_eq!(f.counted(), (1, 0));
}

#[tokio::test]
async fn a_channel_the_peer_has_not_joined_is_refused_and_counted_as_failed() {
    let f = Fixture::new();
    let sp = proposal("otherchannel", "basic", &["Get"], &f.user(1, "User1"));
    let (status, message) = f.outcome(sp).await;
    assert_eq!(status, 404);
    assert!(message.contains("has not joined"), "{message}");
    assert_eq!(f.counted(), (1, 1));
}

#[tokio::test]
async fn a_creator_of_an_org_outside_the_channel_is_refused() {
    let f = Fixture::new();
    let sp = proposal(CHANNEL, "basic", &["Get"], &f.user(2, "User1"));
    let (status, message) = f.outcome(sp).await;
    assert_eq!(status, 403);
    assert!(
        message.contains("creator or signature is not valid"),
        "{message}"
    );
}

#[tokio::test]
async fn a_timestamp_outside_the_supports_window_is_refused_naming_the_skew() {
    let f = Fixture::new();
    let old = std::time::SystemTime::now() - 2 * WINDOW;
    let sp = ProposalBuilder::new(ChannelId::new(CHANNEL), "basic")
        .args(vec![b"Get".to_vec()])
        .timestamp(old.into())
        .sign(&f.user(1, "User1"))
        .unwrap()
        .signed;
    let (status, message) = f.outcome(sp).await;
    assert_eq!(status, 400);
    assert!(message.contains("allowed: 60 s"), "{message}");
}

#[tokio::test]
async fn a_chaincode_without_a_committed_definition_is_refused() {
    let f = Fixture::new();
    let sp = proposal(CHANNEL, "basic", &["Get"], &f.user(1, "User1"));
    let (status, message) = f.outcome(sp).await;
    assert_eq!(status, 404);
    assert!(
        message.contains("definition for 'basic' not found"),
        "{message}"
    );
}

#[tokio::test]
async fn local_lifecycle_functions_are_for_the_peers_own_admins() {
    let f = Fixture::new();
    let query =
        |who: &SigningIdentity| proposal("", "_lifecycle", &["QueryInstalledChaincodes", ""], who);
    let (status, message) = f.outcome(query(&f.user(1, "User1"))).await;
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("is not an admin of Org1MSP"), "{message}");
    let (status, _) = f.outcome(query(&f.user(2, "Admin"))).await;
    assert_eq!(status, 403, "another org's admin");
    let r = f.endorse(query(&f.user(1, "Admin"))).await.unwrap();
    let payload = r.response.unwrap().payload;
    let listed = QueryInstalledChaincodesResult::decode(payload.as_slice()).unwrap();
    assert!(listed.installed_chaincodes.is_empty());
}

#[tokio::test]
async fn join_chain_goes_through_the_support_and_only_for_an_admin() {
    let f = Fixture::new();
    let join = |who: &SigningIdentity| {
        ProposalBuilder::new(ChannelId::new(""), "cscc")
            .args(vec![b"JoinChain".to_vec(), f.genesis.encode_to_vec()])
            .sign(who)
            .unwrap()
            .signed
    };
    let (status, _) = f.outcome(join(&f.user(1, "User1"))).await;
    assert_eq!(status, 403);
    assert!(f.peer.joined.lock().unwrap().is_empty());
    let (status, message) = f.outcome(join(&f.user(1, "Admin"))).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(
        f.peer.joined.lock().unwrap().as_slice(),
        std::slice::from_ref(&f.genesis)
    );

    let channels = ProposalBuilder::new(ChannelId::new(""), "cscc")
        .args(vec![b"GetChannels".to_vec()])
        .sign(&f.user(1, "User1"))
        .unwrap()
        .signed;
    let r = f.endorse(channels).await.unwrap().response.unwrap();
    let listed = ChannelQueryResponse::decode(r.payload.as_slice()).unwrap();
    let names: Vec<_> = listed
        .channels
        .iter()
        .map(|c| c.channel_id.as_str())
        .collect();
    assert_eq!(names, [CHANNEL]);
}

#[tokio::test]
async fn a_malformed_proposal_is_an_invalid_argument_error_and_counted() {
    let f = Fixture::new();
    let garbage = SignedProposal {
        proposal_bytes: vec![0xff; 7],
        signature: Vec::new(),
    };
    let e = f.endorse(garbage).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(
        e.message().contains("malformed proposal"),
        "{}",
        e.message()
    );
    assert_eq!(f.counted(), (1, 1));
}

#[tokio::test]
async fn a_closed_execution_pool_makes_proposals_unavailable() {
    let f = Fixture::new();
    f.peer.executions.close();
    let sp = proposal(
        CHANNEL,
        "_lifecycle",
        &["QueryChaincodeDefinitions", ""],
        &f.user(1, "User1"),
    );
    let e = f.endorse(sp).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unavailable);
}
