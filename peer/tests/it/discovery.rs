//! Service discovery: what a weft peer answers (the channel's MSPs and
//! orderers, its peers with their heights and chaincodes, the endorsement
//! plan of a chaincode), and whom it refuses (identities outside the channel,
//! a TLS hash that is not the connection's, non-admins asking for the local
//! peers, strangers asking peers for their membership). Fabric's SDKs and
//! the `discover` CLI read the same answers (`fabric_network.rs`).

use prost::Message;
use weft_common::msp::SigningIdentity;
use weft_protos::discovery::discovery_client::DiscoveryClient;
use weft_protos::discovery::{
    AuthInfo, ConfigQuery, LocalPeerQuery, PeerMembershipQuery, Query, QueryResult, Request,
    SignedRequest, query, query_result,
};
use weft_protos::gossip::{GossipMessage, gossip_message};
use weft_protos::protos::{ChaincodeCall, ChaincodeInterest};
use weft_protos::weft::membership::membership_client::MembershipClient;
use weft_protos::weft::membership::{AliveQuery, AliveRequest};

use crate::lifecycle::deploy;
use crate::net::*;
use crate::support::*;

/// SHA-256 of Org1's User1 TLS certificate (what `user_channel` presents).
fn user_tls_hash(net: &Net) -> Vec<u8> {
    let pem = std::fs::read(net.orgs.user_dir(1, "User1").join("tls/client.crt")).unwrap();
    let der = weft_common::tls::parse_certs(&pem).unwrap();
    weft_common::crypto::sha256(der[0].as_ref()).to_vec()
}

fn signed(who: &SigningIdentity, tls_hash: Vec<u8>, queries: Vec<Query>) -> SignedRequest {
    let payload = Request {
        authentication: Some(AuthInfo {
            client_identity: who.serialized().to_vec(),
            client_tls_cert_hash: tls_hash,
        }),
        queries,
    }
    .encode_to_vec();
    SignedRequest {
        signature: who.sign(&payload).unwrap(),
        payload,
    }
}

fn channel_query(q: query::Query) -> Query {
    Query {
        channel: CHANNEL.into(),
        query: Some(q),
    }
}

fn basic_interest() -> query::Query {
    query::Query::CcQuery(weft_protos::discovery::ChaincodeQuery {
        interests: vec![ChaincodeInterest {
            chaincodes: vec![ChaincodeCall {
                name: "basic".into(),
                ..Default::default()
            }],
        }],
    })
}

