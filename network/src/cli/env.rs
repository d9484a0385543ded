//! `weft-network env`: shell exports for `weft-peer` (and `weft-ca client`)
//! as an org's admin.

use std::path::PathBuf;

use clap::Args;

use crate::process;
use crate::{NetworkError, NetworkInfo};

/// Print shell exports for `weft-peer` as an org's admin (`source <(weft-network env Org1)`),
/// and on a network up with `--ca`, for `weft-ca client` as the org CA's registrar.
#[derive(Args)]
pub(crate) struct EnvArgs {
    /// Organisation.
    #[arg(default_value = "Org1")]
    pub(crate) org: String,
}

/// Print shell exports for `weft-peer` as an org's admin (`source <(weft-network env Org1)`),
/// and on a network up with `--ca`, for `weft-ca client` as the org CA's registrar.
pub(crate) async fn run(dir: PathBuf, args: EnvArgs) -> Result<(), NetworkError> {
    let EnvArgs { org } = args;
    let info = NetworkInfo::load(&dir)?;
    let o = info.org(&org)?;
    // Fabric's CLI reads the same variables; its sample core.yaml has TLS off.
    println!("export CORE_PEER_TLS_ENABLED=true");
    if info.client_auth_required {
        println!("export CORE_PEER_TLS_CLIENTAUTHREQUIRED=true");
    }
    println!("export CORE_PEER_LOCALMSPID={}", o.msp_id);
    println!("export CORE_PEER_MSPCONFIGPATH={}", o.admin.msp.display());
    println!("export CORE_PEER_TLS_ROOTCERT_FILE={}", o.tls_ca.display());
    println!(
        "export CORE_PEER_TLS_CLIENTCERT_FILE={}",
        o.admin.tls_cert.display()
    );
    println!(
        "export CORE_PEER_TLS_CLIENTKEY_FILE={}",
        o.admin.tls_key.display()
    );
    println!("export CORE_PEER_ADDRESS={}", o.peers[0].address);
    println!(
        "export ORDERER_ADDRESS={} ORDERER_CA={}",
        info.orderers[0].address,
        info.orderer_tls_ca.display()
    );
    if let Some(ca) = info.ca_of(o) {
        // `weft-ca client register --id.name ...` as the org CA's registrar.
        println!("export FABRIC_CA_CLIENT_URL={}", ca.url());
        println!(
            "export FABRIC_CA_CLIENT_TLS_CERTFILES={}",
            ca.tls_root().display()
        );
        if let Some(home) = ca.registrar.parent() {
            println!("export FABRIC_CA_CLIENT_HOME={}", home.display());
        }
    }
    println!("export PATH={}:$PATH", process::default_bin_dir().display());
    Ok(())
}
