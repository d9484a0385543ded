//! `weft-peer lifecycle chaincode ...`: packages, installs, approves, commits
//! and queries chaincode definitions, as Fabric's `peer lifecycle chaincode`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use prost::Message;

use crate::PeerError;
use crate::package;
use crate::transact::Call;

use super::chaincode::{endorsers, query, transact};
use super::connection::{Connection, OrdererArgs, PeerTargets, connect};

#[derive(Subcommand)]
pub(crate) enum LifecycleCommand {
    /// Chaincode packages.
    Chaincode {
        #[command(subcommand)]
        command: ChaincodeCommand,
    },
}

#[derive(Subcommand)]
pub(crate) enum ChaincodeCommand {
    /// Package a chaincode: a WASM module, or a Rust contract crate built with --build.
    Package {
        /// The package file to write (e.g. basic.tar.gz).
        output: PathBuf,
        /// A .wasm module, or a contract crate directory with --build.
        #[arg(long)]
        path: PathBuf,
        /// The label (e.g. basic_1.0).
        #[arg(long)]
        label: String,
        /// Build the crate at --path to WASM first.
        #[arg(long)]
        build: bool,
        /// Accepted for Fabric compatibility; only "wasm" (or "rust") is supported.
        #[arg(long, default_value = "wasm")]
        lang: String,
    },
    /// Print the package ID of a package file.
    Calculatepackageid {
        /// The package file.
        file: PathBuf,
    },
    /// Install a package on the peer (needs an admin of the peer's org).
    Install {
        /// The package file.
        package: PathBuf,
        #[command(flatten)]
        conn: Connection,
    },
    /// List the packages installed on the peer.
    Queryinstalled {
        #[command(flatten)]
        conn: Connection,
    },
    /// Approve a chaincode definition for your org (sent to the orderer).
    Approveformyorg {
        #[command(flatten)]
        def: DefinitionArgs,
        /// The installed package this org runs for the definition.
        #[arg(long = "package-id")]
        package_id: String,
        #[command(flatten)]
        orderer: OrdererArgs,
        #[command(flatten)]
        conn: Connection,
    },
    /// Show your org's approved definition.
    Queryapproved {
        /// The channel.
        #[arg(short = 'C', long = "channelID")]
        channel: String,
        /// The chaincode name.
        #[arg(short = 'n', long = "name")]
        name: String,
        /// The sequence (default: the newest approved).
        #[arg(long, default_value_t = 0)]
        sequence: i64,
        #[command(flatten)]
        conn: Connection,
    },
    /// Show which orgs approved a definition.
    Checkcommitreadiness {
        #[command(flatten)]
        def: DefinitionArgs,
        #[command(flatten)]
        conn: Connection,
    },
    /// Commit a definition, endorsed by peers of enough orgs (LifecycleEndorsement).
    Commit {
        #[command(flatten)]
        def: DefinitionArgs,
        #[command(flatten)]
        targets: PeerTargets,
        #[command(flatten)]
        orderer: OrdererArgs,
        #[command(flatten)]
        conn: Connection,
    },
    /// Show a committed definition (or all of them without --name).
    Querycommitted {
        /// The channel.
        #[arg(short = 'C', long = "channelID")]
        channel: String,
        /// The chaincode name.
        #[arg(short = 'n', long = "name")]
        name: Option<String>,
        #[command(flatten)]
        conn: Connection,
    },
}

/// A chaincode definition, with Fabric's flag names.
#[derive(Args)]
pub(crate) struct DefinitionArgs {
    /// The channel.
    #[arg(short = 'C', long = "channelID")]
    pub(crate) channel: String,
    /// The chaincode name.
    #[arg(short = 'n', long = "name")]
    pub(crate) name: String,
    /// The chaincode version.
    #[arg(short = 'v', long = "version")]
    pub(crate) version: String,
    /// The definition's sequence (1 for the first, +1 for each upgrade).
    #[arg(long)]
    pub(crate) sequence: i64,
    /// Endorsement policy in Fabric's signature-policy syntax, e.g. "AND('Org1MSP.peer','Org2MSP.peer')".
    #[arg(long = "signature-policy")]
    pub(crate) signature_policy: Option<String>,
    /// Endorsement policy as a channel policy path, e.g. /Channel/Application/Endorsement (the default).
    #[arg(long = "channel-config-policy")]
    pub(crate) channel_config_policy: Option<String>,
    /// Whether Init must be invoked first.
    #[arg(long = "init-required")]
    pub(crate) init_required: bool,
    /// Private data collections: Fabric's collections-config JSON file.
    #[arg(long = "collections-config")]
    pub(crate) collections_config: Option<PathBuf>,
}

