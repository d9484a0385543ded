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
    let commit = |ledger: &Ledger, updates: Vec<StateUpdate>| {
        let info = ledger.info();
        let block = weft_common::block::new_block(info.height, info.current_hash, vec![]);
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
    };
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
