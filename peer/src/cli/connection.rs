//! How an admin command reaches a peer or an orderer: Fabric's `CORE_PEER_*`
//! settings and flags, the endorsing peers and the orderer to broadcast to.

use std::path::PathBuf;

use clap::Args;
use weft_common::ids::MspId;
use weft_common::msp::folder;
use weft_common::tls::TlsIdentity;

use crate::PeerError;
use crate::admin::{AdminClient, ClientTls};
use crate::transact::Target;

/// How to reach the peer and whom to sign as.
#[derive(Args)]
pub(crate) struct Connection {
    /// The peer's address.
    #[arg(
        long = "peer-address",
        env = "CORE_PEER_ADDRESS",
        default_value = "127.0.0.1:7051"
    )]
    pub(crate) address: String,
    /// MSP folder of the identity that signs the requests (an admin of the peer's org to join).
    #[arg(long = "msp-dir", env = "CORE_PEER_MSPCONFIGPATH")]
    pub(crate) msp_dir: PathBuf,
    /// MSP id of that identity.
    #[arg(long = "msp-id", env = "CORE_PEER_LOCALMSPID")]
    pub(crate) msp_id: String,
    /// Root CA of the peer's TLS certificate; without it the connection is plaintext.
    #[arg(long = "tls-ca", env = "CORE_PEER_TLS_ROOTCERT_FILE")]
    pub(crate) tls_ca: Option<PathBuf>,
    /// Client TLS certificate (the peer requires mutual TLS).
    #[arg(long = "tls-cert", env = "CORE_PEER_TLS_CLIENTCERT_FILE")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// Client TLS key.
    #[arg(long = "tls-key", env = "CORE_PEER_TLS_CLIENTKEY_FILE")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Server name to verify in the peer's certificate (default: the address's host).
    #[arg(long = "tls-server-name")]
    pub(crate) tls_server_name: Option<String>,
}

/// Peers to endorse on: repeat --peerAddresses and --tlsRootCertFiles in pairs
/// (default: the peer of --peer-address / CORE_PEER_ADDRESS).
#[derive(Args)]
pub(crate) struct PeerTargets {
    /// A peer's address.
    #[arg(long = "peerAddresses")]
    pub(crate) peer_addresses: Vec<String>,
    /// The TLS root CA of the peer at the same position.
    #[arg(long = "tlsRootCertFiles")]
    pub(crate) tls_root_cert_files: Vec<PathBuf>,
}

/// The orderer to broadcast to.
#[derive(Args)]
pub(crate) struct OrdererArgs {
    /// The orderer's address.
    #[arg(short = 'o', long = "orderer", env = "ORDERER_ADDRESS")]
    pub(crate) orderer: String,
    /// The TLS root CA of the orderer's certificate.
    #[arg(long = "cafile", env = "ORDERER_CA")]
    pub(crate) cafile: Option<PathBuf>,
}

/// An admin client of the connection's peer, signing as its MSP identity.
pub(crate) async fn connect(c: &Connection) -> Result<AdminClient, PeerError> {
    let signer = folder::load_signing_identity(&c.msp_dir, &MspId::new(c.msp_id.clone()))?;
    let tls = match &c.tls_ca {
        None => None,
        Some(ca) => Some(ClientTls {
            ca_pem: std::fs::read(ca).map_err(PeerError::file(ca))?,
            identity: match (&c.tls_cert, &c.tls_key) {
                (Some(cert), Some(key)) => Some(TlsIdentity::load(cert, key)?),
                (None, None) => None,
                _ => {
                    return Err(PeerError::Config(
                        "give both --tls-cert and --tls-key, or neither".into(),
                    ));
                }
            },
            server_name: c.tls_server_name.clone(),
        }),
    };
    AdminClient::connect(&c.address, tls, signer).await
}

/// The client TLS identity, when the connection names one.
pub(crate) fn client_tls(c: &Connection) -> Result<Option<TlsIdentity>, PeerError> {
    match (&c.tls_cert, &c.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(TlsIdentity::load(cert, key)?)),
        _ => Ok(None),
    }
}

/// A peer to call at `address` over mutual TLS trusting `ca` (plaintext without one).
pub(crate) fn target(
    address: &str,
    ca: Option<&PathBuf>,
    c: &Connection,
) -> Result<Target, PeerError> {
    let tls = match (ca, client_tls(c)?) {
        (Some(ca), Some(id)) => Some((id, std::fs::read(ca).map_err(PeerError::file(ca))?)),
        (Some(_), None) => {
            return Err(PeerError::Config(
                "weft nodes use mutual TLS: give --tls-cert and --tls-key (CORE_PEER_TLS_CLIENTCERT_FILE / _KEY_FILE)".into(),
            ));
        }
        (None, _) => None,
    };
    Ok(Target {
        address: address.to_string(),
        tls,
    })
}

/// Standard base64, as Fabric's CLI prints hashes.
pub(crate) fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
