//! A consortium changing over time, driven by `weft-configtx`'s commands on
//! a running in-process network of Org1 and Org2 with asset-transfer-basic:
//! Org3 makes its crypto and its org definition in its own folder, Org1's
//! admin fetches the config from the orderer and proposes adding Org3,
//! the orderer refuses it until Org2's admin has signed the same file
//! offline, Org3's peer joins and approves, and the chaincode's endorsement
//! policy (the channel's MAJORITY Endorsement) now counts three orgs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use weft_common::ids::MspId;
use weft_common::msp::folder::load_signing_identity;
use weft_network::info::{NodeInfo, OrgInfo, UserFiles};
use weft_network::{InProcessNetwork, Topology};
use weft_peer::admin::{AdminClient, ClientTls};
use weft_peer::transact::{self, Call};
use weft_protos::protos::TxValidationCode;

const CC: &str = "basic";

const ORG3_CRYPTO: &str = "PeerOrgs:
  - Name: Org3
    Domain: org3.example.com
    EnableNodeOUs: true
    Template: { Count: 1, SANS: [localhost, 127.0.0.1] }
    Users: { Count: 1 }
";

const ORG3_CONFIGTX: &str = r#"Organizations:
  - &Org3
    Name: Org3MSP
    ID: Org3MSP
    MSPDir: crypto/peerOrganizations/org3.example.com/msp
    Policies:
      Readers: { Type: Signature, Rule: "OR('Org3MSP.admin', 'Org3MSP.peer', 'Org3MSP.client')" }
      Writers: { Type: Signature, Rule: "OR('Org3MSP.admin', 'Org3MSP.client')" }
      Admins: { Type: Signature, Rule: "OR('Org3MSP.admin')" }
      Endorsement: { Type: Signature, Rule: "OR('Org3MSP.peer')" }
"#;

/// The height of Org1's first peer.
fn org1_height(net: &InProcessNetwork) -> u64 {
    let channel = &net.info().channel;
    net.peer(0, 0)
        .unwrap()
        .core
        .channel(channel)
        .unwrap()
        .ledger()
        .height()
}

