//! A network whose every identity and TLS certificate is Ed25519
//! (`keyType: ed25519`, Fabric 3's V3_0 capability): Org1's client commits
//! asset-transfer-basic's CreateAsset, endorsed by both orgs, and Org2 reads
//! it — signatures, MSP validation and TLS all on Ed25519 keys.

use std::path::PathBuf;

use weft_common::crypto::KeyAlgorithm;
use weft_network::{InProcessNetwork, KeyKind, Topology};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ed25519_network_endorses_orders_and_commits() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology {
        key_type: KeyKind::Ed25519,
        ..Topology::for_tests("100ms")
    };
    let net = InProcessNetwork::start(&topology, dir.path())
        .await
        .unwrap();
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    net.deploy_crate(
        "basic",
        &weft_network::deploy::samples_dir().join("asset-transfer-basic"),
        &build,
    )
    .await
    .unwrap();
    let info = net.info();

    // Every key really is Ed25519: the client's, and the peers' TLS keys.
    let (identity, _) =
        weft_client_sdk::identity::load_msp(&info.orgs[0].user.msp, &info.orgs[0].msp_id).unwrap();
    assert_eq!(
        identity.certificate().public_key.algorithm(),
        KeyAlgorithm::Ed25519
    );
    let tls = std::fs::read(info.orgs[1].peers[0].crypto.join("tls/server.crt")).unwrap();
    let tls = weft_common::msp::Certificate::from_pem(&tls).unwrap();
    assert_eq!(tls.public_key.algorithm(), KeyAlgorithm::Ed25519);

    let org1 = info.gateway(&info.orgs[0].msp_id).await.unwrap();
    let org2 = info.gateway(&info.orgs[1].msp_id).await.unwrap();
    let commit = org1
        .network(&info.channel)
        .contract("basic")
        .submit_async("CreateAsset", ["ed1", "green", "3", "Ana", "70"])
        .await
        .unwrap()
        .status()
        .await
        .unwrap();
    assert_eq!(
        commit.code,
        weft_protos::protos::TxValidationCode::Valid,
        "{commit:?}"
    );
    net.wait_for_height(commit.block_number + 1, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let asset = org2
        .network(&info.channel)
        .contract("basic")
        .evaluate_transaction("ReadAsset", ["ed1"])
        .await
        .unwrap();
    let asset: serde_json::Value = serde_json::from_slice(&asset).unwrap();
    assert_eq!(asset["Owner"], "Ana");
    net.shutdown().await;
}
