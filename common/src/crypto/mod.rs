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
mod key_file;
mod keys;
mod signer;
mod verified;
mod verify;

pub use der::{is_low_s, normalize_low_s};
pub use key_file::write_private_key;
pub use keys::{PrivateKey, load_private_key_pem, load_signer_from_keystore};
pub use signer::{EcdsaP256Signer, Ed25519Signer, Signer};
pub use verified::{CacheStats, GENERATION, VerifiedSignatures};
pub use verify::{KeyAlgorithm, PublicKey};

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
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("the system random source works");
    buf
}

#[cfg(test)]
mod tests {
    use super::der::{is_low_s, normalize_low_s};
    use super::*;

    fn p256_pkcs8() -> Vec<u8> {
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .unwrap()
            .serialize_der()
    }

    /// Re-encodes a low-S signature with s' = n - s: mathematically valid, but high-S.
    fn to_high_s(sig: &[u8]) -> Vec<u8> {
        der::test_support::negate_s(&normalize_low_s(sig).unwrap()).unwrap()
    }

    #[test]
    fn ecdsa_signatures_are_low_s_and_verify() {
        let signer = EcdsaP256Signer::from_pkcs8(&p256_pkcs8()).unwrap();
        for i in 0..64u8 {
            let msg = [i; 40];
            let sig = signer.sign(&msg).unwrap();
            assert!(is_low_s(&sig), "signer must normalise to low-S");
            signer.public_key().verify(&msg, &sig).unwrap();
            assert!(signer.public_key().verify(b"other message", &sig).is_err());
        }
    }

    #[test]
    fn high_s_signatures_are_rejected_even_though_valid() {
        let signer = EcdsaP256Signer::from_pkcs8(&p256_pkcs8()).unwrap();
        let sig = signer.sign(b"payload").unwrap();
        let high = to_high_s(&sig);
        assert!(!is_low_s(&high));
        let err = signer
            .public_key()
            .verify(b"payload", &high)
            .unwrap_err()
            .to_string();
        assert!(err.contains("low-S"), "{err}");
        // Normalising it back gives a signature that verifies.
        let back = normalize_low_s(&high).unwrap();
        signer.public_key().verify(b"payload", &back).unwrap();
    }

    #[test]
    fn ed25519_signs_the_raw_message() {
        let der = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)
            .unwrap()
            .serialize_der();
        let signer = Ed25519Signer::from_pkcs8(&der).unwrap();
        let sig = signer.sign(b"hello").unwrap();
        assert_eq!(sig.len(), 64);
        signer.public_key().verify(b"hello", &sig).unwrap();
        assert!(signer.public_key().verify(b"hellO", &sig).is_err());
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(signer.public_key().verify(b"hello", &bad).is_err());
    }

    #[test]
    fn keys_load_from_pkcs8_pem() {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let pkcs8 = kp.serialize_pem();
        let key = load_private_key_pem(pkcs8.as_bytes()).unwrap();
        assert!(matches!(key, PrivateKey::EcdsaP256(_)));
        let signer = key.signer().unwrap();
        assert_eq!(signer.public_key().bytes(), kp.public_key_raw());
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)
            .unwrap()
            .serialize_pem();
        assert!(matches!(
            load_private_key_pem(ed.as_bytes()).unwrap(),
            PrivateKey::Ed25519(_)
        ));
        assert!(
            load_private_key_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
        assert!(load_private_key_pem(b"garbage").is_err());
    }

    #[test]
    fn keystore_needs_exactly_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_signer_from_keystore(dir.path())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no key file"), "{err}");
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        std::fs::write(dir.path().join("priv_sk"), kp.serialize_pem()).unwrap();
        load_signer_from_keystore(dir.path()).unwrap();
        std::fs::write(dir.path().join("abc_sk"), kp.serialize_pem()).unwrap();
        let err = load_signer_from_keystore(dir.path())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("keep exactly one"), "{err}");
    }
}
