//! The flags that name an admin and an orderer, with Fabric's names (the
//! `peer` CLI's `-o`, `--cafile`, `--certfile`, `--keyfile`,
//! `--ordererTLSHostnameOverride`, and `CORE_PEER_MSPCONFIGPATH`).

use std::path::{Path, PathBuf};

use clap::Args;
use weft_common::ids::MspId;
use weft_common::msp::SigningIdentity;
use weft_common::node::dial::{DialOptions, DialTls, dial};

use crate::ConfigtxError;

/// The admin who signs.
#[derive(Args, Debug, Clone)]
pub(crate) struct Admin {
    /// The signing admin's MSP folder.
    #[arg(long, env = "CORE_PEER_MSPCONFIGPATH")]
    pub msp: Option<PathBuf>,
    /// The signing admin's MSP id.
    #[arg(long = "msp-id", env = "CORE_PEER_LOCALMSPID")]
    pub msp_id: Option<String>,
}

impl Admin {
    /// Loads the admin's signing identity.
    pub fn load(&self) -> Result<SigningIdentity, ConfigtxError> {
        let (Some(msp), Some(id)) = (&self.msp, &self.msp_id) else {
            return Err(ConfigtxError::Usage(
                "name the signing admin: --msp and --msp-id, or CORE_PEER_MSPCONFIGPATH and CORE_PEER_LOCALMSPID".into(),
            ));
        };
        Ok(weft_common::msp::folder::load_signing_identity(
            msp,
            &MspId::new(id),
        )?)
    }
}

/// The orderer to talk to.
#[derive(Args, Debug, Clone)]
pub(crate) struct Orderer {
    /// The orderer's address (host:port).
    #[arg(short = 'o', long)]
    pub orderer: String,
    /// The orderer's TLS CA certificate; without it the connection is plaintext.
    #[arg(long)]
    pub cafile: Option<PathBuf>,
    /// Client TLS certificate, for an orderer that requires mutual TLS.
    #[arg(long, requires = "keyfile")]
    pub certfile: Option<PathBuf>,
    /// Key of --certfile.
    #[arg(long, requires = "certfile")]
    pub keyfile: Option<PathBuf>,
    /// The name to check the orderer's TLS certificate against.
    #[arg(long = "ordererTLSHostnameOverride")]
    pub hostname_override: Option<String>,
}

fn read(path: &Path) -> Result<Vec<u8>, ConfigtxError> {
    std::fs::read(path).map_err(|e| ConfigtxError::io(path, e))
}

impl Orderer {
    /// Connects; returns the channel and the SHA-256 of the client TLS
    /// certificate (empty without one), which binds Deliver requests.
    pub async fn connect(&self) -> Result<(tonic::transport::Channel, Vec<u8>), ConfigtxError> {
        let mut cert_hash = Vec::new();
        let tls = match &self.cafile {
            None => None,
            Some(ca) => {
                let identity = match (&self.certfile, &self.keyfile) {
                    (Some(c), Some(k)) => {
                        let pem = read(c)?;
                        let der = weft_common::msp::Certificate::from_pem(&pem)?.der;
                        cert_hash = weft_common::crypto::sha256(&der).to_vec();
                        Some((pem, read(k)?))
                    }
                    _ => None,
                };
                Some(DialTls {
                    roots: vec![read(ca)?],
                    identity,
                    server_name: self.hostname_override.clone(),
                })
            }
        };
        let options = DialOptions {
            connect_timeout: std::time::Duration::from_secs(10),
            ..Default::default()
        };
        Ok((dial(&self.orderer, tls.as_ref(), options).await?, cert_hash))
    }
}
