//! Signers: what can produce a signature for an identity.

use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

use super::der::normalize_low_s;
use super::verify::{KeyAlgorithm, PublicKey};
use crate::CommonError;

/// Something that signs messages for one identity: a key in a file today, an HSM
/// or an offline signer later. Implementations apply the algorithm's rules
/// (ECDSA: SHA-256 digest, DER, low-S; Ed25519: raw message).
pub trait Signer: Send + Sync {
    /// Signs `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CommonError>;
    /// The public key that verifies this signer's signatures.
    fn public_key(&self) -> PublicKey;
}

/// An ECDSA P-256 key held in memory.
pub struct EcdsaP256Signer {
    key: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl EcdsaP256Signer {
    /// From a PKCS#8 DER private key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, CommonError> {
        let rng = ring::rand::SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
            .map_err(|e| CommonError::Key(format!("not a P-256 PKCS#8 key: {e}")))?;
        Ok(Self { key, rng })
    }
}

impl Signer for EcdsaP256Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CommonError> {
        let sig = self
            .key
            .sign(&self.rng, message)
            .map_err(|e| CommonError::Sign(e.to_string()))?;
        normalize_low_s(sig.as_ref())
            .ok_or_else(|| CommonError::Sign("ring produced a non-DER signature".into()))
    }

    fn public_key(&self) -> PublicKey {
        PublicKey::new(
            KeyAlgorithm::EcdsaP256,
            self.key.public_key().as_ref().to_vec(),
        )
    }
}

/// An Ed25519 key held in memory.
pub struct Ed25519Signer {
    key: Ed25519KeyPair,
}

impl Ed25519Signer {
    /// From a PKCS#8 DER private key (v1 as Go writes it, or v2 with the public key).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, CommonError> {
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|e| CommonError::Key(format!("not an Ed25519 PKCS#8 key: {e}")))?;
        Ok(Self { key })
    }
}

impl Signer for Ed25519Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CommonError> {
        Ok(self.key.sign(message).as_ref().to_vec())
    }

    fn public_key(&self) -> PublicKey {
        PublicKey::new(
            KeyAlgorithm::Ed25519,
            self.key.public_key().as_ref().to_vec(),
        )
    }
}