impl DefinitionArgs {
    fn validation_parameter(&self) -> Result<Vec<u8>, PeerError> {
        use weft_protos::protos::{ApplicationPolicy, application_policy};
        let t = match (&self.signature_policy, &self.channel_config_policy) {
            (Some(_), Some(_)) => {
                return Err(PeerError::Config(
                    "give --signature-policy or --channel-config-policy, not both".into(),
                ));
            }
            (Some(p), None) => application_policy::Type::SignaturePolicy(
                weft_common::policy::parse_signature_policy(p)?.to_proto(),
            ),
            (None, Some(p)) => application_policy::Type::ChannelConfigPolicyReference(p.clone()),
            (None, None) => return Ok(Vec::new()),
        };
        Ok(ApplicationPolicy { r#type: Some(t) }.encode_to_vec())
    }

    fn commit_args(
        &self,
    ) -> Result<weft_protos::lifecycle::CommitChaincodeDefinitionArgs, PeerError> {
        Ok(weft_protos::lifecycle::CommitChaincodeDefinitionArgs {
            sequence: self.sequence,
            name: self.name.clone(),
            version: self.version.clone(),
            validation_parameter: self.validation_parameter()?,
            init_required: self.init_required,
            collections: self.collections()?,
            ..Default::default()
        })
    }

    fn collections(
        &self,
    ) -> Result<Option<weft_protos::protos::CollectionConfigPackage>, PeerError> {
        let Some(path) = &self.collections_config else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(PeerError::file(path))?;
        crate::lifecycle::collections::from_json(&text)
            .map(Some)
            .map_err(|e| PeerError::Config(format!("{}: {e}", path.display())))
    }
}

/// Calls a `_lifecycle` function on the connection's peer and decodes its result message.
pub(crate) async fn lifecycle_query<M: Message + Default>(
    conn: &Connection,
    channel: &str,
    function: &str,
    arg: Vec<u8>,
) -> Result<M, PeerError> {
    let out = query(
        conn,
        Call::new(
            channel,
            "_lifecycle",
            vec![function.as_bytes().to_vec(), arg],
        ),
    )
    .await?;
    M::decode(out.as_slice()).map_err(|e| {
        PeerError::Remote(format!(
            "{function}: the peer sent an undecodable result: {e}"
        ))
    })
}

/// Runs `lifecycle chaincode ...`.
pub(crate) async fn run_lifecycle(command: ChaincodeCommand) -> Result<(), PeerError> {
    use weft_protos::lifecycle as lc;
    let call = |f: &str, m: Vec<u8>| vec![f.as_bytes().to_vec(), m];
    match command {
        ChaincodeCommand::Package {
            output,
            path,
            label,
            build,
            lang,
        } => {
            if lang != "wasm" && lang != "rust" {
                return Err(crate::PeerError::InvalidChaincode(format!(
                    "--lang {lang}: weft runs WASM chaincode (use wasm or rust)"
                )));
            }
            // A crate's index definitions (META-INF/statedb/couchdb) go in too.
            let (wasm_path, indexes) = if build {
                (
                    package::build_wasm(&path, None)?,
                    package::index_files(&path)?,
                )
            } else {
                (path, Vec::new())
            };
            let wasm = std::fs::read(&wasm_path).map_err(PeerError::file(&wasm_path))?;
            let bytes = package::package_with_indexes(&label, &wasm, &indexes)?;
            package::write_package(&output, &bytes)?;
            println!("{}", package::package_id(&label, &bytes));
        }
        ChaincodeCommand::Calculatepackageid { file } => {
            let bytes = std::fs::read(&file).map_err(PeerError::file(&file))?;
            let p = package::parse(&bytes)?;
            println!("{}", package::package_id(&p.label, &bytes));
        }
        ChaincodeCommand::Install { package, conn } => {
            let bytes = std::fs::read(&package).map_err(PeerError::file(&package))?;
            let r: lc::InstallChaincodeResult = lifecycle_query(
                &conn,
                "",
                "InstallChaincode",
                lc::InstallChaincodeArgs {
                    chaincode_install_package: bytes,
                }
                .encode_to_vec(),
            )
            .await?;
            eprintln!(
                "Installed remotely: response:<status:200 payload:\"{}\">",
                r.package_id
            );
            println!("Chaincode code package identifier: {}", r.package_id);
        }
        ChaincodeCommand::Queryinstalled { conn } => {
            let r: lc::QueryInstalledChaincodesResult =
                lifecycle_query(&conn, "", "QueryInstalledChaincodes", Vec::new()).await?;
            println!("Installed chaincodes on peer:");
            for c in r.installed_chaincodes {
                println!("Package ID: {}, Label: {}", c.package_id, c.label);
            }
        }
        ChaincodeCommand::Approveformyorg {
            def,
            package_id,
            orderer,
            conn,
        } => {
            let c = def.commit_args()?;
            let a = lc::ApproveChaincodeDefinitionForMyOrgArgs {
                sequence: c.sequence,
                name: c.name,
                version: c.version,
                validation_parameter: c.validation_parameter,
                init_required: c.init_required,
                collections: c.collections,
                source: Some(lc::ChaincodeSource {
                    r#type: Some(lc::chaincode_source::Type::LocalPackage(
                        lc::chaincode_source::Local { package_id },
                    )),
                }),
                ..Default::default()
            };
            let peers = vec![(conn.address.clone(), connect(&conn).await?)];
            transact(
                Call::new(
                    &def.channel,
                    "_lifecycle",
                    call("ApproveChaincodeDefinitionForMyOrg", a.encode_to_vec()),
                ),
                peers,
                &orderer,
                &conn,
            )
            .await?;
        }
        ChaincodeCommand::Queryapproved {
            channel,
            name,
            sequence,
            conn,
        } => {
            let r: lc::QueryApprovedChaincodeDefinitionResult = lifecycle_query(
                &conn,
                &channel,
                "QueryApprovedChaincodeDefinition",
                lc::QueryApprovedChaincodeDefinitionArgs {
                    name: name.clone(),
                    sequence,
                }
                .encode_to_vec(),
            )
            .await?;
            let package = match r.source.and_then(|s| s.r#type) {
                Some(lc::chaincode_source::Type::LocalPackage(l)) => l.package_id,
                _ => String::new(),
            };
            println!(
                "Approved chaincode definition for chaincode '{name}' on channel '{channel}':"
            );
            println!(
                "sequence: {}, version: {}, init-required: {}, package-id: {package}, endorsement plugin: {}, validation plugin: {}",
                r.sequence, r.version, r.init_required, r.endorsement_plugin, r.validation_plugin
            );
        }
        ChaincodeCommand::Checkcommitreadiness { def, conn } => {
            let c = def.commit_args()?;
            let r: lc::CheckCommitReadinessResult = lifecycle_query(
                &conn,
                &def.channel,
                "CheckCommitReadiness",
                c.encode_to_vec(),
            )
            .await?;
            println!(
                "Chaincode definition for chaincode '{}', version '{}', sequence '{}' on channel '{}' approval status by org:",
                def.name, def.version, def.sequence, def.channel
            );
            for (org, ok) in &r.approvals {
                println!("{org}: {ok}");
            }
        }
        ChaincodeCommand::Commit {
            def,
            targets,
            orderer,
            conn,
        } => {
            let c = def.commit_args()?;
            let peers = endorsers(&targets, &conn).await?;
            transact(
                Call::new(
                    &def.channel,
                    "_lifecycle",
                    call("CommitChaincodeDefinition", c.encode_to_vec()),
                ),
                peers,
                &orderer,
                &conn,
            )
            .await?;
        }
        ChaincodeCommand::Querycommitted {
            channel,
            name,
            conn,
        } => match name {
            Some(name) => {
                let r: lc::QueryChaincodeDefinitionResult = lifecycle_query(
                    &conn,
                    &channel,
                    "QueryChaincodeDefinition",
                    lc::QueryChaincodeDefinitionArgs { name: name.clone() }.encode_to_vec(),
                )
                .await?;
                println!(
                    "Committed chaincode definition for chaincode '{name}' on channel '{channel}':"
                );
                let approvals: Vec<String> = r
                    .approvals
                    .iter()
                    .map(|(o, a)| format!("{o}: {a}"))
                    .collect();
                println!(
                    "Version: {}, Sequence: {}, Endorsement Plugin: {}, Validation Plugin: {}, Approvals: [{}]",
                    r.version,
                    r.sequence,
                    r.endorsement_plugin,
                    r.validation_plugin,
                    approvals.join(", ")
                );
            }
            None => {
                let r: lc::QueryChaincodeDefinitionsResult =
                    lifecycle_query(&conn, &channel, "QueryChaincodeDefinitions", Vec::new())
                        .await?;
                println!("Committed chaincode definitions on channel '{channel}':");
                for d in r.chaincode_definitions {
                    println!(
                        "Name: {}, Version: {}, Sequence: {}",
                        d.name, d.version, d.sequence
                    );
                }
            }
        },
    }
    Ok(())
}
