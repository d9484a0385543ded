//! Key-level endorsement of private keys through the committer, as Fabric
//! decides it: a private key's validation parameter is kept by the key's
//! hash (so every peer checks it, member or not), replaces the collection's
//! and the chaincode's policy for writes to that key, is set by a hashed
//! metadata write that keeps the key's value hash, goes with the key when it
//! is deleted, and a change applies from the next transaction — one of the
//! same block that writes the key is refused.

use prost::Message;
use weft_peer::ledger::validation_parameter;
use weft_protos::kvrwset::{HashedRwSet, KvMetadataEntry, KvMetadataWriteHash, KvWriteHash};
use weft_protos::protos::TxValidationCode as Code;
use weft_protos::rwset::{CollectionHashedReadWriteSet, NsReadWriteSet, TxReadWriteSet};

use crate::support::*;
use crate::validation::Chain;

const KEY: &[u8] = b"secret";

fn key_hash() -> Vec<u8> {
    weft_common::crypto::sha256(KEY).to_vec()
}

/// Chaincode `pd` (either org's peer) with collection `shared` (no policy
/// of its own), and the private key written once, by Org1.
fn chain_with_private_key() -> Chain {
    let chain = Chain::new();
    let (_, def) = define_chaincode_with_collections(
        &chain.orgs,
        "pd",
        "OR('Org1MSP.peer', 'Org2MSP.peer')",
        &[("shared", None)],
    );
    assert_eq!(Chain::codes(&chain.commit(&[def])), [Code::Valid]);
    let seed = private_tx(&chain, Some(b"v0"), None, &[1]);
    assert_eq!(Chain::codes(&chain.commit(&[seed])), [Code::Valid]);
    chain
}

/// A transaction of `pd` that writes the private key (`value`) and/or sets
/// its validation parameter (`policy`), endorsed by the peers of `orgs`.
fn private_tx(
    chain: &Chain,
    value: Option<&[u8]>,
    policy: Option<&[u8]>,
    orgs: &[u8],
) -> weft_protos::common::Envelope {
    let hashed = HashedRwSet {
        hashed_writes: value
            .map(|v| KvWriteHash {
                key_hash: key_hash(),
                is_delete: v.is_empty(),
                value_hash: if v.is_empty() {
                    Vec::new()
                } else {
                    weft_common::crypto::sha256(v).to_vec()
                },
                is_purge: false,
            })
            .into_iter()
            .collect(),
        metadata_writes: policy
            .map(|p| KvMetadataWriteHash {
                key_hash: key_hash(),
                entries: vec![KvMetadataEntry {
                    name: weft_peer::ledger::VALIDATION_PARAMETER.into(),
                    value: p.to_vec(),
                }],
            })
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let results = TxReadWriteSet {
        data_model: 0,
        ns_rwset: vec![NsReadWriteSet {
            namespace: "pd".into(),
            rwset: Vec::new(),
            collection_hashed_rwset: vec![CollectionHashedReadWriteSet {
                collection_name: "shared".into(),
                hashed_rwset: hashed.encode_to_vec(),
                pvt_rwset_hash: if value.is_some() {
                    vec![7; 32]
                } else {
                    Vec::new()
                },
            }],
        }],
    }
    .encode_to_vec();
    let peers: Vec<_> = orgs.iter().map(|o| chain.orgs.peer(*o)).collect();
    let refs: Vec<_> = peers.iter().collect();
    endorsed_tx("pd", results, &chain.orgs.user(1), &refs).1
}

fn parameter(chain: &Chain) -> Option<Vec<u8>> {
    let ledger = chain.committer.ledger();
    let metadata = ledger
        .get_hashed_metadata("pd", "shared", &key_hash())
        .unwrap();
    validation_parameter(&metadata).map(<[u8]>::to_vec)
}

fn reason(done: &weft_peer::channel::BlockCommitted, i: usize) -> &str {
    done.txs[i].reason.as_deref().unwrap_or_default()
}

#[test]
fn a_private_key_policy_naming_org2_refuses_a_write_org1_alone_endorsed() {
    let chain = chain_with_private_key();
    let before = chain
        .committer
        .ledger()
        .get_hashed("pd", "shared", &key_hash())
        .unwrap()
        .unwrap();

    // Setting the policy: the key has none yet, so the chaincode's applies.
    let only_org2 = key_policy("OR('Org2MSP.peer')");
    let set = private_tx(&chain, None, Some(&only_org2), &[1]);
    let done = chain.commit(&[set]);
    assert_eq!(Chain::codes(&done), [Code::Valid]);
    assert_eq!(parameter(&chain), Some(only_org2.clone()));
    // The metadata write keeps the value hash under the new version.
    let after = chain
        .committer
        .ledger()
        .get_hashed("pd", "shared", &key_hash())
        .unwrap()
        .unwrap();
    assert_eq!(after.1, before.1);
    assert_eq!(after.0.block_num, done.number);

    // The chaincode's policy (either org) is met by Org1; the key's is not.
    let done = chain.commit(&[private_tx(&chain, Some(b"v1"), None, &[1])]);
    assert_eq!(Chain::codes(&done), [Code::EndorsementPolicyFailure]);
    assert!(
        reason(&done, 0).contains("key-level endorsement policy of pd/shared key"),
        "{}",
        reason(&done, 0)
    );
    let done = chain.commit(&[private_tx(&chain, Some(b"v1"), None, &[2])]);
    assert_eq!(Chain::codes(&done), [Code::Valid]);
}

#[test]
fn a_private_key_policy_changed_in_a_block_applies_from_the_next_one() {
    let chain = chain_with_private_key();
    let only_org2 = key_policy("OR('Org2MSP.peer')");
    let set = private_tx(&chain, None, Some(&only_org2), &[1]);
    assert_eq!(Chain::codes(&chain.commit(&[set])), [Code::Valid]);

    // Changing it needs the current policy: Org1 alone cannot.
    let only_org1 = key_policy("OR('Org1MSP.peer')");
    let refused = private_tx(&chain, None, Some(&only_org1), &[1]);
    assert_eq!(
        Chain::codes(&chain.commit(&[refused])),
        [Code::EndorsementPolicyFailure]
    );
    assert_eq!(parameter(&chain), Some(only_org2.clone()));

    // Org2 hands the key to Org1; in the same block Org2's write, which
    // the policy committed before the block accepts, is refused, as Fabric
    // does rather than judge it by either policy.
    let done = chain.commit(&[
        private_tx(&chain, None, Some(&only_org1), &[2]),
        private_tx(&chain, Some(b"v2"), None, &[2]),
    ]);
    assert_eq!(
        Chain::codes(&done),
        [Code::Valid, Code::EndorsementPolicyFailure]
    );
    assert!(
        reason(&done, 1).contains("was changed by an earlier transaction of this block"),
        "{}",
        reason(&done, 1)
    );
    let done = chain.commit(&[
        private_tx(&chain, Some(b"v2"), None, &[2]),
        private_tx(&chain, Some(b"v2"), None, &[1]),
    ]);
    assert_eq!(
        Chain::codes(&done),
        [Code::EndorsementPolicyFailure, Code::Valid]
    );

    // Deleting the key drops its policy with it.
    let done = chain.commit(&[private_tx(&chain, Some(b""), None, &[1])]);
    assert_eq!(Chain::codes(&done), [Code::Valid]);
    assert_eq!(parameter(&chain), None);
}
