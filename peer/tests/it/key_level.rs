//! Key-level (state-based) endorsement through the committer, as Fabric's
//! validator decides it: a key's validation parameter replaces the
//! chaincode's policy for writes to that key, changing it needs the current
//! policy, and a change applies from the next transaction — one of the same
//! block is refused.

use weft_peer::ledger::validation_parameter;
use weft_protos::protos::TxValidationCode as Code;

use crate::support::*;
use crate::validation::Chain;

/// `basic` with the policy `OR(Org1 peer, Org2 peer)` and key `k` = `v0`.
fn chain_with_key() -> Chain {
    let chain = Chain::new();
    let (_, def) = define_chaincode(&chain.orgs, "basic", "OR('Org1MSP.peer', 'Org2MSP.peer')");
    assert_eq!(Chain::codes(&chain.commit(&[def])), [Code::Valid]);
    let (_, seed) = chain.tx(Ns::new("basic").write("k", b"v0"));
    assert_eq!(Chain::codes(&chain.commit(&[seed])), [Code::Valid]);
    chain
}

fn endorsed_by(chain: &Chain, ns: Ns, orgs: &[u8]) -> weft_protos::common::Envelope {
    let peers: Vec<_> = orgs.iter().map(|o| chain.orgs.peer(*o)).collect();
    let refs: Vec<_> = peers.iter().collect();
    endorsed_tx("basic", rwset(vec![ns]), &chain.orgs.user(1), &refs).1
}

/// Why transaction `i` of a committed block was refused.
fn reason(done: &weft_peer::channel::BlockCommitted, i: usize) -> &str {
    done.txs[i].reason.as_deref().unwrap_or_default()
}

fn parameter(chain: &Chain, key: &str) -> Option<Vec<u8>> {
    let metadata = chain.committer.ledger().get_metadata("basic", key).unwrap();
    validation_parameter(&metadata).map(<[u8]>::to_vec)
}

#[test]
fn a_key_policy_naming_org2_refuses_a_write_org1_alone_endorsed() {
    let chain = chain_with_key();
    let only_org2 = key_policy("OR('Org2MSP.peer')");
    let set = endorsed_by(
        &chain,
        Ns::new("basic").validation_parameter("k", &only_org2),
        &[1],
    );
    assert_eq!(Chain::codes(&chain.commit(&[set])), [Code::Valid]);
    assert_eq!(parameter(&chain, "k"), Some(only_org2));

    // The chaincode's policy (either org) is satisfied by Org1; the key's is not.
    let by_org1 = endorsed_by(&chain, Ns::new("basic").write("k", b"v1"), &[1]);
    let done = chain.commit(&[by_org1]);
    assert_eq!(Chain::codes(&done), [Code::EndorsementPolicyFailure]);
    let why = reason(&done, 0);
    assert!(
        why.contains("key-level endorsement policy of basic/\"k\""),
        "{why}"
    );
    // Other keys still answer to the chaincode's policy.
    let other = endorsed_by(&chain, Ns::new("basic").write("other", b"x"), &[1]);
    let by_org2 = endorsed_by(&chain, Ns::new("basic").write("k", b"v2"), &[2]);
    assert_eq!(
        Chain::codes(&chain.commit(&[other, by_org2])),
        [Code::Valid, Code::Valid]
    );
    assert_eq!(chain.value("basic", "k").unwrap().2, b"v2");
    // The value write kept the key's policy.
    assert!(parameter(&chain, "k").is_some());
}

#[test]
fn the_key_policy_replaces_the_chaincode_policy_for_its_key() {
    let chain = Chain::new();
    let (_, def) = define_chaincode(&chain.orgs, "basic", "AND('Org1MSP.peer', 'Org2MSP.peer')");
    let (_, seed) = chain.tx(Ns::new("basic")
        .write("k", b"v0")
        .validation_parameter("k", &key_policy("OR('Org2MSP.peer')")));
    assert_eq!(
        Chain::codes(&chain.commit(&[def])),
        [Code::Valid],
        "definition"
    );
    assert_eq!(Chain::codes(&chain.commit(&[seed])), [Code::Valid]);
    // Org2 alone satisfies the key's policy, though not the chaincode's AND.
    let by_org2 = endorsed_by(&chain, Ns::new("basic").write("k", b"v1"), &[2]);
    // A write to a key without a policy still needs both orgs.
    let mixed = endorsed_by(
        &chain,
        Ns::new("basic").write("k", b"v2").write("plain", b"p"),
        &[2],
    );
    let done = chain.commit(&[by_org2, mixed]);
    assert_eq!(
        Chain::codes(&done),
        [Code::Valid, Code::EndorsementPolicyFailure]
    );
    assert!(
        reason(&done, 1).contains("endorsement policy of basic"),
        "{}",
        reason(&done, 1)
    );
}

