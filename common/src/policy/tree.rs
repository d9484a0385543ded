//! A channel's policies, addressed by path (`/Channel/Application/Writers`).

use std::collections::BTreeMap;

use weft_protos::common::{ConfigGroup, ImplicitMetaPolicy, policy::PolicyType};

use super::signature::SignaturePolicy;
use super::signed_data::Signers;
use crate::CommonError;
use crate::error::decode;
use crate::msp::MspManager;

/// How many child groups an implicit-meta policy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImplicitMetaRule {
    /// At least one.
    Any,
    /// Every one.
    All,
    /// More than half.
    Majority,
}

impl ImplicitMetaRule {
    /// The threshold for `n` sub-policies, as Fabric computes it (0 when there are none).
    pub fn threshold(self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        match self {
            ImplicitMetaRule::Any => 1,
            ImplicitMetaRule::All => n,
            ImplicitMetaRule::Majority => n / 2 + 1,
        }
    }

    /// The upper-case name (`ANY`, `ALL`, `MAJORITY`).
    pub fn as_str(self) -> &'static str {
        match self {
            ImplicitMetaRule::Any => "ANY",
            ImplicitMetaRule::All => "ALL",
            ImplicitMetaRule::Majority => "MAJORITY",
        }
    }
}

/// A policy of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyDef {
    /// A signature policy.
    Signature(SignaturePolicy),
    /// `rule` of the child groups' `sub_policy`.
    ImplicitMeta {
        /// ANY, ALL or MAJORITY.
        rule: ImplicitMetaRule,
        /// The policy name looked up in each child group.
        sub_policy: String,
    },
    /// A policy type weft does not evaluate (it never passes).
    Unsupported(i32),
}

impl PolicyDef {
    /// Decodes a `common.Policy`.
    pub fn from_proto(p: &weft_protos::common::Policy) -> Result<Self, CommonError> {
        Ok(match PolicyType::try_from(p.r#type) {
            Ok(PolicyType::Signature) => PolicyDef::Signature(SignaturePolicy::decode(&p.value)?),
            Ok(PolicyType::ImplicitMeta) => {
                let m: ImplicitMetaPolicy = decode("implicit meta policy", &p.value)?;
                let rule = match m.rule {
                    0 => ImplicitMetaRule::Any,
                    1 => ImplicitMetaRule::All,
                    2 => ImplicitMetaRule::Majority,
                    other => {
                        return Err(CommonError::invalid(
                            "implicit meta policy",
                            format!("unknown rule {other}"),
                        ));
                    }
                };
                PolicyDef::ImplicitMeta {
                    rule,
                    sub_policy: m.sub_policy,
                }
            }
            _ => PolicyDef::Unsupported(p.r#type),
        })
    }

    /// Parses a policy as an operator writes it: `ANY Readers` /
    /// `MAJORITY Endorsement` (implicit-meta, when it starts with ANY, ALL or
    /// MAJORITY) or a signature policy (`OR('Org1MSP.admin')`).
    pub fn parse(text: &str) -> Result<Self, CommonError> {
        let first = text.split_whitespace().next().unwrap_or("");
        if ["ANY", "ALL", "MAJORITY"].contains(&first.to_ascii_uppercase().as_str()) {
            Self::parse_implicit_meta(text)
        } else {
            Ok(PolicyDef::Signature(super::dsl::parse(text)?))
        }
    }

    /// The `common.Policy` that holds it (refused for [`PolicyDef::Unsupported`]).
    pub fn to_proto(&self) -> Result<weft_protos::common::Policy, CommonError> {
        use prost::Message;
        Ok(match self {
            PolicyDef::Signature(s) => weft_protos::common::Policy {
                r#type: PolicyType::Signature as i32,
                value: s.encode(),
            },
            PolicyDef::ImplicitMeta { rule, sub_policy } => weft_protos::common::Policy {
                r#type: PolicyType::ImplicitMeta as i32,
                value: ImplicitMetaPolicy {
                    sub_policy: sub_policy.clone(),
                    rule: match rule {
                        ImplicitMetaRule::Any => 0,
                        ImplicitMetaRule::All => 1,
                        ImplicitMetaRule::Majority => 2,
                    },
                }
                .encode_to_vec(),
            },
            PolicyDef::Unsupported(t) => {
                return Err(CommonError::Config(format!(
                    "policy type {t} cannot be written"
                )));
            }
        })
    }

    /// Parses `ANY Readers` / `MAJORITY Admins` (configtx.yaml's ImplicitMeta rule text).
    pub fn parse_implicit_meta(text: &str) -> Result<Self, CommonError> {
        let mut parts = text.split_whitespace();
        let (Some(rule), Some(sub), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CommonError::PolicyParse {
                text: text.into(),
                reason: "an ImplicitMeta rule is '<ANY|ALL|MAJORITY> <SubPolicy>'".into(),
            });
        };
        let rule = match rule.to_ascii_uppercase().as_str() {
            "ANY" => ImplicitMetaRule::Any,
            "ALL" => ImplicitMetaRule::All,
            "MAJORITY" => ImplicitMetaRule::Majority,
            other => {
                return Err(CommonError::PolicyParse {
                    text: text.into(),
                    reason: format!("unknown rule '{other}': use ANY, ALL or MAJORITY"),
                });
            }
        };
        Ok(PolicyDef::ImplicitMeta {
            rule,
            sub_policy: sub.to_string(),
        })
    }
}

