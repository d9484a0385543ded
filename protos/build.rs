//! Compiles `proto/**/*.proto` with protox (a pure-Rust protobuf compiler, so a
//! fresh checkout needs no `protoc`) and generates prost messages and tonic
//! services. The compiled descriptor set is also written to `OUT_DIR` so that
//! weft can reflect over its own schema (inspect/encode, conformance tests).

use std::path::{Path, PathBuf};

use prost::Message;

fn proto_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            proto_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from("proto");
    println!("cargo:rerun-if-changed=proto");
    let mut files = Vec::new();
    proto_files(&root, &mut files);

    let fds = protox::compile(&files, [&root]).unwrap_or_else(|e| panic!("compiling protos: {e}"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));
    std::fs::write(out_dir.join("weft_descriptor.bin"), fds.encode_to_vec())
        .expect("writing descriptor set");

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(true)
        // Deterministic encoding: maps iterate in key order.
        .btree_map(".")
        // Encode each message into a buffer of its size (see src/codec.rs).
        .codec_path("crate::codec::SizedCodec")
        // Raft messages carry whole blocks: decode them as slices of the
        // received buffer instead of copying each into a Vec.
        .bytes(".weft.cluster.StepRequest.messages")
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("generating Rust code from protos: {e}"));
}
