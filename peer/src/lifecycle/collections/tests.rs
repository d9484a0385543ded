use weft_configtx::local::LocalNetwork;
use weft_testkit::material::Material;

use super::*;

/// A channel of Org1 and Org2 (Org3 exists but is not a member).
fn channel() -> ChannelConfig {
    let material = Material::generate(1, 3, 1, 0);
    let net = LocalNetwork::new(
        "Test",
        LocalNetwork::numbered_consenters(&[7050]),
        vec![None, None],
    );
    ChannelConfig::from_block(&material.genesis("mychannel", &net)).unwrap()
}

fn one(json: &str) -> CollectionConfigPackage {
    from_json(json).unwrap()
}

fn refusal(pkg: &CollectionConfigPackage, config: &ChannelConfig) -> String {
    validate(pkg, config).unwrap_err().message
}

#[test]
fn fabrics_sample_file_reads_with_the_cli_defaults() {
    let pkg = one(r#"[
          {"name":"assetCollection","policy":"OR('Org1MSP.member', 'Org2MSP.member')",
           "requiredPeerCount":1,"maxPeerCount":1,"blockToLive":1000000,
           "memberOnlyRead":true,"memberOnlyWrite":true},
          {"name":"Org1MSPPrivateCollection","policy":"OR('Org1MSP.member')",
           "blockToLive":3,"memberOnlyRead":true,"memberOnlyWrite":false,
           "endorsementPolicy":{"signaturePolicy":"OR('Org1MSP.member')"},
           "someFieldFabricIgnores":1}
        ]"#);
    let s = statics(&pkg).unwrap();
    assert_eq!((s[0].required_peer_count, s[0].maximum_peer_count), (1, 1));
    assert_eq!((s[1].required_peer_count, s[1].maximum_peer_count), (0, 1));
    assert_eq!(s[1].block_to_live, 3);
    assert!(s[0].member_only_write && !s[1].member_only_write);
    assert!(matches!(
        s[1].endorsement_policy
            .as_ref()
            .and_then(|p| p.r#type.as_ref()),
        Some(application_policy::Type::SignaturePolicy(_))
    ));
    validate(&pkg, &channel()).unwrap();
}

#[test]
fn a_bad_file_names_the_collection_and_the_cause() {
    let e = from_json(r#"[{"name":"c","policy":"OR('Org1MSP.member'"}]"#).unwrap_err();
    assert!(e.to_string().contains("c: policy"), "{e}");
    let both = r#"[{"name":"c","policy":"OR('Org1MSP.member')",
        "endorsementPolicy":{"signaturePolicy":"OR('Org1MSP.member')","channelConfigPolicy":"/x"}}]"#;
    assert!(from_json(both).unwrap_err().to_string().contains("one of"));
    assert!(from_json("{}").is_err());
}

#[test]
fn fabrics_rules_refuse_bad_collections() {
    let config = channel();
    let case = |json: &str| refusal(&one(json), &config);
    let e = case(r#"[{"name":"_implicit_org_Org1MSP","policy":"OR('Org1MSP.member')"}]"#);
    assert!(e.contains("cannot begin with '_'"), "{e}");
    let e = case(
        r#"[{"name":"c","policy":"OR('Org1MSP.member')"},{"name":"c","policy":"OR('Org1MSP.member')"}]"#,
    );
    assert!(e.contains("found duplicate"), "{e}");
    let e = case(
        r#"[{"name":"c","policy":"OR('Org1MSP.member')","requiredPeerCount":2,"maxPeerCount":1}]"#,
    );
    assert!(
        e.contains("maximum peer count (1) cannot be less than the required peer count (2)"),
        "{e}"
    );
    let e = case(
        r#"[{"name":"c","policy":"OR('Org1MSP.member')","requiredPeerCount":-1,"maxPeerCount":1}]"#,
    );
    assert!(e.contains("cannot be less than zero"), "{e}");
    let e = case(r#"[{"name":"c","policy":"AND('Org1MSP.member','Org2MSP.member')"}]"#);
    assert!(e.contains("not an OR concatenation"), "{e}");
    let e = case(r#"[{"name":"c","policy":"OR('Org3MSP.member')"}]"#);
    assert!(e.contains("'Org3MSP' is not part of the channel"), "{e}");
    let mut no_policy = one(r#"[{"name":"c","policy":"OR('Org1MSP.member')"}]"#);
    if let Some(collection_config::Payload::StaticCollectionConfig(s)) =
        &mut no_policy.config[0].payload
    {
        s.member_orgs_policy = None;
    }
    assert!(refusal(&no_policy, &config).contains("member policy is not set"));
}

#[test]
fn an_update_keeps_every_collection_and_its_block_to_live() {
    let old = one(r#"[{"name":"a","policy":"OR('Org1MSP.member')","blockToLive":5}]"#);
    let grown = one(
        r#"[{"name":"a","policy":"OR('Org1MSP.member','Org2MSP.member')","blockToLive":5},
            {"name":"b","policy":"OR('Org2MSP.member')"}]"#,
    );
    validate_against_committed(&grown, &old).unwrap();
    validate_against_committed(&old, &CollectionConfigPackage::default()).unwrap();
    let e = validate_against_committed(&CollectionConfigPackage::default(), &old).unwrap_err();
    assert!(
        e.message.contains("does not contain previously defined"),
        "{}",
        e.message
    );
    let dropped = one(r#"[{"name":"b","policy":"OR('Org2MSP.member')"}]"#);
    let e = validate_against_committed(&dropped, &old).unwrap_err();
    assert!(
        e.message.contains("existing collection [a] missing"),
        "{}",
        e.message
    );
    let shorter = one(r#"[{"name":"a","policy":"OR('Org1MSP.member')","blockToLive":4}]"#);
    let e = validate_against_committed(&shorter, &old).unwrap_err();
    assert!(e.message.contains("Existing value [5]"), "{}", e.message);
}
