//! Range queries in Fabric's recorded forms, validated at commit: more than
//! 50 results as a Merkle summary (`ReadsMerkleHashes`), none at all as no
//! reads, and a range not read to its end up to its last key read — VALID
//! when the range is unchanged, PHANTOM_READ_CONFLICT when a key entered it
//! before commit, in an earlier block or earlier in the same block.

use weft_protos::kvrwset::{
    KvRead, QueryReadsMerkleSummary, RangeQueryInfo, Version, range_query_info,
};
use weft_protos::protos::TxValidationCode as Code;

use crate::support::*;
use crate::validation::{Chain, defined_chain};

/// Keys `r0000`… written by one transaction at `version`.
fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("r{i:04}")).collect()
}

fn reads(keys: &[String], version: (u64, u64)) -> Vec<KvRead> {
    keys.iter()
        .map(|k| KvRead {
            key: k.clone(),
            version: Some(Version {
                block_num: version.0,
                tx_num: version.1,
            }),
        })
        .collect()
}

/// A transaction that ranged over `[start, end)`, saw `seen` (recorded in
/// Fabric's form) and writes `out`.
fn ranged(
    chain: &Chain,
    start: &str,
    end: &str,
    exhausted: bool,
    seen: Vec<KvRead>,
    out: &str,
) -> weft_protos::common::Envelope {
    with_range(
        chain,
        RangeQueryInfo {
            start_key: start.into(),
            end_key: end.into(),
            itr_exhausted: exhausted,
            reads_info: weft_peer::range_summary::reads_info(seen),
        },
        out,
    )
}

fn with_range(chain: &Chain, info: RangeQueryInfo, out: &str) -> weft_protos::common::Envelope {
    let mut ns = Ns::new("basic").write(out, b"1");
    ns.kv.range_queries_info.push(info);
    chain.tx(ns).1
}

#[test]
fn a_thousand_result_range_validates_as_fabric_records_it() {
    let chain = defined_chain();
    let all = keys(1200);
    let mut writer = Ns::new("basic");
    for k in &all {
        writer = writer.write(k, b"{}");
    }
    assert_eq!(
        Chain::codes(&chain.commit(&[chain.tx(writer).1])),
        [Code::Valid]
    );
    let seen = reads(&all, (2, 0));
    assert!(matches!(
        weft_peer::range_summary::reads_info(seen.clone()),
        Some(range_query_info::ReadsInfo::ReadsMerkleHashes(_))
    ));

    // Unchanged: VALID. Then a key enters the range (after it, in the same block).
    let ok = ranged(&chain, "r", "s", true, seen.clone(), "a");
    let (_, insert) = chain.tx(Ns::new("basic").write("r0600x", b"{}"));
    assert_eq!(
        Chain::codes(&chain.commit(&[ok, insert])),
        [Code::Valid, Code::Valid]
    );

    // Endorsed before the insert, committed after it: PHANTOM.
    let stale = ranged(&chain, "r", "s", true, seen.clone(), "b");
    let done = chain.commit(&[stale]);
    assert_eq!(Chain::codes(&done), [Code::PhantomReadConflict]);
    assert!(
        done.txs[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("Merkle summary"),
        "{:?}",
        done.txs[0].reason
    );

    // An insert earlier in the same block counts too.
    let mut now = seen.clone();
    now.insert(601, reads(&["r0600x".into()], (3, 1)).remove(0));
    let (_, insert) = chain.tx(Ns::new("basic").write("r0700y", b"{}"));
    let late = ranged(&chain, "r", "s", true, now.clone(), "c");
    let fresh = ranged(&chain, "r", "s", true, now.clone(), "d");
    assert_eq!(
        Chain::codes(&chain.commit(&[fresh, insert, late])),
        [Code::Valid, Code::Valid, Code::PhantomReadConflict]
    );

    // Read to its 1,000th key only: the range ends there (inclusive), so
    // keys after it do not matter; one before it does.
    let first = reads(&all[..1000], (2, 0));
    let partial = ranged(&chain, "r", &all[999], false, first.clone(), "e");
    assert_eq!(
        Chain::codes(&chain.commit(&[partial])),
        [Code::PhantomReadConflict],
        "r0600x is inside"
    );
    let tail = reads(&all[800..1000], (2, 0));
    let partial = ranged(&chain, "r08", &all[999], false, tail, "f");
    assert_eq!(Chain::codes(&chain.commit(&[partial])), [Code::Valid]);
}

#[test]
fn empty_and_malformed_ranges_are_judged_not_refused() {
    let chain = defined_chain();
    // Fabric records a range that returned nothing with no reads at all.
    let empty = ranged(&chain, "a", "b", true, Vec::new(), "x");
    assert_eq!(Chain::codes(&chain.commit(&[empty])), [Code::Valid]);
    let (_, insert) = chain.tx(Ns::new("basic").write("a1", b"{}"));
    let stale = ranged(&chain, "a", "b", true, Vec::new(), "y");
    assert_eq!(
        Chain::codes(&chain.commit(&[insert, stale])),
        [Code::Valid, Code::PhantomReadConflict]
    );

    // A summary no Fabric endorser makes, or one claiming more results than
    // weft re-reads: invalid with the reason, and the peer commits on.
    let summary = |max_degree, max_level| {
        Some(range_query_info::ReadsInfo::ReadsMerkleHashes(
            QueryReadsMerkleSummary {
                max_degree,
                max_level,
                max_level_hashes: vec![vec![0; 32]; 3],
            },
        ))
    };
    let info = |reads_info| RangeQueryInfo {
        start_key: "a".into(),
        end_key: "b".into(),
        itr_exhausted: true,
        reads_info,
    };
    let malformed = with_range(&chain, info(summary(1, 1)), "z1");
    let huge = with_range(&chain, info(summary(50, 9)), "z2");
    let done = chain.commit(&[malformed, huge]);
    assert_eq!(
        Chain::codes(&done),
        [Code::PhantomReadConflict, Code::PhantomReadConflict]
    );
    assert!(done.txs[0].reason.as_deref().unwrap().contains("malformed"));
    assert!(
        done.txs[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("more than weft re-reads")
    );
    let (_, next) = chain.tx(Ns::new("basic").write("z3", b"1"));
    assert_eq!(Chain::codes(&chain.commit(&[next])), [Code::Valid]);
}
