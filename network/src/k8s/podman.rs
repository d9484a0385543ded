//! The manifests translated for `podman kube play` (Podman 4.3, Debian 12),
//! to run the same network on one machine without a Kubernetes cluster.
//! What changes, and why:
//!
//! - **StatefulSet → Pod** named `<service>.<namespace>`: Podman runs Pods
//!   and Deployments, not StatefulSets, and has no Services; on a Podman
//!   network its DNS answers a Pod's name, so the name every node is reached
//!   by (`peer0.org1`) stays the same. The data volume claim becomes a
//!   PersistentVolumeClaim of its own (a Podman volume).
//! - **Job → Pod** with `restartPolicy: OnFailure` (Podman 4.3 has no Jobs).
//! - **Secret and ConfigMap volumes → hostPath** directories written from
//!   the same objects: Podman 4.3 crashes on Secret volumes and cannot place
//!   ConfigMap items in subdirectories. The files are owned by the images'
//!   user (when run as root), and the objects themselves are dropped.
//! - **Probes are dropped**: Podman turns an `httpGet` probe into a `curl`
//!   health check, and the images have no `curl`.
//! - **Container ports are dropped**: Podman publishes every `containerPort`
//!   on the host, so three orderers would all want the host's 7050. Pods
//!   reach each other on the Podman network; from the host, a node is
//!   reached at its Pod's address on that network.
//! - Namespaces and Services are dropped (see above).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Manifests, Namespace};
use crate::NetworkError;

/// One translated namespace.
#[derive(Debug, Clone)]
pub struct PodmanFile {
    /// The namespace.
    pub namespace: String,
    /// The file for `podman kube play`.
    pub file: PathBuf,
    /// Names of its Pods (the nodes' and the setup job's).
    pub pods: Vec<String>,
}

/// Writes the translation of `manifests` under `dir`: `<namespace>.yaml`
/// and `volumes/<namespace>/<source>/…`.
pub fn translate(manifests: &Manifests, dir: &Path) -> Result<Vec<PodmanFile>, NetworkError> {
    manifests
        .namespaces
        .iter()
        .map(|ns| translate_namespace(ns, dir))
        .collect()
}

/// The files of every Secret and ConfigMap of `ns`, by object name.
fn sources(ns: &Namespace) -> Result<BTreeMap<String, BTreeMap<String, Vec<u8>>>, NetworkError> {
    use base64::Engine;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| NetworkError::Topology(format!("manifest base64: {e}")))
    };
    let mut out = BTreeMap::new();
    for o in &ns.objects {
        let mut files = BTreeMap::new();
        match o["kind"].as_str() {
            Some("Secret") => {
                for (k, v) in o["data"].as_object().into_iter().flatten() {
                    files.insert(k.clone(), b64(v)?);
                }
            }
            Some("ConfigMap") => {
                for (k, v) in o["data"].as_object().into_iter().flatten() {
                    files.insert(
                        k.clone(),
                        v.as_str().unwrap_or_default().as_bytes().to_vec(),
                    );
                }
                for (k, v) in o["binaryData"].as_object().into_iter().flatten() {
                    files.insert(k.clone(), b64(v)?);
                }
            }
            _ => continue,
        }
        out.insert(
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            files,
        );
    }
    Ok(out)
}

/// Hands `path` to the images' user when this process may.
fn own(path: &Path, mode: u32) -> Result<(), NetworkError> {
    use std::os::unix::fs::PermissionsExt;
    let as_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let mode = if as_root { mode } else { mode | 0o044 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| NetworkError::io(path, e))?;
    if as_root {
        let id = super::objects::RUN_AS;
        std::os::unix::fs::chown(path, Some(id), Some(id))
            .map_err(|e| NetworkError::io(path, e))?;
    }
    Ok(())
}

