//! The Kubernetes manifests of `weft-network k8s`, run for real: translated
//! for `podman kube play` and started on the images `scripts/images.sh`
//! builds (opt-in: `./scripts/containers.sh`, which installs Podman, builds
//! the images and runs this with `--features container-tests`).
//!
//! The default topology (three Raft orderers, Org1 and Org2 with a peer
//! each) comes up as one namespace per organisation; each org's setup job
//! joins its own nodes and deploys asset-transfer-basic; a client outside the
//! pods commits a transaction. Then the operations the README documents:
//! a rolling restart of the peers without losing a transaction, a peer's
//! volume backed up, lost and restored, and a peer added to Org1. The CA
//! image is run on its own: as its user, configured by environment, its
//! state kept in its volume.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use weft_client_sdk::{Gateway, Tls};
use weft_network::k8s::{self, K8sOptions, podman::PodmanFile};
use weft_network::{NetworkInfo, Topology};
use weft_protos::protos::TxValidationCode;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `podman` with the project's containers.conf.
fn podman(args: &[&str]) -> Result<String, String> {
    let out = Command::new("podman")
        .args(args)
        .env(
            "CONTAINERS_CONF",
            std::env::var_os("CONTAINERS_CONF")
                .unwrap_or_else(|| repo().join("deploy/containers.conf").into()),
        )
        .output()
        .map_err(|e| format!("podman: {e} (run ./scripts/containers.sh)"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "podman {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Polls `check` every 200 ms until it holds or `limit` passes.
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The network's pods, volumes and Podman network, removed when dropped.
struct Deployment {
    files: Vec<PodmanFile>,
    network: String,
}

impl Deployment {
    fn play(files: Vec<PodmanFile>, network: &str) -> Self {
        let d = Self {
            files,
            network: network.to_string(),
        };
        d.down();
        podman(&["network", "create", network]).unwrap();
        for f in &d.files {
            podman(&[
                "kube",
                "play",
                "--network",
                network,
                &f.file.display().to_string(),
            ])
            .unwrap();
        }
        d
    }

    fn down(&self) {
        for f in &self.files {
            let _ = podman(&["kube", "down", &f.file.display().to_string()]);
            for pod in &f.pods {
                let _ = podman(&["volume", "rm", "-f", &format!("data-{pod}")]);
            }
        }
        let _ = podman(&["network", "rm", "-f", &self.network]);
    }

    /// The address of `pod` on the Podman network.
    fn ip(&self, container: &str) -> String {
        let format = format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
            self.network
        );
        podman(&["inspect", "--format", &format, container]).unwrap()
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.down();
    }
}

/// Plays the Pods named `pods` of `file` (with the volume claims they use)
/// on `network`, leaving the file's other Pods alone.
fn play_pods(file: &Path, pods: &[&str], network: &str, dir: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let docs: Vec<serde_json::Value> = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| <serde_json::Value as serde::Deserialize>::deserialize(doc).unwrap())
        .collect();
    let mut chosen = Vec::new();
    for pod in docs.iter().filter(|o| {
        o["kind"] == "Pod" && pods.contains(&o["metadata"]["name"].as_str().unwrap_or_default())
    }) {
        for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
            // A claim whose volume exists (restored, say) is used as it is.
            if let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str()
                && podman(&["volume", "exists", claim]).is_err()
            {
                chosen.extend(docs.iter().filter(|o| {
                    o["kind"] == "PersistentVolumeClaim" && o["metadata"]["name"] == claim
                }));
            }
        }
        chosen.push(pod);
    }
    assert_eq!(
        chosen.iter().filter(|o| o["kind"] == "Pod").count(),
        pods.len()
    );
    let out = dir.join(format!("{}.yaml", pods.join("+")));
    let text: String = chosen
        .iter()
        .map(|o| format!("---\n{}", serde_yaml_ng::to_string(o).unwrap()))
        .collect();
    std::fs::write(&out, text).unwrap();
    podman(&[
        "kube",
        "play",
        "--network",
        network,
        &out.display().to_string(),
    ])
    .unwrap();
}

/// `container`'s state and exit code.
fn state(container: &str) -> (String, i64) {
    let s = podman(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        container,
    ])
    .unwrap_or_default();
    let (status, code) = s.split_once(' ').unwrap_or(("", "-1"));
    (status.to_string(), code.parse().unwrap_or(-1))
}

/// A gateway to `org`'s first peer as its User1, from outside the pods.
async fn gateway(info: &NetworkInfo, d: &Deployment, org: usize) -> Gateway {
    gateway_to(info, d, org, 0).await
}

