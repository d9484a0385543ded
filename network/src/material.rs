//! Crypto material and the channel's genesis block for a topology, written
//! with `weft-configtx` (Fabric's `cryptogen` layout and `configtx.yaml`).

use std::path::Path;
use weft_configtx::cryptogen::CryptoConfig;

use prost::Message;
use weft_common::ids::ChannelId;
use weft_configtx::profile::ConfigtxFile;

use crate::info::{NetworkInfo, NodeInfo, OrgInfo, UserFiles};
use crate::{NetworkError, Topology};

/// The ports every node will listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPlan {
    /// Per orderer: (general, admin, operations).
    pub orderers: Vec<(u16, u16, u16)>,
    /// Per org, per peer: (peer, operations).
    pub peers: Vec<Vec<(u16, u16)>>,
    /// With CAs: the orderer org's CA port, then each peer org's.
    pub cas: Vec<u16>,
    /// Per orderer, the address of the host it runs on; empty: 127.0.0.1
    /// for every node (see [`PortPlan::on_hosts`]).
    pub orderer_ips: Vec<String>,
    /// Per org, per peer, the address of its host; empty: 127.0.0.1.
    pub peer_ips: Vec<Vec<String>>,
    /// Where hosts are names, more names each is known by: the name with
    /// each suffix appended (Kubernetes: `.svc`, `.svc.cluster.local`).
    /// Certificates carry them all.
    pub san_suffixes: Vec<String>,
}

impl PortPlan {
    /// Fabric's test-network ports for `t`.
    pub fn fabric(t: &Topology) -> Self {
        Self {
            orderers: (0..t.orderers)
                .map(Topology::fabric_orderer_ports)
                .collect(),
            peers: (1..=t.orgs)
                .map(|n| {
                    (0..t.peers_per_org)
                        .map(|p| t.fabric_peer_ports(n, p))
                        .collect()
                })
                .collect(),
            cas: if t.ca {
                (0..=t.orgs).map(Topology::fabric_ca_port).collect()
            } else {
                Vec::new()
            },
            orderer_ips: Vec::new(),
            peer_ips: Vec::new(),
            san_suffixes: Vec::new(),
        }
    }

    /// Every node on a host of its own (each address one of the machine's,
    /// e.g. a network namespace's): orderer `i` on `orderer_ips[i]`, peer
    /// `p` of org `n` on `peer_ips[n][p]`. Certificates name these
    /// addresses, and the channel's consenters, orderer endpoints and anchor
    /// peers use them.
    pub fn on_hosts(mut self, orderer_ips: Vec<String>, peer_ips: Vec<Vec<String>>) -> Self {
        self.orderer_ips = orderer_ips;
        self.peer_ips = peer_ips;
        self
    }

    /// The address orderer `i` listens on.
    pub fn orderer_ip(&self, i: usize) -> &str {
        self.orderer_ips.get(i).map_or("127.0.0.1", String::as_str)
    }

    /// The address peer `p` of org `org` (0-based) listens on.
    pub fn peer_ip(&self, org: usize, p: usize) -> &str {
        self.peer_ips
            .get(org)
            .and_then(|o| o.get(p))
            .map_or("127.0.0.1", String::as_str)
    }
}

fn crypto_config(t: &Topology, ports: &PortPlan) -> CryptoConfig {
    let orderers: Vec<String> = (0..t.orderers).map(|i| t.orderer_host(i)).collect();
    let mut cc = CryptoConfig::local(&orderers, t.orgs, t.peers_per_org as u32, 1);
    let names = |host: &String| {
        let mut all = vec![host.clone()];
        if host.parse::<std::net::IpAddr>().is_err() {
            all.extend(ports.san_suffixes.iter().map(|s| format!("{host}{s}")));
        }
        all
    };
    for (spec, ip) in cc.orderer_orgs[0].specs.iter_mut().zip(&ports.orderer_ips) {
        spec.sans.extend(names(ip));
    }
    // Peers on hosts of their own: each named as one node, so that its
    // certificates carry its own addresses and not its org-mates'.
    for (org, ips) in cc.peer_orgs.iter_mut().zip(&ports.peer_ips) {
        if let Some(template) = org.template.take() {
            org.specs = (template.start..template.start + template.count)
                .map(|p| {
                    let mut sans = template.sans.clone();
                    if let Some(ip) = ips.get((p - template.start) as usize) {
                        sans.extend(names(ip));
                    }
                    weft_configtx::cryptogen::NodeSpec {
                        hostname: format!("peer{p}"),
                        sans,
                        ..Default::default()
                    }
                })
                .collect();
        }
    }
    cc
}

