//! The WASM runtime against hand-written modules: a well-behaved one, and
//! every way a chaincode can misbehave. Each failure is contained to its own
//! invocation or install, with an error that names the cause.

use std::sync::Arc;

use prost::Message;
use weft_peer::chaincode::{
    ChaincodeRuntime, InvocationContext, MemoryLedger, RuntimeConfig, TxSimulator,
};
use weft_protos::kvrwset::KvrwSet;

/// Reads `key`, writes key=value, sets event "Put", returns 200 "value".
const GOOD: &str = r#"(module
  (import "weft" "get_state" (func $get_state (param i32 i32) (result i64)))
  (import "weft" "put_state" (func $put_state (param i32 i32 i32 i32) (result i32)))
  (import "weft" "set_event" (func $set_event (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $bump (mut i32) (i32.const 4096))
  (data (i32.const 0) "key")
  (data (i32.const 16) "value")
  (data (i32.const 32) "Put")
  (data (i32.const 64) "\c8\00\00\00\00\00\00\00\05\00\00\00value")
  (func (export "weft_abi_version") (result i32) i32.const 1)
  (func (export "weft_alloc") (param $len i32) (result i32) (local $p i32)
    global.get $bump local.set $p
    global.get $bump local.get $len i32.add global.set $bump
    local.get $p)
  (func (export "weft_invoke") (param i32 i32) (result i64)
    (drop (call $get_state (i32.const 0) (i32.const 3)))
    (drop (call $put_state (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5)))
    (drop (call $set_event (i32.const 32) (i32.const 3) (i32.const 16) (i32.const 5)))
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 17))))"#;

fn with_invoke(body: &str) -> String {
    format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "weft_abi_version") (result i32) i32.const 1)
  (func (export "weft_alloc") (param i32) (result i32) i32.const 1024)
  (func (export "weft_invoke") (param i32 i32) (result i64) {body}))"#
    )
}

fn runtime() -> Arc<ChaincodeRuntime> {
    Arc::new(
        ChaincodeRuntime::new(RuntimeConfig {
            fuel_per_invocation: 5_000_000,
            memory_limit_bytes: 4 * 1024 * 1024,
            max_concurrent_instances: 8,
            ..Default::default()
        })
        .unwrap(),
    )
}

fn ctx(cc: &str) -> InvocationContext {
    InvocationContext {
        chaincode: cc.into(),
        args: vec![b"F".to_vec()],
        tx_id: "tx1".into(),
        channel_id: "ch".into(),
        ..Default::default()
    }
}

fn invoke(
    rt: &Arc<ChaincodeRuntime>,
    wasm: &[u8],
    ledger: &MemoryLedger,
    cc: &str,
) -> (
    Result<weft_peer::chaincode::InvokeOutcome, weft_peer::PeerError>,
    Box<dyn TxSimulator>,
) {
    let module = rt.load(wasm).unwrap();
    rt.invoke(&module, ctx(cc), Box::new(ledger.simulator()), None)
}

#[test]
fn a_good_module_reads_writes_and_sets_an_event() {
    let rt = runtime();
    let wasm = wat::parse_str(GOOD).unwrap();
    let (out, sim) = invoke(&rt, &wasm, &MemoryLedger::default(), "cc");
    let out = out.unwrap();
    assert_eq!(out.response.status, 200);
    assert_eq!(out.response.payload, b"value");
    assert_eq!(out.event, Some(("Put".to_string(), b"value".to_vec())));
    let rw = sim.rwset();
    assert_eq!(rw.ns_rwset[0].namespace, "cc");
    let kv = KvrwSet::decode(rw.ns_rwset[0].rwset.as_slice()).unwrap();
    assert_eq!(kv.reads[0].key, "key");
    assert!(kv.reads[0].version.is_none());
    assert_eq!(kv.writes[0].value, b"value");
}

#[test]
fn the_same_input_gives_the_same_rwset_and_fuel() {
    let rt = runtime();
    let wasm = wat::parse_str(GOOD).unwrap();
    let mut ledger = MemoryLedger::default();
    ledger.put("cc", "key", b"old", 2, 0);
    let runs: Vec<_> = (0..5)
        .map(|_| {
            let (out, sim) = invoke(&rt, &wasm, &ledger, "cc");
            (out.unwrap().fuel_used, sim.rwset().encode_to_vec())
        })
        .collect();
    assert!(runs.windows(2).all(|w| w[0] == w[1]), "{runs:?}");
    assert!(runs[0].0 > 0);
}

