//! Crash consistency: the `weft-peer` binary is killed (SIGKILL) at random
//! points while it commits, many times; each time its ledger reopens at a
//! consistent height, and in the end it holds exactly what a peer that never
//! crashed holds. Also drives the admin CLI (`channel join/list/getinfo/fetch`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use weft_common::node::config_writer::NodeYaml;

use prost::Message;
use tokio::io::{AsyncBufReadExt, BufReader};
use weft_peer::ledger::Ledger;
use weft_protos::common::Block;

use crate::net::*;
use crate::support::*;

/// A core.yaml for Org1's peer0 with its data under `dir`.
pub fn core_yaml(net: &Net, dir: &Path) -> String {
    let pd = net.orgs.peer_dir(1, 0);
    NodeYaml::new(&weft_peer::config::KEYS)
        .set("peer.id", "peer0.org1")
        .set("peer.listenAddress", "127.0.0.1:0")
        .set("peer.tls.cert.file", pd.join("tls/server.crt"))
        .set("peer.tls.key.file", pd.join("tls/server.key"))
        .set("peer.mspConfigPath", pd.join("msp"))
        .set("peer.localMspId", "Org1MSP")
        .set("peer.fileSystemPath", dir)
        .set("operations.listenAddress", "127.0.0.1:0")
        .to_yaml()
        .unwrap()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The running binary and a reader of its log.
pub struct Child {
    pub addr: String,
    pub child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    /// One past the highest block a "committed" line has named so far,
    /// whichever line was being waited for (a restarted peer may commit
    /// blocks before it logs "peer started").
    height: u64,
}

impl Child {
    pub async fn start(config: &Path) -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_weft-peer"))
            .args(["node", "start", "--config"])
            .arg(config)
            .env("RUST_LOG", "info,weft_peer::channel=debug")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut me = Self {
            addr: String::new(),
            child,
            lines,
            height: 0,
        };
        me.addr = field(&me.line_with("peer started").await, "addr");
        me
    }

    /// The next log line containing `needle`.
    async fn line_with(&mut self, needle: &str) -> String {
        let wait = async {
            loop {
                let line = self
                    .lines
                    .next_line()
                    .await
                    .unwrap()
                    .expect("the peer exited");
                let line = strip_ansi(&line);
                if line.contains("committed") && line.contains("block=") {
                    let block: u64 = field(&line, "block").parse().unwrap();
                    self.height = self.height.max(block + 1);
                }
                if line.contains(needle) {
                    return line;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("no log line with {needle:?}"))
    }

    /// Keeps reading the log in the background, so that the peer never
    /// blocks on a full pipe; returns the process.
    pub fn drain_log(self) -> tokio::process::Child {
        let mut lines = self.lines;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child
    }

    async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM (what Kubernetes and Podman send): the peer shuts down
    /// cleanly and at once, even as a container's first process (which
    /// ignores signals it does not handle).
    async fn terminate(mut self) {
        let pid = self.child.id().unwrap().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        self.line_with("shutting down").await;
        let mut child = self.drain_log();
        let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("weft-peer exits within 10 s of SIGTERM")
            .unwrap();
        assert!(exit.success(), "{exit:?}");
    }
}

fn field(line: &str, name: &str) -> String {
    let at = line
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("{name} in {line}"))
        + name.len()
        + 1;
    line[at..].split_whitespace().next().unwrap().to_string()
}

/// Height h: blocks 0..h present and linked, nothing at h, every transaction of
/// block h-1 indexed, no state written by a block at or above h.
fn assert_consistent(dir: &Path) -> u64 {
    let ledger = Ledger::open(dir).unwrap();
    let h = ledger.height();
    assert!(h >= 1);
    for n in 1..h {
        weft_common::block::check_link(
            &ledger.block(n - 1).unwrap().unwrap(),
            &ledger.block(n).unwrap().unwrap(),
        )
        .unwrap();
    }
    assert!(
        ledger.block(h).unwrap().is_none(),
        "block {h} present at height {h}"
    );
    let last = ledger.block(h - 1).unwrap().unwrap();
    for bytes in &last.data.unwrap().data {
        let env = weft_common::tx::UnpackedEnvelope::from_bytes(bytes).unwrap();
        assert!(
            ledger
                .tx_location(&env.channel_header.tx_id)
                .unwrap()
                .is_some()
        );
    }
    for (_, v, _) in ledger.range("basic", "", "").unwrap() {
        assert!(
            v.block_num < h,
            "state from block {} at height {h}",
            v.block_num
        );
    }
    h
}

/// A small deterministic generator (no extra crate) seeded from the clock.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn cli(args: &[&str], envs: &[(&str, String)]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft-peer"))
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "weft-peer {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_killed_while_committing_restarts_consistent_and_converges() {
    let net = Net::start(1, 20).await;
    let orgs = &net.orgs;
    let reference = net.start_peer(1, 1).await;
    net.join(1, &reference).await;
    let (_, def) = define_chaincode(orgs, "basic", "OR('Org1MSP.peer', 'Org2MSP.peer')");
    net.broadcast(0, vec![def]).await;
    let txs = (0..1200)
        .map(|i| {
            let key = format!("k{:03}", i % 300);
            endorsed_tx(
                "basic",
                rwset(vec![Ns::new("basic").read(&key, None).write(&key, b"v")]),
                &orgs.user(1),
                &[&orgs.peer(1)],
            )
            .1
        })
        .collect();
    net.broadcast(0, txs).await;
    let target = net.settled_height().await;
    wait_height(&reference, target).await;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("core.yaml");
    std::fs::write(&config, core_yaml(&net, &data)).unwrap();
    let genesis = dir.path().join("mychannel.block");
    std::fs::write(&genesis, net.genesis.encode_to_vec()).unwrap();

    // First start: join through the CLI, as an operator would.
    let mut child = Child::start(&config).await;
    let addr = child.addr.clone();
    let admin = orgs.user_dir(1, "Admin");
    let envs = [
        ("CORE_PEER_ADDRESS", addr.clone()),
        (
            "CORE_PEER_MSPCONFIGPATH",
            admin.join("msp").display().to_string(),
        ),
        ("CORE_PEER_LOCALMSPID", "Org1MSP".to_string()),
        (
            "CORE_PEER_TLS_ROOTCERT_FILE",
            orgs.org_tls_ca(1).display().to_string(),
        ),
        (
            "CORE_PEER_TLS_CLIENTCERT_FILE",
            admin.join("tls/client.crt").display().to_string(),
        ),
        (
            "CORE_PEER_TLS_CLIENTKEY_FILE",
            admin.join("tls/client.key").display().to_string(),
        ),
    ];
    let join_envs = envs.clone();
    let genesis_arg = genesis.display().to_string();
    tokio::task::spawn_blocking(move || cli(&["channel", "join", "-b", &genesis_arg], &join_envs))
        .await
        .unwrap();

    let mut rng = Lcg(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64);
    let mut kills = 0;
    let mut height = 1;
    loop {
        // Let it commit a random number of blocks, then kill it in the middle of the next.
        // (It may have caught up already: the kill can land after the last
        // block, and a restarted peer commits before it logs "peer started".)
        let commits = 1 + rng.next(4);
        for _ in 0..commits {
            if child.height.max(height) >= target {
                break;
            }
            child.line_with("committed").await;
        }
        height = child.height.max(height);
        if height >= target {
            break;
        }
        child.kill().await;
        kills += 1;
        let h = assert_consistent(&data.join("ledgers").join(CHANNEL));
        assert!(h >= height, "lost committed blocks: {h} < {height}");
        height = h;
        child = Child::start(&config).await;
    }
    assert!(
        kills >= 5,
        "only {kills} kills before the peer caught up; make blocks smaller"
    );

    // The admin CLI against the survivor.
    let mut envs = envs;
    envs[0].1 = child.addr.clone();
    let list = tokio::task::spawn_blocking({
        let envs = envs.clone();
        move || cli(&["channel", "list"], &envs)
    })
    .await
    .unwrap();
    assert!(list.contains(CHANNEL), "{list}");
    let fetched = dir.path().join("config.block");
    let fetched_arg = fetched.display().to_string();
    tokio::task::spawn_blocking({
        let envs = envs.clone();
        move || {
            cli(
                &["channel", "fetch", "config", &fetched_arg, "-c", CHANNEL],
                &envs,
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(
        Block::decode(std::fs::read(&fetched).unwrap().as_slice())
            .unwrap()
            .header,
        net.genesis.header
    );
    child.terminate().await;

    // Converged: the crashed peer's ledger equals the reference peer's.
    let survivor = Ledger::open(&data.join("ledgers").join(CHANNEL)).unwrap();
    let reference_ledger = reference.core.channel(CHANNEL).unwrap().ledger().clone();
    let h = survivor.height();
    assert!(h >= target - 1);
    for n in 0..h {
        let (a, b) = (
            survivor.block(n).unwrap().unwrap(),
            reference_ledger.block(n).unwrap().unwrap(),
        );
        assert_eq!(a.header, b.header);
        assert_eq!(
            weft_common::block::transactions_filter(&a),
            weft_common::block::transactions_filter(&b),
            "block {n}"
        );
    }
    if h == target {
        assert_eq!(
            survivor.range("basic", "", "").unwrap(),
            reference_ledger.range("basic", "", "").unwrap()
        );
        assert_eq!(survivor.info(), reference_ledger.info());
    }
    reference.shutdown().await;
    net.shutdown().await;
}
