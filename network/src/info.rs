//! A running network's description — addresses, crypto paths, data and log
//! locations — written by `up` to `network.json` and read by every other
//! command (and handed to tests by the in-process mode).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use weft_client_sdk::{Gateway, Tls};
use weft_common::ids::MspId;
use weft_common::tls::TlsIdentity;
use weft_peer::admin::{AdminClient, ClientTls};
use weft_peer::transact::Target;

use crate::NetworkError;

/// Files of one enrolled user: its MSP folder and TLS client certificate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserFiles {
    /// MSP folder (`signcerts/`, `keystore/`, …).
    pub msp: PathBuf,
    /// TLS client certificate.
    pub tls_cert: PathBuf,
    /// TLS client key.
    pub tls_key: PathBuf,
}

impl UserFiles {
    fn tls_identity(&self) -> Result<TlsIdentity, NetworkError> {
        TlsIdentity::load(&self.tls_cert, &self.tls_key)
            .map_err(|e| NetworkError::io(&self.tls_cert, e))
    }
}

/// One orderer or peer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeInfo {
    /// Host name in its certificates (`orderer1.example.com`, `peer0.org1.example.com`).
    pub name: String,
    /// gRPC address (`127.0.0.1:7051`).
    pub address: String,
    /// Channel participation address (orderers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_address: Option<String>,
    /// Operations address (`/healthz`, `/metrics`).
    pub operations_address: String,
    /// Its crypto folder (`msp/`, `tls/`).
    pub crypto: PathBuf,
    /// Its data directory.
    pub data: PathBuf,
    /// Its log file (process mode).
    pub log: PathBuf,
}

/// An organisation's certificate authority (`up --ca`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CaInfo {
    /// `ca-orderer`, `ca-org1`, …
    pub name: String,
    /// The organisation's domain (`example.com`, `org1.example.com`).
    pub domain: String,
    /// Its HTTPS address (`127.0.0.1:7054`).
    pub address: String,
    /// Its home: keys, certificates, database.
    pub home: PathBuf,
    /// Its log file (process mode).
    pub log: PathBuf,
    /// The MSP folder of its bootstrap admin, a registrar for more identities.
    pub registrar: PathBuf,
}

impl CaInfo {
    /// Its URL (`https://127.0.0.1:7054`).
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// The certificate its HTTPS listener chains to (its root CA).
    pub fn tls_root(&self) -> PathBuf {
        self.home.join("ca-cert.pem")
    }
}

/// A peer organisation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OrgInfo {
    /// `Org1`.
    pub name: String,
    /// `Org1MSP`.
    pub msp_id: String,
    /// The org's TLS CA certificate.
    pub tls_ca: PathBuf,
    /// The org's admin.
    pub admin: UserFiles,
    /// An application user (`User1`).
    pub user: UserFiles,
    /// Its peers; the first is the anchor and gateway peer.
    pub peers: Vec<NodeInfo>,
}

/// Everything about a network that a client, a deploy or a bench needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkInfo {
    /// The network's directory.
    pub dir: PathBuf,
    /// The application channel.
    pub channel: String,
    /// Its genesis block.
    pub genesis: PathBuf,
    /// The orderer org's TLS CA certificate.
    pub orderer_tls_ca: PathBuf,
    /// The orderer org's admin.
    pub orderer_admin: UserFiles,
    /// The orderers.
    pub orderers: Vec<NodeInfo>,
    /// The peer organisations.
    pub orgs: Vec<OrgInfo>,
    /// The organisations' CAs (the orderer org's first), when up with `--ca`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cas: Vec<CaInfo>,
    /// Whether peers and orderers require TLS client certificates.
    #[serde(default)]
    pub client_auth_required: bool,
}

