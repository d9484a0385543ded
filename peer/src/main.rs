//! `weft-peer`: runs a peer (`node start`), administers it (`channel ...`)
//! and packages chaincode (`lifecycle chaincode ...`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use prost::Message;
use weft_common::ids::MspId;
use weft_common::msp::folder;
use weft_common::tls::TlsIdentity;
use weft_peer::PeerError;
use weft_peer::admin::{AdminClient, BlockSelector, ClientTls};
use weft_peer::package;
use weft_peer::transact::{self, Target};

/// Blocks are hundreds of kilobytes and are encoded, copied and freed many
/// times each; mimalloc reuses those pages where glibc's allocator gives them
/// back and takes page faults to get them again (see ARCHITECTURE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "weft-peer",
    version,
    about = "The weft peer: pulls blocks from the orderers, validates and commits them, and serves its ledger.\n\nAdmin commands talk to a running peer; like Fabric's CLI they read the peer address, MSP and TLS settings from CORE_PEER_* variables or flags."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the peer.
    Node {
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// Join a running peer to channels and query its ledgers, as Fabric's `peer channel`.
    Channel {
        #[command(subcommand)]
        command: ChannelCommand,
    },
    /// Invoke or query a chaincode, as Fabric's `peer chaincode`.
    Chaincode {
        #[command(subcommand)]
        command: InvokeCommand,
    },
    /// Chaincode lifecycle commands, as Fabric's `peer lifecycle`.
    Lifecycle {
        #[command(subcommand)]
        command: LifecycleCommand,
    },
}

#[derive(Subcommand)]
enum NodeCommand {
    /// Start the peer and serve until interrupted (Ctrl-C / SIGINT).
    Start {
        /// core.yaml, with Fabric's keys (any key can be overridden with a CORE_*
        /// environment variable). Default: $FABRIC_CFG_PATH/core.yaml, else ./core.yaml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// How to reach the peer and whom to sign as.
#[derive(Args)]
struct Connection {
    /// The peer's address.
    #[arg(
        long = "peer-address",
        env = "CORE_PEER_ADDRESS",
        default_value = "127.0.0.1:7051"
    )]
    address: String,
    /// MSP folder of the identity that signs the requests (an admin of the peer's org to join).
    #[arg(long = "msp-dir", env = "CORE_PEER_MSPCONFIGPATH")]
    msp_dir: PathBuf,
    /// MSP id of that identity.
    #[arg(long = "msp-id", env = "CORE_PEER_LOCALMSPID")]
    msp_id: String,
    /// Root CA of the peer's TLS certificate; without it the connection is plaintext.
    #[arg(long = "tls-ca", env = "CORE_PEER_TLS_ROOTCERT_FILE")]
    tls_ca: Option<PathBuf>,
    /// Client TLS certificate (the peer requires mutual TLS).
    #[arg(long = "tls-cert", env = "CORE_PEER_TLS_CLIENTCERT_FILE")]
    tls_cert: Option<PathBuf>,
    /// Client TLS key.
    #[arg(long = "tls-key", env = "CORE_PEER_TLS_CLIENTKEY_FILE")]
    tls_key: Option<PathBuf>,
    /// Server name to verify in the peer's certificate (default: the address's host).
    #[arg(long = "tls-server-name")]
    tls_server_name: Option<String>,
}

#[derive(Subcommand)]
enum ChannelCommand {
    /// Join the peer to the channel of a genesis block.
    Join {
        /// The channel's genesis block (e.g. from `weft-configtx genesis`).
        #[arg(short = 'b', long = "blockpath")]
        block: PathBuf,
        #[command(flatten)]
        conn: Connection,
    },
    /// List the channels the peer has joined.
    List {
        #[command(flatten)]
        conn: Connection,
    },
    /// Print a channel's height and current and previous block hashes.
    Getinfo {
        /// The channel.
        #[arg(short = 'c', long = "channelID")]
        channel: String,
        #[command(flatten)]
        conn: Connection,
    },
    /// Write a block of a channel to a file.
    Fetch {
        /// newest, oldest, config or a block number.
        which: BlockSelector,
        /// The file to write (default: <channel>_<which>.block).
        output: Option<PathBuf>,
        /// The channel.
        #[arg(short = 'c', long = "channelID")]
        channel: String,
        #[command(flatten)]
        conn: Connection,
    },
}

