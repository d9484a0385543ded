//! `crypto generate`: organisations' crypto material in Fabric's layout, like
//! Fabric's `cryptogen`, so the output works with Fabric's tools as well as weft's.
//!
//! ```yaml
//! OrdererOrgs:
//!   - Name: Orderer
//!     Domain: example.com
//!     EnableNodeOUs: true
//!     Specs: [{ Hostname: orderer, SANS: [localhost, 127.0.0.1] }]
//! PeerOrgs:
//!   - Name: Org1
//!     Domain: org1.example.com
//!     EnableNodeOUs: true
//!     Template: { Count: 1, SANS: [localhost, 127.0.0.1] }
//!     Users: { Count: 1 }
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};

use crate::ConfigtxError;

/// The `crypto-config.yaml` file.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CryptoConfig {
    /// Orderer organisations.
    #[serde(default)]
    pub orderer_orgs: Vec<OrgSpec>,
    /// Peer organisations.
    #[serde(default)]
    pub peer_orgs: Vec<OrgSpec>,
}

/// One organisation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OrgSpec {
    /// Display name.
    pub name: String,
    /// Domain; node names are `<hostname>.<domain>`.
    pub domain: String,
    /// Whether identities carry NodeOUs (client/peer/admin/orderer).
    #[serde(default, rename = "EnableNodeOUs")]
    pub enable_node_ous: bool,
    /// CA subject overrides.
    #[serde(default, rename = "CA")]
    pub ca: Option<NodeSpec>,
    /// Explicit nodes.
    #[serde(default)]
    pub specs: Vec<NodeSpec>,
    /// Generated nodes: `peer0`, `peer1`, ...
    #[serde(default)]
    pub template: Option<Template>,
    /// Extra users besides Admin: `User1`, `User2`, ...
    #[serde(default)]
    pub users: Option<Users>,
}

/// One node.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct NodeSpec {
    /// Host name (without the domain).
    #[serde(default)]
    pub hostname: String,
    /// Full common name (defaults to `<hostname>.<domain>`).
    #[serde(default)]
    pub common_name: Option<String>,
    /// Extra subject alternative names.
    #[serde(default, rename = "SANS")]
    pub sans: Vec<String>,
    /// Country, for CAs.
    #[serde(default)]
    pub country: Option<String>,
    /// Province, for CAs.
    #[serde(default)]
    pub province: Option<String>,
    /// Locality, for CAs.
    #[serde(default)]
    pub locality: Option<String>,
}

/// Template for generated nodes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Template {
    /// How many.
    pub count: u32,
    /// Starting index.
    #[serde(default)]
    pub start: u32,
    /// Extra SANs for each.
    #[serde(default, rename = "SANS")]
    pub sans: Vec<String>,
}

/// Users besides Admin.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Users {
    /// How many `UserN` identities.
    pub count: u32,
}

impl CryptoConfig {
    /// A local network's crypto, as Fabric's test network lays it out: one
    /// orderer org (`example.com`) with a node per name in `orderer_hosts`,
    /// and peer orgs `Org1`, `Org2`, … (`orgN.example.com`), each with
    /// `peers` peers and `users` users besides Admin. NodeOUs are on, and
    /// every node's certificates name 127.0.0.1 and localhost.
    pub fn local(orderer_hosts: &[String], orgs: usize, peers: u32, users: u32) -> Self {
        let local_sans = || vec!["127.0.0.1".to_string(), "localhost".to_string()];
        Self {
            orderer_orgs: vec![OrgSpec {
                name: "Orderer".into(),
                domain: "example.com".into(),
                enable_node_ous: true,
                ca: None,
                specs: orderer_hosts
                    .iter()
                    .map(|h| NodeSpec {
                        hostname: h.clone(),
                        sans: local_sans(),
                        ..Default::default()
                    })
                    .collect(),
                template: None,
                users: None,
            }],
            peer_orgs: (1..=orgs)
                .map(|n| OrgSpec {
                    name: format!("Org{n}"),
                    domain: format!("org{n}.example.com"),
                    enable_node_ous: true,
                    ca: None,
                    specs: Vec::new(),
                    template: Some(Template {
                        count: peers,
                        start: 0,
                        sans: local_sans(),
                    }),
                    users: Some(Users { count: users }),
                })
                .collect(),
        }
    }
}

