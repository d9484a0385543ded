//! Chaincode packages, Fabric-shaped: a `.tar.gz` holding `metadata.json`
//! (`{"type":"wasm","label":...}`) and `code.tar.gz`, which holds
//! `chaincode.wasm` and, as in Fabric, the rich-query indexes under
//! `META-INF/statedb/couchdb/indexes/*.json` (and
//! `META-INF/statedb/couchdb/collections/<collection>/indexes/*.json`).
//! The package ID is `label:hex(sha256(package bytes))`.
//! Packages are built deterministically (fixed timestamps, owners and modes),
//! so the same module and label always give the same ID.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::PeerError;

/// Link flags for chaincode: 64 KiB of stack (instead of Rust's 1 MiB) and
/// 128 KiB of initial memory, which the peer keeps resident between
/// instances (`chaincode::runtime`), so a typical invocation's heap never
/// page-faults. A crate whose data does not fit is linked again with
/// [`CHAINCODE_RUSTFLAGS_LARGE`].
pub const CHAINCODE_RUSTFLAGS: &str =
    "-C link-arg=-zstack-size=65536 -C link-arg=--initial-memory=131072";

/// Link flags for chaincode with more than about 64 KiB of data: the linker
/// sizes the initial memory.
pub const CHAINCODE_RUSTFLAGS_LARGE: &str = "-C link-arg=-zstack-size=65536";

/// The chaincode type weft runs.
pub const WASM_TYPE: &str = "wasm";

#[derive(Debug, Serialize, Deserialize)]
struct Metadata {
    #[serde(rename = "type")]
    kind: String,
    label: String,
}

/// A parsed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodePackage {
    /// The label (e.g. `basic_1.0`).
    pub label: String,
    /// The WASM module.
    pub wasm: Vec<u8>,
    /// Its rich-query index definitions, each checked.
    pub indexes: Vec<PackagedIndex>,
}

/// An index definition shipped in a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagedIndex {
    /// The private-data collection it indexes (`None`: the public state).
    pub collection: Option<String>,
    /// Its path in `code.tar.gz`.
    pub file: String,
    /// The CouchDB index definition (JSON).
    pub definition: String,
}

/// Where index definitions live in a chaincode's directory and in
/// `code.tar.gz`, as in Fabric.
pub const INDEX_DIR: &str = "META-INF/statedb/couchdb";

/// The index an entry of `code.tar.gz` defines, if its path is one.
fn index_path(name: &str) -> Option<Option<String>> {
    let rest = name.strip_prefix(INDEX_DIR)?.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["indexes", file] if file.ends_with(".json") => Some(None),
        ["collections", coll, "indexes", file] if file.ends_with(".json") && !coll.is_empty() => {
            Some(Some(coll.to_string()))
        }
        _ => None,
    }
}

/// The index definitions under `dir/META-INF/statedb/couchdb/`, as
/// (path in the package, bytes), sorted by path (none: no such folder).
pub fn index_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, PeerError> {
    let root = dir.join(INDEX_DIR);
    let mut out = Vec::new();
    let mut folders = vec![(root.join("indexes"), format!("{INDEX_DIR}/indexes"))];
    if let Ok(collections) = std::fs::read_dir(root.join("collections")) {
        for c in collections.flatten() {
            let name = c.file_name().to_string_lossy().into_owned();
            folders.push((
                c.path().join("indexes"),
                format!("{INDEX_DIR}/collections/{name}/indexes"),
            ));
        }
    }
    for (folder, prefix) in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                let bytes = std::fs::read(e.path()).map_err(PeerError::file(&e.path()))?;
                out.push((format!("{prefix}/{name}"), bytes));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn tar_gz(entries: &[(&str, &[u8])]) -> Result<Vec<u8>, PeerError> {
    let io = |e: std::io::Error| PeerError::Runtime(format!("building a package: {e}"));
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, *data).map_err(io)?;
    }
    tar.into_inner().map_err(io)?.finish().map_err(io)
}

