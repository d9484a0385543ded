//! Collection definitions through the chaincode lifecycle: Fabric's
//! collections-config JSON, checked by `_lifecycle` when an org approves.

use weft_network::deploy::{DeploySpec, committed_definition, deploy, samples_dir};

use crate::support::*;

fn spec(collections: &str) -> DeploySpec {
    let build = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let mut spec = DeploySpec::from_crate(
        "basic",
        &samples_dir().join("asset-transfer-basic"),
        Some(&build),
    );
    spec.collections = weft_peer::lifecycle::collections::from_json(collections).unwrap();
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_are_defined_kept_and_checked_on_approval() {
    let n = TestNet::start().await;
    let info = n.net.info();
    let shared = r#"{"name":"assetCollection","policy":"OR('Org1MSP.member','Org2MSP.member')",
        "requiredPeerCount":1,"maxPeerCount":1,"blockToLive":1000000,"memberOnlyRead":true}"#;
    let org1 =
        r#"{"name":"Org1MSPPrivateCollection","policy":"OR('Org1MSP.member')","blockToLive":3}"#;
    deploy(info, &spec(&format!("[{shared},{org1}]")), |_| {})
        .await
        .unwrap();
    let def = committed_definition(info, &info.orgs[1], 0, "basic")
        .await
        .unwrap()
        .unwrap();
    let names: Vec<String> = def
        .collections
        .unwrap()
        .config
        .into_iter()
        .filter_map(|c| match c.payload {
            Some(weft_protos::protos::collection_config::Payload::StaticCollectionConfig(s)) => {
                Some(s.name)
            }
            None => None,
        })
        .collect();
    assert_eq!(names, ["assetCollection", "Org1MSPPrivateCollection"]);

    // An upgrade may not drop a collection nor change its BlockToLive.
    let e = deploy(info, &spec(&format!("[{shared}]")), |_| {})
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("existing collection [Org1MSPPrivateCollection] missing"),
        "{e}"
    );
    // A member outside the channel is refused, naming it.
    let stranger = r#"{"name":"c","policy":"OR('Org9MSP.member')"}"#;
    let e = deploy(
        info,
        &spec(&format!("[{shared},{org1},{stranger}]")),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("'Org9MSP' is not part of the channel"),
        "{e}"
    );
    // Adding one is allowed; the definition moves to sequence 2.
    let more = r#"{"name":"more","policy":"OR('Org2MSP.member')"}"#;
    let d = deploy(info, &spec(&format!("[{shared},{org1},{more}]")), |_| {})
        .await
        .unwrap();
    assert_eq!(d.sequence, 2);
    n.shutdown().await;
}
