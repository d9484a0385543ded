//! Replays the real Fabric 3.0 chain in `../shared/fixtures/fabric-3.0-chain/`
//! through weft's block verification, validator and committer.

use prost::Message;
use weft_peer::channel::{Committer, verify_block};
use weft_peer::ledger::{BlockCommit, Ledger, StateUpdate};
use weft_protos::common::{Block, Envelope, Payload};
use weft_protos::kvrwset::Version;
use weft_protos::protos::TxValidationCode as Code;

/// Block `n` of the Fabric chain in `shared/fixtures`.
pub fn fixture(n: u64) -> Block {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/fabric-3.0-chain");
    Block::decode(
        std::fs::read(dir.join(format!("block-{n}.pb")))
            .unwrap()
            .as_slice(),
    )
    .unwrap()
}

fn now() -> i64 {
    weft_common::clock::unix_now()
}

/// Joins with block 0 and commits blocks 1..=6 after verifying each; returns the committer.
fn replay(tamper: impl Fn(u64, &mut Block)) -> (Committer, Vec<Vec<Code>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let committer = Committer::genesis(Ledger::open(dir.path()).unwrap(), fixture(0)).unwrap();
    let mut codes = Vec::new();
    for n in 1..=6 {
        let mut block = fixture(n);
        let info = committer.ledger().info();
        verify_block(
            &block,
            info.height,
            &info.current_hash,
            &committer.config(),
            now(),
        )
        .unwrap_or_else(|e| panic!("block {n}: {e}"));
        // Fabric's peer wrote its filter into the fetched block; weft computes its own.
        block.metadata.as_mut().unwrap().metadata[2].clear();
        tamper(n, &mut block);
        let done = committer.commit(block).unwrap();
        codes.push(done.txs.iter().map(|t| t.code).collect());
    }
    (committer, codes, dir)
}

#[test]
fn weft_validates_the_fabric_chain_as_fabric_did() {
    let (committer, codes, _dir) = replay(|_, _| {});
    for (i, block) in codes.iter().enumerate() {
        assert!(!block.is_empty());
        assert!(
            block.iter().all(|c| *c == Code::Valid),
            "block {}: {block:?}",
            i + 1
        );
    }
    let ledger = committer.ledger();
    assert_eq!(ledger.height(), 7);
    // The definition committed in block 2 is what validated blocks 3–6.
    let (v, _) = ledger
        .get_state("_lifecycle", "namespaces/fields/asset/ValidationInfo")
        .unwrap()
        .unwrap();
    assert_eq!((v.block_num, v.tx_num), (2, 0));
    // Every asset write of blocks 3–6 is in state; the txid index finds each transaction.
    let assets = ledger.range("asset", "", "").unwrap();
    let writes: usize = (3..=6).map(|n| fixture(n).data.unwrap().data.len()).sum();
    assert_eq!(assets.len(), writes);
    for n in 1..=6 {
        let stored = ledger.block(n).unwrap().unwrap();
        assert_eq!(stored.header, fixture(n).header);
        for bytes in &fixture(n).data.unwrap().data {
            let env = weft_common::tx::UnpackedEnvelope::from_bytes(bytes).unwrap();
            let p = ledger
                .transaction_by_id(&env.channel_header.tx_id)
                .unwrap()
                .unwrap();
            assert_eq!(p.validation_code, Code::Valid as i32);
            assert_eq!(
                ledger
                    .block_by_tx_id(&env.channel_header.tx_id)
                    .unwrap()
                    .unwrap()
                    .header
                    .unwrap()
                    .number,
                n
            );
        }
    }
    // Each org's approval (block 1) is in the hashed state of its implicit
    // collection, which block 2's commit read at those versions.
    for (org, tx) in [("Org1MSP", 0), ("Org2MSP", 1)] {
        let key_hash = weft_common::crypto::sha256(b"namespaces/metadata/asset#1");
        let (v, value_hash) = ledger
            .get_hashed("_lifecycle", &format!("_implicit_org_{org}"), &key_hash)
            .unwrap()
            .unwrap_or_else(|| panic!("{org}'s approval"));
        assert_eq!((v.block_num, v.tx_num), (1, tx));
        assert_eq!(hex::encode(&value_hash[..8]), "991432db73fede13");
    }
    let info = ledger.info();
    assert_eq!(
        ledger
            .block_by_hash(&info.current_hash)
            .unwrap()
            .unwrap()
            .header
            .unwrap()
            .number,
        6
    );
}

