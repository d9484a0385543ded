//! Adding and removing consenters by config update.

use std::time::Duration;

use prost::Message as _;
use weft_common::config::update::{compute_update, sign_config_update};
use weft_common::ids::{ChannelId, MspId};
use weft_common::msp::{SigningIdentity, folder};
use weft_common::tx::signed_envelope;
use weft_orderer::node::start;
use weft_protos::common::{Config, ConfigUpdateEnvelope, Envelope, HeaderType, Status};
use weft_protos::etcdraft::{ConfigMetadata, Consenter};
use weft_protos::orderer::ConsensusType;

use crate::support::*;

pub(crate) fn orderer_admin(net: &Net) -> SigningIdentity {
    folder::load_signing_identity(
        &net.dir
            .path()
            .join("crypto/ordererOrganizations/example.com/users/Admin@example.com/msp"),
        &MspId::new("OrdererMSP"),
    )
    .unwrap()
}

/// A config update envelope that sets the consenter list with `edit`.
pub(crate) fn consenters_update(
    net: &Net,
    current: &Config,
    edit: impl FnOnce(&mut Vec<Consenter>),
) -> Envelope {
    let mut updated = current.clone();
    let ord = updated
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Orderer")
        .unwrap();
    let value = ord.values.get_mut("ConsensusType").unwrap();
    let mut ct = ConsensusType::decode(value.value.as_slice()).unwrap();
    let mut md = ConfigMetadata::decode(ct.metadata.as_slice()).unwrap();
    edit(&mut md.consenters);
    ct.metadata = md.encode_to_vec();
    value.value = ct.encode_to_vec();
    let update = compute_update(&ChannelId::new(CHANNEL), current, &updated)
        .unwrap()
        .encode_to_vec();
    let admin = orderer_admin(net);
    let cue = ConfigUpdateEnvelope {
        signatures: vec![sign_config_update(&update, &admin).unwrap()],
        config_update: update,
    };
    signed_envelope(
        HeaderType::ConfigUpdate,
        &ChannelId::new(CHANNEL),
        cue.encode_to_vec(),
        &admin,
    )
    .unwrap()
}

pub(crate) fn consenter(net: &Net, i: usize, port: u16) -> Consenter {
    let tls = std::fs::read(orderer_dir(net.dir.path(), i).join("tls/server.crt")).unwrap();
    Consenter {
        host: "127.0.0.1".into(),
        port: port.into(),
        client_tls_cert: tls.clone(),
        server_tls_cert: tls,
    }
}

