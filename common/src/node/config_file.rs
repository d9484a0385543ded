//! Reading a node's YAML file the way Fabric's nodes read theirs, so that an
//! operator's `core.yaml` or `orderer.yaml` from Fabric works unchanged:
//!
//! - keys are compared case-insensitively (Fabric's Viper lowercases them):
//!   `Peer.ListenAddress` and `peer.listenAddress` are one key;
//! - an environment variable named after a key's path overrides it, whether
//!   or not the file has it (`CORE_PEER_TLS_CERT_FILE`, `ORDERER_GENERAL_LISTENPORT`);
//! - each key is one of three kinds ([`KeyTable`]): a key weft reads; a key of
//!   Fabric's that weft does not implement, which is dropped with one warning
//!   each (returned as [`ConfigFile::ignored`]); or neither — a typo — which
//!   is refused, naming the file, the key and the nearest known key.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde_yaml_ng::{Mapping, Value};

use crate::CommonError;

/// The keys of one kind of node file, as lowercase dotted paths.
#[derive(Debug, Clone, Copy)]
pub struct KeyTable {
    /// Keys weft reads. A key whose value is a list or a scalar is a leaf;
    /// weft does not look inside lists.
    pub weft: &'static [&'static str],
    /// Keys Fabric's node reads and weft does not. An entry `a.b.*` covers
    /// every key below `a.b` (sections whose keys are free-form, such as
    /// `vm.docker.hostConfig`).
    pub fabric: &'static [&'static str],
}

/// Why a key was set but not used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IgnoredKey {
    /// The key's path as weft compares it (lowercase, dotted).
    pub key: String,
    /// Where it was set: the file's name, or the environment variable.
    pub source: String,
}

impl std::fmt::Display for IgnoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (from {})", self.key, self.source)
    }
}

/// A parsed file and the Fabric keys in it that weft ignored.
#[derive(Debug, Clone)]
pub struct ConfigFile<T> {
    /// The settings weft uses.
    pub config: T,
    /// Fabric keys that were set (in the file or the environment) and that
    /// weft does not implement; the node logs one warning for each.
    pub ignored: Vec<IgnoredKey>,
}

impl<T> ConfigFile<T> {
    /// Logs one warning per ignored key (what a node does at start).
    pub fn warn_ignored(&self, node: &str) {
        for k in &self.ignored {
            tracing::warn!(
                key = %k.key,
                source = %k.source,
                "{node}: this Fabric setting is not implemented by weft and is ignored"
            );
        }
    }
}

/// A node's file from disk: its text, and the directory its relative paths
/// start from (the file's own).
pub fn read_file(path: &std::path::Path) -> Result<(String, std::path::PathBuf), CommonError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| cfg_err(&path.display().to_string(), e))?;
    let base = path.parent().map_or_else(
        || std::path::PathBuf::from("."),
        std::path::Path::to_path_buf,
    );
    Ok((text, base))
}

/// Where a node's file is when no `--config` is given: in the directory
/// named by `FABRIC_CFG_PATH` (Fabric's variable), else the current one.
pub fn default_path(file: &str) -> std::path::PathBuf {
    match std::env::var_os("FABRIC_CFG_PATH") {
        Some(dir) if !dir.is_empty() => std::path::Path::new(&dir).join(file),
        _ => std::path::PathBuf::from(file),
    }
}

fn cfg_err(file: &str, reason: impl std::fmt::Display) -> CommonError {
    CommonError::NodeConfig(format!("{file}: {reason}"))
}

impl KeyTable {
    pub(crate) fn is_weft(&self, key: &str) -> bool {
        self.weft.contains(&key)
    }

    /// A Fabric key weft ignores, or a key inside one of Fabric's free-form
    /// sections (`a.b.*`).
    fn is_fabric(&self, key: &str) -> bool {
        self.fabric.iter().any(|f| match f.strip_suffix(".*") {
            Some(section) => key == section || is_below(key, section),
            None => *f == key,
        })
    }

