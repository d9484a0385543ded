//! Rich queries on a network: marbles deployed from a package carrying
//! Fabric's `META-INF/statedb/couchdb/indexes/indexOwner.json`. Each peer
//! builds the index once the definition is committed, keeps it in step with
//! every commit, and answers `QueryMarblesByOwner` through it.

use std::sync::OnceLock;

use weft_peer::package;
use weft_protos::protos::TxValidationCode as Code;

use crate::lifecycle::{args, deploy_package, evaluate, json, named_definition, submit};
use crate::net::*;
use crate::support::CHANNEL;

fn marbles_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/marbles")
}

/// The marbles sample packaged with its indexes, built once.
fn marbles_package() -> Vec<u8> {
    static PKG: OnceLock<Vec<u8>> = OnceLock::new();
    PKG.get_or_init(|| {
        let target = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
        let wasm =
            std::fs::read(package::build_wasm(&marbles_dir(), Some(&target)).unwrap()).unwrap();
        let indexes = package::index_files(&marbles_dir()).unwrap();
        package::package_with_indexes("marbles_1.0", &wasm, &indexes).unwrap()
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn marbles_queries_by_owner_through_the_packaged_index() {
    let net = Net::start(1, 10).await;
    let (p1, p2) = (net.start_peer(1, 0).await, net.start_peer(2, 0).await);
    net.join(1, &p1).await;
    net.join(2, &p2).await;
    let mut admins = [net.admin(1, &p1).await, net.admin(2, &p2).await];
    let pkg = marbles_package();
    assert_eq!(package::parse(&pkg).unwrap().indexes.len(), 1);
    deploy_package(
        &net,
        [&p1, &p2],
        &mut admins,
        named_definition("marbles", 1, "marbles_1.0"),
        &pkg,
    )
    .await;
    // Built after the definition's commit, before any marbles proposal.
    for peer in [&p1, &p2] {
        let committer = peer.core.channel(CHANNEL).unwrap();
        weft_testkit::wait_for(
            "the packaged index",
            std::time::Duration::from_secs(30),
            || committer.ledger().indexes("marbles").len() == 1,
        )
        .await;
    }
    let signer = admins[0].signer().clone();
    for (name, owner) in [("m1", "tom"), ("m2", "ann"), ("m3", "tom")] {
        let [a1, a2] = &mut admins;
        let code = submit(
            &net,
            &p1,
            &signer,
            "marbles",
            args(&["InitMarble", name, "blue", "5", owner]),
            &mut [a1, a2],
        )
        .await
        .unwrap();
        assert_eq!(code, Code::Valid);
    }
    // Both peers keep it up to date.
    for peer in [&p1, &p2] {
        let indexes = peer
            .core
            .channel(CHANNEL)
            .unwrap()
            .ledger()
            .indexes("marbles");
        assert_eq!(indexes.len(), 1);
        assert_eq!(indexes[0].name, "indexOwner");
    }
    let found = json(
        &evaluate(
            &signer,
            "marbles",
            &["QueryMarblesByOwner", "tom"],
            &mut admins[1],
        )
        .await,
    );
    let keys: Vec<_> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["m1", "m3"]);

    // A transfer moves the marble between owners in the index.
    let [a1, a2] = &mut admins;
    let code = submit(
        &net,
        &p1,
        &signer,
        "marbles",
        args(&["TransferMarble", "m1", "ann"]),
        &mut [a1, a2],
    )
    .await
    .unwrap();
    assert_eq!(code, Code::Valid);
    let found = json(
        &evaluate(
            &signer,
            "marbles",
            &["QueryMarblesByOwner", "ann"],
            &mut admins[0],
        )
        .await,
    );
    assert_eq!(found.as_array().unwrap().len(), 2);
    // A query naming an index the package does not define is refused by name.
    let refused = evaluate(
        &signer,
        "marbles",
        &[
            "QueryMarbles",
            r#"{"selector":{"owner":"ann"},"use_index":"nope"}"#,
        ],
        &mut admins[0],
    )
    .await;
    assert!(
        refused.message.contains("use_index names nope"),
        "{}",
        refused.message
    );
    p1.shutdown().await;
    p2.shutdown().await;
    net.shutdown().await;
}
