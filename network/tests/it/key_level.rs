//! Key-level endorsement planned by the Gateway, on Fabric's
//! asset-transfer-sbe (the Rust port) deployed on two orgs with the
//! chaincode policy `OR(Org1 peer, Org2 peer)`. Each asset's key answers to
//! its owner org alone. A client of the other org submits through its own
//! org's Gateway, whose own endorsement satisfies the chaincode's policy but
//! not the key's: the Gateway checks what the committer will check, asks
//! the owner org's peer too, and the transaction commits valid — where a
//! Gateway that looked at the chaincode's policy alone would have submitted
//! a transaction bound to fail.

use std::path::PathBuf;

use weft_client_sdk::Gateway;
use weft_network::{InProcessNetwork, Topology};
use weft_protos::protos::TxValidationCode as Code;

const CC: &str = "sbe";

async fn gateway(net: &InProcessNetwork, org: usize) -> Gateway {
    let info = net.info();
    let o = &info.orgs[org];
    info.gateway_as(o, &o.user, 0).await.unwrap()
}

async fn read_value(gw: &Gateway, channel: &str, id: &str) -> i64 {
    let bytes = gw
        .network(channel)
        .contract(CC)
        .evaluate_transaction("ReadAsset", [id])
        .await
        .unwrap();
    let asset: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    asset["Value"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_asks_the_org_a_key_level_policy_names() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology {
        orgs: 2,
        peers_per_org: 1,
        ..Topology::for_tests("100ms")
    };
    let net = InProcessNetwork::start(&topology, dir.path())
        .await
        .unwrap();
    let channel = net.info().channel.clone();
    let sample = weft_network::deploy::samples_dir().join("asset-transfer-sbe");
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let mut spec = weft_network::deploy::DeploySpec::from_crate(CC, &sample, Some(&build));
    spec.signature_policy = Some("OR('Org1MSP.peer','Org2MSP.peer')".into());
    weft_network::deploy::deploy(net.info(), &spec, |_| {})
        .await
        .unwrap();
    let org1 = gateway(&net, 0).await;
    let org2 = gateway(&net, 1).await;

    // Org1's client creates the asset: its key now answers to Org1 alone.
    org1.network(&channel)
        .contract(CC)
        .submit_transaction("CreateAsset", ["a1", "100", "Tom"])
        .await
        .unwrap();

    // Org2's peer says so in its proposal response, as Fabric's endorser
    // does: the ChaincodeInterest carries the key's policy and disregards
    // the chaincode's.
    let info = net.info();
    let org2_info = &info.orgs[1];
    let user = weft_common::msp::folder::load_signing_identity(
        &org2_info.user.msp,
        &weft_common::ids::MspId::new(&org2_info.msp_id),
    )
    .unwrap();
    let bundle =
        weft_common::tx::ProposalBuilder::new(weft_common::ids::ChannelId::new(&channel), CC)
            .args(vec![
                b"UpdateAsset".to_vec(),
                b"a1".to_vec(),
                b"150".to_vec(),
            ])
            .sign(&user)
            .unwrap();
    let mut admin = info.admin_client(org2_info, 0).await.unwrap();
    let response = admin.process(&bundle.signed).await.unwrap();
    let interest = response.interest.expect("a ChaincodeInterest");
    assert_eq!(interest.chaincodes.len(), 1, "{interest:?}");
    let call = &interest.chaincodes[0];
    assert_eq!(call.name, CC);
    assert!(call.disregard_namespace_policy);
    let names_org1 = |p: &weft_protos::common::SignaturePolicyEnvelope| {
        p.identities
            .iter()
            .any(|i| String::from_utf8_lossy(&i.principal).contains("Org1MSP"))
    };
    assert!(
        call.key_policies.len() == 1 && names_org1(&call.key_policies[0]),
        "{call:?}"
    );

    // Org2's client updates it through Org2's Gateway, which gets Org1's
    // endorsement too.
    org2.network(&channel)
        .contract(CC)
        .submit_transaction("UpdateAsset", ["a1", "200"])
        .await
        .unwrap();
    assert_eq!(read_value(&org2, &channel, "a1").await, 200);

    // The control: endorsed by Org2 alone (the client names it), the same
    // update is refused at commit by the key's policy.
    let tx = org2
        .network(&channel)
        .contract(CC)
        .new_proposal("UpdateAsset")
        .arguments(["a1", "300"])
        .endorsing_organizations(["Org2MSP"])
        .build()
        .unwrap()
        .endorse()
        .await
        .unwrap();
    let status = tx.submit().await.unwrap().status().await.unwrap();
    assert_eq!(status.code, Code::EndorsementPolicyFailure);
    assert_eq!(read_value(&org2, &channel, "a1").await, 200);
    net.shutdown().await;
}
