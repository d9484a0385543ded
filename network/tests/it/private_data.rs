//! Private data end to end, on an in-process network of three orgs with two
//! peers each, running the Rust port of Fabric's asset-transfer-private-data
//! (its `collections_config.json`: `assetCollection` of Org1 and Org2, and a
//! collection per org with BlockToLive 3), driven by the client SDK with
//! transient data.
//!
//! - Org3 is in no collection: no store of either Org3 peer ever holds a
//!   private value, yet both commit the same blocks, the private-data
//!   transactions valid; `DeliverWithPrivateData` gives Org3's client the
//!   blocks without the private writes Org1's client gets with them.
//! - Org1's second peer serves the chaincode Org1 approved on its first peer
//!   (the approval's private data reached it), and after being down while a
//!   transaction was endorsed it gets the private data it missed.
//! - BlockToLive: an org collection's value is gone from every member peer
//!   three blocks later; its hash stays.
//! - PurgePrivateData: a purged asset is in no store of any member peer,
//!   not even its past versions, and a peer that was down while it was
//!   created and purged ends up with nothing missing.
//! - Fabric's Node.js Gateway client, unchanged, runs the sample's flow
//!   (create, range query, agree, transfer, delete) with transient data.
//! - weft's PrivateData service answers a pull only for the asking peer's
//!   collections, refuses clients, and keeps no push of a collection its
//!   org is not in.

use std::path::{Path, PathBuf};
use std::time::Duration;

use weft_client_sdk::Gateway;
use weft_network::{InProcessNetwork, Topology};
use weft_peer::node::PeerHandle;

const CC: &str = "private";

/// What the test's asset colours are made of: a string found nowhere else.
const MARKER: &str = "ultramarine-7c41e0";

fn sample() -> PathBuf {
    weft_network::deploy::samples_dir().join("asset-transfer-private-data")
}

/// Every key and value of every column family of the RocksDB at `dir`
/// (opened read-only beside the running peer) that contains `needle`.
fn occurrences(dir: &Path, needle: &[u8]) -> Vec<String> {
    let opts = rocksdb::Options::default();
    let cfs = rocksdb::DB::list_cf(&opts, dir).unwrap();
    let db = rocksdb::DB::open_cf_for_read_only(&opts, dir, &cfs, false).unwrap();
    let has = |b: &[u8]| b.windows(needle.len()).any(|w| w == needle);
    let mut found = Vec::new();
    for name in &cfs {
        let cf = db.cf_handle(name).unwrap();
        for item in db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
            let (k, v) = item.unwrap();
            if has(&k) || has(&v) {
                found.push(format!("{}: {name}", dir.display()));
            }
        }
    }
    found
}

/// Where every peer keeps its ledgers, by org and peer.
fn ledger_dirs(net: &InProcessNetwork, org: usize) -> Vec<PathBuf> {
    net.info().orgs[org]
        .peers
        .iter()
        .map(|p| p.data.join("ledgers").join(&net.info().channel))
        .collect()
}

fn peer(net: &InProcessNetwork, org: usize, p: usize) -> &PeerHandle {
    net.peer(org, p).expect("running")
}

async fn gateway(net: &InProcessNetwork, org: usize, p: usize) -> Gateway {
    let info = net.info();
    let o = &info.orgs[org];
    info.gateway_as(o, &o.user, p).await.unwrap()
}

/// Submits `function` with one transient entry through `gw`; waits for its
/// commit, and returns its id and block.
async fn submit(
    gw: &Gateway,
    channel: &str,
    function: &str,
    key: &str,
    value: serde_json::Value,
) -> weft_client_sdk::transaction::Status {
    let contract = gw.network(channel).contract(CC);
    let tx = contract
        .new_proposal(function)
        .transient(key, value.to_string())
        .build()
        .unwrap()
        .endorse()
        .await
        .unwrap_or_else(|e| panic!("{function}: {e}"));
    let status = tx.submit().await.unwrap().status().await.unwrap();
    assert!(status.is_successful(), "{function}: {:?}", status.code);
    status
}

