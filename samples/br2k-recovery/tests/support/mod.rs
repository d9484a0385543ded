//! What both tests of the recovery loop start with: a network with the
//! service registry deployed as `registry`.

use std::path::{Path, PathBuf};

use br2k_recovery::registry::Registry;
use weft_network::{InProcessNetwork, NetworkInfo, Topology};

/// An in-process network under `dir`, cutting blocks every 100 ms, with the
/// registry chaincode deployed.
pub async fn network_with_registry(dir: &Path) -> InProcessNetwork {
    let net = InProcessNetwork::start(&Topology::for_tests("100ms"), dir)
        .await
        .unwrap();
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    net.deploy_crate(
        "registry",
        &weft_network::deploy::samples_dir().join("service-registry"),
        &build,
    )
    .await
    .unwrap();
    net
}

/// The registry as `org`'s User1 sees it.
pub async fn registry(info: &NetworkInfo, org: &str) -> Registry {
    Registry::new(info.gateway(org).await.unwrap(), &info.channel, "registry")
}
