//! `weft-network k8s`: Kubernetes manifests for the network a topology
//! describes — the same network `weft-network up` runs as local processes.
//!
//! One namespace per organisation (`ordererorg`, `org1`, `org2`, …), each in
//! its own file, so that each organisation applies only its own:
//!
//! - a StatefulSet of one replica per orderer or peer, with a persistent
//!   volume for its ledger, probes on the operations endpoint (`/healthz`
//!   for readiness, `/version` for liveness), resource requests, a non-root
//!   read-only container;
//! - a ClusterIP Service per node with a stable name: the node is reached as
//!   `<service>.<namespace>` (`orderer1.ordererorg:7050`, `peer0.org1:7051`),
//!   which its certificates name, with `.svc` and `.svc.cluster.local`;
//! - a Secret per node with its MSP and TLS keys, and one with the org admin's
//!   (keys are never in a ConfigMap);
//! - a ConfigMap per node with its `orderer.yaml` / `core.yaml`, and one
//!   (`channel`) with the genesis block, every org's TLS CA certificate, the
//!   chaincode package and the network's description for the setup job;
//! - a Job (`channel-setup`) running `weft-network org-setup` as the org's
//!   admin: it joins the org's nodes to the channel (participation API for
//!   orderers, cscc for peers) and takes the org's part in deploying the
//!   chaincode. It is safe to retry, and waits for nodes and other orgs.
//!
//! [`podman`] turns these manifests into what `podman kube play` runs.

pub mod objects;
pub mod podman;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::deploy::DeploySpec;
use crate::info::{NetworkInfo, NodeInfo, OrgInfo, UserFiles};
use crate::material::PortPlan;
use crate::{NetworkError, Topology};
use objects::{Files, NodeSpec, Port};

/// What to generate.
#[derive(Debug, Clone)]
pub struct K8sOptions {
    /// The network's shape (`ports` is ignored: every node uses Fabric's).
    pub topology: Topology,
    /// Where the manifests (and the generated crypto, under `material/`) go.
    pub out: PathBuf,
    /// Image names: `<prefix>weft-peer:<tag>`.
    pub image_prefix: String,
    /// Image tag.
    pub tag: String,
    /// A chaincode every org deploys in its setup job, if any.
    pub chaincode: Option<DeploySpec>,
    /// Size of each node's data volume.
    pub storage: String,
    /// Keep the material already in `<out>/material` — CAs, keys, genesis
    /// block — and add only what the topology adds (peers of existing orgs).
    pub extend: bool,
}

impl K8sOptions {
    /// Defaults for `topology` into `out`: images `localhost/weft-*:dev`, 1Gi volumes.
    pub fn new(topology: Topology, out: &Path) -> Self {
        Self {
            topology,
            out: out.to_path_buf(),
            image_prefix: "localhost/".into(),
            tag: "dev".into(),
            chaincode: None,
            storage: "1Gi".into(),
            extend: false,
        }
    }

    fn image(&self, name: &str) -> String {
        format!("{}weft-{name}:{}", self.image_prefix, self.tag)
    }
}

/// One organisation's namespace and its objects, in the order to apply them.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// `ordererorg`, `org1`, …
    pub name: String,
    /// Its MSP id.
    pub msp_id: String,
    /// The objects.
    pub objects: Vec<Value>,
    /// The file they were written to.
    pub file: PathBuf,
}

/// What `generate` wrote.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// One per organisation, the orderer org's first.
    pub namespaces: Vec<Namespace>,
    /// The network as seen from outside the cluster: crypto under
    /// `<out>/material`, nodes at their Service names.
    pub info: NetworkInfo,
}

/// The orderer organisation's namespace.
pub const ORDERER_NAMESPACE: &str = "ordererorg";

/// Fabric's ports, the same for every node (each has its own address).
const ORDERER_PORTS: [Port; 3] = [
    Port {
        name: "grpc",
        port: 7050,
    },
    Port {
        name: "admin",
        port: 7053,
    },
    Port {
        name: "operations",
        port: 8443,
    },
];
const PEER_PORTS: [Port; 2] = [
    Port {
        name: "grpc",
        port: 7051,
    },
    Port {
        name: "operations",
        port: 9443,
    },
];

