//! `weft-ca server init|start`: the CA's home, config and bootstrap identity.

use std::path::PathBuf;

use clap::Subcommand;

use crate::authority::Authority;
use crate::config::ServerConfig;

#[derive(Subcommand)]
pub(crate) enum ServerCmd {
    /// Create the CA's key and certificate, the database and the bootstrap identity.
    Init(ServerArgs),
    /// Serve the REST API (initialising first if needed).
    Start(ServerArgs),
}

#[derive(clap::Args)]
pub(crate) struct ServerArgs {
    /// The CA's home: key, certificate, database.
    #[arg(long, short = 'H', env = "FABRIC_CA_SERVER_HOME", default_value = ".")]
    pub(crate) home: PathBuf,
    /// Config file [default: <home>/fabric-ca-server-config.yaml if present].
    #[arg(long, short = 'c')]
    pub(crate) config: Option<PathBuf>,
    /// Bootstrap identity `id:secret` (Fabric CA's -b).
    #[arg(long, short = 'b')]
    pub(crate) boot: Option<String>,
    /// Be an intermediate CA of this parent: `https://id:secret@host:port`
    /// (intermediate.parentserver.url; the identity needs hf.IntermediateCA).
    #[arg(long = "url", short = 'u')]
    pub(crate) parent: Option<String>,
    /// PEM files of the parent's TLS roots (intermediate.tls.certfiles).
    #[arg(long = "intermediate.tls.certfiles", value_delimiter = ',')]
    pub(crate) parent_tls: Vec<PathBuf>,
}

pub(crate) fn load(args: &ServerArgs) -> Result<ServerConfig, crate::CaError> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| args.home.join("fabric-ca-server-config.yaml"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if args.config.is_none() => String::new(),
        Err(e) => return Err(crate::CaError::Config(format!("{}: {e}", path.display()))),
    };
    std::fs::create_dir_all(&args.home)
        .map_err(|e| crate::CaError::Config(format!("{}: {e}", args.home.display())))?;
    let mut config = ServerConfig::parse(&text, args.home.clone(), std::env::vars())?;
    if let Some(url) = &args.parent {
        config.intermediate.parentserver.url = url.clone();
    }
    if !args.parent_tls.is_empty() {
        config.intermediate.tls.certfiles = args.parent_tls.clone();
    }
    Ok(config)
}

/// `server init`: an intermediate first enrolls at its parent; then keys,
/// database and bootstrap identity.
pub(crate) async fn init(args: &ServerArgs) -> Result<ServerConfig, crate::CaError> {
    let config = load(args)?;
    let b = boot(args)?;
    crate::intermediate::enroll_from_parent(&config).await?;
    Authority::init(&config, b.as_ref().map(|(i, s)| (i.as_str(), s.as_str())))?;
    Ok(config)
}

pub(crate) fn boot(args: &ServerArgs) -> Result<Option<(String, String)>, crate::CaError> {
    args.boot
        .as_deref()
        .map(|b| {
            b.split_once(':')
                .map(|(i, s)| (i.to_string(), s.to_string()))
                .ok_or_else(|| crate::CaError::Config("-b wants id:secret".into()))
        })
        .transpose()
}
