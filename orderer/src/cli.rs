//! The `weft-orderer` command line: `start` runs the node; `channel ...`
//! are Fabric's `osnadmin` verbs against an orderer's admin endpoint, with
//! osnadmin's flags. The binary only sets the allocator and calls [`main`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::OrdererError;
use crate::config::OrdererConfig;
use crate::node::{Listeners, start_with};
use crate::osnadmin::{Answer, ParticipationClient};

#[derive(Parser)]
#[command(
    name = "weft-orderer",
    version,
    about = "The weft ordering service: Raft per channel, Broadcast and Deliver, channel participation.\n\nChannels are joined through the channel participation API (osnadmin-compatible) on the admin listener; `weft-orderer channel` is its client."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the orderer and serve until interrupted (Ctrl-C / SIGINT, or SIGTERM).
    ///
    /// Example: weft-orderer start --config orderer/samples/orderer.yaml
    Start {
        /// orderer.yaml, with Fabric's keys (any key can be overridden with an ORDERER_*
        /// environment variable). Default: $FABRIC_CFG_PATH/orderer.yaml, else ./orderer.yaml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Channel participation, as Fabric's `osnadmin channel`.
    Channel {
        #[command(flatten)]
        admin: AdminFlags,
        #[command(subcommand)]
        command: ChannelCommand,
    },
}

/// osnadmin's connection flags.
#[derive(Args)]
struct AdminFlags {
    /// Admin endpoint of the orderer (host:port).
    #[arg(short = 'o', long = "orderer-address", global = true)]
    orderer: Option<String>,
    /// PEM TLS CA certificate(s) of the orderer; without it, plain HTTP.
    #[arg(long = "ca-file", global = true)]
    ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS.
    #[arg(long = "client-cert", global = true)]
    client_cert: Option<PathBuf>,
    /// PEM key of --client-cert.
    #[arg(long = "client-key", global = true)]
    client_key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ChannelCommand {
    /// Join the orderer to a channel with its genesis or newest config block.
    ///
    /// Example: weft-orderer channel join -o 127.0.0.1:7053 --ca-file tlsca.pem
    /// --client-cert admin/tls/client.crt --client-key admin/tls/client.key
    /// -c mychannel -b mychannel.block
    Join {
        /// The channel.
        #[arg(short = 'c', long = "channelID")]
        channel: String,
        /// The config block.
        #[arg(short = 'b', long = "config-block")]
        config_block: PathBuf,
    },
    /// List the orderer's channels, or one channel's details.
    ///
    /// Example: weft-orderer channel list -o 127.0.0.1:7053 --ca-file tlsca.pem
    /// --client-cert admin/tls/client.crt --client-key admin/tls/client.key
    List {
        /// One channel's details.
        #[arg(short = 'c', long = "channelID")]
        channel: Option<String>,
    },
    /// Remove the orderer from a channel.
    ///
    /// Example: weft-orderer channel remove -o 127.0.0.1:7053 --ca-file tlsca.pem
    /// --client-cert admin/tls/client.crt --client-key admin/tls/client.key -c mychannel
    Remove {
        /// The channel.
        #[arg(short = 'c', long = "channelID")]
        channel: String,
    },
    /// Submit a signed config update envelope (`weft-configtx update sign`'s
    /// file), as Fabric 3.1's `osnadmin channel update`.
    ///
    /// Example: weft-orderer channel update -o 127.0.0.1:7053 --ca-file tlsca.pem
    /// --client-cert admin/tls/client.crt --client-key admin/tls/client.key
    /// -c mychannel -e org3_update.pb
    Update {
        /// The channel.
        #[arg(short = 'c', long = "channelID")]
        channel: String,
        /// The CONFIG_UPDATE envelope.
        #[arg(short = 'e', long = "config-update-envelope")]
        envelope: PathBuf,
    },
    /// Write a block of a channel to a file, as Fabric 3.1's `osnadmin channel fetch`.
    ///
    /// Example: weft-orderer channel fetch -o 127.0.0.1:7053 --ca-file tlsca.pem
    /// --client-cert admin/tls/client.crt --client-key admin/tls/client.key
    /// -c mychannel -b config -f config.block
    Fetch {
        /// The channel.
        #[arg(short = 'c', long = "channelID")]
        channel: String,
        /// newest, oldest, config or a block number.
        #[arg(short = 'b', long = "blockID")]
        block: String,
        /// Where to write it.
        #[arg(short = 'f', long = "outputfile")]
        output: PathBuf,
    },
}

fn read(path: &PathBuf) -> Result<Vec<u8>, OrdererError> {
    std::fs::read(path).map_err(|e| OrdererError::NodeConfig(format!("{}: {e}", path.display())))
}

/// Prints an answer as osnadmin does (`Status: 201` and the JSON body).
fn print(answer: &Answer) {
    println!("Status: {}", answer.status);
    match serde_json::from_slice::<serde_json::Value>(&answer.body) {
        Ok(json) => println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("JSON values serialise")
        ),
        Err(_) if answer.body.is_empty() => {}
        Err(_) => println!("{}", String::from_utf8_lossy(&answer.body)),
    }
}