/// Paths inside the containers.
mod paths {
    /// Node configuration (`FABRIC_CFG_PATH`).
    pub const CONFIG: &str = "/etc/hyperledger/fabric";
    /// A node's MSP and TLS folders.
    pub const ORDERER_CRYPTO: &str = "/var/hyperledger/orderer";
    /// A peer's MSP and TLS folders.
    pub const PEER_CRYPTO: &str = "/var/hyperledger/peer";
    /// The data volume.
    pub const DATA: &str = "/var/hyperledger/production";
    /// The `channel` ConfigMap in the setup job.
    pub const CHANNEL: &str = "/etc/weft/channel";
    /// Admins' folders in the setup job: `<ADMINS>/<namespace>`.
    pub const ADMINS: &str = "/etc/weft/admins";
}

/// The namespace of peer org `n` (1-based).
pub fn org_namespace(n: usize) -> String {
    format!("org{n}")
}

fn service_of(node_host: &str) -> &str {
    node_host.split('.').next().unwrap_or(node_host)
}

/// Generates the manifests of `opts` under `opts.out`: crypto and the
/// genesis block in `material/`, then `<namespace>.yaml` per organisation.
pub fn generate(opts: &K8sOptions) -> Result<Manifests, NetworkError> {
    let t = &opts.topology;
    t.validate()?;
    if t.ca {
        return Err(NetworkError::Topology(
            "ca: true is not supported by `k8s`: the manifests carry generated crypto".into(),
        ));
    }
    let (o, a, ops) = (
        ORDERER_PORTS[0].port,
        ORDERER_PORTS[1].port,
        ORDERER_PORTS[2].port,
    );
    let plan = PortPlan {
        orderers: vec![(o, a, ops); t.orderers],
        peers: vec![vec![(PEER_PORTS[0].port, PEER_PORTS[1].port); t.peers_per_org]; t.orgs],
        cas: Vec::new(),
        orderer_ips: (0..t.orderers)
            .map(|i| format!("{}.{ORDERER_NAMESPACE}", t.orderer_host(i)))
            .collect(),
        peer_ips: (1..=t.orgs)
            .map(|n| {
                (0..t.peers_per_org)
                    .map(|p| format!("peer{p}.{}", org_namespace(n)))
                    .collect()
            })
            .collect(),
        san_suffixes: vec![".svc".into(), ".svc.cluster.local".into()],
    };
    std::fs::create_dir_all(&opts.out).map_err(|e| NetworkError::io(&opts.out, e))?;
    let material = opts.out.join("material");
    let exists = NetworkInfo::path(&material).exists();
    let info = match (opts.extend, exists) {
        (false, false) => crate::material::generate(t, &material, &plan)?,
        (true, true) => crate::material::extend(t, &material, &plan)?,
        // New keys over a running network's would cut every node off from it.
        (false, true) => {
            return Err(NetworkError::Topology(format!(
                "{} holds a network's keys and genesis block already: pass --extend to add \
                 peers to it, or write to another --out",
                material.display()
            )));
        }
        (true, false) => {
            return Err(NetworkError::Topology(format!(
                "nothing to extend in {}: write the manifests once without --extend",
                material.display()
            )));
        }
    };
    let package = opts
        .chaincode
        .as_ref()
        .map(crate::deploy::package_bytes)
        .transpose()?;
    let channel_files = channel_files(&info, opts, package)?;

    let mut namespaces = vec![orderer_namespace(&info, opts, &channel_files)?];
    for (i, org) in info.orgs.iter().enumerate() {
        namespaces.push(peer_namespace(&info, org, i + 1, opts, &channel_files)?);
    }
    for ns in &namespaces {
        let text = to_yaml(&ns.objects)?;
        std::fs::write(&ns.file, text).map_err(|e| NetworkError::io(&ns.file, e))?;
    }
    Ok(Manifests { namespaces, info })
}

/// Objects as one multi-document YAML file.
pub fn to_yaml(objects: &[Value]) -> Result<String, NetworkError> {
    let mut text = String::new();
    for o in objects {
        text.push_str("---\n");
        text.push_str(
            &serde_yaml_ng::to_string(o).map_err(|e| NetworkError::Topology(e.to_string()))?,
        );
    }
    Ok(text)
}

/// The setup job's admin files for the org of `namespace`.
fn admin_in_pod(namespace: &str) -> UserFiles {
    let base = Path::new(paths::ADMINS).join(namespace);
    UserFiles {
        msp: base.join("msp"),
        tls_cert: base.join("tls/client.crt"),
        tls_key: base.join("tls/client.key"),
    }
}

fn tls_ca_key(namespace: &str) -> String {
    format!("tlsca-{namespace}.pem")
}

