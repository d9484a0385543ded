//! `weft-network up`: starts a network and deploys asset-transfer-basic.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::deploy::deploy_and_init;
use super::say;
use crate::process::{self, UpOptions};
use crate::{KeyKind, NetworkError, Ports, Topology};

/// Start a network, deploy asset-transfer-basic (as `basic`) and run InitLedger.
#[derive(Args)]
pub(crate) struct UpArgs {
    /// Topology YAML (channel, orderers, orgs, peersPerOrg, batchTimeout, maxMessageCount, ports, ca, clientAuthRequired, keyType).
    #[arg(long)]
    pub(crate) topology: Option<PathBuf>,
    /// Raft orderers [default: 3].
    #[arg(long)]
    pub(crate) orderers: Option<usize>,
    /// Peer organisations [default: 2].
    #[arg(long)]
    pub(crate) orgs: Option<usize>,
    /// Peers per organisation [default: 1].
    #[arg(long)]
    pub(crate) peers_per_org: Option<usize>,
    /// Channel name [default: mychannel].
    #[arg(long)]
    pub(crate) channel: Option<String>,
    /// Port assignment [default: fabric].
    #[arg(long, value_enum, env = "WEFT_NETWORK_PORTS")]
    pub(crate) ports: Option<PortsArg>,
    /// Only start the network; deploy nothing.
    #[arg(long)]
    pub(crate) no_deploy: bool,
    /// Run a weft-ca per organisation (orderer org on 9054, Org1 on 7054,
    /// Org2 on 8054, …; bootstrap admin admin:adminpw) and enroll every
    /// node and user from it instead of generating the crypto. The CAs keep
    /// running: register and enroll more identities with `weft-ca client`.
    #[arg(long)]
    pub(crate) ca: bool,
    /// Peers and orderers require TLS client certificates from the
    /// channel's TLS CAs (Fabric's clientAuthRequired: true). Off by default,
    /// as in Fabric's test network.
    #[arg(long)]
    pub(crate) client_auth_required: bool,
    /// Key type of every generated identity and TLS certificate [default: ecdsa].
    #[arg(long, value_enum)]
    pub(crate) key_type: Option<KeyTypeArg>,
    /// Where weft-orderer and weft-peer are [default: next to this program].
    #[arg(long)]
    pub(crate) bin_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum KeyTypeArg {
    /// ECDSA P-256, Fabric's default.
    Ecdsa,
    /// Ed25519 (Fabric 3's V3_0 capability).
    Ed25519,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PortsArg {
    /// Fabric's ports (7050, 7051, 9051, …).
    Fabric,
    /// Free ports below the kernel's ephemeral range, checked when picked.
    Auto,
}

/// Start a network, deploy asset-transfer-basic (as `basic`) and run InitLedger.
pub(crate) async fn run(dir: PathBuf, args: UpArgs) -> Result<(), NetworkError> {
    let UpArgs {
        topology,
        orderers,
        orgs,
        peers_per_org,
        channel,
        ports,
        no_deploy,
        ca,
        client_auth_required,
        key_type,
        bin_dir,
    } = args;
    let mut t = match topology {
        Some(p) => {
            Topology::from_yaml(&std::fs::read_to_string(&p).map_err(|e| NetworkError::io(&p, e))?)?
        }
        None => Topology::default(),
    };
    if let Some(n) = orderers {
        t.orderers = n;
    }
    if let Some(n) = orgs {
        t.orgs = n;
    }
    if let Some(n) = peers_per_org {
        t.peers_per_org = n;
    }
    if let Some(c) = channel {
        t.channel = c;
    }
    t.ca |= ca;
    t.client_auth_required |= client_auth_required;
    if let Some(k) = key_type {
        t.key_type = match k {
            KeyTypeArg::Ecdsa => KeyKind::Ecdsa,
            KeyTypeArg::Ed25519 => KeyKind::Ed25519,
        };
    }
    if let Some(p) = ports {
        t.ports = match p {
            PortsArg::Fabric => Ports::Fabric,
            PortsArg::Auto => Ports::Auto,
        };
    }
    let opts = UpOptions {
        topology: t,
        dir: dir.clone(),
        bin_dir: bin_dir.unwrap_or_else(process::default_bin_dir),
        log_level: std::env::var("WEFT_NODE_LOG").unwrap_or_else(|_| "info".into()),
    };
    let info = process::up(&opts, say).await?;
    say(&format!(
        "{} orderer(s) and {} peer(s) are up on {}",
        info.orderers.len(),
        info.orgs.iter().map(|o| o.peers.len()).sum::<usize>(),
        info.channel
    ));
    for ca in &info.cas {
        say(&format!(
            "{} serves {} at {} (TLS root {}; registrar MSP {})",
            ca.name,
            ca.domain,
            ca.url(),
            ca.tls_root().display(),
            ca.registrar.display()
        ));
    }
    if !no_deploy {
        deploy_and_init(
            &info,
            "asset-transfer-basic",
            None,
            "1.0",
            Some("InitLedger".into()),
            Default::default(),
        )
        .await?;
        let contract = info
            .gateway(&info.orgs[0].msp_id)
            .await?
            .network(&info.channel)
            .contract("basic");
        let asset = contract
            .evaluate_transaction("ReadAsset", ["asset1"])
            .await?;
        say(&format!(
            "ReadAsset asset1 → {}",
            String::from_utf8_lossy(&asset)
        ));
    }
    say(&format!(
        "ready. Try: weft-network query GetAllAssets; weft-network status; weft-network down (directory {})",
        info.dir.display()
    ));
    Ok(())
}