/// The value hash that transaction `tx` of `block` (on `p`) commits to for
/// `key` of `collection`.
fn value_hash_in_block(
    p: &PeerHandle,
    channel: &str,
    tx: &weft_client_sdk::transaction::Status,
    collection: &str,
    key: &str,
) -> Option<Vec<u8>> {
    use prost::Message;
    let c = p.core.channel(channel).unwrap();
    let block = c.ledger().block(tx.block_number).unwrap().unwrap();
    let key_hash = weft_common::crypto::sha256(key.as_bytes());
    for bytes in &block.data.unwrap().data {
        let env = weft_common::tx::UnpackedEnvelope::from_bytes(bytes).unwrap();
        if env.channel_header.tx_id != tx.tx_id {
            continue;
        }
        let etx = env.endorser_transaction().unwrap();
        let ns = etx.action.rwset.iter().find(|ns| ns.namespace == CC)?;
        let coll = ns
            .collections
            .iter()
            .find(|c| c.collection_name == collection)?;
        let hashed =
            weft_protos::kvrwset::HashedRwSet::decode(coll.hashed_rwset.as_slice()).unwrap();
        return hashed
            .hashed_writes
            .into_iter()
            .find(|w| w.key_hash == key_hash)
            .map(|w| w.value_hash);
    }
    None
}

/// The one file in an MSP folder's `sub` folder (`signcerts`, `keystore`).
fn only_file(msp: &Path, sub: &str) -> PathBuf {
    let mut files = std::fs::read_dir(msp.join(sub)).unwrap();
    files.next().unwrap().unwrap().path()
}

/// Runs `peer/tests/fabric-gateway/private-data.mjs` (npm's
/// `@hyperledger/fabric-gateway`, installed by `scripts/setup.sh`) as
/// Org1's and Org2's users, each through its org's first peer.
async fn run_fabric_client(net: &InProcessNetwork) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../peer/tests/fabric-gateway");
    assert!(
        dir.join("node_modules/@hyperledger/fabric-gateway")
            .is_dir(),
        "the Fabric client packages are missing: run scripts/setup.sh"
    );
    let info = net.info();
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(dir.join("private-data.mjs"))
        .current_dir(&dir)
        .env("WEFT_CHANNEL", &info.channel)
        .env("WEFT_CHAINCODE", CC)
        .kill_on_drop(true);
    for (n, org) in info.orgs.iter().take(2).enumerate() {
        let var = |name: &str| format!("WEFT_ORG{}_{name}", n + 1);
        cmd.env(var("PEER"), &org.peers[0].address)
            .env(var("MSP_ID"), &org.msp_id)
            .env(var("TLS_ROOT"), &org.tls_ca)
            .env(var("SIGN_CERT"), only_file(&org.user.msp, "signcerts"))
            .env(var("SIGN_KEY"), only_file(&org.user.msp, "keystore"));
    }
    let output = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .expect("the Node.js client finished")
        .expect("node runs (scripts/setup.sh installs Node.js)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("FABRIC PRIVATE DATA CLIENT OK"),
        "Fabric's client failed:\n{stdout}\n{stderr}"
    );
}

async fn evaluate(gw: &Gateway, channel: &str, args: &[&str]) -> Result<String, String> {
    gw.network(channel)
        .contract(CC)
        .evaluate_transaction(args[0], args[1..].iter().copied())
        .await
        .map(|b| String::from_utf8(b).unwrap())
        .map_err(|e| e.to_string())
}

/// Waits until `check` holds, or fails naming `what`.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn private(p: &PeerHandle, channel: &str, collection: &str, key: &str) -> Option<Vec<u8>> {
    let c = p.core.channel(channel).unwrap();
    c.ledger().get_private(CC, collection, key).unwrap()
}