/// Parses a crypto-config file.
pub fn load_config(path: &Path) -> Result<CryptoConfig, ConfigtxError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigtxError::io(path, e))?;
    serde_yaml_ng::from_str(&text).map_err(|e| ConfigtxError::Config {
        file: path.display().to_string(),
        field: e
            .location()
            .map(|l| format!("line {}", l.line()))
            .unwrap_or_else(|| "(document)".into()),
        reason: e.to_string(),
    })
}

/// An MSP folder's `config.yaml` enabling NodeOUs (client, peer, admin,
/// orderer) under the root CA certificate `cacerts/<ca_file>`.
pub fn node_ou_config(ca_file: &str) -> String {
    NODE_OU_CONFIG.replace("{ca}", ca_file)
}

const NODE_OU_CONFIG: &str = "NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/{ca}
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/{ca}
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/{ca}
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/{ca}
    OrganizationalUnitIdentifier: orderer
";

struct OrgCas {
    domain: String,
    ca: CertAuthority,
    tlsca: CertAuthority,
    node_ous: bool,
}

impl OrgCas {
    fn ca_file(&self) -> String {
        format!("ca.{}-cert.pem", self.domain)
    }
    fn tlsca_file(&self) -> String {
        format!("tlsca.{}-cert.pem", self.domain)
    }
}

fn write(path: &Path, contents: &[u8]) -> Result<(), ConfigtxError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ConfigtxError::io(parent, e))?;
    }
    std::fs::write(path, contents).map_err(|e| ConfigtxError::io(path, e))
}

/// Writes a private key: mode 0600 in a 0700 folder.
fn write_key(path: &Path, key_pem: &str) -> Result<(), ConfigtxError> {
    weft_common::crypto::write_private_key(path, key_pem.as_bytes())
        .map_err(|e| ConfigtxError::io(path, e))
}

/// Writes the verifying part of an MSP folder (cacerts, tlscacerts, config.yaml, admincerts).
fn write_verifying_msp(dir: &Path, cas: &OrgCas) -> Result<(), ConfigtxError> {
    write(
        &dir.join("cacerts").join(cas.ca_file()),
        cas.ca.cert_pem().as_bytes(),
    )?;
    write(
        &dir.join("tlscacerts").join(cas.tlsca_file()),
        cas.tlsca.cert_pem().as_bytes(),
    )?;
    std::fs::create_dir_all(dir.join("admincerts")).map_err(|e| ConfigtxError::io(dir, e))?;
    if cas.node_ous {
        write(
            &dir.join("config.yaml"),
            node_ou_config(&cas.ca_file()).as_bytes(),
        )?;
    }
    Ok(())
}

