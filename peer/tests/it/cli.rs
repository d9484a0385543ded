//! The `weft-peer` command line against an in-process network, with
//! Fabric's commands and flags: package, install, approveformyorg,
//! checkcommitreadiness, commit, querycommitted, chaincode invoke and query.

use std::path::Path;

use crate::lifecycle::basic_wasm;
use crate::net::*;
use crate::support::*;

/// Runs `weft-peer` as org `org`'s admin against `peer`; returns stdout, or stderr on failure.
async fn cli(
    net: &Net,
    org: u8,
    peer: &weft_peer::node::PeerHandle,
    args: Vec<String>,
) -> Result<String, String> {
    let admin = net.orgs.user_dir(org, "Admin");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_weft-peer"))
        .args(&args)
        .env(
            "CORE_PEER_ADDRESS",
            format!("127.0.0.1:{}", peer.addr.port()),
        )
        .env("CORE_PEER_LOCALMSPID", format!("Org{org}MSP"))
        .env("CORE_PEER_MSPCONFIGPATH", admin.join("msp"))
        .env("CORE_PEER_TLS_ROOTCERT_FILE", net.orgs.org_tls_ca(org))
        .env(
            "CORE_PEER_TLS_CLIENTCERT_FILE",
            admin.join("tls/client.crt"),
        )
        .env("CORE_PEER_TLS_CLIENTKEY_FILE", admin.join("tls/client.key"))
        .env("ORDERER_ADDRESS", net.orderer_endpoint(0))
        .env("ORDERER_CA", net.orgs.orderer_tls_ca())
        .output()
        .await
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fabric_style_cli_deploys_and_calls_chaincode() {
    let net = Net::start(1, 10).await;
    let (p1, p2) = (net.start_peer(1, 0).await, net.start_peer(2, 0).await);
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("basic.wasm");
    std::fs::write(&wasm, basic_wasm()).unwrap();
    let pkg = dir.path().join("basic.tar.gz");
    let p = |p: &Path| p.display().to_string();
    let package_id = cli(
        &net,
        1,
        &p1,
        s(&[
            "lifecycle",
            "chaincode",
            "package",
            &p(&pkg),
            "--path",
            &p(&wasm),
            "--label",
            "basic_1.0",
        ]),
    )
    .await
    .unwrap()
    .trim()
    .to_string();
    for (org, peer) in [(1, &p1), (2, &p2)] {
        let out = cli(
            &net,
            org,
            peer,
            s(&["lifecycle", "chaincode", "install", &p(&pkg)]),
        )
        .await
        .unwrap();
        assert!(out.contains(&package_id), "{out}");
        let out = cli(
            &net,
            org,
            peer,
            s(&["lifecycle", "chaincode", "queryinstalled"]),
        )
        .await
        .unwrap();
        assert!(out.contains(&package_id), "{out}");
    }
    let def = s(&["-C", CHANNEL, "-n", "basic", "-v", "1.0", "--sequence", "1"]);
    let with = |head: &[&str], tail: &[String]| -> Vec<String> {
        s(head).into_iter().chain(tail.iter().cloned()).collect()
    };
    let approve = with(
        &[
            "lifecycle",
            "chaincode",
            "approveformyorg",
            "--package-id",
            &package_id,
        ],
        &def,
    );
    cli(&net, 1, &p1, approve.clone()).await.unwrap();
    let ready = cli(
        &net,
        1,
        &p1,
        with(&["lifecycle", "chaincode", "checkcommitreadiness"], &def),
    )
    .await
    .unwrap();
    assert!(
        ready.contains("Org1MSP: true") && ready.contains("Org2MSP: false"),
        "{ready}"
    );
    // A client of Org2 cannot approve on Org1's peer.
    let err = cli(&net, 2, &p1, approve.clone()).await.unwrap_err();
    assert!(
        err.contains("403") || err.contains("access denied") || err.contains("connect"),
        "{err}"
    );
    cli(&net, 2, &p2, approve.clone()).await.unwrap();
    wait_height(&p1, p2.core.channel(CHANNEL).unwrap().ledger().height()).await;
    let peers = vec![
        "--peerAddresses".to_string(),
        format!("127.0.0.1:{}", p1.addr.port()),
        "--tlsRootCertFiles".to_string(),
        p(&net.orgs.org_tls_ca(1)),
        "--peerAddresses".to_string(),
        format!("127.0.0.1:{}", p2.addr.port()),
        "--tlsRootCertFiles".to_string(),
        p(&net.orgs.org_tls_ca(2)),
    ];
    let commit: Vec<String> = with(&["lifecycle", "chaincode", "commit"], &def)
        .into_iter()
        .chain(peers.clone())
        .collect();
    cli(&net, 1, &p1, commit).await.unwrap();
    let committed = cli(
        &net,
        1,
        &p1,
        s(&[
            "lifecycle",
            "chaincode",
            "querycommitted",
            "-C",
            CHANNEL,
            "-n",
            "basic",
        ]),
    )
    .await
    .unwrap();
    assert!(
        committed.contains("Sequence: 1") && committed.contains("Org2MSP: true"),
        "{committed}"
    );
    let invoke: Vec<String> = s(&[
        "chaincode",
        "invoke",
        "-C",
        CHANNEL,
        "-n",
        "basic",
        "-c",
        r#"{"function":"InitLedger","Args":[]}"#,
    ])
    .into_iter()
    .chain(peers.clone())
    .collect();
    cli(&net, 1, &p1, invoke).await.unwrap();
    // A refused endorsement names every peer that refused, and why.
    let create_again: Vec<String> = s(&[
        "chaincode",
        "invoke",
        "-C",
        CHANNEL,
        "-n",
        "basic",
        "-c",
        r#"{"function":"CreateAsset","Args":["asset1","red","1","Ann","1"]}"#,
    ])
    .into_iter()
    .chain(peers)
    .collect();
    let err = cli(&net, 1, &p1, create_again).await.unwrap_err();
    assert!(err.contains("2 of 2 peers refused"), "{err}");
    for peer in [&p1, &p2] {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("127.0.0.1:{}", peer.addr.port())))
            .unwrap_or_else(|| panic!("no line for {}: {err}", peer.addr));
        assert!(line.contains("asset1 already exists"), "{line}");
    }
    let query = |ctor: &str, extra: &[&str]| {
        let head = [
            "chaincode",
            "query",
            "-C",
            CHANNEL,
            "-n",
            "basic",
            "-c",
            ctor,
        ];
        s(&head).into_iter().chain(s(extra)).collect::<Vec<_>>()
    };
    let read = r#"{"Args":["ReadAsset","asset1"]}"#;
    let out = cli(&net, 1, &p1, query(read, &[])).await.unwrap();
    assert!(out.contains(r#""ID":"asset1""#), "{out}");
    let err = cli(&net, 1, &p1, query("ReadAsset", &[]))
        .await
        .unwrap_err();
    assert!(err.contains("expected"), "{err}");
    // Transient data as Fabric's CLI takes it: base64 values, checked before anything is sent.
    let out = cli(
        &net,
        1,
        &p1,
        query(read, &["--transient", r#"{"secret":"aGVsbG8="}"#]),
    )
    .await
    .unwrap();
    assert!(out.contains(r#""ID":"asset1""#), "{out}");
    let bad = ["--transient", r#"{"secret":"not base64!"}"#];
    let err = cli(&net, 1, &p1, query(read, &bad)).await.unwrap_err();
    assert!(err.contains("\"secret\" is not base64"), "{err}");
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
