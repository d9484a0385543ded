//! Shared harness: crypto and genesis from weft-configtx, transactions built
//! and endorsed with the common crate, as a client and endorsing peers would.
#![allow(dead_code)]

use prost::Message;
use weft_common::block::new_block;
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_common::tx::{ProposalBuilder, assemble_transaction, create_proposal_response};
use weft_configtx::local::LocalNetwork;
use weft_peer::lifecycle;
use weft_protos::common::{Block, Envelope};
use weft_protos::kvrwset::{
    KvMetadataEntry, KvMetadataWrite, KvRead, KvWrite, KvrwSet, QueryReads, RangeQueryInfo,
    Version, range_query_info,
};
use weft_protos::protos::{ApplicationPolicy, ChaincodeId, Response, application_policy};
use weft_protos::rwset::{NsReadWriteSet, TxReadWriteSet, tx_read_write_set};
use weft_testkit::material::Material;

pub const CHANNEL: &str = "mychannel";

// Shared with the benches, which do not wait on anything.
#[allow(unused_imports)]
pub use weft_testkit::wait_for;

/// A channel of the peer orgs in `orgs` (Org1, then Org2; each with its
/// anchor peer's port, if any).
fn local_network(ports: &[u16], orgs: Vec<Option<u16>>, batch: u32, timeout: &str) -> LocalNetwork {
    let mut net = LocalNetwork::new("Test", LocalNetwork::numbered_consenters(ports), orgs);
    net.batch_timeout = timeout.into();
    net.max_message_count = batch;
    net
}

/// Crypto material of an orderer org (n orderers) and Org1/Org2 (two peers
/// and a user each), from the test kit, with the channels these tests use.
pub struct Orgs(Material);

impl std::ops::Deref for Orgs {
    type Target = Material;
    fn deref(&self) -> &Material {
        &self.0
    }
}

impl Orgs {
    pub fn new(orderers: usize) -> Self {
        Self(Material::generate(orderers, 2, 2, 1))
    }

    /// The genesis block of `mychannel` with consenters on `ports`.
    pub fn genesis(&self, ports: &[u16], batch: u32, timeout: &str) -> Block {
        self.genesis_with_anchors(ports, &[], batch, timeout)
    }

    /// The same, with anchor peers `(org, port)` on 127.0.0.1.
    pub fn genesis_with_anchors(
        &self,
        ports: &[u16],
        anchors: &[(u8, u16)],
        batch: u32,
        timeout: &str,
    ) -> Block {
        let anchor = |n: u8| anchors.iter().find(|(o, _)| *o == n).map(|(_, p)| *p);
        let net = local_network(ports, vec![anchor(1), anchor(2)], batch, timeout);
        self.0.genesis(CHANNEL, &net)
    }

    /// The genesis block of channel `channel` with Org1 alone as its member.
    pub fn org1_only_genesis(&self, channel: &str, ports: &[u16]) -> Block {
        self.0
            .genesis(channel, &local_network(ports, vec![None], 10, "100ms"))
    }
}

/// One namespace's reads, range queries and writes.
#[derive(Default, Clone)]
pub struct Ns {
    pub name: String,
    pub kv: KvrwSet,
}

impl Ns {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            kv: KvrwSet::default(),
        }
    }
    pub fn read(mut self, key: &str, version: Option<(u64, u64)>) -> Self {
        self.kv.reads.push(KvRead {
            key: key.into(),
            version: version.map(|(b, t)| Version {
                block_num: b,
                tx_num: t,
            }),
        });
        self
    }
    pub fn write(mut self, key: &str, value: &[u8]) -> Self {
        self.kv.writes.push(KvWrite {
            key: key.into(),
            is_delete: false,
            value: value.to_vec(),
        });
        self
    }
    pub fn delete(mut self, key: &str) -> Self {
        self.kv.writes.push(KvWrite {
            key: key.into(),
            is_delete: true,
            value: Vec::new(),
        });
        self
    }
    /// Sets `key`'s validation parameter (its metadata, as Fabric's
    /// `SetStateValidationParameter` writes it); empty `policy` bytes clear it.
    pub fn validation_parameter(mut self, key: &str, policy: &[u8]) -> Self {
        self.kv.metadata_writes.push(KvMetadataWrite {
            key: key.into(),
            entries: vec![KvMetadataEntry {
                name: weft_peer::ledger::VALIDATION_PARAMETER.into(),
                value: policy.to_vec(),
            }],
        });
        self
    }
    pub fn range(mut self, start: &str, end: &str, seen: &[(&str, (u64, u64))]) -> Self {
        self.kv.range_queries_info.push(RangeQueryInfo {
            start_key: start.into(),
            end_key: end.into(),
            itr_exhausted: true,
            reads_info: Some(range_query_info::ReadsInfo::RawReads(QueryReads {
                kv_reads: seen
                    .iter()
                    .map(|(k, (b, t))| KvRead {
                        key: (*k).into(),
                        version: Some(Version {
                            block_num: *b,
                            tx_num: *t,
                        }),
                    })
                    .collect(),
            })),
        });
        self
    }
}

