//! Table tests of validation and commit: every TxValidationCode a committer
//! assigns, with the ledger state afterwards.

use std::sync::Arc;

use prost::Message;
use weft_common::block::header_hash;
use weft_peer::channel::{BlockCommitted, Committer};
use weft_peer::ledger::Ledger;
use weft_protos::common::{ChannelHeader, Envelope, Header, Payload};
use weft_protos::protos::{ChaincodeActionPayload, Transaction, TxValidationCode as Code};

use crate::support::*;

pub struct Chain {
    pub orgs: Orgs,
    pub committer: Committer,
    _data: tempfile::TempDir,
}

impl Chain {
    pub fn new() -> Self {
        let orgs = Orgs::new(1);
        let genesis = orgs.genesis(&[7050], 100, "1s");
        let data = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(data.path()).unwrap();
        let committer = Committer::genesis(ledger, genesis).unwrap();
        Self {
            orgs,
            committer,
            _data: data,
        }
    }

    pub fn commit(&self, envs: &[Envelope]) -> Arc<BlockCommitted> {
        self.commit_raw(envs.iter().map(|e| e.encode_to_vec()).collect())
    }

    pub fn commit_raw(&self, data: Vec<Vec<u8>>) -> Arc<BlockCommitted> {
        let info = self.committer.ledger().info();
        let block = weft_common::block::new_block(info.height, info.current_hash, data);
        let done = self.committer.commit(block).unwrap();
        let stored = self.committer.ledger().block(done.number).unwrap().unwrap();
        assert_eq!(
            header_hash(stored.header.as_ref().unwrap()).to_vec(),
            self.committer.ledger().info().current_hash
        );
        done
    }

    pub fn codes(done: &BlockCommitted) -> Vec<Code> {
        done.txs.iter().map(|t| t.code).collect()
    }

    pub fn value(&self, ns: &str, key: &str) -> Option<(u64, u64, Vec<u8>)> {
        self.committer
            .ledger()
            .get_state(ns, key)
            .unwrap()
            .map(|(v, b)| (v.block_num, v.tx_num, b))
    }

    /// A transaction on `basic` endorsed by both orgs' peers.
    pub fn tx(&self, ns: Ns) -> (String, Envelope) {
        self.tx_raw(rwset(vec![ns]))
    }

    /// The same with a read/write set of several namespaces.
    pub fn tx_raw(&self, results: Vec<u8>) -> (String, Envelope) {
        endorsed_tx(
            "basic",
            results,
            &self.orgs.user(1),
            &[&self.orgs.peer(1), &self.orgs.peer(2)],
        )
    }
}

/// Re-signs `env` after `edit` changed its payload (as its creator would).
fn resign(
    env: &Envelope,
    signer: &weft_common::msp::SigningIdentity,
    edit: impl FnOnce(&mut Payload),
) -> Envelope {
    let mut payload = Payload::decode(env.payload.as_slice()).unwrap();
    edit(&mut payload);
    let payload = payload.encode_to_vec();
    let signature = signer.sign(&payload).unwrap();
    Envelope { payload, signature }
}

pub(crate) fn defined_chain() -> Chain {
    let chain = Chain::new();
    let (_, def) = define_chaincode(&chain.orgs, "basic", "AND('Org1MSP.peer', 'Org2MSP.peer')");
    assert_eq!(Chain::codes(&chain.commit(&[def])), [Code::Valid]);
    chain
}

#[test]
fn valid_transactions_change_state_and_are_indexed() {
    let chain = defined_chain();
    let (id, tx) = chain.tx(Ns::new("basic").read("k1", None).write("k1", b"v1"));
    let done = chain.commit(&[tx]);
    assert_eq!(Chain::codes(&done), [Code::Valid]);
    assert_eq!(done.txs[0].tx_id, id);
    assert_eq!(chain.value("basic", "k1"), Some((2, 0, b"v1".to_vec())));
    let loc = chain.committer.ledger().tx_location(&id).unwrap().unwrap();
    assert_eq!((loc.block, loc.tx, loc.code), (2, 0, Code::Valid as i32));
    let (_, del) = chain.tx(Ns::new("basic").read("k1", Some((2, 0))).delete("k1"));
    assert_eq!(Chain::codes(&chain.commit(&[del])), [Code::Valid]);
    assert_eq!(chain.value("basic", "k1"), None);
    let history = chain.committer.ledger().history("basic", "k1").unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[0].is_delete && !history[1].is_delete);
    assert_eq!(history[1].tx_id, id);
}

