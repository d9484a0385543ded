//! Config updates: computing one from two configs (like `configtxlator
//! compute_update`) and validating and applying one (like Fabric's configtx
//! validator).
//!
//! Validation, in Fabric's order:
//! 1. the update names this channel;
//! 2. every element of the read set exists in the current config at that version;
//! 3. the delta is every write-set element whose version differs from the read set;
//! 4. each delta element that exists must be at current version + 1 and its
//!    `mod_policy` (in the current config) must be satisfied by the update's
//!    signatures; a new element must have version 0 (its parent's version bump,
//!    itself in the delta, is what authorises it);
//! 5. the new config is the current one with the delta applied; a group in the
//!    delta keeps exactly the children its write-set entry lists.

mod review;

use std::collections::BTreeMap;

use prost::Message;
use weft_protos::common::{
    Config, ConfigEnvelope, ConfigGroup, ConfigPolicy, ConfigSignature, ConfigUpdate,
    ConfigUpdateEnvelope, ConfigValue, Payload, SignatureHeader,
};

use super::bundle::ChannelConfig;
use crate::CommonError;
use crate::error::decode;
use crate::ids::ChannelId;
use crate::msp::SigningIdentity;
use crate::policy::{PolicyTree, SignedData, verify_signers};

pub use review::{ChangeReview, UpdateReview, add_signature, review_update};

// ---------- computing an update ----------

fn policies_update(
    original: &BTreeMap<String, ConfigPolicy>,
    updated: &BTreeMap<String, ConfigPolicy>,
) -> (
    BTreeMap<String, ConfigPolicy>,
    BTreeMap<String, ConfigPolicy>,
    bool,
) {
    let (mut write, mut same, mut members_changed) = (BTreeMap::new(), BTreeMap::new(), false);
    for (name, o) in original {
        match updated.get(name) {
            None => members_changed = true,
            Some(u) if u.policy == o.policy && u.mod_policy == o.mod_policy => {
                same.insert(
                    name.clone(),
                    ConfigPolicy {
                        version: o.version,
                        ..Default::default()
                    },
                );
            }
            Some(u) => {
                write.insert(
                    name.clone(),
                    ConfigPolicy {
                        version: o.version + 1,
                        mod_policy: u.mod_policy.clone(),
                        policy: u.policy.clone(),
                    },
                );
            }
        }
    }
    for (name, u) in updated {
        if !original.contains_key(name) {
            members_changed = true;
            write.insert(
                name.clone(),
                ConfigPolicy {
                    version: 0,
                    ..u.clone()
                },
            );
        }
    }
    (write, same, members_changed)
}

fn values_update(
    original: &BTreeMap<String, ConfigValue>,
    updated: &BTreeMap<String, ConfigValue>,
) -> (
    BTreeMap<String, ConfigValue>,
    BTreeMap<String, ConfigValue>,
    bool,
) {
    let (mut write, mut same, mut members_changed) = (BTreeMap::new(), BTreeMap::new(), false);
    for (name, o) in original {
        match updated.get(name) {
            None => members_changed = true,
            Some(u) if u.value == o.value && u.mod_policy == o.mod_policy => {
                same.insert(
                    name.clone(),
                    ConfigValue {
                        version: o.version,
                        ..Default::default()
                    },
                );
            }
            Some(u) => {
                write.insert(
                    name.clone(),
                    ConfigValue {
                        version: o.version + 1,
                        mod_policy: u.mod_policy.clone(),
                        value: u.value.clone(),
                    },
                );
            }
        }
    }
    for (name, u) in updated {
        if !original.contains_key(name) {
            members_changed = true;
            write.insert(
                name.clone(),
                ConfigValue {
                    version: 0,
                    ..u.clone()
                },
            );
        }
    }
    (write, same, members_changed)
}

fn with_zero_versions(g: &ConfigGroup) -> ConfigGroup {
    ConfigGroup {
        version: 0,
        groups: g
            .groups
            .iter()
            .map(|(k, v)| (k.clone(), with_zero_versions(v)))
            .collect(),
        values: g
            .values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    ConfigValue {
                        version: 0,
                        ..v.clone()
                    },
                )
            })
            .collect(),
        policies: g
            .policies
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    ConfigPolicy {
                        version: 0,
                        ..v.clone()
                    },
                )
            })
            .collect(),
        mod_policy: g.mod_policy.clone(),
    }
}

