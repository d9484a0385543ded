//! `crypto generate` and `genesis` end to end: generated material validates with
//! x509-parser and weft's MSP loader, and a genesis block from the sample
//! configtx.yaml decodes back to the channel config it was built from.

use std::path::{Path, PathBuf};

use prost::Message;
use weft_common::config::ChannelConfig;
use weft_common::ids::{ChannelId, MspId};
use weft_common::msp::{Msp, MspManager, Role, folder};
use weft_common::pki::KeyType;
use weft_configtx::cryptogen;
use weft_configtx::genesis::genesis_block;
use weft_configtx::profile::ConfigtxFile;
use weft_protos::common::{Block, ConfigEnvelope, Envelope, Payload};

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Copies the samples into a temp dir and generates their crypto there.
fn sample_network(key_type: KeyType) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["crypto-config.yaml", "configtx.yaml"] {
        std::fs::copy(samples().join(f), dir.path().join(f)).unwrap();
    }
    let cfg = cryptogen::load_config(&dir.path().join("crypto-config.yaml")).unwrap();
    cryptogen::generate(&cfg, &dir.path().join("crypto-config"), key_type).unwrap();
    dir
}

fn now() -> i64 {
    weft_common::clock::unix_now()
}

fn check_identity(msps: &MspManager, msp_dir: &Path, msp_id: &str, role: Role) {
    let signing = folder::load_signing_identity(msp_dir, &MspId::new(msp_id)).unwrap();
    let v = msps.validate(signing.serialized(), now()).unwrap();
    assert_eq!(v.role, Some(role), "{}", msp_dir.display());
    // The key in keystore/ signs for the certificate in signcerts/.
    let sig = signing.sign(b"probe").unwrap();
    signing.identity.verify(b"probe", &sig).unwrap();
}

fn generated_material_validates(key_type: KeyType) {
    let dir = sample_network(key_type);
    let org1 = dir
        .path()
        .join("crypto-config/peerOrganizations/org1.example.com");
    let orderer = dir
        .path()
        .join("crypto-config/ordererOrganizations/example.com");
    let org1_msp = folder::load(&org1.join("msp"), &MspId::new("Org1MSP")).unwrap();
    let ord_msp = folder::load(&orderer.join("msp"), &MspId::new("OrdererMSP")).unwrap();
    assert!(org1_msp.config.fabric_node_ous.as_ref().unwrap().enable);
    let msps = MspManager::new([
        Msp::from_config(&org1_msp.config).unwrap(),
        Msp::from_config(&ord_msp.config).unwrap(),
    ]);

    check_identity(
        &msps,
        &org1.join("peers/peer0.org1.example.com/msp"),
        "Org1MSP",
        Role::Peer,
    );
    check_identity(
        &msps,
        &org1.join("users/Admin@org1.example.com/msp"),
        "Org1MSP",
        Role::Admin,
    );
    check_identity(
        &msps,
        &org1.join("users/User1@org1.example.com/msp"),
        "Org1MSP",
        Role::Client,
    );
    check_identity(
        &msps,
        &orderer.join("orderers/orderer.example.com/msp"),
        "OrdererMSP",
        Role::Orderer,
    );

    // TLS certificates parse with x509-parser and name the host in their SANs.
    let tls = std::fs::read(org1.join("peers/peer0.org1.example.com/tls/server.crt")).unwrap();
    let pem = pem_der(&tls);
    let (_, cert) = x509_parser::parse_x509_certificate(&pem).unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.contains("peer0.org1.example.com")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n == "IPAddress(7f:00:00:01)"),
        "{names:?}"
    );
    // The TLS CA signed it.
    let ca = std::fs::read(org1.join("peers/peer0.org1.example.com/tls/ca.crt")).unwrap();
    let ca_der = pem_der(&ca);
    let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    cert.verify_signature(Some(ca_cert.public_key())).unwrap();
    assert!(ca_cert.is_ca());
}

