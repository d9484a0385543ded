//! Hashing, signing and signature verification.
//!
//! Fabric's rules, which weft follows exactly:
//! - ECDSA P-256 signs the SHA-256 digest of the message; signatures are DER and
//!   must be low-S (`s <= n/2`). Signers normalise; verifiers reject high-S.
//! - Ed25519 signs the raw message.
//!
//! Signing goes through the [`Signer`] trait so that a key in a file, an HSM or
//! an offline signer can stand in for one another.

mod der;
mod keys;
mod signer;
mod verify;

pub use der::{is_low_s, normalize_low_s};
pub use keys::{load_private_key_pem, load_signer_from_keystore, PrivateKey};
pub use signer::{EcdsaP256Signer, Ed25519Signer, Signer};
pub use verify::{PublicKey, KeyAlgorithm};

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// SHA-256 over the concatenation of `parts`, without building it.
pub fn sha256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// `len` bytes from the system's secure random source (nonces, serials).
pub fn random_bytes(len: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; len];
    ring::rand::SystemRandom::new().fill(&mut buf).expect("the system random source works");
    buf
}
