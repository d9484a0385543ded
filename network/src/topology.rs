//! What network to stand up: how many orderers, orgs and peers, the channel,
//! its batching, and which ports. Read from YAML (every field optional) and
//! overridden by flags.

use serde::{Deserialize, Serialize};

use crate::NetworkError;

/// How nodes get their ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Ports {
    /// Fabric's test-network ports: orderer 7050/7053 (then 8050, 9050, …),
    /// Org1's peer 7051, Org2's 9051, Org3's 11051, operations from 9443.
    #[default]
    Fabric,
    /// Free ports below the kernel's ephemeral range (for tests and several
    /// networks side by side).
    Auto,
}

/// The kind of key every identity and TLS certificate of the network has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// ECDSA P-256, Fabric's default.
    #[default]
    Ecdsa,
    /// Ed25519 (Fabric 3's V3_0 channel capability, which weft's channels have).
    Ed25519,
}

impl KeyKind {
    /// The key type to generate.
    pub fn key_type(self) -> weft_common::pki::KeyType {
        match self {
            Self::Ecdsa => weft_common::pki::KeyType::EcdsaP256,
            Self::Ed25519 => weft_common::pki::KeyType::Ed25519,
        }
    }
}

/// A network's shape. Defaults follow Fabric's test network with three
/// Raft orderers: `mychannel`, Org1 and Org2 with one peer each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Topology {
    /// The application channel every node joins.
    pub channel: String,
    /// Raft orderers (one orderer org, `OrdererMSP`).
    pub orderers: usize,
    /// Peer organisations (`Org1MSP`, `Org2MSP`, …).
    pub orgs: usize,
    /// Peers per organisation.
    pub peers_per_org: usize,
    /// The orderer cuts a block after this long (Fabric duration syntax).
    pub batch_timeout: String,
    /// … or once this many transactions are waiting.
    pub max_message_count: u32,
    /// Port assignment.
    pub ports: Ports,
    /// Issue every identity from a `weft-ca` per organisation (which keeps
    /// running, to register and enroll more) instead of generating the crypto.
    pub ca: bool,
    /// Peers and orderers require TLS client certificates from their
    /// channels' TLS CAs (Fabric's `clientAuthRequired: true`). Off by
    /// default, as in Fabric and its test network: clients are then
    /// authenticated by their signed requests only.
    pub client_auth_required: bool,
    /// The kind of key of every generated identity (`ecdsa` or `ed25519`).
    /// Identities a `weft-ca` issues (`ca: true`) are ECDSA.
    pub key_type: KeyKind,
}

impl Default for Topology {
    fn default() -> Self {
        Self {
            channel: "mychannel".into(),
            orderers: 3,
            orgs: 2,
            peers_per_org: 1,
            batch_timeout: "250ms".into(),
            max_message_count: 500,
            ports: Ports::Fabric,
            ca: false,
            client_auth_required: false,
            key_type: KeyKind::Ecdsa,
        }
    }
}

impl Topology {
    /// A small, fast network for tests: one orderer, Org1 and Org2 with one
    /// peer each, blocks every `batch_timeout`, free ports.
    pub fn for_tests(batch_timeout: &str) -> Self {
        Self {
            orderers: 1,
            batch_timeout: batch_timeout.into(),
            ports: Ports::Auto,
            ..Self::default()
        }
    }

    /// Parses a topology YAML file's text.
    pub fn from_yaml(text: &str) -> Result<Self, NetworkError> {
        let t: Self =
            serde_yaml_ng::from_str(text).map_err(|e| NetworkError::Topology(e.to_string()))?;
        t.validate()?;
        Ok(t)
    }

    /// Checks the numbers make a network.
    pub fn validate(&self) -> Result<(), NetworkError> {
        let bad = |m: &str| Err(NetworkError::Topology(m.to_string()));
        if self.orderers == 0 || self.orderers > 9 {
            return bad("orderers must be 1 to 9");
        }
        if self.orgs == 0 || self.orgs > 9 {
            return bad("orgs must be 1 to 9");
        }
        if self.peers_per_org == 0 || self.peers_per_org > 9 {
            return bad("peersPerOrg must be 1 to 9");
        }
        if self.max_message_count == 0 {
            return bad("maxMessageCount must be at least 1");
        }
        if self.ca && self.key_type != KeyKind::Ecdsa {
            return bad("keyType ed25519 needs generated crypto: weft-ca enrolls ECDSA keys");
        }
        weft_common::ids::ChannelId::parse(&self.channel)
            .map_err(|e| NetworkError::Topology(format!("channel: {e}")))?;
        Ok(())
    }

    /// Host name of orderer `i` (0-based): `orderer` alone, else `orderer1`, `orderer2`, …
    pub fn orderer_host(&self, i: usize) -> String {
        if self.orderers == 1 {
            "orderer".into()
        } else {
            format!("orderer{}", i + 1)
        }
    }

    /// Fabric-style ports of orderer `i`: (general, admin, operations).
    pub fn fabric_orderer_ports(i: usize) -> (u16, u16, u16) {
        let i = i as u16;
        (7050 + 1000 * i, 7053 + 1000 * i, 8443 + i)
    }

    /// Fabric-style port of an organisation's CA: the orderer org's (`n` = 0)
    /// 9054, Org1's 7054, Org2's 8054, Org3's 11054, then on by 1000.
    pub fn fabric_ca_port(n: usize) -> u16 {
        match n {
            0 => 9054,
            1 => 7054,
            2 => 8054,
            n => 11054 + 1000 * (n as u16 - 3),
        }
    }

    /// Fabric-style ports of peer `p` of org `n` (1-based): (peer, operations).
    pub fn fabric_peer_ports(&self, n: usize, p: usize) -> (u16, u16) {
        let (n, p) = (n as u16, p as u16);
        (
            7051 + 2000 * (n - 1) + 100 * p,
            9443 + (n - 1) * self.peers_per_org as u16 + p,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_fabrics_test_network_with_three_orderers() {
        let t = Topology::from_yaml("{}").unwrap();
        assert_eq!(t, Topology::default());
        assert_eq!(t.channel, "mychannel");
        assert_eq!(t.fabric_peer_ports(1, 0).0, 7051);
        assert_eq!(t.fabric_peer_ports(2, 0).0, 9051);
        assert_eq!(t.fabric_peer_ports(3, 0).0, 11051);
        assert_eq!(Topology::fabric_orderer_ports(0), (7050, 7053, 8443));
    }

    #[test]
    fn yaml_overrides_and_refusals() {
        let t = Topology::from_yaml("orderers: 1\norgs: 3\npeersPerOrg: 2\nports: auto\n").unwrap();
        assert_eq!((t.orderers, t.orgs, t.peers_per_org), (1, 3, 2));
        assert_eq!(t.orderer_host(0), "orderer");
        assert_eq!(t.ports, Ports::Auto);
        let e = Topology::from_yaml("orgs: 0").unwrap_err().to_string();
        assert!(e.contains("orgs must be"), "{e}");
        let e = Topology::from_yaml("peers: 2").unwrap_err().to_string();
        assert!(e.contains("unknown field"), "{e}");
        let e = Topology::from_yaml("channel: My_Channel")
            .unwrap_err()
            .to_string();
        assert!(e.contains("channel"), "{e}");
        let t = Topology::from_yaml("keyType: ed25519").unwrap();
        assert_eq!(t.key_type, KeyKind::Ed25519);
        let e = Topology::from_yaml("keyType: ed25519\nca: true")
            .unwrap_err()
            .to_string();
        assert!(e.contains("weft-ca enrolls ECDSA"), "{e}");
    }
}
