//! Issue 21's flows with each organisation on its own host: four network
//! namespaces on a private bridge (the orderer org, Org1, Org2, Org3), each
//! with its own address, directory and processes (`weft-orderer`,
//! `weft-peer`, and every admin command of `weft-configtx`, `weft-peer` and
//! `weft-orderer` run inside it). Nothing passes between hosts but the files
//! the workflow names: public MSP folders and the orderer's TLS CA for the
//! genesis block, the genesis block, Org3's definition, the update file.
//! The test process reaches the hosts through the bridge for the chaincode
//! deployment and the transactions, as the network tool would. After Org3
//! joins, the orderer org's admin slows the batch timeout and Org1's admin
//! moves its anchor peer, each from its own host; then a new orderer
//! organisation on Org3's host is added and brings a second consenter,
//! co-signed by both orderer organisations' admins; and finally Org3's peer
//! organisation is removed and its admin can no longer read the channel.
//!
//! Skips, saying why, where namespaces cannot be made (no root, no `ip`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use weft_network::info::{NetworkInfo, NodeInfo, OrgInfo, UserFiles};
use weft_protos::protos::TxValidationCode;
use weft_testkit::hosts::{Host, Hosts};

use crate::consortium::{create_asset, user_files};

const CHANNEL: &str = "mychannel";

