//! Cost of one chaincode invocation with a cached module: a fresh store and
//! instance, then asset-transfer-basic's CreateAsset (one read, one write, JSON).
//! Run: `cargo bench -p weft-peer --bench invoke`.

#![allow(missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_peer::chaincode::{ChaincodeRuntime, InvocationContext, MemoryLedger, RuntimeConfig};

/// The allocator the node binaries use, so the figure is theirs.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn invoke(c: &mut Criterion) {
    let crate_dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/asset-transfer-basic");
    let wasm =
        std::fs::read(weft_peer::package::build_wasm(&crate_dir, None).expect("build the sample"))
            .unwrap();
    let rt = Arc::new(
        ChaincodeRuntime::new(RuntimeConfig {
            max_concurrent_instances: 16,
            ..Default::default()
        })
        .unwrap(),
    );
    let cc = rt.load(&wasm).unwrap();
    let ledger = MemoryLedger::default();
    let mut n = 0u64;
    let mut group = c.benchmark_group("chaincode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("create_asset_invocation", |b| {
        b.iter(|| {
            n += 1;
            let id = format!("asset{n}");
            let ctx = InvocationContext {
                chaincode: "basic".into(),
                args: vec![
                    b"CreateAsset".to_vec(),
                    id.into_bytes(),
                    b"blue".to_vec(),
                    b"5".to_vec(),
                    b"Tomoko".to_vec(),
                    b"300".to_vec(),
                ],
                tx_id: "tx".into(),
                channel_id: "mychannel".into(),
                ..Default::default()
            };
            let (out, _) = rt.invoke(&cc, ctx, Box::new(ledger.simulator()), None);
            assert_eq!(out.unwrap().response.status, 200);
        })
    });
    // The same path with a trivial module: the runtime's own overhead.
    let trivial = wat::parse_str(
        r#"(module (memory (export "memory") 1)
            (data (i32.const 64) "\c8\00\00\00\00\00\00\00\00\00\00\00")
            (func (export "weft_abi_version") (result i32) i32.const 1)
            (func (export "weft_alloc") (param i32) (result i32) i32.const 1024)
            (func (export "weft_invoke") (param i32 i32) (result i64) (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 12))))"#,
    )
    .unwrap();
    let trivial = rt.load(&trivial).unwrap();
    group.bench_function("trivial_invocation", |b| {
        b.iter(|| {
            let ctx = InvocationContext {
                chaincode: "t".into(),
                args: vec![b"F".to_vec()],
                ..Default::default()
            };
            let (out, _) = rt.invoke(&trivial, ctx, Box::new(ledger.simulator()), None);
            assert_eq!(out.unwrap().response.status, 200);
        })
    });
    group.finish();
}

criterion_group!(benches, invoke);
criterion_main!(benches);
