//! Three Raft orderers, each a `weft-orderer` process on a host of its
//! own (`weft_testkit::hosts`), joined to one channel: the fixture of the
//! orderer fault scenarios in `faults.rs`. A client streams envelopes
//! through the bridge ([`Flow`]); at the end every acknowledged envelope
//! must be in the chain exactly once and every orderer must hold the
//! identical chain ([`converged_exactly_once`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use weft_common::ids::{ChannelId, MspId};
use weft_common::msp::SigningIdentity;
use weft_common::node::dial::{DialOptions, DialTls, dial};
use weft_network::info::{NetworkInfo, NodeInfo, UserFiles};
use weft_protos::common::{Block, Envelope, HeaderType};
use weft_protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use weft_protos::orderer::{
    SeekInfo, SeekPosition, SeekSpecified, deliver_response, seek_info, seek_position,
};
use weft_testkit::faults::Faults;
use weft_testkit::hosts::Hosts;

const CHANNEL: &str = "faults";
/// The three hosts.
pub(crate) const NAMES: [&str; 3] = ["o1", "o2", "o3"];

/// Three orderers on three hosts, joined to the channel.
pub(crate) struct Orderers {
    pub hosts: Hosts,
    tlsca: Vec<u8>,
    pub user: SigningIdentity,
    _tmp: tempfile::TempDir,
}

fn bins() -> PathBuf {
    crate::hosts::bins()
}

impl Orderers {
    pub async fn start(tmp: tempfile::TempDir) -> Result<Self, String> {
        Self::start_with_disk(tmp, None).await
    }