/// Writes one identity: `msp/` with signcerts + keystore, and `tls/` with its TLS pair.
fn write_identity(
    dir: &Path,
    cn: &str,
    ou: &str,
    sans: &[String],
    tls_role: &str,
    cas: &OrgCas,
    key_type: KeyType,
) -> Result<(), ConfigtxError> {
    let validity = Validity::days_from_now(3650);
    let mut subject = Subject::fabric_style(&cas.domain, cn);
    subject.organization = None;
    if cas.node_ous {
        subject = subject.with_ou(ou);
    }
    let signing = cas
        .ca
        .issue(&subject, &[], Usage::Signing, key_type, validity)?;
    let msp = dir.join("msp");
    write_verifying_msp(&msp, cas)?;
    write(
        &msp.join("signcerts").join(format!("{cn}-cert.pem")),
        signing.cert_pem.as_bytes(),
    )?;
    write_key(&msp.join("keystore").join("priv_sk"), &signing.key_pem)?;

    let mut tls_sans = vec![cn.to_string()];
    if let Some((host, _)) = cn.split_once('.')
        && !cn.contains('@')
    {
        tls_sans.push(host.to_string());
    }
    tls_sans.extend(sans.iter().cloned());
    tls_sans.dedup();
    let tls_sans: Vec<String> = tls_sans.into_iter().filter(|s| !s.contains('@')).collect();
    // As Fabric's cryptogen: TLS certificates carry no OU (TLS-authenticated
    // APIs trust a CA, not a role).
    let tls_subject = Subject::fabric_style(&cas.domain, cn);
    let tls = cas
        .tlsca
        .issue(&tls_subject, &tls_sans, Usage::Tls, key_type, validity)?;
    let tls_dir = dir.join("tls");
    write(&tls_dir.join("ca.crt"), cas.tlsca.cert_pem().as_bytes())?;
    write(
        &tls_dir.join(format!("{tls_role}.crt")),
        tls.cert_pem.as_bytes(),
    )?;
    write_key(&tls_dir.join(format!("{tls_role}.key")), &tls.key_pem)?;
    Ok(())
}

fn ca_subject(org: &OrgSpec, cn: String) -> Subject {
    let mut s = Subject::fabric_style(&org.domain, &cn);
    if let Some(ca) = &org.ca {
        if ca.country.is_some() {
            s.country = ca.country.clone();
        }
        if ca.province.is_some() {
            s.province = ca.province.clone();
        }
        if ca.locality.is_some() {
            s.locality = ca.locality.clone();
        }
    }
    s
}

/// The org folder of `org` under `root`.
fn org_base(org: &OrgSpec, root: &Path, orderer: bool) -> PathBuf {
    root.join(if orderer {
        "ordererOrganizations"
    } else {
        "peerOrganizations"
    })
    .join(&org.domain)
}

/// New CAs for `org`, written under `base`.
fn new_cas(org: &OrgSpec, base: &Path, key_type: KeyType) -> Result<OrgCas, ConfigtxError> {
    let validity = Validity::days_from_now(3650);
    let ca = CertAuthority::new_root(
        &ca_subject(org, format!("ca.{}", org.domain)),
        key_type,
        validity,
    )?;
    let tlsca = CertAuthority::new_root(
        &ca_subject(org, format!("tlsca.{}", org.domain)),
        key_type,
        validity,
    )?;
    let cas = OrgCas {
        domain: org.domain.clone(),
        ca,
        tlsca,
        node_ous: org.enable_node_ous,
    };
    write(
        &base.join("ca").join(cas.ca_file()),
        cas.ca.cert_pem().as_bytes(),
    )?;
    write_key(&base.join("ca").join("priv_sk"), cas.ca.key_pem())?;
    write(
        &base.join("tlsca").join(cas.tlsca_file()),
        cas.tlsca.cert_pem().as_bytes(),
    )?;
    write_key(&base.join("tlsca").join("priv_sk"), cas.tlsca.key_pem())?;
    write_verifying_msp(&base.join("msp"), &cas)?;
    Ok(cas)
}

/// The CAs an earlier run wrote under `base`.
fn existing_cas(org: &OrgSpec, base: &Path) -> Result<OrgCas, ConfigtxError> {
    let read = |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| ConfigtxError::io(&p, e));
    let load = |dir: &str, file: String| -> Result<CertAuthority, ConfigtxError> {
        let cert = read(base.join(dir).join(file))?;
        let key = read(base.join(dir).join("priv_sk"))?;
        Ok(CertAuthority::from_pem(&cert, &key)?)
    };
    Ok(OrgCas {
        domain: org.domain.clone(),
        ca: load("ca", format!("ca.{}-cert.pem", org.domain))?,
        tlsca: load("tlsca", format!("tlsca.{}-cert.pem", org.domain))?,
        node_ous: org.enable_node_ous,
    })
}