/// A key-level endorsement policy in Fabric's signature-policy DSL, as the
/// validation parameter bytes (a `SignaturePolicyEnvelope`).
pub fn key_policy(rule: &str) -> Vec<u8> {
    weft_common::policy::parse_signature_policy(rule)
        .unwrap()
        .to_proto()
        .encode_to_vec()
}

pub fn rwset(namespaces: Vec<Ns>) -> Vec<u8> {
    TxReadWriteSet {
        data_model: tx_read_write_set::DataModel::Kv as i32,
        ns_rwset: namespaces
            .into_iter()
            .map(|n| NsReadWriteSet {
                namespace: n.name,
                rwset: n.kv.encode_to_vec(),
                collection_hashed_rwset: Vec::new(),
            })
            .collect(),
    }
    .encode_to_vec()
}

/// A transaction invoking `chaincode`, with `results` endorsed by each of
/// `endorsers` and signed by `client`. Returns the txid and the envelope.
pub fn endorsed_tx(
    chaincode: &str,
    results: Vec<u8>,
    client: &SigningIdentity,
    endorsers: &[&SigningIdentity],
) -> (String, Envelope) {
    let id = ChaincodeId {
        name: chaincode.into(),
        version: "1.0".into(),
        path: String::new(),
    };
    endorsed_action(chaincode, results, Vec::new(), id, client, endorsers)
}

/// The same with the action's chaincode id and event bytes chosen by the caller.
pub fn endorsed_action(
    chaincode: &str,
    results: Vec<u8>,
    events: Vec<u8>,
    action_id: ChaincodeId,
    client: &SigningIdentity,
    endorsers: &[&SigningIdentity],
) -> (String, Envelope) {
    let bundle = ProposalBuilder::new(ChannelId::parse(CHANNEL).unwrap(), chaincode)
        .function("Invoke", ["x"])
        .sign(client)
        .unwrap();
    let responses: Vec<_> = endorsers
        .iter()
        .map(|e| {
            create_proposal_response(
                &bundle.unpacked,
                Response {
                    status: 200,
                    message: String::new(),
                    payload: Vec::new(),
                },
                results.clone(),
                events.clone(),
                action_id.clone(),
                e,
            )
            .unwrap()
        })
        .collect();
    let env = assemble_transaction(&bundle.unpacked, &responses, client).unwrap();
    (bundle.tx_id.to_string(), env)
}

/// The `_lifecycle` transaction that commits a definition of `chaincode` with
/// the endorsement policy `policy` (a signature policy in Fabric's DSL, or a
/// channel policy path starting with `/`), endorsed by both orgs' peers.
pub fn define_chaincode(orgs: &Orgs, chaincode: &str, policy: &str) -> (String, Envelope) {
    let ap = if policy.starts_with('/') {
        ApplicationPolicy {
            r#type: Some(application_policy::Type::ChannelConfigPolicyReference(
                policy.into(),
            )),
        }
    } else {
        let p = weft_common::policy::parse_signature_policy(policy).unwrap();
        ApplicationPolicy {
            r#type: Some(application_policy::Type::SignaturePolicy(p.to_proto())),
        }
    };
    let results = rwset(vec![Ns::new(lifecycle::NAMESPACE).write(
        &format!("namespaces/fields/{chaincode}/ValidationInfo"),
        &lifecycle::validation_info_value(&ap),
    )]);
    endorsed_tx(
        lifecycle::NAMESPACE,
        results,
        &orgs.admin(1),
        &[&orgs.peer(1), &orgs.peer(2)],
    )
}

