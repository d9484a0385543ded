//! The `weft-network` command line: one module per subcommand; the binary
//! only calls [`main`].

mod bench;
mod call;
mod deploy;
mod down;
mod env;
mod events;
mod k8s;
mod logs;
mod org_setup;
mod status;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::NetworkError;

#[derive(Parser)]
#[command(
    name = "weft-network",
    version,
    about = "Stand up a local weft network in one command: Raft orderers and peers of several orgs as local processes, a channel, and chaincode deployed with Fabric's lifecycle.",
    long_about = "Stand up a local weft network in one command.\n\n`weft-network up` generates crypto and a genesis block, starts every orderer and peer as a local process (logs, data and PIDs under --dir), joins them all to the channel, deploys asset-transfer-basic and runs a transaction. Then invoke, query, watch events, deploy your own chaincode, benchmark, and `down`.\n\nDefaults follow Fabric's test network: channel mychannel, Org1 and Org2, Fabric's ports (orderer 7050, Org1's peer 7051, Org2's 9051)."
)]
struct Cli {
    /// The network's directory (crypto, configs, data, logs, PIDs, network.json).
    #[arg(
        long,
        global = true,
        env = "WEFT_NETWORK_DIR",
        default_value = ".weft-network"
    )]
    dir: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start a network, deploy asset-transfer-basic (as `basic`) and run InitLedger.
    Up(up::UpArgs),
    /// Deploy (or upgrade) a chaincode on every org: build, package, install, approve, commit.
    Deploy(deploy::DeployArgs),
    /// Submit a transaction as an org's User1 and print its result.
    Invoke(call::CallArgs),
    /// Evaluate a transaction (a query) as an org's User1 and print its result.
    Query(call::CallArgs),
    /// Print a chaincode's events as they commit (Ctrl-C to stop).
    Events(events::EventsArgs),
    /// Show every node: process, address, channel height.
    Status,
    /// Print a node's log (every node's last lines without NODE).
    Logs(logs::LogsArgs),
    /// Print shell exports for `weft-peer` as an org's admin (`source <(weft-network env Org1)`),
    /// and on a network up with `--ca`, for `weft-ca client` as the org CA's registrar.
    Env(env::EnvArgs),
    /// Load-test the network with asset-transfer-basic and report TPS and latency.
    Bench(bench::BenchArgs),
    /// Stop every node of the network (by PID) and delete its directory.
    Down(down::DownArgs),
    /// Write Kubernetes manifests for a network: one namespace (and file) per organisation.
    K8s(k8s::K8sArgs),
    /// Join one organisation's nodes to the channel and take its part in deploying a chaincode
    /// (the Kubernetes setup job's command; safe to run again).
    OrgSetup(org_setup::OrgSetupArgs),
}

/// Progress for the user, on stderr.
pub(crate) fn say(m: &str) {
    eprintln!("[weft-network] {m}");
}

async fn run(cli: Cli) -> Result<(), NetworkError> {
    let dir = cli.dir;
    match cli.command {
        Cmd::Up(args) => up::run(dir, args).await,
        Cmd::Deploy(args) => deploy::run(dir, args).await,
        Cmd::Invoke(args) => call::invoke(dir, args).await,
        Cmd::Query(args) => call::query(dir, args).await,
        Cmd::Events(args) => events::run(dir, args).await,
        Cmd::Status => status::run(dir).await,
        Cmd::Logs(args) => logs::run(dir, args).await,
        Cmd::Env(args) => env::run(dir, args).await,
        Cmd::Bench(args) => bench::run(dir, args).await,
        Cmd::Down(args) => down::run(dir, args).await,
        Cmd::K8s(args) => k8s::run(args).await,
        Cmd::OrgSetup(args) => org_setup::run(dir, args).await,
    }
}

/// Parses the command line and runs the command (errors on stderr, exit status 1).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    weft_common::node::cli::run_async("warn", run(cli))
}
