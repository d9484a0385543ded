//! The chaincode lifecycle end to end on an in-process network: package,
//! install, approve by both orgs, commit, invoke asset-transfer-basic, upgrade.
//! (One file: each scenario builds on the same deployment steps, kept together.)

use std::sync::OnceLock;
use std::time::Duration;

use prost::Message;
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_common::tx::{ProposalBuilder, assemble_transaction};
use weft_peer::admin::AdminClient;
use weft_peer::node::PeerHandle;
use weft_peer::package;
use weft_protos::lifecycle::{
    ApproveChaincodeDefinitionForMyOrgArgs, ChaincodeSource, CheckCommitReadinessArgs,
    CheckCommitReadinessResult, CommitChaincodeDefinitionArgs, InstallChaincodeArgs,
    InstallChaincodeResult, QueryApprovedChaincodeDefinitionArgs,
    QueryApprovedChaincodeDefinitionResult, QueryChaincodeDefinitionArgs,
    QueryChaincodeDefinitionResult, QueryInstalledChaincodesArgs, QueryInstalledChaincodesResult,
    chaincode_source,
};
use weft_protos::protos::{ProposalResponse, Response, TxValidationCode as Code};

use crate::net::*;
use crate::support::*;

/// asset-transfer-basic built to WASM once per test binary, packaged under `label`.
pub fn basic_wasm() -> Vec<u8> {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../samples/asset-transfer-basic");
        let target = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
        let path = package::build_wasm(&dir, Some(&target)).unwrap_or_else(|e| {
            panic!("building asset-transfer-basic (scripts/setup.sh installs the toolchain): {e}")
        });
        std::fs::read(path).unwrap()
    })
    .clone()
}

/// The `asset` contract of the Fabric fixture chain, built once.
pub fn fixture_asset_wasm() -> Vec<u8> {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chaincode/fixture-asset");
        let target = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
        std::fs::read(package::build_wasm(&dir, Some(&target)).unwrap()).unwrap()
    })
    .clone()
}

/// The test contract that misbehaves on request (and calls other chaincodes), built once.
pub fn misbehaving_wasm() -> Vec<u8> {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chaincode/misbehaving");
        let target = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
        std::fs::read(package::build_wasm(&dir, Some(&target)).unwrap()).unwrap()
    })
    .clone()
}

/// Signs a proposal as `creator`, gets it endorsed by `endorsers`, and returns the responses.
pub async fn endorse(
    creator: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    args: Vec<Vec<u8>>,
    endorsers: &mut [&mut AdminClient],
) -> (weft_common::tx::SignedProposalBundle, Vec<ProposalResponse>) {
    let bundle = ProposalBuilder::new(ChannelId::new(channel), chaincode)
        .args(args)
        .sign(creator)
        .unwrap();
    let mut responses = Vec::new();
    for e in endorsers.iter_mut() {
        responses.push(e.process(&bundle.signed).await.unwrap());
    }
    (bundle, responses)
}

/// Runs `a` on `chaincode` on one peer, as an evaluation (nothing is ordered).
pub async fn evaluate(
    user: &SigningIdentity,
    chaincode: &str,
    a: &[&str],
    peer: &mut AdminClient,
) -> Response {
    let (_, r) = endorse(user, CHANNEL, chaincode, args(a), &mut [peer]).await;
    r[0].response.clone().unwrap()
}

/// The JSON answer of a successful response.
pub fn json(resp: &Response) -> serde_json::Value {
    assert_eq!(resp.status, 200, "{}", resp.message);
    serde_json::from_slice(&resp.payload).unwrap()
}

fn ok_payload(r: &ProposalResponse) -> Vec<u8> {
    let resp = r.response.clone().unwrap();
    assert_eq!(resp.status, 200, "{}", resp.message);
    resp.payload
}

