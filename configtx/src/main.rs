//! `weft-configtx`: crypto material, channel genesis blocks and protobuf inspection.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use prost::Message;
use weft_common::ids::ChannelId;
use weft_common::pki::KeyType;
use weft_configtx::profile::ConfigtxFile;
use weft_configtx::protolator::{Protolator, TOP_LEVEL_TYPES};
use weft_configtx::update_file::UpdateFile;
use weft_configtx::{ConfigtxError, cryptogen, genesis};

#[derive(Parser)]
#[command(
    name = "weft-configtx",
    version,
    about = "Generate crypto material and channel genesis blocks, and inspect Fabric protobufs.\n\nOutput works with Fabric's own tools: MSP folders in Fabric's layout, genesis blocks in Fabric's format."
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
    /// Config updates passed between admins for signatures.
    Update {
        #[command(subcommand)]
        command: UpdateCommand,
    },
    /// Decode a protobuf file to JSON (like `configtxlator proto_decode`).
    Inspect {
        /// The file to decode.
        file: PathBuf,
        /// Message type; by default tried in order: common.Block, common.Envelope, ...
        #[arg(long = "type")]
        type_name: Option<String>,
    },
    /// Encode JSON (as `inspect` prints it) back to protobuf (like `configtxlator proto_encode`).
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
enum UpdateCommand {
    /// Add this admin's signature to a config update file, in place (Fabric's
    /// `peer channel signconfigtx`). The file passes from admin to admin
    /// until `update inspect` says it is ready.
    ///
    /// Example: CORE_PEER_MSPCONFIGPATH=org2/users/Admin@org2.example.com/msp
    /// CORE_PEER_LOCALMSPID=Org2MSP weft-configtx update sign org3_update.pb
    Sign {
        /// A CONFIG_UPDATE envelope, or a bare config update (compute-update's output).
        file: PathBuf,
        /// The signing admin's MSP folder.
        #[arg(long, env = "CORE_PEER_MSPCONFIGPATH")]
        msp: PathBuf,
        /// The signing admin's MSP id.
        #[arg(long, env = "CORE_PEER_LOCALMSPID")]
        msp_id: String,
    },
    /// Show what a config update changes, whose signatures it has, and who
    /// must still sign, against the channel's current config.
    ///
    /// Example: weft-peer channel fetch config config.block -c mychannel;
    /// weft-configtx update inspect org3_update.pb --config-block config.block
    Inspect {
        /// The update file.
        file: PathBuf,
        /// The channel's newest config block.
        #[arg(long)]
        config_block: PathBuf,
    },
}

#[derive(Subcommand)]
enum CryptoCommand {
    /// Generate CAs, node and user identities and TLS certificates in Fabric's MSP layout.
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
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyTypeArg {
    /// ECDSA P-256 (Fabric's default)
    Ecdsa,
    /// Ed25519
    Ed25519,
}

fn run(cli: Cli) -> Result<(), ConfigtxError> {
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
            let key_type = match key_type {
                KeyTypeArg::Ecdsa => KeyType::EcdsaP256,
                KeyTypeArg::Ed25519 => KeyType::Ed25519,
            };
            for org in cryptogen::generate(&cfg, &output, key_type)? {
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
        Command::Update {
            command: UpdateCommand::Sign { file, msp, msp_id },
        } => {
            let admin = weft_common::msp::folder::load_signing_identity(
                &msp,
                &weft_common::ids::MspId::new(&msp_id),
            )?;
            let mut update = UpdateFile::read(&file)?;
            update.sign(&admin)?;
            update.write(&file, &admin)?;
            eprintln!(
                "{} signed by {msp_id}: it has {} signature(s)",
                file.display(),
                update.envelope.signatures.len()
            );
        }
        Command::Update {
            command: UpdateCommand::Inspect { file, config_block },
        } => {
            let review = UpdateFile::read(&file)?.review(&config_block)?;
            println!("{review}");
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

fn main() -> ExitCode {
    weft_common::node::cli::init_stderr_logging("info");
    weft_common::node::cli::exit_code(run(Cli::parse()))
}
