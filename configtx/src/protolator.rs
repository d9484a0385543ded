//! JSON ⇄ protobuf in the shape of Fabric's `configtxlator proto_decode/encode`.
//! (One file on purpose: the table of which field holds which message is read
//! as a whole, and the decoder and encoder mirror each other line by line.)
//!
//! Fabric nests many messages as opaque `bytes` (a payload's header, a config
//! value, a read/write set). This module decodes those bytes into the message
//! they hold — chosen by field, by a sibling field (header type, policy type,
//! principal classification) or by the config value's key — so the JSON shows
//! the whole tree, and re-encodes such JSON back to the same bytes.
//!
//! JSON conventions follow Fabric's: original field names, every field present
//! (unset messages and empty nested bytes as `null`), 64-bit integers as
//! strings, enums by name, bytes as base64, timestamps as RFC 3339.

use base64::Engine;
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage, Value,
};
use serde_json::{Map, Value as Json};

use crate::ConfigtxError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The message types `inspect` understands at the top level.
pub const TOP_LEVEL_TYPES: &[&str] = &[
    "common.Block",
    "common.Envelope",
    "common.Payload",
    "common.Config",
    "common.ConfigEnvelope",
    "common.ConfigUpdate",
    "common.ConfigUpdateEnvelope",
    "protos.Transaction",
    "protos.ProposalResponse",
    "protos.SignedProposal",
    "protos.Proposal",
    "msp.SerializedIdentity",
];

/// Reflection over weft's protos.
pub struct Protolator {
    pool: DescriptorPool,
}

impl Default for Protolator {
    fn default() -> Self {
        Self::new()
    }
}

/// What a nested-bytes field holds.
enum Nested {
    Message(&'static str),
    Raw,
}

fn header_type_message(header_type: i64) -> Nested {
    match header_type {
        1 => Nested::Message("common.ConfigEnvelope"),
        2 => Nested::Message("common.ConfigUpdateEnvelope"),
        3 => Nested::Message("protos.Transaction"),
        _ => Nested::Raw,
    }
}

fn config_value_message(key: &str) -> Nested {
    Nested::Message(match key {
        "MSP" => "msp.MSPConfig",
        "AnchorPeers" => "protos.AnchorPeers",
        "Endpoints" | "OrdererAddresses" => "common.OrdererAddresses",
        "ACLs" => "protos.ACLs",
        "Capabilities" => "common.Capabilities",
        "HashingAlgorithm" => "common.HashingAlgorithm",
        "BlockDataHashingStructure" => "common.BlockDataHashingStructure",
        "Consortium" => "common.Consortium",
        "ConsensusType" => "orderer.ConsensusType",
        "BatchSize" => "orderer.BatchSize",
        "BatchTimeout" => "orderer.BatchTimeout",
        "ChannelRestrictions" => "orderer.ChannelRestrictions",
        _ => return Nested::Raw,
    })
}

/// Reads an integer sibling field from either form (dynamic message or JSON).
trait Siblings {
    fn int(&self, name: &str) -> Option<i64>;
    fn string(&self, name: &str) -> Option<String>;
    /// `header.channel_header.type` of a Payload.
    fn payload_header_type(&self, p: &Protolator) -> Option<i64>;
}

impl Siblings for DynamicMessage {
    fn int(&self, name: &str) -> Option<i64> {
        let v = self.get_field_by_name(name)?;
        match v.as_ref() {
            Value::I32(i) => Some(*i as i64),
            Value::EnumNumber(i) => Some(*i as i64),
            Value::I64(i) => Some(*i),
            _ => None,
        }
    }
    fn string(&self, name: &str) -> Option<String> {
        self.get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_string))
    }
    fn payload_header_type(&self, p: &Protolator) -> Option<i64> {
        let header = self.get_field_by_name("header")?;
        let header = header.as_message()?;
        let ch = header.get_field_by_name("channel_header")?;
        let ch = DynamicMessage::decode(
            p.message("common.ChannelHeader").ok()?,
            ch.as_bytes()?.as_ref(),
        )
        .ok()?;
        ch.int("type")
    }
}

