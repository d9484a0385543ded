//! Edits on the config of a real Fabric 3.0 channel (`shared/fixtures`).

use prost::Message;
use weft_protos::common::{Block, Config};
use weft_protos::etcdraft::Consenter;
use weft_protos::protos::AnchorPeer;

use super::{BatchChange, CapabilityLevel, Edit, Section, apply};
use crate::CommonError;
use crate::config::ChannelConfig;
use crate::config::update::compute_update;
use crate::ids::{ChannelId, MspId};
use crate::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
use crate::policy::PolicyDef;

fn fabric_config() -> ChannelConfig {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/fabric-3.0-chain/block-0.pb"
    );
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    ChannelConfig::from_block(&Block::decode(bytes.as_slice()).unwrap()).unwrap()
}

fn typed(config: &Config) -> ChannelConfig {
    ChannelConfig::from_config(ChannelId::new("b250ms500"), config).unwrap()
}

fn refusal(config: &Config, edit: &Edit) -> String {
    match apply(config, edit) {
        Err(CommonError::ConfigEdit(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn tls_cert() -> String {
    let ca = CertAuthority::new_root(
        &Subject::fabric_style("example.com", "tlsca.example.com"),
        KeyType::EcdsaP256,
        Validity::days_from_now(30),
    )
    .unwrap();
    ca.issue(
        &Subject::fabric_style("example.com", "orderer2.example.com"),
        &["orderer2.example.com".into()],
        Usage::Tls,
        KeyType::EcdsaP256,
        Validity::days_from_now(30),
    )
    .unwrap()
    .cert_pem
}

#[test]
fn an_org_added_under_a_new_name_is_in_the_update_and_a_duplicate_is_refused() {
    let current = fabric_config();
    let app = &current.config.channel_group.as_ref().unwrap().groups["Application"];
    let mut org3 = app.groups["Org1MSP"].clone();
    // Same MSP under a new group name: refused, it names the existing org.
    let why = refusal(
        &current.config,
        &Edit::AddOrg {
            section: Section::Application,
            name: "Org3MSP".into(),
            group: org3.clone(),
        },
    );
    assert!(why.contains("already has organisation Org1MSP"), "{why}");

    let mut msp = super::orgs::fabric_msp(&org3).unwrap();
    msp.name = "Org3MSP".into();
    let bytes = weft_protos::msp::MspConfig {
        r#type: 0,
        config: msp.encode_to_vec(),
    }
    .encode_to_vec();
    org3.values.get_mut("MSP").unwrap().value = bytes;
    org3.version = 7; // whatever the file says, a new group starts at 0
    let edit = Edit::AddOrg {
        section: Section::Application,
        name: "Org3MSP".into(),
        group: org3.clone(),
    };
    let updated = apply(&current.config, &edit).unwrap();
    let after = typed(&updated);
    assert!(
        after
            .application
            .as_ref()
            .unwrap()
            .orgs
            .contains_key(&MspId::new("Org3MSP"))
    );
    let update = compute_update(&current.channel_id, &current.config, &updated).unwrap();
    let write_app = &update.write_set.unwrap().groups["Application"];
    assert_eq!(write_app.version, 1, "adding a member bumps Application");
    assert_eq!(write_app.groups["Org3MSP"].version, 0);

    org3.policies.remove("Writers");
    let why = refusal(
        &current.config,
        &Edit::AddOrg {
            section: Section::Application,
            name: "Org4MSP".into(),
            group: org3,
        },
    );
    assert!(why.contains("no Writers policy"), "{why}");
}

#[test]
fn removing_an_org_by_msp_id_works_and_the_last_one_is_kept() {
    let current = fabric_config();
    let remove = |org: &str, section| Edit::RemoveOrg {
        section,
        org: org.into(),
    };
    let updated = apply(&current.config, &remove("Org2MSP", Section::Application)).unwrap();
    let orgs = &typed(&updated).application.unwrap().orgs;
    assert_eq!(
        orgs.keys().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["Org1MSP"]
    );
    let why = refusal(&updated, &remove("Org1MSP", Section::Application));
    assert!(why.contains("only organisation"), "{why}");
    let why = refusal(&current.config, &remove("Org9MSP", Section::Application));
    assert!(why.contains("it has Org1MSP, Org2MSP"), "{why}");
    let why = refusal(&current.config, &remove("OrdererMSP", Section::Orderer));
    assert!(why.contains("only organisation in Orderer"), "{why}");
}

#[test]
fn anchor_peers_are_set_and_cleared() {
    let current = fabric_config();
    let peers = vec![AnchorPeer {
        host: "peer1.org1.example.com".into(),
        port: 7051,
    }];
    let set = Edit::SetAnchorPeers {
        org: "Org1MSP".into(),
        peers: peers.clone(),
    };
    let updated = apply(&current.config, &set).unwrap();
    let org1 = &typed(&updated).application.unwrap().orgs[&MspId::new("Org1MSP")];
    assert_eq!(
        org1.anchor_peers,
        [("peer1.org1.example.com".to_string(), 7051)]
    );
    let cleared = apply(
        &updated,
        &Edit::SetAnchorPeers {
            org: "Org1MSP".into(),
            peers: vec![],
        },
    )
    .unwrap();
    let org1 = &typed(&cleared).application.unwrap().orgs[&MspId::new("Org1MSP")];
    assert!(org1.anchor_peers.is_empty());
    let why = refusal(
        &current.config,
        &Edit::SetAnchorPeers {
            org: "Org1MSP".into(),
            peers: vec![AnchorPeer {
                host: "h".into(),
                port: 70000,
            }],
        },
    );
    assert!(why.contains("port from 1 to 65535"), "{why}");
}

#[test]
fn batch_settings_change_and_inconsistent_ones_are_refused() {
    let current = fabric_config();
    let change = BatchChange {
        timeout: Some("250ms".into()),
        max_message_count: Some(7),
        ..Default::default()
    };
    let updated = apply(&current.config, &Edit::SetBatch(change)).unwrap();
    let ord = typed(&updated).orderer.unwrap();
    assert_eq!(ord.batch_timeout, std::time::Duration::from_millis(250));
    assert_eq!(ord.batch_size.max_message_count, 7);
    let before = current.orderer.as_ref().unwrap().batch_size;
    assert_eq!(ord.batch_size.absolute_max_bytes, before.absolute_max_bytes);

    for (change, expect) in [
        (
            BatchChange {
                preferred_max_bytes: Some(before.absolute_max_bytes + 1),
                ..Default::default()
            },
            "may not exceed",
        ),
        (
            BatchChange {
                max_message_count: Some(0),
                ..Default::default()
            },
            "at least 1",
        ),
        (
            BatchChange {
                timeout: Some("0s".into()),
                ..Default::default()
            },
            "above 0",
        ),
        (
            BatchChange {
                timeout: Some("soon".into()),
                ..Default::default()
            },
            "batch timeout \"soon\"",
        ),
    ] {
        let why = refusal(&current.config, &Edit::SetBatch(change));
        assert!(why.contains(expect), "{why}");
    }
}

#[test]
fn a_policy_is_replaced_or_added_at_its_path() {
    let current = fabric_config();
    let edit = |path: &str, rule: &str| Edit::SetPolicy {
        path: path.into(),
        policy: PolicyDef::parse(rule).unwrap(),
    };
    let updated = apply(
        &current.config,
        &edit("/Channel/Application/Endorsement", "ANY Endorsement"),
    )
    .unwrap();
    let update = compute_update(&current.channel_id, &current.config, &updated).unwrap();
    let app = &update.write_set.unwrap().groups["Application"];
    assert_eq!(app.policies["Endorsement"].version, 1);
    assert_eq!(
        app.version,
        current.config.channel_group.as_ref().unwrap().groups["Application"].version
    );

    let added = apply(
        &current.config,
        &edit("Application/Org1MSP/Auditors", "OR('Org1MSP.admin')"),
    )
    .unwrap();
    let org1 = &added.channel_group.unwrap().groups["Application"].groups["Org1MSP"];
    assert_eq!(org1.policies["Auditors"].mod_policy, "Admins");

    let why = refusal(
        &current.config,
        &edit("/Channel/Application/Org9MSP/Admins", "ANY Admins"),
    );
    assert!(
        why.contains("no group /Channel/Application/Org9MSP"),
        "{why}"
    );
    assert!(PolicyDef::parse("MOST Admins").is_err());
}

#[test]
fn acls_and_capabilities_are_set_and_unknown_names_refused() {
    let current = fabric_config();
    let updated = apply(
        &current.config,
        &Edit::SetAcl {
            resource: "qscc/GetChainInfo".into(),
            policy_ref: "/Channel/Application/Writers".into(),
        },
    )
    .unwrap();
    assert_eq!(
        typed(&updated).acl_policy("qscc/GetChainInfo").as_deref(),
        Some("/Channel/Application/Writers")
    );
    let removed = apply(
        &updated,
        &Edit::SetAcl {
            resource: "qscc/GetChainInfo".into(),
            policy_ref: String::new(),
        },
    )
    .unwrap();
    assert_eq!(
        typed(&removed).acl_policy("qscc/GetChainInfo"),
        typed(&current.config).acl_policy("qscc/GetChainInfo")
    );

    let caps = apply(
        &current.config,
        &Edit::SetCapabilities {
            level: CapabilityLevel::Application,
            names: vec!["V2_0".into(), "V2_5".into()],
        },
    )
    .unwrap();
    let app = typed(&caps).application.unwrap();
    assert!(
        app.capabilities.contains(&"V2_5".to_string()),
        "{:?}",
        app.capabilities
    );
    let why = refusal(
        &current.config,
        &Edit::SetCapabilities {
            level: CapabilityLevel::Orderer,
            names: vec!["V9_9".into()],
        },
    );
    assert!(why.contains("V9_9 is not a Orderer capability"), "{why}");
}

#[test]
fn consenters_are_added_rotated_in_place_and_never_all_removed() {
    let current = fabric_config();
    let existing = current.orderer.as_ref().unwrap().consenters[0].clone();
    let (a, b) = (tls_cert(), tls_cert());
    let add = Edit::AddConsenter(Consenter {
        host: "orderer2.example.com".into(),
        port: 7050,
        client_tls_cert: a.clone().into_bytes(),
        server_tls_cert: a.clone().into_bytes(),
    });
    let two = apply(&current.config, &add).unwrap();
    assert_eq!(typed(&two).orderer.unwrap().consenters.len(), 2);
    let why = refusal(&two, &add);
    assert!(why.contains("already in the channel"), "{why}");

    let rotate = |cert: &str| Edit::RotateConsenterCert {
        host: "orderer2.example.com".into(),
        port: 7050,
        client_tls_cert: cert.as_bytes().to_vec(),
        server_tls_cert: cert.as_bytes().to_vec(),
    };
    let rotated = apply(&two, &rotate(&b)).unwrap();
    let consenters = typed(&rotated).orderer.unwrap().consenters;
    assert_eq!(consenters.len(), 2, "rotation keeps the member count");
    assert_eq!(consenters[1].server_tls_cert, b.as_bytes());
    assert!(refusal(&rotated, &rotate(&b)).contains("already has these certificates"));
    let theirs = String::from_utf8(existing.server_tls_cert.clone()).unwrap();
    assert!(
        refusal(&rotated, &rotate(&theirs))
            .contains(&format!("consenter {}:{}", existing.host, existing.port))
    );
    assert!(refusal(&rotated, &rotate("not a cert")).contains("not a PEM certificate"));

    let remove = |host: &str, port: u32| Edit::RemoveConsenter {
        host: host.into(),
        port,
    };
    let one = apply(&rotated, &remove(&existing.host, existing.port.into())).unwrap();
    let left = typed(&one).orderer.unwrap().consenters;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].host, "orderer2.example.com");
    assert!(refusal(&one, &remove("orderer2.example.com", 7050)).contains("only consenter"));
    assert!(refusal(&one, &remove("nowhere", 1)).contains("no consenter at nowhere:1"));
}

#[test]
fn orderer_endpoints_must_be_host_and_port() {
    let current = fabric_config();
    let set = |e: &[&str]| Edit::SetOrdererEndpoints {
        org: "OrdererMSP".into(),
        endpoints: e.iter().map(|s| s.to_string()).collect(),
    };
    let updated = apply(
        &current.config,
        &set(&["orderer.example.com:7050", "o2.example.com:8050"]),
    )
    .unwrap();
    let endpoints = typed(&updated).orderer_endpoints();
    assert!(
        endpoints.contains(&"o2.example.com:8050".to_string()),
        "{endpoints:?}"
    );
    assert!(refusal(&current.config, &set(&["orderer.example.com"])).contains("not host:port"));
    assert!(refusal(&current.config, &set(&[])).contains("at least one endpoint"));
}

#[test]
fn a_new_ca_root_is_added_before_the_old_one_is_removed() {
    let current = fabric_config();
    let new_root = CertAuthority::new_root(
        &Subject::fabric_style("org1.example.com", "ca2.org1.example.com"),
        KeyType::EcdsaP256,
        Validity::days_from_now(3650),
    )
    .unwrap();
    let pem = new_root.cert_pem().as_bytes().to_vec();
    let add = Edit::AddRootCert {
        msp_id: "Org1MSP".into(),
        cert_pem: pem.clone(),
        tls: false,
    };
    let both = apply(&current.config, &add).unwrap();
    let msp = super::orgs::fabric_msp(
        &both.channel_group.as_ref().unwrap().groups["Application"].groups["Org1MSP"],
    )
    .unwrap();
    assert_eq!(msp.root_certs.len(), 2);
    // A member the new root issued is now an Org1 identity.
    let member = new_root
        .issue(
            &Subject::fabric_style("org1.example.com", "peer9.org1.example.com").with_ou("peer"),
            &[],
            Usage::Signing,
            KeyType::EcdsaP256,
            Validity::days_from_now(30),
        )
        .unwrap();
    let msps = typed(&both).msps;
    let id = crate::msp::Identity::new(MspId::new("Org1MSP"), member.cert_pem.as_bytes()).unwrap();
    msps.validate_identity(&id, crate::clock::unix_now())
        .unwrap();
    let before = typed(&current.config).msps;
    assert!(
        before
            .validate_identity(&id, crate::clock::unix_now())
            .is_err()
    );
    assert!(refusal(&both, &add).contains("already has this root"));
    // The old root goes; the last one stays.
    let old = super::orgs::fabric_msp(
        &current.config.channel_group.as_ref().unwrap().groups["Application"].groups["Org1MSP"],
    )
    .unwrap()
    .root_certs[0]
        .clone();
    let remove = |pem: Vec<u8>| Edit::RemoveRootCert {
        msp_id: "Org1MSP".into(),
        cert_pem: pem,
        tls: false,
    };
    let renewed = apply(&both, &remove(old)).unwrap();
    assert!(refusal(&renewed, &remove(pem)).contains("only root"));
    let ca_cert = tls_cert();
    let why = refusal(
        &current.config,
        &Edit::AddRootCert {
            msp_id: "Org1MSP".into(),
            cert_pem: ca_cert.into_bytes(),
            tls: true,
        },
    );
    assert!(why.contains("must be a CA certificate"), "{why}");
}
