//! An X.509 certificate parsed once into owned facts the MSP needs.

use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::CommonError;
use crate::crypto::{KeyAlgorithm, PublicKey};

/// OID of id-ecPublicKey.
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// OID of Ed25519.
const OID_ED25519: &str = "1.3.101.112";

/// The facts of a certificate weft uses, owned, plus its DER for re-checking signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The DER encoding.
    pub der: Vec<u8>,
    /// Raw DER of the subject name (compared byte-for-byte with issuers).
    pub subject_raw: Vec<u8>,
    /// Raw DER of the issuer name.
    pub issuer_raw: Vec<u8>,
    /// Subject common name, if any.
    pub common_name: Option<String>,
    /// Subject organizational units, in order.
    pub organizational_units: Vec<String>,
    /// Serial number, big-endian bytes as encoded.
    pub serial: Vec<u8>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Whether BasicConstraints marks this as a CA.
    pub is_ca: bool,
    /// Subject key identifier, if present.
    pub subject_key_id: Option<Vec<u8>>,
    /// Authority key identifier, if present.
    pub authority_key_id: Option<Vec<u8>>,
    /// The subject public key.
    pub public_key: PublicKey,
}

impl Certificate {
    /// Parses DER.
    pub fn from_der(der: &[u8]) -> Result<Self, CommonError> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| CommonError::invalid("X.509 certificate", e.to_string()))?;
        if !rest.is_empty() {
            return Err(CommonError::invalid(
                "X.509 certificate",
                "trailing bytes after the certificate",
            ));
        }
        let spki = cert.public_key();
        let alg = spki.algorithm.algorithm.to_id_string();
        let public_key = match alg.as_str() {
            OID_EC_PUBLIC_KEY => PublicKey::new(
                KeyAlgorithm::EcdsaP256,
                spki.subject_public_key.data.to_vec(),
            ),
            OID_ED25519 => {
                PublicKey::new(KeyAlgorithm::Ed25519, spki.subject_public_key.data.to_vec())
            }
            other => {
                return Err(CommonError::invalid(
                    "X.509 certificate",
                    format!(
                        "public key algorithm {other} is not supported (use ECDSA P-256 or Ed25519)"
                    ),
                ));
            }
        };
        let mut subject_key_id = None;
        let mut authority_key_id = None;
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(ki) => subject_key_id = Some(ki.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    authority_key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => {}
            }
        }
        Ok(Self {
            der: der.to_vec(),
            subject_raw: cert.subject().as_raw().to_vec(),
            issuer_raw: cert.issuer().as_raw().to_vec(),
            common_name: cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|a| a.as_str().ok())
                .map(str::to_string),
            organizational_units: cert
                .subject()
                .iter_organizational_unit()
                .filter_map(|a| a.as_str().ok())
                .map(str::to_string)
                .collect(),
            serial: cert.raw_serial().to_vec(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            is_ca: cert.is_ca(),
            subject_key_id,
            authority_key_id,
            public_key,
        })
    }

    /// Parses the first `CERTIFICATE` block of a PEM document.
    pub fn from_pem(pem_bytes: &[u8]) -> Result<Self, CommonError> {
        let blocks = pem::parse_many(pem_bytes)
            .map_err(|e| CommonError::invalid("PEM certificate", e.to_string()))?;
        let block = blocks
            .iter()
            .find(|b| b.tag() == "CERTIFICATE")
            .ok_or_else(|| CommonError::invalid("PEM certificate", "no CERTIFICATE block"))?;
        Self::from_der(block.contents())
    }

    /// PEM encoding of this certificate (as Fabric stores certificates in identities and config).
    pub fn to_pem(&self) -> Vec<u8> {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.der.clone())).into_bytes()
    }

    /// Whether `issuer` issued this certificate: names match, key ids agree when
    /// both are present, and the signature verifies under the issuer's key.
    pub fn is_issued_by(&self, issuer: &Certificate) -> bool {
        if self.issuer_raw != issuer.subject_raw {
            return false;
        }
        if let (Some(aki), Some(ski)) = (&self.authority_key_id, &issuer.subject_key_id)
            && aki != ski
        {
            return false;
        }
        let (Ok((_, child)), Ok((_, parent))) = (
            X509Certificate::from_der(&self.der),
            X509Certificate::from_der(&issuer.der),
        ) else {
            return false;
        };
        child.verify_signature(Some(parent.public_key())).is_ok()
    }

    /// Whether the certificate is within its validity period at `unix_seconds`.
    pub fn valid_at(&self, unix_seconds: i64) -> bool {
        self.not_before <= unix_seconds && unix_seconds <= self.not_after
    }
}

/// A certificate revocation list, parsed and owned.
#[derive(Debug, Clone)]
pub struct RevocationList {
    /// The DER encoding.
    pub der: Vec<u8>,
    /// Raw DER of the issuer name.
    pub issuer_raw: Vec<u8>,
    /// Serial numbers revoked.
    pub revoked_serials: Vec<Vec<u8>>,
}

impl RevocationList {
    /// Parses a PEM (`X509 CRL`) or DER CRL.
    pub fn parse(bytes: &[u8]) -> Result<Self, CommonError> {
        let der = match pem::parse(bytes) {
            Ok(block) => block.into_contents(),
            Err(_) => bytes.to_vec(),
        };
        let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(&der)
            .map_err(|e| CommonError::invalid("certificate revocation list", e.to_string()))?;
        Ok(Self {
            issuer_raw: crl.issuer().as_raw().to_vec(),
            revoked_serials: crl
                .iter_revoked_certificates()
                .map(|r| r.raw_serial().to_vec())
                .collect(),
            der: der.clone(),
        })
    }

    /// Whether `issuer` signed this CRL.
    pub fn is_signed_by(&self, issuer: &Certificate) -> bool {
        if self.issuer_raw != issuer.subject_raw {
            return false;
        }
        let Ok((_, crl)) =
            x509_parser::revocation_list::CertificateRevocationList::from_der(&self.der)
        else {
            return false;
        };
        let Ok((_, ca)) = X509Certificate::from_der(&issuer.der) else {
            return false;
        };
        crl.verify_signature(ca.public_key()).is_ok()
    }
}