#[test]
fn each_validation_code_with_the_state_after_commit() {
    let chain = defined_chain();
    let (_, seed) = chain.tx(Ns::new("basic").write("k1", b"v1").write("m1", b"x"));
    assert_eq!(Chain::codes(&chain.commit(&[seed])), [Code::Valid]);
    let user = chain.orgs.user(1);

    // Bad creator signature.
    let (_, mut bad_sig) = chain.tx(Ns::new("basic").write("a", b"1"));
    let last = bad_sig.signature.len() - 1;
    bad_sig.signature[last] ^= 1;
    // txid not SHA-256(nonce ‖ creator), but signed by the creator.
    let (_, good) = chain.tx(Ns::new("basic").write("b", b"1"));
    let bad_txid = resign(&good, &user, |p| {
        let h = p.header.as_mut().unwrap();
        let mut ch = ChannelHeader::decode(h.channel_header.as_slice()).unwrap();
        ch.tx_id = "0".repeat(64);
        h.channel_header = ch.encode_to_vec();
    });
    // Endorsed by Org1 only, where the policy needs both orgs.
    let (_, one_org) = endorsed_tx(
        "basic",
        rwset(vec![Ns::new("basic").write("c", b"1")]),
        &user,
        &[&chain.orgs.peer(1)],
    );
    // Org2's endorsement is over a different result than the transaction carries.
    let (_, other) = chain.tx(Ns::new("basic").write("d", b"other"));
    let (_, mine) = endorsed_tx(
        "basic",
        rwset(vec![Ns::new("basic").write("d", b"mine")]),
        &user,
        &[&chain.orgs.peer(1)],
    );
    let mismatched = resign(&mine, &user, |p| {
        let endorsement_of = |env: &Envelope, i: usize| {
            let p = Payload::decode(env.payload.as_slice()).unwrap();
            let tx = Transaction::decode(p.data.as_slice()).unwrap();
            let cap = ChaincodeActionPayload::decode(tx.actions[0].payload.as_slice()).unwrap();
            cap.action.unwrap().endorsements[i].clone()
        };
        let mut tx = Transaction::decode(p.data.as_slice()).unwrap();
        let mut cap = ChaincodeActionPayload::decode(tx.actions[0].payload.as_slice()).unwrap();
        cap.action
            .as_mut()
            .unwrap()
            .endorsements
            .push(endorsement_of(&other, 1));
        tx.actions[0].payload = cap.encode_to_vec();
        p.data = tx.encode_to_vec();
    });
    // Invokes a chaincode with no committed definition.
    let (_, undefined) = endorsed_tx(
        "nosuch",
        rwset(vec![Ns::new("nosuch").write("e", b"1")]),
        &user,
        &[&chain.orgs.peer(1), &chain.orgs.peer(2)],
    );
    // For another channel.
    let other_channel = {
        resign(&chain.tx(Ns::new("basic").write("f", b"1")).1, &user, |p| {
            let h: &mut Header = p.header.as_mut().unwrap();
            let mut ch = ChannelHeader::decode(h.channel_header.as_slice()).unwrap();
            ch.channel_id = "otherchannel".into();
            h.channel_header = ch.encode_to_vec();
        })
    };
    // Reads k1 at a version that is no longer current.
    let (_, stale) = chain.tx(Ns::new("basic").read("k1", Some((1, 0))).write("g", b"1"));
    // Two transactions create the same key: the second read it absent, but the first wrote it.
    let (_, first) = chain.tx(Ns::new("basic").read("n1", None).write("n1", b"first"));
    let (_, second) = chain.tx(Ns::new("basic").read("n1", None).write("n1", b"second"));
    // A range read of [m, n) saw only m1; an earlier transaction of the block adds m2.
    let (_, adds_m2) = chain.tx(Ns::new("basic").write("m2", b"x"));
    let (_, ranged) = chain.tx(Ns::new("basic")
        .range("m", "n", &[("m1", (2, 0))])
        .write("h", b"1"));
    // The same range read with nothing added in between is fine.
    let (_, ranged_ok) = chain.tx(Ns::new("basic")
        .range("k", "l", &[("k1", (2, 0))])
        .write("i", b"1"));
    // The same transaction twice in one block.
    let (dup_id, dup) = chain.tx(Ns::new("basic").write("j", b"1"));
    // Fabric's consistency checks of the action (its plugin dispatcher):
    // another chaincode's action, no version, another chaincode's event, a
    // namespace twice.
    let both = [&chain.orgs.peer(1), &chain.orgs.peer(2)];
    let id = |name: &str, version: &str| weft_protos::protos::ChaincodeId {
        name: name.into(),
        version: version.into(),
        path: String::new(),
    };
    let writes_o = || rwset(vec![Ns::new("basic").write("o", b"1")]);
    let (_, other_action) = endorsed_action(
        "basic",
        writes_o(),
        vec![],
        id("marbles", "1.0"),
        &user,
        &both,
    );
    let (_, no_version) =
        endorsed_action("basic", writes_o(), vec![], id("basic", ""), &user, &both);
    let foreign_event = weft_protos::protos::ChaincodeEvent {
        chaincode_id: "marbles".into(),
        event_name: "E".into(),
        ..Default::default()
    }
    .encode_to_vec();
    let (_, other_event) = endorsed_action(
        "basic",
        writes_o(),
        foreign_event,
        id("basic", "1.0"),
        &user,
        &both,
    );
    let (_, twice) = chain.tx_raw(rwset(vec![
        Ns::new("basic").write("o", b"1"),
        Ns::new("basic").write("p", b"1"),
    ]));

    let done = chain.commit_raw(
        [
            bad_sig,
            bad_txid,
            one_org,
            mismatched,
            undefined,
            other_channel,
            stale,
            first,
            second,
            adds_m2,
            ranged,
            ranged_ok,
            dup.clone(),
            dup.clone(),
            other_action,
            no_version,
            other_event,
            twice,
        ]
        .iter()
        .map(|e| e.encode_to_vec())
        .chain([b"not an envelope".to_vec()])
        .collect(),
    );
    let want = [
        Code::BadCreatorSignature,
        Code::BadProposalTxid,
        Code::EndorsementPolicyFailure,
        Code::EndorsementPolicyFailure,
        Code::InvalidChaincode,
        Code::TargetChainNotFound,
        Code::MvccReadConflict,
        Code::Valid,
        Code::MvccReadConflict,
        Code::Valid,
        Code::PhantomReadConflict,
        Code::Valid,
        Code::Valid,
        Code::DuplicateTxid,
        Code::InvalidChaincode,
        Code::InvalidChaincode,
        Code::InvalidOtherReason,
        Code::IllegalWriteset,
        Code::InvalidOtherReason,
    ];
    let got = Chain::codes(&done);
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert_eq!(g, w, "transaction {i}: {:?}", done.txs[i].reason);
    }
    assert_eq!(got.len(), want.len());
    for t in done.txs.iter().filter(|t| !t.is_valid()) {
        assert!(t.reason.as_deref().is_some_and(|r| !r.is_empty()), "{t:?}");
    }
    assert!(
        done.txs[2].reason.as_deref().unwrap().contains("Org2MSP"),
        "{:?}",
        done.txs[2].reason
    );

    // Only the valid ones changed state.
    for key in ["a", "b", "c", "d", "e", "f", "g", "h", "o", "p"] {
        assert_eq!(chain.value("basic", key), None, "{key}");
    }
    assert_eq!(chain.value("nosuch", "e"), None);
    assert_eq!(chain.value("basic", "n1"), Some((3, 7, b"first".to_vec())));
    assert_eq!(chain.value("basic", "m2"), Some((3, 9, b"x".to_vec())));
    assert_eq!(chain.value("basic", "i"), Some((3, 11, b"1".to_vec())));
    assert_eq!(chain.value("basic", "j"), Some((3, 12, b"1".to_vec())));
    // The filter is in the stored block, and the txid index keeps the first occurrence.
    let stored = chain.committer.ledger().block(3).unwrap().unwrap();
    assert_eq!(
        weft_common::block::transactions_filter(&stored),
        done.txs
            .iter()
            .map(|t| t.code as i32 as u8)
            .collect::<Vec<_>>()
    );
    let loc = chain
        .committer
        .ledger()
        .tx_location(&dup_id)
        .unwrap()
        .unwrap();
    assert_eq!((loc.block, loc.tx, loc.code), (3, 12, 0));

    // Across blocks: the same transaction again is a duplicate, and changes nothing.
    let done = chain.commit(&[dup]);
    assert_eq!(Chain::codes(&done), [Code::DuplicateTxid]);
    assert_eq!(chain.committer.ledger().height(), 5);
}

