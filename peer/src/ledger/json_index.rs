//! JSON indexes for rich queries, of a namespace's public values or of the
//! private values of one of its collections ([`IndexScope`]): the entries of
//! each index (`weft_chaincode_query::IndexDef::entry`) in the `json_index`
//! column family, under `scope \0 ddoc \0 name \0`, with no value.
//!
//! The definitions are kept in `meta` (`index/<scope>\0<ddoc>\0<name>` →
//! the definition's JSON), so a restarted peer keeps using them. Entries
//! change in the same `WriteBatch` as the values they index (a block's
//! commit, or private data reconciled later), so an index is never behind or
//! ahead of them. Creating an index builds its entries over the current
//! values while commits wait.

use std::collections::HashMap;
use std::sync::RwLock;

use rocksdb::{Direction, IteratorMode, WriteBatch};
use weft_chaincode_query::IndexDef;

use super::{CF_META, CF_PRIVATE, CF_STATE, Ledger, PrivateUpdate, StateUpdate, corrupt, keys};
use crate::PeerError;

/// The column family of index entries.
pub(super) const CF_INDEX: &str = "json_index";

const META_INDEX: &[u8] = b"index/";

/// Documents indexed per write while an index is built.
const BUILD_BATCH: usize = 10_000;

/// What an index covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexScope<'a> {
    /// A namespace's public state.
    Public(&'a str),
    /// The private values this peer holds of a collection of a namespace.
    Private(&'a str, &'a str),
}

impl IndexScope<'_> {
    /// Its name in keys: the namespace, or `namespace$collection` (`$` is in
    /// neither a namespace's nor a collection's name).
    fn id(&self) -> String {
        match self {
            Self::Public(ns) => ns.to_string(),
            Self::Private(ns, coll) => format!("{ns}${coll}"),
        }
    }

    /// The column family of the values and the prefix of their keys.
    fn source(&self) -> (&'static str, Vec<u8>) {
        match self {
            Self::Public(ns) => (CF_STATE, keys::state_key(ns, "")),
            Self::Private(ns, coll) => (CF_PRIVATE, keys::collection_key(ns, coll, b"")),
        }
    }

    /// The value bytes of a stored value.
    fn value<'v>(&self, stored: &'v [u8]) -> Option<&'v [u8]> {
        match self {
            Self::Public(_) => keys::parse_state_value(stored).map(|(_, b)| b),
            Self::Private(..) => Some(stored),
        }
    }
}

/// The indexes of every scope, as defined.
#[derive(Debug, Default)]
pub(super) struct IndexCatalog(RwLock<HashMap<String, Vec<(IndexDef, String)>>>);

impl IndexCatalog {
    fn of(&self, ns: &str) -> Vec<IndexDef> {
        self.0
            .read()
            .expect("index catalog lock")
            .get(ns)
            .map(|defs| defs.iter().map(|(d, _)| d.clone()).collect())
            .unwrap_or_default()
    }

    fn any(&self) -> bool {
        !self.0.read().expect("index catalog lock").is_empty()
    }
}

fn prefix(ns: &str, def: &IndexDef) -> Vec<u8> {
    let mut p = Vec::with_capacity(ns.len() + def.ddoc.len() + def.name.len() + 3);
    for part in [&ns, &def.ddoc.as_str(), &def.name.as_str()] {
        p.extend_from_slice(part.as_bytes());
        p.push(0);
    }
    p
}

fn meta_key(ns: &str, def: &IndexDef) -> Vec<u8> {
    let mut k = META_INDEX.to_vec();
    k.extend_from_slice(&prefix(ns, def));
    k
}

fn parse_value(bytes: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice(bytes)
        .ok()
        .filter(serde_json::Value::is_object)
}

impl Ledger {
    /// Loads the index definitions kept in `meta` (at open).
    pub(super) fn load_indexes(&self) -> Result<(), PeerError> {
        let mut catalog = self.indexes.0.write().expect("index catalog lock");
        let it = self.db.iterator_cf(
            self.cf(CF_META),
            IteratorMode::From(META_INDEX, Direction::Forward),
        );
        for item in it {
            let (k, v) = item?;
            let Some(rest) = k.strip_prefix(META_INDEX) else {
                break;
            };
            let ns = rest
                .split(|b| *b == 0)
                .next()
                .and_then(|n| std::str::from_utf8(n).ok())
                .ok_or_else(|| corrupt("index definition key"))?;
            let text = String::from_utf8(v.to_vec()).map_err(|_| corrupt("index definition"))?;
            let def = IndexDef::parse(&text).map_err(|_| corrupt("index definition"))?;
            catalog.entry(ns.to_string()).or_default().push((def, text));
        }
        Ok(())
    }

