//! Which principals can satisfy a policy (Fabric's `policies/inquire`): the
//! combinations service discovery turns into endorsement layouts.
//!
//! A signature policy's combinations are found by choosing, at every
//! `OutOf(n)`, each `n` of its rules, and joining what they need; a principal
//! needed twice appears twice. Combinations that contain another are dropped
//! (Fabric's `Reduce`): a client never needs more endorsements than a smaller
//! set that already satisfies the policy. An implicit-meta policy is first
//! converted to a signature policy (Fabric's `Convert`): `OutOf(threshold)`
//! over its groups' sub-policies.

use crate::CommonError;
use crate::msp::Principal;

use super::{PolicyDef, PolicyTree, Rule, SignaturePolicy};

/// Principals that together satisfy a policy (with repetitions).
pub type PrincipalSet = Vec<Principal>;

/// At most this many combinations are computed (Fabric's bound).
const MAX_COMBINATIONS: usize = 10_000;

impl SignaturePolicy {
    /// Every minimal combination of principals that satisfies the policy,
    /// each sorted; an error if there are more than Fabric's bound.
    pub fn satisfied_by(&self) -> Result<Vec<PrincipalSet>, CommonError> {
        let combos = combinations(&self.rule)?;
        let sets = combos
            .into_iter()
            .map(|indices| {
                let mut set: PrincipalSet = indices
                    .iter()
                    .map(|i| self.identities[*i].clone())
                    .collect();
                set.sort_by_key(principal_key);
                set
            })
            .collect();
        Ok(reduce(sets))
    }
}

/// A stable sort key for principals.
pub fn principal_key(p: &Principal) -> String {
    format!("{p:?}")
}

/// The combinations of principal indices that satisfy `rule`.
fn combinations(rule: &Rule) -> Result<Vec<Vec<usize>>, CommonError> {
    match rule {
        Rule::SignedBy(i) => Ok(vec![vec![*i]]),
        Rule::NOutOf(n, rules) => {
            if *n == 0 {
                return Ok(vec![Vec::new()]);
            }
            let children: Vec<Vec<Vec<usize>>> =
                rules.iter().map(combinations).collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for chosen in choose(children.len(), *n)? {
                // The cartesian product of the chosen rules' combinations.
                let mut acc: Vec<Vec<usize>> = vec![Vec::new()];
                for c in chosen {
                    let mut next = Vec::new();
                    for a in &acc {
                        for b in &children[c] {
                            let mut joined = a.clone();
                            joined.extend_from_slice(b);
                            next.push(joined);
                            if next.len() > MAX_COMBINATIONS {
                                return Err(too_many());
                            }
                        }
                    }
                    acc = next;
                }
                out.extend(acc);
                if out.len() > MAX_COMBINATIONS {
                    return Err(too_many());
                }
            }
            Ok(out)
        }
    }
}

fn too_many() -> CommonError {
    CommonError::invalid(
        "policy",
        format!("more than {MAX_COMBINATIONS} principal combinations satisfy it"),
    )
}

/// Every way to choose `k` of `n` items (indices in increasing order); an
/// error past Fabric's bound, before the work is done.
fn choose(n: usize, k: usize) -> Result<Vec<Vec<usize>>, CommonError> {
    fn go(
        start: usize,
        n: usize,
        k: usize,
        cur: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) -> Result<(), CommonError> {
        if cur.len() == k {
            out.push(cur.clone());
            return if out.len() > MAX_COMBINATIONS {
                Err(too_many())
            } else {
                Ok(())
            };
        }
        for i in start..n {
            cur.push(i);
            go(i + 1, n, k, cur, out)?;
            cur.pop();
        }
        Ok(())
    }
    let mut out = Vec::new();
    if k <= n {
        go(0, n, k, &mut Vec::new(), &mut out)?;
    }
    Ok(out)
}

/// Whether multiset `small` (sorted) is contained in multiset `big` (sorted).
fn contains(big: &[Principal], small: &[Principal]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.by_ref().any(|b| b == s))
}

/// Drops duplicate sets and sets that contain another set.
pub fn reduce(mut sets: Vec<PrincipalSet>) -> Vec<PrincipalSet> {
    sets.sort_by_key(|s| (s.len(), s.iter().map(principal_key).collect::<Vec<_>>()));
    sets.dedup();
    let mut out: Vec<PrincipalSet> = Vec::new();
    for s in sets {
        if !out.iter().any(|kept| contains(&s, kept)) {
            out.push(s);
        }
    }
    out
}

