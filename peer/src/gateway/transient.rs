//! Fabric's protection of transient data in the Gateway: when a proposal
//! carries transient data and the client names no endorsing orgs, this
//! peer's org endorses first, and other orgs are asked only if they are
//! members of every private data collection that endorsement touched. The
//! transient data (private inputs) thus never reaches an org that could not
//! see the private values themselves. If the endorsement policy then needs
//! an org outside those collections, the endorsement fails with Fabric's
//! message, so the client can name the orgs it trusts.

use std::collections::BTreeSet;

use prost::Message;
use weft_protos::protos::{ChaincodeAction, ProposalResponse, ProposalResponsePayload};
use weft_protos::rwset::TxReadWriteSet;

use crate::PeerError;
use crate::ledger::StateView;
use crate::lifecycle::collection_rules::lookup;

/// The `(namespace, collection)` pairs whose private data a successful
/// endorsement read or wrote (from its hashed rwsets).
pub fn collections_touched(r: &ProposalResponse) -> BTreeSet<(String, String)> {
    let results = ProposalResponsePayload::decode(r.payload.as_slice())
        .ok()
        .and_then(|p| ChaincodeAction::decode(p.extension.as_slice()).ok())
        .and_then(|a| TxReadWriteSet::decode(a.results.as_slice()).ok())
        .unwrap_or_default();
    results
        .ns_rwset
        .into_iter()
        .flat_map(|ns| {
            ns.collection_hashed_rwset
                .into_iter()
                .map(move |c| (ns.namespace.clone(), c.collection_name))
        })
        .collect()
}

/// Which of `candidates` may receive the transient data: the orgs that are
/// members of every collection in `touched` (a collection the chaincode
/// does not define has no members). Returns them, and the collections that
/// excluded some candidate.
pub fn trusted_orgs(
    state: &(impl StateView + ?Sized),
    channel_orgs: &[String],
    touched: &BTreeSet<(String, String)>,
    candidates: Vec<String>,
) -> Result<(Vec<String>, Vec<String>), PeerError> {
    let mut kept = candidates;
    let mut protecting = Vec::new();
    for (ns, collection) in touched {
        let members = lookup(state, channel_orgs, ns, collection)?
            .map(|r| r.members)
            .unwrap_or_default();
        let before = kept.len();
        kept.retain(|org| members.contains(org));
        if kept.len() < before {
            protecting.push(collection.clone());
        }
    }
    Ok((kept, protecting))
}

#[cfg(test)]
mod tests {
    use weft_protos::rwset::{CollectionHashedReadWriteSet, NsReadWriteSet};

    use super::*;
    use crate::ledger::Ledger;

    fn response(touched: &[(&str, &str)]) -> ProposalResponse {
        let rwset = TxReadWriteSet {
            data_model: 0,
            ns_rwset: touched
                .iter()
                .map(|(ns, c)| NsReadWriteSet {
                    namespace: ns.to_string(),
                    rwset: Vec::new(),
                    collection_hashed_rwset: vec![CollectionHashedReadWriteSet {
                        collection_name: c.to_string(),
                        hashed_rwset: Vec::new(),
                        pvt_rwset_hash: vec![1],
                    }],
                })
                .collect(),
        };
        let action = ChaincodeAction {
            results: rwset.encode_to_vec(),
            ..Default::default()
        };
        ProposalResponse {
            payload: ProposalResponsePayload {
                proposal_hash: Vec::new(),
                extension: action.encode_to_vec(),
            }
            .encode_to_vec(),
            ..Default::default()
        }
    }

    fn orgs(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn other_orgs_must_be_members_of_every_collection_touched() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path()).unwrap();
        let channel = orgs(&["Org1MSP", "Org2MSP", "Org3MSP"]);

        // Nothing private touched: every candidate stays.
        let none = collections_touched(&response(&[]));
        let (kept, excluding) =
            trusted_orgs(&ledger, &channel, &none, orgs(&["Org2MSP", "Org3MSP"])).unwrap();
        assert_eq!((kept, excluding), (orgs(&["Org2MSP", "Org3MSP"]), vec![]));

        // Org2's implicit collection: Org2 alone may see the inputs.
        let touched = collections_touched(&response(&[("cc", "_implicit_org_Org2MSP")]));
        assert_eq!(touched.len(), 1);
        let (kept, excluding) =
            trusted_orgs(&ledger, &channel, &touched, orgs(&["Org2MSP", "Org3MSP"])).unwrap();
        assert_eq!(kept, orgs(&["Org2MSP"]));
        assert_eq!(excluding, ["_implicit_org_Org2MSP"]);

        // Two collections without a common member besides this org: nobody;
        // a collection the chaincode does not define has no members.
        for touched in [
            &[
                ("cc", "_implicit_org_Org2MSP"),
                ("cc", "_implicit_org_Org3MSP"),
            ][..],
            &[("cc", "undefined")][..],
        ] {
            let touched = collections_touched(&response(touched));
            let (kept, excluding) =
                trusted_orgs(&ledger, &channel, &touched, orgs(&["Org2MSP", "Org3MSP"])).unwrap();
            assert!(kept.is_empty());
            assert!(!excluding.is_empty());
        }
    }

    #[test]
    fn a_response_that_does_not_decode_touches_nothing() {
        let garbage = ProposalResponse {
            payload: vec![0xff; 8],
            ..Default::default()
        };
        assert!(collections_touched(&garbage).is_empty());
    }
}