#[derive(Subcommand)]
enum LifecycleCommand {
    /// Chaincode packages.
    Chaincode {
        #[command(subcommand)]
        command: ChaincodeCommand,
    },
}

#[derive(Subcommand)]
enum ChaincodeCommand {
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
struct DefinitionArgs {
    /// The channel.
    #[arg(short = 'C', long = "channelID")]
    channel: String,
    /// The chaincode name.
    #[arg(short = 'n', long = "name")]
    name: String,
    /// The chaincode version.
    #[arg(short = 'v', long = "version")]
    version: String,
    /// The definition's sequence (1 for the first, +1 for each upgrade).
    #[arg(long)]
    sequence: i64,
    /// Endorsement policy in Fabric's signature-policy syntax, e.g. "AND('Org1MSP.peer','Org2MSP.peer')".
    #[arg(long = "signature-policy")]
    signature_policy: Option<String>,
    /// Endorsement policy as a channel policy path, e.g. /Channel/Application/Endorsement (the default).
    #[arg(long = "channel-config-policy")]
    channel_config_policy: Option<String>,
    /// Whether Init must be invoked first.
    #[arg(long = "init-required")]
    init_required: bool,
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
            ..Default::default()
        })
    }
}

/// Peers to endorse on: repeat --peerAddresses and --tlsRootCertFiles in pairs
/// (default: the peer of --peer-address / CORE_PEER_ADDRESS).
#[derive(Args)]
struct PeerTargets {
    /// A peer's address.
    #[arg(long = "peerAddresses")]
    peer_addresses: Vec<String>,
    /// The TLS root CA of the peer at the same position.
    #[arg(long = "tlsRootCertFiles")]
    tls_root_cert_files: Vec<PathBuf>,
}

/// The orderer to broadcast to.
#[derive(Args)]
struct OrdererArgs {
    /// The orderer's address.
    #[arg(short = 'o', long = "orderer", env = "ORDERER_ADDRESS")]
    orderer: String,
    /// The TLS root CA of the orderer's certificate.
    #[arg(long = "cafile", env = "ORDERER_CA")]
    cafile: Option<PathBuf>,
}

#[derive(Subcommand)]
enum InvokeCommand {
    /// Endorse on the target peers, order, and wait for the commit.
    Invoke {
        /// The channel.
        #[arg(short = 'C', long = "channelID")]
        channel: String,
        /// The chaincode name.
        #[arg(short = 'n', long = "name")]
        name: String,
        /// The call, e.g. '{"Args":["CreateAsset","a1","blue","5","Tom","300"]}'.
        #[arg(short = 'c', long = "ctor")]
        ctor: String,
        /// Invoke as the chaincode's init (definitions with --init-required need one first).
        #[arg(short = 'I', long = "isInit")]
        is_init: bool,
        #[command(flatten)]
        targets: PeerTargets,
        #[command(flatten)]
        orderer: OrdererArgs,
        #[command(flatten)]
        conn: Connection,
    },
    /// Evaluate on one peer and print the result.
    Query {
        /// The channel.
        #[arg(short = 'C', long = "channelID")]
        channel: String,
        /// The chaincode name.
        #[arg(short = 'n', long = "name")]
        name: String,
        /// The call, e.g. '{"Args":["ReadAsset","a1"]}'.
        #[arg(short = 'c', long = "ctor")]
        ctor: String,
        #[command(flatten)]
        conn: Connection,
    },
}

fn io_err(path: &std::path::Path, e: std::io::Error) -> PeerError {
    PeerError::Config(format!("{}: {e}", path.display()))
}

