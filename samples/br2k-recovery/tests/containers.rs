//! BR2K's recovery loop with the service in a Podman pod (opt-in:
//! `./scripts/containers.sh` builds `localhost/br2k-echo:dev` and runs this
//! with `--features container-tests`). The manager launches the pod from the
//! Pod manifest in the registry's recovery body; the pod is killed; a client
//! of another org claims it; the manager plays the manifest again and
//! records the pod's new address; the client's call reaches it. Podman runs
//! with the caller's `CONTAINERS_CONF` (the script sets the project's).

use std::process::Command;

use br2k_recovery::client::ServiceClient;
use br2k_recovery::manager::Manager;
use br2k_recovery::recipe::Recipe;
use weft_client_sdk::events::EventStart;

mod support;

fn podman(args: &[&str]) -> Result<String, String> {
    let out = Command::new("podman")
        .args(args)
        .output()
        .map_err(|e| format!("podman: {e} (run ./scripts/containers.sh)"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The pod and network, removed when dropped.
struct Cleanup(String, String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = podman(&["pod", "rm", "-f", &self.0]);
        let _ = podman(&["network", "rm", "-f", &self.1]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_pod_is_claimed_played_again_and_reached() {
    podman(&["image", "exists", "localhost/br2k-echo:dev"])
        .expect("the image: run ./scripts/containers.sh (or scripts/images.sh)");
    let network = format!("br2k-test-{}", std::process::id());
    let pod = format!("echo-{}", std::process::id());
    let _cleanup = Cleanup(pod.clone(), network.clone());
    podman(&["network", "create", &network]).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let net = support::network_with_registry(dir.path()).await;
    let info = net.info().clone();
    let registry = |org: &'static str| support::registry(&info, org);

    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {pod}\nspec:\n  containers:\n  - name: echo\n    image: localhost/br2k-echo:dev\n    args: [\"--name\", \"echo\"]\n"
    );
    let recipe = Recipe::Kube {
        manifest,
        network: network.clone(),
        port: 8080,
    };
    let manager = std::sync::Arc::new(Manager::new(registry("Org1MSP").await));
    let first = manager.launch("echo", &recipe, "podman").await.unwrap();
    let watcher = {
        let manager = manager.clone();
        tokio::spawn(async move { manager.run(EventStart::Block(0), |_, _| {}).await })
    };

    let client = ServiceClient::new(registry("Org2MSP").await, "echo");
    let before = client.call("/").await.unwrap();
    assert_eq!(before.location, first);

    // The pod dies and is gone.
    podman(&["pod", "rm", "-f", &pod]).unwrap();
    let after = client.call("/").await.unwrap();
    let recovered_in = after.recovered_in.expect("the call needed a claim");
    assert!(
        after.body.contains("\"service\":\"echo\""),
        "{}",
        after.body
    );
    let header = registry("Org2MSP").await.service("echo").await.unwrap();
    assert_eq!(header.location, after.location);
    assert_eq!(header.state, "running");
    eprintln!(
        "pod {first} removed; claim to answer from {}: {recovered_in:.2?}",
        after.location
    );
    watcher.abort();
}
