//! Building a channel's config tree and genesis block from a profile, in the
//! shape Fabric's `configtxgen` produces.

use std::collections::BTreeMap;

use prost::Message;
use weft_common::block::new_block;
use weft_common::config::{go_encoding, keys, parse_go_duration};
use weft_common::crypto::random_bytes;
use weft_common::ids::{ChannelId, MspId};
use weft_common::msp::{Msp, folder};
use weft_common::policy::{PolicyDef, parse_signature_policy};
use weft_common::tx::compute_txid;
use weft_protos::common::{
    Block, BlockDataHashingStructure, BlockMetadataIndex, Capabilities, Capability, ChannelHeader,
    Config, ConfigEnvelope, ConfigGroup, ConfigPolicy, ConfigValue, Consortium, Envelope,
    HashingAlgorithm, Header, HeaderType, LastConfig, Metadata, OrdererAddresses,
    OrdererBlockMetadata, Payload, SignatureHeader,
};
use weft_protos::etcdraft::{ConfigMetadata, Consenter, Options};
use weft_protos::msp::MspConfig;
use weft_protos::orderer::{BatchSize, BatchTimeout, ChannelRestrictions, ConsensusType};
use weft_protos::protos::{AcLs, AnchorPeer, AnchorPeers, ApiResource};

use crate::ConfigtxError;
use crate::profile::{ConfigtxFile, Organization, PolicySpec, Profile};

const ADMINS: &str = "Admins";

fn value(msg: impl Message) -> ConfigValue {
    ConfigValue {
        version: 0,
        value: msg.encode_to_vec(),
        mod_policy: ADMINS.into(),
    }
}

fn capabilities(caps: &BTreeMap<String, bool>) -> ConfigValue {
    ConfigValue {
        version: 0,
        // As Go writes it: each empty Capability kept (prost would drop it).
        value: go_encoding::capabilities(&Capabilities {
            capabilities: caps
                .iter()
                .filter(|(_, on)| **on)
                .map(|(k, _)| (k.clone(), Capability {}))
                .collect(),
        }),
        mod_policy: ADMINS.into(),
    }
}

fn policies(
    file: &ConfigtxFile,
    section: &str,
    specs: &BTreeMap<String, PolicySpec>,
) -> Result<BTreeMap<String, ConfigPolicy>, ConfigtxError> {
    let mut out = BTreeMap::new();
    for (name, spec) in specs {
        let err = |reason: String| ConfigtxError::Config {
            file: file.path.display().to_string(),
            field: format!("{section}.Policies.{name}"),
            reason,
        };
        let def = match spec.kind.as_str() {
            "Signature" => PolicyDef::Signature(
                parse_signature_policy(&spec.rule).map_err(|e| err(e.to_string()))?,
            ),
            "ImplicitMeta" => {
                PolicyDef::parse_implicit_meta(&spec.rule).map_err(|e| err(e.to_string()))?
            }
            other => {
                return Err(err(format!(
                    "policy type {other:?} is not supported: use Signature or ImplicitMeta"
                )));
            }
        };
        let policy = def.to_proto()?;
        out.insert(
            name.clone(),
            ConfigPolicy {
                version: 0,
                policy: Some(policy),
                mod_policy: ADMINS.into(),
            },
        );
    }
    Ok(out)
}

pub(crate) fn org_group(
    file: &ConfigtxFile,
    section: &str,
    org: &Organization,
    orderer: bool,
) -> Result<ConfigGroup, ConfigtxError> {
    let msp_dir = file.resolve(&org.msp_dir);
    let msp =
        folder::load(&msp_dir, &MspId::new(org.id.clone())).map_err(|e| ConfigtxError::Config {
            file: file.path.display().to_string(),
            field: format!("{section}.Organizations.{}.MSPDir", org.name),
            reason: e.to_string(),
        })?;
    // Fail early on an MSP that nodes would refuse.
    Msp::from_config(&msp.config)?;
    let mut values = BTreeMap::new();
    values.insert(
        keys::MSP.to_string(),
        value(MspConfig {
            r#type: 0,
            config: msp.config.encode_to_vec(),
        }),
    );
    if orderer && !org.orderer_endpoints.is_empty() {
        values.insert(
            keys::ENDPOINTS.to_string(),
            value(OrdererAddresses {
                addresses: org.orderer_endpoints.clone(),
            }),
        );
    }
    if !orderer && !org.anchor_peers.is_empty() {
        let anchors = org
            .anchor_peers
            .iter()
            .map(|a| AnchorPeer {
                host: a.host.clone(),
                port: a.port.into(),
            })
            .collect();
        values.insert(
            keys::ANCHOR_PEERS.to_string(),
            value(AnchorPeers {
                anchor_peers: anchors,
            }),
        );
    }
    Ok(ConfigGroup {
        version: 0,
        groups: BTreeMap::new(),
        values,
        policies: policies(
            file,
            &format!("{section}.Organizations.{}", org.name),
            &org.policies,
        )?,
        mod_policy: ADMINS.into(),
    })
}