async fn connect(c: &Connection) -> Result<AdminClient, PeerError> {
    let signer = folder::load_signing_identity(&c.msp_dir, &MspId::new(c.msp_id.clone()))?;
    let tls = match &c.tls_ca {
        None => None,
        Some(ca) => Some(ClientTls {
            ca_pem: std::fs::read(ca).map_err(|e| io_err(ca, e))?,
            identity: match (&c.tls_cert, &c.tls_key) {
                (Some(cert), Some(key)) => Some(TlsIdentity::load(cert, key)?),
                (None, None) => None,
                _ => {
                    return Err(PeerError::Config(
                        "give both --tls-cert and --tls-key, or neither".into(),
                    ));
                }
            },
            server_name: c.tls_server_name.clone(),
        }),
    };
    AdminClient::connect(&c.address, tls, signer).await
}

fn client_tls(c: &Connection) -> Result<Option<TlsIdentity>, PeerError> {
    match (&c.tls_cert, &c.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(TlsIdentity::load(cert, key)?)),
        _ => Ok(None),
    }
}

fn target(address: &str, ca: Option<&PathBuf>, c: &Connection) -> Result<Target, PeerError> {
    let tls = match (ca, client_tls(c)?) {
        (Some(ca), Some(id)) => Some((id, std::fs::read(ca).map_err(|e| io_err(ca, e))?)),
        (Some(_), None) => {
            return Err(PeerError::Config(
                "weft nodes use mutual TLS: give --tls-cert and --tls-key (CORE_PEER_TLS_CLIENTCERT_FILE / _KEY_FILE)".into(),
            ));
        }
        (None, _) => None,
    };
    Ok(Target {
        address: address.to_string(),
        tls,
    })
}

/// The endorsing peers: --peerAddresses/--tlsRootCertFiles, else the connection's peer.
async fn endorsers(
    t: &PeerTargets,
    c: &Connection,
) -> Result<Vec<(String, AdminClient)>, PeerError> {
    if t.peer_addresses.is_empty() {
        return Ok(vec![(c.address.clone(), connect(c).await?)]);
    }
    if !t.tls_root_cert_files.is_empty() && t.tls_root_cert_files.len() != t.peer_addresses.len() {
        return Err(PeerError::Config(
            "give one --tlsRootCertFiles per --peerAddresses".into(),
        ));
    }
    let mut out = Vec::new();
    for (i, address) in t.peer_addresses.iter().enumerate() {
        let mut conn = Connection {
            address: address.clone(),
            msp_dir: c.msp_dir.clone(),
            msp_id: c.msp_id.clone(),
            tls_ca: t
                .tls_root_cert_files
                .get(i)
                .cloned()
                .or_else(|| c.tls_ca.clone()),
            tls_cert: c.tls_cert.clone(),
            tls_key: c.tls_key.clone(),
            tls_server_name: None,
        };
        if t.tls_root_cert_files.is_empty() && c.tls_ca.is_none() {
            conn.tls_ca = None;
        }
        out.push((address.clone(), connect(&conn).await?));
    }
    Ok(out)
}

/// Endorses on `peers`, orders through `orderer` and waits for the commit on the first peer.
async fn transact(
    channel: &str,
    chaincode: &str,
    args: Vec<Vec<u8>>,
    is_init: bool,
    mut peers: Vec<(String, AdminClient)>,
    orderer: &OrdererArgs,
    conn: &Connection,
) -> Result<(), PeerError> {
    let creator = peers[0].1.signer().clone();
    let (bundle, responses) =
        transact::endorse(&creator, channel, chaincode, args, is_init, &mut peers).await?;
    let payload = responses[0]
        .response
        .as_ref()
        .map(|r| r.payload.clone())
        .unwrap_or_default();
    let o = target(&orderer.orderer, orderer.cafile.as_ref(), conn)?;
    let tx_id = transact::submit(&creator, &bundle, &responses, &o).await?;
    let first = &peers[0].0;
    let ca = if peers.len() == 1 && conn.address == *first {
        conn.tls_ca.clone()
    } else {
        None
    };
    let watch = target(first, ca.as_ref().or(conn.tls_ca.as_ref()), conn)?;
    let (code, block) = transact::wait_for_commit(&creator, channel, &tx_id, &watch).await?;
    if code != weft_protos::protos::TxValidationCode::Valid {
        return Err(PeerError::Remote(format!(
            "transaction {tx_id} committed in block {block} as INVALID: {}",
            code.as_str_name()
        )));
    }
    eprintln!("txid [{tx_id}] committed with status (VALID) in block {block}");
    if !payload.is_empty() {
        println!("{}", String::from_utf8_lossy(&payload));
    }
    Ok(())
}

