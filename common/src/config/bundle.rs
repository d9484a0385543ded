//! The channel config bundle.

use std::collections::BTreeMap;
use std::time::Duration;

use weft_protos::common::{
    BlockDataHashingStructure, Capabilities, Config, ConfigEnvelope, ConfigGroup, Consortium,
    HashingAlgorithm, HeaderType, OrdererAddresses,
};
use weft_protos::etcdraft::ConfigMetadata;
use weft_protos::msp::{FabricMspConfig, MspConfig};
use weft_protos::orderer::{
    BatchSize as PBatchSize, BatchTimeout, ChannelRestrictions, ConsensusType,
};
use weft_protos::protos::{AcLs as Acls, AnchorPeers};

use super::duration::parse_go_duration;
use super::keys;
use crate::CommonError;
use crate::error::decode;
use crate::ids::{ChannelId, MspId};
use crate::msp::{Msp, MspManager};
use crate::policy::{PolicyTree, acl};
use crate::tx::UnpackedEnvelope;

/// An application (peer) organisation.
#[derive(Debug, Clone)]
pub struct ApplicationOrg {
    /// The org's group name in the config tree.
    pub name: String,
    /// Its MSP id.
    pub msp_id: MspId,
    /// Anchor peers as (host, port).
    pub anchor_peers: Vec<(String, u16)>,
}

/// The application part of a channel.
#[derive(Debug, Clone, Default)]
pub struct ApplicationConfig {
    /// Organisations by MSP id.
    pub orgs: BTreeMap<MspId, ApplicationOrg>,
    /// Application capabilities (e.g. `V2_5`).
    pub capabilities: Vec<String>,
    /// ACLs: resource → policy path.
    pub acls: BTreeMap<String, String>,
}

/// An orderer organisation.
#[derive(Debug, Clone)]
pub struct OrdererOrg {
    /// The org's group name.
    pub name: String,
    /// Its MSP id.
    pub msp_id: MspId,
    /// Orderer endpoints (`host:port`).
    pub endpoints: Vec<String>,
}

/// Batch limits of the block cutter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSize {
    /// Most envelopes in a block.
    pub max_message_count: u32,
    /// No envelope or block may be larger.
    pub absolute_max_bytes: u32,
    /// Cut a block once it reaches this size.
    pub preferred_max_bytes: u32,
}

/// A Raft consenter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftConsenter {
    /// Host name or address.
    pub host: String,
    /// Cluster port.
    pub port: u16,
    /// Client TLS certificate (PEM).
    pub client_tls_cert: Vec<u8>,
    /// Server TLS certificate (PEM).
    pub server_tls_cert: Vec<u8>,
}

/// Raft options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftOptions {
    /// Duration of one Raft tick.
    pub tick_interval: Duration,
    /// Ticks without a leader before an election.
    pub election_tick: u32,
    /// Ticks between heartbeats.
    pub heartbeat_tick: u32,
    /// Most blocks in flight to a follower.
    pub max_inflight_blocks: u32,
    /// Bytes of blocks between snapshots.
    pub snapshot_interval_size: u32,
}

/// The orderer part of a channel.
#[derive(Debug, Clone)]
pub struct OrdererConfig {
    /// Consensus type (`etcdraft`).
    pub consensus_type: String,
    /// Whether the channel is in maintenance mode.
    pub maintenance: bool,
    /// Raft consenters (etcdraft only).
    pub consenters: Vec<RaftConsenter>,
    /// Raft options (etcdraft only).
    pub raft_options: Option<RaftOptions>,
    /// Batch limits.
    pub batch_size: BatchSize,
    /// Cut a block at most this long after its first envelope.
    pub batch_timeout: Duration,
    /// Channel restrictions (0 = none).
    pub max_channels: u64,
    /// Orderer organisations by MSP id.
    pub orgs: BTreeMap<MspId, OrdererOrg>,
    /// Orderer capabilities.
    pub capabilities: Vec<String>,
}