    /// The indexes of `ns`'s public values.
    pub fn indexes(&self, ns: &str) -> Vec<IndexDef> {
        self.indexes_in(IndexScope::Public(ns))
    }

    /// The indexes of `scope`.
    pub fn indexes_in(&self, scope: IndexScope<'_>) -> Vec<IndexDef> {
        self.indexes.of(&scope.id())
    }

    /// Defines the index `text` of `scope` unless it is already defined with
    /// this very text (a read-locked check, cheap enough for every
    /// proposal); `Some(documents indexed)` when it was built now.
    pub fn ensure_index(
        &self,
        scope: IndexScope<'_>,
        text: &str,
    ) -> Result<Option<usize>, PeerError> {
        let known = self
            .indexes
            .0
            .read()
            .expect("index catalog lock")
            .get(&scope.id())
            .is_some_and(|defs| defs.iter().any(|(_, t)| t == text));
        if known {
            return Ok(None);
        }
        self.create_index_in(scope, text).map(Some)
    }

    /// Defines an index of `ns`'s public values; see [`Self::create_index_in`].
    pub fn create_index(&self, ns: &str, text: &str) -> Result<usize, PeerError> {
        self.create_index_in(IndexScope::Public(ns), text)
    }

    /// Defines an index of `scope` from its CouchDB definition (`text`) and
    /// builds it over the current values; commits wait until it is built.
    /// Defining the same index again does nothing; a changed definition
    /// under the same name replaces the old one. Returns the documents
    /// indexed.
    pub fn create_index_in(&self, scope: IndexScope<'_>, text: &str) -> Result<usize, PeerError> {
        let def = IndexDef::parse(text)?;
        let ns = scope.id();
        let ns = ns.as_str();
        // Commits take this lock too: none runs while the index is built.
        let _commits = self.info.write().expect("info lock");
        let existing = self
            .indexes
            .0
            .read()
            .expect("index catalog lock")
            .get(ns)
            .and_then(|defs| {
                defs.iter()
                    .find(|(d, _)| d.ddoc == def.ddoc && d.name == def.name)
                    .cloned()
            });
        if let Some((old, old_text)) = &existing {
            if *old == def {
                if old_text != text {
                    // The same index written differently: remember this text.
                    self.db
                        .put_cf(self.cf(CF_META), meta_key(ns, &def), text.as_bytes())?;
                    let mut catalog = self.indexes.0.write().expect("index catalog lock");
                    if let Some(slot) = catalog
                        .get_mut(ns)
                        .and_then(|d| d.iter_mut().find(|(d, _)| *d == def))
                    {
                        slot.1 = text.to_string();
                    }
                }
                return Ok(0);
            }
            self.drop_entries(ns, old)?;
        }
        let started = std::time::Instant::now();
        let p = prefix(ns, &def);
        let mut batch = WriteBatch::default();
        let (mut indexed, mut in_batch) = (0usize, 0usize);
        let (cf, source) = scope.source();
        let mut from = source.clone();
        loop {
            let mut last = None;
            let it = self
                .db
                .iterator_cf(self.cf(cf), IteratorMode::From(&from, Direction::Forward));
            for item in it.take(BUILD_BATCH) {
                let (k, v) = item?;
                let Some(key) = k.strip_prefix(source.as_slice()) else {
                    break;
                };
                let key = std::str::from_utf8(key).map_err(|_| corrupt("index source key"))?;
                let bytes = scope
                    .value(&v)
                    .ok_or_else(|| corrupt("index source value"))?;
                if let Some(entry) = parse_value(bytes).and_then(|doc| def.entry(key, &doc)) {
                    let mut ik = p.clone();
                    ik.extend_from_slice(&entry);
                    batch.put_cf(self.cf(CF_INDEX), ik, []);
                    indexed += 1;
                    in_batch += 1;
                }
                last = Some(k.to_vec());
            }
            let Some(mut last) = last else { break };
            if in_batch >= BUILD_BATCH {
                self.db.write(std::mem::take(&mut batch))?;
                in_batch = 0;
                tracing::info!(
                    scope = ns,
                    index = %format!("{}/{}", def.ddoc, def.name),
                    "building index: {indexed} documents so far"
                );
            }
            last.push(0);
            from = last;
        }
        batch.put_cf(self.cf(CF_META), meta_key(ns, &def), text.as_bytes());
        self.db.write(batch)?;
        let mut catalog = self.indexes.0.write().expect("index catalog lock");
        let defs = catalog.entry(ns.to_string()).or_default();
        defs.retain(|(d, _)| !(d.ddoc == def.ddoc && d.name == def.name));
        defs.push((def.clone(), text.to_string()));
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(
            scope = ns,
            index = %format!("{}/{}", def.ddoc, def.name),
            "index built: {indexed} documents in {secs:.2} s ({:.0} documents/s)",
            indexed as f64 / secs.max(1e-9)
        );
        Ok(indexed)
    }