/// A gateway to peer `peer` of `org` as its User1, from outside the pods:
/// the pod's address, with the TLS name the certificates carry.
async fn gateway_to(info: &NetworkInfo, d: &Deployment, org: usize, peer: usize) -> Gateway {
    let o = &info.orgs[org];
    let host = format!("peer{peer}.org{}", org + 1);
    let (identity, signer) = weft_client_sdk::identity::load_msp(&o.user.msp, &o.msp_id).unwrap();
    let tls = Tls::from_files(&o.tls_ca, Some((&o.user.tls_cert, &o.user.tls_key)))
        .unwrap()
        .with_server_name(&host);
    let address = format!("{}:7051", d.ip(&format!("{host}-peer")));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match Gateway::connect(
            &address,
            identity.clone(),
            Some(signer.clone()),
            Some(tls.clone()),
        )
        .await
        {
            Ok(g) => return g,
            Err(e) => {
                assert!(Instant::now() < deadline, "{host} at {address}: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

async fn create(g: &Gateway, channel: &str, id: &str) -> TxValidationCode {
    g.network(channel)
        .contract("basic")
        .submit_async("CreateAsset", [id, "blue", "5", "Ana", "100"])
        .await
        .unwrap()
        .status()
        .await
        .unwrap()
        .code
}

async fn read(g: &Gateway, channel: &str, id: &str) -> Option<Vec<u8>> {
    g.network(channel)
        .contract("basic")
        .evaluate_transaction("ReadAsset", [id])
        .await
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifests_run_on_podman_and_a_client_outside_commits() {
    podman(&["image", "exists", "localhost/weft-peer:dev"])
        .expect("the images: run ./scripts/containers.sh (or scripts/images.sh)");
    let dir = tempfile::tempdir().unwrap();
    let mut opts = K8sOptions::new(Topology::default(), dir.path());
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    opts.chaincode = Some(weft_network::deploy::DeploySpec::from_crate(
        "basic",
        &weft_network::deploy::samples_dir().join("asset-transfer-basic"),
        Some(&build),
    ));
    let manifests = k8s::generate(&opts).unwrap();
    let files = k8s::podman::translate(&manifests, &dir.path().join("podman")).unwrap();
    let info = manifests.info.clone();

    let started = Instant::now();
    let mut d = Deployment::play(files, &format!("weft-test-{}", std::process::id()));
    for ns in ["ordererorg", "org1", "org2"] {
        let job = format!("channel-setup.{ns}-setup");
        wait_until(
            &format!("{job} to succeed"),
            Duration::from_secs(300),
            || state(&job) == ("exited".to_string(), 0),
        );
    }
    let set_up = started.elapsed();
    eprintln!("every org's setup job done {set_up:.1?} after `podman kube play`");
    for ns in ["ordererorg", "org1", "org2"] {
        // `podman logs` replays the container's stderr on its own stderr.
        let log = Command::new("podman")
            .args(["logs", &format!("channel-setup.{ns}-setup")])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default();
        eprintln!("--- channel-setup.{ns}:\n{log}");
    }

    let org1 = gateway(&info, &d, 0).await;
    let org2 = gateway(&info, &d, 1).await;
    assert_eq!(
        create(&org1, &info.channel, "k8s1").await,
        TxValidationCode::Valid
    );
    // Org2's peer commits the block on its own time.
    let deadline = Instant::now() + Duration::from_secs(60);
    let seen = loop {
        if let Some(seen) = read(&org2, &info.channel, "k8s1").await {
            break seen;
        }
        assert!(Instant::now() < deadline, "Org2 never reads k8s1");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(String::from_utf8_lossy(&seen).contains("k8s1"));

    // A rolling restart of the peers, one at a time, while Org1 keeps
    // submitting between restarts: every committed transaction is still
    // there afterwards, on both peers.
    let mut committed = vec!["k8s1".to_string()];
    // (The peer's container restarts in its pod, which keeps its address:
    // Podman 4.3's `pod restart` leaves a kube-played pod off its network.)
    for (n, peer) in ["peer0.org1", "peer0.org2"].iter().enumerate() {
        let container = format!("{peer}-peer");
        let stopping = Instant::now();
        podman(&["stop", &container]).unwrap();
        assert!(
            stopping.elapsed() < Duration::from_secs(8),
            "{peer} took {:?} to stop: SIGTERM not handled",
            stopping.elapsed()
        );
        podman(&["start", &container]).unwrap();
        let g = gateway(&info, &d, 0).await;
        let id = format!("rolled{n}");
        assert_eq!(
            create(&g, &info.channel, &id).await,
            TxValidationCode::Valid
        );
        committed.push(id);
    }
    let (org1, org2) = (gateway(&info, &d, 0).await, gateway(&info, &d, 1).await);
    for id in &committed {
        for g in [&org1, &org2] {
            let deadline = Instant::now() + Duration::from_secs(60);
            while read(g, &info.channel, id).await.is_none() {
                assert!(
                    Instant::now() < deadline,
                    "{id} lost after the rolling restart"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    // Org2's peer volume: backed up with the pod stopped, lost, restored.
    let backup = dir.path().join("peer0.org2-data.tar");
    podman(&["pod", "stop", "peer0.org2"]).unwrap();
    podman(&[
        "volume",
        "export",
        "--output",
        &backup.display().to_string(),
        "data-peer0.org2",
    ])
    .unwrap();
    podman(&["pod", "rm", "-f", "peer0.org2"]).unwrap();
    podman(&["volume", "rm", "-f", "data-peer0.org2"]).unwrap();
    podman(&["volume", "create", "data-peer0.org2"]).unwrap();
    podman(&[
        "volume",
        "import",
        "data-peer0.org2",
        &backup.display().to_string(),
    ])
    .unwrap();
    // The peer's Pod alone, on the restored volume.
    let org2_file = d
        .files
        .iter()
        .find(|f| f.namespace == "org2")
        .unwrap()
        .file
        .clone();
    play_pods(&org2_file, &["peer0.org2"], &d.network, dir.path());
    let org2 = gateway(&info, &d, 1).await;
    for id in &committed {
        assert!(
            read(&org2, &info.channel, id).await.is_some(),
            "{id} is in the restored volume"
        );
    }
    let org1 = gateway(&info, &d, 0).await;
    assert_eq!(
        create(&org1, &info.channel, "after-restore").await,
        TxValidationCode::Valid
    );
    committed.push("after-restore".into());

    // Adding a peer to Org1: the manifests written again with --extend
    // (same CAs, keys and genesis block), the new peer's Pod played, and
    // Org1's setup job run again: it joins the new peer and installs the
    // chaincode on it; the definition is found committed.
    let mut grown = opts.clone();
    grown.topology.peers_per_org = 2;
    grown.extend = true;
    let manifests = k8s::generate(&grown).unwrap();
    let info = manifests.info.clone();
    let files = k8s::podman::translate(&manifests, &dir.path().join("podman")).unwrap();
    let org1_file = files
        .iter()
        .find(|f| f.namespace == "org1")
        .unwrap()
        .file
        .clone();
    d.files = files;
    podman(&["pod", "rm", "-f", "channel-setup.org1"]).unwrap();
    play_pods(
        &org1_file,
        &["peer1.org1", "channel-setup.org1"],
        &d.network,
        dir.path(),
    );
    wait_until("Org1's setup job again", Duration::from_secs(300), || {
        state("channel-setup.org1-setup") == ("exited".to_string(), 0)
    });
    let peer1 = gateway_to(&info, &d, 0, 1).await;
    for id in &committed {
        assert!(
            read(&peer1, &info.channel, id).await.is_some(),
            "{id} on peer1.org1"
        );
    }
    assert_eq!(
        create(&peer1, &info.channel, "via-peer1").await,
        TxValidationCode::Valid
    );
    eprintln!(
        "podman run: set up in {set_up:.1?}; {} transactions committed through two peer restarts, a volume restore and a peer added",
        committed.len() + 1
    );
}

/// `GET http://<address>/api/v1/cainfo`'s result, once the CA answers.
async fn cainfo(address: &str) -> serde_json::Value {
    let url = format!("http://{address}/api/v1/cainfo");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(answer) = reqwest::get(&url).await
            && let Ok(body) = answer.json::<serde_json::Value>().await
        {
            return body["result"].clone();
        }
        assert!(Instant::now() < deadline, "no answer from {url}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_image_runs_as_its_user_configured_by_env_and_keeps_its_state() {
    podman(&["image", "exists", "localhost/weft-ca:dev"])
        .expect("the images: run ./scripts/containers.sh (or scripts/images.sh)");
    let id = std::process::id();
    let (network, name, volume) = (
        format!("weft-ca-test-{id}"),
        format!("weft-ca-{id}"),
        format!("weft-ca-home-{id}"),
    );
    struct Cleanup(String, String, String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = podman(&["rm", "-f", &self.1]);
            let _ = podman(&["volume", "rm", "-f", &self.2]);
            let _ = podman(&["network", "rm", "-f", &self.0]);
        }
    }
    let _cleanup = Cleanup(network.clone(), name.clone(), volume.clone());
    podman(&["network", "create", &network]).unwrap();
    let home = format!("{volume}:/var/hyperledger/fabric-ca-server");
    let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
    // A CA container on the volume, configured by FABRIC_CA_SERVER_* as
    // Fabric CA's image is; its address once it runs.
    let start = || {
        podman(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &network,
            "-v",
            &home,
            "-e",
            "FABRIC_CA_SERVER_TLS_ENABLED=false",
            "localhost/weft-ca:dev",
            "-b",
            "admin:adminpw",
        ])
        .unwrap();
        format!(
            "{}:7054",
            podman(&["inspect", "--format", &format, &name]).unwrap()
        )
    };
    let address = start();
    assert_eq!(
        podman(&["inspect", "--format", "{{.Config.User}}", &name]).unwrap(),
        "10001:10001"
    );
    let first = cainfo(&address).await;
    assert!(
        first["CAChain"].as_str().is_some_and(|c| !c.is_empty()),
        "{first}"
    );

    // Its key and certificate live in the volume: a new container on the
    // same volume is the same CA.
    podman(&["rm", "-f", &name]).unwrap();
    let address = start();
    let again = cainfo(&address).await;
    assert_eq!(again["CAChain"], first["CAChain"]);
}