#[test]
fn lifecycle_transactions_need_the_lifecycle_endorsement_policy() {
    let chain = Chain::new();
    let (_, def) = define_chaincode(&chain.orgs, "basic", "/Channel/Application/Endorsement");
    let env_one_org = {
        let results = rwset(vec![
            Ns::new("_lifecycle").write("namespaces/fields/x/ValidationInfo", b"junk"),
        ]);
        endorsed_tx(
            "_lifecycle",
            results,
            &chain.orgs.admin(1),
            &[&chain.orgs.peer(1)],
        )
        .1
    };
    let done = chain.commit(&[env_one_org, def]);
    assert_eq!(
        Chain::codes(&done),
        [Code::EndorsementPolicyFailure, Code::Valid]
    );
    assert!(
        done.txs[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("LifecycleEndorsement"),
        "{:?}",
        done.txs[0].reason
    );
    // The channel policy reference is honoured: both orgs endorse.
    let (_, both) = chain.tx(Ns::new("basic").write("k", b"v"));
    let (_, org2_only) = endorsed_tx(
        "basic",
        rwset(vec![Ns::new("basic").write("k2", b"v")]),
        &chain.orgs.user(1),
        &[&chain.orgs.peer(2)],
    );
    assert_eq!(
        Chain::codes(&chain.commit(&[both, org2_only])),
        [Code::Valid, Code::EndorsementPolicyFailure]
    );
}

#[test]
fn a_config_block_changes_policies_from_the_next_block_on() {
    let chain = Chain::new();
    let (_, def) = define_chaincode(&chain.orgs, "basic", "/Channel/Application/Endorsement");
    assert_eq!(Chain::codes(&chain.commit(&[def])), [Code::Valid]);
    let org2_only = || {
        endorsed_tx(
            "basic",
            rwset(vec![Ns::new("basic").write("k", b"v")]),
            &chain.orgs.user(1),
            &[&chain.orgs.peer(2)],
        )
        .1
    };
    assert_eq!(
        Chain::codes(&chain.commit(&[org2_only()])),
        [Code::EndorsementPolicyFailure]
    );

    // The channel's Endorsement policy becomes ANY Endorsement, signed by
    // both orgs' admins (the Application group's Admins is MAJORITY).
    let current = chain.committer.config();
    let config = any_endorsement(&current.config);
    let update = config_update(
        &current.config,
        &config,
        &[chain.orgs.admin(1), chain.orgs.admin(2)],
    );
    let honest = honest_config_tx(&chain.orgs.orderer(1), &current, update.clone());
    let stale = {
        let mut c = updated_config(&current, &update);
        c.sequence = current.sequence();
        config_tx(&chain.orgs.orderer(1), c, Some(update))
    };
    assert_eq!(
        Chain::codes(&chain.commit(&[stale])),
        [Code::InvalidConfigTransaction]
    );
    assert_eq!(chain.committer.config().sequence(), current.sequence());
    let done = chain.commit(&[honest]);
    assert_eq!(Chain::codes(&done), [Code::Valid]);
    assert_eq!(chain.committer.config().sequence(), current.sequence() + 1);
    assert_eq!(chain.committer.ledger().info().last_config, done.number);
    assert_eq!(Chain::codes(&chain.commit(&[org2_only()])), [Code::Valid]);

    // A restarted committer reads the newest config block back.
    let reopened = Committer::open(chain.committer.ledger().clone()).unwrap();
    assert_eq!(reopened.config().sequence(), current.sequence() + 1);
}

#[test]
fn a_block_validates_against_the_block_still_being_written() {
    let chain = defined_chain();
    let submit = |envs: &[Envelope]| {
        let (height, hash) = chain.committer.tip();
        let block = weft_common::block::new_block(
            height,
            hash,
            envs.iter().map(|e| e.encode_to_vec()).collect(),
        );
        chain.committer.submit(block).unwrap()
    };
    let (_, create) = chain.tx(Ns::new("basic").read("p", None).write("p", b"1"));
    let mut commits = chain.committer.subscribe();
    assert_eq!(
        Chain::codes(&submit(std::slice::from_ref(&create))),
        [Code::Valid]
    );
    // Without waiting for that write: a read of its version, a stale read, a
    // range that must include it, and the same transaction again.
    let (_, update) = chain.tx(Ns::new("basic").read("p", Some((2, 0))).write("p", b"2"));
    let (_, stale) = chain.tx(Ns::new("basic").read("p", None).write("q", b"x"));
    let (_, ranged) = chain.tx(Ns::new("basic")
        .range("a", "z", &[("p", (2, 0))])
        .write("r", b"x"));
    let done = submit(&[ranged, update, stale, create]);
    assert_eq!(
        Chain::codes(&done),
        [
            Code::Valid,
            Code::Valid,
            Code::MvccReadConflict,
            Code::DuplicateTxid
        ]
    );
    chain.committer.flush().unwrap();
    assert_eq!(chain.value("basic", "p"), Some((3, 1, b"2".to_vec())));
    assert_eq!(chain.committer.ledger().height(), 4);
    // Announced in order, once durable.
    assert_eq!(commits.try_recv().unwrap().number, 2);
    assert_eq!(commits.try_recv().unwrap().number, 3);
}
