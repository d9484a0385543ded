//! Fabric's `configtx.yaml`: organisations, capabilities, application and
//! orderer defaults, channel policies, consortiums and profiles. Anchors and
//! merge keys (`<<: *OrdererDefaults`) work as in Fabric. Relative paths are
//! relative to the file's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ConfigtxError;

/// A policy definition: `Type: Signature|ImplicitMeta`, `Rule: ...`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicySpec {
    /// `Signature` or `ImplicitMeta`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The rule text.
    pub rule: String,
}

/// An anchor peer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AnchorPeer {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// An organisation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Organization {
    /// Group name in the config tree.
    pub name: String,
    /// MSP id.
    #[serde(rename = "ID")]
    pub id: String,
    /// MSP folder.
    #[serde(rename = "MSPDir")]
    pub msp_dir: PathBuf,
    /// The org's policies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, PolicySpec>,
    /// Orderer endpoints (orderer orgs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orderer_endpoints: Vec<String>,
    /// Anchor peers (peer orgs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anchor_peers: Vec<AnchorPeer>,
}

/// The application section.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Application {
    /// Member organisations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<Organization>>,
    /// Policies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, PolicySpec>,
    /// Capabilities (name → enabled).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capabilities: BTreeMap<String, bool>,
    /// ACLs (resource → policy path).
    #[serde(default, rename = "ACLs", skip_serializing_if = "BTreeMap::is_empty")]
    pub acls: BTreeMap<String, String>,
}

/// A Raft consenter.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consenter {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Client TLS certificate file.
    #[serde(rename = "ClientTLSCert")]
    pub client_tls_cert: PathBuf,
    /// Server TLS certificate file.
    #[serde(rename = "ServerTLSCert")]
    pub server_tls_cert: PathBuf,
}

/// Raft options.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RaftOptions {
    /// e.g. `500ms`.
    #[serde(default = "default_tick")]
    pub tick_interval: String,
    /// Election ticks.
    #[serde(default = "default_election")]
    pub election_tick: u32,
    /// Heartbeat ticks.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_tick: u32,
    /// Blocks in flight.
    #[serde(default = "default_inflight")]
    pub max_inflight_blocks: u32,
    /// e.g. `16 MB`.
    #[serde(default = "default_snapshot")]
    pub snapshot_interval_size: ByteSize,
}

fn default_tick() -> String {
    "500ms".into()
}
fn default_election() -> u32 {
    10
}
fn default_heartbeat() -> u32 {
    1
}
fn default_inflight() -> u32 {
    5
}
fn default_snapshot() -> ByteSize {
    ByteSize(16 * 1024 * 1024)
}

impl Default for RaftOptions {
    fn default() -> Self {
        Self {
            tick_interval: default_tick(),
            election_tick: default_election(),
            heartbeat_tick: default_heartbeat(),
            max_inflight_blocks: default_inflight(),
            snapshot_interval_size: default_snapshot(),
        }
    }
}

/// The EtcdRaft section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EtcdRaft {
    /// Consenters.
    pub consenters: Vec<Consenter>,
    /// Options.
    #[serde(default)]
    pub options: RaftOptions,
}

/// A size such as `99 MB`, `512 KB` or a plain number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u32);

impl std::str::FromStr for ByteSize {
    type Err = ConfigtxError;

    /// `99 MB`, `512 KB`, `1 GB`, `300 B` or a plain number of bytes.
    fn from_str(text: &str) -> Result<Self, ConfigtxError> {
        let err = |reason: String| ConfigtxError::Size {
            text: text.into(),
            reason,
        };
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let n: u64 = t[..split]
            .trim()
            .parse()
            .map_err(|e| err(format!("not a number of bytes: {e}")))?;
        let mult = match t[split..].trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "KB" => 1024,
            "MB" => 1024 * 1024,
            "GB" => 1024 * 1024 * 1024,
            other => return Err(err(format!("unknown unit {other:?}: use KB, MB or GB"))),
        };
        u32::try_from(n * mult)
            .map(ByteSize)
            .map_err(|_| err("larger than 4 GB".into()))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u32),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(ByteSize(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for ByteSize {
    /// Whole megabytes or kilobytes as `N MB` / `N KB`, as Fabric's sample
    /// files write them; any other size as a number of bytes.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const KB: u32 = 1024;
        const MB: u32 = 1024 * 1024;
        match self.0 {
            0 => s.serialize_u32(0),
            n if n % MB == 0 => s.serialize_str(&format!("{} MB", n / MB)),
            n if n % KB == 0 => s.serialize_str(&format!("{} KB", n / KB)),
            n => s.serialize_u32(n),
        }
    }
}

/// Batch size.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchSize {
    /// Most envelopes per block.
    pub max_message_count: u32,
    /// Hard limit on a block's size.
    pub absolute_max_bytes: ByteSize,
    /// Preferred block size.
    pub preferred_max_bytes: ByteSize,
}