impl Siblings for Map<String, Json> {
    fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Json::Number(n) => n.as_i64(),
            Json::String(s) => s.parse().ok().or(match s.as_str() {
                "ROLE" => Some(0),
                "ORGANIZATION_UNIT" => Some(1),
                "IDENTITY" => Some(2),
                "ANONYMITY" => Some(3),
                "COMBINED" => Some(4),
                _ => None,
            }),
            _ => None,
        }
    }
    fn string(&self, name: &str) -> Option<String> {
        self.get(name).and_then(Json::as_str).map(str::to_string)
    }
    fn payload_header_type(&self, _: &Protolator) -> Option<i64> {
        self.get("header")?
            .get("channel_header")?
            .get("type")?
            .as_i64()
    }
}

impl Protolator {
    /// Loads weft's descriptor set.
    pub fn new() -> Self {
        let pool = DescriptorPool::decode(weft_protos::FILE_DESCRIPTOR_SET)
            .expect("weft's descriptor set is valid");
        Self { pool }
    }

    fn message(&self, name: &str) -> Result<MessageDescriptor, ConfigtxError> {
        self.pool.get_message_by_name(name).ok_or_else(|| {
            ConfigtxError::Usage(format!(
                "unknown message type {name}; known: {}",
                TOP_LEVEL_TYPES.join(", ")
            ))
        })
    }

    /// Which message an opaque bytes field holds, if any.
    fn nested(
        &self,
        msg: &str,
        field: &str,
        siblings: &dyn Siblings,
        map_key: Option<&str>,
    ) -> Option<Nested> {
        Some(match (msg, field) {
            ("common.Envelope", "payload") => Nested::Message("common.Payload"),
            ("common.Payload", "data") => header_type_message(siblings.payload_header_type(self)?),
            ("common.Header", "channel_header") => Nested::Message("common.ChannelHeader"),
            ("common.Header", "signature_header") => Nested::Message("common.SignatureHeader"),
            ("common.ChannelHeader", "extension") => match siblings.int("type")? {
                3 => Nested::Message("protos.ChaincodeHeaderExtension"),
                _ => Nested::Raw,
            },
            ("common.SignatureHeader", "creator") => Nested::Message("msp.SerializedIdentity"),
            ("common.BlockData", "data") => Nested::Message("common.Envelope"),
            ("common.ConfigValue", "value") => config_value_message(map_key?),
            ("common.Policy", "value") => match siblings.int("type")? {
                1 => Nested::Message("common.SignaturePolicyEnvelope"),
                3 => Nested::Message("common.ImplicitMetaPolicy"),
                _ => Nested::Raw,
            },
            ("common.MSPPrincipal", "principal") => {
                match siblings.int("principal_classification")? {
                    0 => Nested::Message("common.MSPRole"),
                    1 => Nested::Message("common.OrganizationUnit"),
                    2 => Nested::Message("msp.SerializedIdentity"),
                    _ => Nested::Raw,
                }
            }
            ("msp.MSPConfig", "config") => match siblings.int("type")? {
                0 => Nested::Message("msp.FabricMSPConfig"),
                _ => Nested::Raw,
            },
            ("orderer.ConsensusType", "metadata") => match siblings.string("type")?.as_str() {
                "etcdraft" => Nested::Message("etcdraft.ConfigMetadata"),
                _ => Nested::Raw,
            },
            ("common.ConfigUpdateEnvelope", "config_update") => {
                Nested::Message("common.ConfigUpdate")
            }
            ("common.ConfigSignature", "signature_header") => {
                Nested::Message("common.SignatureHeader")
            }
            ("protos.TransactionAction", "header") => Nested::Message("common.SignatureHeader"),
            ("protos.TransactionAction", "payload") => {
                Nested::Message("protos.ChaincodeActionPayload")
            }
            ("protos.ChaincodeActionPayload", "chaincode_proposal_payload") => {
                Nested::Message("protos.ChaincodeProposalPayload")
            }
            ("protos.ChaincodeEndorsedAction", "proposal_response_payload") => {
                Nested::Message("protos.ProposalResponsePayload")
            }
            ("protos.ChaincodeProposalPayload", "input") => {
                Nested::Message("protos.ChaincodeInvocationSpec")
            }
            ("protos.ProposalResponsePayload", "extension") => {
                Nested::Message("protos.ChaincodeAction")
            }
            ("protos.ChaincodeAction", "results") => Nested::Message("rwset.TxReadWriteSet"),
            ("protos.ChaincodeAction", "events") => Nested::Message("protos.ChaincodeEvent"),
            ("rwset.NsReadWriteSet", "rwset") => Nested::Message("kvrwset.KVRWSet"),
            ("protos.SignedProposal", "proposal_bytes") => Nested::Message("protos.Proposal"),
            ("protos.Proposal", "header") => Nested::Message("common.Header"),
            ("protos.Proposal", "payload") => Nested::Message("protos.ChaincodeProposalPayload"),
            ("protos.ProposalResponse", "payload") => {
                Nested::Message("protos.ProposalResponsePayload")
            }
            _ => return None,
        })
    }