/// Endorses, orders and waits for the commit; returns the validation code.
pub async fn submit(
    net: &Net,
    watch: &PeerHandle,
    creator: &SigningIdentity,
    chaincode: &str,
    args: Vec<Vec<u8>>,
    endorsers: &mut [&mut AdminClient],
) -> Result<Code, String> {
    let mut commits = watch.core.channel(CHANNEL).unwrap().subscribe();
    let (bundle, responses) = endorse(creator, CHANNEL, chaincode, args, endorsers).await;
    for r in &responses {
        let resp = r.response.clone().unwrap();
        if resp.status != 200 {
            return Err(format!("status {}: {}", resp.status, resp.message));
        }
    }
    let env = assemble_transaction(&bundle.unpacked, &responses, creator).unwrap();
    net.broadcast(0, vec![env]).await;
    let tx_id = bundle.tx_id.to_string();
    let wait = async {
        loop {
            let done = commits.recv().await.unwrap();
            if let Some(t) = done.txs.iter().find(|t| t.tx_id == tx_id) {
                return t.code;
            }
        }
    };
    let code = tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("commit notification");
    // Every endorsing peer has committed it too before the next transaction
    // is endorsed against their state.
    for e in endorsers.iter_mut() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while e.transaction(CHANNEL, &tx_id).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "an endorser never committed {tx_id}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(code)
}

fn definition(sequence: i64, version: &str) -> CommitChaincodeDefinitionArgs {
    named_definition("basic", sequence, version)
}

pub fn named_definition(name: &str, sequence: i64, version: &str) -> CommitChaincodeDefinitionArgs {
    CommitChaincodeDefinitionArgs {
        sequence,
        name: name.into(),
        version: version.into(),
        ..Default::default()
    }
}

fn approval(d: &CommitChaincodeDefinitionArgs, package_id: &str) -> Vec<Vec<u8>> {
    let a = ApproveChaincodeDefinitionForMyOrgArgs {
        sequence: d.sequence,
        name: d.name.clone(),
        version: d.version.clone(),
        init_required: d.init_required,
        validation_parameter: d.validation_parameter.clone(),
        source: Some(ChaincodeSource {
            r#type: Some(chaincode_source::Type::LocalPackage(
                chaincode_source::Local {
                    package_id: package_id.into(),
                },
            )),
        }),
        ..Default::default()
    };
    vec![
        b"ApproveChaincodeDefinitionForMyOrg".to_vec(),
        a.encode_to_vec(),
    ]
}