fn edit_tx(block: &mut Block, i: usize, edit: impl FnOnce(&mut Envelope)) {
    let data = &mut block.data.as_mut().unwrap().data;
    let mut env = Envelope::decode(data[i].as_slice()).unwrap();
    edit(&mut env);
    data[i] = env.encode_to_vec();
}

fn flip_in_payload(env: &mut Envelope, needle: &[u8]) {
    let at = env
        .payload
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in payload");
    env.payload[at + needle.len() - 1] ^= 1;
}

#[test]
fn tampered_fabric_transactions_get_fabrics_codes() {
    // Everything but the creator's signature is under that signature, so Fabric
    // (which checks the creator first) reports BAD_CREATOR_SIGNATURE for a
    // flipped txid or read version too.
    let (_, codes, _dir) = replay(|n, block| {
        if n == 3 {
            edit_tx(block, 0, |env| {
                let last = env.signature.len() - 1;
                env.signature[last] ^= 1;
            });
            edit_tx(block, 1, |env| {
                let p = Payload::decode(env.payload.as_slice()).unwrap();
                let ch = weft_protos::common::ChannelHeader::decode(
                    p.header.unwrap().channel_header.as_slice(),
                )
                .unwrap();
                flip_in_payload(env, ch.tx_id.as_bytes());
            });
            edit_tx(block, 2, |env| {
                // The read of _lifecycle's Sequence at version (2, 0): block 2 → 3.
                flip_in_payload(env, b"namespaces/fields/asset/Sequence\x12\x02\x08\x02");
            });
        }
    });
    assert_eq!(codes[2][..3], [Code::BadCreatorSignature; 3]);
    assert!(codes[2][3..].iter().all(|c| *c == Code::Valid));
}

#[test]
fn fabric_transactions_conflict_with_state_and_repeat_as_fabric_would() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let committer = Committer::genesis(ledger.clone(), fixture(0)).unwrap();
    for n in 1..=2 {
        assert!(
            committer
                .commit(fixture(n))
                .unwrap()
                .txs
                .iter()
                .all(|t| t.code == Code::Valid)
        );
    }
    // Someone else created block 3's first asset meanwhile: its read (absent) is stale.
    let b3 = fixture(3);
    let env =
        weft_common::tx::UnpackedEnvelope::from_bytes(&b3.data.as_ref().unwrap().data[0]).unwrap();
    let etx = env.endorser_transaction().unwrap();
    let key = etx
        .action
        .rwset
        .iter()
        .find(|n| n.namespace == "asset")
        .unwrap()
        .kv
        .writes[0]
        .key
        .clone();
    let info = ledger.info();
    let mut filler = weft_common::block::new_block(3, info.current_hash, vec![]);
    filler.metadata.as_mut().unwrap().metadata[2] = vec![];
    ledger
        .commit(&BlockCommit {
            hash: weft_common::block::header_hash(filler.header.as_ref().unwrap()).to_vec(),
            block: filler,
            tx_ids: vec![],
            updates: vec![StateUpdate {
                namespace: "asset".into(),
                key: key.clone(),
                value: Some(b"{}".to_vec()),
                version: Version {
                    block_num: 3,
                    tx_num: 0,
                },
                tx_id: "someone-else".into(),
                timestamp_seconds: 0,
                metadata: None,
                in_history: true,
            }],
            hashed_updates: vec![],
            private_updates: vec![],
            private: Default::default(),
            is_config: false,
        })
        .unwrap();
    // The committer learns of the block written behind its back on reopening.
    let committer = Committer::open(ledger.clone()).unwrap();
    let mut b3 = fixture(3);
    b3.header.as_mut().unwrap().number = 4;
    let done = committer.commit(b3.clone()).unwrap();
    assert_eq!(
        done.txs[0].code,
        Code::MvccReadConflict,
        "{:?}",
        done.txs[0].reason
    );
    assert!(done.txs[1..].iter().all(|t| t.code == Code::Valid));
    // The same transactions again are duplicates.
    b3.header.as_mut().unwrap().number = 5;
    let done = committer.commit(b3).unwrap();
    assert!(
        done.txs.iter().all(|t| t.code == Code::DuplicateTxid),
        "{:?}",
        done.txs
    );
}

