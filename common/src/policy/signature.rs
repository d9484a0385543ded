//! Signature policies and their evaluation.

use std::fmt;

use prost::Message;
use weft_protos::common::{SignaturePolicy as PRule, SignaturePolicyEnvelope, signature_policy};

use crate::CommonError;
use crate::error::decode;
use crate::msp::{MspManager, Principal, ValidatedIdentity};

/// A rule over the envelope's principals.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The principal at this index must sign.
    SignedBy(usize),
    /// At least `n` of the sub-rules must hold.
    NOutOf(usize, Vec<Rule>),
}

/// A signature policy: a rule and the principals it refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignaturePolicy {
    /// The rule.
    pub rule: Rule,
    /// Principals, referenced by index from [`Rule::SignedBy`].
    pub identities: Vec<Principal>,
}

impl SignaturePolicy {
    /// Decodes a `SignaturePolicyEnvelope`, checking every index is in range.
    pub fn from_proto(env: &SignaturePolicyEnvelope) -> Result<Self, CommonError> {
        let identities = env
            .identities
            .iter()
            .map(Principal::from_proto)
            .collect::<Result<Vec<_>, _>>()?;
        let rule = env
            .rule
            .as_ref()
            .ok_or_else(|| CommonError::invalid("signature policy", "no rule"))
            .and_then(|r| rule_from_proto(r, identities.len(), 0))?;
        Ok(Self { rule, identities })
    }

    /// Decodes marshalled `SignaturePolicyEnvelope` bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CommonError> {
        Self::from_proto(&decode::<SignaturePolicyEnvelope>(
            "signature policy envelope",
            bytes,
        )?)
    }

    /// Encodes as a `SignaturePolicyEnvelope` (version 0, as Fabric writes it).
    pub fn to_proto(&self) -> SignaturePolicyEnvelope {
        SignaturePolicyEnvelope {
            version: 0,
            rule: Some(rule_to_proto(&self.rule)),
            identities: self.identities.iter().map(Principal::to_proto).collect(),
        }
    }

    /// Marshalled `SignaturePolicyEnvelope`.
    pub fn encode(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// Evaluates the policy against signers that were already validated and
    /// whose signatures were verified. Fabric's semantics: rules are tried in
    /// order, each identity can satisfy at most one `SignedBy`, and an `OutOf`
    /// keeps the identities used by the sub-rules that held.
    pub fn evaluate(&self, signers: &[ValidatedIdentity], msps: &MspManager) -> bool {
        let mut used = vec![false; signers.len()];
        self.eval_rule(&self.rule, signers, msps, &mut used)
    }

    fn eval_rule(
        &self,
        rule: &Rule,
        signers: &[ValidatedIdentity],
        msps: &MspManager,
        used: &mut [bool],
    ) -> bool {
        match rule {
            Rule::SignedBy(i) => {
                let principal = &self.identities[*i];
                for (j, s) in signers.iter().enumerate() {
                    if !used[j] && msps.satisfies(s, principal) {
                        used[j] = true;
                        return true;
                    }
                }
                false
            }
            Rule::NOutOf(n, rules) => {
                let mut verified = 0;
                let mut scratch = used.to_vec();
                for r in rules {
                    scratch.copy_from_slice(used);
                    if self.eval_rule(r, signers, msps, &mut scratch) {
                        verified += 1;
                        used.copy_from_slice(&scratch);
                    }
                }
                verified >= *n
            }
        }
    }
}

fn rule_from_proto(r: &PRule, n_ids: usize, depth: usize) -> Result<Rule, CommonError> {
    if depth > 32 {
        return Err(CommonError::invalid(
            "signature policy",
            "rules nested deeper than 32 levels",
        ));
    }
    match &r.r#type {
        Some(signature_policy::Type::SignedBy(i)) => {
            let i = usize::try_from(*i)
                .ok()
                .filter(|i| *i < n_ids)
                .ok_or_else(|| {
                    CommonError::invalid(
                        "signature policy",
                        format!("SignedBy({i}) refers to no principal (there are {n_ids})"),
                    )
                })?;
            Ok(Rule::SignedBy(i))
        }
        Some(signature_policy::Type::NOutOf(n)) => {
            let rules = n
                .rules
                .iter()
                .map(|r| rule_from_proto(r, n_ids, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            let count = usize::try_from(n.n)
                .map_err(|_| CommonError::invalid("signature policy", "negative N in OutOf"))?;
            Ok(Rule::NOutOf(count, rules))
        }
        None => Err(CommonError::invalid(
            "signature policy",
            "rule with neither SignedBy nor NOutOf",
        )),
    }
}

fn rule_to_proto(r: &Rule) -> PRule {
    PRule {
        r#type: Some(match r {
            Rule::SignedBy(i) => signature_policy::Type::SignedBy(*i as i32),
            Rule::NOutOf(n, rules) => signature_policy::Type::NOutOf(signature_policy::NOutOf {
                n: *n as i32,
                rules: rules.iter().map(rule_to_proto).collect(),
            }),
        }),
    }
}

impl fmt::Display for SignaturePolicy {
    /// Prints the policy in Fabric's language: `AND`/`OR` where they fit, `OutOf` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn write_rule(p: &SignaturePolicy, r: &Rule, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match r {
                Rule::SignedBy(i) => write!(f, "{}", p.identities[*i]),
                Rule::NOutOf(n, rules) => {
                    if *n == rules.len() && *n > 1 {
                        write!(f, "AND(")?;
                    } else if *n == 1 && rules.len() > 1 {
                        write!(f, "OR(")?;
                    } else {
                        write!(f, "OutOf({n}, ")?;
                    }
                    for (i, sub) in rules.iter().enumerate() {
                        if i > 0 {
                            write!(f, ", ")?;
                        }
                        write_rule(p, sub, f)?;
                    }
                    write!(f, ")")
                }
            }
        }
        write_rule(self, &self.rule, f)
    }
}
