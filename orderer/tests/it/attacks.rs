//! The orderer's threat model, one attack per test: listeners that would let
//! an outsider in are refused at start, with the key to change named.

use prost::Message as _;
use tokio::net::TcpListener;
use weft_orderer::config::ListenerTls;
use weft_orderer::node::{Listeners, start};
use weft_orderer::storage::ChannelStorage;
use weft_protos::common::Block;

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
    let tlsca = orderer_tls_ca(net.dir.path());
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

/// Node `to`'s cluster service, called with orderer `me`'s TLS identity, and
/// the Raft id that identity has on the channel.
async fn as_consenter(
    net: &Net,
    to: usize,
    me: usize,
) -> (
    weft_protos::weft::cluster::cluster_client::ClusterClient<tonic::transport::Channel>,
    u64,
) {
    let od = orderer_dir(net.dir.path(), me + 1);
    let cert = std::fs::read(od.join("tls/server.crt")).unwrap();
    let key = std::fs::read(od.join("tls/server.key")).unwrap();
    let der = weft_common::tls::parse_certs(&cert)
        .unwrap()
        .remove(0)
        .to_vec();
    let id = net
        .node(to)
        .core
        .registry
        .get(CHANNEL)
        .unwrap()
        .consenter_id(&der)
        .expect("a consenter");
    let ch = crate::client_tls::channel_to(net, to, Some((cert, key)))
        .await
        .unwrap();
    (
        weft_protos::weft::cluster::cluster_client::ClusterClient::new(ch),
        id,
    )
}

fn step(message: &raft::prelude::Message) -> weft_protos::weft::cluster::StepRequest {
    weft_protos::weft::cluster::StepRequest {
        channel: CHANNEL.into(),
        messages: vec![prost011::Message::encode_to_vec(message).into()],
    }
}

/// A consenter speaks only for itself in Raft: a message whose sender is
/// another consenter (a forged vote or acknowledgement) is refused, and the
/// channel goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consenter_cannot_send_raft_messages_in_another_ones_name() {
    let (mut net, listeners) = Net::new(3, 1).await;
    let leader = net.start_and_join(listeners).await;
    let victim = (leader + 1) % 3;
    let impostor = (leader + 2) % 3;
    let (mut cluster, impostor_id) = as_consenter(&net, victim, impostor).await;
    let handle = net.node(victim).core.registry.get(CHANNEL).unwrap();
    let term = handle.store().raft_state().unwrap().hard_state.term;
    // A vote granted "by the leader" for the impostor, at a term far ahead.
    let leader_id = (1..=3).find(|id| *id != impostor_id).unwrap();
    let forged = raft::prelude::Message {
        msg_type: raft::prelude::MessageType::MsgRequestVoteResponse as i32,
        from: leader_id,
        to: impostor_id,
        term: term + 100,
        ..Default::default()
    };
    let refused = cluster.step(step(&forged)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(
        refused.message().contains(&format!(
            "raft message from node {leader_id} sent by consenter {impostor_id}"
        )),
        "{refused:?}"
    );
    assert_eq!(handle.store().raft_state().unwrap().hard_state.term, term);
    // In its own name it is heard (a heartbeat response at the current term is harmless).
    let own = raft::prelude::Message {
        msg_type: raft::prelude::MessageType::MsgHeartbeatResponse as i32,
        from: impostor_id,
        to: handle.self_id,
        term,
        ..Default::default()
    };
    cluster.step(step(&own)).await.unwrap();
    let mut client = net.client(leader).await;
    let user = net.user();
    let sent = broadcast(&mut client, vec![envelope(&user, CHANNEL, 1, 10)]).await;
    assert_eq!(sent[0].0, weft_protos::common::Status::Success as i32);
    for n in net.nodes.drain(..).flatten() {
        n.shutdown().await;
    }
}