pub fn args(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Installs package `pkg` on the admin's peer; its package id.
pub async fn install(admin: &mut AdminClient, pkg: &[u8]) -> Result<String, String> {
    let a = InstallChaincodeArgs {
        chaincode_install_package: pkg.to_vec(),
    };
    let signer = admin.signer().clone();
    let (_, r) = endorse(
        &signer,
        "",
        "_lifecycle",
        vec![b"InstallChaincode".to_vec(), a.encode_to_vec()],
        &mut [admin],
    )
    .await;
    let resp = r[0].response.clone().unwrap();
    if resp.status != 200 {
        return Err(resp.message);
    }
    Ok(InstallChaincodeResult::decode(resp.payload.as_slice())
        .unwrap()
        .package_id)
}

/// Waits until the peer behind each admin client has `height` blocks (the
/// peers may run out of process, where only their admin clients reach them).
async fn admins_at(admins: &mut [&mut AdminClient], height: u64) {
    for a in admins.iter_mut() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match a.chain_info(CHANNEL).await {
                Ok(info) if info.height >= height => break,
                _ => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "a peer never reached height {height}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
}

/// Deploys `basic` at `sequence` with the package `label`; returns its package id.
pub async fn deploy(
    net: &Net,
    peers: [&PeerHandle; 2],
    admins: &mut [AdminClient; 2],
    label: &str,
    sequence: i64,
) -> String {
    deploy_named(net, peers, admins, "basic", &basic_wasm(), label, sequence).await
}

/// Deploys chaincode `name` (module `wasm`) at `sequence` with the package `label`.
pub async fn deploy_named(
    net: &Net,
    peers: [&PeerHandle; 2],
    admins: &mut [AdminClient; 2],
    name: &str,
    wasm: &[u8],
    label: &str,
    sequence: i64,
) -> String {
    deploy_definition(
        net,
        peers,
        admins,
        named_definition(name, sequence, label),
        wasm,
    )
    .await
}

/// Deploys definition `d` (its version is the package label) with module `wasm`.
pub async fn deploy_definition(
    net: &Net,
    peers: [&PeerHandle; 2],
    admins: &mut [AdminClient; 2],
    d: CommitChaincodeDefinitionArgs,
    wasm: &[u8],
) -> String {
    let pkg = package::package(&d.version, wasm).unwrap();
    deploy_package(net, peers, admins, d, &pkg).await
}

/// Deploys definition `d` (its version is the package label) with package `pkg`.
pub async fn deploy_package(
    net: &Net,
    peers: [&PeerHandle; 2],
    admins: &mut [AdminClient; 2],
    d: CommitChaincodeDefinitionArgs,
    pkg: &[u8],
) -> String {
    let (label, sequence, name) = (d.version.clone(), d.sequence, d.name.clone());
    let (label, name) = (label.as_str(), name.as_str());
    let mut ids = Vec::new();
    for a in admins.iter_mut() {
        ids.push(install(a, pkg).await.unwrap());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[0], package::package_id(label, pkg));
    let [a1, a2] = admins;
    let (s1, s2) = (a1.signer().clone(), a2.signer().clone());
    assert_eq!(
        submit(
            net,
            peers[0],
            &s1,
            "_lifecycle",
            approval(&d, &ids[0]),
            &mut [&mut *a1]
        )
        .await
        .unwrap(),
        Code::Valid
    );
    // One approval is not enough to commit: Org2's peer refuses to endorse.
    let commit_args = vec![b"CommitChaincodeDefinition".to_vec(), d.encode_to_vec()];
    let refused = submit(
        net,
        peers[0],
        &s1,
        "_lifecycle",
        commit_args.clone(),
        &mut [&mut *a1, &mut *a2],
    )
    .await
    .unwrap_err();
    assert!(
        refused.contains("not agreed to by this org (Org2MSP)"),
        "{refused}"
    );
    assert_eq!(
        submit(
            net,
            peers[0],
            &s2,
            "_lifecycle",
            approval(&d, &ids[0]),
            &mut [&mut *a2]
        )
        .await
        .unwrap(),
        Code::Valid
    );
    let height = peers[0].core.channel(CHANNEL).unwrap().ledger().height();
    wait_height(peers[1], height).await;
    admins_at(&mut [&mut *a1, &mut *a2], height).await;
    let check = CheckCommitReadinessArgs {
        sequence,
        name: name.into(),
        version: label.into(),
        init_required: d.init_required,
        validation_parameter: d.validation_parameter.clone(),
        ..Default::default()
    };
    let (_, r) = endorse(
        &s1,
        CHANNEL,
        "_lifecycle",
        vec![b"CheckCommitReadiness".to_vec(), check.encode_to_vec()],
        &mut [&mut *a1],
    )
    .await;
    let ready = CheckCommitReadinessResult::decode(ok_payload(&r[0]).as_slice()).unwrap();
    assert_eq!(
        ready.approvals.values().filter(|v| **v).count(),
        2,
        "{ready:?}"
    );
    assert_eq!(
        submit(
            net,
            peers[0],
            &s1,
            "_lifecycle",
            commit_args,
            &mut [&mut *a1, &mut *a2]
        )
        .await
        .unwrap(),
        Code::Valid
    );
    let height = peers[0].core.channel(CHANNEL).unwrap().ledger().height();
    wait_height(peers[1], height).await;
    admins_at(&mut [&mut *a1, &mut *a2], height).await;
    ids.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_orgs_deploy_run_and_upgrade_asset_transfer_basic() {
    // Three Raft orderers, Org1 and Org2 with one peer each.
    let net = Net::start(3, 10).await;
    let (p1, p2) = (net.start_peer(1, 0).await, net.start_peer(2, 0).await);
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let mut admins = [net.admin(1, &p1).await, net.admin(2, &p2).await];
    let package_id = deploy(&net, [&p1, &p2], &mut admins, "basic_1.0", 1).await;

    // Lifecycle queries.
    let s1 = admins[0].signer().clone();
    let (_, r) = endorse(
        &s1,
        CHANNEL,
        "_lifecycle",
        vec![
            b"QueryChaincodeDefinition".to_vec(),
            QueryChaincodeDefinitionArgs {
                name: "basic".into(),
            }
            .encode_to_vec(),
        ],
        &mut [&mut admins[1]],
    )
    .await;
    let def = QueryChaincodeDefinitionResult::decode(ok_payload(&r[0]).as_slice()).unwrap();
    assert_eq!((def.sequence, def.version.as_str()), (1, "basic_1.0"));
    assert!(def.approvals.values().all(|v| *v) && def.approvals.len() == 2);
    let (_, r) = endorse(
        &s1,
        CHANNEL,
        "_lifecycle",
        vec![
            b"QueryApprovedChaincodeDefinition".to_vec(),
            QueryApprovedChaincodeDefinitionArgs {
                name: "basic".into(),
                sequence: 1,
            }
            .encode_to_vec(),
        ],
        &mut [&mut admins[0]],
    )
    .await;
    let approved =
        QueryApprovedChaincodeDefinitionResult::decode(ok_payload(&r[0]).as_slice()).unwrap();
    assert!(
        matches!(approved.source.unwrap().r#type, Some(chaincode_source::Type::LocalPackage(l)) if l.package_id == package_id)
    );
    let (_, r) = endorse(
        &s1,
        "",
        "_lifecycle",
        vec![
            b"QueryInstalledChaincodes".to_vec(),
            QueryInstalledChaincodesArgs {}.encode_to_vec(),
        ],
        &mut [&mut admins[0]],
    )
    .await;
    assert_eq!(
        QueryInstalledChaincodesResult::decode(ok_payload(&r[0]).as_slice())
            .unwrap()
            .installed_chaincodes
            .len(),
        1
    );

    // asset-transfer-basic through both orgs' peers.
    let user = net.orgs.user(1);
    let [a1, a2] = &mut admins;
    assert_eq!(
        submit(
            &net,
            &p1,
            &user,
            "basic",
            args(&["InitLedger"]),
            &mut [&mut *a1, &mut *a2]
        )
        .await
        .unwrap(),
        Code::Valid
    );
    assert_eq!(
        submit(
            &net,
            &p1,
            &user,
            "basic",
            args(&["CreateAsset", "asset7", "red", "9", "Ann", "700"]),
            &mut [&mut *a1, &mut *a2]
        )
        .await
        .unwrap(),
        Code::Valid
    );
    assert_eq!(
        submit(
            &net,
            &p1,
            &user,
            "basic",
            args(&["TransferAsset", "asset7", "Bob"]),
            &mut [&mut *a1, &mut *a2]
        )
        .await
        .unwrap(),
        Code::Valid
    );
    wait_height(&p2, p1.core.channel(CHANNEL).unwrap().ledger().height()).await;
    let asset = json(&evaluate(&user, "basic", &["ReadAsset", "asset7"], a2).await);
    assert_eq!(asset["Owner"], "Bob");
    let all = json(&evaluate(&user, "basic", &["GetAllAssets"], a1).await);
    assert_eq!(all.as_array().map(Vec::len), Some(7));
    // Only Org1 endorses: ordered, but invalid under the MAJORITY Endorsement policy.
    assert_eq!(
        submit(
            &net,
            &p1,
            &user,
            "basic",
            args(&["DeleteAsset", "asset7"]),
            &mut [&mut *a1]
        )
        .await
        .unwrap(),
        Code::EndorsementPolicyFailure
    );
    // A chaincode error is the proposal's, with its message.
    let resp = evaluate(&user, "basic", &["ReadAsset", "nope"], a1).await;
    assert!(
        resp.status >= 400 && resp.message.contains("nope"),
        "{resp:?}"
    );
    // Unknown chaincode; Org2's admin approving on Org1's peer.
    let resp = evaluate(&user, "nosuch", &["x"], a1).await;
    assert!(
        resp.message
            .contains("chaincode definition for 'nosuch' not found"),
        "{resp:?}"
    );
    let s2 = a2.signer().clone();
    let (_, r) = endorse(
        &s2,
        CHANNEL,
        "_lifecycle",
        approval(&definition(2, "x"), "x"),
        &mut [&mut *a1],
    )
    .await;
    let resp = r[0].response.clone().unwrap();
    assert_eq!(resp.status, 403, "{}", resp.message);

    // One chaincode calls another on the same channel: the callee's read is in the caller's rwset.
    deploy_named(
        &net,
        [&p1, &p2],
        &mut admins,
        "caller",
        &misbehaving_wasm(),
        "caller_1.0",
        1,
    )
    .await;
    let [a1, _] = &mut admins;
    let (_, r) = endorse(
        &user,
        CHANNEL,
        "caller",
        args(&["CallOther", "basic", "ReadAsset", "asset7"]),
        &mut [&mut *a1],
    )
    .await;
    let via: serde_json::Value = serde_json::from_slice(&ok_payload(&r[0])).unwrap();
    assert_eq!(via["Owner"], "Bob");
    let prp =
        weft_protos::protos::ProposalResponsePayload::decode(r[0].payload.as_slice()).unwrap();
    let action = weft_protos::protos::ChaincodeAction::decode(prp.extension.as_slice()).unwrap();
    let rwset = weft_protos::rwset::TxReadWriteSet::decode(action.results.as_slice()).unwrap();
    assert!(
        rwset.ns_rwset.iter().any(|n| n.namespace == "basic"),
        "{rwset:?}"
    );
    let resp = evaluate(&user, "caller", &["CallOther", "nosuch", "F", "x"], a1).await;
    assert!(resp.status >= 400, "{resp:?}");

    // A definition that requires Init: nothing else runs until an init transaction committed, and init runs once.
    let mut d = named_definition("needsinit", 1, "needsinit_1.0");
    d.init_required = true;
    deploy_definition(&net, [&p1, &p2], &mut admins, d, &misbehaving_wasm()).await;
    let [a1, a2] = &mut admins;
    let put = args(&["Put", "k", "v"]);
    let refused = submit(
        &net,
        &p1,
        &user,
        "needsinit",
        put.clone(),
        &mut [&mut *a1, &mut *a2],
    )
    .await
    .unwrap_err();
    assert!(refused.contains("must call as init first"), "{refused}");
    let init = ProposalBuilder::new(ChannelId::new(CHANNEL), "needsinit")
        .args(put.clone())
        .init(true)
        .sign(&user)
        .unwrap();
    let responses = vec![
        a1.process(&init.signed).await.unwrap(),
        a2.process(&init.signed).await.unwrap(),
    ];
    let mut commits = p1.core.channel(CHANNEL).unwrap().subscribe();
    net.broadcast(
        0,
        vec![assemble_transaction(&init.unpacked, &responses, &user).unwrap()],
    )
    .await;
    let init_id = init.tx_id.to_string();
    loop {
        let done = commits.recv().await.unwrap();
        if let Some(t) = done.txs.iter().find(|t| t.tx_id == init_id) {
            assert_eq!(t.code, Code::Valid);
            break;
        }
    }
    // Org2's peer endorses next: it must have committed the init too.
    wait_height(&p2, p1.core.channel(CHANNEL).unwrap().ledger().height()).await;
    assert_eq!(
        submit(
            &net,
            &p1,
            &user,
            "needsinit",
            put.clone(),
            &mut [&mut *a1, &mut *a2]
        )
        .await
        .unwrap(),
        Code::Valid
    );
    let again = ProposalBuilder::new(ChannelId::new(CHANNEL), "needsinit")
        .args(put)
        .init(true)
        .sign(&user)
        .unwrap();
    let r = a1.process(&again.signed).await.unwrap();
    assert!(r.response.unwrap().message.contains("already initialized"));

    // Upgrade to sequence 2 with a new package, without restarting anything.
    let new_id = deploy(&net, [&p1, &p2], &mut admins, "basic_2.0", 2).await;
    assert_ne!(new_id, package_id);
    let [a1, a2] = &mut admins;
    assert_eq!(
        submit(
            &net,
            &p1,
            &user,
            "basic",
            args(&["UpdateAsset", "asset7", "green", "1", "Bob", "1"]),
            &mut [&mut *a1, &mut *a2]
        )
        .await
        .unwrap(),
        Code::Valid
    );
    let asset = json(&evaluate(&user, "basic", &["ReadAsset", "asset7"], a1).await);
    assert_eq!(asset["Color"], "green");

    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