/// (read set, write set, whether anything changed) for one group.
fn group_update(original: &ConfigGroup, updated: &ConfigGroup) -> (ConfigGroup, ConfigGroup, bool) {
    let (write_p, same_p, pm) = policies_update(&original.policies, &updated.policies);
    let (write_v, same_v, vm) = values_update(&original.values, &updated.values);
    let (mut read_g, mut write_g, mut same_g, mut gm) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), false);
    for (name, o) in &original.groups {
        match updated.groups.get(name) {
            None => gm = true,
            Some(u) => {
                let (r, w, changed) = group_update(o, u);
                if changed {
                    read_g.insert(name.clone(), r);
                    write_g.insert(name.clone(), w);
                } else {
                    same_g.insert(
                        name.clone(),
                        ConfigGroup {
                            version: o.version,
                            ..Default::default()
                        },
                    );
                }
            }
        }
    }
    for (name, u) in &updated.groups {
        if !original.groups.contains_key(name) {
            gm = true;
            write_g.insert(name.clone(), with_zero_versions(u));
        }
    }
    let members_changed = pm || vm || gm || original.mod_policy != updated.mod_policy;
    if !members_changed {
        let nothing =
            write_p.is_empty() && write_v.is_empty() && read_g.is_empty() && write_g.is_empty();
        let read = ConfigGroup {
            version: original.version,
            groups: read_g,
            ..Default::default()
        };
        let write = ConfigGroup {
            version: original.version,
            policies: write_p,
            values: write_v,
            groups: write_g,
            ..Default::default()
        };
        return (read, write, !nothing);
    }
    // The group's membership changes: it is written at version + 1 listing every child.
    let mut read = ConfigGroup {
        version: original.version,
        groups: read_g,
        ..Default::default()
    };
    let mut write = ConfigGroup {
        version: original.version + 1,
        policies: write_p,
        values: write_v,
        groups: write_g,
        mod_policy: updated.mod_policy.clone(),
    };
    for (k, v) in same_p {
        read.policies.insert(k.clone(), v.clone());
        write.policies.insert(k, v);
    }
    for (k, v) in same_v {
        read.values.insert(k.clone(), v.clone());
        write.values.insert(k, v);
    }
    for (k, v) in same_g {
        read.groups.insert(k.clone(), v.clone());
        write.groups.insert(k, v);
    }
    (read, write, true)
}

/// The update that turns `original` into `updated` (Fabric's compute_update).
pub fn compute_update(
    channel: &ChannelId,
    original: &Config,
    updated: &Config,
) -> Result<ConfigUpdate, CommonError> {
    let (o, u) = match (&original.channel_group, &updated.channel_group) {
        (Some(o), Some(u)) => (o, u),
        _ => {
            return Err(CommonError::Config(
                "both configs need a channel group".into(),
            ));
        }
    };
    let (read, write, changed) = group_update(o, u);
    if !changed {
        return Err(CommonError::Config(
            "the two configs are the same: nothing to update".into(),
        ));
    }
    Ok(ConfigUpdate {
        channel_id: channel.to_string(),
        read_set: Some(read),
        write_set: Some(write),
        isolated_data: Default::default(),
    })
}

/// Signs a config update as one admin: a `ConfigSignature` over signature header ‖ update bytes.
pub fn sign_config_update(
    update_bytes: &[u8],
    signer: &SigningIdentity,
) -> Result<ConfigSignature, CommonError> {
    let header = SignatureHeader {
        creator: signer.serialized().to_vec(),
        nonce: crate::crypto::random_bytes(24),
    }
    .encode_to_vec();
    let mut data = header.clone();
    data.extend_from_slice(update_bytes);
    Ok(ConfigSignature {
        signature_header: header,
        signature: signer.sign(&data)?,
    })
}

// ---------- validating and applying an update ----------

/// One element of a flattened config tree.
#[derive(Debug, Clone)]
enum Element {
    Group(ConfigGroup),
    Value(ConfigValue),
    Policy(ConfigPolicy),
}

impl Element {
    fn version(&self) -> u64 {
        match self {
            Element::Group(g) => g.version,
            Element::Value(v) => v.version,
            Element::Policy(p) => p.version,
        }
    }
    fn mod_policy(&self) -> &str {
        match self {
            Element::Group(g) => &g.mod_policy,
            Element::Value(v) => &v.mod_policy,
            Element::Policy(p) => &p.mod_policy,
        }
    }
}

/// Element key: (kind, path of group names, name). Groups are keyed by their own path.
type Key = (u8, Vec<String>, String);

fn flatten(group: &ConfigGroup, path: &[String], name: &str, out: &mut BTreeMap<Key, Element>) {
    out.insert(
        (0, path.to_vec(), name.to_string()),
        Element::Group(group.clone()),
    );
    let mut here = path.to_vec();
    here.push(name.to_string());
    for (k, v) in &group.values {
        out.insert((1, here.clone(), k.clone()), Element::Value(v.clone()));
    }
    for (k, p) in &group.policies {
        out.insert((2, here.clone(), k.clone()), Element::Policy(p.clone()));
    }
    for (k, g) in &group.groups {
        flatten(g, &here, k, out);
    }
}

