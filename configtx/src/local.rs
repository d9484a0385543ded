//! A `configtx.yaml` for a network on one machine: one Raft orderer org
//! (`OrdererMSP`) and peer orgs `Org1MSP`, `Org2MSP`, … with Fabric's
//! test-network policies, over the crypto `cryptogen` wrote into `crypto/`.
//! `weft-network` and the node crates' test suites describe their networks with it.
//!
//! The profile is built as [`crate::profile`] structs; [`LocalNetwork::yaml`]
//! serialises them for a user to read and edit, and [`LocalNetwork::file`]
//! hands them to the genesis builder without a round trip through text.

use std::collections::BTreeMap;
use std::path::Path;

use crate::profile::{
    AnchorPeer, Application, BatchSize, ByteSize, ConfigtxFile, ConfigtxYaml, Consenter, EtcdRaft,
    Orderer, Organization, PolicySpec, Profile, RaftOptions,
};

/// The network to describe.
#[derive(Debug, Clone)]
pub struct LocalNetwork {
    /// The profile's name in the file.
    pub profile: String,
    /// Per consenter: its host name (crypto in `orderers/<host>.example.com`)
    /// and its port on 127.0.0.1.
    pub consenters: Vec<(String, u16)>,
    /// Per consenter, the address it listens on, when not 127.0.0.1 (each on
    /// its own host, in the multi-host tests); empty: 127.0.0.1 for all.
    pub consenter_ips: Vec<String>,
    /// Also list the consenters as the orderer org's endpoints.
    pub orderer_endpoints: bool,
    /// Per peer org (Org1, Org2, …): its anchor peer's port, if any.
    pub orgs: Vec<Option<u16>>,
    /// Per peer org, its anchor peer's address, when not 127.0.0.1; empty:
    /// 127.0.0.1 for all.
    pub anchor_ips: Vec<String>,
    /// `BatchTimeout` (Fabric duration syntax).
    pub batch_timeout: String,
    /// `BatchSize.MaxMessageCount`.
    pub max_message_count: u32,
    /// `BatchSize.AbsoluteMaxBytes`.
    pub absolute_max_bytes: ByteSize,
    /// `BatchSize.PreferredMaxBytes`.
    pub preferred_max_bytes: ByteSize,
    /// `EtcdRaft.Options.SnapshotIntervalSize`.
    pub snapshot_interval_size: ByteSize,
}

const MB: u32 = 1024 * 1024;

/// The orderer org's crypto folder, relative to the file.
const ORDERER_ORG: &str = "crypto/ordererOrganizations/example.com";

fn policy(kind: &str, rule: &str) -> PolicySpec {
    PolicySpec {
        kind: kind.into(),
        rule: rule.into(),
    }
}

fn policies(entries: &[(&str, &str, &str)]) -> BTreeMap<String, PolicySpec> {
    entries
        .iter()
        .map(|(name, kind, rule)| ((*name).into(), policy(kind, rule)))
        .collect()
}

/// Readers `ANY`, Writers `ANY`, Admins `MAJORITY`: Fabric's channel-level default.
fn implicit_meta(extra: &[(&str, &str)]) -> BTreeMap<String, PolicySpec> {
    let mut p = policies(&[
        ("Readers", "ImplicitMeta", "ANY Readers"),
        ("Writers", "ImplicitMeta", "ANY Writers"),
        ("Admins", "ImplicitMeta", "MAJORITY Admins"),
    ]);
    for (name, rule) in extra {
        p.insert((*name).into(), policy("ImplicitMeta", rule));
    }
    p
}

fn capabilities(name: &str) -> BTreeMap<String, bool> {
    BTreeMap::from([(name.into(), true)])
}

impl LocalNetwork {
    /// `consenters` on 127.0.0.1 and `orgs` peer orgs with Fabric's batch
    /// defaults (10 MB / 2 MB, snapshots every 16 MB).
    pub fn new(profile: &str, consenters: Vec<(String, u16)>, orgs: Vec<Option<u16>>) -> Self {
        Self {
            profile: profile.into(),
            consenters,
            consenter_ips: Vec::new(),
            anchor_ips: Vec::new(),
            orderer_endpoints: true,
            orgs,
            batch_timeout: "2s".into(),
            max_message_count: 500,
            absolute_max_bytes: ByteSize(10 * MB),
            preferred_max_bytes: ByteSize(2 * MB),
            snapshot_interval_size: ByteSize(16 * MB),
        }
    }