/// `weft-configtx` with `args`, in this process.
async fn configtx(args: &[&str]) -> Result<(), weft_configtx::ConfigtxError> {
    weft_configtx::cli::run_args(std::iter::once("weft-configtx").chain(args.iter().copied())).await
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub(crate) fn user_files(org: &Path, user: &str, domain: &str) -> UserFiles {
    let home = org.join(format!("users/{user}@{domain}"));
    UserFiles {
        msp: home.join("msp"),
        tls_cert: home.join("tls/client.crt"),
        tls_key: home.join("tls/client.key"),
    }
}

/// An endorsing client on `org`'s first peer, as `user` of `as_org`.
pub(crate) async fn endorser(org: &OrgInfo, as_org: &OrgInfo) -> (String, AdminClient) {
    let signer = load_signing_identity(&as_org.user.msp, &MspId::new(&as_org.msp_id)).unwrap();
    let tls = ClientTls {
        ca_pem: std::fs::read(&org.tls_ca).unwrap(),
        identity: Some(
            weft_common::tls::TlsIdentity::load(&as_org.user.tls_cert, &as_org.user.tls_key)
                .unwrap(),
        ),
        server_name: None,
    };
    let address = org.peers[0].address.clone();
    let client = AdminClient::connect(&address, Some(tls), signer)
        .await
        .unwrap();
    (address, client)
}

/// Creates `id` as Org3's user, endorsed by `endorsers`; its validation code.
pub(crate) async fn create_asset(
    info: &weft_network::info::NetworkInfo,
    org3: &OrgInfo,
    endorsers: &[&OrgInfo],
    id: &str,
) -> TxValidationCode {
    let creator = load_signing_identity(&org3.user.msp, &MspId::new(&org3.msp_id)).unwrap();
    let mut peers = Vec::new();
    for org in endorsers {
        peers.push(endorser(org, org3).await);
    }
    let args = ["CreateAsset", id, "blue", "5", "Org3", "300"];
    let call = Call::new(
        &info.channel,
        CC,
        args.iter().map(|a| a.as_bytes().to_vec()).collect(),
    );
    let (bundle, responses) = transact::endorse(&creator, call, &mut peers).await.unwrap();
    let orderer = weft_peer::transact::Target {
        address: info.orderers[0].address.clone(),
        tls: Some((
            weft_common::tls::TlsIdentity::load(&org3.user.tls_cert, &org3.user.tls_key).unwrap(),
            std::fs::read(&info.orderer_tls_ca).unwrap(),
        )),
    };
    let tx_id = transact::submit(&creator, &bundle, &responses, &orderer)
        .await
        .unwrap();
    let target = weft_peer::transact::Target {
        address: org3.peers[0].address.clone(),
        tls: Some((
            weft_common::tls::TlsIdentity::load(&org3.user.tls_cert, &org3.user.tls_key).unwrap(),
            std::fs::read(&org3.tls_ca).unwrap(),
        )),
    };
    transact::wait_for_commit(&creator, &info.channel, &tx_id, &target)
        .await
        .unwrap()
        .0
}

/// A running network of Org1 and Org2 (one peer each) under `dir`, with
/// asset-transfer-basic deployed; and the deploy spec, to deploy again.
pub(crate) async fn basic_network(
    dir: &Path,
    topology: &Topology,
) -> (InProcessNetwork, weft_network::deploy::DeploySpec) {
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let net = InProcessNetwork::start(topology, dir).await.unwrap();
    let spec = weft_network::deploy::DeploySpec::from_crate(
        CC,
        &weft_network::deploy::samples_dir().join("asset-transfer-basic"),
        Some(&build),
    );
    weft_network::deploy::deploy(net.info(), &spec, |_| {})
        .await
        .unwrap();
    (net, spec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org3_is_added_by_org1_with_org2s_offline_signature_endorses_with_org2_and_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let (net, spec) = basic_network(&tmp.path().join("net"), &Topology::for_tests("100ms")).await;
    let info = net.info().clone();
    let (org1, org2) = (&info.orgs[0], &info.orgs[1]);
    let orderer = info.orderers[0].address.clone();
    let cafile = info.orderer_tls_ca.clone();

    // Org3, in its own folder: crypto and the org definition.
    let home3 = tmp.path().join("org3");
    std::fs::create_dir_all(&home3).unwrap();
    std::fs::write(home3.join("crypto-config.yaml"), ORG3_CRYPTO).unwrap();
    std::fs::write(home3.join("configtx.yaml"), ORG3_CONFIGTX).unwrap();
    let crypto3 = home3.join("crypto");
    configtx(&[
        "crypto",
        "generate",
        "--config",
        s(&home3.join("crypto-config.yaml")),
        "--output",
        s(&crypto3),
    ])
    .await
    .unwrap();
    let file = weft_configtx::profile::ConfigtxFile::load(&home3.join("configtx.yaml")).unwrap();
    let definition = weft_configtx::channel_update::org_definition(&file, "Org3MSP").unwrap();
    // The file Org3 hands over: the only thing that leaves its folder.
    let handed = tmp.path().join("org3.json");
    std::fs::write(
        &handed,
        weft_configtx::channel_update::org_definition_json(&definition).unwrap(),
    )
    .unwrap();

    // Org1's admin fetches the config and proposes the addition.
    let config_block = tmp.path().join("config.block");
    let update = tmp.path().join("org3_update.pb");
    let as_admin = |org: &OrgInfo| {
        vec![
            "--msp".to_string(),
            org.admin.msp.display().to_string(),
            "--msp-id".to_string(),
            org.msp_id.clone(),
        ]
    };
    let orderer_flags = ["-o", orderer.as_str(), "--cafile", s(&cafile)];
    let with = |base: &[&str], extra: &[&str], admin: &[String]| -> Vec<String> {
        base.iter()
            .chain(extra)
            .map(|a| a.to_string())
            .chain(admin.iter().cloned())
            .collect()
    };
    let run = |args: Vec<String>| async move {
        weft_configtx::cli::run_args(std::iter::once("weft-configtx".to_string()).chain(args)).await
    };
    run(with(
        &["fetch", "config", s(&config_block), "-c", &info.channel],
        &orderer_flags,
        &as_admin(org1),
    ))
    .await
    .unwrap();
    run(with(
        &[
            "channel",
            "org",
            "add",
            s(&handed),
            "--config-block",
            s(&config_block),
            "--output",
            s(&update),
        ],
        &[],
        &as_admin(org1),
    ))
    .await
    .unwrap();

    // Submitted with Org1's signature alone: refused, naming who must sign.
    let err = run(with(
        &["update", "submit", s(&update)],
        &orderer_flags,
        &as_admin(org1),
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("still needs 1 more of the Admins of Org2MSP"),
        "{err}"
    );

    // Org2's admin signs the same file and submits it.
    let org2_signs_and_submits = |file: PathBuf| {
        let (sign, submit) = (
            with(&["update", "sign", s(&file)], &[], &as_admin(org2)),
            with(
                &["update", "submit", s(&file)],
                &orderer_flags,
                &as_admin(org2),
            ),
        );
        async move {
            run(sign).await.unwrap();
            run(submit).await.unwrap();
        }
    };
    org2_signs_and_submits(update.clone()).await;

    // Org3's peer starts from Org3's folder and joins from the genesis block.
    let org3_dir = crypto3.join("peerOrganizations/org3.example.com");
    let peer_crypto = org3_dir.join("peers/peer0.org3.example.com");
    let listeners = weft_peer::node::Listeners::local().await.unwrap();
    let mut config = weft_peer::config::PeerConfig::local(
        "peer0.org3.example.com",
        &peer_crypto,
        "Org3MSP",
        info.client_auth_required,
        home3.join("data"),
    );
    config.gateway_peers = info
        .orgs
        .iter()
        .map(|o| weft_peer::config::GatewayPeer {
            msp_id: o.msp_id.clone(),
            address: o.peers[0].address.clone(),
        })
        .collect();
    // Its health says at once when no orderer delivers to it.
    config.delivery_stall = Duration::ZERO;
    let peer3 = weft_peer::node::start(config, listeners).await.unwrap();
    let org3 = OrgInfo {
        name: "Org3".into(),
        msp_id: "Org3MSP".into(),
        tls_ca: org3_dir.join("tlsca/tlsca.org3.example.com-cert.pem"),
        admin: user_files(&org3_dir, "Admin", "org3.example.com"),
        user: user_files(&org3_dir, "User1", "org3.example.com"),
        peers: vec![NodeInfo {
            name: "peer0.org3.example.com".into(),
            address: format!("127.0.0.1:{}", peer3.addr.port()),
            admin_address: None,
            operations_address: format!("127.0.0.1:{}", peer3.operations_addr.port()),
            crypto: peer_crypto.clone(),
            data: home3.join("data"),
            log: home3.join("peer.log"),
        }],
    };
    // Org3's admin, now a reader of the channel, fetches the genesis block.
    let genesis = home3.join("mychannel.block");
    let fetch = ["fetch", "oldest", s(&genesis), "-c", &info.channel];
    run(with(&fetch, &orderer_flags, &as_admin(&org3)))
        .await
        .unwrap();
    let genesis = std::fs::read(&genesis).unwrap();
    assert_eq!(genesis, std::fs::read(&info.genesis).unwrap());
    info.admin_client(&org3, 0)
        .await
        .unwrap()
        .join(&genesis)
        .await
        .unwrap();
    let height = org1_height(&net);
    weft_testkit::wait_for("Org3's peer to catch up", Duration::from_secs(30), || {
        peer3
            .core
            .channel(&info.channel)
            .is_some_and(|c| c.ledger().height() >= height)
    })
    .await;

    // Org3 approves: the definition's next sequence, approved by all three
    // orgs, committed with the endorsement of each.
    let mut three = info.clone();
    three.orgs.push(org3.clone());
    let deployed = weft_network::deploy::deploy(&three, &spec, |_| {})
        .await
        .unwrap();
    assert_eq!(deployed.sequence, 2);

    // MAJORITY of three: Org2 and Org3 together suffice, Org3 alone does not.
    assert_eq!(
        create_asset(&three, &org3, &[org2, &org3], "asset-by-org2-org3").await,
        TxValidationCode::Valid
    );
    assert_eq!(
        create_asset(&three, &org3, &[&org3], "asset-by-org3-alone").await,
        TxValidationCode::EndorsementPolicyFailure
    );

    // Org3 is removed: Org1 proposes, Org2 signs (a majority of three).
    let removal = tmp.path().join("remove_org3.pb");
    let fetch = ["fetch", "config", s(&config_block), "-c", &info.channel];
    run(with(&fetch, &orderer_flags, &as_admin(org1)))
        .await
        .unwrap();
    let remove = [
        "channel",
        "org",
        "remove",
        "Org3MSP",
        "--config-block",
        s(&config_block),
        "--output",
        s(&removal),
    ];
    run(with(&remove, &[], &as_admin(org1))).await.unwrap();
    org2_signs_and_submits(removal.clone()).await;
    let removed_at = org1_height(&net);

    // Its admin can no longer read from the orderer...
    let newest = tmp.path().join("newest.block");
    let fetch = ["fetch", "newest", s(&newest), "-c", &info.channel];
    let err = run(with(&fetch, &orderer_flags, &as_admin(&org3)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("forbidden"), "{err}");
    // ...its user can no longer submit...
    let user3 = load_signing_identity(&org3.user.msp, &MspId::new("Org3MSP")).unwrap();
    let envelope = weft_common::tx::signed_envelope(
        weft_protos::common::HeaderType::Message,
        &weft_common::ids::ChannelId::new(&info.channel),
        b"from a removed org".to_vec(),
        &user3,
    )
    .unwrap();
    let tls = weft_common::node::dial::DialTls {
        roots: vec![std::fs::read(&cafile).unwrap()],
        identity: None,
        server_name: None,
    };
    let conn = weft_common::node::dial::dial(&orderer, Some(&tls), Default::default())
        .await
        .unwrap();
    let err = weft_common::node::orderer_client::broadcast(conn, &orderer, envelope)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("403"), "{err}");
    // ...nor have a channel peer endorse for it...
    let mut peers = vec![endorser(org2, &org3).await];
    let read = Call::new(
        &info.channel,
        CC,
        vec![b"ReadAsset".to_vec(), b"asset-by-org2-org3".to_vec()],
    );
    assert!(transact::endorse(&user3, read, &mut peers).await.is_err());
    // ...and its peer receives no block after the removal.
    let creator1 = load_signing_identity(&org1.user.msp, &MspId::new(&org1.msp_id)).unwrap();
    let mut both = vec![endorser(org1, org1).await, endorser(org2, org1).await];
    let args = ["CreateAsset", "after-removal", "red", "1", "Org1", "1"];
    let call = Call::new(
        &info.channel,
        CC,
        args.iter().map(|a| a.as_bytes().to_vec()).collect(),
    );
    let (bundle, responses) = transact::endorse(&creator1, call, &mut both).await.unwrap();
    let target = weft_peer::transact::Target {
        address: orderer.clone(),
        tls: Some((
            weft_common::tls::TlsIdentity::load(&org1.user.tls_cert, &org1.user.tls_key).unwrap(),
            std::fs::read(&cafile).unwrap(),
        )),
    };
    transact::submit(&creator1, &bundle, &responses, &target)
        .await
        .unwrap();
    net.wait_for_height(removed_at + 1, Duration::from_secs(30))
        .await
        .unwrap();
    let core3: &dyn weft_peer::operations::Support = peer3.core.as_ref();
    let mut why = Vec::new();
    weft_testkit::wait_for(
        "the orderer to refuse Org3's peer",
        Duration::from_secs(30),
        || {
            why = core3.failed_checks();
            !why.is_empty()
        },
    )
    .await;
    assert!(
        format!("{why:?}").to_lowercase().contains("forbidden"),
        "{why:?}"
    );
    let org3_height = peer3.core.channel(&info.channel).unwrap().ledger().height();
    assert!(
        org3_height <= removed_at,
        "Org3's peer is at {org3_height}, the removal at {removed_at}"
    );
    peer3.shutdown().await;
    net.shutdown().await;
}

/// The committed batch timeout as the first peer sees it.
fn batch_timeout(net: &InProcessNetwork) -> Duration {
    let committer = net
        .peer(0, 0)
        .unwrap()
        .core
        .channel(&net.info().channel)
        .unwrap();
    committer.config().orderer.as_ref().unwrap().batch_timeout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_timeout_and_an_anchor_peer_change_on_a_running_channel() {
    let tmp = tempfile::tempdir().unwrap();
    let (net, _) = basic_network(&tmp.path().join("net"), &Topology::for_tests("100ms")).await;
    let info = net.info().clone();
    let block = tmp.path().join("config.block");
    let update = tmp.path().join("update.pb");
    let orderer_admin = [
        "--msp".to_string(),
        info.orderer_admin.msp.display().to_string(),
        "--msp-id".to_string(),
        "OrdererMSP".to_string(),
    ];
    let org1_admin = [
        "--msp".to_string(),
        info.orgs[0].admin.msp.display().to_string(),
        "--msp-id".to_string(),
        info.orgs[0].msp_id.clone(),
    ];
    let orderer = [
        "-o".to_string(),
        info.orderers[0].address.clone(),
        "--cafile".to_string(),
        info.orderer_tls_ca.display().to_string(),
    ];
    let run = |args: Vec<String>| async move {
        weft_configtx::cli::run_args(std::iter::once("weft-configtx".to_string()).chain(args)).await
    };
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // Propose with `verb`, signed and submitted by `admin`.
    let change = |verb: Vec<String>, admin: [String; 4]| {
        let (run, words, block, update, orderer) =
            (run, words, block.clone(), update.clone(), orderer.clone());
        let channel = info.channel.clone();
        async move {
            let fetch = [
                words(&["fetch", "config", s(&block), "-c", &channel]),
                orderer.to_vec(),
                admin.to_vec(),
            ];
            run(fetch.concat()).await.unwrap();
            let tail = words(&["--config-block", s(&block), "--output", s(&update)]);
            run([verb, tail, admin.to_vec()].concat()).await.unwrap();
            run([
                words(&["update", "submit", s(&update)]),
                orderer.to_vec(),
                admin.to_vec(),
            ]
            .concat())
            .await
            .unwrap();
        }
    };

    // The orderer org's admin slows the batch timeout down: a lone
    // transaction now waits for it before its block is cut.
    change(
        words(&["channel", "batch", "set", "--timeout", "3s"]),
        orderer_admin.clone(),
    )
    .await;
    weft_testkit::wait_for(
        "the peers to adopt the new timeout",
        Duration::from_secs(10),
        || batch_timeout(&net) == Duration::from_secs(3),
    )
    .await;
    let gateway = info.gateway("Org1").await.unwrap();
    let contract = gateway.network(&info.channel).contract(CC);
    let started = std::time::Instant::now();
    contract
        .submit_transaction("CreateAsset", ["slow", "red", "1", "Ana", "10"])
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(3),
        "committed after {waited:?}"
    );

    // And back: the block is cut within the new timeout again.
    change(
        words(&["channel", "batch", "set", "--timeout", "100ms"]),
        orderer_admin,
    )
    .await;
    weft_testkit::wait_for(
        "the peers to adopt the old timeout",
        Duration::from_secs(10),
        || batch_timeout(&net) == Duration::from_millis(100),
    )
    .await;

    // Org1's admin moves its anchor peer; every peer sees it.
    change(
        words(&[
            "channel",
            "anchor-peers",
            "set",
            "--org",
            "Org1MSP",
            "peer1.org1.example.com:7151",
        ]),
        org1_admin,
    )
    .await;
    weft_testkit::wait_for("the anchor peer to move", Duration::from_secs(10), || {
        let committer = net.peer(1, 0).unwrap().core.channel(&info.channel).unwrap();
        let config = committer.config();
        let org1 = &config.application.as_ref().unwrap().orgs[&MspId::new("Org1MSP")];
        org1.anchor_peers == [("peer1.org1.example.com".to_string(), 7151)]
    })
    .await;
    net.shutdown().await;
}
