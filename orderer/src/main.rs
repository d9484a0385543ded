//! `weft-orderer`: runs an ordering node.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};
use weft_orderer::config::OrdererConfig;
use weft_orderer::node::{Listeners, start_with};
use weft_orderer::operations::LogControl;

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
        /// orderer.yaml (keys can be overridden with ORDERER_* environment variables).
        #[arg(long, default_value = "orderer.yaml")]
        config: PathBuf,
    },
}

/// `/logspec` backed by a reloadable `tracing` filter.
struct ReloadableFilter {
    handle: reload::Handle<EnvFilter, Registry>,
    spec: Mutex<String>,
}

impl LogControl for ReloadableFilter {
    fn get(&self) -> String {
        self.spec.lock().expect("spec lock").clone()
    }

    fn set(&self, spec: &str) -> Result<(), String> {
        let filter =
            EnvFilter::try_new(spec).map_err(|e| format!("invalid log spec {spec:?}: {e}"))?;
        self.handle.reload(filter).map_err(|e| e.to_string())?;
        *self.spec.lock().expect("spec lock") = spec.to_string();
        Ok(())
    }
}

fn main() -> ExitCode {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer())
        .init();
    let log_control: Arc<dyn LogControl> = Arc::new(ReloadableFilter {
        handle,
        spec: Mutex::new(spec),
    });

    let Command::Start { config } = Cli::parse().command;
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async move {
        let config = OrdererConfig::load(&config)?;
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
