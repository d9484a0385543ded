//! Transaction ids.

use crate::crypto::sha256_concat;
use crate::ids::TxId;

/// Fabric's txid: lowercase hex of SHA-256(nonce ‖ creator), where creator is
/// the serialized identity bytes.
pub fn compute_txid(nonce: &[u8], creator: &[u8]) -> TxId {
    TxId::new(hex::encode(sha256_concat(&[nonce, creator])))
}

#[cfg(test)]
mod tests {
    #[test]
    fn txid_is_hex_sha256_of_nonce_then_creator() {
        let id = super::compute_txid(b"nonce", b"creator");
        let want = hex::encode(crate::crypto::sha256(b"noncecreator"));
        assert_eq!(id.as_str(), want);
        assert_eq!(id.as_str().len(), 64);
    }
}
