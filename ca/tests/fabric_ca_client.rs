//! Fabric's own CA client (npm `fabric-ca-client`, unchanged) against weft-ca:
//! over TLS, enroll the bootstrap admin, register and enroll a user, manage
//! identities and affiliations, revoke the user, fetch a CRL.
//! `scripts/setup.sh` installs Node.js and the npm packages.

use base64::Engine;
use weft_ca::authority::{Authority, serial_hex};
use weft_ca::config::ServerConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fabrics_node_ca_client_enrolls_registers_revokes_and_gets_a_crl() {
    let home = tempfile::tempdir().unwrap();
    let mut config =
        ServerConfig::parse("", home.path().to_path_buf(), std::iter::empty()).unwrap();
    config.cfg.identities.allowremove = true;
    config.cfg.affiliations.allowremove = true;
    Authority::init(&config, Some(("admin", "adminpw"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ca = weft_ca::server::start(config, listener).await.unwrap();
    // Over TLS, trusting the CA's own certificate (which issued its TLS certificate).
    let root = home.path().join("ca-cert.pem");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fabric-ca-client");
    assert!(
        dir.join("node_modules/fabric-ca-client").is_dir(),
        "run scripts/setup.sh: it installs fabric-ca-client in {}",
        dir.display()
    );
    let out = tokio::process::Command::new("node")
        .arg("client.mjs")
        .arg(format!("https://localhost:{}", ca.addr.port()))
        .arg(&root)
        .current_dir(&dir)
        .output()
        .await
        .expect("node (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "fabric-ca-client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let admin =
        weft_common::msp::Certificate::from_pem(r["adminCert"].as_str().unwrap().as_bytes())
            .unwrap();
    assert_eq!(admin.common_name.as_deref(), Some("admin"));
    assert_eq!(
        r["rootCert"].as_str().unwrap().trim(),
        ca.authority.cert_pem().trim()
    );
    assert!(r["secretLength"].as_u64().unwrap() >= 12);
    assert!(r["createdSecretLength"].as_u64().unwrap() >= 12);
    assert_eq!(
        r["identityIds"],
        serde_json::json!(["admin", "user1", "user2"])
    );
    assert_eq!(r["user1"]["affiliation"], "org1.department1");
    assert_eq!(r["user1"]["type"], "client");
    assert_eq!(r["user1"]["attrs"][0]["name"], "app.role");
    assert_eq!(r["user2"]["affiliation"], "org2");
    assert_eq!(r["user2"]["max_enrollments"], 3);
    assert_eq!(r["removedId"], "user2");
    assert!(ca.authority.store().identity("user2").unwrap().is_none());
    assert_eq!(
        r["affiliations"],
        serde_json::json!(["org1", "org2", "org4"])
    );
    assert_eq!(r["org4"], serde_json::json!(["org4.dept1"]));
    assert_eq!(r["deletedAffiliation"], "org4");
    assert!(!ca.authority.store().affiliation_exists("org4").unwrap());
    let user = weft_common::msp::Certificate::from_pem(r["userCert"].as_str().unwrap().as_bytes())
        .unwrap();
    assert_eq!(user.common_name.as_deref(), Some("user1"));
    assert_eq!(r["revoked"][0]["Serial"], serial_hex(&user.serial).as_str());
    let crl_pem = base64::engine::general_purpose::STANDARD
        .decode(r["crl"].as_str().unwrap())
        .unwrap();
    let der = pem::parse(crl_pem).unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(der.contents()).unwrap();
    let listed: Vec<String> = crl
        .iter_revoked_certificates()
        .map(|c| serial_hex(c.raw_serial()))
        .collect();
    assert_eq!(listed, [serial_hex(&user.serial)]);
    assert!(
        r["reenrollAfterRevoke"].as_str().unwrap().contains("70"),
        "{}",
        r["reenrollAfterRevoke"]
    );
    ca.shutdown().await;
}
