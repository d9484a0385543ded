//! Fabric's own client SDK, unchanged, against a weft network: the Node.js
//! script `peer/tests/fabric-gateway/client.mjs` (npm's
//! `@hyperledger/fabric-gateway` and `@grpc/grpc-js`, installed by
//! `scripts/setup.sh`) submits and evaluates asset-transfer-basic
//! transactions, waits for commit status and reads chaincode events.

use std::path::{Path, PathBuf};

use crate::lifecycle::deploy;
use crate::net::*;

fn signcert(msp: &Path) -> PathBuf {
    std::fs::read_dir(msp.join("signcerts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fabrics_official_gateway_client_works_against_weft() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fabric-gateway");
    assert!(
        dir.join("node_modules/@hyperledger/fabric-gateway")
            .is_dir(),
        "the Fabric client packages are missing: run scripts/setup.sh"
    );
    let net = Net::start(1, 10).await;
    let (p1, p2) = (net.start_peer(1, 0).await, net.start_peer(2, 0).await);
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let mut admins = [net.admin(1, &p1).await, net.admin(2, &p2).await];
    deploy(&net, [&p1, &p2], &mut admins, "basic_1.0", 1).await;

    let user = net.orgs.user_dir(1, "User1");
    let output = tokio::process::Command::new("node")
        .arg(dir.join("client.mjs"))
        .current_dir(&dir)
        .env("WEFT_PEER", format!("127.0.0.1:{}", p1.addr.port()))
        .env("WEFT_MSP_ID", "Org1MSP")
        .env("WEFT_TLS_ROOT", net.orgs.org_tls_ca(1))
        .env("WEFT_TLS_CERT", user.join("tls/client.crt"))
        .env("WEFT_TLS_KEY", user.join("tls/client.key"))
        .env("WEFT_SIGN_CERT", signcert(&user.join("msp")))
        .env("WEFT_SIGN_KEY", user.join("msp/keystore/priv_sk"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), output)
        .await
        .expect("the Node.js client finished")
        .expect("node runs (scripts/setup.sh installs Node.js)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("FABRIC CLIENT OK"),
        "Fabric's client failed:\n{stdout}\n{stderr}"
    );
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
