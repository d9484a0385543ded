//! Private data collection definitions, as a chaincode definition carries
//! them (`CollectionConfigPackage`): read from Fabric's collections-config
//! JSON on the client side, and checked by `_lifecycle` on approval and
//! commit with Fabric's rules (`validateInput` in Fabric's lifecycle).

use std::collections::{BTreeMap, HashSet};

use prost::Message;
use weft_common::config::ChannelConfig;
use weft_common::ids::MspId;
use weft_protos::common::{
    MspPrincipal, MspRole, OrganizationUnit, SignaturePolicy, msp_principal, signature_policy,
};
use weft_protos::protos::{
    ApplicationPolicy, CollectionConfig, CollectionConfigPackage, CollectionPolicyConfig,
    StaticCollectionConfig, application_policy, collection_config, collection_policy_config,
};

use crate::PeerError;
use crate::chaincode::CollectionAccess;
use crate::refusal::{Refusal, err};

/// One entry of Fabric's `--collections-config` file.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CollectionJson {
    name: String,
    policy: String,
    required_peer_count: Option<i32>,
    max_peer_count: Option<i32>,
    #[serde(default)]
    block_to_live: u64,
    #[serde(default)]
    member_only_read: bool,
    #[serde(default)]
    member_only_write: bool,
    endorsement_policy: Option<EndorsementJson>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndorsementJson {
    #[serde(default)]
    signature_policy: String,
    #[serde(default)]
    channel_config_policy: String,
}

fn config_err(reason: String) -> PeerError {
    PeerError::Config(format!("collections config: {reason}"))
}

/// Reads Fabric's collections-config JSON (an array of `{"name", "policy",
/// "requiredPeerCount", "maxPeerCount", "blockToLive", "memberOnlyRead",
/// "memberOnlyWrite", "endorsementPolicy"}`), with the defaults of Fabric's
/// CLI: 0 required peers, at most 1.
pub fn from_json(text: &str) -> Result<CollectionConfigPackage, PeerError> {
    let entries: Vec<CollectionJson> =
        serde_json::from_str(text).map_err(|e| config_err(e.to_string()))?;
    let mut config = Vec::with_capacity(entries.len());
    for c in entries {
        let members = weft_common::policy::parse_signature_policy(&c.policy)
            .map_err(|e| config_err(format!("{}: policy {:?}: {e}", c.name, c.policy)))?;
        let endorsement_policy = match c.endorsement_policy {
            None => None,
            Some(e) => Some(endorsement(&c.name, e)?),
        };
        config.push(CollectionConfig {
            payload: Some(collection_config::Payload::StaticCollectionConfig(
                StaticCollectionConfig {
                    name: c.name,
                    member_orgs_policy: Some(CollectionPolicyConfig {
                        payload: Some(collection_policy_config::Payload::SignaturePolicy(
                            members.to_proto(),
                        )),
                    }),
                    required_peer_count: c.required_peer_count.unwrap_or(0),
                    maximum_peer_count: c.max_peer_count.unwrap_or(1),
                    block_to_live: c.block_to_live,
                    member_only_read: c.member_only_read,
                    member_only_write: c.member_only_write,
                    endorsement_policy,
                },
            )),
        });
    }
    Ok(CollectionConfigPackage { config })
}

fn endorsement(collection: &str, e: EndorsementJson) -> Result<ApplicationPolicy, PeerError> {
    let policy = match (
        e.signature_policy.is_empty(),
        e.channel_config_policy.is_empty(),
    ) {
        (false, false) | (true, true) => {
            return Err(config_err(format!(
                "{collection}: endorsementPolicy takes one of signaturePolicy and channelConfigPolicy"
            )));
        }
        (false, true) => {
            let p = weft_common::policy::parse_signature_policy(&e.signature_policy).map_err(
                |err| {
                    config_err(format!(
                        "{collection}: endorsement policy {:?}: {err}",
                        e.signature_policy
                    ))
                },
            )?;
            application_policy::Type::SignaturePolicy(p.to_proto())
        }
        (true, false) => {
            application_policy::Type::ChannelConfigPolicyReference(e.channel_config_policy)
        }
    };
    Ok(ApplicationPolicy {
        r#type: Some(policy),
    })
}

/// A collection name: alphanumerics, `-` and `_`, not starting with `_`
/// (names starting with `_` are the implicit collections').
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The static collections of a package (the only kind there is).
fn statics(pkg: &CollectionConfigPackage) -> Result<Vec<&StaticCollectionConfig>, Refusal> {
    pkg.config
        .iter()
        .map(|c| match &c.payload {
            Some(collection_config::Payload::StaticCollectionConfig(s)) => Ok(s),
            None => Err(err(400, "collection configuration is empty")),
        })
        .collect()
}

/// Fabric's checks of a definition's collections against the channel: valid
/// and distinct names, peer counts that make sense, and a member policy that
/// is an OR of principals of the channel's organisations.
pub fn validate(pkg: &CollectionConfigPackage, config: &ChannelConfig) -> Result<(), Refusal> {
    let mut names = HashSet::new();
    for c in statics(pkg)? {
        if !valid_name(&c.name) {
            return Err(err(
                400,
                format!(
                    "invalid collection name '{}'. Names can only consist of alphanumerics, '_', and '-' and cannot begin with '_'",
                    c.name
                ),
            ));
        }
        if !names.insert(c.name.as_str()) {
            return Err(err(
                400,
                format!(
                    "collection-name: {} -- found duplicate in collection configuration",
                    c.name
                ),
            ));
        }
        if c.maximum_peer_count < c.required_peer_count {
            return Err(err(
                400,
                format!(
                    "collection-name: {} -- maximum peer count ({}) cannot be less than the required peer count ({})",
                    c.name, c.maximum_peer_count, c.required_peer_count
                ),
            ));
        }
        if c.required_peer_count < 0 {
            return Err(err(
                400,
                format!(
                    "collection-name: {} -- requiredPeerCount ({}) cannot be less than zero",
                    c.name, c.required_peer_count
                ),
            ));
        }
        member_policy(c, config)?;
    }
    Ok(())
}