/// Writes `org`'s CAs and identities under `root`. With `extend`, an org
/// whose CAs exist keeps them, and only identities that do not exist yet
/// are issued (Fabric's `cryptogen extend`).
fn generate_org(
    org: &OrgSpec,
    root: &Path,
    orderer: bool,
    key_type: KeyType,
    extend: bool,
) -> Result<PathBuf, ConfigtxError> {
    if org.domain.is_empty() {
        return Err(ConfigtxError::Usage(format!(
            "organisation {:?} has no Domain; every org needs one",
            org.name
        )));
    }
    let base = org_base(org, root, orderer);
    let existing = extend && base.join("ca").join("priv_sk").exists();
    let cas = if existing {
        existing_cas(org, &base)?
    } else {
        new_cas(org, &base, key_type)?
    };
    let fresh = |dir: &Path| !existing || !dir.exists();

    let mut nodes: Vec<NodeSpec> = org.specs.clone();
    if let Some(t) = &org.template {
        for i in t.start..t.start + t.count {
            nodes.push(NodeSpec {
                hostname: format!("peer{i}"),
                sans: t.sans.clone(),
                ..Default::default()
            });
        }
    }
    let (node_dir, node_ou) = if orderer {
        ("orderers", "orderer")
    } else {
        ("peers", "peer")
    };
    for n in &nodes {
        let cn = n
            .common_name
            .clone()
            .unwrap_or_else(|| format!("{}.{}", n.hostname, org.domain));
        if !fresh(&base.join(node_dir).join(&cn)) {
            continue;
        }
        write_identity(
            &base.join(node_dir).join(&cn),
            &cn,
            node_ou,
            &n.sans,
            "server",
            &cas,
            key_type,
        )?;
    }
    let mut users = vec![("Admin".to_string(), "admin")];
    if let Some(u) = &org.users {
        users.extend((1..=u.count).map(|i| (format!("User{i}"), "client")));
    }
    for (name, ou) in users {
        let cn = format!("{name}@{}", org.domain);
        if !fresh(&base.join("users").join(&cn)) {
            continue;
        }
        write_identity(
            &base.join("users").join(&cn),
            &cn,
            ou,
            &[],
            "client",
            &cas,
            key_type,
        )?;
    }
    // Without NodeOUs, admins are recognised by admincerts, as in Fabric.
    if !org.enable_node_ous {
        let admin_cert = base
            .join("users")
            .join(format!("Admin@{}", org.domain))
            .join("msp/signcerts")
            .join(format!("Admin@{}-cert.pem", org.domain));
        let pem = std::fs::read(&admin_cert).map_err(|e| ConfigtxError::io(&admin_cert, e))?;
        write(
            &base
                .join("msp/admincerts")
                .join(format!("Admin@{}-cert.pem", org.domain)),
            &pem,
        )?;
    }
    Ok(base)
}

/// Generates every organisation of `config` under `output`; returns the org folders.
pub fn generate(
    config: &CryptoConfig,
    output: &Path,
    key_type: KeyType,
) -> Result<Vec<PathBuf>, ConfigtxError> {
    every_org(config, output, key_type, false)
}

/// Adds to the material under `output` what `config` has and it lacks —
/// new organisations, and new nodes and users of existing ones, issued by
/// their existing CAs — and changes nothing that exists (Fabric's
/// `cryptogen extend`). New organisations get keys of `key_type`.
pub fn extend(
    config: &CryptoConfig,
    output: &Path,
    key_type: KeyType,
) -> Result<Vec<PathBuf>, ConfigtxError> {
    every_org(config, output, key_type, true)
}

fn every_org(
    config: &CryptoConfig,
    output: &Path,
    key_type: KeyType,
    extend: bool,
) -> Result<Vec<PathBuf>, ConfigtxError> {
    let orderers = config.orderer_orgs.iter().map(|o| (o, true));
    let peers = config.peer_orgs.iter().map(|o| (o, false));
    orderers
        .chain(peers)
        .map(|(org, orderer)| generate_org(org, output, orderer, key_type, extend))
        .collect()
}
