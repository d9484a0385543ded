//! Channel config messages encoded byte for byte as Fabric's Go code writes
//! them, so that a config weft builds is the config `configtxgen` or
//! `configtxlator` builds from the same inputs.
//!
//! Go's protobuf and prost differ in one place that configs use: a map
//! entry. Go always writes both the key and the value of an entry; prost
//! leaves out a default one, so an empty message value — every `Capability`
//! of a `Capabilities` map, an empty `ConfigGroup` in an update's read set —
//! comes out two bytes shorter (`12 00`). Everything else (scalars, bytes,
//! message fields, field order) is encoded alike, so only the messages that
//! hold such maps, and the messages that hold those, are written here.
//!
//! Map entries are written in key order. Go writes them in its maps' random
//! iteration order, so two runs of `configtxgen` differ from each other too;
//! sorted order is one of Go's orders and the reproducible one.

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};
use weft_protos::common::{
    Capabilities, Config, ConfigEnvelope, ConfigGroup, ConfigUpdate, Envelope,
};

fn put_len_delimited(tag: u32, bytes: &[u8], buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(bytes.len() as u64, buf);
    buf.extend_from_slice(bytes);
}

fn put_string(tag: u32, s: &str, buf: &mut Vec<u8>) {
    if !s.is_empty() {
        put_len_delimited(tag, s.as_bytes(), buf);
    }
}

fn put_u64(tag: u32, v: u64, buf: &mut Vec<u8>) {
    if v != 0 {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(v, buf);
    }
}

/// A map entry as Go writes it: key (field 1) and value (field 2), both always.
fn put_entry(tag: u32, key: &str, value: &[u8], buf: &mut Vec<u8>) {
    let key_len = 1 + encoded_len_varint(key.len() as u64) + key.len();
    let value_len = 1 + encoded_len_varint(value.len() as u64) + value.len();
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint((key_len + value_len) as u64, buf);
    put_len_delimited(1, key.as_bytes(), buf);
    put_len_delimited(2, value, buf);
}

/// `common.Capabilities`.
pub fn capabilities(c: &Capabilities) -> Vec<u8> {
    let mut buf = Vec::new();
    for (name, capability) in &c.capabilities {
        put_entry(1, name, &capability.encode_to_vec(), &mut buf);
    }
    buf
}

/// `common.ConfigGroup`, with its groups, values and policies.
pub fn config_group(g: &ConfigGroup) -> Vec<u8> {
    let mut buf = Vec::new();
    put_u64(1, g.version, &mut buf);
    for (name, group) in &g.groups {
        put_entry(2, name, &config_group(group), &mut buf);
    }
    for (name, value) in &g.values {
        put_entry(3, name, &value.encode_to_vec(), &mut buf);
    }
    for (name, policy) in &g.policies {
        put_entry(4, name, &policy.encode_to_vec(), &mut buf);
    }
    put_string(5, &g.mod_policy, &mut buf);
    buf
}

/// `common.Config`.
pub fn config(c: &Config) -> Vec<u8> {
    let mut buf = Vec::new();
    put_u64(1, c.sequence, &mut buf);
    if let Some(g) = &c.channel_group {
        put_len_delimited(2, &config_group(g), &mut buf);
    }
    buf
}

/// `common.ConfigEnvelope` (a CONFIG transaction's payload data).
pub fn config_envelope(c: &ConfigEnvelope) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(cfg) = &c.config {
        put_len_delimited(1, &config(cfg), &mut buf);
    }
    if let Some(update) = &c.last_update {
        put_len_delimited(2, &Envelope::encode_to_vec(update), &mut buf);
    }
    buf
}

/// `common.ConfigUpdate` (the bytes a config update's signatures cover).
pub fn config_update(u: &ConfigUpdate) -> Vec<u8> {
    let mut buf = Vec::new();
    put_string(1, &u.channel_id, &mut buf);
    if let Some(g) = &u.read_set {
        put_len_delimited(2, &config_group(g), &mut buf);
    }
    if let Some(g) = &u.write_set {
        put_len_delimited(3, &config_group(g), &mut buf);
    }
    for (name, data) in &u.isolated_data {
        put_entry(5, name, data, &mut buf);
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_protos::common::{Capability, ConfigPolicy, ConfigValue};

    #[test]
    fn an_empty_capability_is_written_as_go_writes_it() {
        let c = Capabilities {
            capabilities: [("V3_0".to_string(), Capability {})].into(),
        };
        // Entry: key "V3_0", then the empty value Go keeps and prost drops.
        let go = [0x0a, 0x08, 0x0a, 0x04, b'V', b'3', b'_', b'0', 0x12, 0x00];
        assert_eq!(capabilities(&c), go);
        // prost's entry is two bytes shorter; both decode to the same message.
        let prost = [0x0a, 0x06, 0x0a, 0x04, b'V', b'3', b'_', b'0'];
        assert_eq!(c.encode_to_vec(), prost);
        assert_eq!(Capabilities::decode(go.as_slice()).unwrap(), c);
    }

    fn group(n: u64) -> ConfigGroup {
        ConfigGroup {
            version: n,
            groups: Default::default(),
            values: [(
                "V".to_string(),
                ConfigValue {
                    version: n,
                    value: vec![1, 2],
                    mod_policy: "Admins".into(),
                },
            )]
            .into(),
            policies: [(
                "P".to_string(),
                ConfigPolicy {
                    version: 0,
                    policy: None,
                    mod_policy: "Admins".into(),
                },
            )]
            .into(),
            mod_policy: "Admins".into(),
        }
    }

    #[test]
    fn configs_round_trip_and_differ_from_prost_only_in_empty_entries() {
        let mut top = group(1);
        top.groups.insert("Full".into(), group(2));
        top.groups.insert("Empty".into(), ConfigGroup::default());
        let update = ConfigUpdate {
            channel_id: "ch".into(),
            read_set: Some(top.clone()),
            write_set: Some(group(3)),
            isolated_data: [("k".to_string(), vec![])].into(),
        };
        let bytes = config_update(&update);
        assert_eq!(ConfigUpdate::decode(bytes.as_slice()).unwrap(), update);
        // The empty group and the empty isolated datum each cost Go 2 bytes more.
        assert_eq!(bytes.len(), update.encode_to_vec().len() + 4);

        // Without empty entries, the bytes are prost's.
        top.groups.remove("Empty");
        let env = ConfigEnvelope {
            config: Some(Config {
                sequence: 7,
                channel_group: Some(top),
            }),
            last_update: Some(Envelope {
                payload: vec![9],
                signature: vec![8],
            }),
        };
        assert_eq!(config_envelope(&env), env.encode_to_vec());
    }
}
