//! `weft-network k8s`: the manifests of the default topology validate
//! strictly against Kubernetes' schemas (`kubernetes-validate`, installed by
//! `scripts/setup.sh`), each organisation's file holds only its own keys and
//! only in Secrets, and the names nodes are reached by are in their
//! certificates. The setup job's command (`org-setup`) is run against an
//! in-process network: each org does its own part, and running it again
//! changes nothing. (`tests/containers.rs` runs the manifests on Podman.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use weft_network::deploy::DeploySpec;
use weft_network::k8s::{self, K8sOptions};
use weft_network::org_setup::{self, OrgSetup};
use weft_network::{InProcessNetwork, Topology};

/// `kubernetes-validate --strict` on `files`: Ok, or what it printed.
fn validate(files: &[&Path]) -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict"])
        .arg("--quiet")
        .args(files)
        .output()
        .map_err(|e| format!("kubernetes-validate: {e} (./scripts/setup.sh installs it)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn sample_spec() -> DeploySpec {
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    DeploySpec::from_crate(
        "basic",
        &weft_network::deploy::samples_dir().join("asset-transfer-basic"),
        Some(&build),
    )
}

/// Every file (bytes) of a Secret or ConfigMap.
fn contents(o: &Value) -> Vec<Vec<u8>> {
    use base64::Engine;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    let mut out = Vec::new();
    for (_, v) in o["data"].as_object().into_iter().flatten() {
        out.push(if o["kind"] == "Secret" {
            b64(v)
        } else {
            v.as_str().unwrap().as_bytes().to_vec()
        });
    }
    for (_, v) in o["binaryData"].as_object().into_iter().flatten() {
        out.push(b64(v));
    }
    out
}

fn is_private_key(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).contains("PRIVATE KEY")
}

/// Every private key file under `dir`.
fn keys_under(dir: &Path) -> BTreeSet<Vec<u8>> {
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            keys.extend(keys_under(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            if is_private_key(&bytes) {
                keys.insert(bytes);
            }
        }
    }
    keys
}

