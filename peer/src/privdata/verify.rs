//! Whether private writes another peer handed over are the ones a committed
//! transaction wrote. The whole rwset must hash to what the block commits
//! to, or — since a purge (`PurgePrivateData`) rewrites the stored rwsets
//! without the purged keys — each write must match its key's hashed write in
//! the block, and every write it lacks must be one this peer knows was
//! purged later. A peer that has not seen the purge yet therefore refuses
//! the shortened rwset and asks again once it has: an answering peer cannot
//! make it drop keys by leaving them out.

use prost::Message;
use weft_protos::kvrwset::{HashedRwSet, KvrwSet};

use crate::PeerError;
use crate::ledger::{Ledger, MissingPvt};

/// Whether `rwset` is the genuine private rwset of `w` (possibly without
/// keys purged since, as this peer knows).
pub fn genuine(ledger: &Ledger, w: &MissingPvt, rwset: &[u8]) -> Result<bool, PeerError> {
    if weft_common::crypto::sha256(rwset).as_slice() == w.hash {
        return Ok(true);
    }
    let Some(hashed) = committed_hashes(ledger, w)? else {
        return Ok(false);
    };
    let Ok(received) = KvrwSet::decode(rwset) else {
        return Ok(false);
    };
    let at = w.key.version();
    let ok = shortened_by_purges(&hashed, &received, |h| {
        ledger.is_purged(&w.key.namespace, &w.key.collection, h, &at)
    })?;
    if ok {
        tracing::debug!(tx_id = %w.tx_id, collection = %w.key.collection, "private rwset accepted without the keys purged since");
    }
    Ok(ok)
}

/// Whether `received` holds exactly the writes `hashed` commits to, less
/// some whose keys `purged` says were purged since.
fn shortened_by_purges(
    hashed: &HashedRwSet,
    received: &KvrwSet,
    mut purged: impl FnMut(&[u8]) -> Result<bool, PeerError>,
) -> Result<bool, PeerError> {
    let mut matched = vec![false; hashed.hashed_writes.len()];
    for wr in &received.writes {
        let key_hash = weft_common::crypto::sha256(wr.key.as_bytes());
        let Some(i) = hashed
            .hashed_writes
            .iter()
            .position(|h| h.key_hash == key_hash)
        else {
            return Ok(false);
        };
        let h = &hashed.hashed_writes[i];
        let same = h.is_delete == wr.is_delete
            && (wr.is_delete || h.value_hash == weft_common::crypto::sha256(&wr.value));
        if !same || matched[i] {
            return Ok(false);
        }
        matched[i] = true;
    }
    for (h, seen) in hashed.hashed_writes.iter().zip(matched) {
        if !seen && !purged(&h.key_hash)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The hashed writes the committed transaction of `w` made in its collection.
fn committed_hashes(ledger: &Ledger, w: &MissingPvt) -> Result<Option<HashedRwSet>, PeerError> {
    let Some(block) = ledger.block(w.key.block)? else {
        return Ok(None);
    };
    let Some(bytes) = block
        .data
        .as_ref()
        .and_then(|d| d.data.get(w.key.tx as usize))
    else {
        return Ok(None);
    };
    let Ok(env) = weft_common::tx::UnpackedEnvelope::from_bytes(bytes) else {
        return Ok(None);
    };
    if env.channel_header.tx_id != w.tx_id {
        return Ok(None);
    }
    let Ok(tx) = env.endorser_transaction() else {
        return Ok(None);
    };
    Ok(tx
        .action
        .rwset
        .iter()
        .filter(|ns| ns.namespace == w.key.namespace)
        .flat_map(|ns| &ns.collections)
        .find(|c| c.collection_name == w.key.collection)
        .and_then(|c| HashedRwSet::decode(c.hashed_rwset.as_slice()).ok()))
}

#[cfg(test)]
mod tests {
    use weft_protos::kvrwset::{KvWrite, KvWriteHash};

    use super::*;

    fn write(key: &str, value: &[u8]) -> KvWrite {
        KvWrite {
            key: key.into(),
            is_delete: false,
            value: value.to_vec(),
        }
    }

    fn hashed(writes: &[KvWrite]) -> HashedRwSet {
        HashedRwSet {
            hashed_writes: writes
                .iter()
                .map(|w| KvWriteHash {
                    key_hash: weft_common::crypto::sha256(w.key.as_bytes()).to_vec(),
                    is_delete: w.is_delete,
                    value_hash: weft_common::crypto::sha256(&w.value).to_vec(),
                    is_purge: false,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn check(h: &HashedRwSet, writes: Vec<KvWrite>, purged: &[&str]) -> bool {
        let purged: Vec<Vec<u8>> = purged
            .iter()
            .map(|k| weft_common::crypto::sha256(k.as_bytes()).to_vec())
            .collect();
        let received = KvrwSet {
            writes,
            ..Default::default()
        };
        shortened_by_purges(h, &received, |k| Ok(purged.iter().any(|p| p == k))).unwrap()
    }

    #[test]
    fn a_rwset_may_lack_only_keys_this_peer_knows_were_purged() {
        let all = [write("a", b"1"), write("b", b"2")];
        let h = hashed(&all);
        assert!(check(&h, all.to_vec(), &[]));
        // Shortened by a purge this peer has committed: accepted.
        assert!(check(&h, vec![write("a", b"1")], &["b"]));
        assert!(check(&h, vec![], &["a", "b"]));
        // A hostile peer leaves out a key that was never purged: refused.
        assert!(!check(&h, vec![write("a", b"1")], &[]));
        assert!(!check(&h, vec![write("a", b"1")], &["a"]));
        // A changed value, an extra key, a duplicate: refused.
        assert!(!check(&h, vec![write("a", b"9"), write("b", b"2")], &[]));
        assert!(!check(
            &h,
            vec![write("a", b"1"), write("b", b"2"), write("c", b"3")],
            &[]
        ));
        assert!(!check(&h, vec![write("a", b"1"), write("a", b"1")], &["b"]));
    }
}