/// A hostile consenter (here: one acting as a new Raft leader) gets a config
/// block committed whose config cannot be loaded. The node must not go on
/// ordering under the old config: the channel halts, says why in its health
/// report, and refuses Broadcast with that cause; the node keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_config_that_cannot_be_loaded_halts_the_channel_visibly() {
    use raft::Storage as _;
    use weft_common::ids::ChannelId;
    use weft_protos::common::{ConfigEnvelope, HeaderType};

    let (mut net, listeners) = Net::new(3, 1).await;
    net.start_and_join(listeners).await;
    let user = net.user();
    let mut client = net.client(0).await;
    let sent = broadcast(&mut client, vec![envelope(&user, CHANNEL, 0, 10)]).await;
    assert_eq!(sent[0].0, weft_protos::common::Status::Success as i32);
    let n = &net;
    wait_for(
        "block 1 everywhere",
        std::time::Duration::from_secs(30),
        || (0..3).all(|i| n.height_of(i) >= 2),
    )
    .await;
    // Only the victim is left running; the hostile node uses a stopped one's identity.
    let (victim, hostile) = (1, 0);
    let (mut cluster, hostile_id) = as_consenter(&net, victim, hostile).await;
    for i in [0, 2] {
        net.nodes[i].take().unwrap().shutdown().await;
    }
    let handle = net.node(victim).core.registry.get(CHANNEL).unwrap();
    let store = handle.store();
    let (last, term) = (
        store.last_index().unwrap(),
        store.raft_state().unwrap().hard_state.term,
    );
    let height = store.height().unwrap();
    let prev = Block::decode(store.block(height - 1).unwrap().unwrap().as_slice()).unwrap();
    // A config block whose config has no channel group.
    let config = ConfigEnvelope {
        config: Some(weft_protos::common::Config {
            sequence: 99,
            channel_group: None,
        }),
        last_update: None,
    };
    let env = weft_common::tx::signed_envelope(
        HeaderType::Config,
        &ChannelId::new(CHANNEL),
        config.encode_to_vec(),
        &user,
    )
    .unwrap();
    let block = weft_common::block::new_block(
        height,
        weft_common::block::header_hash(prev.header.as_ref().unwrap()).to_vec(),
        vec![env.encode_to_vec()],
    );
    let append = raft::prelude::Message {
        msg_type: raft::prelude::MessageType::MsgAppend as i32,
        from: hostile_id,
        to: handle.self_id,
        term: term + 1,
        log_term: store.term(last).unwrap(),
        index: last,
        commit: last + 1,
        entries: vec![raft::prelude::Entry {
            entry_type: raft::prelude::EntryType::EntryNormal as i32,
            term: term + 1,
            index: last + 1,
            data: block.encode_to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    };
    cluster.step(step(&append)).await.unwrap();

    let why = format!("cannot load the config committed in block {height}");
    let h = &handle;
    wait_for(
        "the channel to halt",
        std::time::Duration::from_secs(30),
        || h.failure().is_some_and(|f| f.contains(&why)),
    )
    .await;
    let ops = format!(
        "http://127.0.0.1:{}",
        net.node(victim).operations_addr.port()
    );
    let r = reqwest::get(format!("{ops}/healthz")).await.unwrap();
    assert_eq!(r.status(), 503);
    let report: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        report["failed_checks"][0]["component"],
        format!("channel:{CHANNEL}")
    );
    assert!(
        report["failed_checks"][0]["reason"]
            .as_str()
            .unwrap()
            .contains(&why),
        "{report}"
    );
    // Broadcast is refused with the cause; Deliver of the blocks before it goes on.
    let mut client = net.client(victim).await;
    let sent = broadcast(&mut client, vec![envelope(&user, CHANNEL, 1, 10)]).await;
    assert_ne!(sent[0].0, weft_protos::common::Status::Success as i32);
    assert!(sent[0].1.contains(&why), "{:?}", sent[0]);
    let (blocks, status) = deliver(&net, victim, 0, height - 1).await;
    assert_eq!(status, weft_protos::common::Status::Success as i32);
    assert_eq!(blocks.len() as u64, height);
    for n in net.nodes.drain(..).flatten() {
        n.shutdown().await;
    }
}