#[test]
fn changing_a_key_policy_needs_the_current_one_and_counts_from_the_next_transaction() {
    let chain = chain_with_key();
    let org1 = key_policy("OR('Org1MSP.peer')");
    let org2 = key_policy("OR('Org2MSP.peer')");
    let set = endorsed_by(
        &chain,
        Ns::new("basic").validation_parameter("k", &org2),
        &[1],
    );
    assert_eq!(Chain::codes(&chain.commit(&[set])), [Code::Valid]);

    // Org1 cannot take the key back on its own.
    let grab = endorsed_by(
        &chain,
        Ns::new("basic").validation_parameter("k", &org1),
        &[1],
    );
    assert_eq!(
        Chain::codes(&chain.commit(&[grab])),
        [Code::EndorsementPolicyFailure]
    );
    assert_eq!(parameter(&chain, "k"), Some(org2.clone()));

    // Org2 hands it to Org1; a write in the same block is refused whoever
    // endorsed it, as Fabric does; from the next block Org1's policy holds.
    let hand_over = endorsed_by(
        &chain,
        Ns::new("basic").validation_parameter("k", &org1),
        &[2],
    );
    let same_block = endorsed_by(&chain, Ns::new("basic").write("k", b"v1"), &[1, 2]);
    let done = chain.commit(&[hand_over, same_block]);
    assert_eq!(
        Chain::codes(&done),
        [Code::Valid, Code::EndorsementPolicyFailure]
    );
    assert!(
        reason(&done, 1).contains("changed by an earlier transaction"),
        "{}",
        reason(&done, 1)
    );
    let by_org2 = endorsed_by(&chain, Ns::new("basic").write("k", b"v2"), &[2]);
    let by_org1 = endorsed_by(&chain, Ns::new("basic").write("k", b"v3"), &[1]);
    assert_eq!(
        Chain::codes(&chain.commit(&[by_org2])),
        [Code::EndorsementPolicyFailure]
    );
    assert_eq!(Chain::codes(&chain.commit(&[by_org1])), [Code::Valid]);
    assert_eq!(chain.value("basic", "k").unwrap().2, b"v3");
}

#[test]
fn metadata_alone_keeps_the_value_bumps_the_version_and_is_not_history() {
    let chain = chain_with_key();
    let before = chain.value("basic", "k").unwrap();
    let set = endorsed_by(
        &chain,
        Ns::new("basic")
            .validation_parameter("k", &key_policy("OR('Org1MSP.peer')"))
            .validation_parameter("absent", &key_policy("OR('Org1MSP.peer')")),
        &[1],
    );
    let done = chain.commit(&[set]);
    assert_eq!(Chain::codes(&done), [Code::Valid]);
    let after = chain.value("basic", "k").unwrap();
    assert_eq!(after.2, before.2, "value kept");
    assert_eq!(
        (after.0, after.1),
        (done.number, 0),
        "version is the transaction's"
    );
    assert_eq!(
        chain
            .committer
            .ledger()
            .history("basic", "k")
            .unwrap()
            .len(),
        1
    );
    // Metadata of a key that does not exist is not kept (Fabric ignores it).
    assert_eq!(chain.value("basic", "absent"), None);
    assert_eq!(parameter(&chain, "absent"), None);
    // A read of the old version now conflicts.
    let stale = endorsed_by(
        &chain,
        Ns::new("basic")
            .read("k", Some((before.0, before.1)))
            .write("k", b"x"),
        &[1],
    );
    assert_eq!(
        Chain::codes(&chain.commit(&[stale])),
        [Code::MvccReadConflict]
    );
}