fn configtx(t: &Topology, ports: &PortPlan) -> String {
    let mut net = weft_configtx::local::LocalNetwork::new(
        "Network",
        (0..t.orderers)
            .map(|i| (t.orderer_host(i), ports.orderers[i].0))
            .collect(),
        ports.peers.iter().map(|org| Some(org[0].0)).collect(),
    );
    net.consenter_ips = ports.orderer_ips.clone();
    net.anchor_ips = (0..ports.peers.len())
        .map(|n| ports.peer_ip(n, 0).to_string())
        .collect();
    net.batch_timeout = t.batch_timeout.clone();
    net.max_message_count = t.max_message_count;
    net.yaml()
}

fn write(path: &Path, text: &str) -> Result<(), NetworkError> {
    std::fs::write(path, text).map_err(|e| NetworkError::io(path, e))
}

/// Generates crypto (with `cryptogen`) and the genesis block under `dir`
/// for `t` listening on `ports`, and describes the result. Nothing is started.
pub fn generate(t: &Topology, dir: &Path, ports: &PortPlan) -> Result<NetworkInfo, NetworkError> {
    t.validate()?;
    let dir = prepare(dir)?;
    weft_configtx::cryptogen::generate(
        &crypto_config(t, ports),
        &dir.join("crypto"),
        t.key_type.key_type(),
    )?;
    describe(t, &dir, ports, Vec::new())
}

/// Grows the network whose material is under `dir` (from [`generate`]) to
/// `t`: new peers of existing orgs get identities from their org's existing
/// CAs, and nothing that exists changes — the genesis block included, so
/// the channel is the same. What would change the channel (organisations,
/// orderers, its name) is refused: that is a channel config update.
pub fn extend(t: &Topology, dir: &Path, ports: &PortPlan) -> Result<NetworkInfo, NetworkError> {
    t.validate()?;
    let dir = prepare(dir)?;
    let before = NetworkInfo::load(&dir)?;
    let grown = |what: &str, was: usize, now: usize| {
        Err(NetworkError::Topology(format!(
            "{what} was {was} and is {now}: extending keeps the channel and may only add peers \
             to existing orgs (organisations and orderers change by channel config update)"
        )))
    };
    if before.channel != t.channel {
        return Err(NetworkError::Topology(format!(
            "the channel was {} and is {}: extending keeps the channel",
            before.channel, t.channel
        )));
    }
    if before.orderers.len() != t.orderers {
        return grown("orderers", before.orderers.len(), t.orderers);
    }
    if before.orgs.len() != t.orgs {
        return grown("orgs", before.orgs.len(), t.orgs);
    }
    let had = before.orgs.first().map_or(0, |o| o.peers.len());
    if t.peers_per_org < had {
        return grown("peersPerOrg", had, t.peers_per_org);
    }
    weft_configtx::cryptogen::extend(
        &crypto_config(t, ports),
        &dir.join("crypto"),
        t.key_type.key_type(),
    )?;
    describe_material(t, &dir, ports, before.cas)
}

/// Creates the network directory `dir` (with `logs/`); returns its absolute path.
pub fn prepare(dir: &Path) -> Result<std::path::PathBuf, NetworkError> {
    std::fs::create_dir_all(dir.join("logs")).map_err(|e| NetworkError::io(dir, e))?;
    dir.canonicalize().map_err(|e| NetworkError::io(dir, e))
}

/// With the crypto in place under `dir/crypto` (from `cryptogen` or from
/// `cas`), writes the genesis block and `network.json`.
pub fn describe(
    t: &Topology,
    dir: &Path,
    ports: &PortPlan,
    cas: Vec<crate::info::CaInfo>,
) -> Result<NetworkInfo, NetworkError> {
    let dir = dir.to_path_buf();
    write(&dir.join("configtx.yaml"), &configtx(t, ports))?;
    let file = ConfigtxFile::load(&dir.join("configtx.yaml"))?;
    let channel = ChannelId::parse(&t.channel)
        .map_err(|e| NetworkError::Topology(format!("channel: {e}")))?;
    let block = weft_configtx::genesis::genesis_block(&file, "Network", &channel)?;
    let genesis = dir.join(format!("{}.block", t.channel));
    std::fs::write(&genesis, block.encode_to_vec()).map_err(|e| NetworkError::io(&genesis, e))?;
    describe_material(t, &dir, ports, cas)
}

