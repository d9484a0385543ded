//! Identities: an MSP id plus an X.509 certificate, as carried in `msp.SerializedIdentity`.

use std::fmt;
use std::sync::Arc;

use prost::Message;
use weft_protos::msp::SerializedIdentity;

use super::cert::Certificate;
use super::organization::Role;
use crate::CommonError;
use crate::crypto::Signer;
use crate::error::decode;
use crate::ids::MspId;

/// A deserialized, not yet validated identity.
#[derive(Clone)]
pub struct Identity {
    msp_id: MspId,
    cert: Arc<Certificate>,
    /// The `SerializedIdentity` bytes exactly as received or produced.
    serialized: Arc<[u8]>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({}, {:?})", self.msp_id, self.cert.common_name)
    }
}

impl Identity {
    /// Builds an identity from an MSP id and a PEM certificate.
    pub fn new(msp_id: MspId, cert_pem: &[u8]) -> Result<Self, CommonError> {
        let cert = Certificate::from_pem(cert_pem)?;
        let serialized = SerializedIdentity {
            mspid: msp_id.to_string(),
            id_bytes: cert_pem.to_vec(),
        }
        .encode_to_vec();
        Ok(Self {
            msp_id,
            cert: Arc::new(cert),
            serialized: serialized.into(),
        })
    }

    /// Decodes `msp.SerializedIdentity` bytes (a transaction's creator, an endorser).
    pub fn from_serialized(bytes: &[u8]) -> Result<Self, CommonError> {
        let sid: SerializedIdentity = decode("serialized identity", bytes)?;
        if sid.mspid.is_empty() {
            return Err(CommonError::invalid("serialized identity", "empty MSP id"));
        }
        let cert = Certificate::from_pem(&sid.id_bytes)?;
        Ok(Self {
            msp_id: MspId::new(sid.mspid),
            cert: Arc::new(cert),
            serialized: bytes.into(),
        })
    }

    /// The MSP this identity claims.
    pub fn msp_id(&self) -> &MspId {
        &self.msp_id
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The `SerializedIdentity` bytes.
    pub fn serialized(&self) -> &[u8] {
        &self.serialized
    }

    /// The certificate as PEM (the `id_bytes` of the serialized form).
    pub fn cert_pem(&self) -> Vec<u8> {
        SerializedIdentity::decode(&*self.serialized)
            .map(|s| s.id_bytes)
            .unwrap_or_else(|_| self.cert.to_pem())
    }

    /// Verifies a signature made by this identity's key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CommonError> {
        self.cert.public_key.verify(message, signature)
    }
}

/// An identity that its MSP accepted, with what the MSP found out about it.
#[derive(Debug, Clone)]
pub struct ValidatedIdentity {
    /// The identity.
    pub identity: Identity,
    /// Its NodeOU role, when the MSP uses NodeOUs.
    pub role: Option<Role>,
    /// Whether it is an admin of its MSP (admin OU or listed admin certificate).
    pub is_admin: bool,
    /// SHA-256 over the DER of the CA chain that certified it (its OUs' certifiers id).
    pub certifiers_id: [u8; 32],
}

/// An identity together with the signer for its key: what clients and nodes sign with.
#[derive(Clone)]
pub struct SigningIdentity {
    /// The public identity.
    pub identity: Identity,
    /// The signer for its private key.
    pub signer: Arc<dyn Signer>,
}

impl SigningIdentity {
    /// Pairs an identity with its signer, checking that the keys match.
    pub fn new(identity: Identity, signer: Arc<dyn Signer>) -> Result<Self, CommonError> {
        if signer.public_key() != identity.certificate().public_key {
            return Err(CommonError::Key(format!(
                "the private key does not belong to the certificate of {} ({})",
                identity.msp_id(),
                identity
                    .certificate()
                    .common_name
                    .as_deref()
                    .unwrap_or("no CN")
            )));
        }
        Ok(Self { identity, signer })
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CommonError> {
        self.signer.sign(message)
    }

    /// The serialized identity (creator bytes).
    pub fn serialized(&self) -> &[u8] {
        self.identity.serialized()
    }
}

impl fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningIdentity({:?})", self.identity)
    }
}