fn denied(r: &QueryResult) -> bool {
    matches!(&r.result, Some(query_result::Result::Error(e)) if e.content == "access denied")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn discovery_answers_channel_members_and_refuses_everyone_else() {
    let net = Net::start(1, 10).await;
    let (p1, p2) = (net.start_peer(1, 0).await, net.start_peer(2, 0).await);
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let mut admins = [net.admin(1, &p1).await, net.admin(2, &p2).await];
    deploy(&net, [&p1, &p2], &mut admins, "basic_1.0", 1).await;
    let mut client = DiscoveryClient::new(net.user_channel(&p1).await);
    let user = net.orgs.user(1);
    let hash = user_tls_hash(&net);

    let answer = client
        .discover(signed(
            &user,
            hash.clone(),
            vec![
                channel_query(query::Query::ConfigQuery(ConfigQuery {})),
                channel_query(query::Query::PeerQuery(PeerMembershipQuery {
                    filter: None,
                })),
                channel_query(basic_interest()),
                Query {
                    channel: String::new(),
                    query: Some(query::Query::LocalPeers(LocalPeerQuery {})),
                },
            ],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.results.len(), 4);

    // The config: every org's MSP, the orderers of the orderer org.
    let Some(query_result::Result::ConfigResult(config)) = &answer.results[0].result else {
        panic!("{:?}", answer.results[0]);
    };
    let mut msps: Vec<&String> = config.msps.keys().collect();
    msps.sort();
    assert_eq!(msps, ["OrdererMSP", "Org1MSP", "Org2MSP"]);
    assert!(!config.msps["Org2MSP"].tls_root_certs.is_empty());
    let orderer = &config.orderers["OrdererMSP"].endpoint[0];
    assert_eq!(
        format!("{}:{}", orderer.host, orderer.port),
        net.orderer_endpoint(0)
    );

    // The peers, each with its endpoint, ledger height and chaincodes.
    let Some(query_result::Result::Members(members)) = &answer.results[1].result else {
        panic!("{:?}", answer.results[1]);
    };
    for (org, peer) in [("Org1MSP", &p1), ("Org2MSP", &p2)] {
        let peers = &members.peers_by_org[org].peers;
        assert_eq!(peers.len(), 1, "{org}");
        let alive = GossipMessage::decode(
            peers[0]
                .membership_info
                .as_ref()
                .unwrap()
                .payload
                .as_slice(),
        )
        .unwrap();
        let Some(gossip_message::Content::AliveMsg(alive)) = alive.content else {
            panic!()
        };
        assert_eq!(
            alive.membership.unwrap().endpoint,
            format!("127.0.0.1:{}", peer.addr.port())
        );
        let state = GossipMessage::decode(peers[0].state_info.as_ref().unwrap().payload.as_slice())
            .unwrap();
        let Some(gossip_message::Content::StateInfo(state)) = state.content else {
            panic!()
        };
        let props = state.properties.unwrap();
        assert!(props.ledger_height >= 4, "{props:?}");
        assert_eq!(props.chaincodes[0].name, "basic");
        assert_eq!(props.chaincodes[0].version, "basic_1.0");
    }

    // The plan for basic (MAJORITY Endorsement of two orgs: both).
    let Some(query_result::Result::CcQueryRes(cc)) = &answer.results[2].result else {
        panic!("{:?}", answer.results[2]);
    };
    let d = &cc.content[0];
    assert_eq!(d.chaincode, "basic");
    assert_eq!(d.layouts.len(), 1);
    assert_eq!(
        d.layouts[0]
            .quantities_by_group
            .values()
            .copied()
            .collect::<Vec<_>>(),
        [1, 1]
    );
    assert_eq!(d.endorsers_by_groups.len(), 2);

    // A user is not an admin of the peer: no local peers for it.
    assert!(denied(&answer.results[3]), "{:?}", answer.results[3]);

    // An Org1 admin may ask for them.
    let admin = net.orgs.admin(1);
    let mut admin_client = DiscoveryClient::new(net.user_channel(&p1).await);
    let local = admin_client
        .discover(signed(
            &admin,
            hash.clone(),
            vec![Query {
                channel: String::new(),
                query: Some(query::Query::LocalPeers(LocalPeerQuery {})),
            }],
        ))
        .await
        .unwrap()
        .into_inner();
    let Some(query_result::Result::Members(local)) = &local.results[0].result else {
        panic!("{:?}", local.results[0]);
    };
    assert_eq!(local.peers_by_org.len(), 2);
    assert!(local.peers_by_org["Org1MSP"].peers[0].state_info.is_none());

    // An identity of a CA outside the channel: every channel query is refused.
    let stranger = Orgs::new(1).user(1);
    let refused = client
        .discover(signed(
            &stranger,
            hash.clone(),
            vec![
                channel_query(query::Query::ConfigQuery(ConfigQuery {})),
                channel_query(basic_interest()),
            ],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(refused.results.iter().all(denied), "{refused:?}");
    // A signature that is not the identity's.
    let mut forged = signed(
        &user,
        hash.clone(),
        vec![channel_query(query::Query::ConfigQuery(ConfigQuery {}))],
    );
    forged.signature = stranger.sign(&forged.payload).unwrap();
    assert!(denied(
        &client.discover(forged).await.unwrap().into_inner().results[0]
    ));
    // A TLS hash that is not this connection's certificate's.
    let err = client
        .discover(signed(
            &user,
            vec![7; 32],
            vec![channel_query(query::Query::ConfigQuery(ConfigQuery {}))],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert!(err.message().contains("TLS hash"), "{err:?}");
    // No client identity.
    let mut anonymous = signed(&user, hash.clone(), vec![]);
    let mut req = Request::decode(anonymous.payload.as_slice()).unwrap();
    req.authentication.as_mut().unwrap().client_identity.clear();
    anonymous.payload = req.encode_to_vec();
    assert_eq!(
        client.discover(anonymous).await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
    // An unknown channel: access denied, as Fabric answers.
    let unknown = client
        .discover(signed(
            &user,
            hash.clone(),
            vec![Query {
                channel: "nosuch".into(),
                query: Some(query::Query::ConfigQuery(ConfigQuery {})),
            }],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(denied(&unknown.results[0]));

    // Peers tell their membership only to the channel's members.
    let org1_peer_tls = net.orgs.peer_dir(1, 0).join("tls");
    let org1_peer_tls = weft_common::tls::TlsIdentity::load(
        &org1_peer_tls.join("server.crt"),
        &org1_peer_tls.join("server.key"),
    )
    .unwrap();
    let to_p2 = weft_peer::remote::connect(
        &format!("127.0.0.1:{}", p2.addr.port()),
        Some((
            &org1_peer_tls,
            vec![std::fs::read(net.orgs.org_tls_ca(2)).unwrap()],
        )),
        Default::default(),
    )
    .await
    .unwrap();
    let mut membership = MembershipClient::new(to_p2);
    let ask = |who: &SigningIdentity| {
        let payload = AliveQuery {
            channel: CHANNEL.into(),
            identity: who.serialized().to_vec(),
            timestamp: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        }
        .encode_to_vec();
        AliveRequest {
            signature: who.sign(&payload).unwrap(),
            payload,
        }
    };
    let err = membership.alive(ask(&stranger)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert!(membership.alive(ask(&user)).await.is_ok());

    // The peer kept serving.
    assert!(
        client
            .discover(signed(
                &user,
                hash,
                vec![channel_query(query::Query::ConfigQuery(ConfigQuery {}))]
            ))
            .await
            .is_ok()
    );
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
