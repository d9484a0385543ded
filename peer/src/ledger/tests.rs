use super::*;

#[test]
fn history_pages_go_newest_first_and_end() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let mut batch = rocksdb::WriteBatch::default();
    for block in 1..=5u64 {
        let m = KeyModification {
            tx_id: format!("tx{block}"),
            value: vec![block as u8],
            timestamp_seconds: block as i64,
            is_delete: false,
        };
        batch.put_cf(
            ledger.cf(CF_HISTORY),
            keys::history_key("cc", "k", block, 0),
            encode_history(&m),
        );
    }
    // A key sharing the prefix must not show up.
    batch.put_cf(
        ledger.cf(CF_HISTORY),
        keys::history_key("cc", "k\0x", 9, 0),
        encode_history(&KeyModification {
            tx_id: "other".into(),
            value: Vec::new(),
            timestamp_seconds: 0,
            is_delete: true,
        }),
    );
    ledger.db.write(batch).unwrap();

    let (first, cursor) = ledger.history_page("cc", "k", None, 2).unwrap();
    let ids = |p: &[KeyModification]| p.iter().map(|m| m.tx_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ["tx5", "tx4"]);
    let (second, cursor) = ledger
        .history_page("cc", "k", cursor.as_deref(), 2)
        .unwrap();
    assert_eq!(ids(&second), ["tx3", "tx2"]);
    let (last, cursor) = ledger
        .history_page("cc", "k", cursor.as_deref(), 2)
        .unwrap();
    assert_eq!(ids(&last), ["tx1"]);
    assert!(cursor.is_none());
    assert_eq!(ids(&ledger.history("cc", "k").unwrap()).len(), 5);
}

#[test]
fn metadata_survives_a_restart_and_goes_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let entry = KvMetadataEntry {
        name: VALIDATION_PARAMETER.into(),
        value: b"policy".to_vec(),
    };
    let update = |value: Option<&[u8]>, metadata: Option<Vec<KvMetadataEntry>>| StateUpdate {
        namespace: "cc".into(),
        key: "k".into(),
        value: value.map(<[u8]>::to_vec),
        version: Version {
            block_num: 0,
            tx_num: 0,
        },
        tx_id: "tx".into(),
        timestamp_seconds: 0,
        metadata,
        in_history: true,
    };
    let commit = commit_updates;
    {
        let ledger = Ledger::open(dir.path()).unwrap();
        assert!(ledger.get_metadata("cc", "k").unwrap().is_empty());
        commit(&ledger, vec![update(Some(b"v"), Some(vec![entry.clone()]))]);
        // A value write without metadata keeps it.
        commit(&ledger, vec![update(Some(b"w"), None)]);
    }
    let ledger = Ledger::open(dir.path()).unwrap();
    assert_eq!(ledger.get_metadata("cc", "k").unwrap(), [entry]);
    commit(&ledger, vec![update(None, None)]);
    assert!(ledger.get_metadata("cc", "k").unwrap().is_empty());
}

/// Commits the next (empty) block with these state updates.
fn commit_updates(ledger: &Ledger, updates: Vec<StateUpdate>) {
    commit_block(ledger, updates, vec![]);
}

/// Commits the next (empty) block with these state and private updates.
fn commit_block(ledger: &Ledger, updates: Vec<StateUpdate>, private_updates: Vec<PrivateUpdate>) {
    let info = ledger.info();
    let block = weft_common::block::new_block(info.height, info.current_hash, vec![]);
    ledger
        .commit(&BlockCommit {
            hash: weft_common::block::header_hash(block.header.as_ref().unwrap()).to_vec(),
            block,
            tx_ids: vec![],
            updates,
            hashed_updates: vec![],
            private_updates,
            private: Default::default(),
            is_config: false,
        })
        .unwrap();
}

