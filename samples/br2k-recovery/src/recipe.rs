//! Recovery bodies (the registry's `recipe` field, JSON) and the deployer
//! that carries them out.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;
use tokio::sync::Mutex;

use crate::RecoveryError;

/// How to start a service again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Recipe {
    /// A local process, `program args…`, which prints the address it
    /// listens on (`host:port`) as the first line of its standard output.
    Process {
        /// The program.
        program: PathBuf,
        /// Its arguments.
        args: Vec<String>,
    },
    /// A Kubernetes Pod manifest run with `podman kube play --replace` on a
    /// Podman network; the service is reached at the Pod's address there,
    /// on `port`.
    Kube {
        /// The Pod's YAML.
        manifest: String,
        /// The Podman network.
        network: String,
        /// The port the service listens on in the Pod.
        port: u16,
    },
}

impl Recipe {
    /// The recipe in `body` (a registry's `RecoveryInfo::recipe`).
    pub fn parse(service: &str, body: &str) -> Result<Self, RecoveryError> {
        serde_json::from_str(body).map_err(|e| RecoveryError::Recipe {
            service: service.to_string(),
            reason: e.to_string(),
        })
    }

    /// As stored in the registry.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("a recipe is JSON")
    }
}

/// The Pod's name and its first container's, from its manifest.
fn pod_names(manifest: &str) -> Result<(String, String), String> {
    let pod: serde_json::Value =
        serde_yaml_ng::from_str(manifest).map_err(|e| format!("the manifest: {e}"))?;
    let name = pod["metadata"]["name"].as_str();
    let container = pod["spec"]["containers"][0]["name"].as_str();
    match (pod["kind"].as_str(), name, container) {
        (Some("Pod"), Some(n), Some(c)) => Ok((n.to_string(), c.to_string())),
        _ => Err("the manifest is not a Pod with a named container".into()),
    }
}

/// Runs `podman args…`; its output, or why it failed.
async fn podman(args: &[&str]) -> Result<String, String> {
    let out = tokio::process::Command::new("podman")
        .args(args)
        .output()
        .await
        .map_err(|e| format!("podman: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "podman {}: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Plays `manifest` on `network` (replacing a Pod of the same name, dead or
/// alive); returns the Pod's address there with `port`.
async fn kube_play(manifest: &str, network: &str, port: u16) -> Result<String, String> {
    let (pod, container) = pod_names(manifest)?;
    let file = std::env::temp_dir().join(format!("br2k-{pod}-{}.yaml", std::process::id()));
    std::fs::write(&file, manifest).map_err(|e| format!("{}: {e}", file.display()))?;
    let played = podman(&[
        "kube",
        "play",
        "--replace",
        "--network",
        network,
        &file.display().to_string(),
    ])
    .await;
    let _ = std::fs::remove_file(&file);
    played?;
    let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
    let ip = podman(&[
        "inspect",
        "--format",
        &format,
        &format!("{pod}-{container}"),
    ])
    .await?;
    if ip.is_empty() {
        return Err(format!("{pod} has no address on {network}"));
    }
    Ok(format!("{ip}:{port}"))
}

/// How long a new instance has to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Starts services from recipes and keeps what it started: the processes
/// end when the deployer is dropped (Pods stay, as a manager's would).
#[derive(Default)]
pub struct Deployer {
    children: Mutex<Vec<tokio::process::Child>>,
}

impl Deployer {
    /// Starts `service` from `recipe`; returns where it listens.
    pub async fn deploy(&self, service: &str, recipe: &Recipe) -> Result<String, RecoveryError> {
        let fail = |reason: String| RecoveryError::Deploy {
            service: service.to_string(),
            reason,
        };
        match recipe {
            Recipe::Process { program, args } => {
                let mut child = tokio::process::Command::new(program)
                    .args(args)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| fail(format!("{}: {e}", program.display())))?;
                let stdout = child.stdout.take().expect("piped stdout");
                let mut lines = tokio::io::BufReader::new(stdout).lines();
                let first = tokio::time::timeout(START_TIMEOUT, lines.next_line())
                    .await
                    .map_err(|_| fail("it did not say where it listens".into()))?
                    .map_err(|e| fail(e.to_string()))?
                    .ok_or_else(|| fail("it exited before saying where it listens".into()))?;
                // Keep draining its output so that it never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                self.children.lock().await.push(child);
                Ok(first.trim().to_string())
            }
            Recipe::Kube {
                manifest,
                network,
                port,
            } => kube_play(manifest, network, *port).await.map_err(fail),
        }
    }

    /// The process ids of the instances this deployer started.
    pub async fn pids(&self) -> Vec<u32> {
        self.children
            .lock()
            .await
            .iter()
            .filter_map(tokio::process::Child::id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipe_that_does_not_parse_is_refused_naming_the_service() {
        let e = Recipe::parse("echo", r#"{"kind":"teleport"}"#).unwrap_err();
        assert!(
            matches!(&e, RecoveryError::Recipe { service, .. } if service == "echo"),
            "{e}"
        );
        let e = Recipe::parse("echo", "").unwrap_err().to_string();
        assert!(e.starts_with("recipe of echo:"), "{e}");
        let kube = Recipe::Kube {
            manifest: "kind: Pod".into(),
            network: "n".into(),
            port: 1,
        };
        assert_eq!(Recipe::parse("echo", &kube.to_body()).unwrap(), kube);
    }

    #[tokio::test]
    async fn a_program_that_cannot_start_or_says_nothing_is_a_deploy_error() {
        let deployer = Deployer::default();
        for (program, says) in [
            (
                "/nonexistent/br2k-service",
                &["redeploying echo", "/nonexistent/br2k-service"][..],
            ),
            ("/bin/true", &["exited before saying where it listens"][..]),
        ] {
            let recipe = Recipe::Process {
                program: PathBuf::from(program),
                args: vec![],
            };
            let e = deployer
                .deploy("echo", &recipe)
                .await
                .unwrap_err()
                .to_string();
            assert!(says.iter().all(|s| e.contains(s)), "{program}: {e}");
        }
    }

    #[test]
    fn a_manifest_that_is_not_a_named_pod_is_refused() {
        assert!(pod_names("kind: Deployment\nmetadata: {name: x}\n").is_err());
        assert!(pod_names("kind: Pod\nmetadata: {name: x}\nspec: {containers: [{}]}\n").is_err());
        assert_eq!(
            pod_names("kind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c}]}\n").unwrap(),
            ("x".to_string(), "c".to_string())
        );
    }
}
