//! Conformance of weft's `.proto` files with Fabric's official definitions.
//!
//! The oracle is the npm package `@hyperledger/fabric-protos`, installed under
//! `protos/conformance/node_modules` by `scripts/setup.sh` (never committed).
//! `protos/conformance/fabric-schema.js` recovers its schema; this test compares
//! every message and enum weft defines against it: same field numbers, names,
//! types, labels and referenced types, and the same enum values. Any difference
//! fails the test.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};
use serde_json::Value;

/// A field as both sides describe it, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldShape {
    name: String,
    kind: String,
    label: String,
    type_name: Option<String>,
}

fn normalise_name(name: &str) -> String {
    name.trim_end_matches('$')
        .replace('_', "")
        .to_ascii_lowercase()
}

fn scalar_name(t: Type) -> &'static str {
    match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Group => "group",
        Type::Message => "message",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Enum => "enum",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
    }
}

struct WeftSchema {
    messages: BTreeMap<String, BTreeMap<i32, FieldShape>>,
    enums: BTreeMap<String, BTreeMap<String, i32>>,
}

fn collect_message(
    prefix: &str,
    msg: &DescriptorProto,
    maps: &mut BTreeMap<String, (FieldShape, FieldShape)>,
    out: &mut WeftSchema,
) {
    let full = format!("{prefix}.{}", msg.name());
    if msg.options.as_ref().is_some_and(|o| o.map_entry()) {
        let field = |n: i32| {
            let f = msg
                .field
                .iter()
                .find(|f| f.number() == n)
                .expect("map entry field");
            FieldShape {
                name: f.name().to_string(),
                kind: scalar_name(f.r#type()).to_string(),
                label: String::new(),
                type_name: f
                    .type_name
                    .as_ref()
                    .map(|t| t.trim_start_matches('.').to_string()),
            }
        };
        maps.insert(full, (field(1), field(2)));
        return;
    }
    for nested in &msg.nested_type {
        collect_message(&full, nested, maps, out);
    }
    for e in &msg.enum_type {
        let values = e
            .value
            .iter()
            .map(|v| (v.name().to_string(), v.number()))
            .collect();
        out.enums.insert(format!("{full}.{}", e.name()), values);
    }
    let mut fields = BTreeMap::new();
    for f in &msg.field {
        let type_name = f
            .type_name
            .as_ref()
            .map(|t| t.trim_start_matches('.').to_string());
        let shape = match type_name.as_ref().and_then(|t| maps.get(t)) {
            Some((key, value)) => FieldShape {
                name: normalise_name(f.name()),
                kind: format!("map<{},{}>", key.kind, value.kind),
                label: "repeated".into(),
                type_name: value.type_name.clone(),
            },
            None => FieldShape {
                name: normalise_name(f.name()),
                kind: scalar_name(f.r#type()).to_string(),
                label: match f.label() {
                    Label::Repeated => "repeated".into(),
                    Label::Optional | Label::Required => "optional".into(),
                },
                type_name,
            },
        };
        fields.insert(f.number(), shape);
    }
    out.messages.insert(full, fields);
}

fn weft_schema() -> WeftSchema {
    let fds = FileDescriptorSet::decode(weft_protos::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let mut out = WeftSchema {
        messages: BTreeMap::new(),
        enums: BTreeMap::new(),
    };
    for file in &fds.file {
        let package = file.package().to_string();
        if package.starts_with("google.protobuf") || package.starts_with("weft.") {
            continue; // well-known types, and weft's own internal protocols
        }
        for e in &file.enum_type {
            let values = e
                .value
                .iter()
                .map(|v| (v.name().to_string(), v.number()))
                .collect();
            out.enums.insert(format!("{package}.{}", e.name()), values);
        }
        for msg in &file.message_type {
            let mut maps = BTreeMap::new();
            // Map entry types are nested; collect them before the fields that use them.
            let full = format!("{package}.{}", msg.name());
            for nested in &msg.nested_type {
                if nested.options.as_ref().is_some_and(|o| o.map_entry()) {
                    collect_message(&full, nested, &mut maps, &mut out);
                }
            }
            collect_message(&package, msg, &mut maps, &mut out);
        }
    }
    out
}

fn fabric_schema() -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let package = dir.join("node_modules/@hyperledger/fabric-protos/package.json");
    assert!(
        package.exists(),
        "Fabric's protobuf package is not installed at {}; run `scripts/setup.sh` \
         (it runs `npm ci` in protos/conformance)",
        package.display()
    );
    let output = Command::new("node")
        .arg("fabric-schema.js")
        .current_dir(&dir)
        .output()
        .expect("running node (install Node.js; scripts/setup.sh checks for it)");
    assert!(
        output.status.success(),
        "fabric-schema.js failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("fabric-schema.js prints JSON")
}

fn fabric_field(v: &Value) -> (i32, FieldShape) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let number = v["number"].as_i64().expect("number") as i32;
    let kind = s("type").expect("type");
    let shape = if kind == "map" {
        FieldShape {
            name: normalise_name(&s("name").unwrap_or_default()),
            kind: format!(
                "map<{},{}>",
                s("key_type").unwrap(),
                s("value_type").unwrap()
            ),
            label: "repeated".into(),
            type_name: s("value_type_name").filter(|t| !t.is_empty()),
        }
    } else {
        FieldShape {
            name: normalise_name(&s("name").unwrap_or_default()),
            kind,
            label: s("label").expect("label"),
            type_name: s("type_name"),
        }
    };
    (number, shape)
}

#[test]
fn every_weft_message_matches_fabric() {
    let weft = weft_schema();
    let fabric = fabric_schema();
    let fabric_messages = fabric["messages"].as_object().expect("messages");
    let mut problems = Vec::new();

    for (name, weft_fields) in &weft.messages {
        let Some(theirs) = fabric_messages.get(name) else {
            problems.push(format!("{name}: not a Fabric message"));
            continue;
        };
        let fabric_fields: BTreeMap<i32, FieldShape> = theirs["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(fabric_field)
            .collect();
        for (number, ours) in weft_fields {
            match fabric_fields.get(number) {
                None => problems.push(format!(
                    "{name}: field {number} ({}) not in Fabric",
                    ours.name
                )),
                Some(f) if f != ours => problems.push(format!(
                    "{name}: field {number} differs: weft {ours:?}, Fabric {f:?}"
                )),
                Some(_) => {}
            }
        }
        for (number, f) in &fabric_fields {
            if !weft_fields.contains_key(number) {
                problems.push(format!(
                    "{name}: Fabric field {number} ({}) missing in weft",
                    f.name
                ));
            }
        }
    }

    let fabric_enums = fabric["enums"].as_object().expect("enums");
    for (name, values) in &weft.enums {
        let Some(theirs) = fabric_enums.get(name) else {
            problems.push(format!("enum {name}: not a Fabric enum"));
            continue;
        };
        let theirs: BTreeMap<String, i32> = theirs
            .as_object()
            .expect("enum object")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_i64().expect("enum number") as i32))
            .collect();
        if &theirs != values {
            problems.push(format!("enum {name}: weft {values:?}, Fabric {theirs:?}"));
        }
    }

    assert!(
        weft.messages.len() > 100,
        "weft defines only {} messages; the descriptor set looks incomplete",
        weft.messages.len()
    );
    assert!(
        problems.is_empty(),
        "weft's protos differ from Fabric's:\n{}",
        problems.join("\n")
    );
}

/// The comparison itself must be able to fail: a field with a changed number or
/// type is reported.
#[test]
fn a_changed_field_is_detected() {
    let weft = weft_schema();
    let envelope = &weft.messages["common.Envelope"];
    let payload = &envelope[&1];
    assert_eq!(payload.kind, "bytes");
    let mut changed = payload.clone();
    changed.kind = "string".into();
    assert_ne!(&changed, payload);
    let fabric = fabric_schema();
    let theirs: BTreeMap<i32, FieldShape> = fabric["messages"]["common.Envelope"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(fabric_field)
        .collect();
    assert_eq!(&theirs[&1], payload);
    assert_ne!(&theirs[&1], &changed);
}
