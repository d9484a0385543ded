//! Validate + commit throughput: blocks of 500 transactions, each signed by its
//! creator and endorsed by two peers (three ECDSA P-256 verifications), replayed
//! from a prepared chain into a fresh RocksDB ledger.
//!
//! The private-data variant commits the same asset to a collection of Org1
//! and Org2 instead (a hashed read and write in the block; the value waiting
//! in the transient store, as the endorsement left it), on Org1's peer: the
//! hashed state, the private value and the private rwset are written.
//!
//! `cargo bench -p weft-peer --bench commit` — compare the commit figures with
//! the last one, the same transactions' signature checks alone on all cores:
//! the ceiling on the machine as it runs now.

#![allow(missing_docs)] // criterion's macros generate undocumented functions

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use weft_common::block::{header_hash, new_block};
use weft_peer::channel::Committer;
use weft_peer::ledger::Ledger;
use weft_protos::common::Block;
use weft_protos::kvrwset::{HashedRwSet, KvReadHash, KvWrite, KvWriteHash, KvrwSet};
use weft_protos::rwset::{
    CollectionHashedReadWriteSet, CollectionPvtReadWriteSet, NsPvtReadWriteSet, NsReadWriteSet,
    TxPvtReadWriteSet, TxReadWriteSet,
};

#[path = "../tests/it/support.rs"]
mod support;
use support::*;

/// The allocator the node binaries use, so the figure is theirs.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TXS_PER_BLOCK: usize = 500;
const BLOCKS: usize = 4;

struct Prepared {
    genesis: Block,
    definition: Vec<u8>,
    blocks: Vec<Vec<Vec<u8>>>,
    /// The same assets written to collection `assets` of `basic`.
    private_blocks: Vec<Vec<Vec<u8>>>,
    /// What each private transaction's endorsement left in the transient store.
    private_writes: Vec<(String, TxPvtReadWriteSet)>,
}

