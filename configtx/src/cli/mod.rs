//! The `weft-configtx` command line: crypto material, genesis blocks, org
//! definitions, channel changes and their signature round, and protobuf
//! inspection. The binary only calls [`main`].

mod channel;
mod connection;
mod update;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::channel_update::{
    org_definition, org_definition_json, read_config_block, update_between,
};
use crate::profile::ConfigtxFile;
use crate::protolator::{Protolator, TOP_LEVEL_TYPES};
use crate::{ConfigtxError, cryptogen, genesis};
use clap::{Parser, Subcommand, ValueEnum};
use connection::{Admin, Orderer};
use prost::Message;
use weft_common::ids::ChannelId;
use weft_common::pki::KeyType;

#[derive(Parser)]
#[command(
    name = "weft-configtx",
    version,
    about = "Generate crypto material and channel genesis blocks, change channels, and inspect Fabric protobufs.\n\nOutput works with Fabric's own tools: MSP folders in Fabric's layout, genesis blocks, org definitions and config updates in Fabric's formats."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Crypto material (like Fabric's cryptogen).
    Crypto {
        #[command(subcommand)]
        command: CryptoCommand,
    },
    /// Write a channel genesis block from a configtx.yaml profile.
    ///
    /// Example: weft-configtx genesis --config configtx.yaml --profile
    /// TwoOrgsApplicationGenesis --channel mychannel --output mychannel.block
    Genesis {
        /// Fabric-format configtx.yaml (Organizations, Capabilities, Application, Orderer, Channel, Consortiums, Profiles).
        #[arg(long, default_value = "configtx.yaml")]
        config: PathBuf,
        /// The profile to use.
        #[arg(long)]
        profile: String,
        /// Channel name (lowercase letters, digits, '.', '-').
        #[arg(long)]
        channel: String,
        /// Where to write the block.
        #[arg(long)]
        output: PathBuf,
    },
    /// Change a channel: each verb writes a config update signed by this admin.
    Channel {
        #[command(subcommand)]
        command: channel::ChannelCommand,
    },
    /// Config updates passed between admins for signatures, and submitted.
    Update {
        #[command(subcommand)]
        command: update::UpdateCommand,
    },
    /// Certificates and when they expire.
    Cert {
        #[command(subcommand)]
        command: CertCommand,
    },
    /// Organisation definitions.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Write a block of a channel, read from an orderer (Fabric's `peer
    /// channel fetch`): `config` (the newest config block, what the channel
    /// verbs read), `oldest` (the genesis block a new peer joins with),
    /// `newest` or a number.
    ///
    /// Example: CORE_PEER_MSPCONFIGPATH=org1/users/Admin@org1.example.com/msp
    /// CORE_PEER_LOCALMSPID=Org1MSP weft-configtx fetch config config.block
    /// -c mychannel -o orderer.example.com:7050 --cafile tlsca.example.com-cert.pem
    Fetch {
        /// config, oldest, newest or a block number.
        which: Which,
        /// The file to write.
        output: PathBuf,
        /// The channel.
        #[arg(short = 'c', long = "channelID")]
        channel: String,
        #[command(flatten)]
        orderer: Orderer,
        #[command(flatten)]
        admin: Admin,
    },
    /// The config update between two configs (like `configtxlator
    /// compute_update`), unsigned; pass it to `update sign`.
    ///
    /// Example: weft-configtx compute-update --original config.block
    /// --updated modified_config.pb --output update.pb
    ComputeUpdate {
        /// The current config: a config block or a `common.Config`.
        #[arg(long)]
        original: PathBuf,
        /// The wanted config: a `common.Config` (e.g. from `encode --type common.Config`) or a config block.
        #[arg(long)]
        updated: PathBuf,
        /// Where to write the update (a `common.ConfigUpdate`).
        #[arg(long)]
        output: PathBuf,
    },
    /// Decode a protobuf file to JSON (like `configtxlator proto_decode`).
    ///
    /// Example: weft-configtx inspect config.block > config.json
    Inspect {
        /// The file to decode.
        file: PathBuf,
        /// Message type; by default tried in order: common.Block, common.Envelope, ...
        #[arg(long = "type")]
        type_name: Option<String>,
    },
    /// Encode JSON (as `inspect` prints it) back to protobuf (like `configtxlator proto_encode`).
    ///
    /// Example: weft-configtx encode modified_config.json --type common.Config
    /// --output modified_config.pb
    Encode {
        /// The JSON file.
        file: PathBuf,
        /// Message type of the JSON.
        #[arg(long = "type", default_value = "common.Block")]
        type_name: String,
        /// Where to write the bytes.
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Print an organisation's definition as JSON (Fabric's `configtxgen
    /// -printOrg`): what a new org hands the channel's admins to add it.
    ///
    /// Example: weft-configtx org print Org3MSP --config configtx.yaml > org3.json
    Print {
        /// The organisation's Name or ID in the file's Organizations.
        org: String,
        /// configtx.yaml with a top-level Organizations list.
        #[arg(long, default_value = "configtx.yaml")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum CertCommand {
    /// List every certificate of channel configs and of crypto folders with
    /// its expiry, soonest first; fail (exit status 1) if any has expired or
    /// expires within the warning window.
    ///
    /// Example: weft-configtx cert check --config-block config.block
    /// organizations/ --warn-days 30
    Check {
        /// Folders or PEM files (MSP folders, a whole crypto folder, TLS certificates).
        paths: Vec<PathBuf>,
        /// Config blocks: every CA, admin and consenter certificate of the channel.
        #[arg(long = "config-block")]
        config_blocks: Vec<PathBuf>,
        /// Warn about certificates expiring within this many days.
        #[arg(long, default_value_t = 30)]
        warn_days: i64,
        /// List every certificate, not only the due ones.
        #[arg(long)]
        all: bool,
    },
}

/// Which block `fetch` reads.
#[derive(Clone, Copy, Debug)]
enum Which {
    Config,
    Newest,
    Oldest,
    Number(u64),
}

impl std::str::FromStr for Which {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "config" => Ok(Which::Config),
            "newest" => Ok(Which::Newest),
            "oldest" => Ok(Which::Oldest),
            n => n
                .parse()
                .map(Which::Number)
                .map_err(|_| format!("{n:?}: use config, newest, oldest or a block number")),
        }
    }
}

