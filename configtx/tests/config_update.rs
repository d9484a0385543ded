//! Config updates end to end on the sample network: compute an update from two
//! configs, sign it as admins, validate and apply it as orderers and peers do.

use std::path::PathBuf;

use prost::Message;
use weft_common::config::ChannelConfig;
use weft_common::config::update::{
    add_signature, apply_update, compute_update, review_update, sign_config_update,
};
use weft_common::ids::{ChannelId, MspId};
use weft_common::msp::{SigningIdentity, folder};
use weft_common::pki::{CertAuthority, KeyType};
use weft_configtx::profile::ConfigtxFile;
use weft_protos::common::{Config, ConfigUpdateEnvelope, ConfigValue};
use weft_protos::msp::{FabricMspConfig, MspConfig};
use weft_protos::orderer::BatchSize;

fn now() -> i64 {
    weft_common::clock::unix_now()
}

struct Sample {
    dir: tempfile::TempDir,
    config: ChannelConfig,
    block: weft_protos::common::Block,
}

impl Sample {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
        for f in ["crypto-config.yaml", "configtx.yaml"] {
            std::fs::copy(samples.join(f), dir.path().join(f)).unwrap();
        }
        let mut cc =
            weft_configtx::cryptogen::load_config(&dir.path().join("crypto-config.yaml")).unwrap();
        cc.peer_orgs.push(weft_configtx::cryptogen::OrgSpec {
            name: "Org3".into(),
            domain: "org3.example.com".into(),
            enable_node_ous: true,
            ca: None,
            specs: vec![],
            template: None,
            users: None,
        });
        weft_configtx::cryptogen::generate(
            &cc,
            &dir.path().join("crypto-config"),
            KeyType::EcdsaP256,
        )
        .unwrap();
        let file = ConfigtxFile::load(&dir.path().join("configtx.yaml")).unwrap();
        let block = weft_configtx::genesis::genesis_block(
            &file,
            "TwoOrgsApplicationGenesis",
            &ChannelId::parse("mychannel").unwrap(),
        )
        .unwrap();
        Self {
            config: ChannelConfig::from_block(&block).unwrap(),
            block,
            dir,
        }
    }

    fn org(&self, domain: &str) -> PathBuf {
        let kind = if domain == "example.com" {
            "ordererOrganizations"
        } else {
            "peerOrganizations"
        };
        self.dir
            .path()
            .join("crypto-config")
            .join(kind)
            .join(domain)
    }

    fn admin(&self, domain: &str, msp: &str) -> SigningIdentity {
        folder::load_signing_identity(
            &self.org(domain).join(format!("users/Admin@{domain}/msp")),
            &MspId::new(msp),
        )
        .unwrap()
    }

    fn user(&self, domain: &str, msp: &str) -> SigningIdentity {
        folder::load_signing_identity(
            &self.org(domain).join(format!("users/User1@{domain}/msp")),
            &MspId::new(msp),
        )
        .unwrap()
    }
}

fn envelope(
    current: &Config,
    updated: &Config,
    signers: &[&SigningIdentity],
) -> ConfigUpdateEnvelope {
    let update = compute_update(&ChannelId::new("mychannel"), current, updated)
        .unwrap()
        .encode_to_vec();
    let signatures = signers
        .iter()
        .map(|s| sign_config_update(&update, s).unwrap())
        .collect();
    ConfigUpdateEnvelope {
        config_update: update,
        signatures,
    }
}

fn group<'a>(c: &'a mut Config, path: &[&str]) -> &'a mut weft_protos::common::ConfigGroup {
    let mut g = c.channel_group.as_mut().unwrap();
    for p in path {
        g = g.groups.get_mut(*p).unwrap();
    }
    g
}

