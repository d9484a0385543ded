//! Blocks: header hashes, data hashes, the hash chain and orderer signatures.
//!
//! Fabric hashes a block header as SHA-256 over the ASN.1 DER encoding of
//! `SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }`,
//! and the data as SHA-256 over the concatenated envelopes. Orderers sign
//! `metadata value ‖ signature header ‖ header DER` in the SIGNATURES metadata.

mod hash;
mod signatures;

pub use hash::{data_hash, header_bytes, header_hash};
pub use signatures::{
    check_data_hash, check_link, last_config_index, new_block, sign_block, signature_set,
    transactions_filter,
};