#[test]
fn namespaces_are_isolated() {
    let rt = runtime();
    let wasm = wat::parse_str(GOOD).unwrap();
    let mut ledger = MemoryLedger::default();
    ledger.put("other", "key", b"secret", 1, 0);
    let (_, sim) = invoke(&rt, &wasm, &ledger, "cc");
    let kv = KvrwSet::decode(sim.rwset().ns_rwset[0].rwset.as_slice()).unwrap();
    assert!(
        kv.reads[0].version.is_none(),
        "chaincode cc does not see other's key"
    );
    assert!(sim.rwset().ns_rwset.iter().all(|ns| ns.namespace == "cc"));
}

#[test]
fn misbehaving_invocations_fail_alone() {
    let rt = runtime();
    let cases = [
        (with_invoke("(loop br 0) i64.const 0"), "ran out of fuel"),
        (
            with_invoke(
                "(loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) i64.const 0",
            ),
            "memory limit",
        ),
        (with_invoke("unreachable"), "unreachable"),
        (
            with_invoke("i64.const 0x7fffffff00000010"),
            "outside memory",
        ),
        (
            with_invoke("i64.const 0x0000000000000003"),
            "not a response",
        ),
    ];
    let good = wat::parse_str(GOOD).unwrap();
    for (wat_text, want) in cases {
        let wasm = wat::parse_str(&wat_text).unwrap();
        let (out, _) = invoke(&rt, &wasm, &MemoryLedger::default(), "bad");
        let err = out.unwrap_err().to_string();
        assert!(err.contains(want) && err.contains("bad"), "{want}: {err}");
        // The runtime goes on serving.
        let (ok, _) = invoke(&rt, &good, &MemoryLedger::default(), "cc");
        assert_eq!(ok.unwrap().response.status, 200);
    }
}

#[test]
fn bad_modules_are_refused_at_install() {
    let rt = runtime();
    let cases = [
        ("(module (memory (export \"memory\") 1))".to_string(), "required export weft_abi_version is missing"),
        (with_invoke("i64.const 0").replace("i32.const 1)\n  (func (export \"weft_alloc\")", "i32.const 2)\n  (func (export \"weft_alloc\")"), "ABI version 2"),
        (
            with_invoke("i64.const 0").replace("(module\n", "(module\n  (import \"wasi_snapshot_preview1\" \"clock_time_get\" (func (param i32 i64 i32) (result i32)))\n"),
            "wasi_snapshot_preview1.clock_time_get",
        ),
        (
            with_invoke("i64.const 0").replace("(module\n", "(module\n  (import \"weft\" \"open_socket\" (func))\n"),
            "weft.open_socket",
        ),
        (with_invoke("i64.const 0").replace("(param i32 i32) (result i64)", "(param i32) (result i64)"), "export weft_invoke has type"),
        ("not wasm at all".to_string(), "not a valid WASM module"),
    ];
    for (text, want) in cases {
        let wasm = wat::parse_str(&text).unwrap_or_else(|_| text.as_bytes().to_vec());
        let err = rt.load(&wasm).unwrap_err().to_string();
        assert!(err.contains(want), "{want}: {err}");
    }
    assert!(rt.load(&wat::parse_str(GOOD).unwrap()).is_ok());
}

#[test]
fn compiled_modules_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        max_concurrent_instances: 4,
        ..Default::default()
    };
    let wasm = wat::parse_str(GOOD).unwrap();
    Arc::new(ChaincodeRuntime::new(config.clone()).unwrap())
        .load(&wasm)
        .unwrap();
    let cached: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(cached.len(), 1);
    assert!(cached[0].file_name().to_string_lossy().ends_with(".cwasm"));
    // A new runtime (a restarted peer) loads it from the cache and runs it.
    let rt = Arc::new(ChaincodeRuntime::new(config).unwrap());
    let (out, _) = invoke(&rt, &wasm, &MemoryLedger::default(), "cc");
    assert_eq!(out.unwrap().response.status, 200);
}
