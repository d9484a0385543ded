//! Open streams lose access with the channel's config: once Org1 stops
//! letting its clients read, a client's open chaincode-event stream ends
//! with PERMISSION_DENIED instead of carrying on under the old rules.

use std::time::Duration;

use weft_protos::gateway::gateway_client::GatewayClient;

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

    // Org1's admin narrows Org1's Readers (its own group: its signature is enough).
    let current = peer.core.channel(CHANNEL).unwrap().config();
    let update = config_update(
        &current.config,
        &org1_readers_without_clients(&current.config),
        &[net.orgs.admin(1)],
    );
    net.broadcast(0, vec![update]).await;

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
