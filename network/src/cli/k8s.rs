//! `weft-network k8s`: Kubernetes manifests for a topology, one namespace per
//! organisation, and (`--podman`) their translation for `podman kube play`.

use std::path::PathBuf;

use clap::Args;

use super::deploy::resolve_chaincode;
use super::say;
use crate::deploy::{ChaincodeSource, DeploySpec};
use crate::k8s::{self, K8sOptions};
use crate::{NetworkError, Topology};

/// Write Kubernetes manifests for a network: one namespace (and file) per organisation.
///
/// Example: weft-network k8s --topology net.yaml --out k8s/ --chaincode asset-transfer-basic
/// then, as each organisation: kubectl apply -f k8s/org1.yaml
#[derive(Args)]
pub(crate) struct K8sArgs {
    /// Topology YAML (channel, orderers, orgs, peersPerOrg, batchTimeout, maxMessageCount, clientAuthRequired, keyType) [default: Fabric's test network with three orderers].
    #[arg(long)]
    topology: Option<PathBuf>,
    /// Where to write the manifests (<namespace>.yaml) and the generated crypto (material/).
    #[arg(long)]
    out: PathBuf,
    /// A chaincode (crate directory, sample name, .wasm or package) each org's setup job deploys.
    #[arg(long)]
    chaincode: Option<String>,
    /// Its name on the channel [default: basic for asset-transfer-basic, else the directory's name].
    #[arg(long)]
    name: Option<String>,
    /// Its version label.
    #[arg(long, default_value = "1.0")]
    version: String,
    /// Image name prefix (a registry and project, e.g. registry.example.com/weft/).
    #[arg(long, default_value = "localhost/")]
    image_prefix: String,
    /// Image tag (scripts/images.sh --tag).
    #[arg(long, default_value = "dev")]
    tag: String,
    /// Size of each orderer's and peer's data volume.
    #[arg(long, default_value = "1Gi")]
    storage: String,
    /// Also write the translation for `podman kube play` into <out>/podman/.
    #[arg(long)]
    podman: bool,
    /// Keep <out>/material (CAs, keys, genesis block) and add what the topology adds: more
    /// peers per org, with identities from their org's existing CAs.
    #[arg(long)]
    extend: bool,
}

pub(crate) async fn run(args: K8sArgs) -> Result<(), NetworkError> {
    let topology = match &args.topology {
        Some(path) => Topology::from_yaml(
            &std::fs::read_to_string(path).map_err(|e| NetworkError::io(path, e))?,
        )?,
        None => Topology::default(),
    };
    let mut opts = K8sOptions::new(topology, &args.out);
    opts.image_prefix = args.image_prefix;
    opts.tag = args.tag;
    opts.storage = args.storage;
    opts.extend = args.extend;
    if let Some(arg) = &args.chaincode {
        let (path, name) = resolve_chaincode(arg)?;
        let mut spec = DeploySpec::from_crate(&args.name.unwrap_or(name), &path, None);
        spec.source = ChaincodeSource::from_path(&path);
        spec.version = args.version;
        say(&format!("packaging {} {}", spec.name, spec.version));
        opts.chaincode = Some(spec);
    }
    let manifests = k8s::generate(&opts)?;
    for ns in &manifests.namespaces {
        say(&format!(
            "{}: {} objects for {} in {}",
            ns.name,
            ns.objects.len(),
            ns.msp_id,
            ns.file.display()
        ));
    }
    if args.podman {
        let dir = args.out.join("podman");
        for f in k8s::podman::translate(&manifests, &dir)? {
            say(&format!(
                "podman kube play --network weft {}",
                f.file.display()
            ));
        }
    }
    say(&format!(
        "crypto and the genesis block are in {}; keep its keys safe",
        args.out.join("material").display()
    ));
    Ok(())
}