impl NetworkInfo {
    /// `network.json` in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("network.json")
    }

    /// Reads `network.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, NetworkError> {
        let path = Self::path(dir);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                NetworkError::NotRunning(dir.to_path_buf())
            } else {
                NetworkError::io(&path, e)
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| NetworkError::io(&path, e))
    }

    /// Writes `network.json`.
    pub fn save(&self) -> Result<(), NetworkError> {
        let path = Self::path(&self.dir);
        let text = serde_json::to_vec_pretty(self).expect("network info JSON");
        std::fs::write(&path, text).map_err(|e| NetworkError::io(&path, e))
    }

    /// The CA of `org`, when the network was brought up with CAs.
    pub fn ca_of(&self, org: &OrgInfo) -> Option<&CaInfo> {
        let domain = format!("{}.example.com", org.name.to_lowercase());
        self.cas.iter().find(|c| c.domain == domain)
    }

    /// Organisation `msp_id`.
    pub fn org(&self, msp_id: &str) -> Result<&OrgInfo, NetworkError> {
        self.orgs
            .iter()
            .find(|o| o.msp_id == msp_id || o.name == msp_id)
            .ok_or_else(|| NetworkError::Topology(format!("no organisation {msp_id}")))
    }

    /// A client SDK gateway to `org`'s first peer, as its application user.
    pub async fn gateway(&self, org: &str) -> Result<Gateway, NetworkError> {
        let o = self.org(org)?;
        self.gateway_as(o, &o.user, 0).await
    }

    /// A client SDK gateway to peer `peer` of `org`, as `user`.
    pub async fn gateway_as(
        &self,
        org: &OrgInfo,
        user: &UserFiles,
        peer: usize,
    ) -> Result<Gateway, NetworkError> {
        let (identity, signer) = weft_client_sdk::identity::load_msp(&user.msp, &org.msp_id)?;
        let tls = Tls::from_files(&org.tls_ca, Some((&user.tls_cert, &user.tls_key)))?;
        let address = &org.peers[peer].address;
        Ok(Gateway::connect(address, identity, Some(signer), Some(tls)).await?)
    }

    /// An admin connection of `org` to its peer `peer`.
    pub async fn admin_client(
        &self,
        org: &OrgInfo,
        peer: usize,
    ) -> Result<AdminClient, NetworkError> {
        let signer = weft_common::msp::folder::load_signing_identity(
            &org.admin.msp,
            &MspId::new(&org.msp_id),
        )?;
        let tls = ClientTls {
            ca_pem: std::fs::read(&org.tls_ca).map_err(|e| NetworkError::io(&org.tls_ca, e))?,
            identity: Some(org.admin.tls_identity()?),
            server_name: None,
        };
        Ok(AdminClient::connect(&org.peers[peer].address, Some(tls), signer).await?)
    }

    /// Where `org`'s admin reaches node `node` of `org` (for transact calls).
    pub fn peer_target(&self, org: &OrgInfo, peer: usize) -> Result<Target, NetworkError> {
        Ok(Target {
            address: org.peers[peer].address.clone(),
            tls: Some((
                org.admin.tls_identity()?,
                std::fs::read(&org.tls_ca).map_err(|e| NetworkError::io(&org.tls_ca, e))?,
            )),
        })
    }

    /// Where `org`'s admin reaches orderer `i`.
    pub fn orderer_target(&self, org: &OrgInfo, i: usize) -> Result<Target, NetworkError> {
        Ok(Target {
            address: self.orderers[i].address.clone(),
            tls: Some((
                org.admin.tls_identity()?,
                std::fs::read(&self.orderer_tls_ca)
                    .map_err(|e| NetworkError::io(&self.orderer_tls_ca, e))?,
            )),
        })
    }

    /// The certificates of the network's crypto folder and genesis config
    /// that are expired or expire within 30 days (what `status` prints).
    pub fn certificate_report(&self) -> weft_common::msp::expiry::Report {
        use weft_common::msp::expiry;
        let mut certs = expiry::in_files(&self.dir.join("crypto"));
        let genesis = std::fs::read(&self.genesis)
            .ok()
            .and_then(|b| <weft_protos::common::Block as prost::Message>::decode(b.as_slice()).ok())
            .and_then(|b| weft_common::config::ChannelConfig::from_block(&b).ok());
        if let Some(cfg) = genesis {
            certs.extend(expiry::in_config(&cfg.config));
        }
        expiry::report(
            &certs,
            weft_common::clock::unix_now(),
            expiry::DEFAULT_WARN_SECONDS,
            false,
        )
    }

    /// Every node, orderers first.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.orderers
            .iter()
            .chain(self.orgs.iter().flat_map(|o| o.peers.iter()))
    }
}
