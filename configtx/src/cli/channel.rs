//! `weft-configtx channel ...`: one verb per change to a channel. Each reads
//! the channel's newest config block, makes the change, and writes a config
//! update file signed by this admin (`--dry-run`: only prints what it
//! changes and who must sign). The file then goes round with `update sign`
//! and to an orderer with `update submit`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use weft_common::config::edit::{BatchChange, CapabilityLevel, Edit, Section};
use weft_protos::etcdraft::Consenter;
use weft_protos::protos::AnchorPeer;

use super::connection::Admin;
use crate::ConfigtxError;
use crate::channel_update::{read_config_block, read_org_definition, update_between};
use crate::config_diff::diff;
use crate::profile::ByteSize;

/// What every verb shares: the current config, where the update goes, who signs.
#[derive(Args, Debug)]
pub(crate) struct Proposal {
    /// The channel's newest config block (`weft-configtx fetch config`).
    #[arg(long = "config-block")]
    config_block: PathBuf,
    /// Where to write the signed update [default: <channel>_update.pb].
    #[arg(long)]
    output: Option<PathBuf>,
    /// Only print what the update changes and who must sign it.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    admin: Admin,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ChannelCommand {
    /// Add or remove an organisation.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Set an application organisation's anchor peers.
    #[command(name = "anchor-peers")]
    AnchorPeers {
        #[command(subcommand)]
        command: AnchorPeersCommand,
    },
    /// Change the orderer's batch settings.
    Batch {
        #[command(subcommand)]
        command: BatchCommand,
    },
    /// Set a policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Point a resource at a policy.
    Acl {
        #[command(subcommand)]
        command: AclCommand,
    },
    /// Set a group's capabilities.
    Capabilities {
        #[command(subcommand)]
        command: CapabilitiesCommand,
    },
    /// Change the Raft consenters.
    Orderer {
        #[command(subcommand)]
        command: OrdererCommand,
    },
    /// Set an orderer organisation's endpoints.
    #[command(name = "orderer-endpoints")]
    OrdererEndpoints {
        #[command(subcommand)]
        command: EndpointsCommand,
    },
    /// Add a CRL to an organisation's MSP.
    Crl {
        #[command(subcommand)]
        command: CrlCommand,
    },
    /// Change an organisation's MSP roots (renewing a CA).
    Msp {
        #[command(subcommand)]
        command: MspCommand,
    },
}

