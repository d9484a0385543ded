//! The README's first command, as a user runs it: `./scripts/weft-network up`
//! (which builds the binaries, then brings up 3 orderers and 2 orgs as
//! processes, deploys asset-transfer-basic and runs a transaction), on a
//! clean directory; then status, a query, and `down`. And `up --ca`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The two tests below bring up process networks with `WEFT_NETWORK_PORTS=auto`,
/// which picks free ports by binding and releasing them before the nodes
/// start. Two such `up`s at once can pick the same port, and then a node of
/// one network answers the other (seen as "UnknownIssuer"), so they take turns.
static PROCESS_NETWORKS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_process_network_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons the lock; the next one may still run.
    PROCESS_NETWORKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/weft-network")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(script())
        .args(args)
        .env("WEFT_NETWORK_DIR", dir)
        .env("WEFT_NETWORK_PORTS", "auto")
        .output()
        .unwrap();
    let text = format!(
        "weft-network {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    out
}

fn pids(dir: &Path) -> Vec<u32> {
    std::fs::read_dir(dir.join("pids"))
        .unwrap()
        .map(|e| {
            std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect()
}

/// Every process in `pids` has exited (or is a zombie awaiting its parent).
fn assert_stopped(pids: &[u32]) {
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z"),
            "process {pid} still running"
        );
    }
}

#[test]
fn the_readme_command_brings_a_network_up_runs_a_transaction_and_tears_it_down() {
    let _turn = one_process_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let up = run(&dir, &["up"]);
    let log = String::from_utf8_lossy(&up.stderr);
    assert!(log.contains("InitLedger committed"), "{log}");
    assert!(
        log.contains("ReadAsset asset1 →") && log.contains("Tomoko"),
        "{log}"
    );
    let started = pids(&dir);
    assert_eq!(started.len(), 5, "3 orderers and 2 peers");

    let status = String::from_utf8_lossy(&run(&dir, &["status"]).stdout).into_owned();
    assert_eq!(status.matches("running").count(), 5, "{status}");
    assert!(
        status.contains("0 expired, 0 expire within 30 days"),
        "{status}"
    );
    let all = String::from_utf8_lossy(&run(&dir, &["query", "GetAllAssets"]).stdout).into_owned();
    assert!(all.contains("asset6"), "{all}");

    // The bench reports every node's CPU per transaction beside its
    // throughput, with weft's Rust client and with Fabric's Node.js client
    // (whose process's CPU is the client's), signing with OpenSSL (low-S
    // normalised: the peers refuse high-S, half of what OpenSSL makes) or
    // with the SDK's own signer.
    for (client, signer) in [
        ("rust", "openssl"),
        ("fabric-node", "openssl"),
        ("fabric-node", "noble"),
    ] {
        let report = dir.join(format!("bench-{client}-{signer}.json"));
        let args = ["bench", "--client", client, "--node-signer", signer];
        let mut args: Vec<&str> = args.to_vec();
        args.extend(["-n", "40", "-c", "8", "-o", report.to_str().unwrap()]);
        let summary = String::from_utf8_lossy(&run(&dir, &args).stdout).into_owned();
        assert!(summary.contains("40 succeeded"), "{client}: {summary}");
        assert!(summary.contains("server CPU"), "{client}: {summary}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert_eq!(report["outcomes"]["VALID"], 40, "{client}: {report}");
        let cpu = &report["server_cpu"];
        assert_eq!(
            cpu["per_node_ms"].as_object().unwrap().len(),
            5,
            "{client}: {cpu}"
        );
        assert!(cpu["total_ms"].as_f64().unwrap() > 0.0, "{client}: {cpu}");
        assert!(cpu["client_ms"].as_f64().unwrap() > 0.0, "{client}: {cpu}");
        // The machine's speed beside it: one ECDSA verification, timed.
        let yardstick = &report["yardstick"];
        assert_eq!(yardstick["key_type"], "ECDSA P-256", "{client}: {report}");
        assert!(
            yardstick["verify_us"].as_f64().unwrap() > 0.0,
            "{client}: {report}"
        );
        assert!(summary.contains("verifications/tx"), "{client}: {summary}");
    }

    // A refused endorsement prints each org's detail: peer, MSP and message.
    let refused = Command::new(script())
        .args(["invoke", "CreateAsset", "asset1", "red", "1", "Ann", "1"])
        .env("WEFT_NETWORK_DIR", &dir)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.lines()
            .any(|l| l.trim_start().starts_with("- 127.0.0.1:")
                && l.contains("(Org1MSP):")
                && l.contains("asset1 already exists")),
        "no detail of Org1's peer: {err}"
    );

    // A second `up` on a running network is refused and changes nothing.
    let again = Command::new(script())
        .arg("up")
        .env("WEFT_NETWORK_DIR", &dir)
        .env("WEFT_NETWORK_PORTS", "auto")
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already running"));
    assert_eq!(pids(&dir), started);

    run(&dir, &["down"]);
    assert!(!dir.exists(), "down removes the directory");
    assert_stopped(&started);
}

/// `up --ca`: a CA per org as processes, every identity enrolled from them;
/// they keep serving, so a new user registered and enrolled afterwards
/// transacts, and `down` stops them with the nodes.
#[test]
fn up_with_cas_enrolls_everything_from_them_and_they_keep_serving() {
    let _turn = one_process_network_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let up = run(&dir, &["up", "--ca", "--orderers", "1"]);
    let log = String::from_utf8_lossy(&up.stderr);
    assert!(
        log.contains("enrolling org1.example.com's identities from ca-org1"),
        "{log}"
    );
    assert!(log.contains("InitLedger committed"), "{log}");
    let started = pids(&dir);
    assert_eq!(started.len(), 6, "3 CAs, 1 orderer and 2 peers");
    let info = weft_network::NetworkInfo::load(&dir).unwrap();
    assert_eq!(info.cas.len(), 3);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use weft_ca::client::CaClient;
        let ca = &info.cas[1];
        let client = CaClient::new(&ca.url(), &[ca.tls_root()]).unwrap();
        let registrar = CaClient::load(&ca.registrar).unwrap();
        client
            .call(
                &registrar,
                "register",
                Some(&serde_json::json!({"id": "carol", "secret": "carolpw"})),
            )
            .await
            .unwrap();
        let msp = tmp.path().join("carol");
        client
            .enroll("carol", "carolpw", "", &[], &msp)
            .await
            .unwrap();
        let org1 = info.org("Org1MSP").unwrap();
        let (id, signer) = weft_client_sdk::identity::load_msp(&msp, "Org1MSP").unwrap();
        let tls = weft_client_sdk::Tls::from_files(
            &org1.tls_ca,
            Some((&org1.user.tls_cert, &org1.user.tls_key)),
        )
        .unwrap();
        let contract =
            weft_client_sdk::Gateway::connect(&org1.peers[0].address, id, Some(signer), Some(tls))
                .await
                .unwrap()
                .network(&info.channel)
                .contract("basic");
        contract
            .submit_transaction("CreateAsset", ["carol1", "green", "3", "carol", "30"])
            .await
            .expect("a user enrolled after `up` is an Org1 client");
    });

    run(&dir, &["down"]);
    assert_stopped(&started);
}
