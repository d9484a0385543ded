//! Reads and verifies the real Fabric 3.0 chain in `shared/fixtures/fabric-3.0-chain`
//! with weft's own code: hash chain, data hashes, orderer signatures against
//! `BlockValidation`, creator signatures, txids, endorsement signatures and
//! policies, read/write sets, lifecycle arguments, and block 0's config.

use std::path::PathBuf;

use prost::Message;
use weft_common::block::{
    check_data_hash, check_link, header_hash, signature_set, transactions_filter,
};
use weft_common::config::ChannelConfig;
use weft_common::policy::{PolicyDef, verify_signers};
use weft_common::tx::{TxValidationCode, UnpackedEnvelope};
use weft_protos::common::{Block, HeaderType};
use weft_protos::lifecycle::ApproveChaincodeDefinitionForMyOrgArgs;
use weft_protos::protos::{ChaincodeInvocationSpec, ChaincodeProposalPayload};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/fabric-3.0-chain")
}

fn load_chain() -> Vec<Block> {
    (0..=6)
        .map(|n| {
            let path = fixture_dir().join(format!("block-{n}.pb"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Block::decode(bytes.as_slice()).expect("fixture block decodes")
        })
        .collect()
}

/// Unix time inside the fixture certificates' validity (the chain was made on 2026-11-21).
const NOW: i64 = 1_795_276_100;

#[test]
fn hash_chain_and_data_hashes_verify() {
    let chain = load_chain();
    for b in &chain {
        check_data_hash(b).unwrap();
    }
    for pair in chain.windows(2) {
        check_link(&pair[0], &pair[1]).unwrap();
    }
    // The genesis block has no previous hash; block 1 names block 0's hash.
    assert!(chain[0].header.as_ref().unwrap().previous_hash.is_empty());
    assert_eq!(
        chain[1].header.as_ref().unwrap().previous_hash,
        header_hash(chain[0].header.as_ref().unwrap())
    );
}

#[test]
fn genesis_config_loads_into_the_bundle() {
    let chain = load_chain();
    let cfg = ChannelConfig::from_block(&chain[0]).unwrap();
    assert_eq!(cfg.channel_id.as_str(), "b250ms500");
    assert_eq!(cfg.sequence(), 0);
    assert_eq!(cfg.hashing_algorithm, "SHA256");
    assert_eq!(cfg.block_data_hashing_width, u32::MAX);
    let app = cfg.application.as_ref().unwrap();
    let orgs: Vec<&str> = app.orgs.keys().map(|m| m.as_str()).collect();
    assert_eq!(orgs, ["Org1MSP", "Org2MSP"]);
    assert_eq!(
        app.orgs[&"Org1MSP".into()].anchor_peers,
        vec![("127.0.0.1".to_string(), 7051)]
    );
    assert_eq!(app.capabilities, ["V2_5"]);
    let ord = cfg.orderer.as_ref().unwrap();
    assert_eq!(ord.consensus_type, "etcdraft");
    assert_eq!(ord.batch_size.max_message_count, 500);
    assert_eq!(ord.batch_timeout, std::time::Duration::from_millis(250));
    assert_eq!(ord.consenters.len(), 1);
    assert_eq!(ord.consenters[0].port, 7050);
    assert_eq!(
        ord.raft_options.unwrap().tick_interval,
        std::time::Duration::from_millis(500)
    );
    assert_eq!(cfg.orderer_endpoints(), ["127.0.0.1:7050"]);
    assert!(cfg.msps.get(&"OrdererMSP".into()).is_some());
    assert!(matches!(
        cfg.policies.get("/Channel/Orderer/BlockValidation"),
        Some(PolicyDef::ImplicitMeta { .. })
    ));
    assert!(matches!(
        cfg.policies.get("/Channel/Application/Org1MSP/Endorsement"),
        Some(PolicyDef::Signature(_))
    ));
    assert_eq!(
        cfg.acl_policy("peer/Propose").as_deref(),
        Some("/Channel/Application/Writers")
    );
}

#[test]
fn orderer_signatures_satisfy_block_validation() {
    let chain = load_chain();
    let cfg = ChannelConfig::from_block(&chain[0]).unwrap();
    for b in &chain[1..] {
        let signers = verify_signers(&signature_set(b).unwrap(), &cfg.msps, NOW);
        assert!(signers.refused.is_empty(), "{:?}", signers.refused);
        cfg.policies
            .evaluate("/Channel/Orderer/BlockValidation", &signers, &cfg.msps)
            .unwrap();
    }
}

#[test]
fn a_tampered_block_signature_fails_block_validation() {
    let chain = load_chain();
    let cfg = ChannelConfig::from_block(&chain[0]).unwrap();
    let mut block = chain[3].clone();
    block.header.as_mut().unwrap().number += 100; // the signature covers the header
    let signers = verify_signers(&signature_set(&block).unwrap(), &cfg.msps, NOW);
    assert_eq!(signers.valid.len(), 0);
    let err = cfg
        .policies
        .evaluate("/Channel/Orderer/BlockValidation", &signers, &cfg.msps)
        .unwrap_err();
    assert!(err.to_string().contains("BlockValidation"), "{err}");
}

#[test]
fn transactions_verify_as_fabric_validated_them() {
    let chain = load_chain();
    let cfg = ChannelConfig::from_block(&chain[0]).unwrap();
    let mut endorser_txs = 0;
    for b in &chain[1..] {
        let filter = transactions_filter(b);
        for (i, env_bytes) in b.data.as_ref().unwrap().data.iter().enumerate() {
            let env = UnpackedEnvelope::from_bytes(env_bytes).unwrap();
            assert_eq!(env.header_type(), HeaderType::EndorserTransaction as i32);
            env.check_txid().unwrap();
            let creator = verify_signers(&[env.creator_signed_data()], &cfg.msps, NOW);
            assert_eq!(
                creator.valid.len(),
                1,
                "creator signature of tx {i}: {:?}",
                creator.refused
            );
            let tx = env.endorser_transaction().unwrap();
            let endorsers = verify_signers(&tx.action.endorsement_signed_data(), &cfg.msps, NOW);
            assert!(endorsers.refused.is_empty(), "{:?}", endorsers.refused);
            assert_eq!(endorsers.valid.len(), tx.action.endorsements.len());
            let approval = tx.chaincode == "_lifecycle" && b.header.as_ref().unwrap().number == 1;
            if approval {
                // An approval is endorsed by the approving org's own peer only.
                assert_eq!(endorsers.valid.len(), 1);
                let org = endorsers.valid[0].identity.msp_id().clone();
                cfg.policies
                    .evaluate(
                        &format!("/Channel/Application/{org}/Endorsement"),
                        &endorsers,
                        &cfg.msps,
                    )
                    .unwrap();
            } else {
                // The commit and `asset` use MAJORITY Endorsement: both orgs' peers.
                cfg.policies
                    .evaluate("/Channel/Application/Endorsement", &endorsers, &cfg.msps)
                    .unwrap();
                let only_one = weft_common::policy::Signers {
                    valid: endorsers.valid[..1].to_vec(),
                    refused: vec![],
                };
                let err = cfg
                    .policies
                    .evaluate("/Channel/Application/Endorsement", &only_one, &cfg.msps)
                    .unwrap_err();
                assert!(
                    err.to_string()
                        .contains("MAJORITY Endorsement needs 2 of 2 groups, 1 satisfied"),
                    "{err}"
                );
            }
            // Fabric recorded these as VALID (the peer's filter may be absent from orderer blocks).
            if let Some(code) = filter.get(i) {
                assert_eq!(*code, TxValidationCode::Valid as u8);
            }
            endorser_txs += 1;
        }
    }
    assert_eq!(
        endorser_txs,
        2 + 1 + 4 * 5,
        "every endorser transaction of blocks 1-6 was checked"
    );
}

#[test]
fn read_write_sets_and_lifecycle_arguments_decode() {
    let chain = load_chain();
    // Block 1: ApproveChaincodeDefinitionForMyOrg by each org for `asset` 1.0, sequence 1.
    for env_bytes in &chain[1].data.as_ref().unwrap().data {
        let tx = UnpackedEnvelope::from_bytes(env_bytes)
            .unwrap()
            .endorser_transaction()
            .unwrap();
        assert_eq!(tx.chaincode, "_lifecycle");
        let cpp = ChaincodeProposalPayload::decode(tx.action.chaincode_proposal_payload.as_slice())
            .unwrap();
        let spec = ChaincodeInvocationSpec::decode(cpp.input.as_slice()).unwrap();
        let args = &spec.chaincode_spec.unwrap().input.unwrap().args;
        assert_eq!(args[0], b"ApproveChaincodeDefinitionForMyOrg");
        let approve = ApproveChaincodeDefinitionForMyOrgArgs::decode(args[1].as_slice()).unwrap();
        assert_eq!(
            (
                approve.name.as_str(),
                approve.version.as_str(),
                approve.sequence
            ),
            ("asset", "1.0", 1)
        );
        assert!(
            tx.action
                .rwset
                .iter()
                .any(|ns| ns.namespace == "_lifecycle")
        );
    }
    // Blocks 3-6: CreateAsset writes one key in `asset` after reading it as absent.
    for b in &chain[3..] {
        for env_bytes in &b.data.as_ref().unwrap().data {
            let tx = UnpackedEnvelope::from_bytes(env_bytes)
                .unwrap()
                .endorser_transaction()
                .unwrap();
            assert_eq!(tx.chaincode, "asset");
            let ns = tx
                .action
                .rwset
                .iter()
                .find(|ns| ns.namespace == "asset")
                .unwrap();
            assert_eq!(ns.kv.reads.len(), 1);
            assert!(
                ns.kv.reads[0].version.is_none(),
                "the key did not exist before"
            );
            assert_eq!(ns.kv.writes.len(), 1);
            assert_eq!(ns.kv.writes[0].key, ns.kv.reads[0].key);
            let asset: serde_json_value::Value =
                serde_json_value::from_slice(&ns.kv.writes[0].value);
            assert_eq!(asset.id(), ns.kv.writes[0].key);
        }
    }
}

#[test]
fn flipped_bytes_are_caught_with_the_matching_code() {
    let chain = load_chain();
    let cfg = ChannelConfig::from_block(&chain[0]).unwrap();
    let env_bytes = &chain[3].data.as_ref().unwrap().data[0];
    let env = weft_protos::common::Envelope::decode(env_bytes.as_slice()).unwrap();

    // A flipped byte in the creator's signature: the signature no longer verifies.
    let mut bad_sig = env.clone();
    let last = bad_sig.signature.len() - 5;
    bad_sig.signature[last] ^= 1;
    let unpacked = UnpackedEnvelope::from_envelope(&bad_sig).unwrap();
    assert!(
        verify_signers(&[unpacked.creator_signed_data()], &cfg.msps, NOW)
            .valid
            .is_empty()
    );

    // A flipped txid: BAD_PROPOSAL_TXID.
    let mut payload = weft_protos::common::Payload::decode(env.payload.as_slice()).unwrap();
    let mut header = payload.header.clone().unwrap();
    let mut ch =
        weft_protos::common::ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
    ch.tx_id
        .replace_range(0..1, if ch.tx_id.starts_with('0') { "1" } else { "0" });
    header.channel_header = ch.encode_to_vec();
    payload.header = Some(header);
    let bad_txid = weft_protos::common::Envelope {
        payload: payload.encode_to_vec(),
        signature: env.signature.clone(),
    };
    let unpacked = UnpackedEnvelope::from_envelope(&bad_txid).unwrap();
    assert_eq!(
        unpacked.check_txid().unwrap_err().code,
        TxValidationCode::BadProposalTxid
    );
    // ... and the creator's signature no longer covers the payload either.
    assert!(
        verify_signers(&[unpacked.creator_signed_data()], &cfg.msps, NOW)
            .valid
            .is_empty()
    );
}

/// Just enough JSON for the asset check, without a serde dependency in this test.
mod serde_json_value {
    pub struct Value(String);
    pub fn from_slice(b: &[u8]) -> Value {
        Value(String::from_utf8(b.to_vec()).expect("asset JSON is UTF-8"))
    }
    impl Value {
        pub fn id(&self) -> String {
            let start = self.0.find("\"ID\":\"").expect("asset has an ID") + 6;
            let end = self.0[start..].find('"').unwrap() + start;
            self.0[start..end].to_string()
        }
    }
}

/// Every `ConfigValue` below `group`, with its path.
fn values<'a>(
    group: &'a weft_protos::common::ConfigGroup,
    path: &str,
    out: &mut Vec<(String, &'a weft_protos::common::ConfigValue)>,
) {
    for (name, v) in &group.values {
        out.push((format!("{path}/{name}"), v));
    }
    for (name, g) in &group.groups {
        values(g, &format!("{path}/{name}"), out);
    }
}

#[test]
fn weft_encodes_fabrics_genesis_config_as_go_wrote_it() {
    use weft_common::config::go_encoding;
    use weft_protos::common::{Capabilities, ConfigEnvelope, Payload};
    let chain = load_chain();
    let env = UnpackedEnvelope::from_bytes(&chain[0].data.as_ref().unwrap().data[0]).unwrap();
    let fabric_bytes = Payload::decode(env.payload_bytes.as_slice()).unwrap().data;
    let config = ConfigEnvelope::decode(fabric_bytes.as_slice()).unwrap();

    // Capabilities values (one entry each, so Go's map order cannot differ):
    // byte for byte, empty Capability messages included.
    let mut all = Vec::new();
    values(
        config
            .config
            .as_ref()
            .unwrap()
            .channel_group
            .as_ref()
            .unwrap(),
        "Channel",
        &mut all,
    );
    let caps: Vec<_> = all
        .iter()
        .filter(|(p, _)| p.ends_with("/Capabilities"))
        .collect();
    assert_eq!(
        caps.len(),
        3,
        "channel, orderer and application capabilities"
    );
    for (path, v) in caps {
        let decoded = Capabilities::decode(v.value.as_slice()).unwrap();
        assert_eq!(go_encoding::capabilities(&decoded), v.value, "{path}");
        assert_ne!(
            decoded.encode_to_vec(),
            v.value,
            "{path}: prost alone differs"
        );
    }
    // The whole envelope: the same message in exactly as many bytes (Go's
    // random map order aside, the bytes are the same).
    let ours = go_encoding::config_envelope(&config);
    assert_eq!(ours.len(), fabric_bytes.len());
    assert_eq!(ConfigEnvelope::decode(ours.as_slice()).unwrap(), config);
}
