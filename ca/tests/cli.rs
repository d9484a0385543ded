//! `weft-ca client` as a user runs it, against a CA over TLS: enroll into
//! Fabric's MSP layout (which weft's MSP loader reads), register, enroll over
//! the TLS profile, list and change identities and affiliations, reenroll,
//! revoke with a CRL.

use std::path::Path;
use std::process::Command;

use weft_ca::authority::Authority;
use weft_ca::config::ServerConfig;

fn client(home: &Path, url: &str, root: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_weft-ca"))
        .arg("client")
        .args(args)
        .arg("-u")
        .arg(url)
        .arg("-H")
        .arg(home)
        .arg("--tls.certfiles")
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "weft-ca client {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enroll_register_list_reenroll_and_revoke_from_the_command_line() {
    let ca_home = tempfile::tempdir().unwrap();
    let config = ServerConfig::parse("", ca_home.path().to_path_buf(), std::iter::empty()).unwrap();
    Authority::init(&config, Some(("admin", "adminpw"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ca = weft_ca::server::start(config, listener).await.unwrap();
    let port = ca.addr.port();
    let root = ca_home.path().join("ca-cert.pem");
    let url = format!("https://localhost:{port}");
    let admin = tempfile::tempdir().unwrap();

    tokio::task::spawn_blocking(move || {
        client(
            admin.path(),
            &format!("https://admin:adminpw@localhost:{port}"),
            &root,
            &["enroll"],
        );
        let msp = admin.path().join("msp");
        assert!(msp.join(format!("cacerts/localhost-{port}.pem")).is_file());
        let org = tempfile::tempdir().unwrap();
        client(org.path(), &url, &root, &["getcainfo"]);
        assert_eq!(
            std::fs::read(org.path().join(format!("msp/cacerts/localhost-{port}.pem"))).unwrap(),
            std::fs::read(&root).unwrap(),
            "getcainfo writes the CA's certificate without enrolling"
        );
        let id = weft_common::msp::folder::load_signing_identity(
            &msp,
            &weft_common::ids::MspId::new("Org1MSP"),
        )
        .expect("weft reads the MSP folder it wrote");
        assert_eq!(
            id.identity.certificate().common_name.as_deref(),
            Some("admin")
        );

        let out = client(
            admin.path(),
            &url,
            &root,
            &[
                "register",
                "--id.name",
                "user1",
                "--id.type",
                "client",
                "--id.affiliation",
                "org1",
                "--id.attrs",
                "app.role=auditor:ecert",
            ],
        );
        let secret = out
            .trim()
            .strip_prefix("Password: ")
            .expect("the secret")
            .to_string();

        let user = tempfile::tempdir().unwrap();
        client(
            user.path(),
            &format!("https://user1:{secret}@localhost:{port}"),
            &root,
            &["enroll", "--enrollment.profile", "tls"],
        );
        assert!(
            user.path()
                .join(format!("msp/tlscacerts/localhost-{port}.pem"))
                .is_file()
        );

        let list = client(admin.path(), &url, &root, &["identity", "list"]);
        assert!(
            list.contains("Name: user1, Type: client, Affiliation: org1"),
            "{list}"
        );

        // Affiliations and identity changes.
        client(
            admin.path(),
            &url,
            &root,
            &["affiliation", "add", "org1.audit"],
        );
        let tree = client(admin.path(), &url, &root, &["affiliation", "list"]);
        assert!(tree.contains("   affiliation: org1.audit"), "{tree}");
        let out = client(
            admin.path(),
            &url,
            &root,
            &["identity", "modify", "user1", "--affiliation", "org1.audit"],
        );
        assert!(out.contains("Affiliation: org1.audit"), "{out}");
        let out = client(
            admin.path(),
            &url,
            &root,
            &["identity", "add", "user9", "--affiliation", "org2"],
        );
        assert!(out.starts_with("Password: "), "{out}");
        // An intermediate CA initialised from the command line, enrolled from this one.
        client(
            admin.path(),
            &url,
            &root,
            &[
                "register",
                "--id.name",
                "ica",
                "--id.secret",
                "icapw",
                "--id.attrs",
                "hf.IntermediateCA=true",
            ],
        );
        let ica_home = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_weft-ca"))
            .args(["server", "init", "-b", "admin:adminpw", "-u"])
            .arg(format!("https://ica:icapw@localhost:{port}"))
            .arg("--intermediate.tls.certfiles")
            .arg(&root)
            .arg("-H")
            .arg(ica_home.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let chain = std::fs::read_to_string(ica_home.path().join("ca-chain.pem")).unwrap();
        assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "{chain}");
        let one = client(
            admin.path(),
            &url,
            &root,
            &["identity", "list", "--id", "user9"],
        );
        assert!(
            one.contains("Name: user9, Type: client, Affiliation: org2"),
            "{one}"
        );

        let before = std::fs::read(msp.join("signcerts/cert.pem")).unwrap();
        client(admin.path(), &url, &root, &["reenroll"]);
        assert_ne!(
            std::fs::read(msp.join("signcerts/cert.pem")).unwrap(),
            before
        );
        weft_common::msp::folder::load_signing_identity(
            &msp,
            &weft_common::ids::MspId::new("Org1MSP"),
        )
        .expect("the new key matches the new certificate");

        let out = client(
            admin.path(),
            &url,
            &root,
            &["revoke", "-e", "user1", "-r", "keycompromise", "--gencrl"],
        );
        assert!(out.contains("revoked serial"), "{out}");
        let crl = std::fs::read(msp.join("crls/crl.pem")).unwrap();
        let crl = weft_common::msp::RevocationList::parse(&crl).expect("a CRL weft's MSPs read");
        assert_eq!(crl.revoked_serials.len(), 1);

        // A refusal is a clear error and a failing exit status.
        let out = Command::new(env!("CARGO_BIN_EXE_weft-ca"))
            .args([
                "client",
                "enroll",
                "-u",
                &format!("https://user1:{secret}@localhost:{port}"),
                "-H",
            ])
            .arg(user.path())
            .arg("--tls.certfiles")
            .arg(ca_home.path().join("ca-cert.pem"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("revoked"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    })
    .await
    .unwrap();
    ca.shutdown().await;
}