#[test]
fn batch_size_change_needs_the_orderer_admins() {
    let s = Sample::new();
    let mut updated = s.config.config.clone();
    let ord = group(&mut updated, &["Orderer"]);
    let mut bs = BatchSize::decode(ord.values["BatchSize"].value.as_slice()).unwrap();
    bs.max_message_count = 20;
    ord.values.get_mut("BatchSize").unwrap().value = bs.encode_to_vec();

    let org1_admin = s.admin("org1.example.com", "Org1MSP");
    let err = apply_update(
        &s.config,
        &envelope(&s.config.config, &updated, &[&org1_admin]),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("value /Channel/Orderer/BatchSize") && err.contains("/Channel/Orderer/Admins"),
        "{err}"
    );

    let orderer_admin = s.admin("example.com", "OrdererMSP");
    let new = apply_update(
        &s.config,
        &envelope(&s.config.config, &updated, &[&orderer_admin]),
        now(),
    )
    .unwrap();
    assert_eq!(new.sequence, 1);
    let bundle = ChannelConfig::from_config(s.config.channel_id.clone(), &new).unwrap();
    assert_eq!(bundle.orderer.unwrap().batch_size.max_message_count, 20);
    assert_eq!(
        group(&mut new.clone(), &["Orderer"]).values["BatchSize"].version,
        1
    );

    // The same update again is stale: its read set no longer matches.
    let next = ChannelConfig::from_config(s.config.channel_id.clone(), &new).unwrap();
    let mut again = updated.clone();
    let ord = group(&mut again, &["Orderer"]);
    bs.max_message_count = 30;
    ord.values.get_mut("BatchSize").unwrap().value = bs.encode_to_vec();
    let err = apply_update(
        &next,
        &envelope(&s.config.config, &again, &[&orderer_admin]),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("version"), "{err}");
}

#[test]
fn adding_an_org_needs_a_majority_of_application_admins() {
    let s = Sample::new();
    let org3 = folder::load(
        &s.org("org3.example.com").join("msp"),
        &MspId::new("Org3MSP"),
    )
    .unwrap();
    let mut updated = s.config.config.clone();
    let app = group(&mut updated, &["Application"]);
    let mut org3_group = app.groups["Org1MSP"].clone();
    org3_group.values.insert(
        "MSP".into(),
        ConfigValue {
            version: 0,
            mod_policy: "Admins".into(),
            value: MspConfig {
                r#type: 0,
                config: org3.config.encode_to_vec(),
            }
            .encode_to_vec(),
        },
    );
    org3_group.values.remove("AnchorPeers");
    for (_, p) in org3_group.policies.iter_mut() {
        let text = weft_common::policy::SignaturePolicy::decode(&p.policy.as_ref().unwrap().value)
            .unwrap()
            .to_string()
            .replace("Org1MSP", "Org3MSP");
        p.policy.as_mut().unwrap().value = weft_common::policy::parse_signature_policy(&text)
            .unwrap()
            .encode();
    }
    app.groups.insert("Org3MSP".into(), org3_group);

    let org1 = s.admin("org1.example.com", "Org1MSP");
    let org2 = s.admin("org2.example.com", "Org2MSP");
    let err = apply_update(
        &s.config,
        &envelope(&s.config.config, &updated, &[&org1]),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("group /Channel/Application")
            && err.contains("it still needs 1 more of the Admins of Org2MSP"),
        "{err}"
    );
    // The offline round: Org1's signature alone is reviewed as short of
    // Org2's; once Org2 signs, the update is complete.
    let by_org1 = envelope(&s.config.config, &updated, &[&org1]);
    let review = review_update(&s.config, &by_org1, now()).unwrap();
    assert!(!review.complete());
    let app_change = review
        .changes
        .iter()
        .find(|c| c.element == "group /Channel/Application")
        .unwrap();
    assert_eq!(
        app_change.needs.as_deref(),
        Some("1 more of the Admins of Org2MSP to sign")
    );
    assert!(
        review
            .changes
            .iter()
            .any(|c| c.element == "group /Channel/Application/Org3MSP" && c.added)
    );
    let text = review.to_string();
    assert!(text.contains("Not ready"), "{text}");
    let by_both = add_signature(&by_org1, &org2).unwrap();
    let review = review_update(&s.config, &by_both, now()).unwrap();
    assert!(review.complete(), "{review}");
    let new = apply_update(
        &s.config,
        &envelope(&s.config.config, &updated, &[&org1, &org2]),
        now(),
    )
    .unwrap();
    let bundle = ChannelConfig::from_config(s.config.channel_id.clone(), &new).unwrap();
    assert!(
        bundle
            .application
            .unwrap()
            .orgs
            .contains_key(&MspId::new("Org3MSP"))
    );
    assert!(bundle.msps.get(&MspId::new("Org3MSP")).is_some());
}

