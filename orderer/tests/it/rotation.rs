//! Consenter changes made with `weft-configtx`'s verbs while envelopes flow,
//! and no acknowledged envelope lost or ordered twice:
//! - a consenter's TLS certificate rotated in place: it keeps its Raft id
//!   (Fabric's rule: one certificate gone and one new is a rotation), the
//!   leader whose certificate it is hands leadership over, and once
//!   restarted with its new certificate it orders again;
//! - a consenter replaced: a new one added and joined, then the old removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prost::Message as _;
use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
use weft_orderer::node::start;
use weft_protos::common::{Block, ChannelHeader, Envelope, HeaderType, Payload, Status};

use crate::support::*;

/// A new TLS certificate and key for orderer `n` (1-based) from the orderer
/// org's TLS CA, as the org's admin would issue it.
fn new_tls_cert(net: &Net, n: usize) -> (String, String) {
    let tlsca = orderer_tls_ca(net.dir.path());
    let ca = CertAuthority::from_pem(
        &std::fs::read_to_string(&tlsca).unwrap(),
        &std::fs::read_to_string(tlsca.with_file_name("priv_sk")).unwrap(),
    )
    .unwrap();
    let host = format!("orderer{n}.example.com");
    let issued = ca
        .issue(
            &Subject::fabric_style("example.com", &host),
            &[host.clone(), "localhost".into(), "127.0.0.1".into()],
            Usage::Tls,
            KeyType::EcdsaP256,
            Validity::days_from_now(30),
        )
        .unwrap();
    (issued.cert_pem, issued.key_pem)
}

