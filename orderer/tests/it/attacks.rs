//! The orderer's threat model, one attack per test: listeners that would let
//! an outsider in are refused at start, with the key to change named.

use tokio::net::TcpListener;
use weft_orderer::config::ListenerTls;
use weft_orderer::node::{Listeners, start};

use crate::support::*;

async fn listeners(admin_ip: &str) -> Listeners {
    let bind = |ip: String| async move { TcpListener::bind(format!("{ip}:0")).await.unwrap() };
    Listeners {
        general: bind("127.0.0.1".into()).await,
        admin: bind(admin_ip.into()).await,
        operations: bind("127.0.0.1".into()).await,
    }
}

/// Without TLS on the general listener, the cluster service could not tell a
/// consenter from anyone: Raft messages and block pulls would be open to all.
/// Fabric refuses to run a cluster orderer without TLS; so does weft.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orderer_without_tls_on_its_cluster_listener_refuses_to_start() {
    let (net, _) = Net::new(1, 10).await;
    let mut config = net.config(0);
    config.general.tls = ListenerTls::Plaintext;
    let refused = start(config, listeners("127.0.0.1").await)
        .await
        .err()
        .expect("a plaintext cluster listener is refused");
    let msg = refused.to_string();
    assert!(
        msg.contains("General.TLS.Enabled") && msg.contains("consenter"),
        "{msg}"
    );
}

/// Without TLS, a participation request has no client certificate to be
/// authorised by: anyone who reaches the port could join or remove channels.
/// weft serves it so only on a loopback address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participation_without_tls_is_served_only_on_loopback() {
    let (net, _) = Net::new(1, 10).await;
    let mut config = net.config(0);
    config.admin.tls = ListenerTls::Plaintext;
    let refused = start(config.clone(), listeners("0.0.0.0").await)
        .await
        .err()
        .expect("plaintext participation on every interface is refused");
    let msg = refused.to_string();
    assert!(
        msg.contains("Admin.TLS.Enabled") && msg.contains("loopback"),
        "{msg}"
    );
    let node = start(config, listeners("127.0.0.1").await).await.unwrap();
    node.shutdown().await;
}
