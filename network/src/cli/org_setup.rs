//! `weft-network org-setup`: one organisation joins its own nodes to the
//! channel and takes its part in deploying a chaincode (the Kubernetes setup
//! job's command; safe to run again).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::say;
use crate::deploy::{ChaincodeSource, DeploySpec};
use crate::org_setup::{self, OrgSetup};
use crate::{NetworkError, NetworkInfo};

/// Join one organisation's nodes to the channel and deploy its part of a chaincode.
///
/// Example: weft-network --dir /etc/weft/channel org-setup --org Org1MSP
/// --package /etc/weft/channel/basic.tar.gz --name basic --version 1.0
#[derive(Args)]
pub(crate) struct OrgSetupArgs {
    /// The organisation (Org1MSP, Org1, or OrdererMSP for the orderers).
    #[arg(long)]
    org: String,
    /// A chaincode package to install, approve and (once every org approved) commit.
    #[arg(long, requires = "name")]
    package: Option<PathBuf>,
    /// The chaincode's name on the channel.
    #[arg(long)]
    name: Option<String>,
    /// Its version label.
    #[arg(long, default_value = "1.0")]
    version: String,
    /// Its endorsement policy in Fabric's signature-policy syntax [default: the channel's].
    #[arg(long)]
    signature_policy: Option<String>,
    /// Give up after this many seconds of nodes or other orgs not being ready.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

pub(crate) async fn run(dir: PathBuf, args: OrgSetupArgs) -> Result<(), NetworkError> {
    let info = NetworkInfo::load(&dir)?;
    let chaincode = match (args.package, args.name) {
        (Some(package), Some(name)) => Some(DeploySpec {
            name,
            version: args.version,
            source: ChaincodeSource::Package(package),
            build_dir: None,
            signature_policy: args.signature_policy,
            collections: Default::default(),
        }),
        _ => None,
    };
    let spec = OrgSetup {
        org: args.org,
        chaincode,
        timeout: Duration::from_secs(args.timeout_secs),
    };
    org_setup::run(&info, &spec, say).await?;
    say(&format!("{} is set up on {}", spec.org, info.channel));
    Ok(())
}
