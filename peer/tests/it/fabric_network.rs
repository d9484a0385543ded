//! Fabric's legacy Node SDK, unchanged, against a weft network: the script
//! `peer/tests/fabric-network/client.mjs` (npm's `fabric-network` 2.2,
//! installed by `scripts/setup.sh`) keeps its identity in a wallet, connects
//! with service discovery enabled, submits and evaluates asset-transfer-basic
//! transactions through the endorsement plan discovery gives it, and listens
//! to contract events — over Fabric's default TLS (no client authentication;
//! the SDK presents a self-signed certificate nobody verifies).

use std::path::Path;

use crate::fabric_client::signcert;
use crate::lifecycle::deploy;
use crate::net::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fabrics_legacy_node_sdk_with_discovery_works_against_weft() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fabric-network");
    assert!(
        dir.join("node_modules/fabric-network").is_dir(),
        "the fabric-network package is missing: run scripts/setup.sh"
    );
    let net = Net::start(1, 10).await;
    let (p1, p2) = (net.start_peer(1, 0).await, net.start_peer(2, 0).await);
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let mut admins = [net.admin(1, &p1).await, net.admin(2, &p2).await];
    deploy(&net, [&p1, &p2], &mut admins, "basic_1.0", 1).await;

    let user = net.orgs.user_dir(1, "User1");
    let signcert = signcert(&user.join("msp"));
    let output = tokio::process::Command::new("node")
        .arg(dir.join("client.mjs"))
        .current_dir(&dir)
        .env("WEFT_PEER", format!("127.0.0.1:{}", p1.addr.port()))
        .env("WEFT_TLS_ROOT", net.orgs.org_tls_ca(1))
        .env("WEFT_SIGN_CERT", signcert)
        .env("WEFT_SIGN_KEY", user.join("msp/keystore/priv_sk"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(180), output)
        .await
        .expect("the Node.js client finished")
        .expect("node runs (scripts/setup.sh installs Node.js)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("FABRIC NETWORK OK"),
        "fabric-network failed:\n{stdout}\n{stderr}"
    );
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