/// The orderer section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Orderer {
    /// `etcdraft`.
    pub orderer_type: String,
    /// Channel-level orderer addresses (deprecated in Fabric; optional).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// Raft settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_raft: Option<EtcdRaft>,
    /// e.g. `2s`.
    pub batch_timeout: String,
    /// Batch size.
    pub batch_size: BatchSize,
    /// Orderer organisations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<Organization>>,
    /// Policies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, PolicySpec>,
    /// Capabilities.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capabilities: BTreeMap<String, bool>,
}

/// A consortium: the orgs a channel profile may include.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consortium {
    /// Member organisations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<Organization>,
}

/// A channel profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Profile {
    /// The consortium whose orgs the application may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consortium: Option<String>,
    /// Channel policies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, PolicySpec>,
    /// Channel capabilities.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capabilities: BTreeMap<String, bool>,
    /// Application section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<Application>,
    /// Orderer section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orderer: Option<Orderer>,
}

/// The parts of `configtx.yaml` weft reads (other top-level sections are
/// anchors referenced by profiles).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigtxYaml {
    /// The organisations (what `org print` exports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<Organization>,
    /// Named consortiums.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub consortiums: BTreeMap<String, Consortium>,
    /// Named profiles.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, Profile>,
}

/// A parsed `configtx.yaml` and the directory relative paths resolve against.
#[derive(Debug, Clone)]
pub struct ConfigtxFile {
    /// The file.
    pub path: PathBuf,
    /// Its content.
    pub content: ConfigtxYaml,
}

impl ConfigtxFile {
    /// Reads and parses `path`, resolving anchors and merge keys.
    pub fn load(path: &Path) -> Result<Self, ConfigtxError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigtxError::io(path, e))?;
        let file = path.display().to_string();
        let mut value: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).map_err(|e| ConfigtxError::Config {
                file: file.clone(),
                field: e
                    .location()
                    .map(|l| format!("line {}", l.line()))
                    .unwrap_or_default(),
                reason: e.to_string(),
            })?;
        value.apply_merge().map_err(|e| ConfigtxError::Config {
            file: file.clone(),
            field: "<<".into(),
            reason: e.to_string(),
        })?;
        let content: ConfigtxYaml =
            serde_yaml_ng::from_value(value).map_err(|e| ConfigtxError::Config {
                file,
                field: "(document)".into(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            content,
        })
    }

    /// Resolves a path from the file relative to its directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).join(p)
        }
    }

    /// The named profile, checked against its consortium.
    pub fn profile(&self, name: &str) -> Result<&Profile, ConfigtxError> {
        let file = self.path.display().to_string();
        let profile = self
            .content
            .profiles
            .get(name)
            .ok_or_else(|| ConfigtxError::Config {
                file: file.clone(),
                field: format!("Profiles.{name}"),
                reason: format!(
                    "no such profile; the file defines {:?}",
                    self.content.profiles.keys().collect::<Vec<_>>()
                ),
            })?;
        if let (Some(cname), Some(app)) = (&profile.consortium, &profile.application) {
            let consortium = self.content.consortiums.get(cname).ok_or_else(|| ConfigtxError::Config {
                file: file.clone(),
                field: format!("Profiles.{name}.Consortium"),
                reason: format!("consortium {cname:?} is not defined under Consortiums; add it or fix the name"),
            })?;
            for org in app.organizations.iter().flatten() {
                if !consortium.organizations.iter().any(|o| o.id == org.id) {
                    return Err(ConfigtxError::Config {
                        file,
                        field: format!("Profiles.{name}.Application.Organizations"),
                        reason: format!(
                            "organisation {} ({}) is not a member of consortium {cname}; add it to Consortiums.{cname}.Organizations or remove it from the profile",
                            org.name, org.id
                        ),
                    });
                }
            }
        }
        Ok(profile)
    }
}
