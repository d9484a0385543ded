//! Fabric's form of a range query's reads in a read/write set, sans-IO.
//!
//! A range query that returned at most `maxDegree` (50) results records
//! them as raw reads; one that returned more records a Merkle summary
//! instead: the results, in groups of `maxDegree + 1`, are hashed (SHA-256
//! of the group's `QueryReads` encoding), and the hashes are combined level
//! by level, `maxDegree + 1` at a time, until at most `maxDegree` remain at
//! the top level. One that returned nothing records neither. Endorsers must
//! produce byte-identical read/write sets, so weft builds exactly Fabric's
//! form, and its validator rebuilds the summary over the current state to
//! check a range endorsed by either.

use std::collections::BTreeMap;

use prost::Message;
use weft_protos::kvrwset::{KvRead, QueryReads, QueryReadsMerkleSummary, range_query_info};

/// Fabric's `maxDegree` for range query hashing (fixed, not configurable).
pub const MAX_DEGREE: u32 = 50;

/// Builds a summary from results fed in key order.
#[derive(Debug, Clone)]
pub struct SummaryBuilder {
    max_degree: u32,
    pending: Vec<KvRead>,
    /// Level (leaves are 1) → hashes not yet combined into the level above.
    tree: BTreeMap<u32, Vec<Vec<u8>>>,
    max_level: u32,
}

fn combined(hashes: &[Vec<u8>]) -> Vec<u8> {
    let parts: Vec<&[u8]> = hashes.iter().map(Vec::as_slice).collect();
    weft_common::crypto::sha256_concat(&parts).to_vec()
}

impl SummaryBuilder {
    /// A builder for a tree of degree `max_degree` (at least 2).
    pub fn new(max_degree: u32) -> Option<Self> {
        (max_degree >= 2).then(|| Self {
            max_degree,
            pending: Vec::new(),
            tree: BTreeMap::new(),
            max_level: 1,
        })
    }

    /// Adds the next result.
    pub fn add(&mut self, read: KvRead) {
        self.pending.push(read);
        if self.pending.len() as u64 > u64::from(self.max_degree) {
            self.hash_pending();
        }
    }

    fn hash_pending(&mut self) {
        let group = QueryReads {
            kv_reads: std::mem::take(&mut self.pending),
        };
        let leaf = weft_common::crypto::sha256(&group.encode_to_vec()).to_vec();
        self.tree.entry(1).or_default().push(leaf);
        let mut level = 1;
        while self.tree.get(&level).map_or(0, Vec::len) as u64 > u64::from(self.max_degree) {
            let hashes = self.tree.remove(&level).unwrap_or_default();
            level += 1;
            self.tree.entry(level).or_default().push(combined(&hashes));
            self.max_level = self.max_level.max(level);
        }
    }

    fn is_empty(&self) -> bool {
        self.max_level == 1 && self.tree.get(&1).is_none_or(Vec::is_empty)
    }

    /// The summary so far: its top level's hashes are final (a hash, once
    /// made, changes only by being combined into a higher level).
    pub fn current(&self) -> QueryReadsMerkleSummary {
        QueryReadsMerkleSummary {
            max_degree: self.max_degree,
            max_level: self.max_level,
            max_level_hashes: self.tree.get(&self.max_level).cloned().unwrap_or_default(),
        }
    }

    /// The raw reads when there were at most `max_degree` results, else the
    /// completed summary.
    pub fn done(mut self) -> Result<Vec<KvRead>, QueryReadsMerkleSummary> {
        if self.is_empty() {
            return Ok(self.pending);
        }
        if !self.pending.is_empty() {
            self.hash_pending();
        }
        for level in 1..self.max_level {
            let hashes = self.tree.remove(&level).unwrap_or_default();
            let carried = match hashes.len() {
                0 => continue,
                1 => hashes[0].clone(),
                _ => combined(&hashes),
            };
            self.tree.entry(level + 1).or_default().push(carried);
        }
        let top = self.tree.get(&self.max_level).map_or(0, Vec::len);
        if top as u64 > u64::from(self.max_degree) {
            let hashes = self.tree.remove(&self.max_level).unwrap_or_default();
            self.max_level += 1;
            self.tree.insert(self.max_level, vec![combined(&hashes)]);
        }
        Err(self.current())
    }
}

/// Fabric's `reads_info` for a range that returned `reads`: none when
/// empty, raw reads up to [`MAX_DEGREE`], a Merkle summary beyond.
pub fn reads_info(reads: Vec<KvRead>) -> Option<range_query_info::ReadsInfo> {
    if reads.is_empty() {
        return None;
    }
    let mut builder = SummaryBuilder::new(MAX_DEGREE).expect("MAX_DEGREE is at least 2");
    for read in reads {
        builder.add(read);
    }
    Some(match builder.done() {
        Ok(kv_reads) => range_query_info::ReadsInfo::RawReads(QueryReads { kv_reads }),
        Err(summary) => range_query_info::ReadsInfo::ReadsMerkleHashes(summary),
    })
}

