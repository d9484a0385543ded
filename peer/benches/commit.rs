//! Validate + commit throughput: blocks of 500 transactions, each signed by its
//! creator and endorsed by two peers (three ECDSA P-256 verifications), replayed
//! from a prepared chain into a fresh RocksDB ledger.
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
}

fn prepare() -> Prepared {
    let orgs = Orgs::new(1);
    let genesis = orgs.genesis(&[7050], 500, "250ms");
    let (_, def) = define_chaincode(&orgs, "basic", "AND('Org1MSP.peer', 'Org2MSP.peer')");
    let (user, p1, p2) = (orgs.user(1), orgs.peer(1), orgs.peer(2));
    let blocks = (0..BLOCKS)
        .map(|b| {
            (0..TXS_PER_BLOCK)
                .map(|i| {
                    let key = format!("asset{b:02}{i:04}");
                    let value = format!(r#"{{"ID":"{key}","Color":"blue","Size":5,"Owner":"Tom","AppraisedValue":300}}"#);
                    let results = rwset(vec![Ns::new("basic").read(&key, None).write(&key, value.as_bytes())]);
                    endorsed_tx("basic", results, &user, &[&p1, &p2]).1.encode_to_vec()
                })
                .collect()
        })
        .collect();
    Prepared {
        genesis,
        definition: def.encode_to_vec(),
        blocks,
    }
}

/// A ledger at height 2 (genesis + definition), ready for the prepared blocks.
fn fresh(p: &Prepared) -> (tempfile::TempDir, Committer) {
    let dir = tempfile::tempdir().unwrap();
    let committer =
        Committer::genesis(Ledger::open(dir.path()).unwrap(), p.genesis.clone()).unwrap();
    let info = committer.ledger().info();
    committer
        .commit(new_block(1, info.current_hash, vec![p.definition.clone()]))
        .unwrap();
    (dir, committer)
}

fn bench(c: &mut Criterion) {
    let prepared = prepare();
    let mut g = c.benchmark_group("validate_and_commit");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements((TXS_PER_BLOCK * BLOCKS) as u64));
    for (name, pipelined) in [
        ("pipelined (submit)", true),
        ("one block at a time (commit)", false),
    ] {
        g.bench_function(
            format!("4 blocks x 500 txs, 2 endorsements each, {name}"),
            |b| {
                b.iter_batched(
                    || fresh(&prepared),
                    |(dir, committer)| {
                        let mut prev = committer.ledger().info().current_hash;
                        for (i, data) in prepared.blocks.iter().enumerate() {
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