fn signature_policy(rule: &str) -> ApplicationPolicy {
    let p = weft_common::policy::parse_signature_policy(rule).unwrap();
    ApplicationPolicy {
        r#type: Some(application_policy::Type::SignaturePolicy(p.to_proto())),
    }
}

/// A collection of Org1 and Org2 (at most one peer pushed to, values kept
/// forever) with its own endorsement policy, if any.
fn collection_of_org1_and_org2(
    name: &str,
    endorsement: Option<&str>,
) -> weft_protos::protos::CollectionConfig {
    use weft_protos::protos::{
        CollectionConfig, CollectionPolicyConfig, StaticCollectionConfig, collection_config,
        collection_policy_config,
    };
    let members =
        weft_common::policy::parse_signature_policy("OR('Org1MSP.member', 'Org2MSP.member')")
            .unwrap();
    CollectionConfig {
        payload: Some(collection_config::Payload::StaticCollectionConfig(
            StaticCollectionConfig {
                name: name.into(),
                member_orgs_policy: Some(CollectionPolicyConfig {
                    payload: Some(collection_policy_config::Payload::SignaturePolicy(
                        members.to_proto(),
                    )),
                }),
                required_peer_count: 0,
                maximum_peer_count: 1,
                block_to_live: 0,
                member_only_read: false,
                member_only_write: false,
                endorsement_policy: endorsement.map(signature_policy),
            },
        )),
    }
}

/// A `_lifecycle` transaction defining `chaincode` with the signature policy
/// `policy` and collections of Org1 and Org2 `(name, own endorsement
/// policy)`, as a committed definition lays them out.
pub fn define_chaincode_with_collections(
    orgs: &Orgs,
    chaincode: &str,
    policy: &str,
    collections: &[(&str, Option<&str>)],
) -> (String, Envelope) {
    use weft_protos::lifecycle::{StateData, state_data};
    let package = weft_protos::protos::CollectionConfigPackage {
        config: collections
            .iter()
            .map(|(name, endorsement)| collection_of_org1_and_org2(name, *endorsement))
            .collect(),
    };
    let collections = StateData {
        r#type: Some(state_data::Type::Bytes(package.encode_to_vec())),
    }
    .encode_to_vec();
    let results = rwset(vec![
        Ns::new(lifecycle::NAMESPACE)
            .write(
                &format!("namespaces/fields/{chaincode}/ValidationInfo"),
                &lifecycle::validation_info_value(&signature_policy(policy)),
            )
            .write(
                &format!("namespaces/fields/{chaincode}/Collections"),
                &collections,
            ),
    ]);
    endorsed_tx(
        lifecycle::NAMESPACE,
        results,
        &orgs.admin(1),
        &[&orgs.peer(1), &orgs.peer(2)],
    )
}

/// An unsigned block of `envs` following a block with header hash `prev`.
pub fn block(number: u64, prev: Vec<u8>, envs: &[Envelope]) -> Block {
    new_block(
        number,
        prev,
        envs.iter().map(|e| e.encode_to_vec()).collect(),
    )
}

/// A CONFIG_UPDATE envelope that turns `current` into `updated`, signed (in
/// its `ConfigUpdateEnvelope`) by each of `admins`, as `peer channel update` sends it.
pub fn config_update(
    current: &weft_protos::common::Config,
    updated: &weft_protos::common::Config,
    admins: &[SigningIdentity],
) -> Envelope {
    use weft_common::config::update::{compute_update, sign_config_update};
    use weft_protos::common::{ConfigUpdateEnvelope, HeaderType};
    let channel = ChannelId::parse(CHANNEL).unwrap();
    let update = compute_update(&channel, current, updated)
        .unwrap()
        .encode_to_vec();
    let cue = ConfigUpdateEnvelope {
        signatures: admins
            .iter()
            .map(|a| sign_config_update(&update, a).unwrap())
            .collect(),
        config_update: update,
    };
    weft_common::tx::signed_envelope(
        HeaderType::ConfigUpdate,
        &channel,
        cue.encode_to_vec(),
        &admins[0],
    )
    .unwrap()
}

