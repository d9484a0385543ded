//! `weft-network deploy`: builds, packages, installs, approves and commits a
//! chaincode on every org.

use std::path::PathBuf;

use clap::Args;

use super::say;
use crate::deploy::{ChaincodeSource, DeploySpec, deploy};
use crate::{NetworkError, NetworkInfo};

/// Deploy (or upgrade) a chaincode on every org: build, package, install, approve, commit.
#[derive(Args)]
pub(crate) struct DeployArgs {
    /// A chaincode crate directory, a sample's name (samples/<name>), a .wasm or a package.
    pub(crate) chaincode: String,
    /// Its name on the channel [default: basic for asset-transfer-basic, else the directory's name].
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Version label.
    #[arg(long, default_value = "1.0")]
    pub(crate) version: String,
    /// Call this function (no arguments) once deployed, e.g. InitLedger.
    #[arg(long)]
    pub(crate) init: Option<String>,
    /// The chaincode's endorsement policy in Fabric's signature-policy
    /// syntax, e.g. "OR('Org1MSP.peer','Org2MSP.peer')" [default: the
    /// channel's /Channel/Application/Endorsement].
    #[arg(long)]
    pub(crate) signature_policy: Option<String>,
    /// Private data collections: Fabric's collections-config JSON file.
    #[arg(long)]
    pub(crate) collections_config: Option<PathBuf>,
}

/// The sample directory for `name` (`samples/<name>` here or in the source tree).
pub(crate) fn resolve_chaincode(arg: &str) -> Result<(PathBuf, String), NetworkError> {
    let direct = PathBuf::from(arg);
    let candidates = [
        direct.clone(),
        PathBuf::from("samples").join(arg),
        crate::deploy::samples_dir().join(arg),
    ];
    let path = candidates.into_iter().find(|p| p.exists()).ok_or_else(|| {
        NetworkError::Deploy(format!(
            "{arg}: no such chaincode crate, sample, .wasm or package"
        ))
    })?;
    let stem = path
        .file_name()
        .map(|s| {
            s.to_string_lossy()
                .trim_end_matches(".tar.gz")
                .trim_end_matches(".wasm")
                .to_string()
        })
        .unwrap_or_else(|| arg.to_string());
    let name = if stem == "asset-transfer-basic" {
        "basic".to_string()
    } else {
        stem
    };
    Ok((path, name))
}

/// A deployment's policies as the command line gives them.
#[derive(Default)]
pub(crate) struct Policies {
    pub(crate) signature_policy: Option<String>,
    pub(crate) collections_config: Option<PathBuf>,
}

pub(crate) async fn deploy_and_init(
    info: &NetworkInfo,
    arg: &str,
    name: Option<String>,
    version: &str,
    init: Option<String>,
    policies: Policies,
) -> Result<(), NetworkError> {
    let (path, default_name) = resolve_chaincode(arg)?;
    let collections = match &policies.collections_config {
        None => Default::default(),
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|e| NetworkError::io(file, e))?;
            weft_peer::lifecycle::collections::from_json(&text)
                .map_err(|e| NetworkError::Deploy(format!("{}: {e}", file.display())))?
        }
    };
    let spec = DeploySpec {
        name: name.unwrap_or(default_name),
        version: version.to_string(),
        source: ChaincodeSource::from_path(&path),
        build_dir: None,
        signature_policy: policies.signature_policy,
        collections,
    };
    let d = deploy(info, &spec, say).await?;
    say(&format!(
        "{} sequence {} committed on {} (package {})",
        d.name, d.sequence, info.channel, d.package_id
    ));
    if let Some(f) = init {
        let contract = info
            .gateway(&info.orgs[0].msp_id)
            .await?
            .network(&info.channel)
            .contract(&d.name);
        contract.submit_transaction(&f, [""; 0]).await?;
        say(&format!("{f} committed"));
    }
    Ok(())
}

/// Deploy (or upgrade) a chaincode on every org: build, package, install, approve, commit.
pub(crate) async fn run(dir: PathBuf, args: DeployArgs) -> Result<(), NetworkError> {
    let DeployArgs {
        chaincode,
        name,
        version,
        init,
        signature_policy,
        collections_config,
    } = args;
    let info = NetworkInfo::load(&dir)?;
    let policies = Policies {
        signature_policy,
        collections_config,
    };
    deploy_and_init(&info, &chaincode, name, &version, init, policies).await?;
    Ok(())
}