    /// Consenters `orderer1`, `orderer2`, … on `ports`, as `cryptogen` names
    /// them for an orderer org with those host names.
    pub fn numbered_consenters(ports: &[u16]) -> Vec<(String, u16)> {
        ports
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("orderer{}", i + 1), *p))
            .collect()
    }

    /// Consenter `i`'s address.
    fn consenter_ip(&self, i: usize) -> String {
        self.consenter_ips
            .get(i)
            .cloned()
            .unwrap_or_else(|| "127.0.0.1".into())
    }

    fn orderer_org(&self) -> Organization {
        Organization {
            name: "OrdererOrg".into(),
            id: "OrdererMSP".into(),
            msp_dir: format!("{ORDERER_ORG}/msp").into(),
            policies: policies(&[
                ("Readers", "Signature", "OR('OrdererMSP.member')"),
                ("Writers", "Signature", "OR('OrdererMSP.member')"),
                ("Admins", "Signature", "OR('OrdererMSP.admin')"),
            ]),
            orderer_endpoints: if self.orderer_endpoints {
                self.consenters
                    .iter()
                    .enumerate()
                    .map(|(i, (_, port))| format!("{}:{port}", self.consenter_ip(i)))
                    .collect()
            } else {
                Vec::new()
            },
            anchor_peers: Vec::new(),
        }
    }

    /// Peer org `n` (1-based) with its anchor peer's port, if any.
    fn peer_org(&self, n: usize, anchor: Option<u16>) -> Organization {
        let msp = format!("Org{n}MSP");
        let rule = |roles: &[&str]| {
            let members: Vec<String> = roles.iter().map(|r| format!("'{msp}.{r}'")).collect();
            format!("OR({})", members.join(", "))
        };
        Organization {
            name: msp.clone(),
            id: msp.clone(),
            msp_dir: format!("crypto/peerOrganizations/org{n}.example.com/msp").into(),
            policies: policies(&[
                ("Readers", "Signature", &rule(&["admin", "peer", "client"])),
                ("Writers", "Signature", &rule(&["admin", "client"])),
                ("Admins", "Signature", &rule(&["admin"])),
                ("Endorsement", "Signature", &rule(&["peer"])),
            ]),
            orderer_endpoints: Vec::new(),
            anchor_peers: anchor
                .map(|port| AnchorPeer {
                    host: self
                        .anchor_ips
                        .get(n - 1)
                        .cloned()
                        .unwrap_or_else(|| "127.0.0.1".into()),
                    port,
                })
                .into_iter()
                .collect(),
        }
    }

    fn orderer(&self) -> Orderer {
        let consenters = self
            .consenters
            .iter()
            .enumerate()
            .map(|(i, (host, port))| {
                let tls = format!("{ORDERER_ORG}/orderers/{host}.example.com/tls/server.crt");
                Consenter {
                    host: self.consenter_ip(i),
                    port: *port,
                    client_tls_cert: tls.clone().into(),
                    server_tls_cert: tls.into(),
                }
            })
            .collect();
        Orderer {
            orderer_type: "etcdraft".into(),
            addresses: Vec::new(),
            etcd_raft: Some(EtcdRaft {
                consenters,
                options: RaftOptions {
                    tick_interval: "100ms".into(),
                    election_tick: 10,
                    heartbeat_tick: 1,
                    max_inflight_blocks: 5,
                    snapshot_interval_size: self.snapshot_interval_size,
                },
            }),
            batch_timeout: self.batch_timeout.clone(),
            batch_size: BatchSize {
                max_message_count: self.max_message_count,
                absolute_max_bytes: self.absolute_max_bytes,
                preferred_max_bytes: self.preferred_max_bytes,
            },
            organizations: Some(vec![self.orderer_org()]),
            policies: implicit_meta(&[("BlockValidation", "ANY Writers")]),
            capabilities: capabilities("V2_0"),
        }
    }

    /// The channel profile.
    pub fn channel_profile(&self) -> Profile {
        let members = self
            .orgs
            .iter()
            .enumerate()
            .map(|(i, anchor)| self.peer_org(i + 1, *anchor))
            .collect();
        Profile {
            consortium: None,
            policies: implicit_meta(&[]),
            capabilities: capabilities("V3_0"),
            application: Some(Application {
                organizations: Some(members),
                policies: implicit_meta(&[
                    ("LifecycleEndorsement", "MAJORITY Endorsement"),
                    ("Endorsement", "MAJORITY Endorsement"),
                ]),
                capabilities: capabilities("V2_5"),
                acls: BTreeMap::new(),
            }),
            orderer: Some(self.orderer()),
        }
    }

    /// The file's content: the one profile.
    pub fn configtx(&self) -> ConfigtxYaml {
        ConfigtxYaml {
            organizations: Vec::new(),
            consortiums: BTreeMap::new(),
            profiles: BTreeMap::from([(self.profile.clone(), self.channel_profile())]),
        }
    }

    /// The content as if read from `dir/configtx.yaml`: crypto paths resolve
    /// below `dir`. Nothing is written.
    pub fn file(&self, dir: &Path) -> ConfigtxFile {
        ConfigtxFile {
            path: dir.join("configtx.yaml"),
            content: self.configtx(),
        }
    }

    /// The file's text (Fabric's `configtx.yaml` layout, for people to read and edit).
    pub fn yaml(&self) -> String {
        let body = serde_yaml_ng::to_string(&self.configtx())
            .expect("a configtx profile of strings, numbers and maps serialises");
        format!(
            "# A local network: one Raft orderer org and peer orgs, crypto under crypto/.\n{body}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_parses_with_every_part() {
        let mut net = LocalNetwork::new(
            "Net",
            vec![("orderer1".into(), 7050), ("orderer2".into(), 8050)],
            vec![Some(7051), None],
        );
        net.batch_timeout = "250ms".into();
        let text = net.yaml();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("configtx.yaml"), &text).unwrap();
        let file = crate::profile::ConfigtxFile::load(&dir.path().join("configtx.yaml"))
            .expect("valid configtx.yaml");
        let profile = file.profile("Net").expect("a complete profile");
        let orgs = profile
            .application
            .as_ref()
            .unwrap()
            .organizations
            .as_ref()
            .unwrap();
        let anchors: Vec<(&str, u16)> = orgs[0]
            .anchor_peers
            .iter()
            .map(|a| (a.host.as_str(), a.port))
            .collect();
        assert_eq!(anchors, [("127.0.0.1", 7051)]);
        assert_eq!(text.matches("AnchorPeers").count(), 1);
        assert!(text.contains("- 127.0.0.1:8050"));
        assert!(text.contains("orderers/orderer2.example.com/tls/server.crt"));
    }

    #[test]
    fn the_written_file_and_the_structs_make_the_same_genesis_block() {
        let mut net = LocalNetwork::new(
            "Net",
            LocalNetwork::numbered_consenters(&[7050]),
            vec![Some(7051), Some(9051)],
        );
        net.absolute_max_bytes = ByteSize(1024 * 1024 + 1);
        net.preferred_max_bytes = ByteSize(512 * 1024);
        let dir = tempfile::tempdir().unwrap();
        let hosts = ["orderer1".to_string()];
        crate::cryptogen::generate(
            &crate::cryptogen::CryptoConfig::local(&hosts, 2, 1, 1),
            &dir.path().join("crypto"),
            weft_common::pki::KeyType::EcdsaP256,
        )
        .unwrap();
        std::fs::write(dir.path().join("configtx.yaml"), net.yaml()).unwrap();
        let loaded = ConfigtxFile::load(&dir.path().join("configtx.yaml")).unwrap();
        let from_text =
            crate::genesis::channel_group(&loaded, "Net", loaded.profile("Net").unwrap());
        let structs = net.file(dir.path());
        let from_structs =
            crate::genesis::channel_group(&structs, "Net", structs.profile("Net").unwrap());
        assert_eq!(from_text.unwrap(), from_structs.unwrap());
    }
}
