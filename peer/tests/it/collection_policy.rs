//! Collection-level endorsement through the committer, as Fabric decides
//! it: a write to a collection whose definition carries its own
//! endorsement policy must satisfy that policy instead of the chaincode's.
//! A collection without one answers to the chaincode's policy, and a
//! collection that is only read needs no policy of its own.

use prost::Message;
use weft_peer::lifecycle;
use weft_protos::kvrwset::{HashedRwSet, KvReadHash, KvWriteHash};
use weft_protos::lifecycle::{StateData, state_data};
use weft_protos::protos::{
    ApplicationPolicy, CollectionConfig, CollectionConfigPackage, CollectionPolicyConfig,
    StaticCollectionConfig, TxValidationCode as Code, application_policy, collection_config,
    collection_policy_config,
};
use weft_protos::rwset::{CollectionHashedReadWriteSet, NsReadWriteSet, TxReadWriteSet};

use crate::support::*;
use crate::validation::Chain;

fn signature(rule: &str) -> ApplicationPolicy {
    let p = weft_common::policy::parse_signature_policy(rule).unwrap();
    ApplicationPolicy {
        r#type: Some(application_policy::Type::SignaturePolicy(p.to_proto())),
    }
}

fn collection(name: &str, endorsement: Option<&str>) -> CollectionConfig {
    let members =
        weft_common::policy::parse_signature_policy("OR('Org1MSP.member', 'Org2MSP.member')")
            .unwrap();
    CollectionConfig {
        payload: Some(collection_config::Payload::StaticCollectionConfig(
            StaticCollectionConfig {
                name: name.into(),
                member_orgs_policy: Some(CollectionPolicyConfig {
                    payload: Some(collection_policy_config::Payload::SignaturePolicy(
                        members.to_proto(),
                    )),
                }),
                required_peer_count: 0,
                maximum_peer_count: 1,
                block_to_live: 0,
                member_only_read: false,
                member_only_write: false,
                endorsement_policy: endorsement.map(signature),
            },
        )),
    }
}

/// Chaincode `pd` (policy: either org's peer) with collections `shared`
/// (no policy of its own) and `org2_endorsed` (`OR('Org2MSP.peer')`), as
/// `_lifecycle` commits a definition.
fn chain_with_collections() -> Chain {
    let chain = Chain::new();
    let package = CollectionConfigPackage {
        config: vec![
            collection("shared", None),
            collection("org2_endorsed", Some("OR('Org2MSP.peer')")),
        ],
    };
    let collections = StateData {
        r#type: Some(state_data::Type::Bytes(package.encode_to_vec())),
    }
    .encode_to_vec();
    let results = rwset(vec![
        Ns::new(lifecycle::NAMESPACE)
            .write(
                "namespaces/fields/pd/ValidationInfo",
                &lifecycle::validation_info_value(&signature("OR('Org1MSP.peer', 'Org2MSP.peer')")),
            )
            .write("namespaces/fields/pd/Collections", &collections),
    ]);
    let orgs = &chain.orgs;
    let (_, def) = endorsed_tx(
        lifecycle::NAMESPACE,
        results,
        &orgs.admin(1),
        &[&orgs.peer(1), &orgs.peer(2)],
    );
    assert_eq!(Chain::codes(&chain.commit(&[def])), [Code::Valid]);
    chain
}

/// A transaction of `pd` touching `coll` (a hashed write of `k`, or only a
/// hashed read), endorsed by the peers of `orgs`.
fn private_tx(
    chain: &Chain,
    coll: &str,
    write: bool,
    orgs: &[u8],
) -> weft_protos::common::Envelope {
    let key_hash = weft_common::crypto::sha256(b"k").to_vec();
    let hashed = if write {
        HashedRwSet {
            hashed_writes: vec![KvWriteHash {
                key_hash,
                is_delete: false,
                value_hash: weft_common::crypto::sha256(b"v").to_vec(),
                is_purge: false,
            }],
            ..Default::default()
        }
    } else {
        HashedRwSet {
            hashed_reads: vec![KvReadHash {
                key_hash,
                version: None,
            }],
            ..Default::default()
        }
    };
    let results = TxReadWriteSet {
        data_model: 0,
        ns_rwset: vec![NsReadWriteSet {
            namespace: "pd".into(),
            rwset: Vec::new(),
            collection_hashed_rwset: vec![CollectionHashedReadWriteSet {
                collection_name: coll.into(),
                hashed_rwset: hashed.encode_to_vec(),
                pvt_rwset_hash: vec![7; 32],
            }],
        }],
    }
    .encode_to_vec();
    let peers: Vec<_> = orgs.iter().map(|o| chain.orgs.peer(*o)).collect();
    let refs: Vec<_> = peers.iter().collect();
    endorsed_tx("pd", results, &chain.orgs.user(1), &refs).1
}

#[test]
fn a_collection_with_its_own_policy_refuses_a_write_the_chaincode_policy_would_accept() {
    let chain = chain_with_collections();
    let done = chain.commit(&[
        private_tx(&chain, "org2_endorsed", true, &[1]),
        private_tx(&chain, "org2_endorsed", true, &[2]),
        private_tx(&chain, "shared", true, &[1]),
    ]);
    assert_eq!(
        Chain::codes(&done),
        [Code::EndorsementPolicyFailure, Code::Valid, Code::Valid]
    );
    let why = done.txs[0].reason.as_deref().unwrap_or_default();
    assert!(
        why.contains("endorsement policy of pd (collection org2_endorsed) not satisfied"),
        "{why}"
    );
}

#[test]
fn a_collection_only_read_answers_to_the_chaincode_policy() {
    let chain = chain_with_collections();
    // Org1 alone satisfies the chaincode's policy; the collection's own
    // policy applies to writes only.
    let done = chain.commit(&[private_tx(&chain, "org2_endorsed", false, &[1])]);
    assert_eq!(Chain::codes(&done), [Code::Valid]);
}
