//! The README's first command, as a user runs it: `./scripts/weft-network up`
//! (which builds the binaries, then brings up 3 orderers and 2 orgs as
//! processes, deploys asset-transfer-basic and runs a transaction), on a
//! clean directory; then status, a query, and `down`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

#[test]
fn the_readme_command_brings_a_network_up_runs_a_transaction_and_tears_it_down() {
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
    let all = String::from_utf8_lossy(&run(&dir, &["query", "GetAllAssets"]).stdout).into_owned();
    assert!(all.contains("asset6"), "{all}");

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
    for pid in started {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z"),
            "process {pid} still running"
        );
    }
}
