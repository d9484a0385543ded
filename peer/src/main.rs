//! `weft-peer`: the peer's command line. So far: chaincode packaging.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weft_peer::package;

#[derive(Parser)]
#[command(
    name = "weft-peer",
    version,
    about = "The weft peer. So far: building and packaging WASM chaincode (the node, channel and lifecycle commands come with the peer issues)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Chaincode lifecycle commands, as Fabric's `peer lifecycle`.
    Lifecycle {
        #[command(subcommand)]
        command: LifecycleCommand,
    },
}

#[derive(Subcommand)]
enum LifecycleCommand {
    /// Chaincode packages.
    Chaincode {
        #[command(subcommand)]
        command: ChaincodeCommand,
    },
}

#[derive(Subcommand)]
enum ChaincodeCommand {
    /// Package a chaincode: a WASM module, or a Rust contract crate built with --build.
    Package {
        /// The package file to write (e.g. basic.tar.gz).
        output: PathBuf,
        /// A .wasm module, or a contract crate directory with --build.
        #[arg(long)]
        path: PathBuf,
        /// The label (e.g. basic_1.0).
        #[arg(long)]
        label: String,
        /// Build the crate at --path to WASM first.
        #[arg(long)]
        build: bool,
        /// Accepted for Fabric compatibility; only "wasm" (or "rust") is supported.
        #[arg(long, default_value = "wasm")]
        lang: String,
    },
    /// Print the package ID of a package file.
    Calculatepackageid {
        /// The package file.
        file: PathBuf,
    },
}

fn run(cli: Cli) -> Result<(), weft_peer::PeerError> {
    let Command::Lifecycle {
        command: LifecycleCommand::Chaincode { command },
    } = cli.command;
    match command {
        ChaincodeCommand::Package {
            output,
            path,
            label,
            build,
            lang,
        } => {
            if lang != "wasm" && lang != "rust" {
                return Err(weft_peer::PeerError::InvalidChaincode(format!(
                    "--lang {lang}: weft runs WASM chaincode (use wasm or rust)"
                )));
            }
            let wasm_path = if build {
                package::build_wasm(&path, None)?
            } else {
                path
            };
            let wasm = std::fs::read(&wasm_path).map_err(|e| {
                weft_peer::PeerError::Runtime(format!("{}: {e}", wasm_path.display()))
            })?;
            let bytes = package::package(&label, &wasm)?;
            package::write_package(&output, &bytes)?;
            println!("{}", package::package_id(&label, &bytes));
        }
        ChaincodeCommand::Calculatepackageid { file } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| weft_peer::PeerError::Runtime(format!("{}: {e}", file.display())))?;
            let p = package::parse(&bytes)?;
            println!("{}", package::package_id(&p.label, &bytes));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
