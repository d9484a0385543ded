//! A local network's crypto material and genesis blocks in a temporary
//! folder, laid out as `cryptogen` writes it: one orderer org
//! (`OrdererMSP`, hosts `orderer1`, `orderer2`, …) and peer orgs `Org1MSP`,
//! `Org2MSP`, … with their peers and users. The orderer and peer suites and
//! the peer's unit tests all start from it.

use std::path::{Path, PathBuf};

use weft_common::ids::{ChannelId, MspId};
use weft_common::msp::{SigningIdentity, folder};
use weft_common::pki::KeyType;
use weft_configtx::local::LocalNetwork;
use weft_protos::common::Block;

/// Crypto material under a temporary folder (removed when dropped).
#[derive(Debug)]
pub struct Material {
    /// The folder; crypto is in `crypto/` below it.
    pub dir: tempfile::TempDir,
}

impl Material {
    /// Generates `orderers` orderers and `orgs` peer orgs with `peers` peers
    /// and `users` users each (plus each org's Admin), with ECDSA P-256 keys.
    pub fn generate(orderers: usize, orgs: usize, peers: u32, users: u32) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let hosts: Vec<String> = (1..=orderers).map(|i| format!("orderer{i}")).collect();
        weft_configtx::cryptogen::generate(
            &weft_configtx::cryptogen::CryptoConfig::local(&hosts, orgs, peers, users),
            &crypto_dir(dir.path()),
            KeyType::EcdsaP256,
        )
        .expect("crypto material");
        Self { dir }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Orderer `i`'s folder (1-based, as its host name).
    pub fn orderer_dir(&self, i: usize) -> PathBuf {
        orderer_dir(self.path(), i)
    }

    /// The orderer org's TLS CA certificate.
    pub fn orderer_tls_ca(&self) -> PathBuf {
        orderer_tls_ca(self.path())
    }

    /// Peer `i` of org `org` (0-based peer, 1-based org).
    pub fn peer_dir(&self, org: u8, i: usize) -> PathBuf {
        crypto_dir(self.path()).join(format!(
            "peerOrganizations/org{org}.example.com/peers/peer{i}.org{org}.example.com"
        ))
    }

    /// User `name` (`User1`, `Admin`, …) of org `org`.
    pub fn user_dir(&self, org: u8, name: &str) -> PathBuf {
        user_dir(self.path(), org, name)
    }

    /// Org `org`'s TLS CA certificate.
    pub fn org_tls_ca(&self, org: u8) -> PathBuf {
        crypto_dir(self.path()).join(format!(
            "peerOrganizations/org{org}.example.com/tlsca/tlsca.org{org}.example.com-cert.pem"
        ))
    }

    /// Peer 0 of org `org`, as a signer.
    pub fn peer(&self, org: u8) -> SigningIdentity {
        signer(&self.peer_dir(org, 0), &org_msp(org))
    }

    /// `User1` of org `org`.
    pub fn user(&self, org: u8) -> SigningIdentity {
        signer(&self.user_dir(org, "User1"), &org_msp(org))
    }

    /// The admin of org `org`.
    pub fn admin(&self, org: u8) -> SigningIdentity {
        signer(&self.user_dir(org, "Admin"), &org_msp(org))
    }

    /// Orderer `i` (1-based).
    pub fn orderer(&self, i: usize) -> SigningIdentity {
        signer(&self.orderer_dir(i), &MspId::new("OrdererMSP"))
    }

    /// The genesis block of `channel` for profile `net`, built from the
    /// profile's structs over this network's crypto (no `configtx.yaml`).
    pub fn genesis(&self, channel: &str, net: &LocalNetwork) -> Block {
        weft_configtx::genesis::genesis_block(
            &net.file(self.path()),
            &net.profile,
            &ChannelId::parse(channel).expect("a valid channel name"),
        )
        .expect("a genesis block")
    }
}

/// The crypto folder below a network's folder.
pub fn crypto_dir(dir: &Path) -> PathBuf {
    dir.join("crypto")
}

/// Orderer `i`'s folder (1-based) below a network's folder.
pub fn orderer_dir(dir: &Path, i: usize) -> PathBuf {
    crypto_dir(dir).join(format!(
        "ordererOrganizations/example.com/orderers/orderer{i}.example.com"
    ))
}

/// The orderer org's TLS CA certificate below a network's folder.
pub fn orderer_tls_ca(dir: &Path) -> PathBuf {
    crypto_dir(dir).join("ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem")
}

/// User `name` of org `org` below a network's folder.
pub fn user_dir(dir: &Path, org: u8, name: &str) -> PathBuf {
    crypto_dir(dir).join(format!(
        "peerOrganizations/org{org}.example.com/users/{name}@org{org}.example.com"
    ))
}

fn org_msp(org: u8) -> MspId {
    MspId::new(format!("Org{org}MSP"))
}

fn signer(node: &Path, msp: &MspId) -> SigningIdentity {
    folder::load_signing_identity(&node.join("msp"), msp).expect("a signing identity")
}
