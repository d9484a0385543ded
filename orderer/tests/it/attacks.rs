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
    let Err(refused) = start(config, listeners("127.0.0.1").await).await else {
        panic!("a plaintext cluster listener is refused");
    };
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
    let Err(refused) = start(config.clone(), listeners("0.0.0.0").await).await else {
        panic!("plaintext participation on every interface is refused");
    };
    let msg = refused.to_string();
    assert!(
        msg.contains("Admin.TLS.Enabled") && msg.contains("loopback"),
        "{msg}"
    );
    let node = start(config, listeners("127.0.0.1").await).await.unwrap();
    node.shutdown().await;
}

/// Fabric's operations service over TLS: `/healthz` for anyone, `/logspec`
/// and `/metrics` only for clients with a certificate from
/// `Operations.TLS.ClientRootCAs`. Without that, whoever reaches the port
/// could turn logging to debug (flooding the disk) or read the metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_over_tls_serve_logspec_and_metrics_only_to_trusted_clients() {
    use weft_orderer::config::ServerTls;

    let (net, _) = Net::new(1, 10).await;
    let mut config = net.config(0);
    let od = orderer_dir(net.dir.path(), 1);
    let tlsca = crypto_dir(net.dir.path())
        .join("ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem");
    config.operations_tls = ListenerTls::Tls(ServerTls {
        cert: od.join("tls/server.crt"),
        key: od.join("tls/server.key"),
        client_auth_required: false,
        client_roots: vec![tlsca.clone()],
    });
    let node = start(config, listeners("127.0.0.1").await).await.unwrap();
    let ops = format!("https://127.0.0.1:{}", node.operations_addr.port());
    let anonymous = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&tlsca).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let stranger = crate::participation::client(&net, "org1");
    let operator = crate::participation::client(&net, "admin");
    let status = |client: &reqwest::Client, method: reqwest::Method, path: &str| {
        let request = client
            .request(method, format!("{ops}{path}"))
            .json(&serde_json::json!({ "spec": "debug" }));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    use reqwest::Method;
    for client in [&anonymous, &stranger, &operator] {
        assert_eq!(status(client, Method::GET, "/healthz").await, 200);
    }
    for client in [&anonymous, &stranger] {
        assert_eq!(status(client, Method::PUT, "/logspec").await, 401);
        assert_eq!(status(client, Method::GET, "/metrics").await, 401);
    }
    assert_eq!(status(&operator, Method::GET, "/metrics").await, 200);
    // Served (this in-process orderer has no log filter to change: 501).
    assert_eq!(status(&operator, Method::PUT, "/logspec").await, 501);
    node.shutdown().await;
}

/// Two admins (or one retrying) join the same channel at once: one join wins,
/// the other is refused as existing, and neither deletes the other's folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_joins_of_one_channel_leave_one_working_channel() {
    let (mut net, mut l) = Net::new(1, 1).await;
    net.start_all(vec![l.remove(0)]).await;
    let core = net.node(0).core.clone();
    for round in 0..10 {
        let joins: Vec<_> = (0..4)
            .map(|_| {
                let (core, genesis) = (core.clone(), net.genesis.clone());
                tokio::spawn(async move { core.join_channel(&genesis).await })
            })
            .collect();
        let mut joined = 0;
        for j in joins {
            match j.await.unwrap() {
                Ok(_) => joined += 1,
                Err(weft_orderer::node::JoinError::Exists(_)) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(joined, 1, "round {round}");
        // The channel that won orders a block.
        net.leader().await;
        let mut client = net.client(0).await;
        let user = net.user();
        let sent = broadcast(&mut client, vec![envelope(&user, CHANNEL, round, 10)]).await;
        assert_eq!(sent[0].0, weft_protos::common::Status::Success as i32);
        wait_for("a block", std::time::Duration::from_secs(10), || {
            net.height_of(0) >= 2
        })
        .await;
        assert!(core.remove_channel(CHANNEL).await.unwrap());
    }
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}