async fn query(
    conn: &Connection,
    channel: &str,
    chaincode: &str,
    args: Vec<Vec<u8>>,
) -> Result<Vec<u8>, PeerError> {
    let mut peers = vec![(conn.address.clone(), connect(conn).await?)];
    let creator = peers[0].1.signer().clone();
    let (_, responses) =
        transact::endorse(&creator, channel, chaincode, args, false, &mut peers).await?;
    Ok(responses[0]
        .response
        .as_ref()
        .map(|r| r.payload.clone())
        .unwrap_or_default())
}

/// Calls a `_lifecycle` function on the connection's peer and decodes its result message.
async fn lifecycle_query<M: Message + Default>(
    conn: &Connection,
    channel: &str,
    function: &str,
    arg: Vec<u8>,
) -> Result<M, PeerError> {
    let out = query(
        conn,
        channel,
        "_lifecycle",
        vec![function.as_bytes().to_vec(), arg],
    )
    .await?;
    M::decode(out.as_slice()).map_err(|e| {
        PeerError::Remote(format!(
            "{function}: the peer sent an undecodable result: {e}"
        ))
    })
}

async fn run_lifecycle(command: ChaincodeCommand) -> Result<(), PeerError> {
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
                return Err(weft_peer::PeerError::InvalidChaincode(format!(
                    "--lang {lang}: weft runs WASM chaincode (use wasm or rust)"
                )));
            }
            let wasm_path = if build {
                package::build_wasm(&path, None)?
            } else {
                path
            };
            let wasm = std::fs::read(&wasm_path).map_err(|e| {
                weft_peer::PeerError::Runtime(format!("{}: {e}", wasm_path.display()))
            })?;
            let bytes = package::package(&label, &wasm)?;
            package::write_package(&output, &bytes)?;
            println!("{}", package::package_id(&label, &bytes));
        }
        ChaincodeCommand::Calculatepackageid { file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| weft_peer::PeerError::Runtime(format!("{}: {e}", file.display())))?;
            let p = package::parse(&bytes)?;
            println!("{}", package::package_id(&p.label, &bytes));
        }
        ChaincodeCommand::Install { package, conn } => {
            let bytes = std::fs::read(&package).map_err(|e| io_err(&package, e))?;
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
                source: Some(lc::ChaincodeSource {
                    r#type: Some(lc::chaincode_source::Type::LocalPackage(
                        lc::chaincode_source::Local { package_id },
                    )),
                }),
                ..Default::default()
            };
            let peers = vec![(conn.address.clone(), connect(&conn).await?)];
            transact(
                &def.channel,
                "_lifecycle",
                call("ApproveChaincodeDefinitionForMyOrg", a.encode_to_vec()),
                false,
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
                &def.channel,
                "_lifecycle",
                call("CommitChaincodeDefinition", c.encode_to_vec()),
                false,
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

async fn run_chaincode(command: InvokeCommand) -> Result<(), PeerError> {
    match command {
        InvokeCommand::Invoke {
            channel,
            name,
            ctor,
            is_init,
            targets,
            orderer,
            conn,
        } => {
            let peers = endorsers(&targets, &conn).await?;
            transact(
                &channel,
                &name,
                transact::parse_ctor(&ctor)?,
                is_init,
                peers,
                &orderer,
                &conn,
            )
            .await
        }
        InvokeCommand::Query {
            channel,
            name,
            ctor,
            conn,
        } => {
            let out = query(&conn, &channel, &name, transact::parse_ctor(&ctor)?).await?;
            println!("{}", String::from_utf8_lossy(&out));
            Ok(())
        }
    }
}

async fn run_node(config: Option<PathBuf>) -> Result<(), PeerError> {
    let path = config.unwrap_or_else(|| weft_common::node::config_file::default_path("core.yaml"));
    let file = weft_peer::config::PeerConfig::load(&path)?;
    file.warn_ignored("core.yaml");
    let config = file.config;
    let listeners = weft_peer::node::Listeners::bind(&config).await?;
    let node = weft_peer::node::start_with(config, listeners, LOG_CONTROL.get().cloned()).await?;
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

async fn run_channel(command: ChannelCommand) -> Result<(), PeerError> {
    match command {
        ChannelCommand::Join { block, conn } => {
            let bytes = std::fs::read(&block).map_err(|e| io_err(&block, e))?;
            connect(&conn).await?.join(&bytes).await?;
            eprintln!("Successfully submitted proposal to join channel");
        }
        ChannelCommand::List { conn } => {
            println!("Channels peers has joined:");
            for c in connect(&conn).await?.channels().await? {
                println!("{c}");
            }
        }
        ChannelCommand::Getinfo { channel, conn } => {
            let info = connect(&conn).await?.chain_info(&channel).await?;
            println!(
                "Blockchain info: {}",
                serde_json::json!({
                    "height": info.height,
                    "currentBlockHash": base64_std(&info.current_block_hash),
                    "previousBlockHash": base64_std(&info.previous_block_hash),
                })
            );
        }
        ChannelCommand::Fetch {
            which,
            output,
            channel,
            conn,
        } => {
            let bytes = connect(&conn).await?.block(&channel, which).await?;
            let block = weft_protos::common::Block::decode(bytes.as_slice()).map_err(|e| {
                PeerError::Remote(format!("the peer sent an undecodable block: {e}"))
            })?;
            let number = block.header.map_or(0, |h| h.number);
            let output = output.unwrap_or_else(|| {
                let name = match which {
                    BlockSelector::Newest => "newest".to_string(),
                    BlockSelector::Oldest => "oldest".to_string(),
                    BlockSelector::Config => "config".to_string(),
                    BlockSelector::Number(n) => n.to_string(),
                };
                PathBuf::from(format!("{channel}_{name}.block"))
            });
            std::fs::write(&output, &bytes).map_err(|e| io_err(&output, e))?;
            eprintln!("Received block: {number} → {}", output.display());
        }
    }
    Ok(())
}

/// Standard base64, as Fabric's CLI prints hashes.
fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn run(cli: Cli) -> Result<(), PeerError> {
    match cli.command {
        Command::Node {
            command: NodeCommand::Start { config },
        } => runtime()?.block_on(run_node(config)),
        Command::Channel { command } => runtime()?.block_on(run_channel(command)),
        Command::Chaincode { command } => runtime()?.block_on(run_chaincode(command)),
        Command::Lifecycle {
            command: LifecycleCommand::Chaincode { command },
        } => runtime()?.block_on(run_lifecycle(command)),
    }
}

/// The process's log filter, installed in `main` and served on `/logspec`.
static LOG_CONTROL: std::sync::OnceLock<
    std::sync::Arc<dyn weft_common::node::operations::LogControl>,
> = std::sync::OnceLock::new();

fn runtime() -> Result<tokio::runtime::Runtime, PeerError> {
    tokio::runtime::Runtime::new().map_err(|e| PeerError::Runtime(format!("tokio runtime: {e}")))
}

fn main() -> ExitCode {
    let log_control = weft_common::node::operations::init_logging();
    LOG_CONTROL.set(log_control).ok();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
