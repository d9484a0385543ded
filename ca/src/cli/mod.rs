//! The `weft-ca` command line: `server` and `client` (one module per command
//! family); the binary only calls [`main`].

mod affiliation;
mod client;
mod identity;
mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use client::{ClientArgs, ClientCmd, run_client};
use server::{ServerCmd, init};

/// The body of a call that sends none.
const NO_BODY: Option<&()> = None;

#[derive(Parser)]
#[command(
    name = "weft-ca",
    version,
    about = "A certificate authority with Fabric CA's REST API (enroll, register), identities in SQLite."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

// Parsed once at start-up: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// The CA server.
    Server {
        #[command(subcommand)]
        command: ServerCmd,
    },
    /// Fabric CA's client: enroll into an MSP folder, register, revoke, get CRLs.
    Client {
        #[command(flatten)]
        conn: ClientArgs,
        #[command(subcommand)]
        command: ClientCmd,
    },
}

async fn run(cli: Cli) -> Result<(), crate::CaError> {
    match cli.command {
        Cmd::Client { conn, command } => run_client(conn, command).await?,
        Cmd::Server { command } => match command {
            ServerCmd::Init(args) => {
                let config = init(&args).await?;
                println!("CA initialised in {}", config.home.display());
            }
            ServerCmd::Start(args) => {
                let config = init(&args).await?;
                let addr = config.listen()?;
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| crate::CaError::Config(format!("cannot listen on {addr}: {e}")))?;
                let handle = crate::server::start(config, listener).await?;
                eprintln!("weft-ca listening on {}", handle.addr);
                weft_common::node::cli::stop_requested().await;
                handle.shutdown().await;
            }
        },
    }
    Ok(())
}

/// Parses the command line and runs the command (errors on stderr, exit status 1).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    weft_common::node::cli::run_async("info", run(cli))
}
