//! `weft-network events`: a chaincode's events as they commit.

use std::path::PathBuf;

use clap::Args;
use futures::StreamExt;
use weft_client_sdk::events::EventStart;

use super::say;
use crate::{NetworkError, NetworkInfo};

/// Print a chaincode's events as they commit (Ctrl-C to stop).
#[derive(Args)]
pub(crate) struct EventsArgs {
    /// Chaincode.
    #[arg(short = 'n', long, default_value = "basic")]
    pub(crate) chaincode: String,
    /// Start at this block (default: only new events).
    #[arg(long)]
    pub(crate) from_block: Option<u64>,
    /// Checkpoint file: resume from it, and record each event printed.
    #[arg(long)]
    pub(crate) checkpoint: Option<PathBuf>,
}

/// Print a chaincode's events as they commit (Ctrl-C to stop).
pub(crate) async fn run(dir: PathBuf, args: EventsArgs) -> Result<(), NetworkError> {
    let EventsArgs {
        chaincode,
        from_block,
        checkpoint,
    } = args;
    use weft_client_sdk::checkpoint::{Checkpointer, FileCheckpointer};
    let info = NetworkInfo::load(&dir)?;
    let network = info
        .gateway(&info.orgs[0].msp_id)
        .await?
        .network(&info.channel);
    let fresh = from_block.map_or(EventStart::Newest, EventStart::Block);
    let cp = checkpoint
        .as_deref()
        .map(FileCheckpointer::open)
        .transpose()?;
    let start = match &cp {
        Some(c) => EventStart::resume(c, fresh),
        None => fresh,
    };
    let mut events = network.chaincode_events(&chaincode, start).await?;
    say(&format!(
        "listening for {chaincode} events on {} (Ctrl-C to stop)",
        info.channel
    ));
    while let Some(e) = events.next().await {
        let e = e?;
        println!(
            "block {} tx {} {}: {}",
            e.block_number,
            e.tx_id,
            e.name,
            String::from_utf8_lossy(&e.payload)
        );
        if let Some(c) = &cp {
            c.checkpoint_chaincode_event(&e)?;
        }
    }
    Ok(())
}
