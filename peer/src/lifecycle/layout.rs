//! Fabric's key and value layout of chaincode definitions in `_lifecycle`.
//!
//! A structure named `name` under prefix `namespaces` (public definitions)
//! or `chaincode-sources` (an org's package choice) is stored as
//! `<prefix>/metadata/<name>` → `StateMetadata {datatype, fields}` and one
//! `<prefix>/fields/<name>/<Field>` → `StateData` per field. An org's approval
//! uses the name `<chaincode>#<sequence>` in its implicit collection.
//! (Checked against the hashes in the real Fabric chain's lifecycle blocks.)

use prost::Message;
use weft_protos::lifecycle::{
    ChaincodeEndorsementInfo, ChaincodeValidationInfo, StateData, StateMetadata, state_data,
};
use weft_protos::protos::{ApplicationPolicy, CollectionConfigPackage, application_policy};

/// Public definitions.
pub const NAMESPACES: &str = "namespaces";
/// An org's chosen package.
pub const CHAINCODE_SOURCES: &str = "chaincode-sources";
/// The channel policy a definition uses when it names none.
pub const DEFAULT_ENDORSEMENT_POLICY: &str = "/Channel/Application/Endorsement";

/// The parameters every org approves and the channel commits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parameters {
    /// Chaincode version string.
    pub version: String,
    /// Endorsement plugin (`escc`).
    pub endorsement_plugin: String,
    /// Validation plugin (`vscc`).
    pub validation_plugin: String,
    /// `ApplicationPolicy` bytes.
    pub validation_parameter: Vec<u8>,
    /// Private data collections.
    pub collections: CollectionConfigPackage,
    /// Whether `Init` must run first.
    pub init_required: bool,
}

impl Parameters {
    /// Fills Fabric's defaults for what the request left empty.
    pub fn with_defaults(mut self) -> Self {
        if self.endorsement_plugin.is_empty() {
            self.endorsement_plugin = "escc".into();
        }
        if self.validation_plugin.is_empty() {
            self.validation_plugin = "vscc".into();
        }
        if self.validation_parameter.is_empty() {
            self.validation_parameter = ApplicationPolicy {
                r#type: Some(application_policy::Type::ChannelConfigPolicyReference(
                    DEFAULT_ENDORSEMENT_POLICY.into(),
                )),
            }
            .encode_to_vec();
        }
        self
    }

    /// The three approved fields as (field, StateData bytes).
    pub fn fields(&self) -> Vec<(&'static str, Vec<u8>)> {
        let endorsement = ChaincodeEndorsementInfo {
            version: self.version.clone(),
            init_required: self.init_required,
            endorsement_plugin: self.endorsement_plugin.clone(),
        };
        let validation = ChaincodeValidationInfo {
            validation_plugin: self.validation_plugin.clone(),
            validation_parameter: self.validation_parameter.clone(),
        };
        vec![
            ("EndorsementInfo", bytes_data(endorsement.encode_to_vec())),
            ("ValidationInfo", bytes_data(validation.encode_to_vec())),
            ("Collections", bytes_data(self.collections.encode_to_vec())),
        ]
    }

    /// Reads the fields back.
    pub fn from_fields(endorsement: &[u8], validation: &[u8], collections: &[u8]) -> Option<Self> {
        let e = ChaincodeEndorsementInfo::decode(data_bytes(endorsement)?.as_slice()).ok()?;
        let v = ChaincodeValidationInfo::decode(data_bytes(validation)?.as_slice()).ok()?;
        let c = CollectionConfigPackage::decode(data_bytes(collections)?.as_slice()).ok()?;
        Some(Self {
            version: e.version,
            endorsement_plugin: e.endorsement_plugin,
            validation_plugin: v.validation_plugin,
            validation_parameter: v.validation_parameter,
            collections: c,
            init_required: e.init_required,
        })
    }
}

fn bytes_data(b: Vec<u8>) -> Vec<u8> {
    StateData {
        r#type: Some(state_data::Type::Bytes(b)),
    }
    .encode_to_vec()
}

fn data_bytes(v: &[u8]) -> Option<Vec<u8>> {
    match StateData::decode(v).ok()?.r#type? {
        state_data::Type::Bytes(b) => Some(b),
        _ => None,
    }
}

/// The `EndorsementInfo` field: version, init-required, plugin.
pub fn endorsement_info(v: &[u8]) -> Option<ChaincodeEndorsementInfo> {
    ChaincodeEndorsementInfo::decode(data_bytes(v)?.as_slice()).ok()
}

/// The `Collections` field: the definition's collection package.
pub fn collections(v: &[u8]) -> Option<CollectionConfigPackage> {
    CollectionConfigPackage::decode(data_bytes(v)?.as_slice()).ok()
}

/// The key (in a chaincode's own namespace) recording which version ran
/// `Init`, as Fabric names it.
pub const INITIALIZED_KEY: &str = "\u{0}\u{10FFFF}initialized";

/// A `StateData` holding an integer.
pub fn int_data(i: i64) -> Vec<u8> {
    StateData {
        r#type: Some(state_data::Type::Int64(i)),
    }
    .encode_to_vec()
}

/// The integer in a `StateData`.
pub fn data_int(v: &[u8]) -> Option<i64> {
    match StateData::decode(v).ok()?.r#type? {
        state_data::Type::Int64(i) => Some(i),
        _ => None,
    }
}

