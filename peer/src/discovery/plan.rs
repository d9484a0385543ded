//! Endorsement plans (sans-IO): from the principal combinations that satisfy
//! a chaincode's policy and the peers of a channel, the groups of peers and
//! the layouts (how many peers of which groups) service discovery returns —
//! Fabric's endorsement analyzer, without its graph library.
//!
//! Each distinct principal of the combinations is a group (`G0`, `G1`, … in
//! principal order); a combination is a layout needing, per group, as many
//! peers as the principal appears in it. A layout is offered only if enough
//! peers satisfy each of its principals; a group lists only peers that can
//! run the chaincode.

use std::collections::BTreeMap;

use weft_common::msp::Principal;
use weft_common::policy::inquire::{PrincipalSet, principal_key};

/// Groups of peers (by their index in the caller's list) and layouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Peers in each group.
    pub groups: BTreeMap<String, Vec<usize>>,
    /// For each layout, the number of peers needed from each group.
    pub layouts: Vec<BTreeMap<String, u32>>,
}

/// Why no plan exists (Fabric's messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPlan {
    /// Not enough peers satisfy the policy's principals.
    NoPeerCombination,
    /// Enough peers, but not enough of them can run the chaincode.
    NotInstalled,
}

impl NoPlan {
    /// The text Fabric's discovery service answers with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoPeerCombination => "no peer combination can satisfy the endorsement policy",
            Self::NotInstalled => "required chaincodes are not installed on sufficient peers",
        }
    }
}

/// The plan for `sets` over `peers` peers: `satisfies(i, p)` says whether
/// peer `i` satisfies principal `p`, `runs_chaincode(i)` whether it can
/// endorse for the chaincode.
pub fn plan(
    sets: &[PrincipalSet],
    peers: usize,
    satisfies: impl Fn(usize, &Principal) -> bool,
    runs_chaincode: impl Fn(usize) -> bool,
) -> Result<Plan, NoPlan> {
    // Groups: one per distinct principal, named in principal order.
    let mut principals: Vec<&Principal> = sets.iter().flatten().collect();
    principals.sort_by_key(|p| principal_key(p));
    principals.dedup();
    let group_of = |p: &Principal| {
        let i = principals
            .iter()
            .position(|q| *q == p)
            .expect("every principal has a group");
        format!("G{i}")
    };
    let satisfying: Vec<Vec<usize>> = principals
        .iter()
        .map(|p| (0..peers).filter(|i| satisfies(*i, p)).collect())
        .collect();

    // Layouts the known peers can satisfy at all.
    let mut layouts = Vec::new();
    for set in sets {
        let mut layout: BTreeMap<String, u32> = BTreeMap::new();
        for p in set {
            *layout.entry(group_of(p)).or_default() += 1;
        }
        let satisfiable = layout.iter().all(|(g, n)| {
            let i: usize = g[1..].parse().expect("group names are G<n>");
            satisfying[i].len() >= *n as usize
        });
        if satisfiable {
            layouts.push(layout);
        }
    }
    if layouts.is_empty() {
        return Err(NoPlan::NoPeerCombination);
    }

    // Groups of those layouts, with the peers that can run the chaincode.
    let mut groups = BTreeMap::new();
    for (i, members) in satisfying.iter().enumerate() {
        let name = format!("G{i}");
        if !layouts.iter().any(|l| l.contains_key(&name)) {
            continue;
        }
        let able: Vec<usize> = members
            .iter()
            .copied()
            .filter(|m| runs_chaincode(*m))
            .collect();
        if !able.is_empty() {
            groups.insert(name, able);
        }
    }
    layouts.retain(|l| {
        l.iter().all(|(g, n)| {
            groups
                .get(g)
                .is_some_and(|peers: &Vec<usize>| peers.len() >= *n as usize)
        })
    });
    if layouts.is_empty() {
        return Err(NoPlan::NotInstalled);
    }
    Ok(Plan { groups, layouts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_common::msp::MspRole;
    use weft_common::policy::parse_signature_policy;

    /// Peers as (MSP id, role, runs the chaincode).
    const PEERS: &[(&str, MspRole, bool)] = &[
        ("Org1MSP", MspRole::Peer, true),
        ("Org2MSP", MspRole::Peer, true),
        ("Org2MSP", MspRole::Peer, false),
        ("Org3MSP", MspRole::Peer, true),
    ];

    fn plan_for(policy: &str) -> Result<Plan, NoPlan> {
        let sets = parse_signature_policy(policy)
            .unwrap()
            .satisfied_by()
            .unwrap();
        plan(
            &sets,
            PEERS.len(),
            |i, p| *p == Principal::role(PEERS[i].0, PEERS[i].1),
            |i| PEERS[i].2,
        )
    }

    fn layout(entries: &[(&str, u32)]) -> BTreeMap<String, u32> {
        entries.iter().map(|(g, n)| (g.to_string(), *n)).collect()
    }

    #[test]
    fn both_orgs_needed() {
        let p = plan_for("AND('Org1MSP.peer', 'Org2MSP.peer')").unwrap();
        assert_eq!(p.layouts, [layout(&[("G0", 1), ("G1", 1)])]);
        assert_eq!(p.groups["G0"], [0]);
        assert_eq!(
            p.groups["G1"],
            [1],
            "the Org2 peer without the chaincode is left out"
        );
    }

    #[test]
    fn any_of_three_orgs() {
        let p = plan_for("OR('Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')").unwrap();
        assert_eq!(p.layouts.len(), 3);
        assert_eq!(p.groups.len(), 3);
    }

    #[test]
    fn layouts_without_enough_peers_are_dropped() {
        // Two Org2 peers exist, but only one runs the chaincode.
        let p = plan_for("OR(AND('Org2MSP.peer', 'Org2MSP.peer'), 'Org3MSP.peer')").unwrap();
        assert_eq!(p.layouts, [layout(&[("G1", 1)])]);
        assert_eq!(
            plan_for("AND('Org2MSP.peer', 'Org2MSP.peer')"),
            Err(NoPlan::NotInstalled)
        );
        assert_eq!(
            plan_for("AND('Org4MSP.peer', 'Org1MSP.peer')"),
            Err(NoPlan::NoPeerCombination)
        );
    }
}
