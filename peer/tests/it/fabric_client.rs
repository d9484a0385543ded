//! Fabric's own client SDK, unchanged, against a weft network: the Node.js
//! script `peer/tests/fabric-gateway/client.mjs` (npm's
//! `@hyperledger/fabric-gateway` and `@grpc/grpc-js`, installed by
//! `scripts/setup.sh`) submits and evaluates asset-transfer-basic
//! transactions, runs the staged flow, waits for commit status and reads
//! chaincode, block and filtered block events — with Fabric's default TLS
//! (no client certificate) and over mutual TLS.

use std::path::{Path, PathBuf};

use crate::lifecycle::deploy;
use crate::net::*;

/// The signing certificate in an MSP folder.
pub fn signcert(msp: &Path) -> PathBuf {
    std::fs::read_dir(msp.join("signcerts"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// Runs `client.mjs` against `peer` as Org1's User1; with `mutual`, over
/// mutual TLS (a client certificate and its hash), else server-authenticated
/// TLS only, as Fabric's sample applications connect.
async fn run_client(net: &Net, peer: &weft_peer::node::PeerHandle, mutual: bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fabric-gateway");
    assert!(
        dir.join("node_modules/@hyperledger/fabric-gateway")
            .is_dir(),
        "the Fabric client packages are missing: run scripts/setup.sh"
    );
    let user = net.orgs.user_dir(1, "User1");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(dir.join("client.mjs"))
        .current_dir(&dir)
        .env("WEFT_PEER", format!("127.0.0.1:{}", peer.addr.port()))
        .env("WEFT_MSP_ID", "Org1MSP")
        .env("WEFT_TLS_ROOT", net.orgs.org_tls_ca(1))
        .env("WEFT_SIGN_CERT", signcert(&user.join("msp")))
        .env("WEFT_SIGN_KEY", user.join("msp/keystore/priv_sk"))
        .kill_on_drop(true);
    if mutual {
        cmd.env("WEFT_TLS_CERT", user.join("tls/client.crt"))
            .env("WEFT_TLS_KEY", user.join("tls/client.key"));
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .expect("the Node.js client finished")
        .expect("node runs (scripts/setup.sh installs Node.js)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("FABRIC CLIENT OK"),
        "Fabric's client (mutual TLS: {mutual}) failed:\n{stdout}\n{stderr}"
    );
}

/// A network of two peers with `basic` deployed; `require_client_auth` sets
/// `peer.tls.clientAuthRequired` on both peers and
/// `General.TLS.ClientAuthRequired` on the orderer (whose Deliver then
/// requires the peers' block requests to be bound to their certificates).
async fn network(
    require_client_auth: bool,
) -> (
    Net,
    weft_peer::node::PeerHandle,
    weft_peer::node::PeerHandle,
) {
    let net = Net::start_with_client_auth(1, 10, require_client_auth).await;
    let configure = |c: &mut weft_peer::config::PeerConfig| {
        if let weft_common::node::settings::ListenerTls::Tls(s) = &mut c.listener.tls {
            s.client_auth_required = require_client_auth;
        }
    };
    let p1 = net.start_peer_configured(1, 0, configure).await;
    let p2 = net.start_peer_configured(2, 0, configure).await;
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let mut admins = [net.admin(1, &p1).await, net.admin(2, &p2).await];
    deploy(&net, [&p1, &p2], &mut admins, "basic_1.0", 1).await;
    (net, p1, p2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fabrics_official_gateway_client_works_with_fabrics_default_tls() {
    let (net, p1, p2) = network(false).await;
    run_client(&net, &p1, false).await;
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fabrics_official_gateway_client_works_over_mutual_tls() {
    let (net, p1, p2) = network(true).await;
    run_client(&net, &p1, true).await;
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
