//! The samples, built to WASM and packaged as a user would, run through the
//! runtime with an in-memory ledger: responses, read/write sets and events.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use prost::Message;
use weft_peer::chaincode::{
    ChaincodeRuntime, CompiledChaincode, InvocationContext, MemoryLedger, RuntimeConfig,
};
use weft_peer::package;
use weft_protos::kvrwset::{KvRead, KvrwSet, Version, range_query_info};
use weft_protos::rwset::TxReadWriteSet;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A sample by name, or a test contract by its workspace-relative path.
fn crate_dir(name: &str) -> PathBuf {
    if name.contains('/') {
        workspace().join(name)
    } else {
        workspace().join("samples").join(name)
    }
}

/// Builds and packages a sample once per test binary; returns the package bytes.
fn sample_package(name: &str) -> Vec<u8> {
    static BUILT: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>> =
        OnceLock::new();
    let cache = BUILT.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap();
    cache
        .entry(name.to_string())
        .or_insert_with(|| {
            // One target dir for every sample: std and the SDK's dependencies build once.
            let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
            let wasm_path = package::build_wasm(&crate_dir(name), Some(&target))
                .unwrap_or_else(|e| panic!("building the {name} sample to WASM (scripts/setup.sh installs the toolchain): {e}"));
            package::package(&format!("{}_1.0", name.rsplit('/').next().unwrap()), &std::fs::read(wasm_path).unwrap()).unwrap()
        })
        .clone()
}

struct Chain {
    rt: Arc<ChaincodeRuntime>,
    cc: Arc<CompiledChaincode>,
    ledger: MemoryLedger,
    block: u64,
    /// The submitting client: MSP id and PEM certificate.
    creator: (String, Vec<u8>),
    /// The private data collections the contract may use.
    collections: std::collections::BTreeMap<String, weft_peer::chaincode::CollectionAccess>,
}

impl Chain {
    fn new(sample: &str) -> Self {
        Self::configured(
            sample,
            RuntimeConfig {
                max_concurrent_instances: 8,
                ..Default::default()
            },
        )
    }

    fn configured(sample: &str, config: RuntimeConfig) -> Self {
        let pkg = package::parse(&sample_package(sample)).unwrap();
        let rt = Arc::new(ChaincodeRuntime::new(config).unwrap());
        let cc = rt
            .load(&pkg.wasm)
            .expect("a sample passes the install checks");
        Self {
            rt,
            cc,
            ledger: MemoryLedger::default(),
            block: 0,
            creator: ("Org1MSP".into(), Vec::new()),
            collections: Default::default(),
        }
    }

    /// Simulates a transaction without committing it.
    fn simulate(
        &self,
        args: &[&str],
        read_only: bool,
    ) -> (weft_peer::chaincode::InvokeOutcome, TxReadWriteSet) {
        self.simulate_with_transient(args, read_only, &[])
    }

    /// The same, with transient data.
    fn simulate_with_transient(
        &self,
        args: &[&str],
        read_only: bool,
        transient: &[(&str, &str)],
    ) -> (weft_peer::chaincode::InvokeOutcome, TxReadWriteSet) {
        let ctx = InvocationContext {
            transient: transient
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
            chaincode: "basic".into(),
            args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            tx_id: format!("tx{}", self.block).into(),
            channel_id: "mychannel".into(),
            timestamp: (1_700_000_000 + self.block as i64, 0),
            creator_msp_id: self.creator.0.clone().into(),
            creator_cert: self.creator.1.clone(),
            read_only,
            collections: self.collections.clone(),
        };
        let (out, sim) = self
            .rt
            .invoke(&self.cc, ctx, Box::new(self.ledger.simulator()), None);
        (out.unwrap_or_else(|e| panic!("{args:?}: {e}")), sim.rwset())
    }

    /// Simulates and commits a transaction in its own block.
    fn submit(&mut self, args: &[&str]) -> weft_peer::chaincode::InvokeOutcome {
        let (out, rwset) = self.simulate(args, false);
        if out.response.status == 200 {
            self.block += 1;
            self.ledger.commit(&rwset, self.block, 0);
        }
        out
    }
}

fn kv(rwset: &TxReadWriteSet) -> KvrwSet {
    assert_eq!(rwset.ns_rwset.len(), 1);
    assert_eq!(rwset.ns_rwset[0].namespace, "basic");
    KvrwSet::decode(rwset.ns_rwset[0].rwset.as_slice()).unwrap()
}

