//! A node's YAML file written from Fabric's dotted key names
//! (`peer.tls.cert.file`, the names its env overrides use), each checked
//! against the node's [`KeyTable`]: how tests and `weft-network` give nodes
//! their files, without YAML assembled by hand.

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use super::config_file::KeyTable;
use crate::CommonError;

/// A node file being written.
#[derive(Debug, Clone)]
pub struct NodeYaml {
    keys: &'static KeyTable,
    root: Mapping,
    refused: Vec<String>,
}

impl NodeYaml {
    /// An empty file for a node whose keys are `keys`.
    pub fn new(keys: &'static KeyTable) -> Self {
        Self {
            keys,
            root: Mapping::new(),
            refused: Vec::new(),
        }
    }

    /// Sets `key` (dotted, in any case, as Fabric names it) to `value`. A key
    /// the node does not read is remembered and refused by [`Self::to_yaml`].
    pub fn set(mut self, key: &str, value: impl Serialize) -> Self {
        if !self.keys.is_weft(&key.to_ascii_lowercase()) {
            self.refused.push(key.to_string());
            return self;
        }
        let value = match serde_yaml_ng::to_value(value) {
            Ok(v) => v,
            Err(e) => {
                self.refused.push(format!("{key} ({e})"));
                return self;
            }
        };
        let mut parts: Vec<&str> = key.split('.').collect();
        let leaf = parts.pop().unwrap_or(key);
        let mut map = &mut self.root;
        for part in parts {
            let entry = map
                .entry(Value::from(part))
                .or_insert_with(|| Value::Mapping(Mapping::new()));
            if !entry.is_mapping() {
                *entry = Value::Mapping(Mapping::new());
            }
            map = entry.as_mapping_mut().expect("just made a mapping");
        }
        map.insert(Value::from(leaf), value);
        self
    }

    /// The file's text, or which keys the node would not read.
    pub fn to_yaml(&self) -> Result<String, CommonError> {
        if !self.refused.is_empty() {
            let named: Vec<String> = self
                .refused
                .iter()
                .map(|k| match self.keys.nearest(&k.to_ascii_lowercase()) {
                    Some(n) => format!("{k} (did you mean {n}?)"),
                    None => k.clone(),
                })
                .collect();
            return Err(CommonError::NodeConfig(format!(
                "keys the node does not read: {}",
                named.join(", ")
            )));
        }
        serde_yaml_ng::to_string(&self.root).map_err(|e| CommonError::NodeConfig(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static KEYS: KeyTable = KeyTable {
        weft: &[
            "peer.id",
            "peer.tls.cert.file",
            "peer.tls.enabled",
            "peer.gateway.peers",
        ],
        fabric: &["vm.*"],
    };

    #[test]
    fn dotted_keys_nest_and_read_back() {
        let text = NodeYaml::new(&KEYS)
            .set("peer.id", "peer0")
            .set("peer.tls.enabled", true)
            .set("peer.tls.cert.file", std::path::Path::new("/x/server.crt"))
            .set(
                "peer.gateway.peers",
                [std::collections::BTreeMap::from([("MSPID", "Org2MSP")])],
            )
            .to_yaml()
            .unwrap();
        let v: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(v["peer"]["id"], Value::from("peer0"));
        assert_eq!(v["peer"]["tls"]["enabled"], Value::from(true));
        assert_eq!(
            v["peer"]["tls"]["cert"]["file"],
            Value::from("/x/server.crt")
        );
        assert_eq!(
            v["peer"]["gateway"]["peers"][0]["MSPID"],
            Value::from("Org2MSP")
        );
    }

    #[test]
    fn a_key_the_node_does_not_read_is_refused_with_the_nearest() {
        let e = NodeYaml::new(&KEYS)
            .set("peer.id", "peer0")
            .set("peer.tls.enabeld", true)
            .set("vm.endpoint", "x")
            .to_yaml()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("peer.tls.enabeld (did you mean peer.tls.enabled?)"),
            "{e}"
        );
        assert!(
            e.contains("vm.endpoint"),
            "a Fabric key weft ignores is not written: {e}"
        );
    }
}
