//! Chaincode events resumed from a file checkpoint across a restart, and block events.

use std::time::Duration;

use futures::StreamExt;
use weft_client_sdk::checkpoint::{Checkpointer, FileCheckpointer};
use weft_client_sdk::events::EventStart;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaincode_events_resume_from_a_file_checkpoint_without_loss_or_repeats() {
    let mut n = TestNet::with("asset-transfer-basic", "basic").await;
    let contract = n.gateway().await.network("mychannel").contract("basic");
    let file = n.dir.path().join("events-checkpoint.json");

    for i in 0..3 {
        let id = format!("asset{i}");
        contract
            .submit_transaction("CreateAsset", [id.as_str(), "red", "1", "Ann", "10"])
            .await
            .unwrap();
    }
    // A listener processes two events, checkpointing each, then stops.
    let mut seen = Vec::new();
    {
        let cp = FileCheckpointer::open(&file).unwrap();
        let start = EventStart::resume(&cp, EventStart::Block(0));
        let network = n.gateway().await.network("mychannel");
        let mut events = network.chaincode_events("basic", start).await.unwrap();
        for _ in 0..2 {
            let e = tokio::time::timeout(Duration::from_secs(30), events.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            seen.push(e.clone());
            cp.checkpoint_chaincode_event(&e).unwrap();
        }
    }
    // Meanwhile more happens, and the peer restarts.
    for i in 3..5 {
        let id = format!("asset{i}");
        contract
            .submit_transaction("CreateAsset", [id.as_str(), "red", "1", "Ann", "10"])
            .await
            .unwrap();
    }
    contract
        .submit_transaction("TransferAsset", ["asset0", "Bo"])
        .await
        .unwrap();
    n.net.restart_peer(0, 0).await.unwrap();

    // A new listener process resumes from the file.
    let cp = FileCheckpointer::open(&file).unwrap();
    let start = EventStart::resume(&cp, EventStart::Block(0));
    assert!(matches!(start, EventStart::Checkpoint(_)));
    let network = n.gateway().await.network("mychannel");
    let mut events = network.chaincode_events("basic", start).await.unwrap();
    while seen.len() < 6 {
        let e = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .expect("an event")
            .unwrap()
            .unwrap();
        seen.push(e.clone());
        cp.checkpoint_chaincode_event(&e).unwrap();
    }
    let names: Vec<(String, String)> = seen
        .iter()
        .map(|e| {
            let a: serde_json::Value = serde_json::from_slice(&e.payload).unwrap();
            (e.name.clone(), a["ID"].as_str().unwrap().to_string())
        })
        .collect();
    let expected: Vec<(String, String)> = (0..5)
        .map(|i| ("CreateAsset".to_string(), format!("asset{i}")))
        .chain([("TransferAsset".to_string(), "asset0".to_string())])
        .collect();
    assert_eq!(names, expected, "every event once, in order");
    let ids: std::collections::HashSet<_> = seen.iter().map(|e| &e.tx_id).collect();
    assert_eq!(ids.len(), 6);
    n.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_events_from_the_genesis_block_on() {
    let n = TestNet::with("asset-transfer-basic", "basic").await;
    let network = n.gateway().await.network("mychannel");
    let mut blocks = network.block_events(EventStart::Block(0)).await.unwrap();
    let first = blocks.next().await.unwrap().unwrap();
    assert_eq!(first.header.unwrap().number, 0);
    let contract = network.contract("basic");
    let commit = contract
        .submit_async("CreateAsset", ["b1", "red", "1", "Ann", "10"])
        .await
        .unwrap();
    let status = commit.status().await.unwrap();
    let mut last = 0;
    while last < status.block_number {
        let b = tokio::time::timeout(Duration::from_secs(30), blocks.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let number = b.header.unwrap().number;
        assert_eq!(number, last + 1, "blocks in order, none skipped");
        last = number;
    }
    n.shutdown().await;
}
