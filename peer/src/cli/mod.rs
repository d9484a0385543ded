//! The `weft-peer` command line: runs a peer (`node start`), administers it
//! (`channel ...`) and manages chaincode (`lifecycle chaincode ...`,
//! `chaincode invoke|query`). One module per subcommand; the binary only
//! calls [`main`].

mod chaincode;
mod channel;
mod connection;
mod lifecycle;
mod node;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::PeerError;
use chaincode::{InvokeCommand, run_chaincode};
use channel::{ChannelCommand, run_channel};
use lifecycle::{LifecycleCommand, run_lifecycle};
use node::{NodeCommand, run_node};

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

/// Parses the command line, runs the command and turns its outcome into the
/// process's exit status (the error printed on stderr).
pub fn main() -> ExitCode {
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
