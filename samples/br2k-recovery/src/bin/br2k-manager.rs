//! `br2k-manager`: launches a service, registers it with this identity as
//! its manager, and redeploys it whenever a claim finds it down.

use std::path::PathBuf;

use br2k_recovery::manager::Manager;
use br2k_recovery::recipe::Recipe;
use br2k_recovery::registry::Registry;
use clap::Parser;
use weft_client_sdk::events::EventStart;
use weft_network::NetworkInfo;

/// Manage one service of the BR2K recovery sample on a weft network.
///
/// Example: br2k-manager --service echo -- target/debug/br2k-echo --name echo
#[derive(Parser)]
struct Args {
    /// A weft-network directory (from `weft-network up`).
    #[arg(long, default_value = ".weft-network", env = "WEFT_NETWORK_DIR")]
    network_dir: PathBuf,
    /// The organisation whose User1 manages the service.
    #[arg(long, default_value = "Org1MSP")]
    org: String,
    /// The registry chaincode's name.
    #[arg(long, default_value = "registry")]
    chaincode: String,
    /// The service's name in the registry.
    #[arg(long)]
    service: String,
    /// The service's command line (it prints its address first).
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

fn fail(message: String) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let info = NetworkInfo::load(&args.network_dir).unwrap_or_else(|e| fail(e.to_string()));
    let gateway = info
        .gateway(&args.org)
        .await
        .unwrap_or_else(|e| fail(e.to_string()));
    let manager = Manager::new(Registry::new(gateway, &info.channel, &args.chaincode));
    let recipe = Recipe::Process {
        program: PathBuf::from(&args.command[0]),
        args: args.command[1..].to_vec(),
    };
    let location = manager
        .launch(&args.service, &recipe, "local-process")
        .await
        .unwrap_or_else(|e| fail(e.to_string()));
    tracing::info!(service = %args.service, %location, "launched and registered; watching claims");
    manager
        .run(EventStart::Newest, |_, _| {})
        .await
        .unwrap_or_else(|e| fail(e.to_string()));
}