    /// Decodes `bytes` as message `type_name` into Fabric-style JSON.
    pub fn decode(&self, type_name: &str, bytes: &[u8]) -> Result<Json, ConfigtxError> {
        let desc = self.message(type_name)?;
        let msg = DynamicMessage::decode(desc, bytes).map_err(|e| {
            ConfigtxError::Decode(format!("bytes are not a valid {type_name}: {e}"))
        })?;
        self.msg_to_json(&msg)
    }

    fn msg_to_json(&self, msg: &DynamicMessage) -> Result<Json, ConfigtxError> {
        let desc = msg.descriptor();
        if desc.full_name() == "google.protobuf.Timestamp" {
            return Ok(Json::String(format_timestamp(msg)));
        }
        let mut fields: Vec<(String, Json)> = Vec::new();
        for f in desc.fields() {
            if f.containing_oneof().is_some() && !msg.has_field(&f) {
                continue;
            }
            let unset_message = matches!(f.kind(), Kind::Message(_))
                && !f.is_list()
                && !f.is_map()
                && !msg.has_field(&f);
            if unset_message {
                fields.push((f.name().to_string(), Json::Null));
                continue;
            }
            let value = msg.get_field(&f);
            let json = match self.nested(desc.full_name(), f.name(), msg, None) {
                Some(Nested::Message(inner)) if f.is_list() => Json::Array(
                    value
                        .as_list()
                        .unwrap_or_default()
                        .iter()
                        .map(|v| {
                            self.nested_to_json(
                                inner,
                                v.as_bytes().map(|b| b.as_ref()).unwrap_or_default(),
                            )
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(Nested::Message(inner)) => self.nested_to_json(
                    inner,
                    value.as_bytes().map(|b| b.as_ref()).unwrap_or_default(),
                )?,
                // Opaque bytes Fabric would decode if it knew the type: empty shows as null.
                Some(Nested::Raw)
                    if !f.is_list() && value.as_bytes().is_some_and(|b| b.is_empty()) =>
                {
                    Json::Null
                }
                _ => self.value_to_json(&f, &value)?,
            };
            fields.push((f.name().to_string(), json));
        }
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Json::Object(fields.into_iter().collect()))
    }

    fn nested_to_json(&self, type_name: &str, bytes: &[u8]) -> Result<Json, ConfigtxError> {
        if bytes.is_empty() {
            return Ok(Json::Null);
        }
        self.decode(type_name, bytes)
    }

    fn value_to_json(&self, f: &FieldDescriptor, v: &Value) -> Result<Json, ConfigtxError> {
        Ok(match v {
            Value::List(items) => Json::Array(
                items
                    .iter()
                    .map(|i| self.value_to_json(f, i))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Map(entries) => {
                let value_field = match f.kind() {
                    Kind::Message(entry) => entry.map_entry_value_field(),
                    _ => unreachable!("map fields are messages"),
                };
                let mut out: Vec<(String, Json)> = Vec::new();
                for (k, val) in entries {
                    let key = match k {
                        MapKey::String(s) => s.clone(),
                        MapKey::Bool(b) => b.to_string(),
                        MapKey::I32(i) => i.to_string(),
                        MapKey::I64(i) => i.to_string(),
                        MapKey::U32(i) => i.to_string(),
                        MapKey::U64(i) => i.to_string(),
                    };
                    let json = match val {
                        Value::Message(m) if m.descriptor().full_name() == "common.ConfigValue" => {
                            self.config_value_to_json(m, &key)?
                        }
                        other => self.value_to_json(&value_field, other)?,
                    };
                    out.push((key, json));
                }
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Json::Object(out.into_iter().collect())
            }
            Value::Message(m) => self.msg_to_json(m)?,
            Value::Bool(b) => Json::Bool(*b),
            Value::I32(i) => Json::from(*i),
            Value::U32(i) => Json::from(*i),
            Value::I64(i) => Json::String(i.to_string()),
            Value::U64(i) => Json::String(i.to_string()),
            Value::F32(x) => Json::from(*x as f64),
            Value::F64(x) => Json::from(*x),
            Value::String(s) => Json::String(s.clone()),
            Value::Bytes(b) => Json::String(B64.encode(b)),
            Value::EnumNumber(n) => match f.kind() {
                Kind::Enum(e) => match e.get_value(*n) {
                    Some(ev) => Json::String(ev.name().to_string()),
                    None => Json::from(*n),
                },
                _ => Json::from(*n),
            },
        })
    }

    /// A `ConfigValue` whose `value` is decoded by its map key.
    fn config_value_to_json(&self, m: &DynamicMessage, key: &str) -> Result<Json, ConfigtxError> {
        let mut obj = match self.msg_to_json(m)? {
            Json::Object(o) => o,
            _ => unreachable!("messages become objects"),
        };
        if let Nested::Message(inner) = config_value_message(key) {
            let bytes = m
                .get_field_by_name("value")
                .and_then(|v| v.as_bytes().map(|b| b.to_vec()))
                .unwrap_or_default();
            obj.insert("value".into(), self.nested_to_json(inner, &bytes)?);
        }
        Ok(Json::Object(obj))
    }

    /// Encodes Fabric-style JSON back to message `type_name`.
    pub fn encode(&self, type_name: &str, json: &Json) -> Result<Vec<u8>, ConfigtxError> {
        let msg = self.json_to_msg(&self.message(type_name)?, json, type_name)?;
        Ok(canonical(type_name, msg.encode_to_vec()))
    }

    fn json_to_msg(
        &self,
        desc: &MessageDescriptor,
        json: &Json,
        path: &str,
    ) -> Result<DynamicMessage, ConfigtxError> {
        let mut msg = DynamicMessage::new(desc.clone());
        if desc.full_name() == "google.protobuf.Timestamp" {
            let text = json
                .as_str()
                .ok_or_else(|| bad_json(path, "a timestamp is an RFC 3339 string"))?;
            let t =
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| bad_json(path, &format!("timestamp {text:?}: {e}")))?;
            msg.set_field_by_name("seconds", Value::I64(t.unix_timestamp()));
            msg.set_field_by_name("nanos", Value::I32(t.nanosecond() as i32));
            return Ok(msg);
        }
        let obj = match json {
            Json::Object(o) => o,
            Json::Null => return Ok(msg),
            _ => {
                return Err(bad_json(
                    path,
                    &format!("expected an object for {}", desc.full_name()),
                ));
            }
        };
        for (name, value) in obj {
            let f = desc.get_field_by_name(name).ok_or_else(|| {
                bad_json(path, &format!("{} has no field {name:?}", desc.full_name()))
            })?;
            let fpath = format!("{path}.{name}");
            if value.is_null() {
                continue;
            }
            let v = match self.nested(desc.full_name(), name, obj, None) {
                Some(Nested::Message(inner)) if f.is_list() => Value::List(
                    value
                        .as_array()
                        .ok_or_else(|| bad_json(&fpath, "expected an array"))?
                        .iter()
                        .map(|item| self.encode(inner, item).map(|b| Value::Bytes(b.into())))
                        .collect::<Result<_, _>>()?,
                ),
                Some(Nested::Message(inner)) => {
                    Value::Bytes(self.encode_nested(inner, value, &fpath)?.into())
                }
                _ => self.json_to_value(&f, value, &fpath)?,
            };
            msg.set_field(&f, v);
        }
        Ok(msg)
    }

    fn encode_nested(
        &self,
        type_name: &str,
        json: &Json,
        path: &str,
    ) -> Result<Vec<u8>, ConfigtxError> {
        let desc = self.message(type_name)?;
        Ok(canonical(
            type_name,
            self.json_to_msg(&desc, json, path)?.encode_to_vec(),
        ))
    }

    fn json_to_value(
        &self,
        f: &FieldDescriptor,
        json: &Json,
        path: &str,
    ) -> Result<Value, ConfigtxError> {
        if f.is_map() {
            let entry = match f.kind() {
                Kind::Message(m) => m,
                _ => unreachable!("map fields are messages"),
            };
            let (kf, vf) = (entry.map_entry_key_field(), entry.map_entry_value_field());
            let obj = json
                .as_object()
                .ok_or_else(|| bad_json(path, "expected an object (map)"))?;
            let mut map = std::collections::HashMap::new();
            for (k, v) in obj {
                let key = match kf.kind() {
                    Kind::String => MapKey::String(k.clone()),
                    Kind::Bool => MapKey::Bool(k == "true"),
                    Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                        MapKey::I32(k.parse().map_err(|_| bad_json(path, "bad map key"))?)
                    }
                    Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                        MapKey::I64(k.parse().map_err(|_| bad_json(path, "bad map key"))?)
                    }
                    Kind::Uint32 | Kind::Fixed32 => {
                        MapKey::U32(k.parse().map_err(|_| bad_json(path, "bad map key"))?)
                    }
                    _ => MapKey::U64(k.parse().map_err(|_| bad_json(path, "bad map key"))?),
                };
                let kpath = format!("{path}.{k}");
                let value = match vf.kind() {
                    Kind::Message(m) if m.full_name() == "common.ConfigValue" => {
                        Value::Message(self.json_to_config_value(&m, v, k, &kpath)?)
                    }
                    _ => self.json_to_single(&vf, v, &kpath)?,
                };
                map.insert(key, value);
            }
            return Ok(Value::Map(map));
        }
        if f.is_list() {
            let arr = json
                .as_array()
                .ok_or_else(|| bad_json(path, "expected an array"))?;
            return Ok(Value::List(
                arr.iter()
                    .map(|j| self.json_to_single(f, j, path))
                    .collect::<Result<_, _>>()?,
            ));
        }
        self.json_to_single(f, json, path)
    }

