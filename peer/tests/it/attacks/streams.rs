//! Open streams lose access with the channel's config: once Org1 stops
//! letting its clients read, a client's open chaincode-event stream ends
//! with PERMISSION_DENIED, and its Deliver streams (the peer's full and
//! filtered, the orderer's) end with FORBIDDEN, instead of carrying on under
//! the old rules.

use std::time::Duration;

use weft_protos::common::Status;
use weft_protos::gateway::gateway_client::GatewayClient;
use weft_protos::protos::deliver_client::DeliverClient;

use super::*;

/// `current` with Org1's Readers policy narrowed to its admins and peers:
/// its clients may no longer read, its peer still pulls blocks.
fn org1_readers_without_clients(current: &Config) -> Config {
    let mut updated = current.clone();
    let org1 = application_org(&mut updated, "Org1MSP");
    let policy = weft_common::policy::parse_signature_policy("OR('Org1MSP.admin', 'Org1MSP.peer')")
        .unwrap()
        .to_proto();
    org1.policies.get_mut("Readers").unwrap().policy = Some(Policy {
        r#type: 1,
        value: policy.encode_to_vec(),
    });
    updated
}

/// Org1's admin narrows Org1's Readers (its own group: its signature is
/// enough), and the update is ordered.
async fn revoke_org1_clients(net: &Net, peer: &weft_peer::node::PeerHandle) {
    let current = peer.core.channel(CHANNEL).unwrap().config();
    let update = config_update(
        &current.config,
        &org1_readers_without_clients(&current.config),
        &[net.orgs.admin(1)],
    );
    net.broadcast(0, vec![update]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_change_that_revokes_a_reader_ends_its_event_stream() {
    let net = Net::start(1, 1).await;
    let peer = net.start_peer(1, 0).await;
    net.join(1, &peer).await;
    let signed = events_request(&net.orgs.user(1));
    let mut events = GatewayClient::new(net.user_channel(&peer).await)
        .chaincode_events(signed.clone())
        .await
        .unwrap()
        .into_inner();

    revoke_org1_clients(&net, &peer).await;

    let ended = tokio::time::timeout(Duration::from_secs(30), events.message())
        .await
        .expect("the stream ends once the config block commits");
    let refused = ended.expect_err("ended with an error status");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("access revoked by a config change"),
        "{refused:?}"
    );
    // A new stream is refused at once; the peer keeps serving.
    let again = GatewayClient::new(net.user_channel(&peer).await)
        .chaincode_events(signed)
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::PermissionDenied);
    peer.shutdown().await;
    net.shutdown().await;
}

/// Reads a Deliver stream until its status: the blocks sent before it and the status.
async fn until_status<T>(
    stream: &mut tonic::Streaming<T>,
    status_of: impl Fn(&T) -> Option<i32>,
) -> (usize, i32) {
    let mut blocks = 0;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("the stream ends once the config block commits")
            .expect("a response, not a transport error")
            .expect("a status before the stream ends");
        match status_of(&next) {
            Some(status) => return (blocks, status),
            None => blocks += 1,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_change_that_revokes_a_reader_ends_its_deliver_streams() {
    use weft_protos::orderer::deliver_response::Type as OrdererType;
    use weft_protos::protos::deliver_response::Type as PeerType;

    let net = Net::start(1, 1).await;
    let peer = net.start_peer(1, 0).await;
    net.join(1, &peer).await;
    // Three open streams of every block to come, as Org1's client.
    let seek = seek_envelope(&net.orgs.user(1), 0, u64::MAX);
    let open = || futures::stream::iter([seek.clone()]);
    let mut full = DeliverClient::new(net.user_channel(&peer).await)
        .deliver(open())
        .await
        .unwrap()
        .into_inner();
    let mut filtered = DeliverClient::new(net.user_channel(&peer).await)
        .deliver_filtered(open())
        .await
        .unwrap()
        .into_inner();
    let mut orderer = net
        .broadcaster(0)
        .await
        .deliver(open())
        .await
        .unwrap()
        .into_inner();
    // Each is served the genesis block under the old rules.
    assert!(matches!(
        full.message().await.unwrap().unwrap().r#type,
        Some(PeerType::Block(_))
    ));
    assert!(matches!(
        filtered.message().await.unwrap().unwrap().r#type,
        Some(PeerType::FilteredBlock(_))
    ));
    assert!(matches!(
        orderer.message().await.unwrap().unwrap().r#type,
        Some(OrdererType::Block(_))
    ));

    revoke_org1_clients(&net, &peer).await;

    let peer_status = |r: &weft_protos::protos::DeliverResponse| match r.r#type {
        Some(PeerType::Status(s)) => Some(s),
        _ => None,
    };
    let forbidden = Status::Forbidden as i32;
    for (what, (_, status)) in [
        ("peer Deliver", until_status(&mut full, peer_status).await),
        (
            "peer DeliverFiltered",
            until_status(&mut filtered, peer_status).await,
        ),
        (
            "orderer Deliver",
            until_status(&mut orderer, |r| match r.r#type {
                Some(OrdererType::Status(s)) => Some(s),
                _ => None,
            })
            .await,
        ),
    ] {
        assert_eq!(status, forbidden, "{what}");
    }
    // A new stream is refused at once; the peer keeps serving its own org's peer.
    let mut again = DeliverClient::new(net.user_channel(&peer).await)
        .deliver(open())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(until_status(&mut again, peer_status).await, (0, forbidden));
    peer.shutdown().await;
    net.shutdown().await;
}