/// The typed view of a channel's configuration.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// The channel.
    pub channel_id: ChannelId,
    /// The raw config, for computing updates.
    pub config: Config,
    /// The hashing algorithm (SHA256).
    pub hashing_algorithm: String,
    /// Block data hashing width (Fabric: u32::MAX).
    pub block_data_hashing_width: u32,
    /// Channel-level orderer addresses (deprecated; orgs' endpoints preferred).
    pub orderer_addresses: Vec<String>,
    /// The consortium the channel was created from, if recorded.
    pub consortium: Option<String>,
    /// Channel capabilities.
    pub capabilities: Vec<String>,
    /// The application part, if any.
    pub application: Option<ApplicationConfig>,
    /// The orderer part, if any.
    pub orderer: Option<OrdererConfig>,
    /// Every org's MSP.
    pub msps: MspManager,
    /// The policy tree.
    pub policies: PolicyTree,
}

fn value<M: prost::Message + Default>(
    group: &ConfigGroup,
    key: &'static str,
    path: &str,
) -> Result<Option<M>, CommonError> {
    match group.values.get(key) {
        None => Ok(None),
        Some(v) => decode::<M>(key, &v.value)
            .map(Some)
            .map_err(|e| CommonError::Config(format!("{path}/{key}: {e}"))),
    }
}

fn capabilities(group: &ConfigGroup, path: &str) -> Result<Vec<String>, CommonError> {
    Ok(value::<Capabilities>(group, keys::CAPABILITIES, path)?
        .map(|c| {
            let mut v: Vec<String> = c.capabilities.into_keys().collect();
            v.sort();
            v
        })
        .unwrap_or_default())
}

fn org_msp(group: &ConfigGroup, path: &str) -> Result<FabricMspConfig, CommonError> {
    let msp: MspConfig = value(group, keys::MSP, path)?
        .ok_or_else(|| CommonError::Config(format!("{path} has no MSP value")))?;
    if msp.r#type != 0 {
        return Err(CommonError::Config(format!(
            "{path}: MSP type {} is not supported (only X.509 MSPs)",
            msp.r#type
        )));
    }
    decode::<FabricMspConfig>("Fabric MSP config", &msp.config)
        .map_err(|e| CommonError::Config(format!("{path}/MSP: {e}")))
}

/// Collects every org's MSP config by id, refusing two different MSPs under one id.
#[derive(Default)]
struct MspConfigs(BTreeMap<MspId, FabricMspConfig>);

impl MspConfigs {
    fn add(&mut self, cfg: FabricMspConfig, where_: &str) -> Result<MspId, CommonError> {
        let id = MspId::new(cfg.name.clone());
        if let Some(existing) = self.0.get(&id)
            && existing != &cfg
        {
            return Err(CommonError::Config(format!(
                "{where_}: MSP {id} is defined twice with different content"
            )));
        }
        self.0.insert(id.clone(), cfg);
        Ok(id)
    }
}

fn application_config(
    app: &ConfigGroup,
    msps: &mut MspConfigs,
) -> Result<ApplicationConfig, CommonError> {
    let app_path = format!("/Channel/{}", keys::APPLICATION);
    let mut orgs = BTreeMap::new();
    for (name, g) in &app.groups {
        let org_path = format!("{app_path}/{name}");
        let msp_id = msps.add(org_msp(g, &org_path)?, &org_path)?;
        let anchor_peers = value::<AnchorPeers>(g, keys::ANCHOR_PEERS, &org_path)?
            .map(|a| {
                a.anchor_peers
                    .into_iter()
                    .map(|p| (p.host, p.port as u16))
                    .collect()
            })
            .unwrap_or_default();
        orgs.insert(
            msp_id.clone(),
            ApplicationOrg {
                name: name.clone(),
                msp_id,
                anchor_peers,
            },
        );
    }
    let acls = value::<Acls>(app, keys::ACLS, &app_path)?
        .map(|a| a.acls.into_iter().map(|(k, v)| (k, v.policy_ref)).collect())
        .unwrap_or_default();
    Ok(ApplicationConfig {
        orgs,
        capabilities: capabilities(app, &app_path)?,
        acls,
    })
}

