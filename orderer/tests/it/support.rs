//! Shared harness: orderer nodes in-process with crypto and genesis from weft-configtx.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use prost::Message as _;
use tokio::net::TcpListener;
use weft_common::ids::{ChannelId, MspId};
use weft_common::msp::{SigningIdentity, folder};
use weft_common::node::dial::{DialOptions, DialTls, dial};
use weft_common::tx::signed_envelope;
use weft_configtx::local::LocalNetwork;
use weft_orderer::config::OrdererConfig;
use weft_orderer::node::{Listeners, OrdererHandle, start};
use weft_protos::common::{Block, Envelope, HeaderType};
use weft_protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use weft_protos::orderer::{
    SeekInfo, SeekPosition, SeekSpecified, deliver_response, seek_info, seek_position,
};
use weft_testkit::material::Material;

pub const CHANNEL: &str = "testchannel";

/// Sends the nodes' logs to the test's output when `RUST_LOG` is set
/// (shown for failing tests, or always with `--nocapture`).
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Asserts that envelopes `payload-000000..payload-{total-1}` (as made by
/// [`envelope`]) each appear exactly once in `blocks`; a failure names the
/// missing ones and the blocks holding each duplicate.
pub fn assert_exactly_once(blocks: &[Block], total: usize) {
    let mut seen: Vec<Vec<u64>> = vec![Vec::new(); total];
    let mut strangers = 0;
    for block in blocks {
        let number = block.header.as_ref().map_or(u64::MAX, |h| h.number);
        for env in block.data.iter().flat_map(|d| &d.data) {
            match payload_index(env) {
                Some(i) if i < total => seen[i].push(number),
                _ => strangers += 1,
            }
        }
    }
    let missing: Vec<usize> = (0..total).filter(|i| seen[*i].is_empty()).collect();
    let doubled: Vec<(usize, &Vec<u64>)> = seen
        .iter()
        .enumerate()
        .filter(|(_, b)| b.len() > 1)
        .collect();
    assert!(
        missing.is_empty() && doubled.is_empty() && strangers == 0,
        "each envelope exactly once: {} missing {missing:?}; {} ordered more than once (index, blocks) {doubled:?}; {strangers} not ours",
        missing.len(),
        doubled.len()
    );
}

/// The `i` of an envelope made by [`envelope`], found in its bytes.
fn payload_index(envelope: &[u8]) -> Option<usize> {
    let at = envelope.windows(8).position(|w| w == b"payload-")? + 8;
    std::str::from_utf8(envelope.get(at..at + 6)?)
        .ok()?
        .parse()
        .ok()
}

pub use weft_testkit::wait_for;

pub struct Net {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<Option<OrdererHandle>>,
    pub general_ports: Vec<u16>,
    pub genesis: Vec<u8>,
}

// The benches share this file and use only some of it.
#[allow(unused_imports)]
pub use weft_testkit::material::{crypto_dir, orderer_dir, orderer_tls_ca};

/// Org1's `User1`.
pub fn user_dir(dir: &Path) -> PathBuf {
    weft_testkit::material::user_dir(dir, 1, "User1")
}

/// What `Net` generates: four orderers (the fourth joins later in some
/// tests) and Org1 with a user.
pub fn crypto() -> weft_configtx::cryptogen::CryptoConfig {
    let hosts: Vec<String> = (1..=4).map(|i| format!("orderer{i}")).collect();
    weft_configtx::cryptogen::CryptoConfig::local(&hosts, 1, 0, 1)
}

pub fn local_network(
    ports: &[u16],
    batch: u32,
    timeout: &str,
    snapshot: &str,
    absolute_max_bytes: &str,
) -> LocalNetwork {
    let mut net = weft_configtx::local::LocalNetwork::new(
        "Test",
        weft_configtx::local::LocalNetwork::numbered_consenters(ports),
        vec![None],
    );
    net.orderer_endpoints = false;
    net.batch_timeout = timeout.into();
    net.max_message_count = batch;
    net.absolute_max_bytes = absolute_max_bytes.parse().expect("a size");
    net.preferred_max_bytes = "512 KB".parse().expect("a size");
    net.snapshot_interval_size = snapshot.parse().expect("a size");
    net
}

impl Net {
    pub async fn new(n: usize, batch: u32) -> (Self, Vec<Listeners>) {
        Self::with_batch_timeout(n, batch, "100ms").await
    }

    pub async fn with_batch_timeout(n: usize, batch: u32, timeout: &str) -> (Self, Vec<Listeners>) {
        Self::build(n, n, batch, timeout, "16 MB").await
    }

    /// `n` nodes' listeners, of which the first `consenters` are in the genesis block.
    pub async fn build(
        n: usize,
        consenters: usize,
        batch: u32,
        timeout: &str,
        snapshot: &str,
    ) -> (Self, Vec<Listeners>) {
        Self::build_with_block_limit(n, consenters, batch, timeout, snapshot, "1 MB").await
    }

    /// [`Net::build`] with the channel's `AbsoluteMaxBytes`.
    pub async fn build_with_block_limit(
        n: usize,
        consenters: usize,
        batch: u32,
        timeout: &str,
        snapshot: &str,
        absolute_max_bytes: &str,
    ) -> (Self, Vec<Listeners>) {
        init_tracing();
        // Four orderers (the fourth joins later in some tests) and Org1 with a user.
        let material = Material::generate(4, 1, 0, 1);
        let mut listeners = Vec::new();
        for _ in 0..n {
            listeners.push(Listeners::local().await.unwrap());
        }
        let general_ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.general.local_addr().unwrap().port())
            .collect();
        let genesis = material
            .genesis(
                CHANNEL,
                &local_network(
                    &general_ports[..consenters],
                    batch,
                    timeout,
                    snapshot,
                    absolute_max_bytes,
                ),
            )
            .encode_to_vec();
        (
            Net {
                dir: material.dir,
                nodes: Vec::new(),
                general_ports,
                genesis,
            },
            listeners,
        )
    }

    /// Node `i`'s config with Fabric's defaults (General.TLS.ClientAuthRequired false).
    pub fn config(&self, i: usize) -> OrdererConfig {
        OrdererConfig::local(
            &orderer_dir(self.dir.path(), i + 1),
            false,
            orderer_tls_ca(self.dir.path()),
            self.dir.path().join(format!("data{i}")),
        )
    }

    /// Starts every node, joins each to the channel with the genesis block,
    /// and returns the index of the first leader.
    pub async fn start_and_join(&mut self, listeners: Vec<Listeners>) -> usize {
        self.start_all(listeners).await;
        for node in self.nodes.iter().flatten() {
            node.core.join_channel(&self.genesis).await.unwrap();
        }
        self.leader().await
    }

    /// The channel height node `i` has written.
    pub fn height_of(&self, i: usize) -> u64 {
        *self
            .node(i)
            .core
            .registry
            .get(CHANNEL)
            .unwrap()
            .height
            .borrow()
    }

    /// Starts stopped node `i` again from its data directory, on its
    /// consenter port (the one in the channel config).
    pub async fn restart(&mut self, i: usize) {
        assert!(self.nodes[i].is_none(), "node {i} is running");
        let bind = |p: u16| async move { TcpListener::bind(("127.0.0.1", p)).await.unwrap() };
        let listeners = Listeners {
            general: bind(self.general_ports[i]).await,
            admin: bind(0).await,
            operations: bind(0).await,
        };
        self.nodes[i] = Some(start(self.config(i), listeners).await.unwrap());
    }

    /// Adds a node started with a config of the test's own, joins it to the
    /// channel and waits for a leader.
    pub async fn add_joined(&mut self, node: OrdererHandle) {
        node.core.join_channel(&self.genesis).await.unwrap();
        self.nodes.push(Some(node));
        self.leader().await;
    }

    pub async fn start_all(&mut self, listeners: Vec<Listeners>) {
        for (i, l) in listeners.into_iter().enumerate() {
            let node = start(self.config(i), l).await.unwrap();
            self.nodes.push(Some(node));
        }
    }

    pub fn node(&self, i: usize) -> &OrdererHandle {
        self.nodes[i].as_ref().expect("node is running")
    }

    pub async fn leader(&self) -> usize {
        let mut found = None;
        wait_for("a leader", Duration::from_secs(60), || {
            found = self.nodes.iter().enumerate().find_map(|(i, n)| {
                let c = n.as_ref()?.core.registry.get(CHANNEL)?;
                (*c.leader.borrow() == c.self_id).then_some(i)
            });
            found.is_some()
        })
        .await;
        found.unwrap()
    }

    pub async fn client(&self, i: usize) -> AtomicBroadcastClient<tonic::transport::Channel> {
        self.client_at(self.node(i).general_addr.port()).await
    }

    /// A client of the orderer listening on `port` (an in-process node or a process).
    pub async fn client_at(&self, port: u16) -> AtomicBroadcastClient<tonic::transport::Channel> {
        let user = user_dir(self.dir.path());
        let tls = DialTls {
            roots: vec![std::fs::read(orderer_tls_ca(self.dir.path())).unwrap()],
            identity: Some((
                std::fs::read(user.join("tls/client.crt")).unwrap(),
                std::fs::read(user.join("tls/client.key")).unwrap(),
            )),
            server_name: None,
        };
        let ch = dial(
            &format!("127.0.0.1:{port}"),
            Some(&tls),
            DialOptions::default(),
        )
        .await
        .unwrap();
        AtomicBroadcastClient::new(ch).max_decoding_message_size(64 * 1024 * 1024)
    }

    pub fn user(&self) -> SigningIdentity {
        folder::load_signing_identity(
            &user_dir(self.dir.path()).join("msp"),
            &MspId::new("Org1MSP"),
        )
        .unwrap()
    }
}

