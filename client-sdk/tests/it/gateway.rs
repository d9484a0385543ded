//! Submit, evaluate, the staged flow, offline signing and typed errors.

use weft_client_sdk::identity::load_msp;
use weft_client_sdk::retry::{RetryPolicy, submit_with_retry};
use weft_client_sdk::{ClientError, Gateway, Tls, TxValidationCode};

use crate::support::*;

const ASSET: [&str; 5] = ["asset1", "blue", "5", "Tomoko", "300"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_evaluate_and_the_staged_flow() {
    let n = TestNet::with("asset-transfer-basic", "basic").await;
    let contract = n.gateway().await.network("mychannel").contract("basic");

    contract
        .submit_transaction("CreateAsset", ASSET)
        .await
        .unwrap();
    let json = contract
        .evaluate_transaction("ReadAsset", ["asset1"])
        .await
        .unwrap();
    let asset: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(asset["Owner"], "Tomoko");

    // submit_async returns the function's result before the commit.
    let commit = contract
        .submit_async("TransferAsset", ["asset1", "Max"])
        .await
        .unwrap();
    assert_eq!(commit.result(), b"Tomoko");
    let status = commit.status().await.unwrap();
    assert!(status.is_successful(), "{status:?}");
    assert!(status.block_number > 0);

    // Staged: proposal → endorse (by named orgs) → submit → status.
    let proposal = contract
        .new_proposal("TransferAsset")
        .arguments(["asset1", "Ana"])
        .endorsing_organizations(["Org1MSP", "Org2MSP"])
        .build()
        .unwrap();
    let tx = proposal.endorse().await.unwrap();
    assert_eq!(tx.tx_id(), proposal.tx_id());
    assert_eq!(tx.result(), b"Max");
    let status = tx.submit().await.unwrap().status().await.unwrap();
    assert_eq!(status.code, TxValidationCode::Valid);
    let json = contract
        .evaluate_transaction("ReadAsset", ["asset1"])
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&json).contains("\"Ana\""));
    n.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_errors_carry_details_and_validation_codes() {
    let n = TestNet::with("asset-transfer-basic", "basic").await;
    let contract = n.gateway().await.network("mychannel").contract("basic");
    contract
        .submit_transaction("CreateAsset", ASSET)
        .await
        .unwrap();

    // A chaincode refusal at evaluation: the message names the cause.
    let e = contract
        .evaluate_transaction("ReadAsset", ["nope"])
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Evaluate { .. }), "{e:?}");
    assert!(e.to_string().contains("nope"), "{e}");

    // At endorsement: per-peer details from the gateway.
    let e = contract
        .submit_transaction("CreateAsset", ASSET)
        .await
        .unwrap_err();
    match &e {
        ClientError::Endorse { failure, .. } => {
            assert!(!failure.details.is_empty(), "{failure:?}");
            assert!(
                failure
                    .details
                    .iter()
                    .any(|d| d.message.contains("already exists")),
                "{failure:?}"
            );
        }
        other => panic!("expected an endorsement error, got {other:?}"),
    }
    assert!(!e.details().is_empty());
    // Printed, each detail names the peer, its MSP and its message.
    let d = &e.details()[0];
    let line = format!("  - {} ({}): {}", d.address, d.msp_id, d.message);
    assert!(!d.address.is_empty() && !d.msp_id.is_empty(), "{d:?}");
    assert!(e.to_string().lines().any(|l| l == line), "{e}");

    // An unknown chaincode.
    let e = n
        .gateway()
        .await
        .network("mychannel")
        .contract("nosuch")
        .evaluate_transaction("X", [""; 0])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nosuch"), "{e}");

    // Two transactions endorsed against the same state: the second to commit
    // is an MVCC conflict, reported as a typed commit error.
    let a = contract
        .new_proposal("TransferAsset")
        .arguments(["asset1", "A"])
        .build()
        .unwrap()
        .endorse()
        .await
        .unwrap();
    let b = contract
        .new_proposal("TransferAsset")
        .arguments(["asset1", "B"])
        .build()
        .unwrap()
        .endorse()
        .await
        .unwrap();
    let sa = a.submit().await.unwrap().status().await.unwrap();
    let sb = b.submit().await.unwrap().status().await.unwrap();
    assert!(sa.is_successful());
    let e = sb.into_result().unwrap_err();
    assert_eq!(
        e.validation_code(),
        Some(TxValidationCode::MvccReadConflict)
    );
    assert!(e.is_mvcc_conflict());
    assert!(e.to_string().contains("MVCC_READ_CONFLICT"), "{e}");

    // Resubmitting a committed transaction never commits it twice.
    let again = a.submit().await.unwrap().status().await.unwrap();
    assert_eq!(again, sa, "the status is the first commit's");
    let json = contract
        .evaluate_transaction("ReadAsset", ["asset1"])
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&json).contains("\"A\""));

    // The retry helper re-proposes conflicting transfers until they commit.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let c = contract.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("owner{i}");
            submit_with_retry(
                RetryPolicy {
                    attempts: 30,
                    ..Default::default()
                },
                || c.submit_transaction("TransferAsset", ["asset1", owner.as_str()]),
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    n.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_signing_of_every_step() {
    let n = TestNet::with("asset-transfer-basic", "basic").await;
    let info = n.net.info();
    let org = info.org("Org1MSP").unwrap();
    let (identity, signer) = load_msp(&org.user.msp, "Org1MSP").unwrap();
    let tls = Tls::from_files(&org.tls_ca, Some((&org.user.tls_cert, &org.user.tls_key))).unwrap();
    // The gateway holds no key: every signature is made "elsewhere".
    let gateway = Gateway::connect(&org.peers[0].address, identity, None, Some(tls))
        .await
        .unwrap();
    let contract = gateway.network("mychannel").contract("basic");

    let unsigned = contract
        .new_proposal("CreateAsset")
        .arguments(ASSET)
        .build()
        .unwrap();
    assert!(!unsigned.is_signed());
    let e = unsigned.endorse().await.unwrap_err();
    assert!(matches!(e, ClientError::Unsigned("proposal")), "{e:?}");
    assert_eq!(
        unsigned.digest(),
        weft_common::crypto::sha256(unsigned.bytes())
    );

    // Serialised, signed by another party, read back.
    let wire = unsigned.to_bytes();
    let received = gateway.proposal_from_bytes(&wire).unwrap();
    let signature = signer.sign(received.bytes()).unwrap();
    let proposal = gateway
        .proposal_from_bytes(&wire)
        .unwrap()
        .with_signature(signature);
    assert_eq!(proposal.tx_id(), unsigned.tx_id());

    let tx = proposal.endorse().await.unwrap();
    assert!(!tx.is_signed());
    assert!(matches!(
        tx.submit().await.unwrap_err(),
        ClientError::Unsigned("transaction")
    ));
    let tx = gateway.transaction_from_bytes(&tx.to_bytes()).unwrap();
    let signature = signer.sign(tx.bytes()).unwrap();
    let commit = tx.with_signature(signature).submit().await.unwrap();

    assert!(matches!(
        commit.status().await.unwrap_err(),
        ClientError::Unsigned(_)
    ));
    let commit = gateway.commit_from_bytes(&commit.to_bytes()).unwrap();
    let signature = signer.sign(commit.bytes()).unwrap();
    let status = commit.with_signature(signature).status().await.unwrap();
    assert!(status.is_successful(), "{status:?}");

    // A signature by the wrong key is refused with a clear error.
    let (_, other) = load_msp(&info.org("Org2MSP").unwrap().user.msp, "Org2MSP").unwrap();
    let p = contract
        .new_proposal("ReadAsset")
        .argument("asset1")
        .build()
        .unwrap();
    let forged = p.clone().with_signature(other.sign(p.bytes()).unwrap());
    let e = forged.evaluate().await.unwrap_err();
    assert!(e.to_string().to_lowercase().contains("signature"), "{e}");
    n.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_data_reaches_the_chaincode_but_not_the_ledger() {
    let n = TestNet::with("marbles", "marbles").await;
    let contract = n.gateway().await.network("mychannel").contract("marbles");
    let secret = r#"{"name":"t1","color":"red","size":3,"owner":"Eve"}"#;
    let commit = contract
        .new_proposal("InitMarbleFromTransient")
        .transient("marble", secret)
        .build()
        .unwrap()
        .endorse()
        .await
        .unwrap()
        .submit()
        .await
        .unwrap();
    let status = commit.status().await.unwrap();
    assert!(status.is_successful(), "{status:?}");
    let json = contract
        .evaluate_transaction("ReadMarble", ["t1"])
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&json).contains("\"eve\""));

    // The block holds the marble's writes but not the transient input.
    let ledger = n.net.peer(0, 0).unwrap().core.channel("mychannel").unwrap();
    let block = ledger.ledger().block(status.block_number).unwrap().unwrap();
    let bytes: Vec<u8> = block.data.unwrap().data.concat();
    let needle = b"\"owner\":\"Eve\"";
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "transient input in the block"
    );
    n.shutdown().await;
}
