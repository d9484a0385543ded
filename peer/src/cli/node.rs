//! `weft-peer node start`: runs the peer from its core.yaml.

use std::path::PathBuf;

use clap::Subcommand;

use crate::PeerError;

use super::LOG_CONTROL;

#[derive(Subcommand)]
pub(crate) enum NodeCommand {
    /// Start the peer and serve until interrupted (Ctrl-C / SIGINT, or SIGTERM).
    Start {
        /// core.yaml, with Fabric's keys (any key can be overridden with a CORE_*
        /// environment variable). Default: $FABRIC_CFG_PATH/core.yaml, else ./core.yaml.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Runs the peer from its core.yaml until interrupted.
pub(crate) async fn run_node(config: Option<PathBuf>) -> Result<(), PeerError> {
    let path = config.unwrap_or_else(|| weft_common::node::config_file::default_path("core.yaml"));
    let file = crate::config::PeerConfig::load(&path)?;
    file.warn_ignored("core.yaml");
    let config = file.config;
    let listeners = crate::node::Listeners::bind(&config).await?;
    let node = crate::node::start_with(config, listeners, LOG_CONTROL.get().cloned()).await?;
    weft_common::node::cli::stop_requested().await;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}
