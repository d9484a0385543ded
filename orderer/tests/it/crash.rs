//! Crash consistency of a consenter: the `weft-orderer` binary is killed
//! (SIGKILL, no shutdown) while envelopes stream through the cluster, several
//! times; each time it restarts from its data directory on its consenter port,
//! and in the end it serves exactly the chain of the nodes that never crashed.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use weft_common::node::config_writer::NodeYaml;

use weft_protos::common::Status;

use crate::support::*;

/// An `orderer.yaml` for node `i` of `net`, Broadcast/Deliver/cluster on `port`.
fn orderer_yaml(net: &Net, i: usize, port: u16) -> String {
    let od = orderer_dir(net.dir.path(), i + 1);
    let tlsca = orderer_tls_ca(net.dir.path());
    let (cert, key) = (od.join("tls/server.crt"), od.join("tls/server.key"));
    NodeYaml::new(&weft_orderer::config::KEYS)
        .set("General.ListenAddress", "127.0.0.1")
        .set("General.ListenPort", port)
        .set("General.TLS.Certificate", &cert)
        .set("General.TLS.PrivateKey", &key)
        .set("General.LocalMSPDir", od.join("msp"))
        .set("General.LocalMSPID", "OrdererMSP")
        .set("Admin.ListenAddress", "127.0.0.1:0")
        .set("Admin.TLS.Certificate", &cert)
        .set("Admin.TLS.PrivateKey", &key)
        .set("Admin.TLS.ClientAuthRequired", true)
        .set("Admin.TLS.ClientRootCAs", [tlsca])
        .set("Operations.ListenAddress", "127.0.0.1:0")
        .set(
            "FileLedger.Location",
            net.dir.path().join(format!("data{i}")),
        )
        .to_yaml()
        .unwrap()
}

/// Starts the binary; its log is appended to `log`.
fn spawn(config: &Path, log: &Path) -> tokio::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_weft-orderer"))
        .args(["start", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("weft-orderer starts")
}

/// Whether the orderer on `port` serves block `height - 1` (FAIL_IF_NOT_READY:
/// a node still opening its channel, or behind, says so instead of waiting).
async fn serves(net: &Net, port: u16, height: u64) -> bool {
    if tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        return false;
    }
    let (blocks, status) = deliver_at(net, port, height - 1, height - 1).await;
    status == Status::Success as i32 && blocks.len() == 1
}

/// Polls, as `wait_for` does, until the orderer on `port` serves `height` blocks.
async fn wait_until_serving(net: &Net, port: u16, height: u64, log: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if serves(net, port, height).await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restarted orderer did not serve block {} within 60 s; its log:\n{}",
            height - 1,
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consenter_killed_mid_stream_restarts_with_the_same_chain() {
    let (mut net, listeners) = Net::new(3, 10).await;
    let leader = net.start_and_join(listeners).await;
    // The victim is a follower, so Broadcast to the leader keeps flowing.
    let victim = (leader + 1) % 3;
    let survivor = leader;
    // It joined the channel in-process; from now on it runs as the binary on
    // the same data directory and consenter port.
    net.nodes[victim].take().unwrap().shutdown().await;
    let port = net.general_ports[victim];
    let config = net.dir.path().join("orderer-victim.yaml");
    std::fs::write(&config, orderer_yaml(&net, victim, port)).unwrap();
    let log = net.dir.path().join("orderer-victim.log");
    let mut child = spawn(&config, &log);
    wait_until_serving(&net, port, 1, &log).await;

    let user = net.user();
    let mut sent = 0;
    for round in 0..3 {
        // A stream of envelopes through the survivor...
        let envs: Vec<_> = (sent..sent + 400)
            .map(|i| envelope(&user, CHANNEL, i, 300))
            .collect();
        sent += envs.len();
        let mut client = net.client(survivor).await;
        let stream = tokio::spawn(async move { broadcast(&mut client, envs).await });
        // ...and the victim killed once blocks are being committed past where it was.
        let start = height(&net, survivor).await;
        wait_for("blocks to be committed", Duration::from_secs(60), || {
            net.height_of(survivor) >= start + 3
        })
        .await;
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        for (status, info) in stream.await.unwrap() {
            assert_eq!(status, Status::Success as i32, "round {round}: {info}");
        }
        // Restarted on the same port and data directory, it catches up.
        child = spawn(&config, &log);
        let h = height(&net, survivor).await;
        wait_until_serving(&net, port, h, &log).await;
    }

    // Every block the victim serves is the survivor's block: same header
    // (number, previous hash, data hash) and same data.
    let h = height(&net, survivor).await;
    wait_until_serving(&net, port, h, &log).await;
    let (expected, status) = deliver(&net, survivor, 0, h - 1).await;
    assert_eq!(status, Status::Success as i32);
    let (got, status) = deliver_at(&net, port, 0, h - 1).await;
    assert_eq!(status, Status::Success as i32);
    assert_eq!(got.len(), expected.len());
    for (a, b) in expected.iter().zip(&got) {
        assert_eq!(a.header, b.header);
        assert_eq!(a.data, b.data);
    }
    let ordered: usize = expected[1..]
        .iter()
        .map(|b| b.data.as_ref().unwrap().data.len())
        .sum();
    assert_eq!(ordered, sent, "every acknowledged envelope once");

    // SIGTERM (what Kubernetes and Podman send) stops it cleanly, at once,
    // even as a container's first process, which ignores unhandled signals.
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("weft-orderer exits within 10 s of SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("shutting down")
    );
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}
