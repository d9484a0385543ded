//! Client TLS as Fabric configures it: with `General.TLS.ClientAuthRequired:
//! false` (the default) clients without a certificate, or with one nobody
//! trusts, use Broadcast and Deliver; the cluster service still admits only
//! the consenters' own certificates. With `true`, only certificates from the
//! channels' TLS CAs get through the handshake.

use weft_common::node::dial::{DialOptions, DialTls, dial};
use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
use weft_protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use weft_protos::weft::cluster::StepRequest;
use weft_protos::weft::cluster::cluster_client::ClusterClient;

use crate::support::*;

/// A TLS certificate and key from a CA of its own (like fabric-network 2.2's
/// self-signed `CN=fabric-common`).
fn stranger_identity() -> (Vec<u8>, Vec<u8>) {
    let ca = CertAuthority::new_root(
        &Subject::fabric_style("elsewhere.example", "ca.elsewhere.example"),
        KeyType::EcdsaP256,
        Validity::days_from_now(1),
    )
    .unwrap();
    let issued = ca
        .issue(
            &Subject::fabric_style("elsewhere.example", "fabric-common"),
            &[],
            Usage::Tls,
            KeyType::EcdsaP256,
            Validity::days_from_now(1),
        )
        .unwrap();
    (issued.cert_pem.into_bytes(), issued.key_pem.into_bytes())
}

fn orderer_tls_ca_pem(net: &Net) -> Vec<u8> {
    std::fs::read(orderer_tls_ca(net.dir.path())).unwrap()
}

/// A channel to node 0's general listener, with `identity` (PEM cert and key) if given.
pub async fn channel(
    net: &Net,
    identity: Option<(Vec<u8>, Vec<u8>)>,
) -> Result<tonic::transport::Channel, String> {
    channel_to(net, 0, identity).await
}

/// A channel to node `i`'s general listener, with `identity` (PEM cert and key) if given.
pub async fn channel_to(
    net: &Net,
    i: usize,
    identity: Option<(Vec<u8>, Vec<u8>)>,
) -> Result<tonic::transport::Channel, String> {
    let tls = DialTls {
        roots: vec![orderer_tls_ca_pem(net)],
        identity,
        server_name: None,
    };
    dial(
        &format!("127.0.0.1:{}", net.general_ports[i]),
        Some(&tls),
        DialOptions::default(),
    )
    .await
    .map_err(|e| e.to_string())
}

async fn broadcast_and_deliver(net: &Net, ch: tonic::transport::Channel, i: usize) {
    let mut client = AtomicBroadcastClient::new(ch);
    let results = broadcast(&mut client, vec![envelope(&net.user(), CHANNEL, i, 10)]).await;
    assert_eq!(results[0].0, weft_protos::common::Status::Success as i32);
    let height = height(net, 0).await;
    let (blocks, status) = deliver_on(&mut client, net, height - 1, height - 1).await;
    assert_eq!(status, weft_protos::common::Status::Success as i32);
    assert_eq!(blocks.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_clients_need_no_certificate_but_the_cluster_service_admits_only_consenters() {
    let (mut net, listeners) = Net::new(1, 1).await;
    net.start_and_join(listeners).await;

    // Server-authenticated TLS only, as Fabric's sample applications connect.
    broadcast_and_deliver(&net, channel(&net, None).await.unwrap(), 1).await;
    // A certificate from a CA nobody trusts is not verified either.
    broadcast_and_deliver(
        &net,
        channel(&net, Some(stranger_identity())).await.unwrap(),
        2,
    )
    .await;

    // The cluster service is not open to such clients.
    let before = net.height_of(0);
    let step = || StepRequest {
        channel: CHANNEL.into(),
        messages: vec![],
    };
    let mut anonymous = ClusterClient::new(channel(&net, None).await.unwrap());
    let err = anonymous.step(step()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    let mut stranger = ClusterClient::new(channel(&net, Some(stranger_identity())).await.unwrap());
    let err = stranger.step(step()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("not a consenter"), "{err:?}");
    // Not even a certificate of the channel's own orderer CA that is not a consenter's.
    let admin = crypto_dir(net.dir.path())
        .join("ordererOrganizations/example.com/users/Admin@example.com/tls");
    let mut admin = ClusterClient::new(
        channel(
            &net,
            Some((
                std::fs::read(admin.join("client.crt")).unwrap(),
                std::fs::read(admin.join("client.key")).unwrap(),
            )),
        )
        .await
        .unwrap(),
    );
    let err = admin.step(step()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");

    // The node kept serving and nothing changed.
    assert_eq!(net.height_of(0), before);
    broadcast_and_deliver(&net, channel(&net, None).await.unwrap(), 3).await;
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_client_auth_required_only_channel_tls_cas_get_through() {
    let (mut net, mut listeners) = Net::new(1, 1).await;
    let mut config = net.config(0);
    match &mut config.general.tls {
        weft_orderer::config::ListenerTls::Tls(s) => s.client_auth_required = true,
        weft_orderer::config::ListenerTls::Plaintext => unreachable!(),
    }
    net.nodes.push(Some(
        weft_orderer::node::start(config, listeners.remove(0))
            .await
            .unwrap(),
    ));
    net.node(0).core.join_channel(&net.genesis).await.unwrap();
    net.leader().await;

    // No certificate, or one from an unknown CA: refused at the handshake.
    // (Under TLS 1.3 the server's refusal may arrive with the first call.)
    for identity in [None, Some(stranger_identity())] {
        let refused = match channel(&net, identity).await {
            Err(_) => true,
            Ok(ch) => AtomicBroadcastClient::new(ch)
                .deliver(futures::stream::empty())
                .await
                .is_err(),
        };
        assert!(refused);
    }

    // Org1's TLS CA is a channel org's: its client gets through (as `net.client`).
    let mut client = net.client(0).await;
    let results = broadcast(&mut client, vec![envelope(&net.user(), CHANNEL, 1, 10)]).await;
    assert_eq!(results[0].0, weft_protos::common::Status::Success as i32);
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}
