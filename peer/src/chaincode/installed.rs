//! Chaincode packages installed on this peer: kept as files under the peer's
//! data directory (`chaincodes/<package id>.tar.gz`), checked and compiled at
//! install, and compiled again (from the runtime's disk cache) at start.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::runtime::{ChaincodeRuntime, CompiledChaincode};
use crate::PeerError;
use crate::package;

/// One installed package.
#[derive(Debug, Clone)]
pub struct Installed {
    /// `label:sha256`.
    pub package_id: String,
    /// The label it was packaged with.
    pub label: String,
    /// The compiled module.
    pub compiled: Arc<CompiledChaincode>,
    /// Its rich-query index definitions.
    pub indexes: Arc<Vec<package::PackagedIndex>>,
}

impl Installed {
    /// Makes sure `ledger` has this package's indexes of namespace `ns`'s
    /// public state and private collections (called after each commit for
    /// the defined chaincodes, and at install; built once, then kept up to
    /// date by every commit). A failure is logged; queries then scan.
    pub fn apply_indexes(&self, ledger: &crate::ledger::Ledger, ns: &str) {
        for index in self.indexes.iter() {
            let scope = match &index.collection {
                None => crate::ledger::IndexScope::Public(ns),
                Some(c) => crate::ledger::IndexScope::Private(ns, c),
            };
            if let Err(e) = ledger.ensure_index(scope, &index.definition) {
                tracing::warn!(
                    package_id = %self.package_id,
                    file = %index.file,
                    "index not built: {e}"
                );
            }
        }
    }
}

/// The packages installed on this peer.
pub struct InstalledChaincodes {
    dir: PathBuf,
    runtime: Arc<ChaincodeRuntime>,
    by_id: RwLock<BTreeMap<String, Installed>>,
}

impl std::fmt::Debug for InstalledChaincodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstalledChaincodes")
            .field("dir", &self.dir)
            .finish()
    }
}

fn file_name(package_id: &str) -> String {
    // Labels use only letters, digits and . _ + -; the id adds ':' and hex.
    format!("{}.tar.gz", package_id.replace(':', "."))
}

impl InstalledChaincodes {
    /// Opens the store in `dir`, loading every package found there.
    pub fn open(dir: PathBuf, runtime: Arc<ChaincodeRuntime>) -> Result<Self, PeerError> {
        std::fs::create_dir_all(&dir).map_err(PeerError::file(&dir))?;
        let store = Self {
            dir: dir.clone(),
            runtime,
            by_id: RwLock::new(BTreeMap::new()),
        };
        let entries = std::fs::read_dir(&dir).map_err(PeerError::file(&dir))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.to_string_lossy().ends_with(".tar.gz") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(PeerError::file(&path))?;
            match store.add(&bytes) {
                Ok(i) => tracing::info!(package_id = %i.package_id, "loaded installed chaincode"),
                Err(e) => tracing::warn!(file = %path.display(), "skipping installed package: {e}"),
            }
        }
        Ok(store)
    }

    fn add(&self, bytes: &[u8]) -> Result<Installed, PeerError> {
        let parsed = package::parse(bytes)?;
        let package_id = package::package_id(&parsed.label, bytes);
        let compiled = self.runtime.load(&parsed.wasm)?;
        let installed = Installed {
            package_id: package_id.clone(),
            label: parsed.label,
            compiled,
            indexes: Arc::new(parsed.indexes),
        };
        self.by_id
            .write()
            .expect("installed lock")
            .insert(package_id, installed.clone());
        Ok(installed)
    }

    /// Installs a package: checks and compiles its module, then keeps the
    /// package. Installing the same package again is refused, as in Fabric.
    pub fn install(&self, bytes: &[u8]) -> Result<Installed, PeerError> {
        let parsed = package::parse(bytes)?;
        let package_id = package::package_id(&parsed.label, bytes);
        if self.get(&package_id).is_some() {
            return Err(PeerError::InvalidChaincode(format!(
                "chaincode already successfully installed (package ID '{package_id}')"
            )));
        }
        let installed = self.add(bytes)?;
        let path = self.dir.join(file_name(&package_id));
        let tmp = path.with_extension("partial");
        if let Err(e) = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, &path)) {
            // Not kept, so not installed: a restart would not find it either.
            self.by_id
                .write()
                .expect("installed lock")
                .remove(&package_id);
            return Err(PeerError::Runtime(format!(
                "cannot store {}: {e}",
                path.display()
            )));
        }
        Ok(installed)
    }

    /// An installed package.
    pub fn get(&self, package_id: &str) -> Option<Installed> {
        self.by_id
            .read()
            .expect("installed lock")
            .get(package_id)
            .cloned()
    }

    /// Every installed package, by id.
    pub fn list(&self) -> Vec<Installed> {
        self.by_id
            .read()
            .expect("installed lock")
            .values()
            .cloned()
            .collect()
    }

    /// The package's bytes as installed.
    pub fn package_bytes(&self, package_id: &str) -> Result<Option<Vec<u8>>, PeerError> {
        if self.get(package_id).is_none() {
            return Ok(None);
        }
        let path = self.dir.join(file_name(package_id));
        std::fs::read(&path)
            .map(Some)
            .map_err(PeerError::file(&path))
    }

    /// The runtime the packages are compiled for.
    pub fn runtime(&self) -> &Arc<ChaincodeRuntime> {
        &self.runtime
    }
}