#[test]
fn deleting_a_key_drops_its_policy_and_an_unreadable_policy_refuses_writes() {
    let chain = chain_with_key();
    let set = endorsed_by(
        &chain,
        Ns::new("basic").validation_parameter("k", &key_policy("OR('Org2MSP.peer')")),
        &[1],
    );
    let garbage = endorsed_by(
        &chain,
        Ns::new("basic")
            .write("g", b"1")
            .validation_parameter("g", b"\xff\xffnot a policy"),
        &[1],
    );
    assert_eq!(
        Chain::codes(&chain.commit(&[set, garbage])),
        [Code::Valid, Code::Valid]
    );
    let del = endorsed_by(&chain, Ns::new("basic").delete("k"), &[2]);
    assert_eq!(Chain::codes(&chain.commit(&[del])), [Code::Valid]);
    assert_eq!(parameter(&chain, "k"), None);
    let again = endorsed_by(&chain, Ns::new("basic").write("k", b"new"), &[1]);
    assert_eq!(Chain::codes(&chain.commit(&[again])), [Code::Valid]);

    let write_g = endorsed_by(&chain, Ns::new("basic").write("g", b"2"), &[1, 2]);
    let done = chain.commit(&[write_g]);
    assert_eq!(Chain::codes(&done), [Code::EndorsementPolicyFailure]);
    assert!(
        reason(&done, 0).contains("cannot be read"),
        "{}",
        reason(&done, 0)
    );
}

#[test]
fn a_key_policy_in_the_block_still_being_written_governs_the_next_block() {
    let chain = chain_with_key();
    let submit = |envs: &[weft_protos::common::Envelope]| {
        use prost::Message;
        let (height, hash) = chain.committer.tip();
        let block = weft_common::block::new_block(
            height,
            hash,
            envs.iter().map(|e| e.encode_to_vec()).collect(),
        );
        chain.committer.submit(block).unwrap()
    };
    let only_org2 = key_policy("OR('Org2MSP.peer')");
    let set = endorsed_by(
        &chain,
        Ns::new("basic").validation_parameter("k", &only_org2),
        &[1],
    );
    assert_eq!(Chain::codes(&submit(&[set])), [Code::Valid]);
    // Without waiting for that block's write: its policy already holds, and
    // a deletion in it drops the policy of the key it deletes.
    let by_org1 = endorsed_by(&chain, Ns::new("basic").write("k", b"v1"), &[1]);
    assert_eq!(
        Chain::codes(&submit(&[by_org1])),
        [Code::EndorsementPolicyFailure]
    );
    let del = endorsed_by(&chain, Ns::new("basic").delete("k"), &[2]);
    assert_eq!(Chain::codes(&submit(&[del])), [Code::Valid]);
    let recreate = endorsed_by(&chain, Ns::new("basic").write("k", b"v2"), &[1]);
    assert_eq!(Chain::codes(&submit(&[recreate])), [Code::Valid]);
    chain.committer.flush().unwrap();
    assert_eq!(chain.value("basic", "k").unwrap().2, b"v2");
}

#[test]
fn the_sdk_builds_the_policy_bytes_fabric_would_and_the_validator_reads_them() {
    use prost::Message;
    use weft_chaincode_sdk::statebased::{KeyEndorsementPolicy, RoleType};

    let mut ep = KeyEndorsementPolicy::new();
    ep.add_orgs(RoleType::Peer, ["Org2MSP", "Org1MSP"]);
    let dsl = weft_common::policy::parse_signature_policy("AND('Org1MSP.peer', 'Org2MSP.peer')")
        .unwrap()
        .to_proto();
    let sdk = weft_protos::common::SignaturePolicyEnvelope::decode(ep.policy().as_slice()).unwrap();
    assert_eq!(sdk, dsl);

    let chain = chain_with_key();
    let set = endorsed_by(
        &chain,
        Ns::new("basic").validation_parameter("k", &ep.policy()),
        &[1],
    );
    assert_eq!(Chain::codes(&chain.commit(&[set])), [Code::Valid]);
    let one = endorsed_by(&chain, Ns::new("basic").write("k", b"1"), &[2]);
    let both = endorsed_by(&chain, Ns::new("basic").write("k", b"2"), &[1, 2]);
    assert_eq!(
        Chain::codes(&chain.commit(&[one, both])),
        [Code::EndorsementPolicyFailure, Code::Valid]
    );
}
