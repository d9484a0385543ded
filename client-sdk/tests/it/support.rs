//! An in-process network (weft-network's test mode) with chaincode deployed.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use weft_client_sdk::Gateway;
use weft_network::deploy::{DeploySpec, deploy};
use weft_network::{InProcessNetwork, Topology};

pub struct TestNet {
    pub net: InProcessNetwork,
    pub dir: tempfile::TempDir,
}

impl TestNet {
    /// One orderer, Org1 and Org2 with a peer each, blocks every 100 ms.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let net = InProcessNetwork::start(&Topology::for_tests("100ms"), dir.path())
            .await
            .unwrap();
        Self { net, dir }
    }

    /// The same with `sample` deployed as `name`.
    pub async fn with(sample: &str, name: &str) -> Self {
        let n = Self::start().await;
        n.deploy(sample, name).await;
        n
    }

    pub async fn deploy(&self, sample: &str, name: &str) {
        let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
        let spec = DeploySpec::from_crate(name, &samples().join(sample), Some(&build));
        deploy(self.net.info(), &spec, |m| eprintln!("[deploy] {m}"))
            .await
            .unwrap();
    }

    /// Org1's User1 through Org1's peer.
    pub async fn gateway(&self) -> Gateway {
        self.net.info().gateway("Org1MSP").await.unwrap()
    }

    pub async fn shutdown(self) {
        self.net.shutdown().await;
    }
}

pub fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples")
}

/// Waits for `cond` with a timeout.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
