//! `rest-backend`: serves asset-transfer-basic over HTTP through a peer's
//! gateway, as one application identity.

use std::path::PathBuf;

use clap::Parser;
use weft_client_sdk::{Gateway, Tls, identity};
use weft_network::NetworkInfo;

#[derive(Parser)]
#[command(
    about = "A REST API for asset-transfer-basic on a weft (or Fabric) network, through the client SDK.",
    long_about = "A REST API for asset-transfer-basic on a weft (or Fabric) network, through the client SDK.\n\nWith a network from `weft-network up`, the defaults need no flags: Org1's User1 through Org1's peer (read from .weft-network/network.json)."
)]
struct Args {
    /// Address to serve HTTP on.
    #[arg(long, default_value = "127.0.0.1:3000", env = "REST_LISTEN")]
    listen: String,
    /// A weft-network directory to take the connection settings from.
    #[arg(long, default_value = ".weft-network", env = "WEFT_NETWORK_DIR")]
    network_dir: PathBuf,
    /// Organisation (in the weft-network directory) to act for.
    #[arg(long, default_value = "Org1MSP")]
    org: String,
    /// Gateway peer `host:port` (instead of the weft-network directory).
    #[arg(long, requires_all = ["msp_dir", "tls_ca"])]
    peer: Option<String>,
    /// MSP folder of the identity (with --peer).
    #[arg(long)]
    msp_dir: Option<PathBuf>,
    /// TLS CA certificate of the peer (with --peer).
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// Channel.
    #[arg(long, default_value = "mychannel")]
    channel: String,
    /// Chaincode.
    #[arg(long, default_value = "basic")]
    chaincode: String,
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
    let gateway = match &args.peer {
        Some(peer) => {
            let tls = Tls::from_files(args.tls_ca.as_deref().unwrap_or("".as_ref()), None)
                .unwrap_or_else(|e| fail(e.to_string()));
            let msp_dir = args.msp_dir.clone().unwrap_or_default();
            let (id, signer) =
                identity::load_msp(&msp_dir, &args.org).unwrap_or_else(|e| fail(e.to_string()));
            Gateway::connect(peer, id, Some(signer), Some(tls)).await
        }
        None => {
            let info = NetworkInfo::load(&args.network_dir).unwrap_or_else(|e| {
                fail(format!(
                    "{e} (start a network with `weft-network up`, or pass --peer)"
                ))
            });
            info.gateway(&args.org).await.map_err(|e| match e {
                weft_network::NetworkError::Client(c) => c,
                other => weft_client_sdk::ClientError::Identity(other.to_string()),
            })
        }
    }
    .unwrap_or_else(|e| fail(e.to_string()));
    let contract = gateway.network(&args.channel).contract(&args.chaincode);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .unwrap_or_else(|e| fail(format!("{}: {e}", args.listen)));
    tracing::info!("serving asset-transfer-basic on http://{}", args.listen);
    if let Err(e) = axum::serve(listener, rest_backend::app(contract)).await {
        fail(e.to_string());
    }
}
