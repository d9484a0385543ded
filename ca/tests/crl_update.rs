//! The CRL config update's refusals: each names its cause.

use weft_ca::crl_update::{config_from_block, with_crl};
use weft_common::pki::{CertAuthority, KeyType, Subject, Validity};
use weft_network::Topology;
use weft_network::material::{PortPlan, generate};

#[test]
fn bad_blocks_crls_and_unknown_orgs_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let t = Topology::for_tests("100ms");
    let info = generate(&t, dir.path(), &PortPlan::fabric(&t)).unwrap();
    let config = config_from_block(&std::fs::read(&info.genesis).unwrap()).unwrap();
    let org_ca = info
        .dir
        .join("crypto/peerOrganizations/org1.example.com/ca");
    let cert = std::fs::read_dir(&org_ca)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-cert.pem"))
        .unwrap();
    let ca = CertAuthority::from_pem(
        &std::fs::read_to_string(cert).unwrap(),
        &std::fs::read_to_string(org_ca.join("priv_sk")).unwrap(),
    )
    .unwrap();
    let crl = ca.crl(&[vec![1, 2, 3]], 1, 1).unwrap();

    let e = config_from_block(b"not a block").unwrap_err().to_string();
    assert!(e.contains("not a config block"), "{e}");
    let e = with_crl(&config, "Org9MSP", crl.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("Org9MSP is not in the channel config"), "{e}");
    let e = with_crl(&config, "Org1MSP", b"garbage")
        .unwrap_err()
        .to_string();
    assert!(e.contains("the CRL does not parse"), "{e}");

    // A second CRL from the same issuer replaces the first.
    let once = with_crl(&config, "Org1MSP", crl.as_bytes()).unwrap();
    let newer = ca.crl(&[vec![1, 2, 3], vec![4, 5]], 2, 1).unwrap();
    let twice = with_crl(&once, "Org1MSP", newer.as_bytes()).unwrap();
    let bundle = weft_common::config::ChannelConfig::from_config(
        weft_common::ids::ChannelId::new("mychannel"),
        &twice,
    );
    assert!(
        bundle.is_ok(),
        "the updated config is a valid channel config"
    );
    let org1 = |c: &weft_protos::common::Config| -> Vec<Vec<u8>> {
        use prost::Message;
        let g = &c.channel_group.as_ref().unwrap().groups["Application"].groups["Org1MSP"];
        let msp = weft_protos::msp::MspConfig::decode(g.values["MSP"].value.as_slice()).unwrap();
        weft_protos::msp::FabricMspConfig::decode(msp.config.as_slice())
            .unwrap()
            .revocation_list
    };
    assert_eq!(org1(&twice), vec![newer.into_bytes()]);

    // A CRL from a CA the org does not have would make an invalid MSP
    // config, which the channel would refuse: it is refused before anyone signs.
    let stranger = CertAuthority::new_root(
        &Subject::fabric_style("o", "ca"),
        KeyType::EcdsaP256,
        Validity::days_from_now(1),
    )
    .unwrap();
    let e = with_crl(
        &config,
        "Org1MSP",
        stranger.crl(&[vec![9]], 1, 1).unwrap().as_bytes(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("a CRL is not signed by any CA of the MSP"),
        "{e}"
    );
}
