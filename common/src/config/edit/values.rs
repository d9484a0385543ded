//! Policies, ACLs and capabilities.

use prost::Message;
use weft_protos::common::{Capabilities, Capability, ConfigGroup, ConfigPolicy};
use weft_protos::protos::{AcLs, ApiResource};

use super::orgs::put_value;
use super::{CapabilityLevel, child_mut, refused};
use crate::CommonError;
use crate::config::{go_encoding, keys};
use crate::error::decode;
use crate::policy::PolicyDef;

pub(super) fn set_policy(
    root: &mut ConfigGroup,
    path: &str,
    policy: &PolicyDef,
) -> Result<(), CommonError> {
    let trimmed = path.trim_start_matches('/');
    let trimmed = trimmed.strip_prefix("Channel/").unwrap_or(trimmed);
    let mut parts: Vec<&str> = trimmed.split('/').collect();
    let name = parts
        .pop()
        .filter(|n| !n.is_empty() && *n != "Channel")
        .ok_or_else(|| {
            refused(format!(
                "{path:?} names no policy: write /Channel/<group>/.../<policy>"
            ))
        })?;
    let mut group = root;
    let mut walked = String::from("/Channel");
    for part in parts {
        walked.push('/');
        walked.push_str(part);
        group = group
            .groups
            .get_mut(part)
            .ok_or_else(|| refused(format!("no group {walked} for policy {path}")))?;
    }
    let proto = policy.to_proto()?;
    match group.policies.get_mut(name) {
        Some(existing) => existing.policy = Some(proto),
        None => {
            group.policies.insert(
                name.to_string(),
                ConfigPolicy {
                    version: 0,
                    policy: Some(proto),
                    mod_policy: "Admins".into(),
                },
            );
        }
    }
    Ok(())
}

pub(super) fn set_acl(
    root: &mut ConfigGroup,
    resource: &str,
    policy_ref: &str,
) -> Result<(), CommonError> {
    if resource.is_empty() {
        return Err(refused(
            "an ACL needs a resource name (such as peer/Propose)",
        ));
    }
    if !policy_ref.is_empty() && !policy_ref.starts_with("/Channel/") && policy_ref.contains('/') {
        return Err(refused(format!(
            "ACL policy {policy_ref:?} must be an absolute path (/Channel/Application/Writers) or a policy name of the application group"
        )));
    }
    let app = child_mut(root, keys::APPLICATION)?;
    let mut acls: AcLs = match app.values.get(keys::ACLS) {
        Some(v) => decode("ACLs", &v.value)?,
        None => AcLs::default(),
    };
    if policy_ref.is_empty() {
        if acls.acls.remove(resource).is_none() {
            return Err(refused(format!("the channel sets no ACL for {resource}")));
        }
    } else {
        acls.acls.insert(
            resource.to_string(),
            ApiResource {
                policy_ref: policy_ref.to_string(),
            },
        );
    }
    put_value(app, keys::ACLS, acls.encode_to_vec());
    Ok(())
}

/// The capabilities Fabric defines at each level; a node halts on one it does
/// not know, so an unknown name is refused here.
fn known(level: CapabilityLevel) -> &'static [&'static str] {
    match level {
        CapabilityLevel::Channel => &["V1_1", "V1_3", "V1_4_2", "V1_4_3", "V2_0", "V3_0"],
        CapabilityLevel::Orderer => &["V1_1", "V1_4_2", "V2_0"],
        CapabilityLevel::Application => &["V1_1", "V1_2", "V1_3", "V1_4_2", "V2_0", "V2_5"],
    }
}

pub(super) fn set_capabilities(
    root: &mut ConfigGroup,
    level: CapabilityLevel,
    names: &[String],
) -> Result<(), CommonError> {
    let known = known(level);
    if let Some(bad) = names.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(refused(format!(
            "{bad} is not a {level:?} capability (known: {})",
            known.join(", ")
        )));
    }
    let group = match level {
        CapabilityLevel::Channel => root,
        CapabilityLevel::Orderer => child_mut(root, keys::ORDERER)?,
        CapabilityLevel::Application => child_mut(root, keys::APPLICATION)?,
    };
    let bytes = go_encoding::capabilities(&Capabilities {
        capabilities: names.iter().map(|n| (n.clone(), Capability {})).collect(),
    });
    put_value(group, keys::CAPABILITIES, bytes);
    Ok(())
}