fn asset(b: usize, i: usize) -> (String, String) {
    let key = format!("asset{b:02}{i:04}");
    let value =
        format!(r#"{{"ID":"{key}","Color":"blue","Size":5,"Owner":"Tom","AppraisedValue":300}}"#);
    (key, value)
}

/// The rwsets of a transaction reading and writing `key` of collection
/// `assets`: the hashed one for the block, the private one for the store.
fn private_rwsets(key: &str, value: &str) -> (Vec<u8>, TxPvtReadWriteSet) {
    let sha = |b: &[u8]| weft_common::crypto::sha256(b).to_vec();
    let pvt = KvrwSet {
        writes: vec![KvWrite {
            key: key.into(),
            is_delete: false,
            value: value.as_bytes().to_vec(),
        }],
        ..Default::default()
    }
    .encode_to_vec();
    let hashed = HashedRwSet {
        hashed_reads: vec![KvReadHash {
            key_hash: sha(key.as_bytes()),
            version: None,
        }],
        hashed_writes: vec![KvWriteHash {
            key_hash: sha(key.as_bytes()),
            is_delete: false,
            value_hash: sha(value.as_bytes()),
            is_purge: false,
        }],
        ..Default::default()
    };
    let public = TxReadWriteSet {
        data_model: 0,
        ns_rwset: vec![NsReadWriteSet {
            namespace: "basic".into(),
            rwset: Vec::new(),
            collection_hashed_rwset: vec![CollectionHashedReadWriteSet {
                collection_name: "assets".into(),
                hashed_rwset: hashed.encode_to_vec(),
                pvt_rwset_hash: sha(&pvt),
            }],
        }],
    }
    .encode_to_vec();
    let private = TxPvtReadWriteSet {
        data_model: 0,
        ns_pvt_rwset: vec![NsPvtReadWriteSet {
            namespace: "basic".into(),
            collection_pvt_rwset: vec![CollectionPvtReadWriteSet {
                collection_name: "assets".into(),
                rwset: pvt,
            }],
        }],
    };
    (public, private)
}

fn prepare() -> Prepared {
    let orgs = Orgs::new(1);
    let genesis = orgs.genesis(&[7050], 500, "250ms");
    let (_, def) = define_chaincode_with_collections(
        &orgs,
        "basic",
        "AND('Org1MSP.peer', 'Org2MSP.peer')",
        &[("assets", None)],
    );
    let (user, p1, p2) = (orgs.user(1), orgs.peer(1), orgs.peer(2));
    let blocks = (0..BLOCKS)
        .map(|b| {
            (0..TXS_PER_BLOCK)
                .map(|i| {
                    let (key, value) = asset(b, i);
                    let results = rwset(vec![
                        Ns::new("basic")
                            .read(&key, None)
                            .write(&key, value.as_bytes()),
                    ]);
                    endorsed_tx("basic", results, &user, &[&p1, &p2])
                        .1
                        .encode_to_vec()
                })
                .collect()
        })
        .collect();
    let mut private_writes = Vec::new();
    let private_blocks = (0..BLOCKS)
        .map(|b| {
            (0..TXS_PER_BLOCK)
                .map(|i| {
                    let (key, value) = asset(b, i);
                    let (results, private) = private_rwsets(&key, &value);
                    let (tx_id, env) = endorsed_tx("basic", results, &user, &[&p1, &p2]);
                    private_writes.push((tx_id, private));
                    env.encode_to_vec()
                })
                .collect()
        })
        .collect();
    Prepared {
        genesis,
        definition: def.encode_to_vec(),
        blocks,
        private_blocks,
        private_writes,
    }
}

/// Org1's peer's ledger at height 2 (genesis + definition), ready for the
/// prepared blocks; for the private ones, their writes in the transient store.
fn fresh(p: &Prepared, private: bool) -> (tempfile::TempDir, Committer) {
    let dir = tempfile::tempdir().unwrap();
    let committer = Committer::genesis(Ledger::open(dir.path()).unwrap(), p.genesis.clone())
        .unwrap()
        .for_org("Org1MSP".into(), 1000);
    let info = committer.ledger().info();
    committer
        .commit(new_block(1, info.current_hash, vec![p.definition.clone()]))
        .unwrap();
    if private {
        for (tx_id, pvt) in &p.private_writes {
            committer.transient().put(tx_id, pvt).unwrap();
        }
    }
    (dir, committer)
}

fn bench(c: &mut Criterion) {
    // This process signed every endorsement: measure a peer that has seen
    // none of them (the worst case; a real endorsing peer skips its own).
    weft_common::crypto::VerifiedSignatures::process().set_enabled(false);
    let prepared = prepare();
    let mut g = c.benchmark_group("validate_and_commit");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements((TXS_PER_BLOCK * BLOCKS) as u64));
    for (name, pipelined, private) in [
        ("pipelined (submit)", true, false),
        ("one block at a time (commit)", false, false),
        ("private data, pipelined (submit)", true, true),
    ] {
        let blocks = if private {
            &prepared.private_blocks
        } else {
            &prepared.blocks
        };
        g.bench_function(
            format!("4 blocks x 500 txs, 2 endorsements each, {name}"),
            |b| {
                b.iter_batched(
                    || fresh(&prepared, private),
                    |(dir, committer)| {
                        let mut prev = committer.ledger().info().current_hash;
                        for (i, data) in blocks.iter().enumerate() {
                            let block = new_block(2 + i as u64, prev, data.clone());
                            prev = header_hash(block.header.as_ref().unwrap()).to_vec();
                            // Block delivery submits: the next block is validated while this one is written.
                            let done = if pipelined {
                                committer.submit(block).unwrap()
                            } else {
                                committer.commit(block).unwrap()
                            };
                            assert!(done.txs.iter().all(|t| t.is_valid()));
                        }
                        committer.flush().unwrap();
                        if private {
                            let ledger = committer.ledger();
                            assert!(ledger.missing_pvt(1).unwrap().is_empty());
                            let (key, _) = asset(BLOCKS - 1, TXS_PER_BLOCK - 1);
                            assert!(
                                ledger
                                    .get_private("basic", "assets", &key)
                                    .unwrap()
                                    .is_some()
                            );
                        }
                        (dir, committer)
                    },
                    BatchSize::PerIteration,
                );
            },
        );
    }
    // The ceiling on this machine at this moment: only the three signature
    // verifications per transaction, on all cores, nothing else.
    let signed: Vec<(weft_common::msp::Identity, weft_common::policy::SignedData)> = prepared
        .blocks
        .iter()
        .flatten()
        .flat_map(|bytes| {
            let env = weft_common::tx::UnpackedEnvelope::from_bytes(bytes).unwrap();
            let mut v = vec![env.creator_signed_data()];
            v.extend(
                env.endorser_transaction()
                    .unwrap()
                    .action
                    .endorsement_signed_data(),
            );
            v
        })
        .map(|sd| {
            (
                weft_common::msp::Identity::from_serialized(&sd.identity).unwrap(),
                sd,
            )
        })
        .collect();
    g.bench_function("signature verifications only (the ceiling)", |b| {
        use rayon::prelude::*;
        b.iter(|| {
            signed
                .par_iter()
                .for_each(|(id, sd)| id.verify(&sd.data, &sd.signature).unwrap())
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