pub fn envelope(user: &SigningIdentity, channel: &str, i: usize, size: usize) -> Envelope {
    let mut data = format!("payload-{i:06}-").into_bytes();
    data.resize(size.max(data.len()), b'x');
    signed_envelope(HeaderType::Message, &ChannelId::new(channel), data, user).unwrap()
}

/// Sends envelopes on one Broadcast stream and returns the statuses in order.
pub async fn broadcast(
    client: &mut AtomicBroadcastClient<tonic::transport::Channel>,
    envs: Vec<Envelope>,
) -> Vec<(i32, String)> {
    let n = envs.len();
    let mut responses = client
        .broadcast(futures::stream::iter(envs))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r = responses
            .next()
            .await
            .expect("a response per envelope")
            .unwrap();
        out.push((r.status, r.info));
    }
    out
}

/// Delivers blocks `from..=to` (FAIL_IF_NOT_READY) from node `i`.
pub async fn deliver(net: &Net, i: usize, from: u64, to: u64) -> (Vec<Block>, i32) {
    deliver_at(net, net.node(i).general_addr.port(), from, to).await
}

/// Delivers blocks `from..=to` (FAIL_IF_NOT_READY) from the orderer on `port`.
pub async fn deliver_at(net: &Net, port: u16, from: u64, to: u64) -> (Vec<Block>, i32) {
    let mut client = net.client_at(port).await;
    deliver_on(&mut client, net, from, to).await
}

