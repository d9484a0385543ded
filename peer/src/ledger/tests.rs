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