#[test]
fn a_crl_added_by_the_org_admin_revokes_its_user() {
    let s = Sample::new();
    let user = s.user("org1.example.com", "Org1MSP");
    assert!(s.config.msps.validate(user.serialized(), now()).is_ok());

    // Org1's CA revokes User1 and the org admin puts the CRL into the channel's MSP.
    let ca_dir = s.org("org1.example.com").join("ca");
    let ca = CertAuthority::from_pem(
        &std::fs::read_to_string(ca_dir.join("ca.org1.example.com-cert.pem")).unwrap(),
        &std::fs::read_to_string(ca_dir.join("priv_sk")).unwrap(),
    )
    .unwrap();
    let crl = ca
        .crl(&[user.identity.certificate().serial.clone()], 1, 30)
        .unwrap();
    let mut updated = s.config.config.clone();
    let org1 = group(&mut updated, &["Application", "Org1MSP"]);
    let msp_value = org1.values.get_mut("MSP").unwrap();
    let mut msp = MspConfig::decode(msp_value.value.as_slice()).unwrap();
    let mut fabric = FabricMspConfig::decode(msp.config.as_slice()).unwrap();
    fabric.revocation_list.push(crl.into_bytes());
    msp.config = fabric.encode_to_vec();
    msp_value.value = msp.encode_to_vec();

    let org2 = s.admin("org2.example.com", "Org2MSP");
    let err = apply_update(
        &s.config,
        &envelope(&s.config.config, &updated, &[&org2]),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("/Channel/Application/Org1MSP/Admins"),
        "another org's admin cannot change Org1's MSP: {err}"
    );
    let new = apply_update(
        &s.config,
        &envelope(
            &s.config.config,
            &updated,
            &[&s.admin("org1.example.com", "Org1MSP")],
        ),
        now(),
    )
    .unwrap();
    let bundle = ChannelConfig::from_config(s.config.channel_id.clone(), &new).unwrap();
    let err = bundle
        .msps
        .validate(user.serialized(), now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("revoked"), "{err}");
}

#[test]
fn malformed_and_foreign_updates_are_refused() {
    let s = Sample::new();
    let admin = s.admin("example.com", "OrdererMSP");
    let garbage = ConfigUpdateEnvelope {
        config_update: vec![0xff, 0x01],
        signatures: vec![],
    };
    assert!(apply_update(&s.config, &garbage, now()).is_err());
    let mut updated = s.config.config.clone();
    group(&mut updated, &["Orderer"]).mod_policy = "Writers".into();
    let mut env = envelope(&s.config.config, &updated, &[&admin]);
    let mut update =
        weft_protos::common::ConfigUpdate::decode(env.config_update.as_slice()).unwrap();
    update.channel_id = "otherchannel".into();
    env.config_update = update.encode_to_vec();
    let err = apply_update(&s.config, &env, now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("otherchannel"), "{err}");
}

/// Runs `weft-configtx` with `args` and `envs`; its stdout and stderr.
fn cli(args: &[&std::ffi::OsStr], envs: &[(&str, &std::path::Path)]) -> (String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft-configtx"))
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_os_str())))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "weft-configtx {args:?}: {stderr}");
    (stdout, stderr)
}