/// Commits the next (empty) block with these writes to namespace `cc`
/// (`None`: a delete).
fn commit_writes(ledger: &Ledger, writes: &[(&str, Option<&str>)]) {
    let info = ledger.info();
    let updates = writes
        .iter()
        .enumerate()
        .map(|(i, (key, value))| StateUpdate {
            namespace: "cc".into(),
            key: key.to_string(),
            value: value.map(|v| v.as_bytes().to_vec()),
            version: Version {
                block_num: info.height,
                tx_num: i as u64,
            },
            tx_id: format!("tx{}", info.height),
            timestamp_seconds: 0,
            metadata: None,
            in_history: true,
        })
        .collect();
    commit_updates(ledger, updates);
}

const OWNER_INDEX: &str = r#"{"index":{"fields":["docType","owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}"#;

fn owned_by(ledger: &Ledger, owner: &str) -> Vec<String> {
    let def = &ledger.indexes("cc")[0];
    let mut prefix = Vec::new();
    weft_chaincode_query::index::encode_value(&mut prefix, &serde_json::json!("marble"));
    weft_chaincode_query::index::encode_value(&mut prefix, &serde_json::json!(owner));
    let mut end = prefix.clone();
    *end.last_mut().unwrap() += 1;
    ledger
        .index_keys(IndexScope::Public("cc"), def, &prefix, &end, 100)
        .unwrap()
}

