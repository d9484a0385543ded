//! Revocation that takes effect, end to end: a user enrolled from weft-ca
//! (running with Org1's CA key) transacts on a weft network; after the CA
//! revokes it and the CRL goes into Org1's MSP by a channel config update,
//! the same user's proposals are refused — and Org1's other users carry on.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use weft_ca::authority::Authority;
use weft_ca::client::CaClient;
use weft_ca::config::ServerConfig;
use weft_client_sdk::{Gateway, Tls, identity};
use weft_network::InProcessNetwork;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_user_is_refused_once_the_crl_update_commits() {
    let dir = tempfile::tempdir().unwrap();
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let net =
        InProcessNetwork::with_sample(dir.path(), "100ms", "asset-transfer-basic", "basic", &build)
            .await
            .unwrap();
    let info = net.info().clone();
    let org1 = info.org("Org1MSP").unwrap().clone();

    // weft-ca as Org1's CA: its certificate and key from the org's crypto.
    let ca_home = tempfile::tempdir().unwrap();
    let org_ca = info
        .dir
        .join("crypto/peerOrganizations/org1.example.com/ca");
    let ca_cert = std::fs::read_dir(&org_ca)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-cert.pem"))
        .unwrap();
    std::fs::copy(&ca_cert, ca_home.path().join("ca-cert.pem")).unwrap();
    std::fs::create_dir_all(ca_home.path().join("msp/keystore")).unwrap();
    std::fs::copy(
        org_ca.join("priv_sk"),
        ca_home.path().join("msp/keystore/priv_sk"),
    )
    .unwrap();
    let mut config =
        ServerConfig::parse("", ca_home.path().to_path_buf(), std::iter::empty()).unwrap();
    config.csr.organization = "org1.example.com".into();
    config.tls.enabled = false; // loopback only in this test
    Authority::init(&config, Some(("admin", "adminpw"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ca = weft_ca::server::start(config, listener).await.unwrap();
    let client = CaClient::new(&format!("http://127.0.0.1:{}", ca.addr.port()), &[]).unwrap();

    // A registrar, and alice, enrolled from the CA.
    let homes = tempfile::tempdir().unwrap();
    let registrar = client
        .enroll("admin", "adminpw", "", &[], &homes.path().join("admin"))
        .await
        .unwrap();
    let r = client
        .call(
            &registrar,
            "register",
            Some(&serde_json::json!({"id": "alice", "secret": "alicepw", "type": "client"})),
        )
        .await
        .unwrap();
    assert_eq!(r["secret"], "alicepw");
    let alice_msp = homes.path().join("alice");
    client
        .enroll("alice", "alicepw", "", &[], &alice_msp)
        .await
        .unwrap();

    // Alice transacts through Org1's peer (TLS as Org1's User1, signing as alice).
    let gateway_for = |msp: PathBuf| {
        let org1 = org1.clone();
        async move {
            let (id, signer) = identity::load_msp(&msp, "Org1MSP").unwrap();
            let tls = Tls::from_files(
                &org1.tls_ca,
                Some((&org1.user.tls_cert, &org1.user.tls_key)),
            )
            .unwrap();
            Gateway::connect(&org1.peers[0].address, id, Some(signer), Some(tls))
                .await
                .unwrap()
        }
    };
    let alice = gateway_for(alice_msp.clone())
        .await
        .network("mychannel")
        .contract("basic");
    alice
        .submit_transaction("CreateAsset", ["alice1", "red", "1", "alice", "10"])
        .await
        .expect("alice, enrolled from weft-ca, is an Org1 client");

    // Revoke alice; the CA hands back a CRL.
    let r = client
        .call(
            &registrar,
            "revoke",
            Some(&serde_json::json!({"id": "alice", "reason": "keycompromise", "gencrl": true})),
        )
        .await
        .unwrap();
    let crl = base64::engine::general_purpose::STANDARD
        .decode(r["CRL"].as_str().unwrap())
        .unwrap();

    // The CRL goes into Org1's MSP through a config update signed by Org1's
    // admin, made and submitted with `weft-ca client crl-update`.
    let crl_file = homes.path().join("crl.pem");
    std::fs::write(&crl_file, &crl).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_weft-ca"));
    cmd.args([
        "client",
        "crl-update",
        "--channel",
        "mychannel",
        "--mspid",
        "Org1MSP",
    ])
    .arg("--config-block")
    .arg(&info.genesis)
    .arg("--crl")
    .arg(&crl_file)
    .arg("--admin-msp")
    .arg(&org1.admin.msp)
    .arg("--orderer")
    .arg(&info.orderers[0].address)
    .arg("--orderer-tls-ca")
    .arg(&info.orderer_tls_ca)
    .arg("--tls-cert")
    .arg(&org1.admin.tls_cert)
    .arg("--tls-key")
    .arg(&org1.admin.tls_key);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "crl-update: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Once the peer has the new config, alice is refused, with the reason.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let refusal = loop {
        match alice.evaluate_transaction("ReadAsset", ["alice1"]).await {
            Err(e) => break e.to_string(),
            Ok(_) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "alice still accepted after the CRL update"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert!(refusal.to_lowercase().contains("revoked"), "{refusal}");
    assert!(
        alice
            .submit_transaction("CreateAsset", ["alice2", "red", "1", "alice", "10"])
            .await
            .is_err()
    );

    // Org1's other identities are unaffected.
    let user1 = gateway_for(org1.user.msp.clone())
        .await
        .network("mychannel")
        .contract("basic");
    let json = user1
        .evaluate_transaction("ReadAsset", ["alice1"])
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&json).contains("alice1"));
    ca.shutdown().await;
    net.shutdown().await;
}