/// The node and tool binaries, built if needed (next to this test's deps folder).
pub(crate) fn bins() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "-q",
            "--locked",
            "-p",
            "weft-orderer",
            "-p",
            "weft-peer",
            "-p",
            "weft-configtx",
        ])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(status.success(), "building the binaries");
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Runs `program args` on `host` with `env`; its stdout, or its stderr as the error.
fn run(
    host: &Host,
    program: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<String, String> {
    let out = host
        .command(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(stderr)
    }
}

fn must(r: Result<String, String>, what: &str) -> String {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Copies a folder (a public MSP) from one host's directory to another's.
fn pass_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            pass_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn pass_file(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
}

fn crypto_config(org: u8, ip: &str) -> String {
    format!(
        "PeerOrgs:\n  - Name: Org{org}\n    Domain: org{org}.example.com\n    EnableNodeOUs: true\n    Specs:\n      - Hostname: peer0\n        SANS: [{ip}, 127.0.0.1, localhost]\n    Users: {{ Count: 1 }}\n"
    )
}

fn org_entry(org: u8, msp_dir: &str, anchor: &str) -> String {
    let (host, port) = anchor.rsplit_once(':').unwrap();
    format!(
        r#"  - &Org{org}
    Name: Org{org}MSP
    ID: Org{org}MSP
    MSPDir: {msp_dir}
    Policies:
      Readers: {{ Type: Signature, Rule: "OR('Org{org}MSP.admin', 'Org{org}MSP.peer', 'Org{org}MSP.client')" }}
      Writers: {{ Type: Signature, Rule: "OR('Org{org}MSP.admin', 'Org{org}MSP.client')" }}
      Admins: {{ Type: Signature, Rule: "OR('Org{org}MSP.admin')" }}
      Endorsement: {{ Type: Signature, Rule: "OR('Org{org}MSP.peer')" }}
    AnchorPeers:
      - {{ Host: {host}, Port: {port} }}
"#
    )
}

/// The orderer host's configtx.yaml: its org and the MSPs Org1 and Org2 passed to it.
fn channel_configtx(orderer: &str, anchors: [&str; 2]) -> String {
    let ca = "Capabilities: { V2_0: true }";
    format!(
        r#"Organizations:
  - &OrdererOrg
    Name: OrdererOrg
    ID: OrdererMSP
    MSPDir: crypto/ordererOrganizations/example.com/msp
    Policies:
      Readers: {{ Type: Signature, Rule: "OR('OrdererMSP.member')" }}
      Writers: {{ Type: Signature, Rule: "OR('OrdererMSP.member')" }}
      Admins: {{ Type: Signature, Rule: "OR('OrdererMSP.admin')" }}
    OrdererEndpoints: [{orderer}]
{org1}{org2}
Profiles:
  ThreeHosts:
    Capabilities: {{ V3_0: true }}
    Policies:
      Readers: {{ Type: ImplicitMeta, Rule: "ANY Readers" }}
      Writers: {{ Type: ImplicitMeta, Rule: "ANY Writers" }}
      Admins: {{ Type: ImplicitMeta, Rule: "MAJORITY Admins" }}
    Orderer:
      OrdererType: etcdraft
      BatchTimeout: 200ms
      BatchSize: {{ MaxMessageCount: 10, AbsoluteMaxBytes: 10 MB, PreferredMaxBytes: 2 MB }}
      EtcdRaft:
        Consenters:
          - Host: {host}
            Port: {port}
            ClientTLSCert: crypto/ordererOrganizations/example.com/orderers/orderer.example.com/tls/server.crt
            ServerTLSCert: crypto/ordererOrganizations/example.com/orderers/orderer.example.com/tls/server.crt
      Organizations: [*OrdererOrg]
      Policies:
        Readers: {{ Type: ImplicitMeta, Rule: "ANY Readers" }}
        Writers: {{ Type: ImplicitMeta, Rule: "ANY Writers" }}
        Admins: {{ Type: ImplicitMeta, Rule: "MAJORITY Admins" }}
        BlockValidation: {{ Type: ImplicitMeta, Rule: "ANY Writers" }}
      {ca}
    Application:
      Organizations: [*Org1, *Org2]
      Policies:
        Readers: {{ Type: ImplicitMeta, Rule: "ANY Readers" }}
        Writers: {{ Type: ImplicitMeta, Rule: "ANY Writers" }}
        Admins: {{ Type: ImplicitMeta, Rule: "MAJORITY Admins" }}
        LifecycleEndorsement: {{ Type: ImplicitMeta, Rule: "MAJORITY Endorsement" }}
        Endorsement: {{ Type: ImplicitMeta, Rule: "MAJORITY Endorsement" }}
      Capabilities: {{ V2_5: true }}
"#,
        org1 = org_entry(1, "orgs/org1/msp", anchors[0]),
        org2 = org_entry(2, "orgs/org2/msp", anchors[1]),
        host = orderer.rsplit_once(':').unwrap().0,
        port = orderer.rsplit_once(':').unwrap().1,
    )
}

/// Waits until something listens at `address` (reached through the bridge).
pub(crate) async fn wait_listening(address: &str, what: &str, log: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(address).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} never listened on {address}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn peer_org(host: &Host, org: u8) -> OrgInfo {
    let domain = format!("org{org}.example.com");
    let dir = host.dir.join("crypto/peerOrganizations").join(&domain);
    OrgInfo {
        name: format!("Org{org}"),
        msp_id: format!("Org{org}MSP"),
        tls_ca: dir.join(format!("tlsca/tlsca.{domain}-cert.pem")),
        admin: user_files(&dir, "Admin", &domain),
        user: user_files(&dir, "User1", &domain),
        peers: vec![NodeInfo {
            name: format!("peer0.{domain}"),
            address: host.addr(7051),
            admin_address: None,
            operations_address: "127.0.0.1:9443".into(),
            crypto: dir.join(format!("peers/peer0.{domain}")),
            data: host.dir.join("data"),
            log: host.dir.join("peer.log"),
        }],
    }
}

/// An org admin's environment for `weft-configtx` and `weft-peer` on its host.
fn admin_env(org: &OrgInfo) -> Vec<(&'static str, String)> {
    let peer = &org.peers[0];
    vec![
        (
            "CORE_PEER_MSPCONFIGPATH",
            org.admin.msp.display().to_string(),
        ),
        ("CORE_PEER_LOCALMSPID", org.msp_id.clone()),
        ("CORE_PEER_ADDRESS", peer.address.clone()),
        (
            "CORE_PEER_TLS_ROOTCERT_FILE",
            org.tls_ca.display().to_string(),
        ),
        ("RUST_LOG", "warn".into()),
    ]
}

async fn height(info: &NetworkInfo, org: &OrgInfo) -> u64 {
    match info.admin_client(org, 0).await {
        Ok(mut c) => c.chain_info(CHANNEL).await.map(|i| i.height).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Starts `org`'s peer on its host and joins it with the genesis block, as its admin.
async fn start_peer(hosts: &Hosts, bin: &Path, info: &NetworkInfo, org: &OrgInfo, host: &str) {
    let h = hosts.host(host);
    std::fs::write(
        h.dir.join("core.yaml"),
        weft_network::process::peer_yaml(info, org, &org.peers[0]).unwrap(),
    )
    .unwrap();
    hosts
        .spawn(
            host,
            &bin.join("weft-peer"),
            &["node", "start", "--config", "core.yaml"],
            &[],
            "peer.log",
        )
        .unwrap();
    wait_listening(
        &org.peers[0].address,
        &org.peers[0].name,
        &h.dir.join("peer.log"),
    )
    .await;
    must(
        run(
            h,
            &bin.join("weft-peer"),
            &["channel", "join", "-b", "mychannel.block"],
            &admin_env(org),
        ),
        "peer channel join",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org3_joins_from_its_own_host_with_org2s_offline_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let hosts = match Hosts::create(&["orderer", "org1", "org2", "org3"], tmp.path()) {
        Ok(h) => h,
        Err(why) => {
            eprintln!("skipping the multi-host test: {why}");
            return;
        }
    };
    let bin = bins();
    let configtx = bin.join("weft-configtx");
    let (h0, h1, h2, h3) = (
        hosts.host("orderer"),
        hosts.host("org1"),
        hosts.host("org2"),
        hosts.host("org3"),
    );

    // Each org makes its crypto on its own host.
    let orderer_addr = h0.addr(7050);
    std::fs::write(
        h0.dir.join("crypto-config.yaml"),
        format!("OrdererOrgs:\n  - Name: Orderer\n    Domain: example.com\n    EnableNodeOUs: true\n    Specs:\n      - Hostname: orderer\n        SANS: [{}, 127.0.0.1, localhost]\n", h0.ip),
    )
    .unwrap();
    for (h, org) in [(h1, 1), (h2, 2), (h3, 3)] {
        std::fs::write(
            h.dir.join("crypto-config.yaml"),
            crypto_config(org, &h.ip.to_string()),
        )
        .unwrap();
    }
    for h in [h0, h1, h2, h3] {
        must(
            run(
                h,
                &configtx,
                &["crypto", "generate", "--output", "crypto"],
                &[],
            ),
            "crypto generate",
        );
    }

    // Org1 and Org2 pass their public MSP folders to the orderer org, which
    // makes the genesis block; the block and the orderer's TLS CA go back.
    for (h, org) in [(h1, 1), (h2, 2)] {
        let msp = h
            .dir
            .join(format!("crypto/peerOrganizations/org{org}.example.com/msp"));
        pass_folder(&msp, &h0.dir.join(format!("orgs/org{org}/msp")));
    }
    std::fs::write(
        h0.dir.join("configtx.yaml"),
        channel_configtx(&orderer_addr, [&h1.addr(7051), &h2.addr(7051)]),
    )
    .unwrap();
    must(
        run(
            h0,
            &configtx,
            &[
                "genesis",
                "--profile",
                "ThreeHosts",
                "--channel",
                CHANNEL,
                "--output",
                "mychannel.block",
            ],
            &[],
        ),
        "genesis",
    );
    let orderer_tlsca = h0
        .dir
        .join("crypto/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem");
    for h in [h1, h2, h3] {
        pass_file(&orderer_tlsca, &h.dir.join("orderer-tlsca.pem"));
    }
    for h in [h1, h2] {
        pass_file(
            &h0.dir.join("mychannel.block"),
            &h.dir.join("mychannel.block"),
        );
    }

    // The orderer starts on its host and its admin joins it (osnadmin's verb).
    let orderer_org = h0.dir.join("crypto/ordererOrganizations/example.com");
    let admin_tls = orderer_org.join("users/Admin@example.com/tls");
    let info = NetworkInfo {
        dir: tmp.path().to_path_buf(),
        channel: CHANNEL.into(),
        genesis: h0.dir.join("mychannel.block"),
        orderer_tls_ca: orderer_tlsca.clone(),
        orderer_admin: UserFiles {
            msp: orderer_org.join("users/Admin@example.com/msp"),
            tls_cert: admin_tls.join("client.crt"),
            tls_key: admin_tls.join("client.key"),
        },
        orderers: vec![NodeInfo {
            name: "orderer.example.com".into(),
            address: orderer_addr.clone(),
            admin_address: Some("127.0.0.1:7053".into()),
            operations_address: "127.0.0.1:8443".into(),
            crypto: orderer_org.join("orderers/orderer.example.com"),
            data: h0.dir.join("data"),
            log: h0.dir.join("orderer.log"),
        }],
        orgs: vec![peer_org(h1, 1), peer_org(h2, 2)],
        cas: Vec::new(),
        client_auth_required: false,
    };
    std::fs::write(
        h0.dir.join("orderer.yaml"),
        weft_network::process::orderer_yaml(&info, &info.orderers[0]).unwrap(),
    )
    .unwrap();
    hosts
        .spawn(
            "orderer",
            &bin.join("weft-orderer"),
            &["start", "--config", "orderer.yaml"],
            &[],
            "orderer.log",
        )
        .unwrap();
    wait_listening(&orderer_addr, "the orderer", &h0.dir.join("orderer.log")).await;
    let (cert, key) = (admin_tls.join("client.crt"), admin_tls.join("client.key"));
    let osnadmin = [
        "channel",
        "join",
        "-o",
        "127.0.0.1:7053",
        "--ca-file",
        orderer_tlsca.to_str().unwrap(),
        "--client-cert",
        cert.to_str().unwrap(),
        "--client-key",
        key.to_str().unwrap(),
        "-c",
        CHANNEL,
        "-b",
        "mychannel.block",
    ];
    must(
        run(h0, &bin.join("weft-orderer"), &osnadmin, &[]),
        "weft-orderer channel join",
    );

    // Org1's and Org2's peers, each on its host, joined by their admins.
    let (org1, org2) = (info.orgs[0].clone(), info.orgs[1].clone());
    start_peer(&hosts, &bin, &info, &org1, "org1").await;
    start_peer(&hosts, &bin, &info, &org2, "org2").await;

    // asset-transfer-basic, deployed on both orgs (through the bridge).
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let spec = weft_network::deploy::DeploySpec::from_crate(
        "basic",
        &weft_network::deploy::samples_dir().join("asset-transfer-basic"),
        Some(&build),
    );
    weft_network::deploy::deploy(&info, &spec, |_| {})
        .await
        .unwrap();

    // Org3, on its host: crypto (made above), its org definition.
    std::fs::write(
        h3.dir.join("configtx.yaml"),
        format!(
            "Organizations:\n{}",
            org_entry(
                3,
                "crypto/peerOrganizations/org3.example.com/msp",
                &h3.addr(7051)
            )
        ),
    )
    .unwrap();
    let definition = must(
        run(h3, &configtx, &["org", "print", "Org3MSP"], &[]),
        "org print",
    );
    std::fs::write(h3.dir.join("org3.json"), definition).unwrap();
    pass_file(&h3.dir.join("org3.json"), &h1.dir.join("org3.json"));

    // Org1's admin proposes the addition and tries to submit it alone.
    let orderer_flags = ["-o", orderer_addr.as_str(), "--cafile", "orderer-tlsca.pem"];
    let env1 = admin_env(&org1);
    let fetch = |h: &Host, env: &[(&str, String)]| {
        let args = [
            &["fetch", "config", "config.block", "-c", CHANNEL][..],
            &orderer_flags,
        ]
        .concat();
        must(run(h, &configtx, &args, env), "fetch config");
    };
    fetch(h1, &env1);
    must(
        run(
            h1,
            &configtx,
            &[
                "channel",
                "org",
                "add",
                "org3.json",
                "--config-block",
                "config.block",
                "--output",
                "org3_update.pb",
            ],
            &env1,
        ),
        "channel org add",
    );
    let submit = [&["update", "submit", "org3_update.pb"][..], &orderer_flags].concat();
    let refused = run(h1, &configtx, &submit, &env1).unwrap_err();
    assert!(
        refused.contains("still needs 1 more of the Admins of Org2MSP"),
        "{refused}"
    );

    // The file goes to Org2's admin, who inspects, signs and submits it.
    pass_file(
        &h1.dir.join("org3_update.pb"),
        &h2.dir.join("org3_update.pb"),
    );
    let env2 = admin_env(&org2);
    fetch(h2, &env2);
    let review = must(
        run(
            h2,
            &configtx,
            &[
                "update",
                "inspect",
                "org3_update.pb",
                "--config-block",
                "config.block",
            ],
            &env2,
        ),
        "inspect",
    );
    assert!(
        review.contains("adds group /Channel/Application/Org3MSP"),
        "{review}"
    );
    must(
        run(h2, &configtx, &["update", "sign", "org3_update.pb"], &env2),
        "update sign",
    );
    must(run(h2, &configtx, &submit, &env2), "update submit");

    // Org3's admin fetches the genesis block, starts its peer and joins it.
    let org3 = peer_org(h3, 3);
    let env3 = admin_env(&org3);
    let args = [
        &["fetch", "oldest", "mychannel.block", "-c", CHANNEL][..],
        &orderer_flags,
    ]
    .concat();
    must(run(h3, &configtx, &args, &env3), "fetch oldest");
    let mut three = info.clone();
    three.orgs.push(org3.clone());
    start_peer(&hosts, &bin, &three, &org3, "org3").await;
    let target = height(&three, &org1).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while height(&three, &org3).await < target {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Org3's peer never caught up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Org3 approves; the next sequence commits with a majority of three.
    let deployed = weft_network::deploy::deploy(&three, &spec, |_| {})
        .await
        .unwrap();
    assert_eq!(deployed.sequence, 2);
    assert_eq!(
        create_asset(&three, &org3, &[&org2, &org3], "from-org3-host").await,
        TxValidationCode::Valid
    );
    assert_eq!(
        create_asset(&three, &org3, &[&org3], "org3-alone").await,
        TxValidationCode::EndorsementPolicyFailure
    );

    // The orderer org's admin slows the batch timeout from its host: a lone
    // transaction now waits for it before its block is cut.
    let env0 = [
        (
            "CORE_PEER_MSPCONFIGPATH",
            info.orderer_admin.msp.display().to_string(),
        ),
        ("CORE_PEER_LOCALMSPID", "OrdererMSP".to_string()),
    ];
    pass_file(&orderer_tlsca, &h0.dir.join("orderer-tlsca.pem"));
    fetch(h0, &env0);
    let batch = [
        "channel",
        "batch",
        "set",
        "--timeout",
        "2s",
        "--config-block",
        "config.block",
        "--output",
        "batch.pb",
    ];
    must(run(h0, &configtx, &batch, &env0), "batch set");
    let submit_batch = [&["update", "submit", "batch.pb"][..], &orderer_flags].concat();
    must(run(h0, &configtx, &submit_batch, &env0), "submit batch");
    let started = std::time::Instant::now();
    assert_eq!(
        create_asset(&three, &org3, &[&org2, &org3], "slow").await,
        TxValidationCode::Valid
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "committed after {waited:?}"
    );

    // Org1's admin moves its anchor peer from its host; Org2 sees it in the
    // config it fetches on its own host.
    fetch(h1, &env1);
    let moved = h1.addr(7151);
    let anchors = [
        "channel",
        "anchor-peers",
        "set",
        "--org",
        "Org1MSP",
        moved.as_str(),
        "--config-block",
        "config.block",
        "--output",
        "anchors.pb",
    ];
    must(run(h1, &configtx, &anchors, &env1), "anchor-peers set");
    let submit_anchors = [&["update", "submit", "anchors.pb"][..], &orderer_flags].concat();
    must(run(h1, &configtx, &submit_anchors, &env1), "submit anchors");
    fetch(h2, &env2);
    let seen =
        weft_configtx::channel_update::read_config_block(&h2.dir.join("config.block")).unwrap();
    let org1_seen =
        &seen.application.as_ref().unwrap().orgs[&weft_common::ids::MspId::new("Org1MSP")];
    assert_eq!(org1_seen.anchor_peers, [(h1.ip.to_string(), 7151)]);

    // A new orderer organisation on Org3's host brings a consenter.
    let o3 = "orderer.org3.example.com";
    std::fs::write(
        h3.dir.join("orderer-crypto.yaml"),
        format!("OrdererOrgs:\n  - Name: Org3Orderer\n    Domain: {o3}\n    EnableNodeOUs: true\n    Specs:\n      - Hostname: orderer\n        SANS: [{}, 127.0.0.1, localhost]\n", h3.ip),
    )
    .unwrap();
    let generate = [
        "crypto",
        "generate",
        "--config",
        "orderer-crypto.yaml",
        "--output",
        "orderer-crypto",
    ];
    must(
        run(h3, &configtx, &generate, &[]),
        "orderer crypto generate",
    );
    let o3_org = h3
        .dir
        .join(format!("orderer-crypto/ordererOrganizations/{o3}"));
    let o3_addr = h3.addr(7050);
    std::fs::write(
        h3.dir.join("configtx.yaml"),
        format!(
            "Organizations:\n  - &Org3Orderer\n    Name: Org3OrdererMSP\n    ID: Org3OrdererMSP\n    MSPDir: orderer-crypto/ordererOrganizations/{o3}/msp\n    Policies:\n      Readers: {{ Type: Signature, Rule: \"OR('Org3OrdererMSP.member')\" }}\n      Writers: {{ Type: Signature, Rule: \"OR('Org3OrdererMSP.member')\" }}\n      Admins: {{ Type: Signature, Rule: \"OR('Org3OrdererMSP.admin')\" }}\n    OrdererEndpoints: [{o3_addr}]\n"
        ),
    )
    .unwrap();
    let definition = must(
        run(h3, &configtx, &["org", "print", "Org3OrdererMSP"], &[]),
        "org print",
    );
    std::fs::write(h0.dir.join("org3-orderer.json"), definition).unwrap();
    let o3_node = o3_org.join(format!("orderers/orderer.{o3}"));
    pass_file(
        &o3_node.join("tls/server.crt"),
        &h0.dir.join("org3-orderer-tls.crt"),
    );

    // The orderer org's admin adds the org to the Orderer group (its admins
    // alone decide that), then proposes the consenter: the Orderer group's
    // admins are now a majority of two orgs, so Org3's orderer admin must sign.
    fetch(h0, &env0);
    let add_org = [
        "channel",
        "org",
        "add",
        "org3-orderer.json",
        "--section",
        "orderer",
        "--config-block",
        "config.block",
        "--output",
        "org.pb",
    ];
    must(
        run(h0, &configtx, &add_org, &env0),
        "org add --section orderer",
    );
    must(
        run(
            h0,
            &configtx,
            &[&["update", "submit", "org.pb"][..], &orderer_flags].concat(),
            &env0,
        ),
        "submit org",
    );
    fetch(h0, &env0);
    let (o3_host, o3_port) = o3_addr.rsplit_once(':').unwrap();
    let add = [
        "channel",
        "orderer",
        "add-consenter",
        "--host",
        o3_host,
        "--port",
        o3_port,
        "--client-tls-cert",
        "org3-orderer-tls.crt",
        "--config-block",
        "config.block",
        "--output",
        "consenter.pb",
    ];
    must(run(h0, &configtx, &add, &env0), "add-consenter");
    let submit_consenter = [&["update", "submit", "consenter.pb"][..], &orderer_flags].concat();
    let refused = run(h0, &configtx, &submit_consenter, &env0).unwrap_err();
    assert!(refused.contains("Org3OrdererMSP"), "{refused}");
    pass_file(&h0.dir.join("consenter.pb"), &h3.dir.join("consenter.pb"));
    let o3_admin = o3_org.join(format!("users/Admin@{o3}"));
    let env_o3 = [
        (
            "CORE_PEER_MSPCONFIGPATH",
            o3_admin.join("msp").display().to_string(),
        ),
        ("CORE_PEER_LOCALMSPID", "Org3OrdererMSP".to_string()),
    ];
    must(
        run(h3, &configtx, &["update", "sign", "consenter.pb"], &env_o3),
        "sign consenter",
    );
    must(
        run(h3, &configtx, &submit_consenter, &env_o3),
        "submit consenter",
    );

    // Org3's orderer starts on its host and joins with the newest config block.
    let args = [
        &["fetch", "config", "join.block", "-c", CHANNEL][..],
        &orderer_flags,
    ]
    .concat();
    must(run(h3, &configtx, &args, &env_o3), "fetch the join block");
    let o3_tlsca = o3_org.join(format!("tlsca/tlsca.{o3}-cert.pem"));
    let via3 = NetworkInfo {
        orderer_tls_ca: o3_tlsca.clone(),
        orderers: vec![NodeInfo {
            name: format!("orderer.{o3}"),
            address: o3_addr.clone(),
            admin_address: Some("127.0.0.1:7053".into()),
            operations_address: "127.0.0.1:8443".into(),
            crypto: o3_node.clone(),
            data: h3.dir.join("orderer-data"),
            log: h3.dir.join("orderer.log"),
        }],
        ..three.clone()
    };
    std::fs::write(
        h3.dir.join("orderer.yaml"),
        weft_network::process::orderer_yaml(&via3, &via3.orderers[0]).unwrap(),
    )
    .unwrap();
    let msp_env = [("ORDERER_GENERAL_LOCALMSPID", "Org3OrdererMSP")];
    hosts
        .spawn(
            "org3",
            &bin.join("weft-orderer"),
            &["start", "--config", "orderer.yaml"],
            &msp_env,
            "orderer.log",
        )
        .unwrap();
    wait_listening(&o3_addr, "Org3's orderer", &h3.dir.join("orderer.log")).await;
    let (cert3, key3) = (
        o3_admin.join("tls/client.crt"),
        o3_admin.join("tls/client.key"),
    );
    let join = [
        "channel",
        "join",
        "-o",
        "127.0.0.1:7053",
        "--ca-file",
        o3_tlsca.to_str().unwrap(),
        "--client-cert",
        cert3.to_str().unwrap(),
        "--client-key",
        key3.to_str().unwrap(),
        "-c",
        CHANNEL,
        "-b",
        "join.block",
    ];
    must(
        run(h3, &bin.join("weft-orderer"), &join, &[]),
        "weft-orderer channel join on Org3's host",
    );

    // Two consenters order again; a transaction through Org3's orderer commits.
    assert_eq!(
        create_asset(&via3, &org3, &[&org2, &org3], "through-org3-orderer").await,
        TxValidationCode::Valid
    );

    // Org3's peer organisation is removed (proposed on Org1's host, signed
    // and submitted on Org2's): its admin can no longer read the channel.
    fetch(h1, &env1);
    let remove = [
        "channel",
        "org",
        "remove",
        "Org3MSP",
        "--config-block",
        "config.block",
        "--output",
        "remove.pb",
    ];
    must(run(h1, &configtx, &remove, &env1), "org remove");
    pass_file(&h1.dir.join("remove.pb"), &h2.dir.join("remove.pb"));
    must(
        run(h2, &configtx, &["update", "sign", "remove.pb"], &env2),
        "sign removal",
    );
    let submit_removal = [&["update", "submit", "remove.pb"][..], &orderer_flags].concat();
    must(run(h2, &configtx, &submit_removal, &env2), "submit removal");
    let args = [
        &["fetch", "newest", "newest.block", "-c", CHANNEL][..],
        &orderer_flags,
    ]
    .concat();
    let refused = run(h3, &configtx, &args, &env3).unwrap_err();
    assert!(refused.contains("forbidden"), "{refused}");
}
