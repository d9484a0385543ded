//! The `weft-configtx` binary, as a user runs it.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weft-configtx"))
}

fn samples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

#[test]
fn generate_genesis_inspect_encode() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for f in ["crypto-config.yaml", "configtx.yaml"] {
        std::fs::copy(samples().join(f), d.join(f)).unwrap();
    }
    let ok = |cmd: &mut Command| {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    ok(bin().current_dir(d).args(["crypto", "generate"]));
    assert!(d.join("crypto-config/peerOrganizations/org1.example.com/peers/peer0.org1.example.com/msp/keystore/priv_sk").exists());
    ok(bin().current_dir(d).args([
        "genesis",
        "--profile",
        "TwoOrgsApplicationGenesis",
        "--channel",
        "mychannel",
        "--output",
        "g.block",
    ]));
    let json: serde_json::Value =
        serde_json::from_slice(&ok(bin().current_dir(d).args(["inspect", "g.block"]))).unwrap();
    let ch = &json["data"]["data"][0]["payload"]["header"]["channel_header"];
    assert_eq!(ch["channel_id"], "mychannel");
    assert_eq!(ch["type"], 1);
    std::fs::write(d.join("g.json"), serde_json::to_vec(&json).unwrap()).unwrap();
    ok(bin()
        .current_dir(d)
        .args(["encode", "g.json", "--output", "g2.block"]));
    assert_eq!(
        std::fs::read(d.join("g.block")).unwrap(),
        std::fs::read(d.join("g2.block")).unwrap()
    );
}

#[test]
fn errors_exit_nonzero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.bin"), [0xffu8; 16]).unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["inspect", "junk.bin"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("junk.bin") && err.contains("pass --type"),
        "{err}"
    );
    let out = bin()
        .current_dir(dir.path())
        .args([
            "genesis",
            "--profile",
            "P",
            "--channel",
            "Bad_Name",
            "--output",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid channel name"));
    let out = bin().args(["--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("crypto") && help.contains("genesis") && help.contains("inspect"),
        "{help}"
    );
}