#[derive(Subcommand)]
enum CryptoCommand {
    /// Generate CAs, node and user identities and TLS certificates in Fabric's MSP layout.
    ///
    /// Example: weft-configtx crypto generate --config crypto-config.yaml --output crypto-config
    Generate {
        /// crypto-config.yaml (OrdererOrgs, PeerOrgs), as for Fabric's cryptogen.
        #[arg(long, default_value = "crypto-config.yaml")]
        config: PathBuf,
        /// Output directory (ordererOrganizations/ and peerOrganizations/ are created in it).
        #[arg(long, default_value = "crypto-config")]
        output: PathBuf,
        /// Key algorithm.
        #[arg(long, value_enum, default_value_t = KeyTypeArg::Ecdsa)]
        key_type: KeyTypeArg,
    },
    /// Add what crypto-config.yaml has and the material lacks (new orgs, new nodes and users of
    /// existing orgs, issued by their existing CAs); nothing that exists changes.
    ///
    /// Example: weft-configtx crypto extend --config crypto-config.yaml --input crypto-config
    Extend {
        /// crypto-config.yaml, as for Fabric's cryptogen.
        #[arg(long, default_value = "crypto-config.yaml")]
        config: PathBuf,
        /// The material to extend (as Fabric's `cryptogen extend --input`).
        #[arg(long, default_value = "crypto-config")]
        input: PathBuf,
        /// Key algorithm of new organisations.
        #[arg(long, value_enum, default_value_t = KeyTypeArg::Ecdsa)]
        key_type: KeyTypeArg,
    },
}