/// The channel config tree of `profile`.
pub fn channel_group(
    file: &ConfigtxFile,
    profile_name: &str,
    profile: &Profile,
) -> Result<ConfigGroup, ConfigtxError> {
    let section = format!("Profiles.{profile_name}");
    let cfg_err = |field: &str, reason: String| ConfigtxError::Config {
        file: file.path.display().to_string(),
        field: format!("{section}.{field}"),
        reason,
    };
    let mut root = ConfigGroup {
        mod_policy: ADMINS.into(),
        ..Default::default()
    };
    root.values.insert(
        keys::HASHING_ALGORITHM.into(),
        value(HashingAlgorithm {
            name: "SHA256".into(),
        }),
    );
    root.values.insert(
        keys::BLOCK_DATA_HASHING_STRUCTURE.into(),
        value(BlockDataHashingStructure { width: u32::MAX }),
    );
    root.values.insert(
        keys::CAPABILITIES.into(),
        capabilities(&profile.capabilities),
    );
    if let Some(c) = &profile.consortium {
        root.values.insert(
            keys::CONSORTIUM.into(),
            value(Consortium { name: c.clone() }),
        );
    }
    root.policies = policies(file, &section, &profile.policies)?;

    if let Some(ord) = &profile.orderer {
        let osection = format!("{section}.Orderer");
        if ord.orderer_type != "etcdraft" {
            return Err(cfg_err(
                "Orderer.OrdererType",
                format!(
                    "{:?} is not supported: weft orders with etcdraft",
                    ord.orderer_type
                ),
            ));
        }
        let raft = ord.etcd_raft.as_ref().ok_or_else(|| {
            cfg_err(
                "Orderer.EtcdRaft",
                "etcdraft needs an EtcdRaft section with Consenters".into(),
            )
        })?;
        if raft.consenters.is_empty() {
            return Err(cfg_err(
                "Orderer.EtcdRaft.Consenters",
                "at least one consenter is needed".into(),
            ));
        }
        parse_go_duration(&ord.batch_timeout)
            .map_err(|e| cfg_err("Orderer.BatchTimeout", e.to_string()))?;
        parse_go_duration(&raft.options.tick_interval)
            .map_err(|e| cfg_err("Orderer.EtcdRaft.Options.TickInterval", e.to_string()))?;
        let mut consenters = Vec::new();
        for (i, c) in raft.consenters.iter().enumerate() {
            let read = |p: &std::path::Path, what: &str| {
                let path = file.resolve(p);
                std::fs::read(&path).map_err(|e| {
                    cfg_err(
                        &format!("Orderer.EtcdRaft.Consenters[{i}].{what}"),
                        format!("{}: {e}", path.display()),
                    )
                })
            };
            consenters.push(Consenter {
                host: c.host.clone(),
                port: c.port.into(),
                client_tls_cert: read(&c.client_tls_cert, "ClientTLSCert")?,
                server_tls_cert: read(&c.server_tls_cert, "ServerTLSCert")?,
            });
        }
        let o = &raft.options;
        let metadata = ConfigMetadata {
            consenters,
            options: Some(Options {
                tick_interval: o.tick_interval.clone(),
                election_tick: o.election_tick,
                heartbeat_tick: o.heartbeat_tick,
                max_inflight_blocks: o.max_inflight_blocks,
                snapshot_interval_size: o.snapshot_interval_size.0,
            }),
        };
        let bs = &ord.batch_size;
        if bs.max_message_count == 0 || bs.preferred_max_bytes.0 > bs.absolute_max_bytes.0 {
            return Err(cfg_err(
                "Orderer.BatchSize",
                "MaxMessageCount must be > 0 and PreferredMaxBytes <= AbsoluteMaxBytes".into(),
            ));
        }
        let mut group = ConfigGroup {
            mod_policy: ADMINS.into(),
            ..Default::default()
        };
        group.values.insert(
            keys::CONSENSUS_TYPE.into(),
            value(ConsensusType {
                r#type: "etcdraft".into(),
                metadata: metadata.encode_to_vec(),
                state: 0,
            }),
        );
        group.values.insert(
            keys::BATCH_SIZE.into(),
            value(BatchSize {
                max_message_count: bs.max_message_count,
                absolute_max_bytes: bs.absolute_max_bytes.0,
                preferred_max_bytes: bs.preferred_max_bytes.0,
            }),
        );
        group.values.insert(
            keys::BATCH_TIMEOUT.into(),
            value(BatchTimeout {
                timeout: ord.batch_timeout.clone(),
            }),
        );
        group.values.insert(
            keys::CHANNEL_RESTRICTIONS.into(),
            value(ChannelRestrictions { max_count: 0 }),
        );
        group
            .values
            .insert(keys::CAPABILITIES.into(), capabilities(&ord.capabilities));
        group.policies = policies(file, &osection, &ord.policies)?;
        for org in ord.organizations.iter().flatten() {
            group
                .groups
                .insert(org.name.clone(), org_group(file, &osection, org, true)?);
        }
        if !ord.addresses.is_empty() {
            let mut v = value(OrdererAddresses {
                addresses: ord.addresses.clone(),
            });
            v.mod_policy = "/Channel/Orderer/Admins".into();
            root.values.insert(keys::ORDERER_ADDRESSES.into(), v);
        }
        root.groups.insert(keys::ORDERER.into(), group);
    }

    if let Some(app) = &profile.application {
        let asection = format!("{section}.Application");
        let mut group = ConfigGroup {
            mod_policy: ADMINS.into(),
            ..Default::default()
        };
        group
            .values
            .insert(keys::CAPABILITIES.into(), capabilities(&app.capabilities));
        if !app.acls.is_empty() {
            let acls = app
                .acls
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        ApiResource {
                            policy_ref: v.clone(),
                        },
                    )
                })
                .collect();
            group.values.insert(keys::ACLS.into(), value(AcLs { acls }));
        }
        group.policies = policies(file, &asection, &app.policies)?;
        for org in app.organizations.iter().flatten() {
            group
                .groups
                .insert(org.name.clone(), org_group(file, &asection, org, false)?);
        }
        root.groups.insert(keys::APPLICATION.into(), group);
    }
    Ok(root)
}

