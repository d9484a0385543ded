//! Chaincode packages from someone else: an org admin installs a package it
//! did not build. Its label must not lead the peer's write out of its
//! packages folder, and its archives must not unpack to gigabytes.

use std::io::Read;

use super::*;
use crate::lifecycle::{basic_wasm, install};

/// A `.tar.gz` of `entries`, each read from its reader.
fn tar_gz(entries: Vec<(&str, u64, Box<dyn Read>)>) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, size, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append_data(&mut header, name, data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn bytes(name: &str, data: Vec<u8>) -> (&str, u64, Box<dyn Read>) {
    (
        name,
        data.len() as u64,
        Box::new(std::io::Cursor::new(data)),
    )
}

/// A WASM package whose metadata says `label`, with `extra` entries beside it.
fn package(label: &str, extra: Vec<(&'static str, u64, Box<dyn Read>)>) -> Vec<u8> {
    let code = tar_gz(vec![bytes("chaincode.wasm", basic_wasm())]);
    let metadata = serde_json::json!({ "type": "wasm", "label": label });
    let mut entries = vec![
        bytes("metadata.json", serde_json::to_vec(&metadata).unwrap()),
        bytes("code.tar.gz", code),
    ];
    entries.extend(extra);
    tar_gz(entries)
}

/// Every file below `dir` whose name starts with `prefix`.
fn files_named(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                todo.push(path);
            } else if e.file_name().to_string_lossy().starts_with(prefix) {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_cannot_lead_a_package_out_of_the_peers_folder() {
    let net = Net::start(1, 5).await;
    let peer = net.start_peer(1, 0).await;
    let mut admin = net.admin(1, &peer).await;
    for label in [
        "../../escaped",
        "/tmp/escaped",
        ".hidden",
        "a/b",
        "with space",
        "",
    ] {
        let refused = install(&mut admin, &package(label, Vec::new()))
            .await
            .unwrap_err();
        assert!(
            refused.contains("label") && refused.contains("must"),
            "{label:?}: {refused}"
        );
    }
    assert!(
        files_named(net.data.path(), "escaped").is_empty(),
        "{:?}",
        files_named(net.data.path(), "escaped")
    );
    // Fabric's rule for labels still lets every ordinary one in.
    install(&mut admin, &package("basic_1.0+build-2", Vec::new()))
        .await
        .unwrap();
    peer.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_that_unpacks_to_gigabytes_is_refused() {
    let net = Net::start(1, 5).await;
    let peer = net.start_peer(1, 0).await;
    let mut admin = net.admin(1, &peer).await;
    // 300 MiB of zeros in three entries: a few hundred KiB on the wire.
    let zeros = |n: u64| -> Box<dyn Read> { Box::new(std::io::repeat(0).take(n)) };
    let mib = 1024 * 1024;
    let bomb = package(
        "bomb_1",
        vec![
            ("padding1", 100 * mib, zeros(100 * mib)),
            ("padding2", 100 * mib, zeros(100 * mib)),
            ("padding3", 100 * mib, zeros(100 * mib)),
        ],
    );
    assert!(bomb.len() < 2 * mib as usize);
    let refused = install(&mut admin, &bomb).await.unwrap_err();
    assert!(refused.contains("unpacks to more than"), "{refused}");
    // The peer still installs a real package.
    install(&mut admin, &package("basic_1", Vec::new()))
        .await
        .unwrap();
    peer.shutdown().await;
    net.shutdown().await;
}