/// With the crypto and the genesis block in place under `dir`, writes
/// `network.json` and the connection profiles.
fn describe_material(
    t: &Topology,
    dir: &Path,
    ports: &PortPlan,
    cas: Vec<crate::info::CaInfo>,
) -> Result<NetworkInfo, NetworkError> {
    let dir = dir.to_path_buf();
    let genesis = dir.join(format!("{}.block", t.channel));

    let ord = dir.join("crypto/ordererOrganizations/example.com");
    let user = |base: &Path, name: &str, domain: &str| {
        let u = base.join(format!("users/{name}@{domain}"));
        UserFiles {
            msp: u.join("msp"),
            tls_cert: u.join("tls/client.crt"),
            tls_key: u.join("tls/client.key"),
        }
    };
    let orderers = (0..t.orderers)
        .map(|i| {
            let name = format!("{}.example.com", t.orderer_host(i));
            let (general, admin, ops) = ports.orderers[i];
            let ip = ports.orderer_ip(i);
            NodeInfo {
                address: format!("{ip}:{general}"),
                admin_address: Some(format!("{ip}:{admin}")),
                operations_address: format!("{ip}:{ops}"),
                crypto: ord.join(format!("orderers/{name}")),
                data: dir.join(format!("data/{name}")),
                log: dir.join(format!("logs/{name}.log")),
                name,
            }
        })
        .collect();
    let orgs = (1..=t.orgs)
        .map(|n| {
            let domain = format!("org{n}.example.com");
            let base = dir.join(format!("crypto/peerOrganizations/{domain}"));
            OrgInfo {
                name: format!("Org{n}"),
                msp_id: format!("Org{n}MSP"),
                tls_ca: base.join(format!("tlsca/tlsca.{domain}-cert.pem")),
                admin: user(&base, "Admin", &domain),
                user: user(&base, "User1", &domain),
                peers: (0..t.peers_per_org)
                    .map(|p| {
                        let name = format!("peer{p}.{domain}");
                        let (port, ops) = ports.peers[n - 1][p];
                        let ip = ports.peer_ip(n - 1, p);
                        NodeInfo {
                            address: format!("{ip}:{port}"),
                            admin_address: None,
                            operations_address: format!("{ip}:{ops}"),
                            crypto: base.join(format!("peers/{name}")),
                            data: dir.join(format!("data/{name}")),
                            log: dir.join(format!("logs/{name}.log")),
                            name,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let info = NetworkInfo {
        channel: t.channel.clone(),
        genesis,
        orderer_tls_ca: ord.join("tlsca/tlsca.example.com-cert.pem"),
        orderer_admin: user(&ord, "Admin", "example.com"),
        orderers,
        orgs,
        dir,
        cas,
        client_auth_required: t.client_auth_required,
    };
    info.save()?;
    crate::connection_profile::write_all(&info)?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_crypto_genesis_and_a_description_for_any_shape() {
        let dir = tempfile::tempdir().unwrap();
        let t = Topology {
            orderers: 1,
            orgs: 3,
            peers_per_org: 2,
            ..Default::default()
        };
        let info = generate(&t, dir.path(), &PortPlan::fabric(&t)).unwrap();
        assert_eq!(info.orderers.len(), 1);
        assert_eq!(info.orderers[0].address, "127.0.0.1:7050");
        assert_eq!(info.orgs.len(), 3);
        assert_eq!(info.orgs[2].peers[1].address, "127.0.0.1:11151");
        for o in &info.orgs {
            assert!(o.user.msp.join("signcerts").is_dir(), "{:?}", o.user.msp);
            assert!(o.tls_ca.is_file());
            for p in &o.peers {
                assert!(p.crypto.join("tls/server.crt").is_file());
            }
        }
        let block = std::fs::read(&info.genesis).unwrap();
        let block = weft_protos::common::Block::decode(block.as_slice()).unwrap();
        assert_eq!(block.header.unwrap().number, 0);
        assert_eq!(NetworkInfo::load(dir.path()).unwrap(), info);

        // Fabric's connection profiles, where the test network puts them.
        let org3 = dir
            .path()
            .join("crypto/peerOrganizations/org3.example.com/connection-org3.json");
        let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&org3).unwrap()).unwrap();
        assert_eq!(p["organizations"]["Org3"]["mspid"], "Org3MSP");
        let peer = &p["peers"]["peer1.org3.example.com"];
        assert_eq!(peer["url"], "grpcs://127.0.0.1:11151");
        assert!(
            peer["tlsCACerts"]["pem"]
                .as_str()
                .unwrap()
                .contains("BEGIN CERTIFICATE")
        );
        assert!(org3.with_extension("yaml").is_file());
    }
}