fn hashed(p: &PeerHandle, channel: &str, collection: &str, key: &str) -> Option<Vec<u8>> {
    let c = p.core.channel(channel).unwrap();
    let h = weft_common::crypto::sha256(key.as_bytes());
    c.ledger()
        .get_hashed(CC, collection, &h)
        .unwrap()
        .map(|(_, v)| v)
}

fn asset(id: &str, value: i64) -> serde_json::Value {
    serde_json::json!({
        "objectType": "asset", "assetID": id, "color": format!("{MARKER}-{id}"),
        "size": 20, "appraisedValue": value,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_data_reaches_member_peers_only_survives_a_peer_restart_and_expires() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology {
        orgs: 3,
        peers_per_org: 2,
        ..Topology::for_tests("100ms")
    };
    let mut net = InProcessNetwork::start(&topology, dir.path())
        .await
        .unwrap();
    let channel = net.info().channel.clone();
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let mut spec = weft_network::deploy::DeploySpec::from_crate(CC, &sample(), Some(&build));
    // As Fabric's sample deploys it.
    spec.signature_policy = Some("OR('Org1MSP.peer','Org2MSP.peer')".into());
    spec.collections = weft_peer::lifecycle::collections::from_json(
        &std::fs::read_to_string(sample().join("collections_config.json")).unwrap(),
    )
    .unwrap();
    weft_network::deploy::deploy(net.info(), &spec, |_| {})
        .await
        .unwrap();

    // Either Org1 peer serves the chaincode Org1 approved through its first
    // peer: the second got the approval's private data.
    let org1 = [gateway(&net, 0, 0).await, gateway(&net, 0, 1).await];
    let created = submit(
        &org1[0],
        &channel,
        "CreateAsset",
        "asset_properties",
        asset("asset1", 100),
    )
    .await;
    for gw in &org1 {
        let read = evaluate(gw, &channel, &["ReadAsset", "asset1"])
            .await
            .unwrap();
        assert!(read.contains(&format!("{MARKER}-asset1")), "{read}");
    }
    let h = peer(&net, 0, 0)
        .core
        .channel(&channel)
        .unwrap()
        .ledger()
        .height();
    net.wait_for_height(h, Duration::from_secs(30))
        .await
        .unwrap();

    // Org2's peers hold the shared asset (pulled at commit); Org3's nothing.
    for p in 0..2 {
        assert!(private(peer(&net, 1, p), &channel, "assetCollection", "asset1").is_some());
        assert!(private(peer(&net, 2, p), &channel, "assetCollection", "asset1").is_none());
        assert!(hashed(peer(&net, 2, p), &channel, "assetCollection", "asset1").is_some());
    }
    let org3 = gateway(&net, 2, 0).await;
    let refused = evaluate(&org3, &channel, &["ReadAsset", "asset1"])
        .await
        .unwrap_err();
    assert!(
        refused.contains("get_private_data: refused by the peer's access rules"),
        "{refused}"
    );

    // DeliverWithPrivateData from Org1's peer: Org1's client gets asset1's
    // private writes with its block; Org3's client gets the block without
    // them (both collections asset1 wrote are members-only).
    let from_org1_peer = |user_org: usize| {
        let info = net.info();
        let user = &info.orgs[user_org];
        let (identity, signer) =
            weft_client_sdk::identity::load_msp(&user.user.msp, &user.msp_id).unwrap();
        let tls = weft_client_sdk::connection::Tls::from_files(
            &info.orgs[0].tls_ca,
            Some((&user.user.tls_cert, &user.user.tls_key)),
        )
        .unwrap();
        let address = info.orgs[0].peers[0].address.clone();
        async move {
            Gateway::connect(&address, identity, Some(signer), Some(tls))
                .await
                .unwrap()
        }
    };
    let with_private = |gw: Gateway| {
        let channel = channel.clone();
        async move {
            let mut events = gw
                .network(&channel)
                .block_and_private_data_events(weft_client_sdk::events::EventStart::Block(
                    created.block_number,
                ))
                .await
                .unwrap();
            futures::StreamExt::next(&mut events)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let seen_by_org1 = with_private(from_org1_peer(0).await).await;
    let mut collections: Vec<&str> = seen_by_org1
        .private_data_map
        .values()
        .flat_map(|tx| &tx.ns_pvt_rwset)
        .flat_map(|ns| &ns.collection_pvt_rwset)
        .map(|c| c.collection_name.as_str())
        .collect();
    collections.sort();
    assert_eq!(
        collections,
        ["Org1MSPPrivateCollection", "assetCollection"],
        "Org1's client sees its collections"
    );
    let seen_by_org3 = with_private(from_org1_peer(2).await).await;
    assert_eq!(seen_by_org3.block, seen_by_org1.block);
    assert!(
        seen_by_org3.private_data_map.is_empty(),
        "Org3's client got {:?}",
        seen_by_org3.private_data_map.keys()
    );

    // Org1's second peer is down while asset2 is endorsed and committed.
    net.stop_peer(0, 1).await;
    submit(
        &org1[0],
        &channel,
        "CreateAsset",
        "asset_properties",
        asset("asset2", 200),
    )
    .await;
    net.restart_peer(0, 1).await.unwrap();
    until("Org1's second peer gets the private data it missed", || {
        net.peer(0, 1).is_some_and(|p| {
            private(p, &channel, "assetCollection", "asset2").is_some()
                && private(p, &channel, "Org1MSPPrivateCollection", "asset2").is_some()
        })
    })
    .await;
    let org1_second = gateway(&net, 0, 1).await;
    let read = evaluate(&org1_second, &channel, &["ReadAsset", "asset2"])
        .await
        .unwrap();
    assert!(read.contains(&format!("{MARKER}-asset2")), "{read}");
    // A range query over the collection, on the peer that was down.
    let listed = evaluate(
        &org1_second,
        &channel,
        &["GetAssetByRange", "asset1", "asset3"],
    )
    .await
    .unwrap();
    let listed: Vec<serde_json::Value> = serde_json::from_str(&listed).unwrap();
    let ids: Vec<&str> = listed
        .iter()
        .map(|a| a["assetID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["asset1", "asset2"]);
    // A rich query over the collection (Fabric's QueryAssetByOwner), by the
    // owner recorded on asset1.
    let owner = listed[0]["owner"].as_str().unwrap().to_string();
    let owned = evaluate(
        &org1_second,
        &channel,
        &["QueryAssetByOwner", "asset", &owner],
    )
    .await
    .unwrap();
    let owned: Vec<serde_json::Value> = serde_json::from_str(&owned).unwrap();
    assert!(owned.iter().any(|a| a["assetID"] == "asset1"), "{owned:?}");
    assert!(
        owned.iter().all(|a| a["owner"] == owner.as_str()),
        "{owned:?}"
    );
    // Org3's peer holds none to list, and says so.
    let refused = evaluate(&org3, &channel, &["GetAssetByRange", "", ""])
        .await
        .unwrap_err();
    assert!(
        refused.contains("private_range_open: refused by the peer's access rules"),
        "{refused}"
    );

    // Org2 agrees to buy asset1: its appraisal goes to its own collection.
    let org2 = gateway(&net, 1, 0).await;
    let agree = serde_json::json!({"assetID": "asset1", "appraisedValue": 100});
    submit(&org2, &channel, "AgreeToTransfer", "asset_value", agree).await;

    // Every peer has committed the same blocks, Org3's too.
    let height = (0..3)
        .map(|org| {
            peer(&net, org, 0)
                .core
                .channel(&channel)
                .unwrap()
                .ledger()
                .height()
        })
        .max()
        .unwrap();
    net.wait_for_height(height, Duration::from_secs(30))
        .await
        .unwrap();
    let header = |org: usize, p: usize, n: u64| {
        let c = peer(&net, org, p).core.channel(&channel).unwrap();
        c.ledger().block(n).unwrap().unwrap().header
    };
    for n in 0..height {
        for org in 0..3 {
            for p in 0..2 {
                assert_eq!(
                    header(org, p, n),
                    header(0, 0, n),
                    "block {n} of org {org} peer {p}"
                );
            }
        }
    }

    // BlockToLive 3: Org1's appraisal of asset1 (block b) is purged at
    // block b + 4 on both Org1 peers; the hash stays everywhere.
    for i in 0..4 {
        let id = format!("filler{i}");
        submit(
            &org1[0],
            &channel,
            "CreateAsset",
            "asset_properties",
            asset(&id, 1),
        )
        .await;
    }
    until(
        "Org1's appraisal of asset1 purged on both Org1 peers",
        || {
            (0..2).all(|p| {
                net.peer(0, p).is_some_and(|h| {
                    private(h, &channel, "Org1MSPPrivateCollection", "asset1").is_none()
                })
            })
        },
    )
    .await;
    // As in Fabric, the expired key leaves the hashed state too; the hash
    // of its value stays in the block, on every peer.
    let appraisal = br#"{"assetID":"asset1","appraisedValue":100}"#;
    for org in 0..3 {
        for p in 0..2 {
            let h = peer(&net, org, p);
            assert_eq!(
                value_hash_in_block(h, &channel, &created, "Org1MSPPrivateCollection", "asset1"),
                Some(weft_common::crypto::sha256(appraisal).to_vec()),
                "org {org} peer {p}"
            );
        }
    }
    // The shared collection's BlockToLive is 1,000,000: asset1 stays.
    assert!(private(peer(&net, 1, 0), &channel, "assetCollection", "asset1").is_some());

    // PurgePrivateData (Fabric 2.5): asset2 and every past version of it
    // leave every member peer's stores. Org1's second peer is down while
    // asset3 is created and purged; it accepts the rwset shortened by the
    // purge only once it has committed the purge itself, and then has
    // nothing missing.
    let member_dirs: Vec<PathBuf> = (0..2).flat_map(|org| ledger_dirs(&net, org)).collect();
    let stored_anywhere = |id: &str| {
        let needle = format!("{MARKER}-{id}");
        member_dirs
            .iter()
            .flat_map(|d| occurrences(d, needle.as_bytes()))
            .collect::<Vec<_>>()
    };
    assert!(!stored_anywhere("asset2").is_empty(), "the control");
    net.stop_peer(0, 1).await;
    submit(
        &org1[0],
        &channel,
        "CreateAsset",
        "asset_properties",
        asset("asset3", 300),
    )
    .await;
    for id in ["asset2", "asset3"] {
        let input = serde_json::json!({ "assetID": id });
        submit(&org1[0], &channel, "PurgeAsset", "asset_purge", input).await;
    }
    net.restart_peer(0, 1).await.unwrap();
    let height = peer(&net, 0, 0)
        .core
        .channel(&channel)
        .unwrap()
        .ledger()
        .height();
    net.wait_for_height(height, Duration::from_secs(30))
        .await
        .unwrap();
    until("Org1's second peer misses no private data", || {
        net.peer(0, 1).is_some_and(|p| {
            let c = p.core.channel(&channel).unwrap();
            c.ledger().missing_pvt(10).unwrap().is_empty()
        })
    })
    .await;
    for org in 0..2 {
        for p in 0..2 {
            for id in ["asset2", "asset3"] {
                let h = peer(&net, org, p);
                assert!(private(h, &channel, "assetCollection", id).is_none());
                assert!(hashed(h, &channel, "assetCollection", id).is_none());
                assert!(private(h, &channel, "Org1MSPPrivateCollection", id).is_none());
            }
        }
    }
    for id in ["asset2", "asset3"] {
        assert_eq!(stored_anywhere(id), Vec::<String>::new(), "{id} purged");
    }

    // Fabric's own Node.js client drives the sample as Fabric's sample
    // application does, through Org1's and Org2's first peers.
    run_fabric_client(&net).await;

    // With the channel's default policy (a majority: two of three orgs),
    // Org1's endorsement needs another org's, but none is a member of both
    // collections CreateAsset writes. As in Fabric, the Gateway does not send
    // the transient data to a non-member; it asks the client to choose.
    let mut majority = spec.clone();
    majority.name = "private_majority".into();
    majority.signature_policy = None;
    weft_network::deploy::deploy(net.info(), &majority, |_| {})
        .await
        .unwrap();
    let refused = org1[0]
        .network(&channel)
        .contract("private_majority")
        .new_proposal("CreateAsset")
        .transient("asset_properties", asset("asset9", 9).to_string())
        .build()
        .unwrap()
        .endorse()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("not in the distribution policy of the private data collection(s)")
            && refused.contains("Org1MSPPrivateCollection"),
        "{refused}"
    );
    // (Org1's endorsement did push its private writes of `assetCollection`
    // to a member peer, as every endorsement does; Org3 got nothing, which
    // the scan below checks.)

    // A hostile member asks Org1's peer directly, over weft's PrivateData
    // service, for asset1's transaction in `assetCollection`.
    let digest = weft_protos::gossip::PvtDataDigest {
        tx_id: created.tx_id.clone(),
        namespace: CC.into(),
        collection: "assetCollection".into(),
        block_seq: created.block_number,
        seq_in_block: 0,
    };
    let org3_peer = load_signer(&net, 2, None);
    let org2_peer = load_signer(&net, 1, None);
    let org2_user = load_signer(&net, 1, Some("user"));
    // Org3's peer is not a member: nothing is handed over.
    assert!(
        pull(&net, &channel, &org3_peer, &digest)
            .await
            .unwrap()
            .is_empty()
    );
    // A member's client (not a peer) is refused outright.
    let refused = pull(&net, &channel, &org2_user, &digest).await.unwrap_err();
    assert!(
        refused.contains("only peers may exchange private data"),
        "{refused}"
    );
    // A member org's peer gets it (the control: the digest is right).
    assert_eq!(
        pull(&net, &channel, &org2_peer, &digest)
            .await
            .unwrap()
            .len(),
        1
    );
    // A member peer asking for more than MAX_DIGESTS at once is refused
    // (the control above asked for one), and so is a request whose clock
    // is an hour off, replayed or forged ahead.
    let many = vec![digest.clone(); weft_peer::privdata::service::MAX_DIGESTS + 1];
    let asker = weft_peer::privdata::request::asker(&channel, &org2_peer);
    let refused = pull_as(&net, asker, &org2_peer, many).await.unwrap_err();
    assert!(refused.contains("digests at most"), "{refused}");
    let mut stale = weft_peer::privdata::request::asker(&channel, &org2_peer);
    if let Some(t) = stale.timestamp.as_mut() {
        t.seconds -= 3600;
    }
    let refused = pull_as(&net, stale, &org2_peer, vec![digest.clone()])
        .await
        .unwrap_err();
    assert!(refused.contains("away from this peer's clock"), "{refused}");

    // A push of a collection Org1 is not a member of is refused, not stored.
    let kept = push(&net, &channel, &org3_peer, "Org2MSPPrivateCollection").await;
    assert_eq!(kept, Vec::<String>::new());

    // No Org3 store ever held a private value: a scan of every column family
    // of its peers' ledgers (state, blocks, private, transient) finds none,
    // and the same scan finds them on Org1's and Org2's peers.
    let height = peer(&net, 0, 0)
        .core
        .channel(&channel)
        .unwrap()
        .ledger()
        .height();
    net.wait_for_height(height, Duration::from_secs(30))
        .await
        .unwrap();
    for d in ledger_dirs(&net, 2) {
        assert_eq!(occurrences(&d, MARKER.as_bytes()), Vec::<String>::new());
    }
    for org in 0..2 {
        for d in ledger_dirs(&net, org) {
            assert!(
                !occurrences(&d, MARKER.as_bytes()).is_empty(),
                "{}",
                d.display()
            );
        }
    }

    net.shutdown().await;
}

/// The signing identity of `org`'s first peer, or of its user.
fn load_signer(
    net: &InProcessNetwork,
    org: usize,
    user: Option<&str>,
) -> weft_common::msp::SigningIdentity {
    let o = &net.info().orgs[org];
    let msp = match user {
        Some(_) => o.user.msp.clone(),
        None => o.peers[0].crypto.join("msp"),
    };
    weft_common::msp::folder::load_signing_identity(&msp, &weft_common::ids::MspId::new(&o.msp_id))
        .unwrap()
}

/// weft's PrivateData service of Org1's first peer, as a TLS client.
async fn private_data_client(
    net: &InProcessNetwork,
) -> weft_protos::weft::privdata::private_data_client::PrivateDataClient<tonic::transport::Channel>
{
    let o = &net.info().orgs[0];
    let tls = weft_common::node::dial::DialTls {
        roots: vec![std::fs::read(&o.tls_ca).unwrap()],
        identity: None,
        server_name: None,
    };
    let channel = weft_common::node::dial::dial(
        &o.peers[0].address,
        Some(&tls),
        weft_common::node::dial::DialOptions::default(),
    )
    .await
    .unwrap();
    weft_protos::weft::privdata::private_data_client::PrivateDataClient::new(channel)
}

/// Pulls `digest` from Org1's first peer as `signer`: the payloads handed over.
async fn pull(
    net: &InProcessNetwork,
    channel: &str,
    signer: &weft_common::msp::SigningIdentity,
    digest: &weft_protos::gossip::PvtDataDigest,
) -> Result<Vec<Vec<u8>>, String> {
    let asker = weft_peer::privdata::request::asker(channel, signer);
    pull_as(net, asker, signer, vec![digest.clone()]).await
}

/// Pulls `digests` from Org1's first peer with `asker`, signed by `signer`.
async fn pull_as(
    net: &InProcessNetwork,
    asker: weft_protos::weft::privdata::Asker,
    signer: &weft_common::msp::SigningIdentity,
    digests: Vec<weft_protos::gossip::PvtDataDigest>,
) -> Result<Vec<Vec<u8>>, String> {
    use prost::Message;
    use weft_peer::privdata::request;
    let body = weft_protos::weft::privdata::PullRequest {
        asker: Some(asker),
        digests,
    }
    .encode_to_vec();
    let signed = request::sign(body, signer).unwrap();
    let answer = private_data_client(net)
        .await
        .pull(signed)
        .await
        .map_err(|s| s.message().to_string())?;
    Ok(answer
        .into_inner()
        .elements
        .into_iter()
        .flat_map(|e| e.payload)
        .collect())
}

/// Pushes a made-up private rwset of `collection` to Org1's first peer as
/// `signer`; the collections it kept.
async fn push(
    net: &InProcessNetwork,
    channel: &str,
    signer: &weft_common::msp::SigningIdentity,
    collection: &str,
) -> Vec<String> {
    use prost::Message;
    use weft_peer::privdata::request;
    let body = weft_protos::weft::privdata::PushRequest {
        asker: Some(request::asker(channel, signer)),
        payloads: vec![weft_protos::gossip::PrivatePayload {
            collection_name: collection.into(),
            namespace: CC.into(),
            tx_id: "planted".into(),
            private_rwset: b"forged".to_vec(),
            private_sim_height: 0,
            collection_configs: None,
        }],
    }
    .encode_to_vec();
    let signed = request::sign(body, signer).unwrap();
    private_data_client(net)
        .await
        .push(signed)
        .await
        .unwrap()
        .into_inner()
        .kept
}