fn raft_config(
    ct: &ConsensusType,
    ord_path: &str,
) -> Result<(Vec<RaftConsenter>, Option<RaftOptions>), CommonError> {
    if ct.r#type != "etcdraft" {
        return Ok((Vec::new(), None));
    }
    let md: ConfigMetadata = decode("etcdraft config metadata", &ct.metadata)
        .map_err(|e| CommonError::Config(format!("{ord_path}/ConsensusType: {e}")))?;
    let consenters = md
        .consenters
        .into_iter()
        .map(|c| RaftConsenter {
            host: c.host,
            port: c.port as u16,
            client_tls_cert: c.client_tls_cert,
            server_tls_cert: c.server_tls_cert,
        })
        .collect();
    let options = md
        .options
        .map(|o| -> Result<RaftOptions, CommonError> {
            Ok(RaftOptions {
                tick_interval: parse_go_duration(&o.tick_interval)?,
                election_tick: o.election_tick,
                heartbeat_tick: o.heartbeat_tick,
                max_inflight_blocks: o.max_inflight_blocks,
                snapshot_interval_size: o.snapshot_interval_size,
            })
        })
        .transpose()
        .map_err(|e| CommonError::Config(format!("{ord_path}/ConsensusType options: {e}")))?;
    Ok((consenters, options))
}

fn orderer_config(ord: &ConfigGroup, msps: &mut MspConfigs) -> Result<OrdererConfig, CommonError> {
    let ord_path = format!("/Channel/{}", keys::ORDERER);
    let mut orgs = BTreeMap::new();
    for (name, g) in &ord.groups {
        let org_path = format!("{ord_path}/{name}");
        let msp_id = msps.add(org_msp(g, &org_path)?, &org_path)?;
        let endpoints = value::<OrdererAddresses>(g, keys::ENDPOINTS, &org_path)?
            .map(|a| a.addresses)
            .unwrap_or_default();
        orgs.insert(
            msp_id.clone(),
            OrdererOrg {
                name: name.clone(),
                msp_id,
                endpoints,
            },
        );
    }
    let ct: ConsensusType = value(ord, keys::CONSENSUS_TYPE, &ord_path)?
        .ok_or_else(|| CommonError::Config(format!("{ord_path} has no ConsensusType")))?;
    let (consenters, raft_options) = raft_config(&ct, &ord_path)?;
    let bs: PBatchSize = value(ord, keys::BATCH_SIZE, &ord_path)?
        .ok_or_else(|| CommonError::Config(format!("{ord_path} has no BatchSize")))?;
    let bt: BatchTimeout = value(ord, keys::BATCH_TIMEOUT, &ord_path)?
        .ok_or_else(|| CommonError::Config(format!("{ord_path} has no BatchTimeout")))?;
    let restrictions: Option<ChannelRestrictions> =
        value(ord, keys::CHANNEL_RESTRICTIONS, &ord_path)?;
    Ok(OrdererConfig {
        consensus_type: ct.r#type,
        maintenance: ct.state == 1,
        consenters,
        raft_options,
        batch_size: BatchSize {
            max_message_count: bs.max_message_count,
            absolute_max_bytes: bs.absolute_max_bytes,
            preferred_max_bytes: bs.preferred_max_bytes,
        },
        batch_timeout: parse_go_duration(&bt.timeout)
            .map_err(|e| CommonError::Config(format!("{ord_path}/BatchTimeout: {e}")))?,
        max_channels: restrictions.map_or(0, |r| r.max_count),
        orgs,
        capabilities: capabilities(ord, &ord_path)?,
    })
}

