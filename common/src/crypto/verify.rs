//! Public keys and signature verification.

use ring::signature::{ECDSA_P256_SHA256_ASN1, ED25519, UnparsedPublicKey};

use super::der::is_low_s;
use super::verified::VerifiedSignatures;
use crate::CommonError;

/// The signature algorithms weft accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA over P-256 with SHA-256 (Fabric's default).
    EcdsaP256,
    /// Ed25519.
    Ed25519,
}

/// A public key that verifies signatures by Fabric's rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    /// Uncompressed SEC1 point for P-256; 32 raw bytes for Ed25519.
    bytes: Vec<u8>,
}

impl PublicKey {
    /// Wraps raw key bytes (SEC1 uncompressed point, or raw Ed25519 key).
    pub fn new(algorithm: KeyAlgorithm, bytes: Vec<u8>) -> Self {
        Self { algorithm, bytes }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The raw key bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Verifies `signature` over `message`. For ECDSA the signature must be DER
    /// and low-S: a high-S signature is refused even though it is mathematically valid.
    /// A signature this process verified or made before is not computed again
    /// ([`VerifiedSignatures`]).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CommonError> {
        VerifiedSignatures::process().check(self, message, signature, || {
            self.verify_uncached(message, signature)
        })
    }

    /// Verifies without consulting or filling the memory of verified signatures.
    pub fn verify_uncached(&self, message: &[u8], signature: &[u8]) -> Result<(), CommonError> {
        match self.algorithm {
            KeyAlgorithm::EcdsaP256 => {
                if !is_low_s(signature) {
                    return Err(CommonError::BadSignature(
                        "ECDSA signature is malformed or not in low-S form (s > n/2)".into(),
                    ));
                }
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.bytes)
                    .verify(message, signature)
                    .map_err(|_| {
                        CommonError::BadSignature("ECDSA P-256 signature does not match".into())
                    })
            }
            KeyAlgorithm::Ed25519 => UnparsedPublicKey::new(&ED25519, &self.bytes)
                .verify(message, signature)
                .map_err(|_| CommonError::BadSignature("Ed25519 signature does not match".into())),
        }
    }
}