    /// A section that holds keys of either kind (`peer`, `peer.tls`, `vm.docker`).
    fn is_section(&self, key: &str) -> bool {
        self.weft
            .iter()
            .chain(self.fabric.iter())
            .any(|k| is_below(k.trim_end_matches(".*"), key))
    }

    /// The known key closest to `key`, for "did you mean".
    pub(crate) fn nearest(&self, key: &str) -> Option<&'static str> {
        self.weft
            .iter()
            .chain(self.fabric.iter().filter(|f| !f.ends_with(".*")))
            .map(|k| (strsim::jaro_winkler(k, key), *k))
            .filter(|(score, _)| *score > 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k)
    }

    /// Entries that contradict each other: a Fabric entry that is a weft key,
    /// or a section holding one (the crates' tests assert there are none).
    pub fn conflicts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in self.fabric {
            let section = f.trim_end_matches(".*");
            for w in self.weft {
                if *w == section || is_below(w, section) {
                    out.push(format!("Fabric entry '{f}' covers weft key '{w}'"));
                }
            }
        }
        out
    }

    /// The environment variable that sets `key` (`CORE_PEER_TLS_CERT_FILE`).
    fn env_name(prefix: &str, key: &str) -> String {
        format!("{prefix}_{}", key.replace('.', "_").to_ascii_uppercase())
    }
}

/// Lowercases every mapping key below `value`; two keys that differ only in
/// case are an error (Fabric would silently keep one of them).
fn lowercase_keys(value: Value, path: &str, file: &str) -> Result<Value, CommonError> {
    match value {
        Value::Mapping(map) => {
            let mut out = Mapping::new();
            for (k, v) in map {
                let Some(name) = k.as_str().map(str::to_ascii_lowercase) else {
                    return Err(cfg_err(
                        file,
                        format!("a key under '{path}' is not a string: {k:?}"),
                    ));
                };
                let child = join(path, &name);
                let v = lowercase_keys(v, &child, file)?;
                if out.insert(Value::String(name), v).is_some() {
                    return Err(cfg_err(
                        file,
                        format!("key '{child}' is given twice (keys are not case-sensitive)"),
                    ));
                }
            }
            Ok(Value::Mapping(out))
        }
        other => Ok(other),
    }
}