/// A CA certificate of an org's MSP.
#[derive(Args, Debug)]
pub(crate) struct RootCert {
    /// The org's MSP id.
    #[arg(long)]
    org: String,
    /// The CA certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// A TLS CA root rather than an identity CA root.
    #[arg(long)]
    tls: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum MspCommand {
    /// Add a CA root: the first step of renewing a CA. Identities of the new
    /// root are valid once it commits (NodeOU certifiers become every root).
    ///
    /// Example: weft-configtx channel msp add-root --org Org1MSP --cert
    /// new-ca/ca-cert.pem --config-block config.block
    AddRoot {
        #[command(flatten)]
        root: RootCert,
        #[command(flatten)]
        proposal: Proposal,
    },
    /// Remove a CA root once nothing it issued is in use (the last one stays).
    ///
    /// Example: weft-configtx channel msp remove-root --org Org1MSP --cert
    /// old-ca/ca-cert.pem --config-block config.block
    RemoveRoot {
        #[command(flatten)]
        root: RootCert,
        #[command(flatten)]
        proposal: Proposal,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum SectionArg {
    Application,
    Orderer,
}

impl From<SectionArg> for Section {
    fn from(s: SectionArg) -> Self {
        match s {
            SectionArg::Application => Section::Application,
            SectionArg::Orderer => Section::Orderer,
        }
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum OrgCommand {
    /// Add an organisation from its definition (`weft-configtx org print`, or
    /// Fabric's `configtxgen -printOrg`).
    ///
    /// Example: CORE_PEER_MSPCONFIGPATH=org1/users/Admin@org1.example.com/msp
    /// CORE_PEER_LOCALMSPID=Org1MSP weft-configtx channel org add org3.json
    /// --config-block config.block --output org3_update.pb
    Add {
        /// The org definition (JSON).
        definition: PathBuf,
        /// Its group name [default: its MSP id].
        #[arg(long)]
        name: Option<String>,
        /// The section it joins.
        #[arg(long, value_enum, default_value_t = SectionArg::Application)]
        section: SectionArg,
        #[command(flatten)]
        proposal: Proposal,
    },
    /// Remove an organisation (by group name or MSP id): its members can no
    /// longer read or write once the update commits.
    ///
    /// Example: weft-configtx channel org remove Org3MSP --config-block config.block
    Remove {
        /// Group name or MSP id.
        org: String,
        /// The section it leaves.
        #[arg(long, value_enum, default_value_t = SectionArg::Application)]
        section: SectionArg,
        #[command(flatten)]
        proposal: Proposal,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum AnchorPeersCommand {
    /// Replace an org's anchor peers (none clears them).
    ///
    /// Example: weft-configtx channel anchor-peers set --org Org1MSP
    /// peer1.org1.example.com:7051 --config-block config.block
    Set {
        /// Group name or MSP id.
        #[arg(long)]
        org: String,
        /// Anchor peers, host:port.
        peers: Vec<String>,
        #[command(flatten)]
        proposal: Proposal,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum BatchCommand {
    /// Change the batch timeout and sizes; what is not given stays.
    ///
    /// Example: weft-configtx channel batch set --timeout 500ms --max-count 50
    /// --config-block config.block
    Set {
        /// Batch timeout (Go duration: 2s, 250ms).
        #[arg(long)]
        timeout: Option<String>,
        /// Most transactions in a block.
        #[arg(long)]
        max_count: Option<u32>,
        /// Largest block (bytes, or "10 MB").
        #[arg(long)]
        absolute_max_bytes: Option<ByteSize>,
        /// Preferred block size (bytes, or "2 MB").
        #[arg(long)]
        preferred_max_bytes: Option<ByteSize>,
        #[command(flatten)]
        proposal: Proposal,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum PolicyCommand {
    /// Set the policy at a path: an implicit-meta rule (ANY/ALL/MAJORITY
    /// <sub-policy>) or a signature rule.
    ///
    /// Example: weft-configtx channel policy set /Channel/Application/Endorsement
    /// "MAJORITY Endorsement" --config-block config.block
    Set {
        /// /Channel/<group>/.../<policy>.
        path: String,
        /// The rule.
        rule: String,
        #[command(flatten)]
        proposal: Proposal,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum AclCommand {
    /// Point a resource at a policy ("" restores the default).
    ///
    /// Example: weft-configtx channel acl set qscc/GetChainInfo
    /// /Channel/Application/Writers --config-block config.block
    Set {
        /// The resource (peer/Propose, qscc/GetBlockByNumber…).
        resource: String,
        /// The policy path.
        policy: String,
        #[command(flatten)]
        proposal: Proposal,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum LevelArg {
    Channel,
    Orderer,
    Application,
}

#[derive(Subcommand, Debug)]
pub(crate) enum CapabilitiesCommand {
    /// Replace a group's capabilities.
    ///
    /// Example: weft-configtx channel capabilities set --level application V2_5
    /// --config-block config.block
    Set {
        /// The group.
        #[arg(long, value_enum)]
        level: LevelArg,
        /// The capabilities (V2_0, V2_5, V3_0…).
        names: Vec<String>,
        #[command(flatten)]
        proposal: Proposal,
    },
}

/// A consenter's address.
#[derive(Args, Debug)]
pub(crate) struct ConsenterAddress {
    /// Its host.
    #[arg(long)]
    host: String,
    /// Its cluster port.
    #[arg(long)]
    port: u32,
}

/// A consenter's TLS certificates.
#[derive(Args, Debug)]
pub(crate) struct ConsenterCerts {
    /// Client TLS certificate (PEM).
    #[arg(long)]
    client_tls_cert: PathBuf,
    /// Server TLS certificate (PEM) [default: the client one].
    #[arg(long)]
    server_tls_cert: Option<PathBuf>,
}

impl ConsenterCerts {
    fn read(&self) -> Result<(Vec<u8>, Vec<u8>), ConfigtxError> {
        let read = |p: &PathBuf| std::fs::read(p).map_err(|e| ConfigtxError::io(p, e));
        let client = read(&self.client_tls_cert)?;
        let server = match &self.server_tls_cert {
            Some(p) => read(p)?,
            None => client.clone(),
        };
        Ok((client, server))
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum OrdererCommand {
    /// Add a Raft consenter (then join the orderer with the newest config block).
    ///
    /// Example: weft-configtx channel orderer add-consenter --host orderer4.example.com
    /// --port 7050 --client-tls-cert orderer4/tls/server.crt --config-block config.block
    AddConsenter {
        #[command(flatten)]
        address: ConsenterAddress,
        #[command(flatten)]
        certs: ConsenterCerts,
        #[command(flatten)]
        proposal: Proposal,
    },
    /// Remove a Raft consenter.
    ///
    /// Example: weft-configtx channel orderer remove-consenter --host orderer1.example.com
    /// --port 7050 --config-block config.block
    RemoveConsenter {
        #[command(flatten)]
        address: ConsenterAddress,
        #[command(flatten)]
        proposal: Proposal,
    },
    /// Give a consenter new TLS certificates in place: it stays the same Raft
    /// member, so the cluster's size never changes. The orderers refuse it
    /// if the others could not keep quorum while this one is cut off; once it
    /// commits, restart that orderer with the new certificate and key.
    ///
    /// Example: weft-configtx channel orderer rotate-consenter-cert --host
    /// orderer1.example.com --port 7050 --client-tls-cert new/server.crt
    /// --config-block config.block
    RotateConsenterCert {
        #[command(flatten)]
        address: ConsenterAddress,
        #[command(flatten)]
        certs: ConsenterCerts,
        #[command(flatten)]
        proposal: Proposal,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum EndpointsCommand {
    /// Replace an orderer org's endpoints.
    ///
    /// Example: weft-configtx channel orderer-endpoints set --org OrdererMSP
    /// orderer1.example.com:7050 orderer2.example.com:7050 --config-block config.block
    Set {
        /// Group name or MSP id.
        #[arg(long)]
        org: String,
        /// Endpoints, host:port.
        endpoints: Vec<String>,
        #[command(flatten)]
        proposal: Proposal,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum CrlCommand {
    /// Add a CRL (from `weft-ca client gencrl` or any CA) to an org's MSP;
    /// its revoked identities are refused once the update commits.
    ///
    /// Example: weft-configtx channel crl add --org Org1MSP
    /// --crl org1/msp/crls/crl.pem --config-block config.block
    Add {
        /// The org's MSP id.
        #[arg(long = "org")]
        org: String,
        /// The CRL (PEM).
        #[arg(long)]
        crl: PathBuf,
        #[command(flatten)]
        proposal: Proposal,
    },
}

fn host_port(text: &str) -> Result<AnchorPeer, ConfigtxError> {
    text.rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<i32>().ok()?)))
        .map(|(host, port)| AnchorPeer {
            host: host.to_string(),
            port,
        })
        .ok_or_else(|| ConfigtxError::Usage(format!("{text:?} is not host:port")))
}

/// The edit a verb names, and the proposal flags.
fn edit_of(command: ChannelCommand) -> Result<(Edit, Proposal), ConfigtxError> {
    use ChannelCommand as C;
    Ok(match command {
        C::Org {
            command:
                OrgCommand::Add {
                    definition,
                    name,
                    section,
                    proposal,
                },
        } => {
            let group = read_org_definition(&definition)?;
            let name = match name {
                Some(n) => n,
                None => weft_common::config::edit::msp_id_of(&group).ok_or_else(|| {
                    ConfigtxError::Decode(format!(
                        "{}: the definition has no MSP value",
                        definition.display()
                    ))
                })?,
            };
            let section = section.into();
            (
                Edit::AddOrg {
                    section,
                    name,
                    group,
                },
                proposal,
            )
        }
        C::Org {
            command:
                OrgCommand::Remove {
                    org,
                    section,
                    proposal,
                },
        } => (
            Edit::RemoveOrg {
                section: section.into(),
                org,
            },
            proposal,
        ),
        C::AnchorPeers {
            command:
                AnchorPeersCommand::Set {
                    org,
                    peers,
                    proposal,
                },
        } => {
            let peers = peers
                .iter()
                .map(|p| host_port(p))
                .collect::<Result<_, _>>()?;
            (Edit::SetAnchorPeers { org, peers }, proposal)
        }
        C::Batch {
            command:
                BatchCommand::Set {
                    timeout,
                    max_count,
                    absolute_max_bytes,
                    preferred_max_bytes,
                    proposal,
                },
        } => (
            Edit::SetBatch(BatchChange {
                timeout,
                max_message_count: max_count,
                absolute_max_bytes: absolute_max_bytes.map(|b| b.0),
                preferred_max_bytes: preferred_max_bytes.map(|b| b.0),
            }),
            proposal,
        ),
        C::Policy {
            command:
                PolicyCommand::Set {
                    path,
                    rule,
                    proposal,
                },
        } => {
            let policy = weft_common::policy::PolicyDef::parse(&rule)?;
            (Edit::SetPolicy { path, policy }, proposal)
        }
        C::Acl {
            command:
                AclCommand::Set {
                    resource,
                    policy,
                    proposal,
                },
        } => (
            Edit::SetAcl {
                resource,
                policy_ref: policy,
            },
            proposal,
        ),
        C::Capabilities {
            command:
                CapabilitiesCommand::Set {
                    level,
                    names,
                    proposal,
                },
        } => {
            let level = match level {
                LevelArg::Channel => CapabilityLevel::Channel,
                LevelArg::Orderer => CapabilityLevel::Orderer,
                LevelArg::Application => CapabilityLevel::Application,
            };
            (Edit::SetCapabilities { level, names }, proposal)
        }
        C::Orderer { command } => match command {
            OrdererCommand::AddConsenter {
                address,
                certs,
                proposal,
            } => {
                let (client_tls_cert, server_tls_cert) = certs.read()?;
                let consenter = Consenter {
                    host: address.host,
                    port: address.port,
                    client_tls_cert,
                    server_tls_cert,
                };
                (Edit::AddConsenter(consenter), proposal)
            }
            OrdererCommand::RemoveConsenter { address, proposal } => (
                Edit::RemoveConsenter {
                    host: address.host,
                    port: address.port,
                },
                proposal,
            ),
            OrdererCommand::RotateConsenterCert {
                address,
                certs,
                proposal,
            } => {
                let (client_tls_cert, server_tls_cert) = certs.read()?;
                let edit = Edit::RotateConsenterCert {
                    host: address.host,
                    port: address.port,
                    client_tls_cert,
                    server_tls_cert,
                };
                (edit, proposal)
            }
        },
        C::OrdererEndpoints {
            command:
                EndpointsCommand::Set {
                    org,
                    endpoints,
                    proposal,
                },
        } => (Edit::SetOrdererEndpoints { org, endpoints }, proposal),
        C::Crl {
            command: CrlCommand::Add { org, crl, proposal },
        } => {
            let crl_pem = std::fs::read(&crl).map_err(|e| ConfigtxError::io(&crl, e))?;
            (
                Edit::AddCrl {
                    msp_id: org,
                    crl_pem,
                },
                proposal,
            )
        }
        C::Msp { command } => {
            let (root, proposal, add) = match command {
                MspCommand::AddRoot { root, proposal } => (root, proposal, true),
                MspCommand::RemoveRoot { root, proposal } => (root, proposal, false),
            };
            let cert_pem =
                std::fs::read(&root.cert).map_err(|e| ConfigtxError::io(&root.cert, e))?;
            let (msp_id, tls) = (root.org, root.tls);
            let edit = if add {
                Edit::AddRootCert {
                    msp_id,
                    cert_pem,
                    tls,
                }
            } else {
                Edit::RemoveRootCert {
                    msp_id,
                    cert_pem,
                    tls,
                }
            };
            (edit, proposal)
        }
    })
}

/// Runs `channel ...`.
pub(crate) fn run(command: ChannelCommand) -> Result<(), ConfigtxError> {
    let (edit, proposal) = edit_of(command)?;
    let current = read_config_block(&proposal.config_block)?;
    let updated = weft_common::config::edit::apply(&current.config, &edit)?;
    let mut update = update_between(&current, &updated)?;
    if proposal.dry_run {
        println!("Changes to channel {}:", current.channel_id);
        for d in diff(&current.config, &updated)? {
            println!("  {d}");
        }
        println!("{}", update.review_against(&current)?);
        return Ok(());
    }
    let admin = proposal.admin.load()?;
    update.sign(&admin)?;
    let output = proposal
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{}_update.pb", current.channel_id)));
    update.write(&output, &admin)?;
    eprintln!("signed config update written to {}", output.display());
    println!("{}", update.review_against(&current)?);
    Ok(())
}
