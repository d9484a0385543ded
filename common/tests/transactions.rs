//! Building transactions the way clients and endorsers do, then unpacking and
//! verifying them the way committers do; and signing blocks as orderers do.

use prost::Message;
use weft_common::block::{check_data_hash, check_link, new_block, sign_block, signature_set};
use weft_common::ids::ChannelId;
use weft_common::msp::{Msp, MspManager, SigningIdentity};
use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
use weft_common::policy::{parse_signature_policy, verify_signers};
use weft_common::tx::{
    ProposalBuilder, TxValidationCode, UnpackedEnvelope, assemble_transaction, compute_txid,
    create_proposal_response,
};
use weft_protos::msp::{FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};
use weft_protos::protos::{ChaincodeId, Response};

fn now() -> i64 {
    weft_common::clock::unix_now()
}

struct Org {
    msp: Msp,
    ca: CertAuthority,
    id: String,
}

impl Org {
    fn new(id: &str) -> Self {
        let ca = CertAuthority::new_root(
            &Subject::fabric_style(id, &format!("ca.{id}")),
            KeyType::EcdsaP256,
            Validity::days_from_now(30),
        )
        .unwrap();
        let ou = |o: &str| {
            Some(FabricOuIdentifier {
                certificate: ca.cert_pem().as_bytes().to_vec(),
                organizational_unit_identifier: o.into(),
            })
        };
        let cfg = FabricMspConfig {
            name: id.into(),
            root_certs: vec![ca.cert_pem().as_bytes().to_vec()],
            fabric_node_ous: Some(FabricNodeOUs {
                enable: true,
                client_ou_identifier: ou("client"),
                peer_ou_identifier: ou("peer"),
                admin_ou_identifier: ou("admin"),
                orderer_ou_identifier: ou("orderer"),
            }),
            ..Default::default()
        };
        Self {
            msp: Msp::from_config(&cfg).unwrap(),
            ca,
            id: id.into(),
        }
    }

    fn issue(&self, role: &str, key_type: KeyType) -> SigningIdentity {
        let issued = self
            .ca
            .issue(
                &Subject::fabric_style(&self.id, role).with_ou(role),
                &[],
                Usage::Signing,
                key_type,
                Validity::days_from_now(30),
            )
            .unwrap();
        issued.signing_identity(self.id.clone().into()).unwrap()
    }
}

#[test]
fn proposal_to_endorsed_transaction_and_back() {
    let (org1, org2) = (Org::new("Org1MSP"), Org::new("Org2MSP"));
    let client = org1.issue("client", KeyType::EcdsaP256);
    let peers = [
        org1.issue("peer", KeyType::EcdsaP256),
        org2.issue("peer", KeyType::Ed25519),
    ];
    let channel = ChannelId::parse("mychannel").unwrap();

    let bundle = ProposalBuilder::new(channel.clone(), "basic")
        .function("CreateAsset", ["asset1", "blue"])
        .transient("secret", b"hidden".to_vec())
        .sign(&client)
        .unwrap();
    let p = &bundle.unpacked;
    p.check_txid().unwrap();
    assert_eq!(p.tx_id(), bundle.tx_id);
    assert_eq!(p.chaincode_name, "basic");
    assert_eq!(p.args()[0], b"CreateAsset");
    assert_eq!(p.transient()["secret"], b"hidden");
    let msps = MspManager::new([org1.msp, org2.msp]);
    assert_eq!(
        verify_signers(&[p.creator_signed_data()], &msps, now())
            .valid
            .len(),
        1
    );

    let response = Response {
        status: 200,
        message: String::new(),
        payload: b"ok".to_vec(),
    };
    let cc = ChaincodeId {
        name: "basic".into(),
        version: "1.0".into(),
        path: String::new(),
    };
    let responses: Vec<_> = peers
        .iter()
        .map(|peer| {
            create_proposal_response(
                p,
                response.clone(),
                b"rwset".to_vec(),
                Vec::new(),
                cc.clone(),
                peer,
            )
            .unwrap()
        })
        .collect();
    let envelope = assemble_transaction(p, &responses, &client).unwrap();

    let env = UnpackedEnvelope::from_bytes(&envelope.encode_to_vec()).unwrap();
    env.check_txid().unwrap();
    assert_eq!(env.tx_id(), bundle.tx_id);
    assert_eq!(
        verify_signers(&[env.creator_signed_data()], &msps, now())
            .valid
            .len(),
        1
    );
    // rwset bytes "rwset" are not a TxReadWriteSet: the committer says BAD_RWSET.
    let err = env.endorser_transaction().unwrap_err();
    assert_eq!(err.code, TxValidationCode::BadRwset);

    // With a real (empty) read/write set, the action unpacks and both endorsements count.
    let rwset = weft_protos::rwset::TxReadWriteSet::default().encode_to_vec();
    let responses: Vec<_> = peers
        .iter()
        .map(|peer| {
            create_proposal_response(
                p,
                response.clone(),
                rwset.clone(),
                Vec::new(),
                cc.clone(),
                peer,
            )
            .unwrap()
        })
        .collect();
    let envelope = assemble_transaction(p, &responses, &client).unwrap();
    let env = UnpackedEnvelope::from_envelope(&envelope).unwrap();
    let tx = env.endorser_transaction().unwrap();
    let endorsers = verify_signers(&tx.action.endorsement_signed_data(), &msps, now());
    assert_eq!(endorsers.valid.len(), 2, "{:?}", endorsers.refused);
    let policy = parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')").unwrap();
    assert!(policy.evaluate(&endorsers.valid, &msps));
    // Transient data never reaches the transaction.
    let cpp = weft_protos::protos::ChaincodeProposalPayload::decode(
        tx.action.chaincode_proposal_payload.as_slice(),
    )
    .unwrap();
    assert!(cpp.transient_map.is_empty());
}