fn dns_names(pem: &[u8]) -> Vec<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).unwrap();
    let cert = pem.parse_x509().unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_default_topologys_manifests_validate_and_keep_each_orgs_keys_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = K8sOptions::new(Topology::default(), dir.path());
    opts.chaincode = Some(sample_spec());
    let manifests = k8s::generate(&opts).unwrap();
    let names: Vec<&str> = manifests
        .namespaces
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    assert_eq!(names, ["ordererorg", "org1", "org2"]);
    let files: Vec<&Path> = manifests
        .namespaces
        .iter()
        .map(|n| n.file.as_path())
        .collect();
    validate(&files).unwrap();

    // The validator does reject what Kubernetes would: an unknown field.
    let broken = dir.path().join("broken.yaml");
    let text = std::fs::read_to_string(files[1]).unwrap();
    std::fs::write(&broken, text.replacen("serviceName:", "servicename:", 1)).unwrap();
    let refused = validate(&[&broken]).unwrap_err();
    assert!(refused.contains("servicename"), "{refused}");

    let material = dir.path().join("material/crypto");
    let org_dirs = [
        material.join("ordererOrganizations/example.com"),
        material.join("peerOrganizations/org1.example.com"),
        material.join("peerOrganizations/org2.example.com"),
    ];
    for (ns, org_dir) in manifests.namespaces.iter().zip(&org_dirs) {
        let own_keys = keys_under(org_dir);
        let kinds: Vec<&str> = ns
            .objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        for o in &ns.objects {
            assert_eq!(
                o["metadata"]["namespace"].as_str().unwrap_or(&ns.name),
                ns.name
            );
            match o["kind"].as_str().unwrap() {
                // Keys only in Secrets, and only this org's.
                "ConfigMap" => assert!(
                    !contents(o).iter().any(|b| is_private_key(b)),
                    "a private key in ConfigMap {} of {}",
                    o["metadata"]["name"],
                    ns.name
                ),
                "Secret" => {
                    for b in contents(o).iter().filter(|b| is_private_key(b)) {
                        assert!(
                            own_keys.contains(b),
                            "Secret {} of {} holds another org's key",
                            o["metadata"]["name"],
                            ns.name
                        );
                    }
                }
                "StatefulSet" => {
                    let pod = &o["spec"]["template"]["spec"];
                    let c = &pod["containers"][0];
                    for probe in ["readinessProbe", "startupProbe"] {
                        assert_eq!(c[probe]["httpGet"]["path"], "/healthz");
                    }
                    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/version");
                    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
                    assert!(c["resources"]["requests"]["cpu"].is_string());
                    assert_eq!(
                        o["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
                        "data"
                    );
                }
                "Job" => {
                    let args = &o["spec"]["template"]["spec"]["containers"][0]["args"];
                    assert_eq!(args[4], ns.msp_id.as_str(), "{args}");
                }
                _ => {}
            }
        }
        let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
        let nodes = if ns.name == "ordererorg" { 3 } else { 1 };
        assert_eq!(count("Namespace"), 1);
        assert_eq!(count("StatefulSet"), nodes, "{kinds:?}");
        assert_eq!(count("Service"), nodes);
        assert_eq!(count("Job"), 1);
    }

    // Nodes are reached as <service>.<namespace>; their certificates say so.
    let tls = material
        .join("peerOrganizations/org1.example.com/peers/peer0.org1.example.com/tls/server.crt");
    let names = dns_names(&std::fs::read(tls).unwrap());
    for want in [
        "peer0.org1",
        "peer0.org1.svc",
        "peer0.org1.svc.cluster.local",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    assert_eq!(manifests.info.orgs[0].peers[0].address, "peer0.org1:7051");
    assert_eq!(
        manifests.info.orderers[1].address,
        "orderer2.ordererorg:7050"
    );

    // The Podman translation is valid Kubernetes too, with the Secrets'
    // files written out for hostPath volumes.
    let podman = k8s::podman::translate(&manifests, &dir.path().join("podman")).unwrap();
    let files: Vec<&Path> = podman.iter().map(|f| f.file.as_path()).collect();
    validate(&files).unwrap();
    assert_eq!(podman[1].pods, ["peer0.org1", "channel-setup.org1"]);
    let key = dir
        .path()
        .join("podman/volumes/org1/peer0-crypto/tls/server.key");
    assert!(is_private_key(&std::fs::read(key).unwrap()));
    let text = std::fs::read_to_string(files[1]).unwrap();
    assert!(!text.contains("containerPort") && !text.contains("Probe"));
}

#[test]
fn a_topology_with_cas_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology {
        ca: true,
        ..Topology::default()
    };
    let e = k8s::generate(&K8sOptions::new(topology, dir.path())).unwrap_err();
    assert!(e.to_string().contains("ca: true"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_org_sets_up_its_own_part_and_running_it_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let net = InProcessNetwork::start(&Topology::for_tests("100ms"), dir.path())
        .await
        .unwrap();
    let info = net.info().clone();
    let spec = |org: &str| OrgSetup {
        org: org.into(),
        chaincode: Some(sample_spec()),
        timeout: Duration::from_secs(120),
    };
    // The nodes are members already: the orderer org's part finds that.
    let said = std::sync::Mutex::new(Vec::new());
    org_setup::run(
        &info,
        &OrgSetup {
            chaincode: None,
            ..spec("OrdererMSP")
        },
        |m| said.lock().unwrap().push(m.to_string()),
    )
    .await
    .unwrap();
    assert!(
        said.lock().unwrap()[0].contains("already a member"),
        "{said:?}"
    );

    // Both orgs at once, each with only its part: install, approve, and
    // whoever sees both approvals first commits.
    let (org1, org2) = (spec("Org1MSP"), spec("Org2MSP"));
    let (a, b) = tokio::join!(
        org_setup::run(&info, &org1, |_| {}),
        org_setup::run(&info, &org2, |_| {}),
    );
    a.unwrap();
    b.unwrap();
    let defined = |org: usize| {
        let info = info.clone();
        async move {
            weft_network::deploy::committed_definition(&info, &info.orgs[org], 0, "basic")
                .await
                .unwrap()
                .unwrap()
                .sequence
        }
    };
    assert_eq!((defined(0).await, defined(1).await), (1, 1));
    let commit = info
        .gateway("Org1MSP")
        .await
        .unwrap()
        .network(&info.channel)
        .contract("basic")
        .submit_transaction("CreateAsset", ["job1", "red", "1", "Ana", "10"])
        .await;
    assert!(commit.is_ok(), "{commit:?}");

    // Again, as a retried job would: nothing new is approved or committed.
    let said = std::sync::Mutex::new(Vec::new());
    org_setup::run(&info, &spec("Org2MSP"), |m| {
        said.lock().unwrap().push(m.to_string())
    })
    .await
    .unwrap();
    let said = said.lock().unwrap().join("\n");
    assert!(
        said.contains("already installed") && said.contains("is committed at sequence 1"),
        "{said}"
    );
    assert!(
        !said.contains("approving") && !said.contains("committing"),
        "{said}"
    );
    assert_eq!(defined(1).await, 1);

    // An org the network does not have is refused by name.
    let e = org_setup::run(&info, &spec("Org9MSP"), |_| {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Org9MSP"), "{e}");
}

#[test]
fn extending_adds_a_peer_and_keeps_the_channel_and_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = K8sOptions::new(Topology::default(), dir.path());
    let first = k8s::generate(&opts).unwrap();
    let material = dir.path().join("material");
    let read = |p: &Path| std::fs::read(p).unwrap();
    let genesis = read(&first.info.genesis);
    let peer0_key = read(&first.info.orgs[0].peers[0].crypto.join("tls/server.key"));

    // Again without --extend: refused, nothing touched.
    let again = k8s::generate(&opts).unwrap_err().to_string();
    assert!(again.contains("--extend"), "{again}");
    assert_eq!(read(&first.info.genesis), genesis);

    // Org1 and Org2 grow to two peers each.
    opts.topology.peers_per_org = 2;
    opts.extend = true;
    let grown = k8s::generate(&opts).unwrap();
    assert_eq!(read(&grown.info.genesis), genesis, "the same channel");
    assert_eq!(
        read(&grown.info.orgs[0].peers[0].crypto.join("tls/server.key")),
        peer0_key
    );
    let peer1 = &grown.info.orgs[0].peers[1];
    assert_eq!(peer1.address, "peer1.org1:7051");
    let tls = weft_common::msp::Certificate::from_pem(&read(&peer1.crypto.join("tls/server.crt")))
        .unwrap();
    let tlsca = weft_common::msp::Certificate::from_pem(&read(&grown.info.orgs[0].tls_ca)).unwrap();
    assert!(tls.is_issued_by(&tlsca), "issued by Org1's existing TLS CA");
    let names = dns_names(&read(&peer1.crypto.join("tls/server.crt")));
    assert!(names.iter().any(|n| n == "peer1.org1"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("peer0.")), "{names:?}");
    let org1 = &grown.namespaces[1];
    let sets: Vec<&str> = org1
        .objects
        .iter()
        .filter(|o| o["kind"] == "StatefulSet")
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(sets, ["peer0", "peer1"]);
    validate(&[org1.file.as_path()]).unwrap();

    // What would change the channel is refused by name.
    opts.topology.orgs = 3;
    let e = k8s::generate(&opts).unwrap_err().to_string();
    assert!(e.contains("orgs was 2 and is 3"), "{e}");
    opts.topology.orgs = 2;
    opts.topology.peers_per_org = 1;
    let e = k8s::generate(&opts).unwrap_err().to_string();
    assert!(e.contains("peersPerOrg was 2 and is 1"), "{e}");
    let fresh = tempfile::tempdir().unwrap();
    let e = k8s::generate(&K8sOptions {
        extend: true,
        ..K8sOptions::new(Topology::default(), fresh.path())
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("nothing to extend"), "{e}");
    assert!(material.join("network.json").is_file());
}