#[test]
fn asset_transfer_basic_runs_fabrics_transactions() {
    let mut chain = Chain::new("asset-transfer-basic");
    assert_eq!(chain.submit(&["InitLedger"]).response.status, 200);

    let (out, rw) = chain.simulate(&["ReadAsset", "asset1"], true);
    assert_eq!(
        String::from_utf8(out.response.payload).unwrap(),
        r#"{"AppraisedValue":300,"Color":"blue","ID":"asset1","Owner":"Tomoko","Size":5}"#
    );
    let reads = kv(&rw).reads;
    assert_eq!(reads.len(), 1);
    assert_eq!(
        reads[0].version.unwrap().block_num,
        1,
        "the read records the version it saw"
    );

    let (out, rw) = chain.simulate(
        &["CreateAsset", "asset7", "purple", "20", "Ana", "900"],
        false,
    );
    assert_eq!(out.response.status, 200);
    let set = kv(&rw);
    assert_eq!(set.reads[0].key, "asset7");
    assert!(set.reads[0].version.is_none(), "read as absent");
    assert_eq!(set.writes.len(), 1);
    assert_eq!(
        set.writes[0].value,
        br#"{"AppraisedValue":900,"Color":"purple","ID":"asset7","Owner":"Ana","Size":20}"#
    );
    chain.block += 1;
    chain.ledger.commit(&rw, chain.block, 0);

    let out = chain.submit(&["TransferAsset", "asset7", "Bo"]);
    assert_eq!(out.response.payload, b"Ana");
    let (out, _) = chain.simulate(&["AssetExists", "asset7"], true);
    assert_eq!(out.response.payload, b"true");

    let (out, rw) = chain.simulate(&["GetAllAssets"], true);
    let all: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 7);
    let ranges = kv(&rw).range_queries_info;
    assert_eq!(
        ranges.len(),
        1,
        "a range query is recorded for the phantom check"
    );

    assert_eq!(
        chain
            .submit(&["UpdateAsset", "asset7", "black", "1", "Bo", "1"])
            .response
            .status,
        200
    );
    assert_eq!(
        chain.submit(&["DeleteAsset", "asset7"]).response.status,
        200
    );
    let (out, _) = chain.simulate(&["ReadAsset", "asset7"], true);
    assert_eq!(
        (out.response.status, out.response.message.as_str()),
        (500, "the asset asset7 does not exist")
    );
    let (out, _) = chain.simulate(&["CreateAsset", "asset1", "x", "1", "y", "1"], false);
    assert_eq!(out.response.message, "the asset asset1 already exists");
}

#[test]
fn range_queries_read_page_by_page_and_end_at_the_total_query_limit() {
    let mut chain = Chain::configured(
        "asset-transfer-basic",
        RuntimeConfig {
            max_concurrent_instances: 8,
            total_query_limit: 250,
            ..Default::default()
        },
    );
    for i in 0..300 {
        let id = format!("asset{i:03}");
        let out = chain.submit(&["CreateAsset", &id, "red", "1", "Ana", "1"]);
        assert_eq!(out.response.status, 200, "{}", out.response.message);
    }
    let (out, rw) = chain.simulate(&["GetAllAssets"], true);
    let all: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(
        all.as_array().unwrap().len(),
        250,
        "ledger.state.totalQueryLimit ends the query"
    );
    let range = &kv(&rw).range_queries_info[0];
    assert!(!range.itr_exhausted, "the range was not read to its end");
    assert_eq!(
        range.end_key, "asset249",
        "Fabric records the last key read"
    );
    // More than 50 results: recorded as Fabric's Merkle summary of exactly
    // what was read (asset i was written in block i + 1).
    let read = |n: usize| {
        (0..n).map(|i| KvRead {
            key: format!("asset{i:03}"),
            version: Some(Version {
                block_num: i as u64 + 1,
                tx_num: 0,
            }),
        })
    };
    let Some(range_query_info::ReadsInfo::ReadsMerkleHashes(summary)) = &range.reads_info else {
        panic!("a Merkle summary recorded: {range:?}");
    };
    assert_eq!(
        (
            summary.max_degree,
            summary.max_level,
            summary.max_level_hashes.len()
        ),
        (50, 1, 5)
    );
    assert_eq!(weft_peer::range_summary::check(summary, read(250)), Ok(()));

    // Under the limit, the whole range is read and recorded as exhausted.
    chain.rt = Arc::new(
        ChaincodeRuntime::new(RuntimeConfig {
            max_concurrent_instances: 8,
            ..Default::default()
        })
        .unwrap(),
    );
    chain.cc = chain
        .rt
        .load(
            &package::parse(&sample_package("asset-transfer-basic"))
                .unwrap()
                .wasm,
        )
        .unwrap();
    let (out, rw) = chain.simulate(&["GetAllAssets"], true);
    let all: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 300);
    let range = &kv(&rw).range_queries_info[0];
    assert!(range.itr_exhausted);
    assert_eq!(range.end_key, "");
    let Some(range_query_info::ReadsInfo::ReadsMerkleHashes(summary)) = &range.reads_info else {
        panic!("a Merkle summary recorded: {range:?}");
    };
    assert_eq!(weft_peer::range_summary::check(summary, read(300)), Ok(()));
}

