use weft_protos::kvrwset::HashedRwSet;

use super::*;

/// Committed state with no public keys and these private values of
/// `ns`/`coll`.
struct PrivateOnly(BTreeMap<String, Vec<u8>>);

impl StateReader for PrivateOnly {
    fn read(&self, _: &str, _: &str) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
        Ok(None)
    }
    fn read_range(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: usize,
    ) -> Result<Vec<(String, Version, Vec<u8>)>, PeerError> {
        Ok(Vec::new())
    }
    fn read_history(
        &self,
        _: &str,
        _: &str,
        _: Option<&[u8]>,
        _: usize,
    ) -> Result<HistoryPage, PeerError> {
        Ok((Vec::new(), None))
    }
    fn read_private_range(
        &self,
        ns: &str,
        collection: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, PeerError> {
        assert_eq!((ns, collection), ("cc", "coll"));
        Ok(self
            .0
            .range(start.to_string()..)
            .take_while(|(k, _)| end.is_empty() || k.as_str() < end)
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[test]
fn private_ranges_page_record_nothing_and_exclude_writes_as_in_fabric() {
    let values = (0..5).map(|i| (format!("k{i}"), vec![i as u8])).collect();
    let mut sim = Simulator::new(PrivateOnly(values));
    let q = sim.open_private_range("cc", "coll", "k1", "k4").unwrap();
    let mut keys = Vec::new();
    loop {
        let page = sim.next_range(q, 2).unwrap();
        if page.is_empty() {
            break;
        }
        keys.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(keys, ["k1", "k2", "k3"]);
    let rwset = sim.rwset();
    assert!(rwset.ns_rwset.is_empty(), "{rwset:?}");
    for refused in [
        sim.put_state("cc", "k", b"v".to_vec()),
        sim.del_state("cc", "k"),
        sim.put_private_data("cc", "coll", "k", None),
        sim.set_state_metadata("cc", "k", Vec::new()),
    ] {
        assert!(matches!(refused, Err(PeerError::UnsupportedTransaction(_))));
    }

    let mut sim = Simulator::new(PrivateOnly(BTreeMap::new()));
    sim.put_state("cc", "k", b"v".to_vec()).unwrap();
    let refused = sim.open_private_range("cc", "coll", "", "").unwrap_err();
    assert!(refused.to_string().contains("writes nothing"), "{refused}");
}

#[test]
fn metadata_reads_record_the_key_and_metadata_writes_replace_the_entries() {
    let mut ledger = MemoryLedger::default();
    ledger.put("cc", "k", b"1", 2, 0);
    let mut sim = ledger.simulator();
    assert!(sim.get_state_metadata("cc", "k").unwrap().is_empty());
    let entry = |name: &str, value: &[u8]| KvMetadataEntry {
        name: name.into(),
        value: value.to_vec(),
    };
    sim.set_state_metadata("cc", "k", vec![entry("Z", b"z"), entry("A", b"a")])
        .unwrap();
    sim.set_state_metadata("cc", "new", vec![entry("A", b"1")])
        .unwrap();
    let rw = sim.rwset();
    let kv = KvrwSet::decode(rw.ns_rwset[0].rwset.as_slice()).unwrap();
    assert_eq!(kv.reads.len(), 1);
    assert_eq!(kv.reads[0].version.map(|v| v.block_num), Some(2));
    assert!(kv.writes.is_empty(), "metadata is not a value write");
    let written: Vec<(&str, Vec<&str>)> = kv
        .metadata_writes
        .iter()
        .map(|m| {
            (
                m.key.as_str(),
                m.entries.iter().map(|e| e.name.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(written, [("k", vec!["A", "Z"]), ("new", vec!["A"])]);
}

#[test]
fn records_reads_writes_and_ranges_like_fabric() {
    let mut ledger = MemoryLedger::default();
    ledger.put("cc", "a", b"1", 3, 0);
    ledger.put("cc", "b", b"2", 4, 1);
    ledger.put("other", "a", b"x", 1, 0);
    let mut sim = ledger.simulator();
    assert_eq!(sim.get_state("cc", "a").unwrap(), Some(b"1".to_vec()));
    sim.put_state("cc", "a", b"9".to_vec()).unwrap();
    // No read-your-writes: still the committed value, and the read version stays.
    assert_eq!(sim.get_state("cc", "a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(sim.get_state("cc", "zz").unwrap(), None);
    sim.del_state("cc", "b").unwrap();
    let range = sim.get_range("cc", "a", "c").unwrap();
    assert_eq!(range.len(), 2);
    let rw = sim.rwset();
    assert_eq!(rw.ns_rwset.len(), 1, "only namespaces touched appear");
    let kv = KvrwSet::decode(rw.ns_rwset[0].rwset.as_slice()).unwrap();
    assert_eq!(
        kv.reads
            .iter()
            .map(|r| (r.key.as_str(), r.version.map(|v| v.block_num)))
            .collect::<Vec<_>>(),
        vec![("a", Some(3)), ("zz", None)]
    );
    assert_eq!(kv.writes.len(), 2);
    assert!(kv.writes.iter().any(|w| w.key == "b" && w.is_delete));
    assert_eq!(kv.range_queries_info[0].start_key, "a");
    // Namespaces are separate.
    assert_eq!(ledger.simulator().get_state("other", "b").unwrap(), None);
}

#[test]
fn a_private_key_policy_is_a_hashed_metadata_write_and_its_read_a_hashed_read() {
    let mut sim = Simulator::new(PrivateOnly(BTreeMap::new()));
    let entries = vec![KvMetadataEntry {
        name: crate::ledger::VALIDATION_PARAMETER.into(),
        value: b"policy".to_vec(),
    }];
    assert!(
        sim.get_private_metadata("cc", "coll", "k")
            .unwrap()
            .is_empty()
    );
    sim.set_private_metadata("cc", "coll", "k", entries.clone())
        .unwrap();
    // No private value is written, so there is no private rwset.
    assert!(sim.private_writes().is_none());
    let rwset = sim.rwset();
    let coll = &rwset.ns_rwset[0].collection_hashed_rwset[0];
    assert_eq!(coll.collection_name, "coll");
    assert!(coll.pvt_rwset_hash.is_empty());
    let hashed = HashedRwSet::decode(coll.hashed_rwset.as_slice()).unwrap();
    let key_hash = weft_common::crypto::sha256(b"k").to_vec();
    assert_eq!(hashed.hashed_reads.len(), 1);
    assert_eq!(hashed.hashed_reads[0].key_hash, key_hash);
    assert!(hashed.hashed_writes.is_empty());
    assert_eq!(hashed.metadata_writes.len(), 1);
    assert_eq!(hashed.metadata_writes[0].key_hash, key_hash);
    assert_eq!(hashed.metadata_writes[0].entries, entries);
}

/// `n` JSON documents `d000..` of `cc`, with `size` = i and `color` red for
/// even i, and one value that is not a document.
fn documents(n: usize) -> MemoryLedger {
    let mut ledger = MemoryLedger::default();
    for i in 0..n {
        let color = if i % 2 == 0 { "red" } else { "blue" };
        let doc = format!(r#"{{"color":"{color}","size":{i}}}"#);
        ledger.put("cc", &format!("d{i:03}"), doc.as_bytes(), 1, i as u64);
    }
    ledger.put("cc", "raw", b"not json", 1, 999);
    ledger
}

fn limits(n: usize) -> QueryLimits {
    QueryLimits {
        max_results: n,
        max_scanned: n,
    }
}

#[test]
fn rich_queries_return_stored_values_and_record_each_key_read() {
    let ledger = documents(6);
    let mut sim = ledger.simulator();
    let query = weft_chaincode_query::Query::parse(
        r#"{"selector":{"color":"red"},"sort":[{"size":"desc"}]}"#,
    )
    .unwrap();
    let out = sim.rich_query("cc", &query, None, limits(100)).unwrap();
    let keys: Vec<_> = out.records.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["d004", "d002", "d000"]);
    assert_eq!(out.records[0].1, br#"{"color":"red","size":4}"#);
    assert_eq!(out.scanned, 7, "every key of the namespace examined");
    // Each key returned is a read at the version seen (block 1, tx = i);
    // nothing else is recorded.
    let rwset = sim.rwset();
    let kv = KvrwSet::decode(&rwset.ns_rwset[0].rwset[..]).unwrap();
    let reads: Vec<_> = kv
        .reads
        .iter()
        .map(|r| (r.key.as_str(), r.version.unwrap().tx_num))
        .collect();
    assert_eq!(reads, [("d000", 0), ("d002", 2), ("d004", 4)]);
    assert!(kv.range_queries_info.is_empty());
}

#[test]
fn paginated_queries_and_writes_exclude_each_other_as_in_fabric() {
    let ledger = documents(4);
    let query = weft_chaincode_query::Query::parse(r#"{"selector":{}}"#).unwrap();
    let mut sim = ledger.simulator();
    let first = sim
        .rich_query("cc", &query, Some((3, "")), limits(100))
        .unwrap();
    assert_eq!(first.records.len(), 3);
    let rest = sim
        .rich_query("cc", &query, Some((3, &first.bookmark)), limits(100))
        .unwrap();
    let keys: Vec<_> = rest.records.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["d003"]);
    assert!(matches!(
        sim.put_state("cc", "x", b"1".to_vec()),
        Err(PeerError::UnsupportedTransaction(_))
    ));

    let mut writer = ledger.simulator();
    writer.put_state("cc", "x", b"1".to_vec()).unwrap();
    assert!(matches!(
        writer.rich_query("cc", &query, Some((3, "")), limits(100)),
        Err(PeerError::UnsupportedTransaction(_))
    ));
    // The unpaginated form is allowed in a transaction that writes.
    assert!(writer.rich_query("cc", &query, None, limits(100)).is_ok());
}

#[test]
fn queries_are_capped_in_results_and_refused_past_the_scan_limit() {
    let ledger = documents(50);
    let all = weft_chaincode_query::Query::parse(r#"{"selector":{}}"#).unwrap();
    let mut sim = ledger.simulator();
    let capped = sim
        .rich_query(
            "cc",
            &all,
            None,
            QueryLimits {
                max_results: 10,
                max_scanned: 100,
            },
        )
        .unwrap();
    assert_eq!(capped.records.len(), 10);
    let refused = sim.rich_query("cc", &all, None, limits(20)).unwrap_err();
    assert!(
        refused.to_string().contains("examined 20 documents"),
        "{refused}"
    );
}

/// Pages of 100 through 10,000 matching documents, each page a new
/// simulation over state that other transactions change between pages
/// (documents added, matching ones rewritten): every original document comes
/// exactly once, in order.
#[test]
fn paging_through_ten_thousand_results_returns_each_once_while_others_write() {
    let mut ledger = MemoryLedger::default();
    for i in 0..10_000 {
        let doc = format!(r#"{{"docType":"item","n":{i}}}"#);
        ledger.put("cc", &format!("k{i:05}"), doc.as_bytes(), 1, i as u64);
    }
    let query = weft_chaincode_query::Query::parse(r#"{"selector":{"docType":"item"}}"#).unwrap();
    let mut seen = Vec::new();
    let mut bookmark = String::new();
    let mut block = 2;
    loop {
        let mut sim = ledger.simulator();
        let page = sim
            .rich_query("cc", &query, Some((100, &bookmark)), limits(100_000))
            .unwrap();
        if page.records.is_empty() {
            break;
        }
        seen.extend(page.records.into_iter().map(|(k, _)| k));
        bookmark = page.bookmark;
        // Between pages: a new document behind the bookmark, one ahead of
        // it, and an update to a document not yet returned.
        let n = seen.len();
        let behind = format!(r#"{{"docType":"item","n":-{n}}}"#);
        ledger.put(
            "cc",
            &format!("k{:05}a", n / 2),
            behind.as_bytes(),
            block,
            0,
        );
        ledger.put(
            "cc",
            &format!("k{:05}a", (n + 5_000).min(9_999)),
            b"{\"docType\":\"item\"}",
            block,
            1,
        );
        let ahead = format!("k{:05}", (n + 50).min(9_999));
        ledger.put(
            "cc",
            &ahead,
            br#"{"docType":"item","n":"rewritten"}"#,
            block,
            2,
        );
        block += 1;
    }
    let originals: Vec<String> = (0..10_000).map(|i| format!("k{i:05}")).collect();
    let returned: Vec<&String> = seen.iter().filter(|k| k.len() == 6).collect();
    assert_eq!(returned.len(), 10_000, "every original document, once");
    assert!(returned.iter().zip(&originals).all(|(a, b)| *a == b));
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "nothing twice");
}

#[test]
fn private_rich_queries_record_nothing_and_exclude_writes_as_in_fabric() {
    let values = (0..6)
        .map(|i| {
            let owner = if i % 2 == 0 { "tom" } else { "ann" };
            (
                format!("k{i}"),
                format!(r#"{{"owner":"{owner}","n":{i}}}"#).into_bytes(),
            )
        })
        .collect();
    let mut sim = Simulator::new(PrivateOnly(values));
    let query = weft_chaincode_query::Query::parse(r#"{"selector":{"owner":"ann"}}"#).unwrap();
    let out = sim
        .private_rich_query("cc", "coll", &query, limits(100))
        .unwrap();
    let keys: Vec<_> = out.records.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["k1", "k3", "k5"]);
    assert!(sim.rwset().ns_rwset.is_empty(), "nothing recorded");
    assert!(matches!(
        sim.put_state("cc", "x", b"1".to_vec()),
        Err(PeerError::UnsupportedTransaction(_))
    ));
    let mut writer = Simulator::new(PrivateOnly(BTreeMap::new()));
    writer.put_state("cc", "x", b"1".to_vec()).unwrap();
    assert!(matches!(
        writer.private_rich_query("cc", "coll", &query, limits(100)),
        Err(PeerError::UnsupportedTransaction(_))
    ));
    assert!(matches!(
        Simulator::new(PrivateOnly(
            (0..5).map(|i| (format!("k{i}"), b"{}".to_vec())).collect()
        ))
        .private_rich_query("cc", "coll", &query, limits(3)),
        Err(PeerError::QueryTooBroad { .. })
    ));
}