/// A `StateData` holding a string.
pub fn string_data(s: &str) -> Vec<u8> {
    StateData {
        r#type: Some(state_data::Type::String(s.into())),
    }
    .encode_to_vec()
}

/// The string in a `StateData`.
pub fn data_string(v: &[u8]) -> Option<String> {
    match StateData::decode(v).ok()?.r#type? {
        state_data::Type::String(s) => Some(s),
        _ => None,
    }
}

/// `<prefix>/metadata/<name>`.
pub fn metadata_key(prefix: &str, name: &str) -> String {
    format!("{prefix}/metadata/{name}")
}

/// `<prefix>/fields/<name>/<field>`.
pub fn field_key(prefix: &str, name: &str, field: &str) -> String {
    format!("{prefix}/fields/{name}/{field}")
}

/// A `StateMetadata` value.
pub fn metadata(datatype: &str, fields: &[&str]) -> Vec<u8> {
    StateMetadata {
        datatype: datatype.into(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
    }
    .encode_to_vec()
}

/// The key/value pairs of an org's approval of `name` at `sequence`
/// (in its implicit collection), without the package choice.
pub fn approval(name: &str, sequence: i64, p: &Parameters) -> Vec<(String, Vec<u8>)> {
    let private_name = format!("{name}#{sequence}");
    let mut kv = vec![(
        metadata_key(NAMESPACES, &private_name),
        metadata(
            "ChaincodeParameters",
            &["EndorsementInfo", "ValidationInfo", "Collections"],
        ),
    )];
    for (field, value) in p.fields() {
        kv.push((field_key(NAMESPACES, &private_name, field), value));
    }
    kv
}

/// The key/value pairs of an org's package choice for `name` at `sequence`
/// (`None`: the org approves without a package on this peer).
pub fn package_choice(
    name: &str,
    sequence: i64,
    package_id: Option<&str>,
) -> Vec<(String, Vec<u8>)> {
    let private_name = format!("{name}#{sequence}");
    match package_id {
        Some(id) => vec![
            (
                metadata_key(CHAINCODE_SOURCES, &private_name),
                metadata("ChaincodeLocalPackage", &["PackageID"]),
            ),
            (
                field_key(CHAINCODE_SOURCES, &private_name, "PackageID"),
                string_data(id),
            ),
        ],
        None => vec![(
            metadata_key(CHAINCODE_SOURCES, &private_name),
            metadata("ChaincodeUnavailable", &[]),
        )],
    }
}

/// The public key/value pairs of a committed definition.
pub fn definition(name: &str, sequence: i64, p: &Parameters) -> Vec<(String, Vec<u8>)> {
    let mut kv = vec![
        (
            metadata_key(NAMESPACES, name),
            metadata(
                "ChaincodeDefinition",
                &[
                    "Sequence",
                    "EndorsementInfo",
                    "ValidationInfo",
                    "Collections",
                ],
            ),
        ),
        (field_key(NAMESPACES, name, "Sequence"), int_data(sequence)),
    ];
    for (field, value) in p.fields() {
        kv.push((field_key(NAMESPACES, name, field), value));
    }
    kv
}

/// The implicit collection of an org.
pub fn implicit_collection(msp_id: &str) -> String {
    format!("_implicit_org_{msp_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(b: &[u8]) -> String {
        hex::encode(&weft_common::crypto::sha256(b)[..8])
    }

    /// Values whose hashes the real Fabric chain's approvals carry (block 1 of the fixture).
    #[test]
    fn approval_values_hash_as_in_fabric() {
        let p = Parameters {
            version: "1.0".into(),
            ..Default::default()
        }
        .with_defaults();
        let kv: std::collections::BTreeMap<String, Vec<u8>> =
            approval("asset", 1, &p).into_iter().collect();
        assert_eq!(hash(&kv["namespaces/metadata/asset#1"]), "991432db73fede13");
        assert_eq!(
            hash(&kv["namespaces/fields/asset#1/EndorsementInfo"]),
            "2d718b88473f63f9"
        );
        assert_eq!(
            hash(&kv["namespaces/fields/asset#1/ValidationInfo"]),
            "18a308f4889f4e6d"
        );
        assert_eq!(
            hash(&kv["namespaces/fields/asset#1/Collections"]),
            "08da7c45cb204377"
        );
        let choice: std::collections::BTreeMap<String, Vec<u8>> =
            package_choice("asset", 1, Some("x")).into_iter().collect();
        assert_eq!(
            hash(&choice["chaincode-sources/metadata/asset#1"]),
            "6952ede022cbae95"
        );
        // The public definition as block 2 wrote it.
        let public: std::collections::BTreeMap<String, Vec<u8>> =
            definition("asset", 1, &p).into_iter().collect();
        use base64::Engine;
        let b64 = |v: &[u8]| base64::engine::general_purpose::STANDARD.encode(v);
        assert_eq!(b64(&public["namespaces/fields/asset/Sequence"]), "CAE=");
        assert_eq!(
            b64(&public["namespaces/fields/asset/EndorsementInfo"]),
            "EgsKAzEuMBoEZXNjYw=="
        );
        assert_eq!(b64(&public["namespaces/fields/asset/Collections"]), "EgA=");
        assert_eq!(
            b64(&public["namespaces/metadata/asset"]),
            "ChNDaGFpbmNvZGVEZWZpbml0aW9uEghTZXF1ZW5jZRIPRW5kb3JzZW1lbnRJbmZvEg5WYWxpZGF0aW9uSW5mbxILQ29sbGVjdGlvbnM="
        );
    }
}
