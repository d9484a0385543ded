//! Who the client is: an X.509 identity of an MSP, and something that signs
//! for it (a key in a file here; any [`Signer`] — an HSM, a remote signer —
//! works, and with none the SDK leaves signing to the caller).

use std::path::Path;
use std::sync::Arc;

pub use weft_common::crypto::{EcdsaP256Signer, Ed25519Signer, Signer};
use weft_common::ids::MspId;
pub use weft_common::msp::Identity;

use crate::ClientError;

/// The identity and signer of a Fabric MSP folder (`signcerts/` and `keystore/`),
/// as `cryptogen`, `weft-configtx` and `weft-ca client enroll` write them.
pub fn load_msp(dir: &Path, msp_id: &str) -> Result<(Identity, Arc<dyn Signer>), ClientError> {
    let s = weft_common::msp::folder::load_signing_identity(dir, &MspId::new(msp_id))?;
    Ok((s.identity, s.signer))
}

/// An identity from its certificate (PEM).
pub fn identity_from_pem(msp_id: &str, cert_pem: &[u8]) -> Result<Identity, ClientError> {
    Ok(Identity::new(MspId::new(msp_id), cert_pem)?)
}

/// A signer from a PKCS#8 private key (PEM): ECDSA P-256 or Ed25519.
pub fn signer_from_pem(key_pem: &[u8]) -> Result<Arc<dyn Signer>, ClientError> {
    Ok(weft_common::crypto::load_private_key_pem(key_pem)?.signer()?)
}