/// Delivers blocks `from..=to` (FAIL_IF_NOT_READY) over `client`, as the net's user.
pub async fn deliver_on(
    client: &mut AtomicBroadcastClient<tonic::transport::Channel>,
    net: &Net,
    from: u64,
    to: u64,
) -> (Vec<Block>, i32) {
    let seek = SeekInfo {
        start: Some(SeekPosition {
            r#type: Some(seek_position::Type::Specified(SeekSpecified {
                number: from,
            })),
        }),
        stop: Some(SeekPosition {
            r#type: Some(seek_position::Type::Specified(SeekSpecified { number: to })),
        }),
        behavior: seek_info::SeekBehavior::FailIfNotReady as i32,
        ..Default::default()
    };
    let env = signed_envelope(
        HeaderType::DeliverSeekInfo,
        &ChannelId::new(CHANNEL),
        seek.encode_to_vec(),
        &net.user(),
    )
    .unwrap();
    let mut stream = client
        .deliver(futures::stream::iter(vec![env]))
        .await
        .unwrap()
        .into_inner();
    let mut blocks = Vec::new();
    loop {
        match stream.next().await.unwrap().unwrap().r#type.unwrap() {
            deliver_response::Type::Block(b) => blocks.push(b),
            deliver_response::Type::Status(s) => return (blocks, s),
        }
    }
}

/// Blocks `0..height` from every running node: checks that they link and
/// that all nodes hold the same headers and data; returns the first node's.
pub async fn identical_chains(net: &Net, height: u64) -> Vec<Block> {
    let mut chains = Vec::new();
    for (i, _) in net.nodes.iter().enumerate().filter(|(_, n)| n.is_some()) {
        let (blocks, status) = deliver(net, i, 0, height - 1).await;
        assert_eq!(status, weft_protos::common::Status::Success as i32);
        chains.push(blocks);
    }
    for pair in chains[0].windows(2) {
        weft_common::block::check_link(&pair[0], &pair[1]).unwrap();
        weft_common::block::check_data_hash(&pair[1]).unwrap();
    }
    for other in &chains[1..] {
        assert_eq!(other.len(), chains[0].len());
        for (a, b) in chains[0].iter().zip(other) {
            assert_eq!(a.header, b.header);
            assert_eq!(a.data, b.data);
        }
    }
    chains.swap_remove(0)
}

pub async fn height(net: &Net, i: usize) -> u64 {
    net.height_of(i)
}