    /// As [`Self::start`], host `disk.0`'s orderer keeping its data on a
    /// tmpfs of `disk.1` MiB.
    pub async fn start_with_disk(
        tmp: tempfile::TempDir,
        disk: Option<(&str, u32)>,
    ) -> Result<Self, String> {
        let hosts = Hosts::create(&NAMES, tmp.path())?;
        if let Some((h, mib)) = disk {
            hosts.small_disk(h, "data", mib)?;
        }
        let org = tmp.path().join("org");
        let names: Vec<String> = (1..=3).map(|i| format!("orderer{i}")).collect();
        let mut cc = weft_configtx::cryptogen::CryptoConfig::local(&names, 1, 0, 1);
        for (spec, h) in cc.orderer_orgs[0].specs.iter_mut().zip(NAMES) {
            spec.sans.push(hosts.host(h).ip.to_string());
        }
        let crypto = org.join("crypto");
        weft_configtx::cryptogen::generate(&cc, &crypto, weft_common::pki::KeyType::EcdsaP256)
            .unwrap();
        let mut net = weft_configtx::local::LocalNetwork::new(
            "Faults",
            weft_configtx::local::LocalNetwork::numbered_consenters(&[7050, 7050, 7050]),
            vec![None],
        );
        net.consenter_ips = NAMES.iter().map(|h| hosts.host(h).ip.to_string()).collect();
        net.batch_timeout = "100ms".into();
        net.max_message_count = 10;
        let genesis = weft_configtx::genesis::genesis_block(
            &net.file(&org),
            &net.profile,
            &ChannelId::parse(CHANNEL).unwrap(),
        )
        .unwrap()
        .encode_to_vec();
        let orderer_org = crypto.join("ordererOrganizations/example.com");
        let tlsca_path = orderer_org.join("tlsca/tlsca.example.com-cert.pem");
        let admin = orderer_org.join("users/Admin@example.com");
        let bin = bins();
        for (i, h) in NAMES.iter().enumerate() {
            let host = hosts.host(h);
            // The org's admin hands each host its node's folder and the block.
            let node_dir = host.dir.join("orderer");
            copy_dir(
                &orderer_org.join(format!("orderers/orderer{}.example.com", i + 1)),
                &node_dir,
            );
            std::fs::write(host.dir.join("genesis.block"), &genesis).unwrap();
            let info = NetworkInfo {
                dir: tmp.path().to_path_buf(),
                channel: CHANNEL.into(),
                genesis: host.dir.join("genesis.block"),
                orderer_tls_ca: tlsca_path.clone(),
                orderer_admin: UserFiles {
                    msp: admin.join("msp"),
                    tls_cert: admin.join("tls/client.crt"),
                    tls_key: admin.join("tls/client.key"),
                },
                orderers: vec![NodeInfo {
                    name: format!("orderer{}.example.com", i + 1),
                    address: host.addr(7050),
                    admin_address: Some("127.0.0.1:7053".into()),
                    operations_address: host.addr(8443),
                    crypto: node_dir.clone(),
                    data: host.dir.join("data"),
                    log: host.dir.join("orderer.log"),
                }],
                orgs: Vec::new(),
                cas: Vec::new(),
                client_auth_required: false,
            };
            let yaml = weft_network::process::orderer_yaml(&info, &info.orderers[0]).unwrap();
            std::fs::write(host.dir.join("orderer.yaml"), yaml).unwrap();
            hosts
                .spawn(
                    h,
                    &bin.join("weft-orderer"),
                    &["start", "--config", "orderer.yaml"],
                    &[("RUST_LOG", "info")],
                    "orderer.log",
                )
                .map_err(|e| e.to_string())?;
        }
        for h in NAMES {
            let host = hosts.host(h);
            wait_listening(&host.addr(7050), &host.dir.join("orderer.log")).await;
            let s = |p: PathBuf| p.display().to_string();
            let out = host
                .command(bin.join("weft-orderer"))
                .args(["channel", "join", "-o", "127.0.0.1:7053", "--ca-file"])
                .arg(&tlsca_path)
                .args([
                    "--client-cert",
                    &s(admin.join("tls/client.crt")),
                    "--client-key",
                    &s(admin.join("tls/client.key")),
                ])
                .args(["-c", CHANNEL, "-b", "genesis.block"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "join on {h}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let user = weft_common::msp::folder::load_signing_identity(
            &crypto.join("peerOrganizations/org1.example.com/users/User1@org1.example.com/msp"),
            &MspId::new("Org1MSP"),
        )
        .unwrap();
        Ok(Self {
            hosts,
            tlsca: std::fs::read(&tlsca_path).unwrap(),
            user,
            _tmp: tmp,
        })
    }

    /// The last lines of every orderer's log, for a failure's story.
    pub fn logs(&self) -> String {
        NAMES
            .iter()
            .map(|h| {
                let text = std::fs::read_to_string(self.hosts.host(h).dir.join("orderer.log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("---- {h}\n{}", tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Starts host `h`'s orderer again over its data (after a SIGKILL), its
    /// output in `log`.
    pub async fn restart(&self, h: &str, log: &str) {
        let host = self.hosts.host(h);
        self.hosts
            .spawn(
                h,
                &bins().join("weft-orderer"),
                &["start", "--config", "orderer.yaml"],
                &[("RUST_LOG", "info")],
                log,
            )
            .unwrap();
        wait_listening(&host.addr(7050), &host.dir.join(log)).await;
    }

    pub fn addr(&self, h: &str) -> String {
        self.hosts.host(h).addr(7050)
    }

    pub async fn client(&self, h: &str) -> AtomicBroadcastClient<tonic::transport::Channel> {
        let tls = DialTls {
            roots: vec![self.tlsca.clone()],
            identity: None,
            server_name: None,
        };
        let channel = dial(&self.addr(h), Some(&tls), DialOptions::default())
            .await
            .unwrap();
        AtomicBroadcastClient::new(channel).max_decoding_message_size(64 * 1024 * 1024)
    }

    /// Which host leads, from the orderers' `/metrics`.
    pub async fn leader(&self) -> Option<&'static str> {
        // A host cut off does not answer at all: ask briefly.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        for h in NAMES {
            let url = format!("http://{}/metrics", self.hosts.host(h).addr(8443));
            let Ok(r) = http.get(url).send().await else {
                continue;
            };
            let text = r.text().await.unwrap_or_default();
            if text.contains(&format!(
                "weft_orderer_raft_is_leader{{channel=\"{CHANNEL}\"}} 1"
            )) {
                return Some(h);
            }
        }
        None
    }

    /// Blocks `0..` of host `h`'s chain, as far as it has them now.
    pub async fn chain(&self, h: &str) -> Vec<Block> {
        let specified = |number| SeekPosition {
            r#type: Some(seek_position::Type::Specified(SeekSpecified { number })),
        };
        let seek = SeekInfo {
            start: Some(specified(0)),
            stop: Some(specified(u64::MAX)),
            behavior: seek_info::SeekBehavior::FailIfNotReady as i32,
            ..Default::default()
        };
        let request = weft_common::tx::signed_envelope(
            HeaderType::DeliverSeekInfo,
            &ChannelId::new(CHANNEL),
            seek.encode_to_vec(),
            &self.user,
        )
        .unwrap();
        let mut client = self.client(h).await;
        let mut stream = client
            .deliver(futures::stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let mut blocks = Vec::new();
        while let Some(Ok(r)) = stream.next().await {
            match r.r#type {
                Some(deliver_response::Type::Block(b)) => blocks.push(b),
                _ => break,
            }
        }
        blocks
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

async fn wait_listening(address: &str, log: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(address).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing listens on {address}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn envelope(user: &SigningIdentity, i: usize) -> Envelope {
    let data = format!("payload-{i:06}-").into_bytes();
    weft_common::tx::signed_envelope(HeaderType::Message, &ChannelId::new(CHANNEL), data, user)
        .unwrap()
}

/// The payload indices in `blocks` (config envelopes left out).
pub(crate) fn ordered(blocks: &[Block]) -> Vec<usize> {
    blocks
        .iter()
        .skip(1)
        .flat_map(|b| b.data.iter().flat_map(|d| &d.data))
        .filter_map(|e| {
            let at = e.windows(8).position(|w| w == b"payload-")? + 8;
            std::str::from_utf8(e.get(at..at + 6)?).ok()?.parse().ok()
        })
        .collect()
}

/// A client streaming envelopes (5 per Broadcast stream) through one
/// orderer until [`Flow::finish`], counting what is acknowledged.
pub(crate) struct Flow {
    stop: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<Vec<usize>>,
}

impl Flow {
    /// Starts streaming through host `via`'s orderer.
    pub async fn through(orderers: &Orderers, via: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicUsize::new(0));
        let (s, c) = (stop.clone(), count.clone());
        let (user, mut client) = (orderers.user.clone(), orderers.client(via).await);
        let task = tokio::spawn(async move {
            let (mut next, mut acked) = (0usize, Vec::new());
            while !s.load(Ordering::Relaxed) {
                let envs: Vec<Envelope> = (next..next + 5).map(|i| envelope(&user, i)).collect();
                if let Ok(answers) = client.broadcast(futures::stream::iter(envs)).await {
                    let mut answers = answers.into_inner();
                    let mut i = next;
                    while let Some(Ok(a)) = answers.next().await {
                        if a.status == 200 {
                            acked.push(i);
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                        i += 1;
                    }
                }
                next += 5;
            }
            acked
        });
        Self { stop, count, task }
    }

    /// Envelopes acknowledged so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Waits (up to a minute) until `n` envelopes are acknowledged.
    pub async fn acked_at_least(&self, n: usize, what: &str) {
        weft_testkit::wait_for(what, Duration::from_secs(60), || self.count() >= n).await;
    }

    /// Stops; the indices of the envelopes acknowledged.
    pub async fn finish(self) -> Vec<usize> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// Waits (up to a minute) until the three orderers hold chains of one
/// length, then checks them identical, with every envelope in `acked`
/// ordered and none twice; returns the chain.
pub(crate) async fn converged_exactly_once(
    orderers: &Orderers,
    faults: &Faults<'_>,
    acked: &[usize],
) -> Vec<Block> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let [a, b, c] = loop {
        let chains = [
            orderers.chain(NAMES[0]).await,
            orderers.chain(NAMES[1]).await,
            orderers.chain(NAMES[2]).await,
        ];
        if chains.iter().all(|c| c.len() == chains[0].len()) {
            break chains;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the chains never reached one length\n{}\n{}",
            faults.story(),
            orderers.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    faults.note(format!("all three hold {} blocks", a.len()));
    for other in [&b, &c] {
        for (x, y) in a.iter().zip(other) {
            assert_eq!(x.header, y.header, "chains differ\n{}", faults.story());
            assert_eq!(x.data, y.data, "chains differ\n{}", faults.story());
        }
    }
    let indices = ordered(&a);
    let unique: BTreeSet<usize> = indices.iter().copied().collect();
    assert_eq!(
        unique.len(),
        indices.len(),
        "an envelope was ordered twice\n{}",
        faults.story()
    );
    let lost: Vec<usize> = acked
        .iter()
        .copied()
        .filter(|i| !unique.contains(i))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged but not ordered: {lost:?}\n{}",
        faults.story()
    );
    a
}