pub(crate) fn current_config(net: &Net, node: usize) -> Config {
    net.node(node)
        .core
        .registry
        .get(CHANNEL)
        .unwrap()
        .config
        .borrow()
        .config
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consenter_is_added_catches_up_and_is_removed_one_at_a_time() {
    // Four nodes' listeners; only the first three are consenters at genesis.
    // Snapshots every 8 KB, so the log is compacted before the fourth joins.
    let (mut net, mut listeners) = Net::build(4, 3, 10, "100ms", "8 KB").await;
    let fourth_listeners = listeners.pop().unwrap();
    let fourth_port = net.general_ports[3];
    net.start_and_join(listeners).await;
    let user = net.user();
    let mut client = net.client(0).await;
    let envs: Vec<Envelope> = (0..300).map(|i| envelope(&user, CHANNEL, i, 200)).collect();
    assert!(
        broadcast(&mut client, envs)
            .await
            .iter()
            .all(|(s, _)| *s == Status::Success as i32)
    );

    // Two changes at once are refused (one certificate gone and one new
    // would be a rotation: two consenters gone are two changes).
    let two = consenters_update(&net, &current_config(&net, 0), |c| {
        c.truncate(1);
    });
    let r = broadcast(&mut client, vec![two]).await;
    assert_eq!(r[0].0, Status::BadRequest as i32);
    assert!(r[0].1.contains("one consenter at a time"), "{}", r[0].1);

    // Add orderer4.
    let add = consenters_update(&net, &current_config(&net, 0), |c| {
        c.push(consenter(&net, 4, fourth_port))
    });
    let r = broadcast(&mut client, vec![add]).await;
    assert_eq!(r[0].0, Status::Success as i32, "{}", r[0].1);
    let h = height(&net, 0).await;
    let (blocks, _) = deliver(&net, 0, h - 1, h - 1).await;
    let join_block = blocks[0].encode_to_vec();

    // orderer4 joins with that config block, fetches the chain, and follows Raft.
    net.nodes
        .push(Some(start(net.config(3), fourth_listeners).await.unwrap()));
    net.node(3).core.join_channel(&join_block).await.unwrap();
    let envs: Vec<Envelope> = (300..350)
        .map(|i| envelope(&user, CHANNEL, i, 200))
        .collect();
    assert!(
        broadcast(&mut client, envs)
            .await
            .iter()
            .all(|(s, _)| *s == Status::Success as i32)
    );
    let target = height(&net, 0).await;
    let n = &net;
    wait_for("orderer4 to catch up", Duration::from_secs(30), || {
        n.height_of(3) >= target
    })
    .await;
    let (a, _) = deliver(&net, 0, 0, target - 1).await;
    let (b, _) = deliver(&net, 3, 0, target - 1).await;
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.header, y.header);
        assert_eq!(x.data, y.data);
    }
    // orderer4 is a voter now: it takes part in ordering a further config update.
    let remove4 = consenters_update(&net, &current_config(&net, 0), |c| {
        c.retain(|x| x.port != u32::from(fourth_port));
    });
    let r = broadcast(&mut client, vec![remove4]).await;
    assert_eq!(r[0].0, Status::Success as i32, "{}", r[0].1);
    let n = &net;
    wait_for(
        "the remaining consenters to drop orderer4",
        Duration::from_secs(20),
        || {
            (0..3).all(|i| {
                n.node(i)
                    .core
                    .registry
                    .get(CHANNEL)
                    .unwrap()
                    .consenters
                    .read()
                    .unwrap()
                    .len()
                    == 3
            })
        },
    )
    .await;
    // The three go on ordering without it.
    net.nodes[3].take().unwrap().shutdown().await;
    let envs: Vec<Envelope> = (350..360)
        .map(|i| envelope(&user, CHANNEL, i, 200))
        .collect();
    assert!(
        broadcast(&mut client, envs)
            .await
            .iter()
            .all(|(s, _)| *s == Status::Success as i32)
    );

    // With one of the three down, removing another would lose quorum.
    let leader = net.leader().await;
    let down = (0..3).find(|i| *i != leader).unwrap();
    let other = (0..3).find(|i| *i != leader && *i != down).unwrap();
    net.nodes[down].take().unwrap().shutdown().await;
    let other_port = net.general_ports[other];
    // Wait until the leader notices the node is gone (check-quorum marks it inactive).
    let handle = net.node(leader).core.registry.get(CHANNEL).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while handle.reachable_consenters().await != 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the leader never noticed the stopped consenter"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut leader_client = net.client(leader).await;
    let lose = consenters_update(&net, &current_config(&net, leader), |c| {
        c.retain(|x| x.port != u32::from(other_port))
    });
    let r = broadcast(&mut leader_client, vec![lose]).await;
    assert_eq!(r[0].0, Status::BadRequest as i32, "{}", r[0].1);
    assert!(r[0].1.contains("lose quorum"), "{}", r[0].1);
    // So would rotating the other one's certificate: it is cut off until it
    // restarts with the new one, as Fabric counts it.
    let other_index = net
        .general_ports
        .iter()
        .take(3)
        .position(|p| *p == other_port)
        .unwrap();
    let fresh = consenter(&net, 4, other_port);
    let rotate = consenters_update(&net, &current_config(&net, leader), |c| {
        c[other_index] = fresh;
    });
    let r = broadcast(&mut leader_client, vec![rotate]).await;
    assert_eq!(r[0].0, Status::BadRequest as i32, "{}", r[0].1);
    assert!(
        r[0].1.contains("rotating consenter") && r[0].1.contains("lose quorum"),
        "{}",
        r[0].1
    );
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}
