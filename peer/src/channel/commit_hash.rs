//! The commit hash: a running hash over what every block did to the state,
//! kept in the block's `COMMIT_HASH` metadata slot as Fabric's peers keep
//! theirs. Two peers with the same commit hash at block `n` applied the
//! same validation verdicts and the same public and hashed-private writes
//! in blocks `0..=n`, so comparing one value per block compares whole
//! states (what the fault checker of issue 22 does across peers).
//!
//! The hash of block `n` is SHA-256 over the block's transactions filter,
//! its state updates (public, then hashed private, in block order) and the
//! hash of block `n - 1`. Only what every peer of the channel holds goes in:
//! private values differ by org and are left out (their hashes are in).
//! The encoding is weft's own (Fabric hashes its own update batch format),
//! so weft's and Fabric's values are not comparable with each other.

use prost::Message;
use weft_protos::common::{Block, BlockMetadata, BlockMetadataIndex, Metadata};
use weft_protos::kvrwset::KvMetadataEntry;

use crate::ledger::{HashedUpdate, StateUpdate};

/// The commit hash of a block with transactions filter `filter` and these
/// updates, following the block whose commit hash is `previous` (empty for
/// the first block).
pub fn next(
    previous: &[u8],
    filter: &[u8],
    updates: &[StateUpdate],
    hashed: &[HashedUpdate],
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64 + filter.len() + updates.len() * 64);
    field(&mut bytes, filter);
    put_len(&mut bytes, updates.len());
    for u in updates {
        field(&mut bytes, u.namespace.as_bytes());
        field(&mut bytes, u.key.as_bytes());
        optional(&mut bytes, u.value.as_deref());
        metadata(&mut bytes, u.metadata.as_deref());
    }
    put_len(&mut bytes, hashed.len());
    for u in hashed {
        field(&mut bytes, u.namespace.as_bytes());
        field(&mut bytes, u.collection.as_bytes());
        field(&mut bytes, &u.key_hash);
        optional(&mut bytes, u.value_hash.as_deref());
        metadata(&mut bytes, u.metadata.as_deref());
    }
    field(&mut bytes, previous);
    weft_common::crypto::sha256(&bytes).to_vec()
}

/// The commit hash recorded in `block`, if it has one.
pub fn of(block: &Block) -> Option<Vec<u8>> {
    let slot = block
        .metadata
        .as_ref()?
        .metadata
        .get(BlockMetadataIndex::CommitHash as usize)?;
    let value = Metadata::decode(slot.as_slice()).ok()?.value;
    (!value.is_empty()).then_some(value)
}

/// Records `hash` in `block`'s `COMMIT_HASH` slot (as a `common.Metadata`).
pub fn record(block: &mut Block, hash: &[u8]) {
    let md = block.metadata.get_or_insert_with(BlockMetadata::default);
    let idx = BlockMetadataIndex::CommitHash as usize;
    if md.metadata.len() <= idx {
        md.metadata.resize(idx + 1, Vec::new());
    }
    md.metadata[idx] = Metadata {
        value: hash.to_vec(),
        signatures: Vec::new(),
    }
    .encode_to_vec();
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u64).to_be_bytes());
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn optional(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            field(out, b);
        }
    }
}

fn metadata(out: &mut Vec<u8>, entries: Option<&[KvMetadataEntry]>) {
    match entries {
        None => out.push(0),
        Some(entries) => {
            out.push(1);
            put_len(out, entries.len());
            for e in entries {
                field(out, e.name.as_bytes());
                field(out, &e.value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_protos::kvrwset::Version;

    fn put(key: &str, value: Option<&[u8]>) -> StateUpdate {
        StateUpdate {
            namespace: "basic".into(),
            key: key.into(),
            value: value.map(<[u8]>::to_vec),
            version: Version {
                block_num: 1,
                tx_num: 0,
            },
            tx_id: "t".into(),
            timestamp_seconds: 0,
            metadata: None,
            in_history: true,
        }
    }

    #[test]
    fn any_difference_in_verdicts_writes_or_history_changes_the_hash() {
        let base = next(b"", &[0], &[put("a", Some(b"1"))], &[]);
        assert_eq!(base, next(b"", &[0], &[put("a", Some(b"1"))], &[]));
        let others = [
            next(b"x", &[0], &[put("a", Some(b"1"))], &[]),
            next(b"", &[11], &[put("a", Some(b"1"))], &[]),
            next(b"", &[0], &[put("a", Some(b"2"))], &[]),
            next(b"", &[0], &[put("a", None)], &[]),
            next(b"", &[0], &[put("a", Some(b""))], &[]),
            next(b"", &[0], &[put("b", Some(b"1"))], &[]),
            next(b"", &[0], &[put("a", Some(b"1")), put("b", None)], &[]),
        ];
        for (i, o) in others.iter().enumerate() {
            assert_ne!(&base, o, "variant {i}");
        }
        // Field boundaries count: ("ab","") is not ("a","b").
        let mut split = put("a", Some(b"1"));
        split.namespace = "basica".into();
        split.key = String::new();
        assert_ne!(base, next(b"", &[0], &[split], &[]));
        let hashed = HashedUpdate {
            namespace: "basic".into(),
            collection: "c".into(),
            key_hash: vec![1; 32],
            value_hash: Some(vec![2; 32]),
            version: Version::default(),
            metadata: Some(vec![KvMetadataEntry {
                name: "VALIDATION_PARAMETER".into(),
                value: vec![3],
            }]),
        };
        let with = next(
            b"",
            &[0],
            &[put("a", Some(b"1"))],
            std::slice::from_ref(&hashed),
        );
        assert_ne!(base, with);
        let mut other = hashed;
        other.metadata = None;
        assert_ne!(with, next(b"", &[0], &[put("a", Some(b"1"))], &[other]));
    }

    #[test]
    fn recorded_in_the_commit_hash_slot_and_read_back() {
        let mut block = Block::default();
        assert_eq!(of(&block), None);
        record(&mut block, &[7; 32]);
        assert_eq!(of(&block), Some(vec![7; 32]));
        assert_eq!(
            block.metadata.unwrap().metadata.len(),
            BlockMetadataIndex::CommitHash as usize + 1
        );
    }
}