#[test]
fn assembly_refuses_failed_or_mismatched_endorsements() {
    let org1 = Org::new("Org1MSP");
    let client = org1.issue("client", KeyType::EcdsaP256);
    let peer = org1.issue("peer", KeyType::EcdsaP256);
    let bundle = ProposalBuilder::new(ChannelId::parse("ch").unwrap(), "cc")
        .function("F", ["a"])
        .sign(&client)
        .unwrap();
    let cc = ChaincodeId {
        name: "cc".into(),
        ..Default::default()
    };
    let ok = Response {
        status: 200,
        ..Default::default()
    };
    let failed = Response {
        status: 500,
        message: "asset exists".into(),
        ..Default::default()
    };
    let r_ok = create_proposal_response(
        &bundle.unpacked,
        ok.clone(),
        vec![1],
        vec![],
        cc.clone(),
        &peer,
    )
    .unwrap();
    let r_other =
        create_proposal_response(&bundle.unpacked, ok, vec![2], vec![], cc.clone(), &peer).unwrap();
    let r_failed =
        create_proposal_response(&bundle.unpacked, failed, vec![], vec![], cc, &peer).unwrap();
    let err = assemble_transaction(&bundle.unpacked, &[r_ok.clone(), r_other], &client)
        .unwrap_err()
        .to_string();
    assert!(err.contains("different payload"), "{err}");
    let err = assemble_transaction(&bundle.unpacked, &[r_failed], &client)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("status 500") && err.contains("asset exists"),
        "{err}"
    );
    let err = assemble_transaction(&bundle.unpacked, &[r_ok], &peer)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not the proposal's creator"), "{err}");
    assert!(assemble_transaction(&bundle.unpacked, &[], &client).is_err());
}

#[test]
fn malformed_envelopes_get_fabric_codes() {
    assert_eq!(
        UnpackedEnvelope::from_bytes(&[]).unwrap_err().code,
        TxValidationCode::NilEnvelope
    );
    assert_eq!(
        UnpackedEnvelope::from_bytes(&[0xff, 0x01])
            .unwrap_err()
            .code,
        TxValidationCode::InvalidOtherReason
    );
    let env = weft_protos::common::Envelope {
        payload: vec![0x0a, 0x05, 1],
        signature: vec![],
    };
    assert_eq!(
        UnpackedEnvelope::from_envelope(&env).unwrap_err().code,
        TxValidationCode::BadPayload
    );
    let payload = weft_protos::common::Payload {
        header: None,
        data: vec![1],
    };
    let env = weft_protos::common::Envelope {
        payload: payload.encode_to_vec(),
        signature: vec![],
    };
    assert_eq!(
        UnpackedEnvelope::from_envelope(&env).unwrap_err().code,
        TxValidationCode::BadCommonHeader
    );
}

#[test]
fn signed_blocks_chain_and_verify() {
    let orderer_org = Org::new("OrdererMSP");
    let orderer = orderer_org.issue("orderer", KeyType::EcdsaP256);
    let msps = MspManager::new([orderer_org.msp]);
    let mut b0 = new_block(0, vec![], vec![b"genesis".to_vec()]);
    sign_block(&mut b0, 0, vec![], &orderer).unwrap();
    let h0 = weft_common::block::header_hash(b0.header.as_ref().unwrap()).to_vec();
    let mut b1 = new_block(1, h0, vec![b"tx1".to_vec(), b"tx2".to_vec()]);
    sign_block(&mut b1, 0, vec![], &orderer).unwrap();
    check_data_hash(&b1).unwrap();
    check_link(&b0, &b1).unwrap();
    assert_eq!(weft_common::block::last_config_index(&b1).unwrap(), 0);
    let signers = verify_signers(&signature_set(&b1).unwrap(), &msps, now());
    assert_eq!(signers.valid.len(), 1);
    assert!(
        parse_signature_policy("'OrdererMSP.orderer'")
            .unwrap()
            .evaluate(&signers.valid, &msps)
    );

    // Tampering with data breaks the data hash; with the header, the signature.
    let mut bad = b1.clone();
    bad.data.as_mut().unwrap().data[0] = b"evil".to_vec();
    assert!(check_data_hash(&bad).is_err());
    let mut bad = b1.clone();
    bad.header.as_mut().unwrap().previous_hash[0] ^= 1;
    assert!(check_link(&b0, &bad).is_err());
    assert!(
        verify_signers(&signature_set(&bad).unwrap(), &msps, now())
            .valid
            .is_empty()
    );
    assert_eq!(compute_txid(b"n", b"c").as_str().len(), 64);
}
