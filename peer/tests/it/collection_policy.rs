//! Collection-level endorsement through the committer, as Fabric decides
//! it: a write to a collection whose definition carries its own
//! endorsement policy must satisfy that policy instead of the chaincode's.
//! A collection without one answers to the chaincode's policy, and a
//! collection that is only read needs no policy of its own.

use prost::Message;
use weft_protos::kvrwset::{HashedRwSet, KvReadHash, KvWriteHash};
use weft_protos::protos::TxValidationCode as Code;
use weft_protos::rwset::{CollectionHashedReadWriteSet, NsReadWriteSet, TxReadWriteSet};

use crate::support::*;
use crate::validation::Chain;

/// Chaincode `pd` (policy: either org's peer) with collections `shared`
/// (no policy of its own) and `org2_endorsed` (`OR('Org2MSP.peer')`), as
/// `_lifecycle` commits a definition.
fn chain_with_collections() -> Chain {
    let chain = Chain::new();
    let (_, def) = define_chaincode_with_collections(
        &chain.orgs,
        "pd",
        "OR('Org1MSP.peer', 'Org2MSP.peer')",
        &[
            ("shared", None),
            ("org2_endorsed", Some("OR('Org2MSP.peer')")),
        ],
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
