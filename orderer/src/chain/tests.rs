use super::*;
use weft_protos::common::BlockData;

fn block_of(envelopes: &[&[u8]]) -> Block {
    Block {
        data: Some(BlockData {
            data: envelopes.iter().map(|e| e.to_vec()).collect(),
        }),
        ..Default::default()
    }
}

#[test]
fn digests_come_from_the_entry_context_when_it_has_one_per_envelope() {
    let block = block_of(&[b"one", b"two"]);
    let computed = vec![sha256(b"one"), sha256(b"two")];
    // The leader's digests are taken as they are (these are deliberately
    // not the envelopes' hashes, to show nothing is recomputed).
    let context = [[7u8; 32], [9u8; 32]].concat();
    let block = envelopes_of(&block);
    assert_eq!(
        envelope_digests(&context, &block),
        vec![[7u8; 32], [9u8; 32]]
    );
    // An entry without them (an older weft), or with a count that does not
    // match the block, is hashed.
    assert_eq!(envelope_digests(&[], &block), computed);
    assert_eq!(envelope_digests(&[7u8; 32], &block), computed);
    assert_eq!(envelope_digests(&[], &[]), Vec::<[u8; 32]>::new());
}

fn signer() -> SigningIdentity {
    use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
    let ca = CertAuthority::new_root(
        &Subject::fabric_style("example.com", "ca"),
        KeyType::EcdsaP256,
        Validity::days_from_now(1),
    )
    .unwrap();
    let issued = ca
        .issue(
            &Subject::fabric_style("example.com", "orderer1"),
            &[],
            Usage::Signing,
            KeyType::EcdsaP256,
            Validity::days_from_now(1),
        )
        .unwrap();
    issued.signing_identity("OrdererMSP".into()).unwrap()
}

/// One Ready commits a membership change and, after it, a block that
/// crosses the snapshot interval. The node crashes right after applying
/// them (before the shell hands the change to Raft): on restart its
/// voters include the new node, and so does the snapshot it took, whose
/// index is past the change (the change's entry is compacted away, so
/// nothing could replay it).
#[test]
fn a_membership_change_and_a_snapshot_in_one_ready_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = ChannelStore::open(dir.path()).unwrap();
        store.initialize(&[1, 2, 3]).unwrap();
        let genesis = new_block(0, vec![], vec![b"genesis".to_vec()]);
        store.append_block(0, &genesis.encode_to_vec()).unwrap();
        let add4 = ConfChange {
            change_type: raft::prelude::ConfChangeType::AddNode as i32,
            node_id: 4,
            ..Default::default()
        };
        let entries = vec![
            Entry {
                entry_type: EntryType::EntryConfChange as i32,
                index: 1,
                term: 1,
                data: prost011::Message::encode_to_vec(&add4),
                ..Default::default()
            },
            Entry {
                entry_type: EntryType::EntryNormal as i32,
                index: 2,
                term: 1,
                data: new_block(
                    1,
                    header_hash(genesis.header.as_ref().unwrap()).to_vec(),
                    vec![b"tx".to_vec()],
                )
                .encode_to_vec(),
                ..Default::default()
            },
        ];
        let hs = HardState {
            term: 1,
            vote: 1,
            commit: 2,
        };
        store.persist(None, &entries, Some(&hs)).unwrap();
        let signer = signer();
        let (mut outbox, mut events, mut last_config, mut bytes) = (vec![], vec![], 0, 0);
        let mut membership = Membership::genesis(vec![vec![1], vec![2], vec![3]]);
        let mut fx = Effects {
            store: &store,
            signer: &signer,
            snapshot_interval_bytes: 1,
            outbox: &mut outbox,
            events: &mut events,
            conf_changes: Vec::new(),
            written: Vec::new(),
            last_config: &mut last_config,
            membership: &mut membership,
            changes: Vec::new(),
            bytes_since_snapshot: &mut bytes,
        };
        fx.apply(entries).unwrap();
        // Crash: the shell never reaches `apply_conf_change`.
    }
    let store = ChannelStore::open(dir.path()).unwrap();
    assert_eq!(store.applied_index().unwrap(), 2);
    assert_eq!(store.height().unwrap(), 2);
    let mut voters = store.raft_state().unwrap().conf_state.voters;
    voters.sort();
    assert_eq!(voters, [1, 2, 3, 4], "voters after restart");
    let md = store.latest_snapshot().unwrap().metadata.unwrap();
    assert_eq!(md.index, 2);
    let mut voters = md.conf_state.unwrap().voters;
    voters.sort();
    assert_eq!(voters, [1, 2, 3, 4], "voters in the snapshot");
}
