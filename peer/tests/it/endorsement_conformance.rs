//! weft's endorsements of the calls in the real Fabric chain
//! (`../shared/fixtures/fabric-3.0-chain/`) have the structure of Fabric's,
//! field by field: the same proposals (their arguments taken from the
//! fixture's transactions) are endorsed by weft peers, and each
//! `ChaincodeAction` is compared with the one Fabric's endorsers wrote —
//! chaincode id (`syscc` for `_lifecycle`), response, events, and the
//! read/write set: namespaces and their order (`_lifecycle`, `asset`,
//! `lscc`), keys read and whether they had a version, values written, and the
//! hashed private reads and writes of the implicit collections. Signatures,
//! nonces, timestamps and the block numbers inside versions differ by nature.

use prost::Message;
use weft_common::tx::UnpackedEnvelope;
use weft_peer::admin::AdminClient;
use weft_peer::package;
use weft_protos::kvrwset::{HashedRwSet, KvrwSet};
use weft_protos::lifecycle::{
    ApproveChaincodeDefinitionForMyOrgArgs, ChaincodeSource, chaincode_source,
};
use weft_protos::protos::{
    ChaincodeAction, ChaincodeInvocationSpec, ChaincodeProposalPayload, ProposalResponse,
    ProposalResponsePayload, TxValidationCode as Code,
};
use weft_protos::rwset::TxReadWriteSet;

use crate::fabric_chain::fixture;
use crate::lifecycle::{endorse, fixture_asset_wasm, install, submit};
use crate::net::*;
use crate::support::*;

/// The `tx`-th transaction of fixture block `n`: its invocation arguments and
/// the chaincode action Fabric's endorsers signed.
fn fabric_call(n: u64, tx: usize) -> (Vec<Vec<u8>>, ChaincodeAction) {
    let block = fixture(n);
    let env = UnpackedEnvelope::from_bytes(&block.data.unwrap().data[tx]).unwrap();
    let action = env.endorser_transaction().unwrap().action;
    let proposal =
        ChaincodeProposalPayload::decode(action.chaincode_proposal_payload.as_slice()).unwrap();
    let spec = ChaincodeInvocationSpec::decode(proposal.input.as_slice()).unwrap();
    let args = spec.chaincode_spec.unwrap().input.unwrap().args;
    (args, action.chaincode_action)
}

/// The chaincode action in a weft endorsement.
fn weft_action(r: &ProposalResponse) -> ChaincodeAction {
    let resp = r.response.clone().unwrap();
    assert_eq!(resp.status, 200, "{}", resp.message);
    let prp = ProposalResponsePayload::decode(r.payload.as_slice()).unwrap();
    ChaincodeAction::decode(prp.extension.as_slice()).unwrap()
}

/// A chaincode action with what differs by nature taken out: the block and
/// transaction numbers in versions become "had a version".
fn normalised(a: &ChaincodeAction) -> String {
    let rw = TxReadWriteSet::decode(a.results.as_slice()).unwrap();
    let mut out = format!(
        "chaincode_id {:?}\nresponse {:?}\nevents {:?}\ndata_model {}\n",
        a.chaincode_id, a.response, a.events, rw.data_model
    );
    for ns in &rw.ns_rwset {
        let kv = KvrwSet::decode(ns.rwset.as_slice()).unwrap();
        out += &format!("namespace {}\n", ns.namespace);
        for r in &kv.reads {
            out += &format!("  read {:?} versioned={}\n", r.key, r.version.is_some());
        }
        for q in &kv.range_queries_info {
            out += &format!("  range {:?}..{:?}\n", q.start_key, q.end_key);
        }
        for w in &kv.writes {
            out += &format!("  write {:?} delete={} {:?}\n", w.key, w.is_delete, w.value);
        }
        for m in &kv.metadata_writes {
            out += &format!("  metadata write {m:?}\n");
        }
        for c in &ns.collection_hashed_rwset {
            let h = HashedRwSet::decode(c.hashed_rwset.as_slice()).unwrap();
            out += &format!(
                "  collection {} pvt_rwset_hash={}\n",
                c.collection_name,
                !c.pvt_rwset_hash.is_empty()
            );
            for r in &h.hashed_reads {
                out += &format!(
                    "    hashed read {} versioned={}\n",
                    hex::encode(&r.key_hash),
                    r.version.is_some()
                );
            }
            for w in &h.hashed_writes {
                out += &format!(
                    "    hashed write {} delete={} {} purge={}\n",
                    hex::encode(&w.key_hash),
                    w.is_delete,
                    hex::encode(&w.value_hash),
                    w.is_purge
                );
            }
            for m in &h.metadata_writes {
                out += &format!("    hashed metadata write {m:?}\n");
            }
        }
    }
    out
}

