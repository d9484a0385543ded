//! Rich queries over 200,000 JSON documents in one namespace of a RocksDB
//! ledger: an equality query on an indexed field returning 100 documents,
//! the same query with no index (a scan of the namespace), and the index
//! build, reported in documents per second.
//! Run: `cargo bench -p weft-peer --bench rich_query`.

#![allow(missing_docs)]

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use weft_chaincode_query::Query;
use weft_peer::chaincode::Simulator;
use weft_peer::chaincode::TxSimulator;
use weft_peer::chaincode::simulator::QueryLimits;
use weft_peer::ledger::{BlockCommit, Ledger, StateUpdate};
use weft_protos::kvrwset::Version;

/// The allocator the node binaries use, so the figure is theirs.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const DOCS: usize = 200_000;
/// 100 documents per owner.
const OWNERS: usize = DOCS / 100;
const PER_BLOCK: usize = 10_000;

fn fill(ledger: &Ledger) {
    for first in (0..DOCS).step_by(PER_BLOCK) {
        let info = ledger.info();
        let block = weft_common::block::new_block(info.height, info.current_hash, vec![]);
        let updates = (first..first + PER_BLOCK)
            .map(|i| StateUpdate {
                namespace: "marbles".into(),
                key: format!("marble{i:06}"),
                value: Some(
                    format!(
                        r#"{{"docType":"marble","name":"marble{i:06}","color":"blue","size":{},"owner":"owner{:04}"}}"#,
                        i % 50,
                        i % OWNERS
                    )
                    .into_bytes(),
                ),
                version: Version {
                    block_num: info.height,
                    tx_num: i as u64,
                },
                tx_id: format!("tx{i}"),
                timestamp_seconds: 0,
                metadata: None,
                in_history: false,
            })
            .collect();
        ledger
            .commit(&BlockCommit {
                hash: weft_common::block::header_hash(block.header.as_ref().unwrap()).to_vec(),
                block,
                tx_ids: vec![],
                updates,
                hashed_updates: vec![],
                private_updates: vec![],
                private: Default::default(),
                is_config: false,
            })
            .unwrap();
    }
}

fn rich_query(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let plain = Ledger::open(&dir.path().join("plain")).unwrap();
    let indexed = Ledger::open(&dir.path().join("indexed")).unwrap();
    fill(&plain);
    fill(&indexed);
    let started = Instant::now();
    let built = indexed
        .create_index(
            "marbles",
            r#"{"index":{"fields":["docType","owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}"#,
        )
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "index build: {built} documents in {secs:.2} s, {:.0} documents/s",
        built as f64 / secs
    );
    let query = Query::parse(r#"{"selector":{"docType":"marble","owner":"owner0042"}}"#).unwrap();
    let limits = QueryLimits {
        max_results: 100_000,
        max_scanned: DOCS,
    };
    let run = |ledger: &Ledger| {
        let out = Simulator::new(ledger.clone())
            .rich_query("marbles", &query, None, limits)
            .unwrap();
        assert_eq!(out.records.len(), 100);
        out
    };
    let mut group = c.benchmark_group("rich_query_200k");
    group.bench_function("indexed_equality_100_results", |b| b.iter(|| run(&indexed)));
    group.sample_size(10);
    group.bench_function("unindexed_equality_100_results", |b| b.iter(|| run(&plain)));
    group.finish();
}

criterion_group!(benches, rich_query);
criterion_main!(benches);