/// The genesis block of `channel` from `profile` in `file`.
pub fn genesis_block(
    file: &ConfigtxFile,
    profile_name: &str,
    channel: &ChannelId,
) -> Result<Block, ConfigtxError> {
    let profile = file.profile(profile_name)?;
    let config = Config {
        sequence: 0,
        channel_group: Some(channel_group(file, profile_name, profile)?),
    };
    let nonce = random_bytes(24);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let channel_header = ChannelHeader {
        r#type: HeaderType::Config as i32,
        version: 1,
        timestamp: Some(prost_types::Timestamp {
            seconds: now,
            nanos: 0,
        }),
        channel_id: channel.to_string(),
        tx_id: compute_txid(&nonce, &[]).to_string(),
        epoch: 0,
        extension: Vec::new(),
        tls_cert_hash: Vec::new(),
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: SignatureHeader {
                creator: Vec::new(),
                nonce,
            }
            .encode_to_vec(),
        }),
        data: go_encoding::config_envelope(&ConfigEnvelope {
            config: Some(config),
            last_update: None,
        }),
    };
    let envelope = Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    };
    let mut block = new_block(0, Vec::new(), vec![envelope.encode_to_vec()]);
    let md = Metadata {
        value: OrdererBlockMetadata {
            last_config: Some(LastConfig { index: 0 }),
            consenter_metadata: Vec::new(),
        }
        .encode_to_vec(),
        signatures: Vec::new(),
    };
    block
        .metadata
        .as_mut()
        .expect("new_block sets metadata")
        .metadata[BlockMetadataIndex::Signatures as usize] = md.encode_to_vec();
    Ok(block)
}
