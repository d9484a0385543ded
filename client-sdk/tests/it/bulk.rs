//! Bulk submission: 1,000 transfers, the client killed halfway and
//! restarted; every transfer commits exactly once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use weft_client_sdk::bulk::{BulkOptions, BulkRequest, submit_all};
use weft_client_sdk::events::EventStart;
use weft_protos::protos::{ChaincodeInvocationSpec, ChaincodeProposalPayload, TxValidationCode};

use crate::support::*;

const N: usize = 1000;

/// (function, first argument) of every valid transaction of `chaincode` up to `height`.
async fn valid_invocations(
    network: &weft_client_sdk::Network,
    chaincode: &str,
    height: u64,
) -> Vec<(String, String)> {
    let mut blocks = network.block_events(EventStart::Block(0)).await.unwrap();
    let mut out = Vec::new();
    for n in 0..height {
        let block = tokio::time::timeout(Duration::from_secs(30), blocks.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(block.header.as_ref().unwrap().number, n);
        let filter = weft_common::block::transactions_filter(&block).to_vec();
        for (i, env) in block.data.unwrap().data.iter().enumerate() {
            if filter[i] != TxValidationCode::Valid as u8 {
                continue;
            }
            let Ok(env) = weft_common::tx::UnpackedEnvelope::from_bytes(env) else {
                continue;
            };
            let Ok(tx) = env.endorser_transaction() else {
                continue;
            };
            if tx.chaincode != chaincode {
                continue;
            }
            let payload =
                ChaincodeProposalPayload::decode(tx.action.chaincode_proposal_payload.as_slice())
                    .unwrap();
            let spec = ChaincodeInvocationSpec::decode(payload.input.as_slice()).unwrap();
            let args = spec.chaincode_spec.unwrap().input.unwrap().args;
            out.push((
                String::from_utf8_lossy(&args[0]).into_owned(),
                String::from_utf8_lossy(&args[1]).into_owned(),
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_transfers_survive_a_client_crash_exactly_once() {
    let n = TestNet::with("asset-transfer-basic", "basic").await;
    let contract = n.gateway().await.network("mychannel").contract("basic");
    let journal = n.dir.path().join("bulk.journal");

    let creates: Vec<BulkRequest> = (0..N)
        .map(|i| BulkRequest {
            id: format!("create-{i}"),
            function: "CreateAsset".into(),
            args: vec![
                format!("a{i}"),
                "green".into(),
                "1".into(),
                "Payer".into(),
                "10".into(),
            ],
        })
        .collect();
    let report = submit_all(&contract, creates, &journal, BulkOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(report.progress.committed, N, "{:?}", report.failures);

    let transfers: Vec<BulkRequest> = (0..N)
        .map(|i| BulkRequest {
            id: format!("pay-{i}"),
            function: "TransferAsset".into(),
            args: vec![format!("a{i}"), format!("employee{i}")],
        })
        .collect();
    // First run: killed (its task dropped mid-flight) once half have committed.
    let committed = Arc::new(AtomicUsize::new(0));
    let seen = committed.clone();
    let (half_tx, half_rx) = tokio::sync::oneshot::channel::<()>();
    let half_tx = std::sync::Mutex::new(Some(half_tx));
    let first = {
        let contract = contract.clone();
        let transfers = transfers.clone();
        let journal = journal.clone();
        tokio::spawn(async move {
            submit_all(
                &contract,
                transfers,
                &journal,
                BulkOptions::default(),
                move |p| {
                    seen.store(p.committed, Ordering::SeqCst);
                    if p.committed >= N / 2
                        && let Some(tx) = half_tx.lock().unwrap().take()
                    {
                        let _ = tx.send(());
                    }
                },
            )
            .await
        })
    };
    tokio::time::timeout(Duration::from_secs(300), half_rx)
        .await
        .expect("half of the transfers commit")
        .unwrap();
    first.abort();
    let _ = first.await;
    let at_crash = committed.load(Ordering::SeqCst);
    assert!(
        at_crash < N,
        "the crash happened before the end ({at_crash})"
    );

    // Make the crash land at the worst moment for some requests too: their
    // transactions committed, but the client died before journaling that.
    let text = std::fs::read_to_string(&journal).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let committed_lines: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(r#""step":"committed""#) && l.contains("pay-"))
        .map(|(i, _)| i)
        .collect();
    let unsure = 5;
    for i in committed_lines.iter().rev().take(unsure) {
        lines.remove(*i);
    }
    std::fs::write(&journal, lines.join("\n") + "\n").unwrap();

    // Restart with the same journal and batch.
    let report = submit_all(
        &contract,
        transfers,
        &journal,
        BulkOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(report.unresolved.is_empty(), "{:?}", report.unresolved);
    assert_eq!(report.progress.committed, N);
    assert!(
        report.progress.resubmitted >= unsure as u64,
        "in-flight transactions were resubmitted unchanged: {:?}, {at_crash}",
        report.progress
    );
    assert!(report.progress.already_done + unsure >= at_crash);

    // Every transfer is on the ledger exactly once, and the state agrees.
    let network = n.gateway().await.network("mychannel");
    let height = n
        .net
        .peer(0, 0)
        .unwrap()
        .core
        .channel("mychannel")
        .unwrap()
        .ledger()
        .height();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (function, id) in valid_invocations(&network, "basic", height).await {
        if function == "TransferAsset" {
            *counts.entry(id).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), N, "every asset transferred");
    assert!(
        counts.values().all(|c| *c == 1),
        "none twice: {:?}",
        counts.iter().filter(|(_, c)| **c > 1).collect::<Vec<_>>()
    );
    for i in [0, N / 2, N - 1] {
        let json = contract
            .evaluate_transaction("ReadAsset", [format!("a{i}")])
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&json).contains(&format!("\"employee{i}\"")));
    }
    n.shutdown().await;
}
