//! Each fuzz target, briefly: its seeds (the real Fabric chain's blocks and
//! what they contain, a chaincode package, ABI encodings), mutations of them
//! and random bytes, for `WEFT_FUZZ_MILLIS` (default 1,500) per target. A
//! panic fails the test with the input that caused it. `scripts/fuzz.sh` runs
//! the same targets under libFuzzer for as long as asked.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use prost::Message;
use weft_fuzz_targets::TARGETS;
use weft_protos::common::{Block, Envelope, Payload};

/// A small deterministic generator (seeded per target, so a failure repeats).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fixture_blocks() -> Vec<Vec<u8>> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/fabric-3.0-chain");
    (0..)
        .map(|n| dir.join(format!("block-{n}.pb")))
        .take_while(|p| p.exists())
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Valid inputs of every shape the targets parse.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = fixture_blocks();
    assert!(!seeds.is_empty(), "the Fabric chain fixture is missing");
    for bytes in seeds.clone() {
        let block = Block::decode(bytes.as_slice()).unwrap();
        for tx in block.data.unwrap_or_default().data {
            if let Ok(env) = Envelope::decode(tx.as_slice())
                && let Ok(payload) = Payload::decode(env.payload.as_slice())
            {
                seeds.push(payload.data);
            }
            seeds.push(tx);
        }
    }
    // A config update of the fixture's channel (its batch size raised), bare
    // and in an envelope with one (untrusted) signature slot.
    let current = weft_fuzz_targets::fixture_config();
    let mut updated = current.config.clone();
    let orderer = updated
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Orderer")
        .unwrap();
    let batch = orderer.values.get_mut("BatchSize").unwrap();
    let mut size = weft_protos::orderer::BatchSize::decode(batch.value.as_slice()).unwrap();
    size.max_message_count += 1;
    batch.value = size.encode_to_vec();
    let update =
        weft_common::config::update::compute_update(&current.channel_id, &current.config, &updated)
            .unwrap()
            .encode_to_vec();
    seeds.push(
        weft_protos::common::ConfigUpdateEnvelope {
            config_update: update.clone(),
            signatures: vec![weft_protos::common::ConfigSignature {
                signature_header: b"header".to_vec(),
                signature: b"signature".to_vec(),
            }],
        }
        .encode_to_vec(),
    );
    seeds.push(update);
    seeds.push(weft_peer::package::package("seed_1", b"\0asm\x01\0\0\0").unwrap());
    seeds.push(
        weft_chaincode_abi::Invocation {
            args: vec![b"CreateAsset".to_vec(), b"asset1".to_vec()],
        }
        .encode(),
    );
    seeds.push(weft_chaincode_abi::Response::ok(b"{}".to_vec()).encode());
    seeds.push(weft_chaincode_abi::encode_kv("k", b"v"));
    seeds.push(
        b"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t.MEUCIQ\0{\"id\":\"user1\",\"type\":\"client\",\"affiliation\":\"org1\"}"
            .to_vec(),
    );
    seeds
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    match rng.below(5) {
        0 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] ^= 1 << rng.below(8);
        }
        1 => data.truncate(rng.below(data.len() + 1)),
        2 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] = [0, 0x7f, 0x80, 0xff][rng.below(4)];
        }
        3 => {
            let at = rng.below(data.len() + 1);
            let extra: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
            data.splice(at..at, extra);
        }
        _ => data = (0..rng.below(256)).map(|_| rng.next() as u8).collect(),
    }
    data
}

#[test]
fn every_target_survives_seeds_mutations_and_random_bytes() {
    let budget = Duration::from_millis(
        std::env::var("WEFT_FUZZ_MILLIS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1500),
    );
    let seeds = seeds();
    for (i, (name, target)) in TARGETS.iter().enumerate() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1));
        let started = Instant::now();
        let mut runs = 0u64;
        for seed in &seeds {
            target(seed);
            runs += 1;
        }
        while started.elapsed() < budget {
            let seed = &seeds[rng.below(seeds.len())];
            let mut input = mutate(&mut rng, seed);
            for _ in 0..rng.below(4) {
                input = mutate(&mut rng, &input);
            }
            let result = std::panic::catch_unwind(|| target(&input));
            assert!(
                result.is_ok(),
                "target {name} panicked on input {}",
                input.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
            runs += 1;
        }
        eprintln!("fuzz {name}: {runs} inputs in {:?}", started.elapsed());
    }
}