#[test]
fn admins_sign_an_update_file_in_turn_and_inspect_says_who_is_missing() {
    let s = Sample::new();
    let mut updated = s.config.config.clone();
    // A change a majority of the application admins must approve: the
    // channel's endorsement policy becomes ANY Endorsement.
    let app = group(&mut updated, &["Application"]);
    let policy = app.policies.get_mut("Endorsement").unwrap();
    policy.policy.as_mut().unwrap().value = weft_protos::common::ImplicitMetaPolicy {
        sub_policy: "Endorsement".into(),
        rule: weft_protos::common::implicit_meta_policy::Rule::Any as i32,
    }
    .encode_to_vec();
    let update = compute_update(&ChannelId::new("mychannel"), &s.config.config, &updated)
        .unwrap()
        .encode_to_vec();
    let file = s.dir.path().join("update.pb");
    std::fs::write(&file, update).unwrap();
    let block = s.dir.path().join("config.block");
    std::fs::write(&block, s.block.encode_to_vec()).unwrap();
    let inspect = || {
        cli(
            &[
                "update".as_ref(),
                "inspect".as_ref(),
                file.as_os_str(),
                "--config-block".as_ref(),
                block.as_os_str(),
            ],
            &[],
        )
        .0
    };
    let sign = |domain: &str, msp: &str| {
        let dir = s.org(domain).join(format!("users/Admin@{domain}/msp"));
        let (_, stderr) = cli(
            &["update".as_ref(), "sign".as_ref(), file.as_os_str()],
            &[
                ("CORE_PEER_MSPCONFIGPATH", dir.as_path()),
                ("CORE_PEER_LOCALMSPID", std::path::Path::new(msp)),
            ],
        );
        stderr
    };

    // Unsigned: both orgs' admins are needed.
    let text = inspect();
    assert!(
        text.contains(
            "changes policy /Channel/Application/Endorsement: needs 2 more of the Admins of Org1MSP, Org2MSP to sign"
        ),
        "{text}"
    );
    assert!(text.contains("Not ready"), "{text}");
    // Org1's admin signs; the file is now a CONFIG_UPDATE envelope.
    assert!(sign("org1.example.com", "Org1MSP").contains("1 signature(s)"));
    let text = inspect();
    assert!(
        text.contains("needs 1 more of the Admins of Org2MSP to sign"),
        "{text}"
    );
    let partial = weft_configtx::update_file::UpdateFile::read(&file).unwrap();
    let err = apply_update(&s.config, &partial.envelope, now())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("it still needs 1 more of the Admins of Org2MSP"),
        "{err}"
    );
    // Org2's admin signs, offline, on the same file.
    assert!(sign("org2.example.com", "Org2MSP").contains("2 signature(s)"));
    let text = inspect();
    assert!(text.contains("Ready to submit."), "{text}");
    // The result applies as an orderer would apply it.
    let signed = weft_configtx::update_file::UpdateFile::read(&file).unwrap();
    apply_update(&s.config, &signed.envelope, now()).unwrap();
}

/// Org3's own configtx.yaml, as the new org writes it on its own host.
const ORG3_CONFIGTX: &str = r#"
Organizations:
  - &Org3
    Name: Org3MSP
    ID: Org3MSP
    MSPDir: ../crypto-config/peerOrganizations/org3.example.com/msp
    Policies:
      Readers: { Type: Signature, Rule: "OR('Org3MSP.admin', 'Org3MSP.peer', 'Org3MSP.client')" }
      Writers: { Type: Signature, Rule: "OR('Org3MSP.admin', 'Org3MSP.client')" }
      Admins: { Type: Signature, Rule: "OR('Org3MSP.admin')" }
      Endorsement: { Type: Signature, Rule: "OR('Org3MSP.peer')" }
    AnchorPeers:
      - { Host: peer0.org3.example.com, Port: 11051 }
"#;