/// Why current results do not match a recorded summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The summary cannot have come from Fabric's algorithm (degree < 2).
    Malformed,
    /// The results differ from those the endorser saw.
    Differs,
}

/// Whether `results` (the range's current results, in key order) hash to
/// `recorded`; stops at the first sign of a difference.
pub fn check(
    recorded: &QueryReadsMerkleSummary,
    results: impl IntoIterator<Item = KvRead>,
) -> Result<(), Mismatch> {
    let mut builder = SummaryBuilder::new(recorded.max_degree).ok_or(Mismatch::Malformed)?;
    for read in results {
        builder.add(read);
        let now = builder.current();
        if now.max_level > recorded.max_level
            || (now.max_level == recorded.max_level
                && (now.max_level_hashes.len() > recorded.max_level_hashes.len()
                    || !recorded.max_level_hashes.starts_with(&now.max_level_hashes)))
        {
            return Err(Mismatch::Differs);
        }
    }
    match builder.done() {
        Err(summary) if summary == *recorded => Ok(()),
        _ => Err(Mismatch::Differs),
    }
}

/// How many results a range summarised as `recorded` can have had at most:
/// each top-level hash covers at most `(max_degree + 1)^max_level` results.
pub fn max_results(recorded: &QueryReadsMerkleSummary) -> u64 {
    u64::from(recorded.max_degree)
        .saturating_add(1)
        .saturating_pow(recorded.max_level)
        .saturating_mul(recorded.max_level_hashes.len() as u64)
}

#[cfg(test)]
mod tests {
    use weft_protos::kvrwset::Version;

    use super::*;

    fn reads(n: usize) -> Vec<KvRead> {
        (0..n)
            .map(|i| KvRead {
                key: format!("k{i:06}"),
                version: Some(Version {
                    block_num: 1,
                    tx_num: i as u64,
                }),
            })
            .collect()
    }

    fn summary(n: usize) -> QueryReadsMerkleSummary {
        match reads_info(reads(n)) {
            Some(range_query_info::ReadsInfo::ReadsMerkleHashes(s)) => s,
            other => panic!("{n} results: {other:?}"),
        }
    }

    #[test]
    fn up_to_fifty_results_stay_raw_and_none_record_nothing() {
        assert_eq!(reads_info(Vec::new()), None);
        match reads_info(reads(50)) {
            Some(range_query_info::ReadsInfo::RawReads(r)) => assert_eq!(r.kv_reads.len(), 50),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_tree_has_fabrics_shape() {
        // 51 results: one full group, hashed as one leaf.
        let s = summary(51);
        let group = QueryReads {
            kv_reads: reads(51),
        }
        .encode_to_vec();
        assert_eq!(s.max_level, 1);
        assert_eq!(
            s.max_level_hashes,
            [weft_common::crypto::sha256(&group).to_vec()]
        );
        // 52: the full group and a group of one.
        let s = summary(52);
        let second = QueryReads {
            kv_reads: reads(52)[51..].to_vec(),
        };
        assert_eq!(s.max_level_hashes.len(), 2);
        assert_eq!(
            s.max_level_hashes[1],
            weft_common::crypto::sha256(&second.encode_to_vec()).to_vec()
        );
        // 1,000 results: 20 leaves (19 full groups and one of 31).
        assert_eq!(
            (
                summary(1000).max_level,
                summary(1000).max_level_hashes.len()
            ),
            (1, 20)
        );
        // 51 leaves do not fit a level of 50: they combine into level 2.
        let s = summary(51 * 51);
        assert_eq!((s.max_level, s.max_level_hashes.len()), (2, 1));
        let s = summary(51 * 51 + 1);
        assert_eq!((s.max_level, s.max_level_hashes.len()), (2, 2));
    }

    #[test]
    fn the_same_results_check_and_any_change_does_not() {
        let recorded = summary(1000);
        assert_eq!(check(&recorded, reads(1000)), Ok(()));
        assert!(max_results(&recorded) >= 1000);
        // A key inserted, one missing, a version changed, one more at the end.
        let mut inserted = reads(1000);
        inserted.insert(
            500,
            KvRead {
                key: "k000499x".into(),
                version: None,
            },
        );
        assert_eq!(check(&recorded, inserted), Err(Mismatch::Differs));
        assert_eq!(check(&recorded, reads(999)), Err(Mismatch::Differs));
        let mut changed = reads(1000);
        changed[3].version.as_mut().unwrap().tx_num = 77;
        assert_eq!(check(&recorded, changed), Err(Mismatch::Differs));
        assert_eq!(check(&recorded, reads(1001)), Err(Mismatch::Differs));
        let malformed = QueryReadsMerkleSummary {
            max_degree: 1,
            ..recorded
        };
        assert_eq!(check(&malformed, reads(10)), Err(Mismatch::Malformed));
    }
}