/// The most one archive of a package may unpack to (its entries' sizes
/// together, read or skipped): a few hundred KiB of gzip must not make the
/// peer inflate gigabytes.
pub const MAX_UNPACKED: u64 = 256 * 1024 * 1024;

fn untar_gz(bytes: &[u8], what: &str) -> Result<Vec<(String, Vec<u8>)>, PeerError> {
    let bad = |e: String| PeerError::InvalidChaincode(format!("{what}: {e}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = Vec::new();
    let mut unpacked = 0u64;
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        unpacked = unpacked.saturating_add(entry.size());
        if unpacked > MAX_UNPACKED {
            return Err(bad(format!(
                "unpacks to more than {} MiB",
                MAX_UNPACKED / (1024 * 1024)
            )));
        }
        let name = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        entry
            .by_ref()
            .take(MAX_UNPACKED)
            .read_to_end(&mut data)
            .map_err(|e| bad(e.to_string()))?;
        out.push((name, data));
    }
    Ok(out)
}

/// Refuses a label that is not Fabric's `^[[:alnum:]][[:alnum:]_.+-]*$`: the
/// label names the package's file, so it must not lead outside its folder.
pub fn check_label(label: &str) -> Result<(), PeerError> {
    let mut chars = label.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c)) {
        return Err(PeerError::InvalidChaincode(format!(
            "label {label:?} must start with a letter or digit and use only letters, digits and . _ + - (e.g. basic_1.0)"
        )));
    }
    Ok(())
}

/// Packages a WASM module under a label.
pub fn package(label: &str, wasm: &[u8]) -> Result<Vec<u8>, PeerError> {
    package_with_indexes(label, wasm, &[])
}

/// Packages a WASM module and index definitions ([`index_files`]) under a
/// label; each definition is checked first.
pub fn package_with_indexes(
    label: &str,
    wasm: &[u8],
    indexes: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, PeerError> {
    check_label(label)?;
    for (file, bytes) in indexes {
        check_index(file, bytes)?;
    }
    let mut entries: Vec<(&str, &[u8])> = vec![("chaincode.wasm", wasm)];
    entries.extend(indexes.iter().map(|(f, b)| (f.as_str(), b.as_slice())));
    let code = tar_gz(&entries)?;
    let metadata = serde_json::to_vec(&Metadata {
        kind: WASM_TYPE.into(),
        label: label.into(),
    })
    .expect("metadata serialises");
    tar_gz(&[("metadata.json", &metadata), ("code.tar.gz", &code)])
}

/// The package ID: `label:hex(sha256(package bytes))`.
pub fn package_id(label: &str, package: &[u8]) -> String {
    format!(
        "{label}:{}",
        hex::encode(weft_common::crypto::sha256(package))
    )
}

/// Reads a package: its label and module.
pub fn parse(package: &[u8]) -> Result<ChaincodePackage, PeerError> {
    let entries = untar_gz(package, "chaincode package")?;
    let find = |n: &str| {
        entries
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, d)| d.clone())
    };
    let metadata = find("metadata.json")
        .ok_or_else(|| PeerError::InvalidChaincode("the package has no metadata.json".into()))?;
    let metadata: Metadata = serde_json::from_slice(&metadata)
        .map_err(|e| PeerError::InvalidChaincode(format!("metadata.json: {e}")))?;
    if metadata.kind != WASM_TYPE {
        return Err(PeerError::InvalidChaincode(format!(
            "chaincode type {:?} is not supported: weft runs WASM chaincode (type \"wasm\")",
            metadata.kind
        )));
    }
    let code = find("code.tar.gz")
        .ok_or_else(|| PeerError::InvalidChaincode("the package has no code.tar.gz".into()))?;
    let mut wasm = None;
    let mut indexes = Vec::new();
    for (name, data) in untar_gz(&code, "code.tar.gz")? {
        if name == "chaincode.wasm" {
            wasm = Some(data);
        } else if let Some(collection) = index_path(&name) {
            let definition = check_index(&name, &data)?;
            indexes.push(PackagedIndex {
                collection,
                file: name,
                definition,
            });
        }
    }
    let wasm = wasm
        .ok_or_else(|| PeerError::InvalidChaincode("code.tar.gz has no chaincode.wasm".into()))?;
    check_label(&metadata.label)?;
    Ok(ChaincodePackage {
        label: metadata.label,
        wasm,
        indexes,
    })
}

