//! Certificates near expiry are flagged, then renewed without stopping the
//! network: a peer's enrollment and TLS certificates re-issued by its org's
//! CAs (the peer restarted on them, the other nodes serving throughout),
//! and an orderer's TLS certificate renewed as its consenter certificate is
//! rotated in place with weft-configtx's verbs.

use prost::Message;
use std::path::Path;
use std::time::Duration;

use weft_common::msp::expiry;
use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
use weft_network::{InProcessNetwork, Topology};

const CC: &str = "basic";

/// A certificate and key for `name` from the CA in `ca_dir` (cryptogen's
/// `ca/` or `tlsca/`: its certificate and `priv_sk`), valid `days`.
fn issue(ca_dir: &Path, name: &str, usage: Usage, ou: Option<&str>, days: i64) -> (String, String) {
    let cert = std::fs::read_dir(ca_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-cert.pem"))
        .unwrap();
    let ca = CertAuthority::from_pem(
        &std::fs::read_to_string(cert).unwrap(),
        &std::fs::read_to_string(ca_dir.join("priv_sk")).unwrap(),
    )
    .unwrap();
    let org = name.split_once('.').unwrap().1;
    let mut subject = Subject::fabric_style(org, name);
    if let Some(ou) = ou {
        subject = subject.with_ou(ou);
    }
    let sans = [name.to_string(), "localhost".into(), "127.0.0.1".into()];
    let issued = ca
        .issue(
            &subject,
            &sans,
            usage,
            KeyType::EcdsaP256,
            Validity::days_from_now(days),
        )
        .unwrap();
    (issued.cert_pem, issued.key_pem)
}

/// Re-issues peer0.org1's enrollment and TLS certificates for `days`.
fn reissue_peer(net: &InProcessNetwork, days: i64) {
    let node = &net.info().orgs[0].peers[0];
    let org = node.crypto.parent().unwrap().parent().unwrap();
    let (cert, key) = issue(
        &org.join("ca"),
        &node.name,
        Usage::Signing,
        Some("peer"),
        days,
    );
    let msp = node.crypto.join("msp");
    std::fs::write(msp.join(format!("signcerts/{}-cert.pem", node.name)), cert).unwrap();
    std::fs::write(msp.join("keystore/priv_sk"), key).unwrap();
    let (cert, key) = issue(&org.join("tlsca"), &node.name, Usage::Tls, None, days);
    std::fs::write(node.crypto.join("tls/server.crt"), cert).unwrap();
    std::fs::write(node.crypto.join("tls/server.key"), key).unwrap();
}

/// Renews orderer 0's TLS certificate for `days`: the orderer org's admin
/// rotates it in the channel config, then the orderer restarts on it.
async fn renew_orderer(net: &mut InProcessNetwork, days: i64, files: &Path) {
    let info = net.info().clone();
    let node = &info.orderers[0];
    let org = node.crypto.parent().unwrap().parent().unwrap();
    let (cert, key) = issue(&org.join("tlsca"), &node.name, Usage::Tls, None, days);
    let new_cert = files.join("orderer-tls.crt");
    std::fs::write(&new_cert, &cert).unwrap();
    let (block, update) = (files.join("config.block"), files.join("renew.pb"));
    let s = |p: &Path| p.display().to_string();
    // Through another orderer: this one restarts.
    let flags = [
        "--msp".to_string(),
        s(&info.orderer_admin.msp),
        "--msp-id".into(),
        "OrdererMSP".into(),
        "-o".into(),
        info.orderers[1].address.clone(),
        "--cafile".into(),
        s(&info.orderer_tls_ca),
    ];
    let run = |args: Vec<String>| {
        weft_configtx::cli::run_args(std::iter::once("weft-configtx".to_string()).chain(args))
    };
    let words = |w: &[&str]| w.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    run([
        words(&["fetch", "config", &s(&block), "-c", &info.channel]),
        flags.to_vec(),
    ]
    .concat())
    .await
    .unwrap();
    let (host, port) = node.address.rsplit_once(':').unwrap();
    let rotate = words(&[
        "channel",
        "orderer",
        "rotate-consenter-cert",
        "--host",
        host,
        "--port",
        port,
        "--client-tls-cert",
        &s(&new_cert),
        "--config-block",
        &s(&block),
        "--output",
        &s(&update),
    ]);
    run([rotate, flags[..4].to_vec()].concat()).await.unwrap();
    run([words(&["update", "submit", &s(&update)]), flags.to_vec()].concat())
        .await
        .unwrap();
    // The update was acknowledged once written on the orderer it went
    // through; this one must have written it too before it restarts on the
    // new certificate (its store's config must already name it).
    let newest = |address: String| {
        let mut flags = flags.to_vec();
        flags[5] = address;
        let out = files.join("newest.block");
        let args = [
            words(&["fetch", "newest", &s(&out), "-c", &info.channel]),
            flags,
        ]
        .concat();
        async move {
            run(args).await.unwrap();
            let bytes = std::fs::read(&out).unwrap();
            weft_protos::common::Block::decode(bytes.as_slice())
                .unwrap()
                .header
                .unwrap()
                .number
        }
    };
    let target = newest(info.orderers[1].address.clone()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while newest(node.address.clone()).await < target {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never wrote the rotation's config block",
            node.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::write(node.crypto.join("tls/server.crt"), cert).unwrap();
    std::fs::write(node.crypto.join("tls/server.key"), key).unwrap();
    net.restart_orderer(0).await.unwrap();
}

async fn metrics(address: &str) -> String {
    reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Creates asset `id` through Org1's gateway; waits for it to commit.
async fn create(net: &InProcessNetwork, id: &str) {
    let gateway = net.info().gateway("Org1").await.unwrap();
    gateway
        .network(&net.info().channel)
        .contract(CC)
        .submit_transaction("CreateAsset", [id, "green", "3", "Kim", "30"])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_near_expiry_are_flagged_and_renewed_while_the_network_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let topology = Topology {
        orderers: 3,
        ..Topology::for_tests("100ms")
    };
    let (mut net, _) = crate::consortium::basic_network(&tmp.path().join("net"), &topology).await;
    assert_eq!(net.info().certificate_report().soon, 0);

    // Ten days left on peer0.org1's certificates and orderer 0's TLS one.
    reissue_peer(&net, 10);
    net.restart_peer(0, 0).await.unwrap();
    renew_orderer(&mut net, 10, tmp.path()).await;
    create(&net, "while-short").await;

    // Flagged by status and by cert check, and on the peer's /metrics.
    let report = net.info().certificate_report();
    assert_eq!((report.expired, report.soon), (0, 3), "{}", report.text);
    for file in [
        "signcerts/peer0.org1.example.com-cert.pem",
        "peer0.org1.example.com/tls/server.crt",
        "orderer1.example.com/tls/server.crt",
    ] {
        assert!(
            report.text.contains(file),
            "{file} not flagged:\n{}",
            report.text
        );
    }
    let crypto = net.info().dir.join("crypto");
    let check =
        weft_configtx::cli::run_args(["weft-configtx", "cert", "check", crypto.to_str().unwrap()])
            .await
            .unwrap_err();
    assert!(
        matches!(
            check,
            weft_configtx::ConfigtxError::CertificatesDue { soon: 3, .. }
        ),
        "{check}"
    );
    let eleven_days = weft_common::clock::unix_now() + 11 * 86_400;
    let peer_metrics = metrics(&net.info().orgs[0].peers[0].operations_address).await;
    for cert in ["enrollment", "tls"] {
        let at = expiry::gauge_in(&peer_metrics, cert).unwrap();
        assert!(at < eleven_days, "{cert} expires at {at}");
    }
    let orderer_metrics = metrics(&net.info().orderers[0].operations_address).await;
    assert!(expiry::gauge_in(&orderer_metrics, "tls").unwrap() < eleven_days);

    // Renewed for a year, one node at a time; the channel keeps ordering
    // and committing.
    reissue_peer(&net, 365);
    net.restart_peer(0, 0).await.unwrap();
    create(&net, "after-peer-renewal").await;
    renew_orderer(&mut net, 365, tmp.path()).await;
    create(&net, "after-orderer-renewal").await;
    let report = net.info().certificate_report();
    assert_eq!((report.expired, report.soon), (0, 0), "{}", report.text);
    weft_configtx::cli::run_args(["weft-configtx", "cert", "check", crypto.to_str().unwrap()])
        .await
        .unwrap();
    let year = weft_common::clock::unix_now() + 300 * 86_400;
    let peer_metrics = metrics(&net.info().orgs[0].peers[0].operations_address).await;
    assert!(expiry::gauge_in(&peer_metrics, "enrollment").unwrap() > year);
    let orderer_metrics = metrics(&net.info().orderers[0].operations_address).await;
    assert!(expiry::gauge_in(&orderer_metrics, "tls").unwrap() > year);
    // Every peer has every block.
    let height = net
        .peer(0, 0)
        .unwrap()
        .core
        .channel(&net.info().channel)
        .unwrap()
        .ledger()
        .height();
    net.wait_for_height(height, Duration::from_secs(30))
        .await
        .unwrap();
    net.shutdown().await;
}