/// The network as the setup jobs see it: Service addresses, the `channel`
/// ConfigMap's files, each org's admin under `/etc/weft/admins/<namespace>`
/// (a job has only its own org's).
fn info_in_pod(info: &NetworkInfo) -> NetworkInfo {
    let channel = Path::new(paths::CHANNEL);
    let strip = |n: &NodeInfo| NodeInfo {
        crypto: PathBuf::new(),
        data: PathBuf::new(),
        log: PathBuf::new(),
        ..n.clone()
    };
    NetworkInfo {
        dir: channel.to_path_buf(),
        channel: info.channel.clone(),
        genesis: channel.join(format!("{}.block", info.channel)),
        orderer_tls_ca: channel.join(tls_ca_key(ORDERER_NAMESPACE)),
        orderer_admin: admin_in_pod(ORDERER_NAMESPACE),
        orderers: info.orderers.iter().map(strip).collect(),
        orgs: info
            .orgs
            .iter()
            .enumerate()
            .map(|(i, org)| {
                let ns = org_namespace(i + 1);
                OrgInfo {
                    tls_ca: channel.join(tls_ca_key(&ns)),
                    admin: admin_in_pod(&ns),
                    user: admin_in_pod(&ns),
                    peers: org.peers.iter().map(strip).collect(),
                    ..org.clone()
                }
            })
            .collect(),
        cas: Vec::new(),
        client_auth_required: info.client_auth_required,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, NetworkError> {
    std::fs::read(path).map_err(|e| NetworkError::io(path, e))
}

/// The `channel` ConfigMap's files: public, the same in every namespace.
fn channel_files(
    info: &NetworkInfo,
    opts: &K8sOptions,
    package: Option<Vec<u8>>,
) -> Result<Files, NetworkError> {
    let mut files = Files::default();
    files.add(&format!("{}.block", info.channel), read(&info.genesis)?);
    files.add(&tls_ca_key(ORDERER_NAMESPACE), read(&info.orderer_tls_ca)?);
    for (i, org) in info.orgs.iter().enumerate() {
        files.add(&tls_ca_key(&org_namespace(i + 1)), read(&org.tls_ca)?);
    }
    let pod = serde_json::to_vec_pretty(&info_in_pod(info)).expect("network info JSON");
    files.add("network.json", pod);
    if let (Some(bytes), Some(cc)) = (package, &opts.chaincode) {
        files.add(&format!("{}.tar.gz", cc.name), bytes);
    }
    Ok(files)
}

/// The admin's Secret files (`msp/…`, `tls/client.*`), from its user folder.
fn admin_files(admin: &UserFiles) -> Result<Files, NetworkError> {
    let mut files = Files::from_dir(&admin.msp, "msp/")?;
    files.add("tls/client.crt", read(&admin.tls_cert)?);
    files.add("tls/client.key", read(&admin.tls_key)?);
    Ok(files)
}

/// The setup Job of the org `msp_id` in `namespace`, with its admin's Secret.
fn setup_objects(
    namespace: &str,
    msp_id: &str,
    admin: &UserFiles,
    opts: &K8sOptions,
    channel_files: &Files,
) -> Result<Vec<Value>, NetworkError> {
    let admin = admin_files(admin)?;
    let mut args: Vec<String> = ["--dir", paths::CHANNEL, "org-setup", "--org", msp_id]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(cc) = opts
        .chaincode
        .as_ref()
        .filter(|_| namespace != ORDERER_NAMESPACE)
    {
        args.extend([
            "--package".into(),
            format!("{}/{}.tar.gz", paths::CHANNEL, cc.name),
            "--name".into(),
            cc.name.clone(),
            "--version".into(),
            cc.version.clone(),
        ]);
        if let Some(policy) = &cc.signature_policy {
            args.extend(["--signature-policy".into(), policy.clone()]);
        }
    }
    let admin_dir = format!("{}/{namespace}", paths::ADMINS);
    let volumes = [
        (
            objects::volume("channel", "channel", false, channel_files),
            paths::CHANNEL,
        ),
        (
            objects::volume("admin", "admin-crypto", true, &admin),
            admin_dir.as_str(),
        ),
    ];
    Ok(vec![
        objects::secret("admin-crypto", namespace, "admin", &admin),
        objects::job(
            "channel-setup",
            namespace,
            &opts.image("tools"),
            &args,
            &volumes,
        ),
    ])
}

/// A node's Secret, ConfigMap, Service and StatefulSet.
#[allow(clippy::too_many_arguments)]
fn node_objects(
    namespace: &str,
    service: &str,
    component: &'static str,
    crypto_dir: &Path,
    crypto_at: &str,
    config_file: (&str, String),
    ports: &[Port],
    opts: &K8sOptions,
) -> Result<Vec<Value>, NetworkError> {
    let mut crypto = Files::from_dir(&crypto_dir.join("msp"), "msp/")?;
    crypto.add_dir(&crypto_dir.join("tls"), "tls/")?;
    let mut config = Files::default();
    config.add(config_file.0, config_file.1.into_bytes());
    let (secret, cm) = (format!("{service}-crypto"), format!("{service}-config"));
    let spec = NodeSpec {
        name: service,
        namespace,
        component,
        image: opts.image(component),
        ports,
        volumes: vec![
            (objects::volume("crypto", &secret, true, &crypto), crypto_at),
            (
                objects::volume("config", &cm, false, &config),
                paths::CONFIG,
            ),
        ],
        storage: &opts.storage,
    };
    Ok(vec![
        objects::secret(&secret, namespace, service, &crypto),
        objects::config_map(&cm, namespace, service, &config),
        objects::service(service, namespace, component, ports),
        objects::stateful_set(&spec),
    ])
}

fn orderer_namespace(
    info: &NetworkInfo,
    opts: &K8sOptions,
    channel_files: &Files,
) -> Result<Namespace, NetworkError> {
    let ns = ORDERER_NAMESPACE;
    let mut objects = vec![
        objects::namespace(ns, "OrdererMSP"),
        objects::config_map("channel", ns, "channel", channel_files),
    ];
    let crypto = Path::new(paths::ORDERER_CRYPTO);
    let in_pod = NetworkInfo {
        orderer_tls_ca: crypto.join("tls/ca.crt"),
        ..info.clone()
    };
    for node in &info.orderers {
        let host = node.address.split(':').next().unwrap_or_default();
        let pod_node = NodeInfo {
            address: format!("0.0.0.0:{}", ORDERER_PORTS[0].port),
            admin_address: Some(format!("0.0.0.0:{}", ORDERER_PORTS[1].port)),
            operations_address: format!("0.0.0.0:{}", ORDERER_PORTS[2].port),
            crypto: crypto.to_path_buf(),
            data: Path::new(paths::DATA).join("orderer"),
            ..node.clone()
        };
        let yaml = crate::process::orderer_yaml(&in_pod, &pod_node)?;
        objects.extend(node_objects(
            ns,
            service_of(host),
            "orderer",
            &node.crypto,
            paths::ORDERER_CRYPTO,
            ("orderer.yaml", yaml),
            &ORDERER_PORTS,
            opts,
        )?);
    }
    objects.extend(setup_objects(
        ns,
        "OrdererMSP",
        &info.orderer_admin,
        opts,
        channel_files,
    )?);
    Ok(Namespace {
        name: ns.into(),
        msp_id: "OrdererMSP".into(),
        objects,
        file: opts.out.join(format!("{ns}.yaml")),
    })
}

fn peer_namespace(
    info: &NetworkInfo,
    org: &OrgInfo,
    n: usize,
    opts: &K8sOptions,
    channel_files: &Files,
) -> Result<Namespace, NetworkError> {
    let ns = org_namespace(n);
    let mut objects = vec![
        objects::namespace(&ns, &org.msp_id),
        objects::config_map("channel", &ns, "channel", channel_files),
    ];
    for node in &org.peers {
        let host = node.address.split(':').next().unwrap_or_default();
        // Reached at its Service's name (discovery says so), listening on every address.
        let pod_node = NodeInfo {
            operations_address: format!("0.0.0.0:{}", PEER_PORTS[1].port),
            crypto: PathBuf::from(paths::PEER_CRYPTO),
            data: PathBuf::from(paths::DATA),
            ..node.clone()
        };
        let listen = format!("0.0.0.0:{}", PEER_PORTS[0].port);
        let yaml = crate::process::peer_yaml_listening(info, org, &pod_node, &listen)?;
        objects.extend(node_objects(
            &ns,
            service_of(host),
            "peer",
            &node.crypto,
            paths::PEER_CRYPTO,
            ("core.yaml", yaml),
            &PEER_PORTS,
            opts,
        )?);
    }
    objects.extend(setup_objects(
        &ns,
        &org.msp_id,
        &org.admin,
        opts,
        channel_files,
    )?);
    Ok(Namespace {
        name: ns.clone(),
        msp_id: org.msp_id.clone(),
        objects,
        file: opts.out.join(format!("{ns}.yaml")),
    })
}