fn describe(key: &Key) -> String {
    let kind = ["group", "value", "policy"][key.0 as usize];
    format!(
        "{kind} /{}",
        key.1
            .iter()
            .chain(std::iter::once(&key.2))
            .cloned()
            .collect::<Vec<_>>()
            .join("/")
    )
}

/// The policy path that guards an element, as Fabric resolves `mod_policy`:
/// absolute paths as they are; relative ones in the element's group (for a
/// group, the group itself).
fn mod_policy_path(key: &Key, mod_policy: &str) -> String {
    if mod_policy.starts_with('/') {
        return mod_policy.to_string();
    }
    let mut path = key.1.clone();
    if key.0 == 0 {
        path.push(key.2.clone());
    }
    format!("/{}/{mod_policy}", path.join("/"))
}

fn rebuild(
    map: &BTreeMap<Key, Element>,
    path: &[String],
    name: &str,
) -> Result<ConfigGroup, CommonError> {
    let Some(Element::Group(g)) = map.get(&(0, path.to_vec(), name.to_string())) else {
        return Err(CommonError::Config(format!(
            "group /{}/{name} is missing from the result",
            path.join("/")
        )));
    };
    let mut here = path.to_vec();
    here.push(name.to_string());
    let mut out = ConfigGroup {
        version: g.version,
        mod_policy: g.mod_policy.clone(),
        ..Default::default()
    };
    for k in g.values.keys() {
        if let Some(Element::Value(v)) = map.get(&(1, here.clone(), k.clone())) {
            out.values.insert(k.clone(), v.clone());
        }
    }
    for k in g.policies.keys() {
        if let Some(Element::Policy(p)) = map.get(&(2, here.clone(), k.clone())) {
            out.policies.insert(k.clone(), p.clone());
        }
    }
    for k in g.groups.keys() {
        out.groups.insert(k.clone(), rebuild(map, &here, k)?);
    }
    Ok(out)
}

/// The current config and an update's read and write sets, flattened.
struct Flattened {
    current: BTreeMap<Key, Element>,
    read: BTreeMap<Key, Element>,
    write: BTreeMap<Key, Element>,
}

/// Decodes `envelope`'s update for `current`'s channel and flattens it.
fn flattened(
    current: &ChannelConfig,
    envelope: &ConfigUpdateEnvelope,
) -> Result<Flattened, CommonError> {
    let update: ConfigUpdate = decode("config update", &envelope.config_update)?;
    if update.channel_id != current.channel_id.as_str() {
        return Err(CommonError::Config(format!(
            "the update is for channel {:?}, not {}",
            update.channel_id, current.channel_id
        )));
    }
    let root = current
        .config
        .channel_group
        .as_ref()
        .ok_or_else(|| CommonError::Config("current config has no channel group".into()))?;
    let write_set = update
        .write_set
        .as_ref()
        .ok_or_else(|| CommonError::Config("the update has no write set".into()))?;
    let mut out = Flattened {
        current: BTreeMap::new(),
        read: BTreeMap::new(),
        write: BTreeMap::new(),
    };
    flatten(root, &[], "Channel", &mut out.current);
    if let Some(r) = &update.read_set {
        flatten(r, &[], "Channel", &mut out.read);
    }
    flatten(write_set, &[], "Channel", &mut out.write);
    Ok(out)
}