fn usage(msg: impl Into<String>) -> OrdererError {
    OrdererError::NodeConfig(msg.into())
}

/// The channel a block or envelope names, to check `-c` against.
fn channel_of_block(bytes: &[u8]) -> Option<String> {
    let block = <weft_protos::common::Block as prost::Message>::decode(bytes).ok()?;
    let cfg = weft_common::config::ChannelConfig::from_block(&block).ok()?;
    Some(cfg.channel_id.to_string())
}

fn channel_of_envelope(bytes: &[u8]) -> Option<String> {
    let env = <weft_protos::common::Envelope as prost::Message>::decode(bytes).ok()?;
    let unpacked = weft_common::tx::UnpackedEnvelope::from_envelope(&env).ok()?;
    Some(unpacked.channel_header.channel_id.clone())
}

fn same_channel(flag: &str, found: Option<String>, what: &str) -> Result<(), OrdererError> {
    match found {
        Some(c) if c == flag => Ok(()),
        Some(c) => Err(usage(format!("the {what} is for channel {c}, not {flag}"))),
        None => Err(usage(format!("the {what} does not decode"))),
    }
}

/// Runs `channel ...`; an answer other than 2xx is printed and fails.
async fn channel(admin: AdminFlags, command: ChannelCommand) -> Result<(), OrdererError> {
    let address = admin
        .orderer
        .ok_or_else(|| usage("name the orderer's admin endpoint with -o/--orderer-address"))?;
    let ca = admin.ca_file.as_ref().map(read).transpose()?;
    let identity = match (&admin.client_cert, &admin.client_key) {
        (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
        (None, None) => None,
        _ => return Err(usage("--client-cert and --client-key go together")),
    };
    let client = ParticipationClient::new(
        &address,
        ca.as_deref(),
        identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
    )?;
    let answer = match command {
        ChannelCommand::Join {
            channel,
            config_block,
        } => {
            let block = read(&config_block)?;
            same_channel(&channel, channel_of_block(&block), "config block")?;
            client.join(block).await?
        }
        ChannelCommand::List { channel } => client.list(channel.as_deref()).await?,
        ChannelCommand::Remove { channel } => client.remove(&channel).await?,
        ChannelCommand::Update { channel, envelope } => {
            let bytes = read(&envelope)?;
            same_channel(
                &channel,
                channel_of_envelope(&bytes),
                "config update envelope",
            )?;
            client.update(bytes).await?
        }
        ChannelCommand::Fetch {
            channel,
            block,
            output,
        } => {
            let answer = client.fetch(&channel, &block).await?;
            if answer.ok() {
                std::fs::write(&output, &answer.body)
                    .map_err(|e| usage(format!("{}: {e}", output.display())))?;
                println!("Status: {}", answer.status);
                return Ok(());
            }
            answer
        }
    };
    print(&answer);
    if answer.ok() {
        Ok(())
    } else {
        Err(OrdererError::Participation {
            address,
            reason: format!("answered {}", answer.status),
        })
    }
}

async fn start(config: Option<PathBuf>) -> Result<(), OrdererError> {
    let log_control = weft_common::node::operations::init_logging();
    let path =
        config.unwrap_or_else(|| weft_common::node::config_file::default_path("orderer.yaml"));
    let file = OrdererConfig::load(&path)?;
    file.warn_ignored("orderer.yaml");
    let config = file.config;
    let listeners = Listeners::bind(&config).await?;
    let node = start_with(config, listeners, Some(log_control)).await?;
    weft_common::node::cli::stop_requested().await;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

/// Runs a `channel ...` command line (program name first) in this process,
/// as the binary runs it; what tests call.
pub async fn run_args<I, T>(args: I) -> Result<(), OrdererError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| usage(e.to_string()))?;
    match cli.command {
        Command::Channel { admin, command } => channel(admin, command).await,
        Command::Start { .. } => Err(usage("run_args runs channel commands only")),
    }
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Start { config } => start(config).await,
            Command::Channel { admin, command } => {
                weft_common::node::cli::init_stderr_logging("warn");
                channel(admin, command).await
            }
        }
    });
    weft_common::node::cli::exit_code(result)
}
