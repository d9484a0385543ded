//! Loading private keys from PEM, as Fabric's tools write them.

use std::path::Path;
use std::sync::Arc;

use super::signer::{EcdsaP256Signer, Ed25519Signer, Signer};
use crate::CommonError;

/// OID 1.2.840.10045.2.1 (id-ecPublicKey) followed by 1.2.840.10045.3.1.7 (prime256v1), DER.
const EC_P256_ALGORITHM: [u8; 21] = [
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];
/// OID 1.3.101.112 (Ed25519) inside an AlgorithmIdentifier.
const ED25519_ALGORITHM: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

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

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

/// Wraps a SEC1 `EC PRIVATE KEY` (P-256) into PKCS#8.
fn sec1_to_pkcs8(sec1: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend_from_slice(&EC_P256_ALGORITHM);
    body.push(0x04);
    der_len(sec1.len(), &mut body);
    body.extend_from_slice(sec1);
    let mut out = vec![0x30];
    der_len(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Parses a PEM private key: PKCS#8 (`PRIVATE KEY`, as cryptogen and Fabric CA
/// write) or SEC1 (`EC PRIVATE KEY`).
pub fn load_private_key_pem(pem_bytes: &[u8]) -> Result<PrivateKey, CommonError> {
    let block = pem::parse(pem_bytes).map_err(|e| CommonError::Key(format!("not PEM: {e}")))?;
    match block.tag() {
        "PRIVATE KEY" => {
            let der = block.contents().to_vec();
            // The algorithm identifier sits near the start of the structure.
            let head = &der[..der.len().min(40)];
            if contains(head, &ED25519_ALGORITHM) {
                Ok(PrivateKey::Ed25519(der))
            } else if contains(head, &EC_P256_ALGORITHM) {
                Ok(PrivateKey::EcdsaP256(der))
            } else {
                Err(CommonError::Key(
                    "PKCS#8 key is neither P-256 ECDSA nor Ed25519".into(),
                ))
            }
        }
        "EC PRIVATE KEY" => Ok(PrivateKey::EcdsaP256(sec1_to_pkcs8(block.contents()))),
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
        let at = pkcs8
            .windows(EC_P256_ALGORITHM.len())
            .position(|w| w == EC_P256_ALGORITHM)
            .unwrap();
        let rest = &pkcs8[at + EC_P256_ALGORITHM.len()..];
        assert_eq!(rest[0], 0x04, "OCTET STRING follows the algorithm");
        let (len, body) = match rest[1] {
            0x81 => (rest[2] as usize, &rest[3..]),
            l => (l as usize, &rest[2..]),
        };
        body[..len].to_vec()
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