/// Whether `key` lies below `section` (`peer.tls.enabled` below `peer.tls`).
fn is_below(key: &str, section: &str) -> bool {
    key.len() > section.len() && key.starts_with(section) && key.as_bytes()[section.len()] == b'.'
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Sets `key` (a dotted path) in `root`, creating sections as needed.
fn set_key(root: &mut Value, key: &str, value: Value) {
    let mut node = root;
    let mut segments = key.split('.').peekable();
    while let Some(seg) = segments.next() {
        if !node.is_mapping() {
            *node = Value::Mapping(Mapping::new());
        }
        let map = node.as_mapping_mut().expect("made a mapping above");
        let k = Value::String(seg.to_string());
        if segments.peek().is_none() {
            map.insert(k, value);
            return;
        }
        node = map.entry(k).or_insert(Value::Null);
    }
}

/// An environment value as YAML (`true`, `7050`, `[a, b]`), else the string itself.
fn env_value(raw: &str) -> Value {
    serde_yaml_ng::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// Walks the tree, removing Fabric keys (recorded in `ignored`) and empty
/// sections, and collecting keys that are neither weft's nor Fabric's.
fn sort_keys(
    node: &mut Value,
    path: &str,
    keys: &KeyTable,
    file: &str,
    ignored: &mut BTreeSet<IgnoredKey>,
    unknown: &mut Vec<String>,
) {
    let Some(map) = node.as_mapping_mut() else {
        return;
    };
    let names: Vec<String> = map
        .keys()
        .filter_map(|k| k.as_str().map(String::from))
        .collect();
    for name in names {
        let key = join(path, &name);
        let k = Value::String(name);
        let child = map.get_mut(&k).expect("key listed above");
        if keys.is_weft(&key) {
            continue;
        }
        if keys.is_fabric(&key) {
            collect_leaves(child, &key, &mut |leaf| {
                ignored.insert(IgnoredKey {
                    key: leaf,
                    source: file.to_string(),
                });
            });
            map.remove(&k);
            continue;
        }
        if keys.is_section(&key) {
            if child.is_mapping() {
                sort_keys(child, &key, keys, file, ignored, unknown);
            }
            // A section left empty (`peer.gateway:` with nothing below, or
            // only Fabric keys weft ignores) sets nothing.
            if child.is_null() || child.as_mapping().is_some_and(Mapping::is_empty) {
                map.remove(&k);
                continue;
            }
            if !child.is_mapping() {
                unknown.push(format!("{key} (a section, not a value)"));
            }
            continue;
        }
        // Every key below an unknown section is unknown too: name each.
        collect_all_leaves(child, &key, unknown);
    }
}

/// Every leaf path at or below `node`, set or empty.
fn collect_all_leaves(node: &Value, path: &str, out: &mut Vec<String>) {
    match node.as_mapping() {
        Some(map) if !map.is_empty() => {
            for (k, v) in map {
                if let Some(name) = k.as_str() {
                    collect_all_leaves(v, &join(path, name), out);
                }
            }
        }
        _ => out.push(path.to_string()),
    }
}

/// Calls `f` with the path of every leaf at or below `node` that has a value
/// (a key left empty, as Fabric's sample files leave many, sets nothing).
fn collect_leaves(node: &Value, path: &str, f: &mut dyn FnMut(String)) {
    match node {
        Value::Mapping(map) => {
            for (k, v) in map {
                if let Some(name) = k.as_str() {
                    collect_leaves(v, &join(path, name), f);
                }
            }
        }
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        Value::Sequence(s) if s.is_empty() => {}
        _ => f(path.to_string()),
    }
}

/// Parses a node's YAML file: keys compared case-insensitively, `PREFIX_*`
/// environment variables applied by key path, Fabric's unimplemented keys
/// dropped (and reported), unknown keys refused. `file` names the file in
/// errors and warnings.
pub fn read_config<T: DeserializeOwned>(
    text: &str,
    file: &str,
    prefix: &str,
    keys: &KeyTable,
    env: impl Iterator<Item = (String, String)>,
) -> Result<ConfigFile<T>, CommonError> {
    let parsed: Value = serde_yaml_ng::from_str(text).map_err(|e| cfg_err(file, e))?;
    let mut tree = match parsed {
        Value::Null => Value::Mapping(Mapping::new()),
        v @ Value::Mapping(_) => lowercase_keys(v, "", file)?,
        _ => return Err(cfg_err(file, "the file must be a YAML mapping of sections")),
    };

    // Environment variables by the key they name (Viper's rule: the key's
    // path, dots as underscores, with the node's prefix).
    let mut by_env: BTreeMap<String, (&'static str, bool)> = BTreeMap::new();
    for k in keys.fabric.iter().filter(|k| !k.ends_with(".*")) {
        by_env.insert(KeyTable::env_name(prefix, k), (k, false));
    }
    for k in keys.weft {
        by_env.insert(KeyTable::env_name(prefix, k), (k, true));
    }
    let mut ignored = BTreeSet::new();
    for (name, raw) in env {
        match by_env.get(name.as_str()) {
            Some((key, true)) => set_key(&mut tree, key, env_value(&raw)),
            Some((key, false)) => {
                ignored.insert(IgnoredKey {
                    key: key.to_string(),
                    source: name,
                });
            }
            // Not a node setting (the CLI's variables share the prefix).
            None => {}
        }
    }

    let mut unknown = Vec::new();
    sort_keys(&mut tree, "", keys, file, &mut ignored, &mut unknown);
    if !unknown.is_empty() {
        let list: Vec<String> = unknown
            .iter()
            .map(|k| match keys.nearest(k) {
                Some(near) => format!("'{k}' (did you mean '{near}'?)"),
                None => format!("'{k}'"),
            })
            .collect();
        return Err(cfg_err(
            file,
            format!(
                "unknown key {} — neither a weft nor a Fabric setting",
                list.join(", ")
            ),
        ));
    }
    let config = serde_yaml_ng::from_value(tree).map_err(|e| cfg_err(file, e))?;
    Ok(ConfigFile {
        config,
        ignored: ignored.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase", deny_unknown_fields)]
    struct File {
        peer: Peer,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase", deny_unknown_fields)]
    struct Peer {
        listenaddress: String,
        #[serde(default)]
        tls: Tls,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename_all = "lowercase", deny_unknown_fields)]
    struct Tls {
        #[serde(default)]
        enabled: Option<bool>,
        #[serde(default)]
        cert: Option<File1>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase", deny_unknown_fields)]
    struct File1 {
        file: String,
    }

    const KEYS: KeyTable = KeyTable {
        weft: &[
            "peer.listenaddress",
            "peer.tls.enabled",
            "peer.tls.cert.file",
        ],
        fabric: &[
            "peer.gossip.bootstrap",
            "peer.tls.rootcert.file",
            "vm.docker.hostconfig.*",
            "vm.endpoint",
        ],
    };

    fn read(text: &str, env: &[(&str, &str)]) -> Result<ConfigFile<File>, CommonError> {
        read_config(
            text,
            "core.yaml",
            "CORE",
            &KEYS,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn keys_are_not_case_sensitive() {
        let c = read(
            "Peer:\n  ListenAddress: a:1\n  TLS: { Enabled: true }\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.config.peer.listenaddress, "a:1");
        assert_eq!(c.config.peer.tls.enabled, Some(true));
        let err = read("peer:\n  listenAddress: a\n  ListenAddress: b\n", &[]).unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
    }

    #[test]
    fn fabric_keys_are_ignored_and_reported_even_in_free_form_sections() {
        let c = read(
            "peer:\n  listenAddress: a:1\n  gossip: { bootstrap: x:1 }\n  tls: { rootcert: { file: ca.pem } }\n\
             vm:\n  endpoint: unix:///x\n  docker: { hostConfig: { NetworkMode: host, LogConfig: { Type: json } } }\n",
            &[("CORE_PEER_GOSSIP_BOOTSTRAP", "y:2")],
        )
        .unwrap();
        let ignored: Vec<String> = c.ignored.iter().map(|k| k.to_string()).collect();
        assert_eq!(
            ignored,
            [
                "peer.gossip.bootstrap (from CORE_PEER_GOSSIP_BOOTSTRAP)",
                "peer.gossip.bootstrap (from core.yaml)",
                "peer.tls.rootcert.file (from core.yaml)",
                "vm.docker.hostconfig.logconfig.type (from core.yaml)",
                "vm.docker.hostconfig.networkmode (from core.yaml)",
                "vm.endpoint (from core.yaml)",
            ]
        );
    }

    #[test]
    fn typos_are_refused_with_the_nearest_key() {
        let err = read("peer:\n  listenAdress: a:1\n", &[]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("core.yaml: unknown key 'peer.listenadress'"),
            "{msg}"
        );
        assert!(msg.contains("did you mean 'peer.listenaddress'"), "{msg}");
        let err = read("peer:\n  listenAddress: a:1\nvm:\n  endpont: x\n", &[]).unwrap_err();
        assert!(err.to_string().contains("'vm.endpont'"), "{err}");
    }

    #[test]
    fn environment_sets_keys_the_file_lacks() {
        let c = read(
            "peer: { listenAddress: a:1 }",
            &[
                ("CORE_PEER_TLS_CERT_FILE", "/x/server.crt"),
                ("CORE_PEER_TLS_ENABLED", "false"),
                ("CORE_PEER_ADDRESS", "ignored: not a node key"),
            ],
        )
        .unwrap();
        assert_eq!(c.config.peer.tls.cert.unwrap().file, "/x/server.crt");
        assert_eq!(c.config.peer.tls.enabled, Some(false));
        assert!(c.ignored.is_empty());
    }

    #[test]
    fn empty_sections_are_fine() {
        let c = read("peer:\n  listenAddress: a:1\n  tls:\nvm:\n", &[]).unwrap();
        assert_eq!(c.config.peer.tls, Tls::default());
    }
}
