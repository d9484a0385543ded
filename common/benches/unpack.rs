//! Unpacking a real Fabric endorser transaction (envelope → headers → action →
//! read/write set), as the validator does for every transaction of a block.
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use weft_common::tx::UnpackedEnvelope;
use weft_protos::common::Block;

fn unpack(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/fabric-3.0-chain/block-3.pb"
    );
    let block = Block::decode(std::fs::read(path).expect("fixture block").as_slice()).unwrap();
    let envs = block.data.unwrap().data;
    let mut group = c.benchmark_group("unpack");
    group.throughput(Throughput::Elements(envs.len() as u64));
    group.bench_function("endorser_transactions_of_block_3", |b| {
        b.iter(|| {
            for e in &envs {
                let env = UnpackedEnvelope::from_bytes(e).unwrap();
                env.check_txid().unwrap();
                let tx = env.endorser_transaction().unwrap();
                assert_eq!(tx.action.endorsements.len(), 2);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, unpack);
criterion_main!(benches);
