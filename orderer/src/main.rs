//! `weft-orderer`: runs an ordering node.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weft_orderer::config::OrdererConfig;
use weft_orderer::node::{Listeners, start_with};

/// Blocks are hundreds of kilobytes and are encoded, copied and freed many
/// times each; mimalloc reuses those pages where glibc's allocator gives them
/// back and takes page faults to get them again (see ARCHITECTURE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "weft-orderer",
    version,
    about = "The weft ordering service: Raft per channel, Broadcast and Deliver, channel participation.\n\nChannels are joined through the channel participation API (osnadmin-compatible) on the admin listener."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the orderer and serve until interrupted (Ctrl-C / SIGINT).
    Start {
        /// orderer.yaml, with Fabric's keys (any key can be overridden with an ORDERER_*
        /// environment variable). Default: $FABRIC_CFG_PATH/orderer.yaml, else ./orderer.yaml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let log_control = weft_common::node::operations::init_logging();

    let Command::Start { config } = Cli::parse().command;
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async move {
        let path =
            config.unwrap_or_else(|| weft_common::node::config_file::default_path("orderer.yaml"));
        let file = OrdererConfig::load(&path)?;
        file.warn_ignored("orderer.yaml");
        let config = file.config;
        let listeners = Listeners::bind(&config).await?;
        let node = start_with(config, listeners, Some(log_control)).await?;
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        node.shutdown().await;
        Ok::<(), weft_orderer::OrdererError>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