fn pem_der(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[test]
fn generated_ecdsa_material_validates() {
    generated_material_validates(KeyType::EcdsaP256);
}

#[test]
fn generated_ed25519_material_validates() {
    generated_material_validates(KeyType::Ed25519);
}

#[test]
fn genesis_block_decodes_back_to_the_channel_config() {
    let dir = sample_network(KeyType::EcdsaP256);
    let file = ConfigtxFile::load(&dir.path().join("configtx.yaml")).unwrap();
    let channel = ChannelId::parse("mychannel").unwrap();
    let block = genesis_block(&file, "TwoOrgsApplicationGenesis", &channel).unwrap();

    // Through the wire format and back.
    let block = Block::decode(block.encode_to_vec().as_slice()).unwrap();
    weft_common::block::check_data_hash(&block).unwrap();
    let cfg = ChannelConfig::from_block(&block).unwrap();
    assert_eq!(cfg.channel_id, channel);
    assert_eq!(cfg.consortium.as_deref(), Some("SampleConsortium"));
    assert_eq!(cfg.capabilities, ["V3_0"]);
    // Written as configtxgen writes it: the empty Capability value is kept.
    let caps = &cfg.config.channel_group.as_ref().unwrap().values["Capabilities"].value;
    assert_eq!(
        caps,
        &[0x0a, 0x08, 0x0a, 0x04, b'V', b'3', b'_', b'0', 0x12, 0x00]
    );
    let app = cfg.application.as_ref().unwrap();
    assert_eq!(
        app.orgs.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["Org1MSP", "Org2MSP"]
    );
    assert_eq!(
        app.orgs[&MspId::new("Org2MSP")].anchor_peers,
        [("127.0.0.1".to_string(), 9051)]
    );
    let ord = cfg.orderer.as_ref().unwrap();
    assert_eq!(ord.batch_size.max_message_count, 10);
    assert_eq!(ord.batch_size.absolute_max_bytes, 99 * 1024 * 1024);
    assert_eq!(ord.batch_size.preferred_max_bytes, 512 * 1024);
    assert_eq!(ord.batch_timeout, std::time::Duration::from_secs(2));
    assert_eq!(ord.consenters.len(), 1);
    assert_eq!(
        ord.raft_options.unwrap().snapshot_interval_size,
        16 * 1024 * 1024
    );
    assert_eq!(cfg.orderer_endpoints(), ["127.0.0.1:7050"]);
    assert!(
        cfg.policies
            .get("/Channel/Application/LifecycleEndorsement")
            .is_some()
    );
    assert!(
        cfg.policies
            .get("/Channel/Orderer/BlockValidation")
            .is_some()
    );

    // The config inside the block is the config the profile describes, field for field.
    let env = Envelope::decode(block.data.as_ref().unwrap().data[0].as_slice()).unwrap();
    let payload = Payload::decode(env.payload.as_slice()).unwrap();
    let ce = ConfigEnvelope::decode(payload.data.as_slice()).unwrap();
    let profile = file.profile("TwoOrgsApplicationGenesis").unwrap();
    let rebuilt =
        weft_configtx::genesis::channel_group(&file, "TwoOrgsApplicationGenesis", profile).unwrap();
    assert_eq!(ce.config.unwrap().channel_group.unwrap(), rebuilt);

    // Users of the generated orgs satisfy the channel's policies.
    let admin = folder::load_signing_identity(
        &dir.path().join(
            "crypto-config/peerOrganizations/org1.example.com/users/User1@org1.example.com/msp",
        ),
        &MspId::new("Org1MSP"),
    )
    .unwrap();
    let signed = weft_common::policy::SignedData {
        identity: admin.serialized().to_vec(),
        data: b"x".to_vec(),
        signature: admin.sign(b"x").unwrap(),
    };
    let signers = weft_common::policy::verify_signers(&[signed], &cfg.msps, now());
    cfg.policies
        .evaluate("/Channel/Application/Writers", &signers, &cfg.msps)
        .unwrap();
    assert!(
        cfg.policies
            .evaluate("/Channel/Application/Admins", &signers, &cfg.msps)
            .is_err()
    );
}

#[test]
fn configuration_errors_name_the_file_the_field_and_the_fix() {
    let dir = sample_network(KeyType::EcdsaP256);
    let path = dir.path().join("configtx.yaml");
    let channel = ChannelId::parse("mychannel").unwrap();

    // A profile whose application uses an org outside its consortium.
    let text = std::fs::read_to_string(&path).unwrap();
    let narrowed = text.replace(
        "      - *Org1\n      - *Org2\n\nProfiles:",
        "      - *Org1\n\nProfiles:",
    );
    assert_ne!(text, narrowed);
    std::fs::write(&path, &narrowed).unwrap();
    let file = ConfigtxFile::load(&path).unwrap();
    let err = genesis_block(&file, "TwoOrgsApplicationGenesis", &channel)
        .unwrap_err()
        .to_string();
    assert!(err.contains("configtx.yaml"), "{err}");
    assert!(
        err.contains("Profiles.TwoOrgsApplicationGenesis.Application.Organizations"),
        "{err}"
    );
    assert!(
        err.contains("not a member of consortium SampleConsortium"),
        "{err}"
    );

    // An MSP folder without cacerts.
    std::fs::write(&path, &text).unwrap();
    std::fs::remove_dir_all(
        dir.path()
            .join("crypto-config/peerOrganizations/org2.example.com/msp/cacerts"),
    )
    .unwrap();
    let file = ConfigtxFile::load(&path).unwrap();
    let err = genesis_block(&file, "TwoOrgsApplicationGenesis", &channel)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Organizations.Org2MSP.MSPDir"), "{err}");
    assert!(
        err.contains("put the organisation's root CA certificate (PEM) in cacerts/"),
        "{err}"
    );

    // An unknown profile, and a bad policy rule.
    let err = genesis_block(&file, "NoSuchProfile", &channel)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such profile"), "{err}");
    std::fs::write(
        &path,
        text.replace("OR('Org1MSP.admin')", "OR('Org1MSP.boss')"),
    )
    .unwrap();
    let file = ConfigtxFile::load(&path).unwrap();
    let err = genesis_block(&file, "TwoOrgsApplicationGenesis", &channel)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Policies.Admins") && err.contains("unknown role 'boss'"),
        "{err}"
    );
}