fn is_config(env: &[u8]) -> bool {
    let header = Envelope::decode(env)
        .ok()
        .and_then(|e| Payload::decode(e.payload.as_slice()).ok())
        .and_then(|p| p.header)
        .and_then(|h| ChannelHeader::decode(h.channel_header.as_slice()).ok());
    header.is_some_and(|h| h.r#type == HeaderType::Config as i32)
}

/// The payload index of each ordered envelope that is not a config.
fn ordered(blocks: &[Block]) -> Vec<usize> {
    blocks
        .iter()
        .flat_map(|b| b.data.iter().flat_map(|d| &d.data))
        .filter(|e| !is_config(e))
        .map(|e| {
            let at = e.windows(8).position(|w| w == b"payload-").unwrap() + 8;
            std::str::from_utf8(&e[at..at + 6])
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// Envelopes sent to one node, five per stream, until stopped.
struct Flow {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<usize>>,
}

impl Flow {
    async fn start(net: &Net, node: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, user, mut client) = (stop.clone(), net.user(), net.client(node).await);
        let task = tokio::spawn(async move {
            let (mut next, mut acked) = (0usize, Vec::new());
            while !flag.load(Ordering::Relaxed) {
                let envs: Vec<Envelope> = (next..next + 5)
                    .map(|i| envelope(&user, CHANNEL, i, 200))
                    .collect();
                for (i, (status, _)) in (next..).zip(broadcast(&mut client, envs).await) {
                    if status == Status::Success as i32 {
                        acked.push(i);
                    }
                }
                next += 5;
            }
            acked
        });
        Self { stop, task }
    }

    /// Stops it; checks that every acknowledged envelope is in the chain of
    /// the running nodes (identical on all) once, and nothing twice.
    async fn check(self, net: &Net, at: usize) {
        self.stop.store(true, Ordering::Relaxed);
        let acked = self.task.await.unwrap();
        assert!(acked.len() >= 5, "envelopes flowed: {}", acked.len());
        let target = height(net, at).await;
        wait_for("every node to catch up", Duration::from_secs(30), || {
            net.nodes
                .iter()
                .enumerate()
                .all(|(i, n)| n.is_none() || net.height_of(i) >= target)
        })
        .await;
        let indices = ordered(&identical_chains(net, target).await);
        let unique: BTreeSet<usize> = indices.iter().copied().collect();
        assert_eq!(unique.len(), indices.len(), "an envelope was ordered twice");
        let lost: Vec<usize> = acked.into_iter().filter(|i| !unique.contains(i)).collect();
        assert!(lost.is_empty(), "acknowledged but not ordered: {lost:?}");
    }
}

/// The orderer org's admin at the weft-configtx command line, talking to
/// one orderer, with a folder for the files it passes.
struct OrdererAdmin {
    files: tempfile::TempDir,
    flags: Vec<String>,
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

impl OrdererAdmin {
    fn new(net: &Net, via: usize) -> Self {
        let msp = net
            .dir
            .path()
            .join("crypto/ordererOrganizations/example.com/users/Admin@example.com/msp");
        let flags = [
            "--msp",
            &arg(&msp),
            "--msp-id",
            "OrdererMSP",
            "-o",
            &format!("127.0.0.1:{}", net.node(via).general_addr.port()),
            "--cafile",
            &arg(&orderer_tls_ca(net.dir.path())),
        ];
        Self {
            files: tempfile::tempdir().unwrap(),
            flags: flags.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }

    async fn run(&self, args: &[&str], flags: &[String]) {
        let line = std::iter::once("weft-configtx".to_string())
            .chain(args.iter().map(|s| s.to_string()))
            .chain(flags.iter().cloned());
        weft_configtx::cli::run_args(line).await.unwrap();
    }

    /// Fetches the config, proposes `verb` on it, and submits the update.
    async fn change(&self, verb: &[&str]) {
        let (block, update) = (
            arg(&self.file("config.block")),
            arg(&self.file("update.pb")),
        );
        self.run(&["fetch", "config", &block, "-c", CHANNEL], &self.flags)
            .await;
        let tail = ["--config-block", &block, "--output", &update];
        // The signing flags only: the channel verbs reach no orderer.
        self.run(&[verb, &tail].concat(), &self.flags[..4]).await;
        self.run(&["update", "submit", &update], &self.flags).await;
    }
}

fn consenter_count(net: &Net, node: usize) -> usize {
    let handle = net.node(node).core.registry.get(CHANNEL).unwrap();
    handle.consenters.read().unwrap().len()
}

fn consenter_cert(net: &Net, node: usize, of: u64) -> Option<Vec<u8>> {
    let handle = net.node(node).core.registry.get(CHANNEL).unwrap();
    let list = handle.consenters.read().unwrap();
    list.iter()
        .find(|c| c.id == of)
        .map(|c| c.client_cert_der.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leaders_certificate_is_rotated_in_place_while_envelopes_flow() {
    let (mut net, listeners) = Net::new(3, 10).await;
    let leader = net.start_and_join(listeners).await;
    let rotated_id = net.node(leader).core.registry.get(CHANNEL).unwrap().self_id;
    let other = (0..3).find(|i| *i != leader).unwrap();
    let flow = Flow::start(&net, other).await;

    // The orderer org's admin rotates the leader's certificate.
    let admin = OrdererAdmin::new(&net, other);
    let (cert, key) = new_tls_cert(&net, leader + 1);
    let new_cert = admin.file("server.crt");
    std::fs::write(&new_cert, &cert).unwrap();
    let port = net.general_ports[leader].to_string();
    admin
        .change(&[
            "channel",
            "orderer",
            "rotate-consenter-cert",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--client-tls-cert",
            &arg(&new_cert),
        ])
        .await;
    let new_der = weft_common::msp::Certificate::from_pem(cert.as_bytes())
        .unwrap()
        .der;
    let n = &net;
    wait_for(
        "every node to know the new certificate",
        Duration::from_secs(20),
        || (0..3).all(|i| consenter_cert(n, i, rotated_id).as_ref() == Some(&new_der)),
    )
    .await;
    // Same member: three consenters, the same id, no Raft membership change.
    assert!((0..3).all(|i| consenter_count(&net, i) == 3));
    // The old leader handed over; the other two lead on.
    wait_for("a new leader", Duration::from_secs(30), || {
        (0..3).filter(|i| *i != leader).any(|i| {
            let c = n.node(i).core.registry.get(CHANNEL).unwrap();
            *c.leader.borrow() == c.self_id
        })
    })
    .await;

    // Its operator restarts it with the new certificate; it keeps its id and
    // orders again (what it forwards is accepted from the new certificate).
    net.nodes[leader].take().unwrap().shutdown().await;
    let tls = orderer_dir(net.dir.path(), leader + 1).join("tls");
    std::fs::write(tls.join("server.crt"), &cert).unwrap();
    std::fs::write(tls.join("server.key"), &key).unwrap();
    net.restart(leader).await;
    let handle = net.node(leader).core.registry.get(CHANNEL).unwrap();
    assert_eq!(
        handle.self_id, rotated_id,
        "the rotated consenter keeps its Raft id"
    );
    let user = net.user();
    let mut client = net.client(leader).await;
    let late: Vec<Envelope> = (900_000..900_005)
        .map(|i| envelope(&user, CHANNEL, i, 200))
        .collect();
    let r = broadcast(&mut client, late).await;
    assert!(r.iter().all(|(s, _)| *s == Status::Success as i32), "{r:?}");
    flow.check(&net, other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consenter_is_replaced_add_then_remove_while_envelopes_flow() {
    let (mut net, mut listeners) = Net::build(4, 3, 10, "100ms", "16 MB").await;
    let fourth = listeners.pop().unwrap();
    let leader = net.start_and_join(listeners).await;
    // Replace a follower; envelopes go through the third node.
    let old = (0..3).find(|i| *i != leader).unwrap();
    let via = (0..3).find(|i| *i != leader && *i != old).unwrap();
    let flow = Flow::start(&net, via).await;
    let admin = OrdererAdmin::new(&net, via);

    // Add orderer4 and join it with the newest config block.
    let cert4 = orderer_dir(net.dir.path(), 4).join("tls/server.crt");
    let port4 = net.general_ports[3].to_string();
    admin
        .change(&[
            "channel",
            "orderer",
            "add-consenter",
            "--host",
            "127.0.0.1",
            "--port",
            &port4,
            "--client-tls-cert",
            &arg(&cert4),
        ])
        .await;
    let join_block = std::fs::read(admin.file("config.block")).unwrap();
    // The block fetched before the change is the old config; fetch the new one.
    admin
        .run(
            &[
                "fetch",
                "config",
                &arg(&admin.file("config.block")),
                "-c",
                CHANNEL,
            ],
            &admin.flags,
        )
        .await;
    let newest = std::fs::read(admin.file("config.block")).unwrap();
    assert_ne!(join_block, newest, "the addition made a new config block");
    net.nodes
        .push(Some(start(net.config(3), fourth).await.unwrap()));
    net.node(3).core.join_channel(&newest).await.unwrap();
    let target = height(&net, via).await;
    let n = &net;
    wait_for("orderer4 to catch up", Duration::from_secs(30), || {
        n.height_of(3) >= target
    })
    .await;

    // Remove the old one, then stop it.
    let old_port = net.general_ports[old].to_string();
    admin
        .change(&[
            "channel",
            "orderer",
            "remove-consenter",
            "--host",
            "127.0.0.1",
            "--port",
            &old_port,
        ])
        .await;
    wait_for(
        "the others to drop the old consenter",
        Duration::from_secs(20),
        || [leader, via, 3].iter().all(|i| consenter_count(n, *i) == 3),
    )
    .await;
    net.nodes[old].take().unwrap().shutdown().await;
    flow.check(&net, via).await;
}