fn assert_same_action(what: &str, fabric: &ChaincodeAction, weft: &ChaincodeAction) {
    let (f, w) = (normalised(fabric), normalised(weft));
    assert!(
        f == w,
        "{what}: weft's chaincode action differs from Fabric's\n--- Fabric\n{f}--- weft\n{w}"
    );
}

/// The fixture's approval arguments with another package id (Org `n`'s choice of package).
fn approval_with_package(args: &[Vec<u8>], package_id: &str) -> Vec<Vec<u8>> {
    let mut a = ApproveChaincodeDefinitionForMyOrgArgs::decode(args[1].as_slice()).unwrap();
    a.source = Some(ChaincodeSource {
        r#type: Some(chaincode_source::Type::LocalPackage(
            chaincode_source::Local {
                package_id: package_id.into(),
            },
        )),
    });
    vec![args[0].clone(), a.encode_to_vec()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weft_endorses_the_fabric_chains_calls_with_fabrics_structure() {
    let net = Net::start(1, 10).await;
    let p1 = net.start_peer(1, 0).await;
    let p2 = net.start_peer(2, 0).await;
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let mut a1: AdminClient = net.admin(1, &p1).await;
    let mut a2: AdminClient = net.admin(2, &p2).await;
    let (s1, s2) = (a1.signer().clone(), a2.signer().clone());

    // Block 1: each org approves `asset` 1.0, sequence 1 (Fabric's package id).
    for (tx, signer, admin, org) in [(0, &s1, &mut a1, "Org1"), (1, &s2, &mut a2, "Org2")] {
        let (args, fabric) = fabric_call(1, tx);
        let (_, responses) = endorse(
            signer,
            CHANNEL,
            "_lifecycle",
            args.clone(),
            &mut [&mut *admin],
        )
        .await;
        assert_same_action(
            &format!("{org}'s approval"),
            &fabric,
            &weft_action(&responses[0]),
        );
        assert_eq!(
            submit(&net, &p1, signer, "_lifecycle", args, &mut [admin])
                .await
                .unwrap(),
            Code::Valid
        );
    }

    // Block 2: the commit, endorsed by both orgs.
    wait_height(&p2, p1.core.channel(CHANNEL).unwrap().ledger().height()).await;
    let (args, fabric) = fabric_call(2, 0);
    let (_, responses) = endorse(
        &s1,
        CHANNEL,
        "_lifecycle",
        args.clone(),
        &mut [&mut a1, &mut a2],
    )
    .await;
    for r in &responses {
        assert_same_action("the commit", &fabric, &weft_action(r));
    }
    assert_eq!(
        submit(&net, &p1, &s1, "_lifecycle", args, &mut [&mut a1, &mut a2])
            .await
            .unwrap(),
        Code::Valid
    );

    // Blocks 3–6 run the contract: install weft's build of it, and let each
    // org choose that package for the committed definition (Fabric allows
    // approving the committed sequence again with another package).
    let pkg = package::package("asset_1.0", &fixture_asset_wasm()).unwrap();
    let package_id = install(&mut a1, &pkg).await.unwrap();
    assert_eq!(install(&mut a2, &pkg).await.unwrap(), package_id);
    let (approve, _) = fabric_call(1, 0);
    for (signer, admin) in [(&s1, &mut a1), (&s2, &mut a2)] {
        assert_eq!(
            submit(
                &net,
                &p1,
                signer,
                "_lifecycle",
                approval_with_package(&approve, &package_id),
                &mut [admin]
            )
            .await
            .unwrap(),
            Code::Valid
        );
    }
    wait_height(&p2, p1.core.channel(CHANNEL).unwrap().ledger().height()).await;
    let user = net.orgs.user(1);
    for n in 3..=6 {
        let (args, fabric) = fabric_call(n, 0);
        let (_, responses) = endorse(
            &user,
            CHANNEL,
            "asset",
            args.clone(),
            &mut [&mut a1, &mut a2],
        )
        .await;
        for r in &responses {
            assert_same_action(
                &format!("CreateAsset of block {n}"),
                &fabric,
                &weft_action(r),
            );
        }
        assert_eq!(
            submit(&net, &p1, &user, "asset", args, &mut [&mut a1, &mut a2])
                .await
                .unwrap(),
            Code::Valid
        );
    }
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
