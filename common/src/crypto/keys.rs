//! Loading private keys from PEM, as Fabric's tools write them.

use std::path::Path;
use std::sync::Arc;

use pkcs8::der::Encode;
use pkcs8::{AlgorithmIdentifierRef, ObjectIdentifier, PrivateKeyInfo};

use super::signer::{EcdsaP256Signer, Ed25519Signer, Signer};
use crate::CommonError;

/// id-ecPublicKey (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// prime256v1, the curve of an id-ecPublicKey's parameters.
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// Ed25519 (RFC 8410).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A private key in PKCS#8 DER, with its algorithm recognised.
pub enum PrivateKey {
    /// ECDSA P-256.
    EcdsaP256(Vec<u8>),
    /// Ed25519.
    Ed25519(Vec<u8>),
}

impl PrivateKey {
    /// A signer for this key.
    pub fn signer(&self) -> Result<Arc<dyn Signer>, CommonError> {
        Ok(match self {
            PrivateKey::EcdsaP256(der) => Arc::new(EcdsaP256Signer::from_pkcs8(der)?),
            PrivateKey::Ed25519(der) => Arc::new(Ed25519Signer::from_pkcs8(der)?),
        })
    }

    /// The PKCS#8 DER bytes.
    pub fn pkcs8_der(&self) -> &[u8] {
        match self {
            PrivateKey::EcdsaP256(d) | PrivateKey::Ed25519(d) => d,
        }
    }
}

/// Wraps a SEC1 `EC PRIVATE KEY` (P-256) into PKCS#8.
fn sec1_to_pkcs8(sec1: &[u8]) -> Result<Vec<u8>, CommonError> {
    let curve = pkcs8::der::asn1::AnyRef::from(&PRIME256V1);
    let algorithm = AlgorithmIdentifierRef {
        oid: EC_PUBLIC_KEY,
        parameters: Some(curve),
    };
    PrivateKeyInfo::new(algorithm, sec1)
        .to_der()
        .map_err(|e| CommonError::Key(format!("SEC1 key: {e}")))
}

/// Parses a PEM private key: PKCS#8 (`PRIVATE KEY`, as cryptogen and Fabric CA
/// write) or SEC1 (`EC PRIVATE KEY`).
pub fn load_private_key_pem(pem_bytes: &[u8]) -> Result<PrivateKey, CommonError> {
    let block = pem::parse(pem_bytes).map_err(|e| CommonError::Key(format!("not PEM: {e}")))?;
    match block.tag() {
        "PRIVATE KEY" => {
            let der = block.contents().to_vec();
            let info = PrivateKeyInfo::try_from(der.as_slice())
                .map_err(|e| CommonError::Key(format!("PKCS#8 key: {e}")))?;
            let algorithm = info.algorithm;
            if algorithm.oid == ED25519 {
                Ok(PrivateKey::Ed25519(der))
            } else if algorithm.oid == EC_PUBLIC_KEY
                && algorithm.parameters_oid().ok() == Some(PRIME256V1)
            {
                Ok(PrivateKey::EcdsaP256(der))
            } else {
                Err(CommonError::Key(
                    "PKCS#8 key is neither P-256 ECDSA nor Ed25519".into(),
                ))
            }
        }
        "EC PRIVATE KEY" => Ok(PrivateKey::EcdsaP256(sec1_to_pkcs8(block.contents())?)),
        other => Err(CommonError::Key(format!(
            "PEM block {other:?} is not a private key"
        ))),
    }
}

/// Loads the one private key of an MSP `keystore/` folder (`priv_sk` or `*_sk`).
pub fn load_signer_from_keystore(keystore: &Path) -> Result<Arc<dyn Signer>, CommonError> {
    let load_err = |reason: String| CommonError::Load {
        what: "keystore",
        path: keystore.display().to_string(),
        reason,
    };
    let mut keys: Vec<_> = std::fs::read_dir(keystore)
        .map_err(|e| {
            load_err(format!(
                "{e}; an MSP folder for a signing identity needs keystore/priv_sk"
            ))
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "priv_sk" || n.ends_with("_sk"))
        })
        .collect();
    keys.sort();
    let path = match keys.as_slice() {
        [one] => one,
        [] => return Err(load_err("no key file: expected priv_sk or <ski>_sk".into())),
        many => {
            return Err(load_err(format!(
                "{} key files; keep exactly one",
                many.len()
            )));
        }
    };
    let bytes = std::fs::read(path).map_err(|e| load_err(e.to_string()))?;
    load_private_key_pem(&bytes)
        .map_err(|e| CommonError::Load {
            what: "private key",
            path: path.display().to_string(),
            reason: e.to_string(),
        })?
        .signer()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Extracts the SEC1 `ECPrivateKey` that a PKCS#8 P-256 key wraps.
    fn sec1_of(pkcs8: &[u8]) -> Vec<u8> {
        PrivateKeyInfo::try_from(pkcs8)
            .unwrap()
            .private_key
            .to_vec()
    }

    #[test]
    fn a_key_of_another_curve_or_garbage_is_refused_naming_why() {
        let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", p384.serialize_der()));
        let e = load_private_key_pem(pem.as_bytes()).err().unwrap();
        assert!(
            e.to_string().contains("neither P-256 ECDSA nor Ed25519"),
            "{e}"
        );
        let garbage = pem::encode(&pem::Pem::new("PRIVATE KEY", vec![0x30, 0x03, 1, 2, 3]));
        let e = load_private_key_pem(garbage.as_bytes()).err().unwrap();
        assert!(e.to_string().contains("PKCS#8 key"), "{e}");
    }

    #[test]
    fn sec1_ec_private_keys_load_like_pkcs8() {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let sec1 = sec1_of(&kp.serialize_der());
        let pem = pem::encode(&pem::Pem::new("EC PRIVATE KEY", sec1));
        let key = load_private_key_pem(pem.as_bytes()).unwrap();
        assert!(matches!(key, PrivateKey::EcdsaP256(_)));
        let signer = key.signer().unwrap();
        assert_eq!(signer.public_key().bytes(), kp.public_key_raw());
        let sig = signer.sign(b"m").unwrap();
        signer.public_key().verify(b"m", &sig).unwrap();
    }
}