/// The combinations satisfying all of `policies` at once (a chaincode and
/// the chaincodes it calls): each choice of one combination per policy,
/// joined, then reduced.
pub fn merge(policies: &[Vec<PrincipalSet>]) -> Vec<PrincipalSet> {
    let mut acc: Vec<PrincipalSet> = vec![Vec::new()];
    for sets in policies {
        let mut next = Vec::new();
        for a in &acc {
            for s in sets {
                // Joined as a union of multisets: a principal needed by both
                // is needed as often as the more demanding one needs it.
                let mut joined = a.clone();
                for p in s {
                    let have = joined.iter().filter(|q| *q == p).count();
                    let want = s.iter().filter(|q| *q == p).count();
                    if have < want {
                        joined.push(p.clone());
                    }
                }
                joined.sort_by_key(principal_key);
                next.push(joined);
            }
        }
        acc = next;
    }
    reduce(acc)
}

impl PolicyTree {
    /// The policy at `path` as a signature policy: a signature policy as is,
    /// an implicit-meta policy as `OutOf(threshold)` of its child groups'
    /// sub-policies, converted in turn.
    pub fn to_signature_policy(&self, path: &str) -> Result<SignaturePolicy, CommonError> {
        let (node, name) = self
            .locate(path)
            .ok_or_else(|| CommonError::UnknownPolicy(path.to_string()))?;
        node.convert(name, 0)
    }

    fn convert(&self, name: &str, depth: usize) -> Result<SignaturePolicy, CommonError> {
        if depth > 16 {
            return Err(CommonError::invalid(
                "policy",
                "implicit-meta policies nested too deep",
            ));
        }
        match self.policies.get(name) {
            None => Err(CommonError::UnknownPolicy(format!("{}/{name}", self.name))),
            Some(PolicyDef::Unsupported(t)) => Err(CommonError::invalid(
                "policy",
                format!("policy type {t} cannot be converted"),
            )),
            Some(PolicyDef::Signature(p)) => Ok(p.clone()),
            Some(PolicyDef::ImplicitMeta { rule, sub_policy }) => {
                let mut identities = Vec::new();
                let mut rules = Vec::new();
                for g in self.groups.values() {
                    let sub = g.convert(sub_policy, depth + 1)?;
                    let offset = identities.len();
                    identities.extend(sub.identities);
                    rules.push(shift(sub.rule, offset));
                }
                Ok(SignaturePolicy {
                    rule: Rule::NOutOf(rule.threshold(self.groups.len()), rules),
                    identities,
                })
            }
        }
    }
}

fn shift(rule: Rule, offset: usize) -> Rule {
    match rule {
        Rule::SignedBy(i) => Rule::SignedBy(i + offset),
        Rule::NOutOf(n, rules) => {
            Rule::NOutOf(n, rules.into_iter().map(|r| shift(r, offset)).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::parse_signature_policy;

    fn sets(policy: &str) -> Vec<Vec<String>> {
        parse_signature_policy(policy)
            .unwrap()
            .satisfied_by()
            .unwrap()
            .iter()
            .map(|s| {
                s.iter()
                    .map(|p| p.to_string().trim_matches('\'').to_string())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn combinations_of_signature_policies() {
        assert_eq!(
            sets("OR('Org1MSP.peer', 'Org2MSP.peer')"),
            [["Org1MSP.peer"], ["Org2MSP.peer"]]
        );
        assert_eq!(
            sets("AND('Org1MSP.peer', 'Org2MSP.peer')"),
            [["Org1MSP.peer", "Org2MSP.peer"]]
        );
        assert_eq!(
            sets("OutOf(2, 'A.peer', 'B.peer', 'C.peer')"),
            [
                ["A.peer", "B.peer"],
                ["A.peer", "C.peer"],
                ["B.peer", "C.peer"]
            ]
        );
        // Twice the same principal: two of its peers are needed.
        assert_eq!(sets("AND('A.peer', 'A.peer')"), [["A.peer", "A.peer"]]);
        // A combination containing a smaller one is dropped.
        assert_eq!(sets("OR('A.peer', AND('A.peer', 'B.peer'))"), [["A.peer"]]);
    }

    #[test]
    fn merging_the_policies_of_called_chaincodes() {
        let a = parse_signature_policy("OR('A.peer', 'B.peer')")
            .unwrap()
            .satisfied_by()
            .unwrap();
        let b = parse_signature_policy("AND('B.peer')")
            .unwrap()
            .satisfied_by()
            .unwrap();
        let merged: Vec<Vec<String>> = merge(&[a, b])
            .iter()
            .map(|s| {
                s.iter()
                    .map(|p| p.to_string().trim_matches('\'').to_string())
                    .collect()
            })
            .collect();
        assert_eq!(merged, [vec!["B.peer"]]);
    }

    #[test]
    fn too_many_combinations_are_refused() {
        let many: Vec<String> = (0..40).map(|i| format!("'O{i}.peer'")).collect();
        let p = parse_signature_policy(&format!("OutOf(20, {})", many.join(", "))).unwrap();
        assert!(p.satisfied_by().is_err());
    }
}
