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
        /// core.yaml (keys can be overridden with CORE_* environment variables).
        #[arg(long, default_value = "core.yaml")]
        config: PathBuf,
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

async fn run_node(config: PathBuf) -> Result<(), PeerError> {
    let config = weft_peer::config::PeerConfig::load(&config)?;
    let listeners = weft_peer::node::Listeners::bind(&config).await?;
    let node = weft_peer::node::start(config, listeners).await?;
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
    let command = match cli.command {
        Command::Node {
            command: NodeCommand::Start { config },
        } => {
            return runtime()?.block_on(run_node(config));
        }
        Command::Channel { command } => return runtime()?.block_on(run_channel(command)),
        Command::Lifecycle {
            command: LifecycleCommand::Chaincode { command },
        } => command,
    };
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
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, PeerError> {
    tokio::runtime::Runtime::new().map_err(|e| PeerError::Runtime(format!("tokio runtime: {e}")))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