/// A group of the tree: its policies and child groups.
#[derive(Debug, Clone, Default)]
pub struct PolicyTree {
    pub(super) name: String,
    pub(super) policies: BTreeMap<String, PolicyDef>,
    pub(super) groups: BTreeMap<String, PolicyTree>,
}

impl PolicyTree {
    /// Builds the tree from a channel's root config group (named `Channel`).
    pub fn from_channel_group(group: &ConfigGroup) -> Result<Self, CommonError> {
        Self::from_group("Channel", group)
    }

    fn from_group(name: &str, group: &ConfigGroup) -> Result<Self, CommonError> {
        let mut policies = BTreeMap::new();
        for (pname, cp) in &group.policies {
            let def = match &cp.policy {
                Some(p) => PolicyDef::from_proto(p)
                    .map_err(|e| CommonError::Config(format!("policy {name}/{pname}: {e}")))?,
                None => PolicyDef::Unsupported(0),
            };
            policies.insert(pname.clone(), def);
        }
        let mut groups = BTreeMap::new();
        for (gname, g) in &group.groups {
            groups.insert(gname.clone(), Self::from_group(gname, g)?);
        }
        Ok(Self {
            name: name.to_string(),
            policies,
            groups,
        })
    }

    pub(super) fn locate<'p>(&self, path: &'p str) -> Option<(&PolicyTree, &'p str)> {
        let relative = path.trim_start_matches('/');
        let (groups, policy) = match relative.rsplit_once('/') {
            Some((groups, policy)) => (Some(groups), policy),
            None => (None, relative),
        };
        let mut groups = groups.into_iter().flat_map(|g| g.split('/'));
        let mut node = self;
        if path.starts_with('/') && groups.next() != Some(node.name.as_str()) {
            return None;
        }
        for g in groups {
            node = node.groups.get(g)?;
        }
        Some((node, policy))
    }

    /// The policy at `path` (absolute `/Channel/...`, or relative to this group).
    pub fn get(&self, path: &str) -> Option<&PolicyDef> {
        let (node, name) = self.locate(path)?;
        node.policies.get(name)
    }

    /// The child group of this name.
    pub fn group(&self, name: &str) -> Option<&PolicyTree> {
        self.groups.get(name)
    }

    /// Evaluates the policy at `path` against verified signers. The error says
    /// which policy failed and why, down to the sub-policies of implicit-meta ones.
    pub fn evaluate(
        &self,
        path: &str,
        signers: &Signers,
        msps: &MspManager,
    ) -> Result<(), CommonError> {
        let (node, name) = self
            .locate(path)
            .filter(|(node, name)| node.policies.contains_key(*name))
            .ok_or_else(|| CommonError::UnknownPolicy(path.to_string()))?;
        if node.satisfied(name, signers, msps) {
            return Ok(());
        }
        // Only a refusal pays for the explanation.
        let reason = node
            .explain(name, signers, msps)
            .err()
            .unwrap_or_else(|| "not satisfied".to_string());
        Err(CommonError::PolicyNotSatisfied {
            path: path.to_string(),
            reason,
        })
    }

    /// Whether this group's policy `name` is satisfied. The hot path of every
    /// admission and validation: no strings, and an implicit-meta policy stops
    /// at its threshold.
    fn satisfied(&self, name: &str, signers: &Signers, msps: &MspManager) -> bool {
        match self.policies.get(name) {
            None | Some(PolicyDef::Unsupported(_)) => false,
            Some(PolicyDef::Signature(p)) => p.evaluate(&signers.valid, msps),
            Some(PolicyDef::ImplicitMeta { rule, sub_policy }) => {
                let threshold = rule.threshold(self.groups.len());
                let mut count = 0;
                for g in self.groups.values() {
                    if count >= threshold {
                        break;
                    }
                    if g.satisfied(sub_policy, signers, msps) {
                        count += 1;
                    }
                }
                count >= threshold
            }
        }
    }

    /// Who must still sign for the policy at `path` to be satisfied by
    /// `signers`, in words ("1 more of the Admins of Org2MSP, Org3MSP");
    /// `None` when it is satisfied. For an offline multi-signature workflow:
    /// the next signers can be named before anything is submitted.
    pub fn still_needed(&self, path: &str, signers: &Signers, msps: &MspManager) -> Option<String> {
        let Some((node, name)) = self
            .locate(path)
            .filter(|(node, name)| node.policies.contains_key(*name))
        else {
            return Some(format!("a policy {path}, which does not exist"));
        };
        node.needed(name, signers, msps)
    }

    fn needed(&self, name: &str, signers: &Signers, msps: &MspManager) -> Option<String> {
        match self.policies.get(name) {
            None => Some(format!("a policy {name} in group {}", self.name)),
            Some(PolicyDef::Unsupported(t)) => {
                Some(format!("a policy of type {t}, which weft cannot evaluate"))
            }
            Some(PolicyDef::Signature(p)) => {
                (!p.evaluate(&signers.valid, msps)).then(|| format!("signatures satisfying {p}"))
            }
            Some(PolicyDef::ImplicitMeta { rule, sub_policy }) => {
                let threshold = rule.threshold(self.groups.len());
                let mut satisfied = 0;
                let mut missing: Vec<(String, Option<String>)> = Vec::new();
                for (gname, g) in &self.groups {
                    match g.needed(sub_policy, signers, msps) {
                        None => satisfied += 1,
                        Some(why) => {
                            // A group's signature policy is named by the
                            // group; a deeper implicit-meta one says more.
                            let nested = matches!(
                                g.policies.get(sub_policy),
                                Some(PolicyDef::ImplicitMeta { .. })
                            );
                            missing.push((gname.clone(), nested.then_some(why)));
                        }
                    }
                }
                if satisfied >= threshold {
                    return None;
                }
                let names: Vec<String> = missing
                    .into_iter()
                    .map(|(g, why)| match why {
                        Some(why) => format!("{g} ({why})"),
                        None => g,
                    })
                    .collect();
                Some(format!(
                    "{} more of the {sub_policy} of {}",
                    threshold - satisfied,
                    names.join(", ")
                ))
            }
        }
    }

    /// Evaluates this group's policy `name`, saying why it is not satisfied.
    fn explain(&self, name: &str, signers: &Signers, msps: &MspManager) -> Result<(), String> {
        match self.policies.get(name) {
            None => Err(format!("group {} has no policy {name}", self.name)),
            Some(PolicyDef::Unsupported(t)) => Err(format!("policy type {t} is not supported")),
            Some(PolicyDef::Signature(p)) => {
                if p.evaluate(&signers.valid, msps) {
                    Ok(())
                } else {
                    Err(format!("{p} requires more than {}", signers.describe()))
                }
            }
            Some(PolicyDef::ImplicitMeta { rule, sub_policy }) => {
                let threshold = rule.threshold(self.groups.len());
                let mut satisfied = Vec::new();
                let mut failed = Vec::new();
                for (gname, g) in &self.groups {
                    match g.explain(sub_policy, signers, msps) {
                        Ok(()) => satisfied.push(gname.clone()),
                        Err(e) => failed.push(format!("{gname}: {e}")),
                    }
                }
                if satisfied.len() >= threshold {
                    Ok(())
                } else {
                    Err(format!(
                        "{} {sub_policy} needs {threshold} of {} groups, {} satisfied {:?}; {}",
                        rule.as_str(),
                        self.groups.len(),
                        satisfied.len(),
                        satisfied,
                        failed.join("; ")
                    ))
                }
            }
        }
    }
}