#[test]
fn a_sample_gives_the_same_rwset_and_fuel_every_time() {
    let mut chain = Chain::new("asset-transfer-basic");
    chain.submit(&["InitLedger"]);
    let runs: Vec<(u64, Vec<u8>)> = (0..3)
        .map(|_| {
            let (out, rw) = chain.simulate(&["TransferAsset", "asset2", "Zed"], false);
            (out.fuel_used, rw.encode_to_vec())
        })
        .collect();
    assert!(runs.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn packaging_is_deterministic() {
    let a = sample_package("asset-transfer-basic");
    let pkg = package::parse(&a).unwrap();
    let again = package::package(&pkg.label, &pkg.wasm).unwrap();
    assert_eq!(
        package::package_id(&pkg.label, &a),
        package::package_id(&pkg.label, &again)
    );
}

#[test]
fn marbles_from_transient_data_and_by_owner_over_many_marbles_in_wasm() {
    let mut chain = Chain::new("marbles");
    let input = r#"{"name":"p1","color":"Red","size":3,"owner":"Eve"}"#;
    let (out, rw) =
        chain.simulate_with_transient(&["InitMarbleFromTransient"], false, &[("marble", input)]);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let set = kv(&rw);
    let marble = set
        .writes
        .iter()
        .find(|w| w.key == "p1")
        .expect("the marble is written");
    assert!(String::from_utf8_lossy(&marble.value).contains("\"owner\":\"eve\""));
    chain.block += 1;
    chain.ledger.commit(&rw, chain.block, 0);
    let (out, _) = chain.simulate(&["InitMarbleFromTransient"], false);
    assert_eq!(
        out.response.status, 400,
        "no transient data: {}",
        out.response.message
    );

    // Hundreds of marbles: queries allocate and free per marble, all inside
    // one instance's memory (the SDK's bump allocator gives memory back only
    // when the instance ends).
    for i in 0..300 {
        let (name, owner) = (format!("m{i:03}"), format!("owner{}", i % 3));
        let out = chain.submit(&["InitMarble", &name, "blue", "1", &owner]);
        assert_eq!(out.response.status, 200, "{}", out.response.message);
    }
    let (out, _) = chain.simulate(&["GetMarblesByRange", "", ""], true);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let all: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 301);
    let (out, _) = chain.simulate(&["GetMarblesByOwner", "owner1"], true);
    let owned: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(owned.as_array().unwrap().len(), 100);
    let (out, _) = chain.simulate(&["GetMarblesByOwner", "eve"], true);
    let owned: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(owned[0]["name"], "p1");
}

#[test]
fn marbles_rich_queries_run_in_wasm_with_reads_recorded_and_refusals_named() {
    let mut chain = Chain::new("marbles");
    for i in 0..25 {
        let (name, owner) = (format!("m{i:02}"), ["tom", "ann"][i % 2]);
        let size = i.to_string();
        let out = chain.submit(&["InitMarble", &name, "blue", &size, owner]);
        assert_eq!(out.response.status, 200, "{}", out.response.message);
    }
    // Each key returned is a read; index entries (not JSON) are never results.
    let (out, rw) = chain.simulate(&["QueryMarblesByOwner", "ann"], false);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let found: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(found.as_array().unwrap().len(), 12);
    assert_eq!(found[0]["Key"], "m01");
    assert_eq!(found[0]["Record"]["owner"], "ann");
    let reads: Vec<_> = kv(&rw).reads.iter().map(|r| r.key.clone()).collect();
    assert_eq!(reads.len(), 12);
    assert!(reads.iter().all(|k| k.starts_with('m')));

    // Pages of 10, sorted by size descending, with the bookmark from each.
    let query = r#"{"selector":{"docType":"marble"},"sort":[{"size":"desc"}]}"#;
    let (mut sizes, mut bookmark) = (Vec::new(), String::new());
    loop {
        let (out, _) = chain.simulate(
            &["QueryMarblesWithPagination", query, "10", &bookmark],
            true,
        );
        assert_eq!(out.response.status, 200, "{}", out.response.message);
        let page: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
        let records = page["records"].as_array().unwrap();
        if records.is_empty() {
            break;
        }
        assert_eq!(page["fetchedRecordsCount"], records.len());
        sizes.extend(
            records
                .iter()
                .map(|r| r["Record"]["size"].as_u64().unwrap()),
        );
        bookmark = page["bookmark"].as_str().unwrap().to_string();
    }
    assert_eq!(sizes, (0..25).rev().collect::<Vec<u64>>());

    // Range pages, in WASM: the bookmark is the next page's first key.
    let (mut names, mut bookmark) = (Vec::new(), String::new());
    loop {
        let (out, _) = chain.simulate(
            &["GetMarblesByRangeWithPagination", "m", "n", "7", &bookmark],
            true,
        );
        assert_eq!(out.response.status, 200, "{}", out.response.message);
        let page: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
        names.extend(
            page["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["Key"].as_str().unwrap().to_string()),
        );
        bookmark = page["bookmark"].as_str().unwrap().to_string();
        if bookmark.is_empty() {
            break;
        }
    }
    assert_eq!(
        names,
        (0..25).map(|i| format!("m{i:02}")).collect::<Vec<_>>()
    );
    // A bookmark outside the range (a client's forgery) is refused by name.
    let (out, _) = chain.simulate(
        &["GetMarblesByRangeWithPagination", "m", "n", "7", "a"],
        true,
    );
    assert_eq!(out.response.status, 400);
    assert!(
        out.response.message.contains("invalid bookmark \"a\""),
        "{}",
        out.response.message
    );

    // Many keys in one host call: values in order, each key read.
    let (out, rw) = chain.simulate(&["ReadMarbles", r#"["m03","none","m01"]"#], false);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let read: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(read[0]["name"], "m03");
    assert!(read[1].is_null());
    assert_eq!(read[2]["owner"], "ann");
    let reads: Vec<_> = kv(&rw).reads.iter().map(|r| r.key.clone()).collect();
    assert_eq!(reads, ["m01", "m03", "none"]);
    // And many deletes in one: the marble and its two index entries.
    let (out, rw) = chain.simulate(&["DeleteMarble", "m04"], false);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let deleted: Vec<_> = kv(&rw)
        .writes
        .iter()
        .filter(|w| w.is_delete)
        .map(|w| w.key.clone())
        .collect();
    assert_eq!(deleted.len(), 3, "{deleted:?}");

    // A refused query tells the client why; the peer goes on serving.
    let (out, _) = chain.simulate(
        &["QueryMarbles", r#"{"selector":{"size":{"$bogus":1}}}"#],
        true,
    );
    assert_eq!(out.response.status, 400);
    assert!(
        out.response.message.contains("unknown operator $bogus"),
        "{}",
        out.response.message
    );
    let (out, _) = chain.simulate(&["QueryMarbles", "not json"], true);
    assert!(
        out.response.message.contains("invalid query"),
        "{}",
        out.response.message
    );
    // A page size of 0 is refused by name.
    let (out, _) = chain.simulate(&["QueryMarblesWithPagination", query, "0", ""], true);
    assert!(
        out.response.message.contains("pageSize must be positive"),
        "{}",
        out.response.message
    );
}

/// A client cannot make one query examine more than the peer allows: past
/// `totalQueryLimit` documents it is refused with the reason, and the next
/// call is served.
#[test]
fn a_rich_query_over_too_many_documents_is_refused_by_name() {
    let mut chain = Chain::configured(
        "marbles",
        RuntimeConfig {
            max_concurrent_instances: 8,
            total_query_limit: 20,
            ..Default::default()
        },
    );
    for i in 0..10 {
        let name = format!("m{i}");
        let out = chain.submit(&["InitMarble", &name, "red", "1", "tom"]);
        assert_eq!(out.response.status, 200, "{}", out.response.message);
    }
    // 10 marbles and 20 index entries: 30 keys to examine.
    let (out, _) = chain.simulate(&["QueryMarblesByOwner", "tom"], true);
    assert_eq!(out.response.status, 400);
    assert!(
        out.response
            .message
            .contains("examined 20 documents without finishing"),
        "{}",
        out.response.message
    );
    let (out, _) = chain.simulate(&["ReadMarble", "m3"], true);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
}

#[test]
fn marbles_index_range_and_history_run_in_wasm() {
    let mut chain = Chain::new("marbles");
    for (name, color) in [("m1", "blue"), ("m2", "red"), ("m3", "blue")] {
        let out = chain.submit(&["InitMarble", name, color, "10", "tom"]);
        assert_eq!(out.response.status, 200, "{}", out.response.message);
    }

    let (out, rw) = chain.simulate(&["GetMarblesByRange", "", ""], true);
    let all: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(
        all.as_array().unwrap().len(),
        3,
        "index entries are not marbles"
    );
    assert_eq!(kv(&rw).range_queries_info.len(), 1);

    let (out, rw) = chain.simulate(&["TransferMarblesBasedOnColor", "blue", "jerry"], false);
    assert_eq!(out.response.payload, b"2");
    let set = kv(&rw);
    let written: Vec<_> = set.writes.iter().map(|w| w.key.as_str()).collect();
    // The marbles, and their owner-index entries moved from tom to jerry.
    assert_eq!(
        written,
        [
            "\0owner~name\0jerry\0m1\0",
            "\0owner~name\0jerry\0m3\0",
            "\0owner~name\0tom\0m1\0",
            "\0owner~name\0tom\0m3\0",
            "m1",
            "m3"
        ]
    );
    assert!(
        set.writes
            .iter()
            .filter(|w| w.key.contains("tom"))
            .all(|w| w.is_delete)
    );
    assert_eq!(
        set.range_queries_info.len(),
        1,
        "the index scan is recorded for the phantom check"
    );
    chain.block += 1;
    chain.ledger.commit(&rw, chain.block, 0);

    assert_eq!(chain.submit(&["DeleteMarble", "m1"]).response.status, 200);
    let (out, _) = chain.simulate(&["GetMarblesByColor", "blue"], true);
    let blue: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(blue[0]["name"], "m3");
    assert_eq!(blue[0]["owner"], "jerry");
    assert_eq!(blue.as_array().unwrap().len(), 1);

    let (out, _) = chain.simulate(&["GetHistoryForMarble", "m1"], true);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let history: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 3, "create, transfer, delete");
    assert_eq!(history[0]["IsDelete"], true);
    assert_eq!(history[1]["Value"]["owner"], "jerry");
    assert_eq!(history[2]["Value"]["owner"], "tom");

    let (out, _) = chain.simulate(&["GetMarblesByRange", "\u{0}color~name", ""], true);
    assert_eq!(out.response.status, 400);
    assert!(out.response.message.contains("composite key"));
}

fn client_cert(cn: &str) -> Vec<u8> {
    weft_chaincode_sdk::mock::test_certificate(cn)
}

#[test]
fn erc20_accounts_come_from_the_creator_certificate_in_wasm() {
    use base64::Engine as _;
    let mut chain = Chain::new("token-erc20");
    let alice = ("Org1MSP".to_string(), client_cert("alice"));
    let bob = ("Org2MSP".to_string(), client_cert("bob"));

    chain.creator = alice.clone();
    let init = chain.submit(&["Initialize", "Gold", "GLD", "2"]);
    assert_eq!(init.response.status, 200, "{}", init.response.message);
    let out = chain.submit(&["Mint", "1000"]);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let (name, payload) = out.event.expect("Mint emits a Transfer event");
    assert_eq!(name, "Transfer");
    let ev: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(ev["value"], 1000);
    let (out, _) = chain.simulate(&["ClientAccountID"], true);
    let a = String::from_utf8(out.response.payload).unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&a)
            .unwrap(),
        b"x509::CN=alice::CN=alice"
    );

    chain.creator = bob.clone();
    let (out, _) = chain.simulate(&["ClientAccountID"], true);
    let b = String::from_utf8(out.response.payload).unwrap();
    let denied = chain.submit(&["Mint", "5"]);
    assert_eq!(denied.response.status, 403, "only Org1MSP mints");
    assert!(denied.response.message.contains("Org2MSP"));

    chain.creator = alice;
    let (out, rw) = chain.simulate(&["Transfer", &b, "250"], false);
    assert_eq!(out.response.payload, b"true");
    let written: Vec<_> = kv(&rw).writes.into_iter().map(|w| w.key).collect();
    assert_eq!(written.len(), 2, "two balances: {written:?}");
    chain.block += 1;
    chain.ledger.commit(&rw, chain.block, 0);

    chain.creator = bob;
    let (out, _) = chain.simulate(&["ClientAccountBalance"], true);
    assert_eq!(out.response.payload, b"250");
    let (out, _) = chain.simulate(&["Transfer", &a, "251"], false);
    assert!(out.response.message.contains("insufficient funds"));
}

#[test]
fn service_registry_claims_and_recovery_run_in_wasm() {
    let mut chain = Chain::new("service-registry");
    let admin = ("Org1MSP".to_string(), client_cert("admin"));
    let user = ("Org2MSP".to_string(), client_cert("user"));
    chain.creator = admin.clone();
    let body = r#"{"deployer":"","context":"k8s","replicas":3,"image_registry":"harbor/br2k"}"#;
    let out = chain.submit(&["RegisterService", "log", "10.0.0.1:8080", body]);
    assert_eq!(out.response.status, 200, "{}", out.response.message);

    chain.creator = user;
    let (out, rw) = chain.simulate(&["SendClaim", "log", "timeouts"], false);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let (name, payload) = out.event.clone().expect("a Claim event");
    assert_eq!(name, "Claim");
    let claim: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claim["tx_id"], "tx1", "the claim names its transaction");
    let writes: Vec<_> = kv(&rw).writes.into_iter().map(|w| w.key).collect();
    assert_eq!(writes, ["\u{0}claim\u{0}log\u{0}tx1\u{0}", "log"]);
    chain.block += 1;
    chain.ledger.commit(&rw, chain.block, 0);
    let denied = chain.submit(&["GetRecoveryInfo", "log"]);
    assert_eq!(denied.response.status, 403);

    chain.creator = admin;
    let out = chain.submit(&["UpdateLocation", "log", "10.0.0.2:8080"]);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let (name, payload) = out.event.expect("a NewLocation event");
    assert_eq!(name, "NewLocation");
    let ev: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(ev["settled_claims"], 1);
    let (out, _) = chain.simulate(&["GetService", "log"], true);
    let header: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(header["location"], "10.0.0.2:8080");
    assert_eq!(header["state"], "running");
}

#[test]
fn a_contract_sees_only_its_own_namespace() {
    let mut chain = Chain::new("asset-transfer-basic");
    let other = br#"{"AppraisedValue":1,"Color":"red","ID":"asset1","Owner":"Eve","Size":1}"#;
    chain.ledger.put("othercc", "asset1", other, 1, 0);
    chain
        .ledger
        .put("lscc", "basic", b"chaincode definition", 1, 0);
    let (out, rw) = chain.simulate(&["ReadAsset", "asset1"], true);
    assert_eq!(
        out.response.message, "the asset asset1 does not exist",
        "another chaincode's key is invisible"
    );
    assert_eq!(kv(&rw).reads[0].key, "asset1");
    let (out, rw) = chain.simulate(&["GetAllAssets"], true);
    assert_eq!(out.response.payload, b"[]");
    assert_eq!(
        rw.ns_rwset.len(),
        1,
        "only the contract's own namespace is touched"
    );
    // Writing the same key lands in the contract's namespace, not the other's.
    let out = chain.submit(&["CreateAsset", "asset1", "blue", "5", "Ann", "9"]);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    assert_eq!(chain.ledger.get("othercc", "asset1").unwrap().value, other);
    assert!(chain.ledger.get("basic", "asset1").is_some());
}

#[test]
fn a_rust_contract_that_panics_loops_or_hoards_fails_alone() {
    let mut chain = Chain::new("peer/tests/chaincode/misbehaving");
    // The SDK's panic hook logs message and location before the abort; the
    // runtime puts them in the error. The location is the `panic!` line.
    let source =
        std::fs::read_to_string(crate_dir("peer/tests/chaincode/misbehaving").join("src/lib.rs"))
            .unwrap();
    let line = source
        .lines()
        .position(|l| l.contains("panic!(\"index"))
        .unwrap()
        + 1;
    let panicked = format!(
        "chaincode panicked: panicked at peer/tests/chaincode/misbehaving/src/lib.rs:{line}:9:\nindex 11 is out of range for 0 items"
    );
    for (args, cause) in [
        (&["Panic", "k"][..], panicked.as_str()),
        (&["Loop"][..], "ran out of fuel"),
        (&["Hoard"][..], "memory limit"),
    ] {
        let ctx = InvocationContext {
            chaincode: "basic".into(),
            args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
            tx_id: "bad".into(),
            channel_id: "mychannel".into(),
            ..Default::default()
        };
        let err = chain
            .rt
            .invoke(&chain.cc, ctx, Box::new(chain.ledger.simulator()), None)
            .0
            .expect_err("misbehaviour is an error for this proposal");
        assert!(
            err.to_string().contains(cause),
            "{args:?}: {err} should name the cause ({cause})"
        );
        // The runtime serves the next invocation normally.
        let out = chain.submit(&["Put", "ok", "yes"]);
        assert_eq!(
            out.response.status, 200,
            "after {args:?}: {}",
            out.response.message
        );
    }
    assert!(
        chain.ledger.get("basic", "k").is_none(),
        "the panicking transaction's write is discarded"
    );
    assert_eq!(chain.ledger.get("basic", "ok").unwrap().value, b"yes");
}

/// Fabric's `totalQueryLimit` (100,000) is what a range query may return on
/// Fabric's defaults, and asset-transfer-basic's GetAllAssets lists that many
/// on a Fabric peer well within its 30 s `executeTimeout`. It must on weft's
/// default chaincode budgets too (measured: 2.3 billion fuel, between 64 and
/// 128 MiB of linear memory, 8.5 MB of response).
#[test]
fn get_all_assets_lists_fabrics_total_query_limit_on_the_default_budgets() {
    let mut chain = Chain::new("asset-transfer-basic");
    for i in 0..100_000 {
        let id = format!("asset{i:06}");
        let value = format!(
            r#"{{"AppraisedValue":{i},"Color":"blue","ID":"{id}","Owner":"Tomoko","Size":5}}"#
        );
        chain.ledger.put("basic", &id, value.as_bytes(), 1, 0);
    }
    let (out, _) = chain.simulate(&["GetAllAssets"], true);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let all: serde_json::Value = serde_json::from_slice(&out.response.payload).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 100_000);
    let budget = RuntimeConfig::default().fuel_per_invocation;
    assert!(
        out.fuel_used * 4 <= budget,
        "{} fuel of {budget}: less than 4× headroom",
        out.fuel_used
    );
}