#[test]
fn an_index_is_built_over_existing_values_and_follows_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = Ledger::open(dir.path()).unwrap();
        commit_writes(
            &ledger,
            &[
                ("m1", Some(r#"{"docType":"marble","owner":"tom"}"#)),
                ("m2", Some(r#"{"docType":"marble","owner":"ann"}"#)),
                ("m3", Some(r#"{"docType":"marble"}"#)),
                ("raw", Some("not json")),
            ],
        );
        assert_eq!(ledger.create_index("cc", OWNER_INDEX).unwrap(), 2);
        assert_eq!(
            ledger.create_index("cc", OWNER_INDEX).unwrap(),
            0,
            "already built"
        );
        assert_eq!(owned_by(&ledger, "tom"), ["m1"]);
        // A transfer moves the entry, a delete drops it, a new owner field
        // adds one, and two writes of one key in a block leave the last.
        commit_writes(
            &ledger,
            &[
                ("m1", Some(r#"{"docType":"marble","owner":"ann"}"#)),
                ("m2", None),
                ("m3", Some(r#"{"docType":"marble","owner":"tom"}"#)),
                ("m4", Some(r#"{"docType":"marble","owner":"bob"}"#)),
                ("m4", Some(r#"{"docType":"marble","owner":"tom"}"#)),
            ],
        );
        assert_eq!(owned_by(&ledger, "ann"), ["m1"]);
        assert_eq!(owned_by(&ledger, "tom"), ["m3", "m4"]);
        assert!(owned_by(&ledger, "bob").is_empty());
    }
    // The definition and entries survive a restart, and keep following.
    let ledger = Ledger::open(dir.path()).unwrap();
    assert_eq!(ledger.indexes("cc").len(), 1);
    commit_writes(
        &ledger,
        &[("m3", Some(r#"{"docType":"marble","owner":"bob"}"#))],
    );
    assert_eq!(owned_by(&ledger, "tom"), ["m4"]);
    assert_eq!(owned_by(&ledger, "bob"), ["m3"]);
    // A bad definition is refused with its reason; nothing changes.
    let err = ledger
        .create_index(
            "cc",
            r#"{"index":{"fields":["a"]},"name":"t","type":"text"}"#,
        )
        .unwrap_err();
    assert!(err.to_string().contains("not supported"), "{err}");
    assert_eq!(ledger.indexes("cc").len(), 1);
}

#[test]
fn rich_queries_use_an_index_and_give_what_a_scan_gives() {
    use crate::chaincode::simulator::{QueryLimits, Simulator, TxSimulator};
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let docs: Vec<(String, String)> = (0..300)
        .map(|i| {
            let owner = ["tom", "ann", "bob"][i % 3];
            (
                format!("m{i:03}"),
                format!(r#"{{"docType":"marble","owner":"{owner}","size":{i}}}"#),
            )
        })
        .collect();
    let writes: Vec<(&str, Option<&str>)> = docs
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_str())))
        .collect();
    commit_writes(&ledger, &writes);
    let query = weft_chaincode_query::Query::parse(
        r#"{"selector":{"docType":"marble","owner":"ann","size":{"$lt":30}},"sort":[{"size":"desc"}]}"#,
    )
    .unwrap();
    let run = |max_scanned| {
        Simulator::new(ledger.clone()).rich_query(
            "cc",
            &query,
            None,
            QueryLimits {
                max_results: 1000,
                max_scanned,
            },
        )
    };
    let scanned = run(1000).unwrap();
    let keys = |o: &crate::chaincode::simulator::QueryOutcome| {
        o.records.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&scanned),
        [
            "m028", "m025", "m022", "m019", "m016", "m013", "m010", "m007", "m004", "m001"
        ]
    );
    assert_eq!(scanned.scanned, 300);
    // Without an index, 150 documents may not be examined: refused.
    assert!(matches!(run(150), Err(PeerError::QueryTooBroad { .. })));
    ledger.create_index("cc", OWNER_INDEX).unwrap();
    // With it, only ann's 100 marbles are examined, with the same answer.
    let indexed = run(150).unwrap();
    assert_eq!(indexed.scanned, 100);
    assert_eq!(indexed.records, scanned.records);
}

#[test]
fn a_collection_index_follows_committed_and_reconciled_private_values() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let private = |key: &str, value: Option<&str>| PrivateUpdate {
        namespace: "cc".into(),
        collection: "coll".into(),
        key: key.into(),
        value: value.map(|v| v.as_bytes().to_vec()),
    };
    let commit_private = |updates| commit_block(&ledger, vec![], updates);
    commit_private(vec![private(
        "a1",
        Some(r#"{"docType":"marble","owner":"tom"}"#),
    )]);
    let scope = IndexScope::Private("cc", "coll");
    assert_eq!(ledger.ensure_index(scope, OWNER_INDEX).unwrap(), Some(1));
    assert_eq!(ledger.ensure_index(scope, OWNER_INDEX).unwrap(), None);
    assert!(ledger.indexes("cc").is_empty(), "the public state has none");
    let owned_by = |owner: &str| {
        let def = &ledger.indexes_in(scope)[0];
        let mut p = Vec::new();
        weft_chaincode_query::index::encode_value(&mut p, &serde_json::json!("marble"));
        weft_chaincode_query::index::encode_value(&mut p, &serde_json::json!(owner));
        let mut end = p.clone();
        *end.last_mut().unwrap() += 1;
        ledger.index_keys(scope, def, &p, &end, 100).unwrap()
    };
    assert_eq!(owned_by("tom"), ["a1"]);
    // A commit moves and removes entries; values reconciled later add theirs.
    commit_private(vec![
        private("a1", Some(r#"{"docType":"marble","owner":"ann"}"#)),
        private("a2", Some(r#"{"docType":"marble","owner":"tom"}"#)),
    ]);
    assert_eq!(owned_by("ann"), ["a1"]);
    assert_eq!(owned_by("tom"), ["a2"]);
    ledger
        .commit_reconciled(
            &[],
            &[private("a0", Some(r#"{"docType":"marble","owner":"tom"}"#))],
        )
        .unwrap();
    assert_eq!(owned_by("tom"), ["a0", "a2"]);
    commit_private(vec![private("a2", None)]);
    assert_eq!(owned_by("tom"), ["a0"]);
    // A private rich query goes through the index: one document examined
    // of the two.
    use crate::chaincode::simulator::{QueryLimits, Simulator, TxSimulator};
    let query =
        weft_chaincode_query::Query::parse(r#"{"selector":{"docType":"marble","owner":"ann"}}"#)
            .unwrap();
    let limits = QueryLimits {
        max_results: 10,
        max_scanned: 1,
    };
    let out = Simulator::new(ledger.clone())
        .private_rich_query("cc", "coll", &query, limits)
        .unwrap();
    assert_eq!(out.scanned, 1);
    assert_eq!(out.records[0].0, "a1");
}
