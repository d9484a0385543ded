//! Kubernetes objects as JSON values (written out as YAML): only the fields
//! weft's manifests use, checked against Kubernetes' schemas by
//! `kubernetes-validate --strict` in the tests.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::NetworkError;

/// The user every weft image runs as.
pub const RUN_AS: u32 = 10001;

/// Labels every object of a node carries.
fn labels(app: &str, component: &str) -> Value {
    json!({
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "weft",
        "app.kubernetes.io/managed-by": "weft-network",
    })
}

fn metadata(name: &str, namespace: &str, app: &str, component: &str) -> Value {
    json!({ "name": name, "namespace": namespace, "labels": labels(app, component) })
}

/// A namespace of one organisation.
pub fn namespace(name: &str, msp_id: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": { "app.kubernetes.io/part-of": "weft", "weft.dev/msp-id": msp_id },
        },
    })
}

/// Files to put in a Secret or ConfigMap: path below the mount point → bytes.
#[derive(Debug, Default, Clone)]
pub struct Files(pub BTreeMap<String, Vec<u8>>);

impl Files {
    /// Every file under `dir`, named by its path below `dir` with `prefix`
    /// in front (`msp/signcerts/cert.pem`).
    pub fn from_dir(dir: &Path, prefix: &str) -> Result<Self, NetworkError> {
        let mut files = Self::default();
        files.add_dir(dir, prefix)?;
        Ok(files)
    }

    /// Adds every file under `dir` with `prefix` in front of its path.
    pub fn add_dir(&mut self, dir: &Path, prefix: &str) -> Result<(), NetworkError> {
        let entries = std::fs::read_dir(dir).map_err(|e| NetworkError::io(dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| NetworkError::io(dir, e))?;
            let path = entry.path();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if path.is_dir() {
                self.add_dir(&path, &format!("{name}/"))?;
            } else {
                let bytes = std::fs::read(&path).map_err(|e| NetworkError::io(&path, e))?;
                self.0.insert(name, bytes);
            }
        }
        Ok(())
    }

    /// Adds one file.
    pub fn add(&mut self, path: &str, bytes: Vec<u8>) {
        self.0.insert(path.to_string(), bytes);
    }

    /// The key of `path` in the object: Kubernetes keys allow no `/`.
    pub fn key(path: &str) -> String {
        path.replace('/', "_")
    }

    /// The volume `items` that put every key back at its path.
    fn items(&self) -> Value {
        self.0
            .keys()
            .map(|p| json!({ "key": Self::key(p), "path": p }))
            .collect()
    }

    fn base64_map(&self) -> BTreeMap<String, String> {
        use base64::Engine;
        self.0
            .iter()
            .map(|(p, b)| {
                (
                    Self::key(p),
                    base64::engine::general_purpose::STANDARD.encode(b),
                )
            })
            .collect()
    }
}

/// A Secret holding `files` (keys and certificates: never a ConfigMap).
pub fn secret(name: &str, namespace: &str, app: &str, files: &Files) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(name, namespace, app, "crypto"),
        "type": "Opaque",
        "data": files.base64_map(),
    })
}

/// A ConfigMap holding `files` (text as `data`, anything else as `binaryData`).
pub fn config_map(name: &str, namespace: &str, app: &str, files: &Files) -> Value {
    let mut data = BTreeMap::new();
    let mut binary = BTreeMap::new();
    for (path, bytes) in &files.0 {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                data.insert(Files::key(path), text.to_string());
            }
            Err(_) => {
                use base64::Engine;
                binary.insert(
                    Files::key(path),
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                );
            }
        }
    }
    let mut map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(name, namespace, app, "config"),
    });
    if !data.is_empty() {
        map["data"] = json!(data);
    }
    if !binary.is_empty() {
        map["binaryData"] = json!(binary);
    }
    map
}

/// A volume from a Secret (`secret: true`) or ConfigMap, every file at its path.
pub fn volume(name: &str, source: &str, secret: bool, files: &Files) -> Value {
    if secret {
        json!({ "name": name, "secret": {
            "secretName": source, "defaultMode": 0o440, "items": files.items() } })
    } else {
        json!({ "name": name, "configMap": { "name": source, "items": files.items() } })
    }
}

/// One port a node serves.
#[derive(Debug, Clone, Copy)]
pub struct Port {
    /// `grpc`, `admin`, `operations`.
    pub name: &'static str,
    /// The port, the same in the container and on the Service.
    pub port: u16,
}

/// A ClusterIP Service with a stable name in front of a node's pod.
pub fn service(name: &str, namespace: &str, component: &str, ports: &[Port]) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|p| json!({ "name": p.name, "port": p.port, "targetPort": p.name, "protocol": "TCP" }))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, namespace, name, component),
        "spec": {
            "type": "ClusterIP",
            "selector": { "app.kubernetes.io/name": name },
            "ports": ports,
        },
    })
}