impl ChannelConfig {
    /// Builds the bundle from a channel's config.
    pub fn from_config(channel_id: ChannelId, config: &Config) -> Result<Self, CommonError> {
        let root = config
            .channel_group
            .as_ref()
            .ok_or_else(|| CommonError::Config("config has no channel group".into()))?;
        let path = "/Channel";
        let mut msp_configs = MspConfigs::default();
        let application = root
            .groups
            .get(keys::APPLICATION)
            .map(|g| application_config(g, &mut msp_configs))
            .transpose()?;
        let orderer = root
            .groups
            .get(keys::ORDERER)
            .map(|g| orderer_config(g, &mut msp_configs))
            .transpose()?;
        let msps = MspManager::new(
            msp_configs
                .0
                .values()
                .map(Msp::from_config)
                .collect::<Result<Vec<_>, _>>()?,
        );
        Ok(Self {
            channel_id,
            config: config.clone(),
            hashing_algorithm: value::<HashingAlgorithm>(root, keys::HASHING_ALGORITHM, path)?
                .map(|h| h.name)
                .unwrap_or_default(),
            block_data_hashing_width: value::<BlockDataHashingStructure>(
                root,
                keys::BLOCK_DATA_HASHING_STRUCTURE,
                path,
            )?
            .map_or(0, |b| b.width),
            orderer_addresses: value::<OrdererAddresses>(root, keys::ORDERER_ADDRESSES, path)?
                .map(|a| a.addresses)
                .unwrap_or_default(),
            consortium: value::<Consortium>(root, keys::CONSORTIUM, path)?.map(|c| c.name),
            capabilities: capabilities(root, path)?,
            application,
            orderer,
            msps,
            policies: PolicyTree::from_channel_group(root)?,
        })
    }

    /// Builds the bundle from a config block (its only envelope is a CONFIG transaction).
    pub fn from_block(block: &weft_protos::common::Block) -> Result<Self, CommonError> {
        let data = block
            .data
            .as_ref()
            .map(|d| d.data.as_slice())
            .unwrap_or_default();
        let [env_bytes] = data else {
            return Err(CommonError::Config(format!(
                "a config block holds exactly one envelope, this one {}",
                data.len()
            )));
        };
        let env = UnpackedEnvelope::from_bytes(env_bytes)
            .map_err(|e| CommonError::Config(format!("config envelope: {e}")))?;
        if env.header_type() != HeaderType::Config as i32 {
            return Err(CommonError::Config(format!(
                "block's envelope has type {}, not CONFIG",
                env.header_type()
            )));
        }
        let ce: ConfigEnvelope = decode("config envelope", &env.data)?;
        let config = ce
            .config
            .ok_or_else(|| CommonError::Config("config envelope has no config".into()))?;
        Self::from_config(ChannelId::parse(&env.channel_header.channel_id)?, &config)
    }

    /// The config sequence number.
    pub fn sequence(&self) -> u64 {
        self.config.sequence
    }

    /// The policy path guarding `resource`: the channel's ACL if set, else Fabric's default.
    pub fn acl_policy(&self, resource: &str) -> Option<String> {
        self.application
            .as_ref()
            .and_then(|a| a.acls.get(resource).cloned())
            .or_else(|| acl::default_policy(resource).map(str::to_string))
    }

    /// Every TLS root and intermediate CA of every org of the channel (PEM).
    pub fn tls_roots(&self) -> Vec<Vec<u8>> {
        self.msps
            .iter()
            .flat_map(|(_, m)| m.tls_roots().iter().chain(m.tls_intermediates()).cloned())
            .collect()
    }

    /// All orderer endpoints: per-org endpoints, else the channel-level addresses.
    pub fn orderer_endpoints(&self) -> Vec<String> {
        let per_org: Vec<String> = self
            .orderer
            .iter()
            .flat_map(|o| o.orgs.values())
            .flat_map(|o| o.endpoints.iter().cloned())
            .collect();
        if per_org.is_empty() {
            self.orderer_addresses.clone()
        } else {
            per_org
        }
    }
}
