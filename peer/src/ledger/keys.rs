//! Byte layouts of the ledger's RocksDB keys and values.
//!
//! Numbers are big-endian so that RocksDB's byte order is numeric order.
//! State and history keys start with `namespace \0`: namespaces never contain
//! `\0`, while keys may (composite keys start with it).

use weft_protos::kvrwset::Version;

/// `namespace \0 key`.
pub fn state_key(ns: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(ns.len() + 1 + key.len());
    k.extend_from_slice(ns.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// `namespace \0 collection \0 key` (private data) or `... \0 key hash` (hashed state).
pub fn collection_key(ns: &str, collection: &str, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(ns.len() + collection.len() + 2 + key.len());
    k.extend_from_slice(ns.as_bytes());
    k.push(0);
    k.extend_from_slice(collection.as_bytes());
    k.push(0);
    k.extend_from_slice(key);
    k
}

/// Splits a state key back into namespace and key.
pub fn split_state_key(k: &[u8]) -> Option<(&str, &str)> {
    let at = k.iter().position(|b| *b == 0)?;
    Some((
        std::str::from_utf8(&k[..at]).ok()?,
        std::str::from_utf8(&k[at + 1..]).ok()?,
    ))
}

/// A state value: the version (block, tx) then the bytes.
pub fn state_value(version: &Version, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + value.len());
    v.extend_from_slice(&version.block_num.to_be_bytes());
    v.extend_from_slice(&version.tx_num.to_be_bytes());
    v.extend_from_slice(value);
    v
}

/// Decodes a state value into its version and bytes.
pub fn parse_state_value(v: &[u8]) -> Option<(Version, &[u8])> {
    if v.len() < 16 {
        return None;
    }
    Some((
        Version {
            block_num: u64::from_be_bytes(v[..8].try_into().ok()?),
            tx_num: u64::from_be_bytes(v[8..16].try_into().ok()?),
        },
        &v[16..],
    ))
}

/// History key: `namespace \0 key \0 block tx` — one entry per write, oldest first.
pub fn history_key(ns: &str, key: &str, block: u64, tx: u64) -> Vec<u8> {
    let mut k = history_prefix(ns, key);
    k.extend_from_slice(&block.to_be_bytes());
    k.extend_from_slice(&tx.to_be_bytes());
    k
}

/// The prefix shared by a key's history entries.
pub fn history_prefix(ns: &str, key: &str) -> Vec<u8> {
    let mut k = state_key(ns, key);
    k.push(0);
    k
}

/// A block number as a key.
pub fn number(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Decodes a big-endian u64.
pub fn parse_number(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

/// A txid index value: block number, position, validation code.
pub fn tx_location(block: u64, tx: u64, code: u8) -> [u8; 17] {
    let mut v = [0u8; 17];
    v[..8].copy_from_slice(&block.to_be_bytes());
    v[8..16].copy_from_slice(&tx.to_be_bytes());
    v[16] = code;
    v
}

/// Decodes a txid index value.
pub fn parse_tx_location(v: &[u8]) -> Option<(u64, u64, u8)> {
    if v.len() != 17 {
        return None;
    }
    Some((parse_number(&v[..8])?, parse_number(&v[8..16])?, v[16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_round_trip_including_composite_keys() {
        let k = state_key("marbles", "\u{0}color~name\u{0}blue\u{0}m1\u{0}");
        assert_eq!(
            split_state_key(&k),
            Some(("marbles", "\u{0}color~name\u{0}blue\u{0}m1\u{0}"))
        );
        let v = state_value(
            &Version {
                block_num: 7,
                tx_num: 3,
            },
            b"x",
        );
        let (ver, bytes) = parse_state_value(&v).unwrap();
        assert_eq!((ver.block_num, ver.tx_num, bytes), (7, 3, &b"x"[..]));
    }

    #[test]
    fn numbers_sort_numerically() {
        assert!(number(255) < number(256));
        assert!(history_key("a", "k", 1, 9) < history_key("a", "k", 2, 0));
        assert_eq!(parse_tx_location(&tx_location(5, 6, 11)), Some((5, 6, 11)));
    }
}