impl KeyTypeArg {
    fn key_type(self) -> KeyType {
        match self {
            KeyTypeArg::Ecdsa => KeyType::EcdsaP256,
            KeyTypeArg::Ed25519 => KeyType::Ed25519,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyTypeArg {
    /// ECDSA P-256 (Fabric's default)
    Ecdsa,
    /// Ed25519
    Ed25519,
}

async fn run(cli: Cli) -> Result<(), ConfigtxError> {
    match cli.command {
        Command::Crypto {
            command:
                CryptoCommand::Generate {
                    config,
                    output,
                    key_type,
                },
        } => {
            let cfg = cryptogen::load_config(&config)?;
            for org in cryptogen::generate(&cfg, &output, key_type.key_type())? {
                println!("{}", org.display());
            }
        }
        Command::Crypto {
            command:
                CryptoCommand::Extend {
                    config,
                    input,
                    key_type,
                },
        } => {
            let cfg = cryptogen::load_config(&config)?;
            for org in cryptogen::extend(&cfg, &input, key_type.key_type())? {
                println!("{}", org.display());
            }
        }
        Command::Genesis {
            config,
            profile,
            channel,
            output,
        } => {
            let channel = ChannelId::parse(&channel)?;
            let file = ConfigtxFile::load(&config)?;
            let block = genesis::genesis_block(&file, &profile, &channel)?;
            std::fs::write(&output, block.encode_to_vec())
                .map_err(|e| ConfigtxError::io(&output, e))?;
            tracing::info!(channel = %channel, profile, output = %output.display(), "wrote genesis block");
        }
        Command::Channel { command } => channel::run(command)?,
        Command::Update { command } => update::run(command).await?,
        Command::Cert {
            command:
                CertCommand::Check {
                    paths,
                    config_blocks,
                    warn_days,
                    all,
                },
        } => {
            use weft_common::msp::expiry;
            if paths.is_empty() && config_blocks.is_empty() {
                return Err(ConfigtxError::Usage(
                    "name folders, PEM files or --config-block blocks to check".into(),
                ));
            }
            let mut certs = Vec::new();
            for block in &config_blocks {
                certs.extend(expiry::in_config(&read_config_block(block)?.config));
            }
            for path in &paths {
                if !path.exists() {
                    return Err(ConfigtxError::io(path, "no such file or folder"));
                }
                certs.extend(expiry::in_files(path));
            }
            let report = expiry::report(
                &certs,
                weft_common::clock::unix_now(),
                warn_days * 86_400,
                all,
            );
            println!("{}", report.text);
            if report.expired + report.soon > 0 {
                return Err(ConfigtxError::CertificatesDue {
                    expired: report.expired,
                    soon: report.soon,
                    days: warn_days,
                });
            }
        }
        Command::Org {
            command: OrgCommand::Print { org, config },
        } => {
            let file = ConfigtxFile::load(&config)?;
            println!("{}", org_definition_json(&org_definition(&file, &org)?)?);
        }
        Command::Fetch {
            which,
            output,
            channel,
            orderer,
            admin,
        } => {
            use weft_common::node::orderer_client::{BlockWanted, config_block, deliver_block};
            let channel_id = ChannelId::parse(&channel)?;
            let admin = admin.load()?;
            let (conn, hash) = orderer.connect().await?;
            let at = orderer.orderer.as_str();
            let block = match which {
                Which::Config => config_block(conn, at, &channel_id, &admin, hash).await?,
                Which::Newest => {
                    deliver_block(conn, at, &channel_id, BlockWanted::Newest, &admin, hash).await?
                }
                Which::Oldest => {
                    deliver_block(conn, at, &channel_id, BlockWanted::Oldest, &admin, hash).await?
                }
                Which::Number(n) => {
                    let wanted = BlockWanted::Number(n);
                    deliver_block(conn, at, &channel_id, wanted, &admin, hash).await?
                }
            };
            std::fs::write(&output, block.encode_to_vec())
                .map_err(|e| ConfigtxError::io(&output, e))?;
            eprintln!(
                "Received block: {} → {}",
                block.header.map_or(0, |h| h.number),
                output.display()
            );
        }
        Command::ComputeUpdate {
            original,
            updated,
            output,
        } => {
            let current = read_config_block(&original).or_else(|_| read_config(&original, None))?;
            let wanted = read_config(&updated, Some(&current.channel_id))?;
            let update = update_between(&current, &wanted.config)?;
            std::fs::write(&output, &update.envelope.config_update)
                .map_err(|e| ConfigtxError::io(&output, e))?;
        }
        Command::Inspect { file, type_name } => {
            let bytes = std::fs::read(&file).map_err(|e| ConfigtxError::io(&file, e))?;
            let p = Protolator::new();
            let json = match type_name {
                Some(t) => p.decode(&t, &bytes)?,
                None => TOP_LEVEL_TYPES
                    .iter()
                    .find_map(|t| p.decode(t, &bytes).ok().filter(|j| looks_populated(t, j)))
                    .ok_or_else(|| {
                        ConfigtxError::Decode(format!(
                            "{}: not a block, envelope or other known message; pass --type",
                            file.display()
                        ))
                    })?,
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&json).expect("JSON values serialise")
            );
        }
        Command::Encode {
            file,
            type_name,
            output,
        } => {
            let text = std::fs::read(&file).map_err(|e| ConfigtxError::io(&file, e))?;
            let json: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| ConfigtxError::Decode(format!("{}: {e}", file.display())))?;
            let bytes = Protolator::new().encode(&type_name, &json)?;
            std::fs::write(&output, bytes).map_err(|e| ConfigtxError::io(&output, e))?;
        }
    }
    Ok(())
}

/// Protobuf decoding is permissive; when guessing the type, require the fields that make it that type.
fn looks_populated(type_name: &str, json: &serde_json::Value) -> bool {
    let has = |k: &str| json.get(k).is_some_and(|v| !v.is_null());
    match type_name {
        "common.Block" => has("header") && has("data"),
        "common.Envelope" => has("payload"),
        "common.Payload" => has("header"),
        _ => true,
    }
}

/// A `common.Config` file, or the config in a config block.
fn read_config(
    path: &std::path::Path,
    channel: Option<&ChannelId>,
) -> Result<weft_common::config::ChannelConfig, ConfigtxError> {
    if let Ok(c) = read_config_block(path) {
        return Ok(c);
    }
    let bytes = std::fs::read(path).map_err(|e| ConfigtxError::io(path, e))?;
    let config = weft_protos::common::Config::decode(bytes.as_slice())
        .ok()
        .filter(|c| c.channel_group.is_some())
        .ok_or_else(|| {
            ConfigtxError::Decode(format!(
                "{}: neither a config block nor a common.Config",
                path.display()
            ))
        })?;
    let channel = channel
        .cloned()
        .unwrap_or_else(|| ChannelId::new("unnamed"));
    Ok(weft_common::config::ChannelConfig::from_config(
        channel, &config,
    )?)
}

/// Runs a command line (program name first) in this process, as the binary
/// runs it; what tests and embedding tools call.
pub async fn run_args<I, T>(args: I) -> Result<(), ConfigtxError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| ConfigtxError::Usage(e.to_string()))?;
    run(cli).await
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    weft_common::node::cli::run_async("info", run(Cli::parse()))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Words as a shell splits them (double quotes group; nothing else).
    fn shell_words(text: &str) -> Vec<String> {
        let (mut words, mut word, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
        for c in text.chars() {
            match c {
                '"' => (quoted, any) = (!quoted, true),
                c if c.is_whitespace() && !quoted => {
                    if any {
                        words.push(std::mem::take(&mut word));
                    }
                    any = false;
                }
                c => {
                    word.push(c);
                    any = true;
                }
            }
        }
        if any {
            words.push(word);
        }
        words
    }

    /// Every command a user runs says, in its `--help`, how to run it.
    #[test]
    fn every_command_has_an_example_in_its_help() {
        fn leaves(cmd: &clap::Command, path: String, out: &mut Vec<(String, String)>) {
            let subs: Vec<_> = cmd
                .get_subcommands()
                .filter(|c| c.get_name() != "help")
                .collect();
            if subs.is_empty() {
                let help = cmd
                    .get_long_about()
                    .or(cmd.get_about())
                    .map(|a| a.to_string());
                out.push((path.clone(), help.unwrap_or_default()));
            }
            for sub in subs {
                leaves(sub, format!("{path} {}", sub.get_name()), out);
            }
        }
        let mut all = Vec::new();
        leaves(&super::Cli::command(), "weft-configtx".into(), &mut all);
        assert!(all.len() >= 20, "{all:?}");
        let missing: Vec<_> = all
            .iter()
            .filter(|(_, help)| {
                !help
                    .split_once("Example: ")
                    .is_some_and(|(_, example)| example.contains("weft-configtx "))
            })
            .map(|(p, _)| p.as_str())
            .collect();
        assert!(missing.is_empty(), "no example in the help of: {missing:?}");
        // Each example parses as the command line it shows.
        for (path, help) in &all {
            let example = help.split_once("Example: ").map(|(_, e)| e).unwrap_or("");
            // Up to the first `;` or `>` (a second command, a redirection).
            let mut words = Vec::new();
            for w in shell_words(example)
                .into_iter()
                .skip_while(|w| w.contains('='))
            {
                if w == ">" {
                    break;
                }
                if let Some(last) = w.strip_suffix(';') {
                    words.push(last.to_string());
                    break;
                }
                words.push(w);
            }
            if let Err(e) = <super::Cli as clap::Parser>::try_parse_from(&words) {
                panic!("{path}: its example {words:?} does not parse: {e}");
            }
        }
    }
}