/// A CONFIG transaction carrying `config` and the update it claims to come
/// from, signed by `orderer` (honest or not: the config need not follow).
pub fn config_tx(
    orderer: &SigningIdentity,
    config: weft_protos::common::Config,
    last_update: Option<Envelope>,
) -> Envelope {
    use weft_protos::common::{ConfigEnvelope, HeaderType};
    weft_common::tx::signed_envelope(
        HeaderType::Config,
        &ChannelId::parse(CHANNEL).unwrap(),
        ConfigEnvelope {
            config: Some(config),
            last_update,
        }
        .encode_to_vec(),
        orderer,
    )
    .unwrap()
}

/// The config `update` (a CONFIG_UPDATE envelope) yields from `current`, as an
/// honest orderer computes it.
pub fn updated_config(
    current: &weft_common::config::ChannelConfig,
    update: &Envelope,
) -> weft_protos::common::Config {
    use weft_protos::common::{ConfigUpdateEnvelope, Payload};
    let payload = Payload::decode(update.payload.as_slice()).unwrap();
    let cue = ConfigUpdateEnvelope::decode(payload.data.as_slice()).unwrap();
    let now = weft_common::clock::unix_now();
    weft_common::config::update::apply_update(current, &cue, now).unwrap()
}

/// The CONFIG transaction an honest orderer builds from `update`, signed by `orderer`.
pub fn honest_config_tx(
    orderer: &SigningIdentity,
    current: &weft_common::config::ChannelConfig,
    update: Envelope,
) -> Envelope {
    config_tx(orderer, updated_config(current, &update), Some(update))
}

/// The Application group of `config`.
pub fn application(
    config: &mut weft_protos::common::Config,
) -> &mut weft_protos::common::ConfigGroup {
    config
        .channel_group
        .as_mut()
        .unwrap()
        .groups
        .get_mut("Application")
        .unwrap()
}

/// Org `msp`'s group within the Application group of `config`.
pub fn application_org<'a>(
    config: &'a mut weft_protos::common::Config,
    msp: &str,
) -> &'a mut weft_protos::common::ConfigGroup {
    application(config).groups.get_mut(msp).unwrap()
}

/// `current` with the channel's Endorsement policy loosened to ANY
/// Endorsement (its sequence unchanged, as `compute_update` wants it).
pub fn any_endorsement(current: &weft_protos::common::Config) -> weft_protos::common::Config {
    use weft_protos::common::{ImplicitMetaPolicy, Policy, implicit_meta_policy};
    let mut config = current.clone();
    application(&mut config)
        .policies
        .get_mut("Endorsement")
        .unwrap()
        .policy = Some(Policy {
        r#type: 3,
        value: ImplicitMetaPolicy {
            sub_policy: "Endorsement".into(),
            rule: implicit_meta_policy::Rule::Any as i32,
        }
        .encode_to_vec(),
    });
    config
}

/// A signed Deliver request for blocks `from..=to` of the test channel,
/// waiting for blocks not written yet.
pub fn seek_envelope(signer: &SigningIdentity, from: u64, to: u64) -> Envelope {
    seek_envelope_bound(signer, from, to, Vec::new())
}

/// The same, bound to the client's TLS certificate (its hash), as Deliver
/// requires under mutual TLS.
pub fn seek_envelope_bound(
    signer: &SigningIdentity,
    from: u64,
    to: u64,
    tls_cert_hash: Vec<u8>,
) -> Envelope {
    use weft_protos::orderer::{SeekInfo, SeekPosition, SeekSpecified, seek_info, seek_position};
    let at = |n| SeekPosition {
        r#type: Some(seek_position::Type::Specified(SeekSpecified { number: n })),
    };
    let seek = SeekInfo {
        start: Some(at(from)),
        stop: Some(at(to)),
        behavior: seek_info::SeekBehavior::BlockUntilReady as i32,
        ..Default::default()
    };
    weft_common::tx::signed_bound_envelope(
        weft_protos::common::HeaderType::DeliverSeekInfo,
        &ChannelId::new(CHANNEL),
        seek.encode_to_vec(),
        signer,
        tls_cert_hash,
    )
    .unwrap()
}
