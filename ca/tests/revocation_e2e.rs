//! Revocation that takes effect, end to end, on a network whose every
//! identity comes from weft-ca (`weft-network up --ca`, in-process): a user
//! registered and enrolled from Org1's CA transacts; after the CA revokes it
//! and the CRL goes into Org1's MSP by a channel config update, the same
//! user's proposals are refused — and Org1's other users carry on.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use weft_ca::client::CaClient;
use weft_client_sdk::{Gateway, Tls, identity};
use weft_network::{InProcessNetwork, Topology};

/// (issuer, subject) of a PEM certificate, DER.
fn names(pem_text: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let der = pem::parse(pem_text).unwrap();
    let (_, c) = x509_parser::parse_x509_certificate(der.contents()).unwrap();
    (c.issuer().as_raw().to_vec(), c.subject().as_raw().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_user_is_refused_once_the_crl_update_commits() {
    let dir = tempfile::tempdir().unwrap();
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let topology = Topology {
        ca: true,
        ..Topology::for_tests("100ms")
    };
    let net = InProcessNetwork::start(&topology, dir.path())
        .await
        .unwrap();
    net.deploy_crate(
        "basic",
        &weft_network::deploy::samples_dir().join("asset-transfer-basic"),
        &build,
    )
    .await
    .unwrap();
    let info = net.info().clone();
    let org1 = info.org("Org1MSP").unwrap().clone();

    // Every identity came from the orgs' CAs: signing certificates from
    // Org1's CA, TLS certificates from its separate TLS CA.
    assert_eq!(info.cas.len(), 3, "the orderer org's CA and two orgs'");
    let ca = &info.cas[1];
    let ca_cert = std::fs::read(ca.tls_root()).unwrap();
    let user_cert = std::fs::read(org1.user.msp.join("signcerts/cert.pem")).unwrap();
    assert_eq!(names(&user_cert).0, names(&ca_cert).1);
    let peer_tls = std::fs::read(org1.peers[0].crypto.join("tls/server.crt")).unwrap();
    let tls_ca = std::fs::read(&org1.tls_ca).unwrap();
    assert_eq!(names(&peer_tls).0, names(&tls_ca).1);
    assert_ne!(names(&tls_ca).1, names(&ca_cert).1);

    // Org1's CA keeps serving: its registrar registers alice, who enrolls.
    let client = CaClient::new(&ca.url(), &[ca.tls_root()]).unwrap();
    let registrar = CaClient::load(&ca.registrar).unwrap();
    let homes = tempfile::tempdir().unwrap();
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
    net.shutdown().await;
}