#[test]
fn an_org_printed_on_its_host_is_added_by_one_admin_and_signed_by_another() {
    let s = Sample::new();
    let org3 = s.dir.path().join("org3");
    std::fs::create_dir(&org3).unwrap();
    std::fs::write(org3.join("configtx.yaml"), ORG3_CONFIGTX).unwrap();
    let (json, _) = cli(
        &[
            "org".as_ref(),
            "print".as_ref(),
            "Org3MSP".as_ref(),
            "--config".as_ref(),
            org3.join("configtx.yaml").as_os_str(),
        ],
        &[],
    );
    let definition = s.dir.path().join("org3.json");
    std::fs::write(&definition, &json).unwrap();
    let block = s.dir.path().join("config.block");
    std::fs::write(&block, s.block.encode_to_vec()).unwrap();
    let admin_env = |domain: &str, msp: &str| {
        (
            s.org(domain).join(format!("users/Admin@{domain}/msp")),
            std::path::PathBuf::from(msp),
        )
    };
    let add = |extra: &[&std::ffi::OsStr], who: Option<(&std::path::Path, &std::path::Path)>| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "channel".as_ref(),
            "org".as_ref(),
            "add".as_ref(),
            definition.as_os_str(),
            "--config-block".as_ref(),
            block.as_os_str(),
        ];
        args.extend_from_slice(extra);
        let envs: Vec<(&str, &std::path::Path)> = who
            .map(|(msp, id)| {
                vec![
                    ("CORE_PEER_MSPCONFIGPATH", msp),
                    ("CORE_PEER_LOCALMSPID", id),
                ]
            })
            .unwrap_or_default();
        cli(&args, &envs)
    };

    // The dry run shows the change and who must sign, and writes nothing.
    let (text, _) = add(&["--dry-run".as_ref()], None);
    assert!(text.contains("+ /Application/Org3MSP"), "{text}");
    assert!(
        text.contains("needs 2 more of the Admins of Org1MSP, Org2MSP to sign"),
        "{text}"
    );

    // Org1's admin proposes: the file carries its signature.
    let (msp1, id1) = admin_env("org1.example.com", "Org1MSP");
    let (text, _) = add(&[], Some((&msp1, &id1)));
    assert!(
        text.contains("needs 1 more of the Admins of Org2MSP"),
        "{text}"
    );
    let file = std::env::current_dir().unwrap().join("mychannel_update.pb");
    let moved = s.dir.path().join("org3_update.pb");
    std::fs::rename(&file, &moved).unwrap();
    let proposed = weft_configtx::update_file::UpdateFile::read(&moved).unwrap();
    let err = apply_update(&s.config, &proposed.envelope, now())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("it still needs 1 more of the Admins of Org2MSP"),
        "{err}"
    );

    // Org2's admin signs the same file offline; signing twice adds nothing.
    let (msp2, id2) = admin_env("org2.example.com", "Org2MSP");
    let sign = || {
        cli(
            &["update".as_ref(), "sign".as_ref(), moved.as_os_str()],
            &[
                ("CORE_PEER_MSPCONFIGPATH", &msp2),
                ("CORE_PEER_LOCALMSPID", &id2),
            ],
        )
        .1
    };
    assert!(sign().contains("2 signature(s)"));
    assert!(sign().contains("already signed"));
    let signed = weft_configtx::update_file::UpdateFile::read(&moved).unwrap();
    assert_eq!(signed.envelope.signatures.len(), 2);
    let next = apply_update(&s.config, &signed.envelope, now()).unwrap();
    let next = ChannelConfig::from_config(ChannelId::new("mychannel"), &next).unwrap();
    let org3 = &next.application.as_ref().unwrap().orgs[&MspId::new("Org3MSP")];
    assert_eq!(
        org3.anchor_peers,
        [("peer0.org3.example.com".to_string(), 11051)]
    );
}

#[test]
fn compute_update_writes_what_configtxlator_would() {
    let s = Sample::new();
    let mut updated = s.config.config.clone();
    let ord = group(&mut updated, &["Orderer"]);
    ord.values.get_mut("BatchTimeout").unwrap().value = weft_protos::orderer::BatchTimeout {
        timeout: "750ms".into(),
    }
    .encode_to_vec();
    let (block, wanted, out) = (
        s.dir.path().join("config.block"),
        s.dir.path().join("modified_config.pb"),
        s.dir.path().join("update.pb"),
    );
    std::fs::write(&block, s.block.encode_to_vec()).unwrap();
    std::fs::write(&wanted, updated.encode_to_vec()).unwrap();
    cli(
        &[
            "compute-update".as_ref(),
            "--original".as_ref(),
            block.as_os_str(),
            "--updated".as_ref(),
            wanted.as_os_str(),
            "--output".as_ref(),
            out.as_os_str(),
        ],
        &[],
    );
    let expected =
        compute_update(&ChannelId::new("mychannel"), &s.config.config, &updated).unwrap();
    let written =
        weft_protos::common::ConfigUpdate::decode(std::fs::read(&out).unwrap().as_slice()).unwrap();
    assert_eq!(written, expected);
    assert_eq!(written.channel_id, "mychannel");
}