#[test]
fn extend_issues_new_nodes_from_the_existing_cas_and_changes_nothing_else() {
    let dir = sample_network(KeyType::EcdsaP256);
    let out = dir.path().join("crypto-config");
    let org1 = out.join("peerOrganizations/org1.example.com");
    let snapshot = |p: &Path| std::fs::read(p).unwrap();
    let ca_key = snapshot(&org1.join("ca/priv_sk"));
    let peer0_key = snapshot(&org1.join("peers/peer0.org1.example.com/msp/keystore/priv_sk"));
    let admin_cert = snapshot(
        &org1.join("users/Admin@org1.example.com/msp/signcerts/Admin@org1.example.com-cert.pem"),
    );

    // Org1 grows to two peers.
    let text = std::fs::read_to_string(dir.path().join("crypto-config.yaml")).unwrap();
    let grown = text.replacen("Count: 1\n      SANS", "Count: 2\n      SANS", 1);
    assert_ne!(grown, text);
    std::fs::write(dir.path().join("crypto-config.yaml"), grown).unwrap();
    let cfg = cryptogen::load_config(&dir.path().join("crypto-config.yaml")).unwrap();
    cryptogen::extend(&cfg, &out, KeyType::EcdsaP256).unwrap();

    // What existed is untouched.
    assert_eq!(snapshot(&org1.join("ca/priv_sk")), ca_key);
    assert_eq!(
        snapshot(&org1.join("peers/peer0.org1.example.com/msp/keystore/priv_sk")),
        peer0_key
    );
    assert_eq!(
        snapshot(
            &org1
                .join("users/Admin@org1.example.com/msp/signcerts/Admin@org1.example.com-cert.pem")
        ),
        admin_cert
    );
    // The new peer is a peer of Org1's existing MSP, with a TLS certificate
    // from Org1's existing TLS CA.
    let org1_msp = folder::load(&org1.join("msp"), &MspId::new("Org1MSP")).unwrap();
    let msps = MspManager::new([Msp::from_config(&org1_msp.config).unwrap()]);
    check_identity(
        &msps,
        &org1.join("peers/peer1.org1.example.com/msp"),
        "Org1MSP",
        Role::Peer,
    );
    let tls = weft_common::msp::Certificate::from_pem(&snapshot(
        &org1.join("peers/peer1.org1.example.com/tls/server.crt"),
    ))
    .unwrap();
    let tlsca = weft_common::msp::Certificate::from_pem(&snapshot(
        &org1.join("tlsca/tlsca.org1.example.com-cert.pem"),
    ))
    .unwrap();
    assert!(tls.is_issued_by(&tlsca));
}