    fn drop_entries(&self, ns: &str, def: &IndexDef) -> Result<(), PeerError> {
        let p = prefix(ns, def);
        let mut end = p.clone();
        *end.last_mut().expect("a prefix ends with 0") = 1;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(CF_INDEX), &p, &end);
        batch.delete_cf(self.cf(CF_META), meta_key(ns, def));
        self.db.write(batch)?;
        Ok(())
    }

    /// The document keys of index `def` of `scope` whose entries lie in
    /// `[start, end)` (`end` empty: to the index's end), in index order, at
    /// most `limit`.
    pub fn index_keys(
        &self,
        scope: IndexScope<'_>,
        def: &IndexDef,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<String>, PeerError> {
        let p = prefix(&scope.id(), def);
        let mut from = p.clone();
        from.extend_from_slice(start);
        let upper = if end.is_empty() {
            let mut u = p.clone();
            *u.last_mut().expect("a prefix ends with 0") = 1;
            u
        } else {
            let mut u = p.clone();
            u.extend_from_slice(end);
            u
        };
        let mut out = Vec::new();
        let it = self.db.iterator_cf(
            self.cf(CF_INDEX),
            IteratorMode::From(&from, Direction::Forward),
        );
        for item in it {
            let (k, _) = item?;
            if *k >= *upper || out.len() >= limit {
                break;
            }
            let key = def
                .key_of(&k[p.len()..])
                .ok_or_else(|| corrupt("index entry"))?;
            out.push(key);
        }
        Ok(out)
    }

    /// Adds to `batch` the index changes of a block's state updates.
    pub(super) fn batch_index_updates(
        &self,
        batch: &mut WriteBatch,
        updates: &[StateUpdate],
    ) -> Result<(), PeerError> {
        self.batch_index_changes(
            batch,
            updates.iter().map(|u| {
                (
                    IndexScope::Public(&u.namespace),
                    u.key.as_str(),
                    u.value.as_deref(),
                )
            }),
        )
    }

    /// Adds to `batch` the index changes of private values written.
    pub(super) fn batch_private_index_updates(
        &self,
        batch: &mut WriteBatch,
        updates: &[PrivateUpdate],
    ) -> Result<(), PeerError> {
        self.batch_index_changes(
            batch,
            updates.iter().map(|u| {
                (
                    IndexScope::Private(&u.namespace, &u.collection),
                    u.key.as_str(),
                    u.value.as_deref(),
                )
            }),
        )
    }

    /// Adds to `batch` the index changes of writes (`None`: a delete), in
    /// order: the entries of each key's value before them go, those of its
    /// value after them come.
    fn batch_index_changes<'u>(
        &self,
        batch: &mut WriteBatch,
        writes: impl Iterator<Item = (IndexScope<'u>, &'u str, Option<&'u [u8]>)>,
    ) -> Result<(), PeerError> {
        if !self.indexes.any() {
            return Ok(());
        }
        let catalog = self.indexes.0.read().expect("index catalog lock");
        type Doc = Option<serde_json::Value>;
        let mut before: HashMap<(String, &str), Doc> = HashMap::new();
        let mut after: HashMap<(String, &str), Doc> = HashMap::new();
        for (scope, key, value) in writes {
            let id = scope.id();
            if !catalog.contains_key(&id) {
                continue;
            }
            let slot = (id, key);
            if !before.contains_key(&slot) {
                let (cf, mut k) = scope.source();
                k.extend_from_slice(key.as_bytes());
                let old = self
                    .db
                    .get_cf(self.cf(cf), &k)?
                    .and_then(|v| scope.value(&v).and_then(parse_value));
                before.insert(slot.clone(), old);
            }
            after.insert(slot, value.and_then(parse_value));
        }
        for ((id, key), new) in &after {
            let old = &before[&(id.clone(), *key)];
            for (def, _) in &catalog[id] {
                let p = prefix(id, def);
                let old_entry = old.as_ref().and_then(|d| def.entry(key, d));
                let new_entry = new.as_ref().and_then(|d| def.entry(key, d));
                if old_entry == new_entry {
                    continue;
                }
                if let Some(e) = old_entry {
                    batch.delete_cf(self.cf(CF_INDEX), [p.as_slice(), &e].concat());
                }
                if let Some(e) = new_entry {
                    batch.put_cf(self.cf(CF_INDEX), [p.as_slice(), &e].concat(), []);
                }
            }
        }
        Ok(())
    }
}
