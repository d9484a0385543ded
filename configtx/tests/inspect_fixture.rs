//! `inspect` decodes the real Fabric chain to the same JSON Fabric's
//! configtxlator produced (the `block-N.json` files), and `encode` turns that
//! JSON back into the original bytes.

use std::path::PathBuf;

use weft_configtx::protolator::Protolator;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/fabric-3.0-chain")
        .join(name)
}

/// Describes the first difference between two JSON values, by path.
fn first_difference(path: &str, a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
    use serde_json::Value::*;
    match (a, b) {
        (Object(x), Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(&format!("{path}.{k}"), p, q) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some(format!("{path}.{k}: weft {p:?} vs Fabric {q:?}")),
                }
            }
            None
        }
        (Array(x), Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(&format!("{path}[{i}]"), p, q)),
        _ if a == b => None,
        _ => Some(format!("{path}: weft {a} vs Fabric {b}")),
    }
}

#[test]
fn inspect_matches_configtxlator_for_every_block() {
    let p = Protolator::new();
    for n in 0..=6 {
        let bytes = std::fs::read(fixture(&format!("block-{n}.pb"))).unwrap();
        let ours = p.decode("common.Block", &bytes).unwrap();
        let fabric: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture(&format!("block-{n}.json"))).unwrap())
                .unwrap();
        if let Some(diff) = first_difference(&format!("block-{n}"), &ours, &fabric) {
            panic!("weft's JSON differs from configtxlator's: {diff}");
        }
    }
}

/// Go marshals protobuf maps in random order, so a config block (full of maps)
/// cannot be reproduced byte for byte by anyone; for it the JSON must survive
/// encode → decode unchanged. Blocks 1-6 hold no non-empty maps and must come
/// back byte for byte.
#[test]
fn encode_restores_the_original_bytes() {
    let p = Protolator::new();
    let json0: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("block-0.json")).unwrap()).unwrap();
    let reencoded = p.encode("common.Block", &json0).unwrap();
    assert_eq!(p.decode("common.Block", &reencoded).unwrap(), json0);
    for n in 1..=6 {
        let bytes = std::fs::read(fixture(&format!("block-{n}.pb"))).unwrap();
        let fabric_json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture(&format!("block-{n}.json"))).unwrap())
                .unwrap();
        let encoded = p.encode("common.Block", &fabric_json).unwrap();
        assert!(
            encoded == bytes,
            "block {n}: encoding configtxlator's JSON does not give the original bytes"
        );
    }
}

#[test]
fn bad_input_gets_a_clear_error() {
    let p = Protolator::new();
    let err = p
        .decode("common.Block", &[0xff, 0xff, 0xff])
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a valid common.Block"), "{err}");
    let err = p.decode("common.Nope", &[]).unwrap_err().to_string();
    assert!(err.contains("unknown message type"), "{err}");
    let err = p
        .encode(
            "common.Block",
            &serde_json::json!({"header": {"number": "x"}}),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("common.Block.header.number"), "{err}");
    let err = p
        .encode("common.Block", &serde_json::json!({"hedaer": {}}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no field \"hedaer\""), "{err}");
}
