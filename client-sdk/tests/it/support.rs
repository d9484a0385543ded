//! An in-process network (weft-network's test mode) with chaincode deployed.
#![allow(dead_code)]

use std::path::PathBuf;

use weft_client_sdk::Gateway;
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
        self.net
            .deploy_crate(
                name,
                &weft_network::deploy::samples_dir().join(sample),
                &build,
            )
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