/// What runs in a node's StatefulSet.
#[derive(Debug, Clone)]
pub struct NodeSpec<'a> {
    /// Its Service and StatefulSet name (`peer0`, `orderer1`).
    pub name: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// `orderer` or `peer`.
    pub component: &'a str,
    /// The image.
    pub image: String,
    /// Its ports (the operations port is probed).
    pub ports: &'a [Port],
    /// Volumes (besides `data`) and where they are mounted.
    pub volumes: Vec<(Value, &'a str)>,
    /// The data volume's size (`1Gi`).
    pub storage: &'a str,
}

const DATA_PATH: &str = "/var/hyperledger/production";

fn security_context() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": { "drop": ["ALL"] },
    })
}

fn pod_security_context() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

/// A StatefulSet of one replica with a persistent data volume, probed on
/// the operations endpoint: `/healthz` for readiness, `/version` for liveness.
pub fn stateful_set(n: &NodeSpec<'_>) -> Value {
    // Alive: the operations endpoint answers `/version`. Ready (and
    // started): `/healthz`, which also fails while no orderer delivers or
    // the disk is full — not something a restart cures.
    let probe = |path: &str, period: u32, failures: u32| {
        json!({
            "httpGet": { "path": path, "port": "operations" },
            "periodSeconds": period,
            "failureThreshold": failures,
            "timeoutSeconds": 5,
        })
    };
    let mut mounts: Vec<Value> = n
        .volumes
        .iter()
        .map(|(v, at)| json!({ "name": v["name"], "mountPath": at, "readOnly": true }))
        .collect();
    mounts.push(json!({ "name": "data", "mountPath": DATA_PATH }));
    let ports: Vec<Value> = n
        .ports
        .iter()
        .map(|p| json!({ "name": p.name, "containerPort": p.port, "protocol": "TCP" }))
        .collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(n.name, n.namespace, n.name, n.component),
        "spec": {
            "serviceName": n.name,
            "replicas": 1,
            "selector": { "matchLabels": { "app.kubernetes.io/name": n.name } },
            "template": {
                "metadata": { "labels": labels(n.name, n.component) },
                "spec": {
                    "securityContext": pod_security_context(),
                    "containers": [{
                        "name": n.component,
                        "image": n.image,
                        "imagePullPolicy": "IfNotPresent",
                        "env": [
                            { "name": "RUST_LOG", "value": "info" },
                            { "name": "NO_COLOR", "value": "1" },
                        ],
                        "ports": ports,
                        "volumeMounts": mounts,
                        "startupProbe": probe("/healthz", 2, 60),
                        "livenessProbe": probe("/version", 10, 6),
                        "readinessProbe": probe("/healthz", 5, 3),
                        "resources": {
                            "requests": { "cpu": "250m", "memory": "256Mi" },
                            "limits": { "memory": "2Gi" },
                        },
                        "securityContext": security_context(),
                    }],
                    "volumes": n.volumes.iter().map(|(v, _)| v.clone()).collect::<Vec<_>>(),
                },
            },
            "volumeClaimTemplates": [{
                "metadata": { "name": "data" },
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": { "requests": { "storage": n.storage } },
                },
            }],
        },
    })
}

/// A Job of one container (`args` to `image`) with `volumes` mounted
/// read-only; retried with Kubernetes' back-off until it succeeds, so its
/// command must be safe to run again.
pub fn job(
    name: &str,
    namespace: &str,
    image: &str,
    args: &[String],
    volumes: &[(Value, &str)],
) -> Value {
    let mounts: Vec<Value> = volumes
        .iter()
        .map(|(v, at)| json!({ "name": v["name"], "mountPath": at, "readOnly": true }))
        .collect();
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(name, namespace, name, "setup"),
        "spec": {
            "backoffLimit": 20,
            "template": {
                "metadata": { "labels": labels(name, "setup") },
                "spec": {
                    "restartPolicy": "OnFailure",
                    "securityContext": pod_security_context(),
                    "containers": [{
                        "name": "setup",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["/usr/local/bin/weft-network"],
                        "args": args,
                        "env": [{ "name": "RUST_LOG", "value": "info" }],
                        "volumeMounts": mounts,
                        "resources": {
                            "requests": { "cpu": "100m", "memory": "64Mi" },
                            "limits": { "memory": "256Mi" },
                        },
                        "securityContext": security_context(),
                    }],
                    "volumes": volumes.iter().map(|(v, _)| v.clone()).collect::<Vec<_>>(),
                },
            },
        },
    })
}