    fn json_to_config_value(
        &self,
        desc: &MessageDescriptor,
        json: &Json,
        key: &str,
        path: &str,
    ) -> Result<DynamicMessage, ConfigtxError> {
        let mut obj = json
            .as_object()
            .cloned()
            .ok_or_else(|| bad_json(path, "expected a config value object"))?;
        let nested_value = obj.remove("value");
        let mut msg = self.json_to_msg(desc, &Json::Object(obj), path)?;
        if let Some(v) = nested_value.filter(|v| !v.is_null()) {
            let bytes = match config_value_message(key) {
                Nested::Message(inner) => {
                    self.encode_nested(inner, &v, &format!("{path}.value"))?
                }
                Nested::Raw => decode_b64(&v, path)?,
            };
            msg.set_field_by_name("value", Value::Bytes(bytes.into()));
        }
        Ok(msg)
    }

    fn json_to_single(
        &self,
        f: &FieldDescriptor,
        json: &Json,
        path: &str,
    ) -> Result<Value, ConfigtxError> {
        let num = |j: &Json| -> Result<i128, ConfigtxError> {
            match j {
                Json::Number(n) => n
                    .as_i64()
                    .map(i128::from)
                    .or(n.as_u64().map(i128::from))
                    .ok_or_else(|| bad_json(path, "expected an integer")),
                Json::String(s) => s
                    .parse()
                    .map_err(|_| bad_json(path, &format!("expected an integer, got {s:?}"))),
                _ => Err(bad_json(path, "expected an integer")),
            }
        };
        let range = |v: i128, lo: i128, hi: i128| -> Result<i128, ConfigtxError> {
            if v < lo || v > hi {
                Err(bad_json(path, &format!("{v} is out of range")))
            } else {
                Ok(v)
            }
        };
        Ok(match f.kind() {
            Kind::Message(m) => Value::Message(self.json_to_msg(&m, json, path)?),
            Kind::Bool => Value::Bool(
                json.as_bool()
                    .ok_or_else(|| bad_json(path, "expected true or false"))?,
            ),
            Kind::String => Value::String(
                json.as_str()
                    .ok_or_else(|| bad_json(path, "expected a string"))?
                    .to_string(),
            ),
            Kind::Bytes => Value::Bytes(decode_b64(json, path)?.into()),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                Value::I32(range(num(json)?, i32::MIN.into(), i32::MAX.into())? as i32)
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                Value::I64(range(num(json)?, i64::MIN.into(), i64::MAX.into())? as i64)
            }
            Kind::Uint32 | Kind::Fixed32 => {
                Value::U32(range(num(json)?, 0, u32::MAX.into())? as u32)
            }
            Kind::Uint64 | Kind::Fixed64 => {
                Value::U64(range(num(json)?, 0, u64::MAX.into())? as u64)
            }
            Kind::Float => Value::F32(
                json.as_f64()
                    .ok_or_else(|| bad_json(path, "expected a number"))? as f32,
            ),
            Kind::Double => Value::F64(
                json.as_f64()
                    .ok_or_else(|| bad_json(path, "expected a number"))?,
            ),
            Kind::Enum(e) => match json {
                Json::String(s) => Value::EnumNumber(
                    e.get_value_by_name(s)
                        .ok_or_else(|| {
                            bad_json(path, &format!("{s:?} is not a value of {}", e.full_name()))
                        })?
                        .number(),
                ),
                other => Value::EnumNumber(num(other)? as i32),
            },
        })
    }
}

