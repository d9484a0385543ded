//! `weft-peer channel ...`: joins a peer to channels and reads its ledgers, as
//! Fabric's `peer channel`.

use std::path::PathBuf;

use clap::Subcommand;
use prost::Message;

use crate::PeerError;
use crate::admin::BlockSelector;

use super::connection::{Connection, base64_std, connect};

#[derive(Subcommand)]
pub(crate) enum ChannelCommand {
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

/// Runs `channel ...`.
pub(crate) async fn run_channel(command: ChannelCommand) -> Result<(), PeerError> {
    match command {
        ChannelCommand::Join { block, conn } => {
            let bytes = std::fs::read(&block).map_err(PeerError::file(&block))?;
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
            std::fs::write(&output, &bytes).map_err(PeerError::file(&output))?;
            eprintln!("Received block: {number} → {}", output.display());
        }
    }
    Ok(())
}
