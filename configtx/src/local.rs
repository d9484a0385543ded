//! A `configtx.yaml` for a network on one machine: one Raft orderer org
//! (`OrdererMSP`) and peer orgs `Org1MSP`, `Org2MSP`, … with Fabric's
//! test-network policies, over the crypto `cryptogen` wrote into `crypto/`.
//! `weft-network` and the node crates' test suites describe their networks with it.

use std::fmt::Write as _;

/// The network to describe.
#[derive(Debug, Clone)]
pub struct LocalNetwork {
    /// The profile's name in the file.
    pub profile: String,
    /// Per consenter: its host name (crypto in `orderers/<host>.example.com`)
    /// and its port on 127.0.0.1.
    pub consenters: Vec<(String, u16)>,
    /// Also list the consenters as the orderer org's endpoints.
    pub orderer_endpoints: bool,
    /// Per peer org (Org1, Org2, …): its anchor peer's port on 127.0.0.1, if any.
    pub orgs: Vec<Option<u16>>,
    /// `BatchTimeout` (Fabric duration syntax).
    pub batch_timeout: String,
    /// `BatchSize.MaxMessageCount`.
    pub max_message_count: u32,
    /// `BatchSize.AbsoluteMaxBytes` (e.g. `10 MB`).
    pub absolute_max_bytes: String,
    /// `BatchSize.PreferredMaxBytes`.
    pub preferred_max_bytes: String,
    /// `EtcdRaft.Options.SnapshotIntervalSize`.
    pub snapshot_interval_size: String,
}

impl LocalNetwork {
    /// `consenters` on 127.0.0.1 and `orgs` peer orgs with Fabric's batch
    /// defaults (10 MB / 2 MB, snapshots every 16 MB).
    pub fn new(profile: &str, consenters: Vec<(String, u16)>, orgs: Vec<Option<u16>>) -> Self {
        Self {
            profile: profile.into(),
            consenters,
            orderer_endpoints: true,
            orgs,
            batch_timeout: "2s".into(),
            max_message_count: 500,
            absolute_max_bytes: "10 MB".into(),
            preferred_max_bytes: "2 MB".into(),
            snapshot_interval_size: "16 MB".into(),
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

    /// The file's text.
    pub fn yaml(&self) -> String {
        let mut out = String::from(
            r#"# A local network: one Raft orderer org and peer orgs, crypto under crypto/.
Organizations:
  - &OrdererOrg
    Name: OrdererOrg
    ID: OrdererMSP
    MSPDir: crypto/ordererOrganizations/example.com/msp
    Policies:
      Readers: { Type: Signature, Rule: "OR('OrdererMSP.member')" }
      Writers: { Type: Signature, Rule: "OR('OrdererMSP.member')" }
      Admins: { Type: Signature, Rule: "OR('OrdererMSP.admin')" }
"#,
        );
        if self.orderer_endpoints {
            out.push_str("    OrdererEndpoints:\n");
            for (_, port) in &self.consenters {
                let _ = writeln!(out, "      - 127.0.0.1:{port}");
            }
        }
        for (i, anchor) in self.orgs.iter().enumerate() {
            let n = i + 1;
            let _ = write!(
                out,
                r#"  - &Org{n}
    Name: Org{n}MSP
    ID: Org{n}MSP
    MSPDir: crypto/peerOrganizations/org{n}.example.com/msp
    Policies:
      Readers: {{ Type: Signature, Rule: "OR('Org{n}MSP.admin', 'Org{n}MSP.peer', 'Org{n}MSP.client')" }}
      Writers: {{ Type: Signature, Rule: "OR('Org{n}MSP.admin', 'Org{n}MSP.client')" }}
      Admins: {{ Type: Signature, Rule: "OR('Org{n}MSP.admin')" }}
      Endorsement: {{ Type: Signature, Rule: "OR('Org{n}MSP.peer')" }}
"#
            );
            if let Some(port) = anchor {
                let _ = writeln!(
                    out,
                    "    AnchorPeers: [{{ Host: 127.0.0.1, Port: {port} }}]"
                );
            }
        }
        let consenters: String = self
            .consenters
            .iter()
            .map(|(host, port)| {
                let tls = format!(
                    "crypto/ordererOrganizations/example.com/orderers/{host}.example.com/tls/server.crt"
                );
                format!(
                    "          - {{ Host: 127.0.0.1, Port: {port}, ClientTLSCert: {tls}, ServerTLSCert: {tls} }}\n"
                )
            })
            .collect();
        let members: Vec<String> = (1..=self.orgs.len()).map(|n| format!("*Org{n}")).collect();
        let _ = write!(
            out,
            r#"Profiles:
  {profile}:
    Policies:
      Readers: {{ Type: ImplicitMeta, Rule: "ANY Readers" }}
      Writers: {{ Type: ImplicitMeta, Rule: "ANY Writers" }}
      Admins: {{ Type: ImplicitMeta, Rule: "MAJORITY Admins" }}
    Capabilities: {{ V3_0: true }}
    Orderer:
      OrdererType: etcdraft
      EtcdRaft:
        Consenters:
{consenters}        Options: {{ TickInterval: 100ms, ElectionTick: 10, HeartbeatTick: 1, MaxInflightBlocks: 5, SnapshotIntervalSize: {snapshot} }}
      BatchTimeout: {timeout}
      BatchSize: {{ MaxMessageCount: {count}, AbsoluteMaxBytes: {absolute}, PreferredMaxBytes: {preferred} }}
      Organizations: [*OrdererOrg]
      Policies:
        Readers: {{ Type: ImplicitMeta, Rule: "ANY Readers" }}
        Writers: {{ Type: ImplicitMeta, Rule: "ANY Writers" }}
        Admins: {{ Type: ImplicitMeta, Rule: "MAJORITY Admins" }}
        BlockValidation: {{ Type: ImplicitMeta, Rule: "ANY Writers" }}
      Capabilities: {{ V2_0: true }}
    Application:
      Organizations: [{members}]
      Policies:
        Readers: {{ Type: ImplicitMeta, Rule: "ANY Readers" }}
        Writers: {{ Type: ImplicitMeta, Rule: "ANY Writers" }}
        Admins: {{ Type: ImplicitMeta, Rule: "MAJORITY Admins" }}
        LifecycleEndorsement: {{ Type: ImplicitMeta, Rule: "MAJORITY Endorsement" }}
        Endorsement: {{ Type: ImplicitMeta, Rule: "MAJORITY Endorsement" }}
      Capabilities: {{ V2_5: true }}
"#,
            profile = self.profile,
            snapshot = self.snapshot_interval_size,
            timeout = self.batch_timeout,
            count = self.max_message_count,
            absolute = self.absolute_max_bytes,
            preferred = self.preferred_max_bytes,
            members = members.join(", "),
        );
        out
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
        file.profile("Net").expect("a complete profile");
        assert!(text.contains("AnchorPeers: [{ Host: 127.0.0.1, Port: 7051 }]"));
        assert_eq!(text.matches("AnchorPeers").count(), 1);
        assert!(text.contains("- 127.0.0.1:8050"));
        assert!(text.contains("orderers/orderer2.example.com/tls/server.crt"));
    }
}