#[test]
fn a_private_keys_policy_is_set_and_read_through_the_abi() {
    use weft_protos::kvrwset::HashedRwSet;
    let mut chain = Chain::new("peer/tests/chaincode/private-policy");
    chain.collections.insert(
        "coll".into(),
        weft_peer::chaincode::CollectionAccess {
            peer_is_member: true,
            creator_is_member: true,
            ..Default::default()
        },
    );
    let (out, rw) = chain.simulate(&["SetPolicy", "coll", "k", "Org2MSP"], false);
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let coll = &rw.ns_rwset[0].collection_hashed_rwset[0];
    assert_eq!(coll.collection_name, "coll");
    let hashed = HashedRwSet::decode(coll.hashed_rwset.as_slice()).unwrap();
    let write = &hashed.metadata_writes[0];
    assert_eq!(write.key_hash, weft_common::crypto::sha256(b"k").to_vec());
    let policy = weft_peer::ledger::validation_parameter(&write.entries).unwrap();
    let orgs = weft_chaincode_sdk::statebased::KeyEndorsementPolicy::from_policy(policy)
        .unwrap()
        .list_orgs()
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    assert_eq!(orgs, ["Org2MSP"]);
    // Nothing committed yet: no policy, and the read is a hashed read.
    let (out, rw) = chain.simulate(&["GetPolicy", "coll", "k"], true);
    assert_eq!(out.response.payload, b"[]");
    let hashed = HashedRwSet::decode(
        rw.ns_rwset[0].collection_hashed_rwset[0]
            .hashed_rwset
            .as_slice(),
    )
    .unwrap();
    assert_eq!(hashed.hashed_reads.len(), 1);
    // A collection the chaincode does not define is refused.
    let (out, _) = chain.simulate(&["SetPolicy", "other", "k", "Org2MSP"], false);
    assert_ne!(out.response.status, 200);
}