/// Writes `files` (keys of the object) where `items` put them, under `dir`.
fn materialise(
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    items: &[Value],
) -> Result<(), NetworkError> {
    std::fs::create_dir_all(dir).map_err(|e| NetworkError::io(dir, e))?;
    own(dir, 0o750)?;
    for item in items {
        let key = item["key"].as_str().unwrap_or_default();
        let rel = item["path"].as_str().unwrap_or_default();
        let bytes = files.get(key).ok_or_else(|| {
            NetworkError::Topology(format!("manifest: volume item {key} is not in its source"))
        })?;
        let path = dir.join(rel);
        let mut parent = path.parent();
        while let Some(p) = parent.filter(|p| p.starts_with(dir) && *p != dir) {
            std::fs::create_dir_all(p).map_err(|e| NetworkError::io(p, e))?;
            own(p, 0o750)?;
            parent = p.parent();
        }
        std::fs::write(&path, bytes).map_err(|e| NetworkError::io(&path, e))?;
        own(&path, 0o640)?;
    }
    Ok(())
}

/// A pod spec with its Secret and ConfigMap volumes turned into hostPath
/// directories under `dir` and its probes dropped.
fn pod_spec(
    spec: &Value,
    sources: &BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    dir: &Path,
) -> Result<Value, NetworkError> {
    let mut spec = spec.clone();
    if let Some(volumes) = spec["volumes"].as_array_mut() {
        for v in volumes {
            let (source, kind) = if let Some(s) = v["secret"]["secretName"].as_str() {
                (s.to_string(), "secret")
            } else if let Some(c) = v["configMap"]["name"].as_str() {
                (c.to_string(), "configMap")
            } else {
                continue;
            };
            let items = v[kind]["items"].as_array().cloned().unwrap_or_default();
            let files = sources.get(&source).ok_or_else(|| {
                NetworkError::Topology(format!("manifest: no Secret or ConfigMap {source}"))
            })?;
            let at = dir.join(&source);
            materialise(&at, files, &items)?;
            *v = json!({
                "name": v["name"],
                "hostPath": { "path": at.display().to_string(), "type": "Directory" },
            });
        }
    }
    for c in spec["containers"].as_array_mut().into_iter().flatten() {
        if let Some(c) = c.as_object_mut() {
            for field in ["startupProbe", "livenessProbe", "readinessProbe", "ports"] {
                c.remove(field);
            }
        }
    }
    Ok(spec)
}

fn translate_namespace(ns: &Namespace, dir: &Path) -> Result<PodmanFile, NetworkError> {
    let sources = sources(ns)?;
    // Written over in place, never deleted: Pods already running have these
    // directories mounted (a translation of grown manifests, `--extend`).
    let volumes = dir.join("volumes").join(&ns.name);
    let mut out = Vec::new();
    let mut pods = Vec::new();
    for o in &ns.objects {
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        let pod_name = format!("{name}.{}", ns.name);
        let template = &o["spec"]["template"];
        let mut spec = match o["kind"].as_str() {
            Some("StatefulSet") | Some("Job") => pod_spec(&template["spec"], &sources, &volumes)?,
            _ => continue,
        };
        if o["kind"] == "StatefulSet" {
            spec["hostname"] = json!(name);
            spec["restartPolicy"] = json!("Always");
            for claim in o["spec"]["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let volume = claim["metadata"]["name"].as_str().unwrap_or_default();
                let claim_name = format!("{volume}-{pod_name}");
                out.push(json!({
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": { "name": claim_name },
                    "spec": claim["spec"],
                }));
                spec["volumes"]
                    .as_array_mut()
                    .expect("a pod spec has volumes")
                    .push(json!({ "name": volume, "persistentVolumeClaim": { "claimName": claim_name } }));
            }
        }
        out.push(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": pod_name, "labels": template["metadata"]["labels"] },
            "spec": spec,
        }));
        pods.push(pod_name);
    }
    let file = dir.join(format!("{}.yaml", ns.name));
    std::fs::write(&file, super::to_yaml(&out)?).map_err(|e| NetworkError::io(&file, e))?;
    Ok(PodmanFile {
        namespace: ns.name.clone(),
        file,
        pods,
    })
}