/// An index definition's text, if it is one weft can build (the package is
/// refused otherwise, naming the file, as Fabric refuses a bad index at
/// install).
fn check_index(file: &str, bytes: &[u8]) -> Result<String, PeerError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| PeerError::InvalidChaincode(format!("{file}: not UTF-8")))?;
    weft_chaincode_query::IndexDef::parse(text)
        .map_err(|e| PeerError::InvalidChaincode(format!("{file}: {e}")))?;
    Ok(text.to_string())
}

/// Whether rustup has the `wasm32-unknown-unknown` target installed.
fn rustup_has_wasm_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-unknown-unknown")
        })
        .unwrap_or(false)
}

/// Builds a contract crate to WASM and returns the module's path. Uses the
/// rustup target when installed; otherwise Debian's `rustc-web` with
/// `-Zbuild-std` and `wasm-ld` (install `rustc-web rust-web-src lld`).
/// `target_dir` defaults to `$CARGO_TARGET_DIR/wasm` or `<crate>/target/wasm`.
pub fn build_wasm(crate_dir: &Path, target_dir: Option<&Path>) -> Result<PathBuf, PeerError> {
    let manifest = crate_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        PeerError::Runtime(format!(
            "{}: {e}; --path must be a chaincode crate",
            manifest.display()
        ))
    })?;
    let name = text
        .lines()
        .skip_while(|l| l.trim() != "[package]")
        .find_map(|l| {
            l.trim()
                .strip_prefix("name")
                .and_then(|r| r.split('"').nth(1))
                .map(str::to_string)
        })
        .ok_or_else(|| PeerError::Runtime(format!("{}: no package name", manifest.display())))?;
    let target_dir = match target_dir {
        Some(t) => t.to_path_buf(),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map(|d| PathBuf::from(d).join("wasm"))
            .unwrap_or_else(|| crate_dir.join("target").join("wasm")),
    };
    let mut cmd = Command::new("cargo");
    cmd.args([
        "build",
        "--profile",
        "wasm-release",
        "--target",
        "wasm32-unknown-unknown",
        "--lib",
    ])
    .arg("--manifest-path")
    .arg(&manifest)
    .arg("--target-dir")
    .arg(&target_dir);
    if !rustup_has_wasm_target() {
        if !Path::new("/usr/bin/rustc").exists()
            || Command::new("wasm-ld").arg("--version").output().is_err()
        {
            return Err(PeerError::Runtime(
                "no way to build WASM here: run `rustup target add wasm32-unknown-unknown`, or install Debian's \
                 rustc-web, rust-web-src and lld (scripts/setup.sh does)"
                    .into(),
            ));
        }
        cmd.env("RUSTC", "/usr/bin/rustc")
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "wasm-ld")
            .arg("-Zbuild-std=std,panic_abort");
    }
    tracing::info!(crate_dir = %crate_dir.display(), "building chaincode to WASM");
    let run = |cmd: &mut Command, flags: &str| {
        cmd.env("RUSTFLAGS", flags)
            .output()
            .map_err(|e| PeerError::Runtime(format!("running cargo: {e}")))
    };
    let mut out = run(&mut cmd, CHAINCODE_RUSTFLAGS)?;
    if !out.status.success()
        && String::from_utf8_lossy(&out.stderr).contains("initial memory too small")
    {
        tracing::info!(
            "the chaincode's data exceeds the compact layout; linking with a larger initial memory"
        );
        out = run(&mut cmd, CHAINCODE_RUSTFLAGS_LARGE)?;
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        return Err(PeerError::Runtime(format!(
            "building {} to WASM failed:\n{}",
            crate_dir.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    let wasm = target_dir
        .join("wasm32-unknown-unknown")
        .join("wasm-release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    if !wasm.exists() {
        return Err(PeerError::Runtime(format!(
            "the build produced no {}; is the crate a cdylib?",
            wasm.display()
        )));
    }
    Ok(wasm)
}

/// Writes a package file.
pub fn write_package(path: &Path, package: &[u8]) -> Result<(), PeerError> {
    let mut f = std::fs::File::create(path).map_err(PeerError::file(path))?;
    f.write_all(package).map_err(PeerError::file(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_deterministic_and_round_trip() {
        let a = package("basic_1.0", b"\0asm module").unwrap();
        let b = package("basic_1.0", b"\0asm module").unwrap();
        assert_eq!(a, b, "same module and label, same bytes");
        assert_eq!(package_id("basic_1.0", &a), package_id("basic_1.0", &b));
        assert!(package_id("basic_1.0", &a).starts_with("basic_1.0:"));
        let p = parse(&a).unwrap();
        assert_eq!(
            (p.label.as_str(), p.wasm.as_slice()),
            ("basic_1.0", b"\0asm module".as_slice())
        );
        assert!(package("bad label", b"x").is_err());
        assert!(parse(b"not a tarball").is_err());
        let golang = tar_gz(&[
            ("metadata.json", br#"{"type":"golang","label":"x"}"#),
            ("code.tar.gz", b""),
        ])
        .unwrap();
        assert!(
            parse(&golang)
                .unwrap_err()
                .to_string()
                .contains("weft runs WASM chaincode")
        );
    }

    #[test]
    fn index_definitions_travel_in_the_package_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let public = dir.path().join(INDEX_DIR).join("indexes");
        let private = dir.path().join(INDEX_DIR).join("collections/priv/indexes");
        std::fs::create_dir_all(&public).unwrap();
        std::fs::create_dir_all(&private).unwrap();
        let owner = r#"{"index":{"fields":["docType","owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}"#;
        std::fs::write(public.join("indexOwner.json"), owner).unwrap();
        std::fs::write(public.join("README.md"), "not an index").unwrap();
        std::fs::write(
            private.join("indexPrice.json"),
            r#"{"index":{"fields":["price"]},"name":"indexPrice"}"#,
        )
        .unwrap();
        let files = index_files(dir.path()).unwrap();
        assert_eq!(files.len(), 2);
        let bytes = package_with_indexes("marbles_1.0", b"\0asm", &files).unwrap();
        let p = parse(&bytes).unwrap();
        assert_eq!(p.indexes.len(), 2);
        let public_index = p.indexes.iter().find(|i| i.collection.is_none()).unwrap();
        assert_eq!(public_index.definition, owner);
        assert_eq!(
            public_index.file,
            format!("{INDEX_DIR}/indexes/indexOwner.json")
        );
        assert!(
            p.indexes
                .iter()
                .any(|i| i.collection.as_deref() == Some("priv"))
        );

        // A text index (CouchDB's Lucene kind) is refused, naming the file,
        // whether packaged here or by another tool.
        let bad = vec![(
            format!("{INDEX_DIR}/indexes/bad.json"),
            br#"{"index":{"fields":["a"]},"name":"t","type":"text"}"#.to_vec(),
        )];
        let err = package_with_indexes("marbles_1.0", b"\0asm", &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.json") && err.contains("not supported"),
            "{err}"
        );
        let code = tar_gz(&[
            ("chaincode.wasm", b"\0asm".as_slice()),
            (bad[0].0.as_str(), bad[0].1.as_slice()),
        ])
        .unwrap();
        let crafted = tar_gz(&[
            ("metadata.json", br#"{"type":"wasm","label":"x"}"#),
            ("code.tar.gz", &code),
        ])
        .unwrap();
        assert!(
            parse(&crafted)
                .unwrap_err()
                .to_string()
                .contains("bad.json")
        );
    }
}