/// The verified signers of an update's signatures, at Unix time `now`.
fn update_signers(
    current: &ChannelConfig,
    envelope: &ConfigUpdateEnvelope,
    now: i64,
) -> Result<crate::policy::Signers, CommonError> {
    let signed: Vec<SignedData> = envelope
        .signatures
        .iter()
        .map(|s| -> Result<SignedData, CommonError> {
            let header: SignatureHeader = decode("config signature header", &s.signature_header)?;
            let mut data = s.signature_header.clone();
            data.extend_from_slice(&envelope.config_update);
            Ok(SignedData {
                identity: header.creator,
                data,
                signature: s.signature.clone(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(verify_signers(&signed, &current.msps, now))
}

/// Validates a `ConfigUpdateEnvelope` against the current config at Unix time
/// `now` and returns the new config (sequence + 1). Errors say which element
/// and which policy.
pub fn apply_update(
    current: &ChannelConfig,
    envelope: &ConfigUpdateEnvelope,
    now: i64,
) -> Result<Config, CommonError> {
    let Flattened {
        current: current_map,
        read: read_map,
        write: write_map,
    } = flattened(current, envelope)?;

    for (key, el) in &read_map {
        match current_map.get(key) {
            Some(cur) if cur.version() == el.version() => {}
            Some(cur) => {
                return Err(CommonError::Config(format!(
                    "read set: {} is at version {}, the update read version {} (the config changed; recompute the update)",
                    describe(key),
                    cur.version(),
                    el.version()
                )));
            }
            None => {
                return Err(CommonError::Config(format!(
                    "read set: {} does not exist",
                    describe(key)
                )));
            }
        }
    }

    let delta: Vec<(&Key, &Element)> = write_map
        .iter()
        .filter(|(k, el)| read_map.get(*k).is_none_or(|r| r.version() != el.version()))
        .collect();
    if delta.is_empty() {
        return Err(CommonError::Config("the update changes nothing".into()));
    }

    let signers = update_signers(current, envelope, now)?;

    for (key, el) in &delta {
        match current_map.get(*key) {
            None if el.version() == 0 => {}
            None => {
                return Err(CommonError::Config(format!(
                    "{} does not exist, so it must be written at version 0, not {}",
                    describe(key),
                    el.version()
                )));
            }
            Some(cur) => {
                if el.version() != cur.version() + 1 {
                    return Err(CommonError::Config(format!(
                        "{} is at version {}; an update must write version {}, not {}",
                        describe(key),
                        cur.version(),
                        cur.version() + 1,
                        el.version()
                    )));
                }
                let path = mod_policy_path(key, cur.mod_policy());
                if let Some(need) = current
                    .policies
                    .still_needed(&path, &signers, &current.msps)
                {
                    return Err(CommonError::Config(format!(
                        "changing {} needs its mod_policy {path}: it still needs {need} (signed by {})",
                        describe(key),
                        signers.describe()
                    )));
                }
            }
        }
    }

    let mut result = current_map;
    for (key, el) in delta {
        result.insert(key.clone(), el.clone());
    }
    let channel_group = rebuild(&result, &[], "Channel")?;
    let new = Config {
        sequence: current.config.sequence + 1,
        channel_group: Some(channel_group),
    };
    // The result must be a config nodes can run with (MSPs parse, policies decode, ...).
    ChannelConfig::from_config(current.channel_id.clone(), &new)?;
    let _ = PolicyTree::from_channel_group(new.channel_group.as_ref().expect("just set"))?;
    Ok(new)
}

// ---------- checking a CONFIG transaction ----------

/// Checks the content of a CONFIG transaction as a Fabric peer does before it
/// adopts it: `envelope.config` must be exactly what its `last_update` (a
/// CONFIG_UPDATE envelope whose signatures satisfy the `mod_policy` of every
/// element it changes) yields from `current`, at Unix time `now`. This is what
/// stops one orderer, or one stolen orderer key, from rewriting a channel.
/// Returns the checked config.
pub fn verify_config_envelope(
    current: &ChannelConfig,
    envelope: &ConfigEnvelope,
    now: i64,
) -> Result<Config, CommonError> {
    let claimed = envelope
        .config
        .as_ref()
        .ok_or_else(|| CommonError::Config("the config envelope has no config".into()))?;
    let last_update = envelope.last_update.as_ref().ok_or_else(|| {
        CommonError::Config(
            "the config envelope carries no config update (last_update): only a genesis config may come without one"
                .into(),
        )
    })?;
    let payload: Payload = decode("config update payload", &last_update.payload)?;
    let update: ConfigUpdateEnvelope = decode("config update envelope", &payload.data)?;
    let computed = apply_update(current, &update, now)?;
    if claimed.sequence != computed.sequence {
        return Err(CommonError::Config(format!(
            "the config has sequence {}, its update yields {}",
            claimed.sequence, computed.sequence
        )));
    }
    if claimed.channel_group != computed.channel_group {
        let (mut have, mut want) = (BTreeMap::new(), BTreeMap::new());
        if let Some(g) = &claimed.channel_group {
            flatten(g, &[], "Channel", &mut have);
        }
        if let Some(g) = &computed.channel_group {
            flatten(g, &[], "Channel", &mut want);
        }
        let differs = have
            .keys()
            .chain(want.keys())
            .find(|k| match (have.get(*k), want.get(*k)) {
                (Some(a), Some(b)) => !a.same_as(b),
                _ => true,
            })
            .map_or_else(|| "the channel group".to_string(), describe);
        return Err(CommonError::Config(format!(
            "the config is not what its signed update yields from the current config: {differs} differs"
        )));
    }
    Ok(computed)
}

impl Element {
    /// Whether two elements are equal, groups compared by their own fields and
    /// the names of their children (the children are elements of their own).
    fn same_as(&self, other: &Element) -> bool {
        match (self, other) {
            (Element::Group(a), Element::Group(b)) => {
                a.version == b.version
                    && a.mod_policy == b.mod_policy
                    && a.groups.keys().eq(b.groups.keys())
                    && a.values.keys().eq(b.values.keys())
                    && a.policies.keys().eq(b.policies.keys())
            }
            (Element::Value(a), Element::Value(b)) => a == b,
            (Element::Policy(a), Element::Policy(b)) => a == b,
            _ => false,
        }
    }
}