fn member_policy(c: &StaticCollectionConfig, config: &ChannelConfig) -> Result<(), Refusal> {
    let Some(policy) = c
        .member_orgs_policy
        .as_ref()
        .and_then(|p| p.payload.as_ref())
        .map(|collection_policy_config::Payload::SignaturePolicy(p)| p)
    else {
        return Err(err(
            400,
            format!(
                "collection member policy is not set for collection '{}'",
                c.name
            ),
        ));
    };
    weft_common::policy::SignaturePolicy::from_proto(policy).map_err(|e| {
        err(
            400,
            format!("invalid member org policy for collection '{}': {e}", c.name),
        )
    })?;
    if let Some(rule) = &policy.rule {
        only_ors(rule).map_err(|n| {
            err(
                400,
                format!(
                    "collection-name: {} -- error in member org policy: signature policy is not an OR concatenation, NOutOf {n}",
                    c.name
                ),
            )
        })?;
    }
    for principal in &policy.identities {
        let msp = principal_msp(principal)
            .map_err(|why| err(400, format!("collection-name: {} -- {why}", c.name)))?;
        if config.msps.get(&MspId::new(&msp)).is_none() {
            return Err(err(
                400,
                format!(
                    "collection-name: {} -- collection member '{msp}' is not part of the channel",
                    c.name
                ),
            ));
        }
    }
    Ok(())
}

/// `Err(n)`: a rule requires `n` > 1 signatures.
fn only_ors(rule: &SignaturePolicy) -> Result<(), i32> {
    match &rule.r#type {
        Some(signature_policy::Type::NOutOf(n)) => {
            if n.n != 1 {
                return Err(n.n);
            }
            n.rules.iter().try_for_each(only_ors)
        }
        _ => Ok(()),
    }
}

/// The MSP a member-policy principal belongs to.
fn principal_msp(p: &MspPrincipal) -> Result<String, String> {
    use msp_principal::Classification;
    let class = Classification::try_from(p.principal_classification).map_err(|_| {
        format!(
            "principal type {} is not supported",
            p.principal_classification
        )
    })?;
    let msp = match class {
        Classification::Role => MspRole::decode(p.principal.as_slice())
            .map(|r| r.msp_identifier)
            .map_err(|e| format!("cannot unmarshal identity bytes into MSPRole: {e}"))?,
        Classification::OrganizationUnit => OrganizationUnit::decode(p.principal.as_slice())
            .map(|o| o.msp_identifier)
            .map_err(|e| format!("cannot unmarshal identity bytes into OrganizationUnit: {e}"))?,
        Classification::Identity => {
            weft_protos::msp::SerializedIdentity::decode(p.principal.as_slice())
                .map(|i| i.mspid)
                .map_err(|_| "contains an identity that is not part of the channel".to_string())?
        }
        other => return Err(format!("principal type {other:?} is not supported")),
    };
    Ok(msp)
}

/// The organisations whose members belong to a collection (the MSPs its
/// member policy names).
pub fn member_orgs(c: &StaticCollectionConfig) -> Vec<String> {
    c.member_orgs_policy
        .as_ref()
        .and_then(|p| p.payload.as_ref())
        .map(|collection_policy_config::Payload::SignaturePolicy(p)| {
            p.identities
                .iter()
                .filter_map(|i| principal_msp(i).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What an invocation by a client of `creator_org` on a peer of `peer_org`
/// may do with each collection of a definition, and with every channel
/// org's implicit collection (members: that org; anyone may read and write).
pub fn access(
    pkg: &CollectionConfigPackage,
    channel_orgs: &[String],
    peer_org: &str,
    creator_org: &str,
) -> BTreeMap<String, CollectionAccess> {
    let mut out = BTreeMap::new();
    for org in channel_orgs {
        out.insert(
            super::layout::implicit_collection(org),
            CollectionAccess {
                peer_is_member: org == peer_org,
                creator_is_member: org == creator_org,
                member_only_read: false,
                member_only_write: false,
            },
        );
    }
    for c in super::collection_rules::declared(pkg) {
        out.insert(
            c.name.clone(),
            CollectionAccess {
                peer_is_member: c.has_member(peer_org),
                creator_is_member: c.has_member(creator_org),
                member_only_read: c.member_only_read,
                member_only_write: c.member_only_write,
            },
        );
    }
    out
}

/// Fabric's rule for an update: every committed collection stays, with
/// its BlockToLive unchanged; new ones may be added.
pub fn validate_against_committed(
    proposed: &CollectionConfigPackage,
    committed: &CollectionConfigPackage,
) -> Result<(), Refusal> {
    let committed = statics(committed)?;
    if committed.is_empty() {
        return Ok(());
    }
    let proposed = statics(proposed)?;
    if proposed.is_empty() {
        return Err(err(
            400,
            "the proposed collection config does not contain previously defined collections",
        ));
    }
    for old in committed {
        let Some(new) = proposed.iter().find(|c| c.name == old.name) else {
            return Err(err(
                400,
                format!(
                    "existing collection [{}] missing in the proposed collection configuration",
                    old.name
                ),
            ));
        };
        if new.block_to_live != old.block_to_live {
            return Err(err(
                400,
                format!(
                    "the BlockToLive in an existing collection [{}] modified. Existing value [{}]",
                    old.name, old.block_to_live
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