#[test]
fn bad_fabric_blocks_are_refused_with_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let committer = Committer::genesis(Ledger::open(dir.path()).unwrap(), fixture(0)).unwrap();
    let info = committer.ledger().info();
    let cfg = committer.config();
    let check = |b: &Block| verify_block(b, info.height, &info.current_hash, &cfg, now());
    check(&fixture(1)).unwrap();
    let mut bad_sig = fixture(1);
    let sigs = &mut bad_sig.metadata.as_mut().unwrap().metadata[0];
    let last = sigs.len() - 1;
    sigs[last] ^= 1;
    let err = check(&bad_sig).unwrap_err();
    assert!(err.reason.contains("BlockValidation"), "{err}");
    let mut bad_data = fixture(1);
    bad_data.data.as_mut().unwrap().data[0][10] ^= 1;
    assert!(check(&bad_data).unwrap_err().reason.contains("data hash"));
    let err = check(&fixture(2)).unwrap_err();
    assert!(err.reason.contains("expected block 1"), "{err}");
    let mut unlinked = fixture(1);
    unlinked.header.as_mut().unwrap().previous_hash[0] ^= 1;
    assert!(
        check(&unlinked)
            .unwrap_err()
            .reason
            .contains("previous hash")
    );
}

/// Every stored block carries its commit hash; two peers committing the same
/// blocks hold the same hashes, a restarted peer continues its chain of
/// them, and a different verdict in one block changes that block's hash and
/// every later one.
#[test]
fn commit_hashes_chain_every_block_agree_across_peers_and_survive_a_restart() {
    use weft_peer::channel::commit_hash;
    let hashes = |c: &Committer| -> Vec<Vec<u8>> {
        (0..c.ledger().info().height)
            .map(|n| commit_hash::of(&c.ledger().block(n).unwrap().unwrap()).unwrap())
            .collect()
    };
    let (a, _, _dir_a) = replay(|_, _| {});
    let (b, _, _dir_b) = replay(|_, _| {});
    let (ha, hb) = (hashes(&a), hashes(&b));
    assert_eq!(ha.len(), 7);
    assert_eq!(ha, hb);
    assert_eq!(
        ha.iter().collect::<std::collections::BTreeSet<_>>().len(),
        7,
        "each block has its own hash"
    );

    // A peer that restarts after block 3 ends with the same hashes.
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let first = Committer::genesis(ledger.clone(), fixture(0)).unwrap();
    for n in 1..=3 {
        first.commit(fixture(n)).unwrap();
    }
    drop(first);
    let reopened = Committer::open(ledger).unwrap();
    for n in 4..=6 {
        reopened.commit(fixture(n)).unwrap();
    }
    assert_eq!(hashes(&reopened), ha);

    // Block 2's first transaction invalid (a forged creator signature): the
    // hashes agree up to block 1 and differ from block 2 on.
    let (c, codes, _dir_c) = replay(|n, block| {
        if n == 2 {
            edit_tx(block, 0, |env| {
                let last = env.signature.len() - 1;
                env.signature[last] ^= 1;
            });
        }
    });
    assert_ne!(codes[1][0], Code::Valid);
    let hc = hashes(&c);
    assert_eq!(hc[..2], ha[..2]);
    for n in 2..7 {
        assert_ne!(hc[n], ha[n], "block {n}");
    }
}