/// Re-encodes messages that hold protobuf maps (directly or in embedded
/// messages) through weft's generated types, whose maps are ordered, so that
/// encoding the same JSON always gives the same bytes. Reflection encodes maps
/// in hash order.
fn canonical(type_name: &str, bytes: Vec<u8>) -> Vec<u8> {
    use weft_common::config::go_encoding;
    use weft_protos::protos;
    fn via<M: Message + Default>(bytes: Vec<u8>) -> Vec<u8> {
        via_with::<M>(bytes, M::encode_to_vec)
    }
    fn via_with<M: Message + Default>(bytes: Vec<u8>, encode: fn(&M) -> Vec<u8>) -> Vec<u8> {
        match M::decode(bytes.as_slice()) {
            Ok(m) => encode(&m),
            Err(_) => bytes,
        }
    }
    // Config messages as Fabric's Go code writes them (see go_encoding).
    match type_name {
        "common.Config" => via_with(bytes, go_encoding::config),
        "common.ConfigEnvelope" => via_with(bytes, go_encoding::config_envelope),
        "common.ConfigUpdate" => via_with(bytes, go_encoding::config_update),
        "common.ConfigGroup" => via_with(bytes, go_encoding::config_group),
        "common.Capabilities" => via_with(bytes, go_encoding::capabilities),
        "protos.ACLs" => via::<protos::AcLs>(bytes),
        "protos.ChaincodeProposalPayload" => via::<protos::ChaincodeProposalPayload>(bytes),
        "protos.ChaincodeInvocationSpec" => via::<protos::ChaincodeInvocationSpec>(bytes),
        _ => bytes,
    }
}

fn decode_b64(json: &Json, path: &str) -> Result<Vec<u8>, ConfigtxError> {
    let s = json
        .as_str()
        .ok_or_else(|| bad_json(path, "bytes are a base64 string"))?;
    B64.decode(s)
        .map_err(|e| bad_json(path, &format!("invalid base64: {e}")))
}

fn bad_json(path: &str, reason: &str) -> ConfigtxError {
    ConfigtxError::Decode(format!("at {path}: {reason}"))
}

/// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as Go's JSON encoder writes timestamps.
fn format_timestamp(msg: &DynamicMessage) -> String {
    let secs = msg
        .get_field_by_name("seconds")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    let nanos = msg
        .get_field_by_name("nanos")
        .and_then(|v| v.as_i32())
        .unwrap_or(0);
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let frac = if nanos == 0 {
        String::new()
    } else if nanos % 1_000_000 == 0 {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    };
    format!("{base}{frac}Z")
}
