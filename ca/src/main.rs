//! `weft-ca`: thin over the `weft_ca` library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weft_ca::authority::Authority;
use weft_ca::config::ServerConfig;

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

#[derive(Subcommand)]
enum Cmd {
    /// The CA server.
    Server {
        #[command(subcommand)]
        command: ServerCmd,
    },
}

#[derive(Subcommand)]
enum ServerCmd {
    /// Create the CA's key and certificate, the database and the bootstrap identity.
    Init(ServerArgs),
    /// Serve the REST API (initialising first if needed).
    Start(ServerArgs),
}

#[derive(clap::Args)]
struct ServerArgs {
    /// The CA's home: key, certificate, database.
    #[arg(long, short = 'H', env = "FABRIC_CA_SERVER_HOME", default_value = ".")]
    home: PathBuf,
    /// Config file [default: <home>/fabric-ca-server-config.yaml if present].
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Bootstrap identity `id:secret` (Fabric CA's -b).
    #[arg(long, short = 'b')]
    boot: Option<String>,
}

fn load(args: &ServerArgs) -> Result<ServerConfig, weft_ca::CaError> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| args.home.join("fabric-ca-server-config.yaml"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if args.config.is_none() => String::new(),
        Err(e) => return Err(weft_ca::CaError::Config(format!("{}: {e}", path.display()))),
    };
    std::fs::create_dir_all(&args.home)
        .map_err(|e| weft_ca::CaError::Config(format!("{}: {e}", args.home.display())))?;
    ServerConfig::parse(&text, args.home.clone(), std::env::vars())
}

fn boot(args: &ServerArgs) -> Result<Option<(String, String)>, weft_ca::CaError> {
    args.boot
        .as_deref()
        .map(|b| {
            b.split_once(':')
                .map(|(i, s)| (i.to_string(), s.to_string()))
                .ok_or_else(|| weft_ca::CaError::Config("-b wants id:secret".into()))
        })
        .transpose()
}

async fn run(cli: Cli) -> Result<(), weft_ca::CaError> {
    match cli.command {
        Cmd::Server { command } => match command {
            ServerCmd::Init(args) => {
                let config = load(&args)?;
                let b = boot(&args)?;
                Authority::init(&config, b.as_ref().map(|(i, s)| (i.as_str(), s.as_str())))?;
                println!("CA initialised in {}", config.home.display());
            }
            ServerCmd::Start(args) => {
                let config = load(&args)?;
                let b = boot(&args)?;
                Authority::init(&config, b.as_ref().map(|(i, s)| (i.as_str(), s.as_str())))?;
                let addr = config.listen()?;
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                    weft_ca::CaError::Config(format!("cannot listen on {addr}: {e}"))
                })?;
                let handle = weft_ca::server::start(config, listener).await?;
                eprintln!("weft-ca listening on {}", handle.addr);
                let _ = tokio::signal::ctrl_c().await;
                handle.shutdown().await;
            }
        },
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
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
