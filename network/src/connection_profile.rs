//! Fabric's common connection profiles for a network, written where Fabric's
//! test network writes them (`crypto/peerOrganizations/org1.example.com/
//! connection-org1.json` and `.yaml`), so applications and tools written for
//! the test network (Fabric's SDK samples, Hyperledger Caliper) find them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::NetworkError;
use crate::info::{NetworkInfo, OrgInfo};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    name: String,
    version: &'static str,
    client: Client,
    organizations: BTreeMap<String, Organization>,
    peers: BTreeMap<String, Node>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    certificate_authorities: BTreeMap<String, Ca>,
}

#[derive(Serialize)]
struct Client {
    organization: String,
    connection: Connection,
}

#[derive(Serialize)]
struct Connection {
    timeout: Timeout,
}

#[derive(Serialize)]
struct Timeout {
    peer: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Organization {
    mspid: String,
    peers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    certificate_authorities: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    url: String,
    #[serde(rename = "tlsCACerts")]
    tls_ca_certs: Pem,
    grpc_options: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Pem {
    pem: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Ca {
    url: String,
    ca_name: String,
    #[serde(rename = "tlsCACerts")]
    tls_ca_certs: Pems,
    http_options: BTreeMap<&'static str, bool>,
}

#[derive(Serialize)]
struct Pems {
    pem: Vec<String>,
}

fn read(path: &Path) -> Result<String, NetworkError> {
    std::fs::read_to_string(path).map_err(|e| NetworkError::io(path, e))
}

fn profile(info: &NetworkInfo, n: usize, org: &OrgInfo) -> Result<Profile, NetworkError> {
    let tls_ca = read(&org.tls_ca)?;
    let peers: BTreeMap<String, Node> = org
        .peers
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                Node {
                    url: format!("grpcs://{}", p.address),
                    tls_ca_certs: Pem {
                        pem: tls_ca.clone(),
                    },
                    grpc_options: [("ssl-target-name-override", p.name.clone())].into(),
                },
            )
        })
        .collect();
    // The org's CA, when the network has one (`up --ca`; the orderer org's is first).
    let mut cas = BTreeMap::new();
    if let Some(ca) = info.cas.get(n) {
        cas.insert(
            ca.name.clone(),
            Ca {
                url: ca.url(),
                ca_name: ca.name.clone(),
                tls_ca_certs: Pems {
                    pem: vec![read(&ca.tls_root())?],
                },
                http_options: [("verify", false)].into(),
            },
        );
    }
    Ok(Profile {
        name: format!("weft-network-org{n}"),
        version: "1.0.0",
        client: Client {
            organization: org.name.clone(),
            connection: Connection {
                timeout: Timeout {
                    peer: [("endorser", "300")].into(),
                },
            },
        },
        organizations: [(
            org.name.clone(),
            Organization {
                mspid: org.msp_id.clone(),
                peers: peers.keys().cloned().collect(),
                certificate_authorities: cas.keys().cloned().collect(),
            },
        )]
        .into(),
        peers,
        certificate_authorities: cas,
    })
}

/// Writes `connection-org<N>.json` and `.yaml` into each org's crypto folder.
pub fn write_all(info: &NetworkInfo) -> Result<(), NetworkError> {
    for (i, org) in info.orgs.iter().enumerate() {
        let n = i + 1;
        let p = profile(info, n, org)?;
        let dir = org
            .tls_ca
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| NetworkError::Topology("an org's TLS CA has no folder".into()))?;
        let json = serde_json::to_string_pretty(&p).expect("a profile serialises");
        let yaml = serde_yaml_ng::to_string(&p).expect("a profile serialises");
        for (ext, text) in [("json", json), ("yaml", yaml)] {
            let path = dir.join(format!("connection-org{n}.{ext}"));
            std::fs::write(&path, text).map_err(|e| NetworkError::io(&path, e))?;
        }
    }
    Ok(())
}
