//! The peer's TLS client roots follow its channels. With
//! `peer.tls.clientAuthRequired`, a client gets through the handshake when
//! its TLS CA belongs to a channel the peer has joined: joining another
//! channel at run time keeps the roots of those already joined, and a config
//! block that removes an org takes its TLS CA away (as Fabric's peer updates
//! its client roots from every channel's config).

use std::time::Duration;

use weft_common::tls::TlsIdentity;
use weft_protos::protos::deliver_client::DeliverClient;

use crate::net::*;
use crate::support::*;

/// Why a read was refused.
#[derive(Debug)]
enum Refused {
    /// Before any service saw it: the TLS handshake (or the connection it
    /// closed) failed.
    Transport(String),
    /// By the service: a Deliver status or a gRPC error status.
    Service(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Transport(why) => write!(f, "refused at the handshake: {why}"),
            Refused::Service(why) => write!(f, "refused by the service: {why}"),
        }
    }
}

/// Whether `org`'s User1 gets block 0 of the channel from `peer` over mutual
/// TLS, and if not, who refused it.
async fn reads_block_0(
    net: &Net,
    org: u8,
    peer: &weft_peer::node::PeerHandle,
) -> Result<(), Refused> {
    let tls = net.orgs.user_dir(org, "User1").join("tls");
    let id = TlsIdentity::load(&tls.join("client.crt"), &tls.join("client.key")).unwrap();
    let roots = vec![std::fs::read(net.orgs.org_tls_ca(1)).unwrap()];
    let status = |s: tonic::Status| match s.code() {
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => {
            Refused::Transport(s.to_string())
        }
        _ => Refused::Service(s.to_string()),
    };
    let ch = weft_peer::remote::connect(
        &format!("127.0.0.1:{}", peer.addr.port()),
        Some((&id, roots)),
        Default::default(),
    )
    .await
    .map_err(|e| Refused::Transport(e.to_string()))?;
    let mut stream = DeliverClient::new(ch)
        .deliver(futures::stream::iter([seek_envelope_bound(
            &net.orgs.user(org),
            0,
            0,
            id.cert_hash(),
        )]))
        .await
        .map_err(status)?
        .into_inner();
    match stream.message().await.map_err(status)? {
        Some(r) => match r.r#type {
            Some(weft_protos::protos::deliver_response::Type::Block(_)) => Ok(()),
            other => Err(Refused::Service(format!("{other:?}"))),
        },
        None => Err(Refused::Service("no answer".into())),
    }
}

/// Org1's peer with `peer.tls.clientAuthRequired: true`.
async fn peer_requiring_client_certs(net: &Net) -> weft_peer::node::PeerHandle {
    net.start_peer_configured(1, 0, |c| {
        if let weft_common::node::settings::ListenerTls::Tls(s) = &mut c.listener.tls {
            s.client_auth_required = true;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_another_channel_keeps_the_client_roots_of_the_channels_joined() {
    let net = Net::start(1, 1).await;
    let peer = peer_requiring_client_certs(&net).await;
    net.join(1, &peer).await;
    reads_block_0(&net, 2, &peer).await.unwrap_or_else(|r| {
        panic!(
            "{}: {r}",
            "Org2 is a member of mychannel: its TLS CA is trusted"
        )
    });

    // A second channel, of Org1 alone, joined while the peer runs.
    let port = net.orderers[0].as_ref().unwrap().general_addr.port();
    let solo = net.orgs.org1_only_genesis("solochannel", &[port]);
    peer.core.join(solo).unwrap();
    reads_block_0(&net, 2, &peer).await.unwrap_or_else(|r| {
        panic!(
            "{}: {r}",
            "Org2's TLS CA is still trusted: it still belongs to mychannel"
        )
    });
    peer.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_block_that_removes_an_org_takes_its_tls_ca_away() {
    let net = Net::start(1, 1).await;
    let peer = peer_requiring_client_certs(&net).await;
    net.join(1, &peer).await;
    reads_block_0(&net, 2, &peer)
        .await
        .unwrap_or_else(|r| panic!("Org2 reads before the change: {r}"));

    // Both orgs' admins (the Application group's MAJORITY Admins) remove Org2.
    let current = peer.core.channel(CHANNEL).unwrap().config();
    let mut updated = current.config.clone();
    application(&mut updated).groups.remove("Org2MSP");
    let update = config_update(
        &current.config,
        &updated,
        &[net.orgs.admin(1), net.orgs.admin(2)],
    );
    net.broadcast(0, vec![update]).await;
    let p = &peer;
    wait_for(
        "the peer to commit the config",
        Duration::from_secs(30),
        || p.core.channel(CHANNEL).unwrap().config().sequence() > current.sequence(),
    )
    .await;
    let refused = reads_block_0(&net, 2, &peer)
        .await
        .expect_err("Org2's TLS CA is no longer in any channel");
    // Refused at the handshake, not by the channel's ACL.
    assert!(
        matches!(refused, Refused::Transport(_)),
        "{refused}, not at the handshake"
    );
    reads_block_0(&net, 1, &peer)
        .await
        .unwrap_or_else(|r| panic!("{}: {r}", "Org1 still gets through"));
    peer.shutdown().await;
    net.shutdown().await;
}
