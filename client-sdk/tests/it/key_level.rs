//! Key-level endorsement end to end: Fabric's asset-transfer-sbe sample as
//! WASM chaincode on a two-org in-process network whose chaincode policy
//! either org satisfies. An asset's key answers to its owner org alone.

use weft_client_sdk::{Contract, TxValidationCode};
use weft_network::deploy::{DeploySpec, deploy, samples_dir};

use crate::support::*;

/// Submits `function(args)` endorsed by the peers of `orgs` only; the commit code.
async fn submit_endorsed_by(
    contract: &Contract,
    function: &str,
    args: &[&str],
    orgs: &[&str],
) -> TxValidationCode {
    let proposal = contract
        .new_proposal(function)
        .arguments(args.iter().copied())
        .endorsing_organizations(orgs.iter().copied())
        .build()
        .unwrap();
    let tx = proposal.endorse().await.unwrap();
    tx.submit().await.unwrap().status().await.unwrap().code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asset_answers_to_its_owner_org_and_a_transfer_hands_it_over() {
    let n = TestNet::start().await;
    let build = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let mut spec = DeploySpec::from_crate(
        "sbe",
        &samples_dir().join("asset-transfer-sbe"),
        Some(&build),
    );
    spec.signature_policy = Some("OR('Org1MSP.peer', 'Org2MSP.peer')".into());
    deploy(n.net.info(), &spec, |_| {}).await.unwrap();

    let org1 = n.net.info().gateway("Org1MSP").await.unwrap();
    let org2 = n.net.info().gateway("Org2MSP").await.unwrap();
    let (by_org1, by_org2) = (
        org1.network("mychannel").contract("sbe"),
        org2.network("mychannel").contract("sbe"),
    );
    // Org2's client creates the asset: its key now names Org2's peers alone.
    let code = submit_endorsed_by(
        &by_org2,
        "CreateAsset",
        &["asset1", "100", "Jin"],
        &["Org2MSP"],
    )
    .await;
    assert_eq!(code, TxValidationCode::Valid);

    // Org1 alone satisfies the chaincode's policy, not the key's.
    let code = submit_endorsed_by(&by_org1, "UpdateAsset", &["asset1", "200"], &["Org1MSP"]).await;
    assert_eq!(code, TxValidationCode::EndorsementPolicyFailure);
    let code = submit_endorsed_by(&by_org1, "UpdateAsset", &["asset1", "300"], &["Org2MSP"]).await;
    assert_eq!(code, TxValidationCode::Valid);

    // Org2 hands the asset to Org1; from the next transaction Org1 endorses it.
    let code = submit_endorsed_by(
        &by_org2,
        "TransferAsset",
        &["asset1", "Tom", "Org1MSP"],
        &["Org2MSP"],
    )
    .await;
    assert_eq!(code, TxValidationCode::Valid);
    let code = submit_endorsed_by(&by_org2, "UpdateAsset", &["asset1", "400"], &["Org2MSP"]).await;
    assert_eq!(code, TxValidationCode::EndorsementPolicyFailure);
    let code = submit_endorsed_by(&by_org1, "UpdateAsset", &["asset1", "500"], &["Org1MSP"]).await;
    assert_eq!(code, TxValidationCode::Valid);

    let json = by_org2
        .evaluate_transaction("ReadAsset", ["asset1"])
        .await
        .unwrap();
    let asset: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(asset["Value"], 500);
    assert_eq!(asset["Owner"], "Tom");
    assert_eq!(asset["OwnerOrg"], "Org1MSP");
    n.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_policy_that_does_not_parse_is_refused_before_install() {
    let n = TestNet::start().await;
    let mut spec = DeploySpec::from_crate("sbe", &samples_dir().join("asset-transfer-sbe"), None);
    spec.signature_policy = Some("OR('Org1MSP.peer'".into());
    let e = deploy(n.net.info(), &spec, |m| {
        panic!("nothing should happen: {m}")
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("signature policy"), "{e}");
    n.shutdown().await;
}
