//! The `ChaincodeInterest` of an endorsement, as Fabric's endorser builds it
//! from a simulation: the chaincodes and collections the result touched and
//! the key-level policies of the keys it writes, which a Gateway (Fabric's,
//! or a client planning with service discovery) uses to choose endorsers.
//!
//! Per chaincode namespace of the result:
//! - a call for the chaincode itself, unless every key it writes (public or
//!   private) has a key-level policy; with those policies as `key_policies`,
//!   and `disregard_namespace_policy` when no public key it writes lacks one;
//!   a namespace only read needs the chaincode's policy;
//! - a call per collection read, or written under no key-level policy, with
//!   `no_private_reads` when the result did not read it.

use std::collections::BTreeMap;

use prost::Message;
use weft_common::tx::NsRwSet;
use weft_protos::common::SignaturePolicyEnvelope;
use weft_protos::kvrwset::{HashedRwSet, KvMetadataEntry};
use weft_protos::protos::{ChaincodeCall, ChaincodeInterest};

use crate::PeerError;
use crate::ledger::validation_parameter;
use crate::validation::key_level::{written_key_hashes, written_keys};

/// The committed metadata of a public key (namespace, key).
pub type PublicMetadata<'a> = dyn Fn(&str, &str) -> Result<Vec<KvMetadataEntry>, PeerError> + 'a;
/// The committed metadata of a private key (namespace, collection, key hash).
pub type PrivateMetadata<'a> =
    dyn Fn(&str, &str, &[u8]) -> Result<Vec<KvMetadataEntry>, PeerError> + 'a;

/// The key-level policy in `entries`, if there is a readable one.
fn key_policy(entries: &[KvMetadataEntry]) -> Option<SignaturePolicyEnvelope> {
    validation_parameter(entries)
        .filter(|p| !p.is_empty())
        .and_then(|p| SignaturePolicyEnvelope::decode(p).ok())
}

/// The interest of the result `rwset`; `is_system` names the namespaces
/// left out (system chaincodes).
pub fn build(
    rwset: &[NsRwSet],
    public: &PublicMetadata<'_>,
    private: &PrivateMetadata<'_>,
    is_system: impl Fn(&str) -> bool,
) -> Result<ChaincodeInterest, PeerError> {
    let mut chaincodes = Vec::new();
    for ns in rwset.iter().filter(|ns| !is_system(&ns.namespace)) {
        let name = ns.namespace.as_str();
        let mut key_policies = Vec::new();
        let mut wrote = false;
        // Some public key written without a key-level policy.
        let mut chaincode_policy = false;
        for key in written_keys(&ns.kv) {
            wrote = true;
            match key_policy(&public(name, key)?) {
                Some(p) => key_policies.push(p),
                None => chaincode_policy = true,
            }
        }
        // Collection → whether the result did not read it.
        let mut collections: BTreeMap<&str, bool> = BTreeMap::new();
        for c in &ns.collections {
            let coll = c.collection_name.as_str();
            let Ok(hashed) = HashedRwSet::decode(c.hashed_rwset.as_slice()) else {
                continue;
            };
            let no_reads = hashed.hashed_reads.is_empty();
            if !no_reads {
                collections.insert(coll, false);
            }
            for h in written_key_hashes(&hashed) {
                wrote = true;
                match key_policy(&private(name, coll, h)?) {
                    Some(p) => key_policies.push(p),
                    None => {
                        collections.entry(coll).or_insert(no_reads);
                    }
                }
            }
        }
        if !wrote {
            chaincode_policy = true;
        }
        if !key_policies.is_empty() || chaincode_policy {
            chaincodes.push(ChaincodeCall {
                name: name.to_string(),
                disregard_namespace_policy: !key_policies.is_empty() && !chaincode_policy,
                key_policies,
                ..Default::default()
            });
        }
        chaincodes.extend(
            collections
                .into_iter()
                .map(|(coll, no_reads)| ChaincodeCall {
                    name: name.to_string(),
                    collection_names: vec![coll.to_string()],
                    no_private_reads: no_reads,
                    ..Default::default()
                }),
        );
    }
    Ok(ChaincodeInterest { chaincodes })
}

#[cfg(test)]
mod tests {
    use weft_protos::kvrwset::{KvRead, KvReadHash, KvWrite, KvWriteHash, KvrwSet};
    use weft_protos::rwset::CollectionHashedReadWriteSet;

    use super::*;

    fn entries(policy: Option<&SignaturePolicyEnvelope>) -> Vec<KvMetadataEntry> {
        policy
            .map(|p| KvMetadataEntry {
                name: crate::ledger::VALIDATION_PARAMETER.into(),
                value: p.encode_to_vec(),
            })
            .into_iter()
            .collect()
    }

    fn policy(version: i32) -> SignaturePolicyEnvelope {
        SignaturePolicyEnvelope {
            version,
            ..Default::default()
        }
    }

    fn ns(writes: &[&str], reads: &[&str], collections: Vec<(&str, HashedRwSet)>) -> NsRwSet {
        NsRwSet {
            namespace: "cc".into(),
            kv: KvrwSet {
                writes: writes
                    .iter()
                    .map(|k| KvWrite {
                        key: k.to_string(),
                        is_delete: false,
                        value: b"v".to_vec(),
                    })
                    .collect(),
                reads: reads
                    .iter()
                    .map(|k| KvRead {
                        key: k.to_string(),
                        version: None,
                    })
                    .collect(),
                ..Default::default()
            },
            collections: collections
                .into_iter()
                .map(|(name, h)| CollectionHashedReadWriteSet {
                    collection_name: name.into(),
                    hashed_rwset: h.encode_to_vec(),
                    pvt_rwset_hash: Vec::new(),
                })
                .collect(),
        }
    }

    fn hashed(writes: &[&[u8]], reads: &[&[u8]]) -> HashedRwSet {
        HashedRwSet {
            hashed_writes: writes
                .iter()
                .map(|h| KvWriteHash {
                    key_hash: h.to_vec(),
                    ..Default::default()
                })
                .collect(),
            hashed_reads: reads
                .iter()
                .map(|h| KvReadHash {
                    key_hash: h.to_vec(),
                    version: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Public key "guarded" and private key hash `g` carry key-level policies.
    fn interest(rwset: &[NsRwSet]) -> ChaincodeInterest {
        build(
            rwset,
            &|_, key| Ok(entries((key == "guarded").then(|| policy(1)).as_ref())),
            &|_, _, h| Ok(entries((h == b"g").then(|| policy(2)).as_ref())),
            |ns| ns == "_lifecycle",
        )
        .unwrap()
    }

    #[test]
    fn calls_follow_fabrics_endorser() {
        // Read only: the chaincode's policy.
        let i = interest(&[ns(&[], &["k"], vec![])]);
        assert_eq!(i.chaincodes.len(), 1);
        assert!(i.chaincodes[0].key_policies.is_empty());
        assert!(!i.chaincodes[0].disregard_namespace_policy);

        // Every written key guarded: its policy, the namespace's disregarded.
        let i = interest(&[ns(&["guarded"], &[], vec![])]);
        assert_eq!(i.chaincodes[0].key_policies, [policy(1)]);
        assert!(i.chaincodes[0].disregard_namespace_policy);

        // A guarded and an unguarded key: both needed.
        let i = interest(&[ns(&["guarded", "open"], &[], vec![])]);
        assert!(!i.chaincodes[0].disregard_namespace_policy);

        // Private: a write under no key policy names the collection (not
        // read); a guarded private write adds its policy; a read collection
        // is named with its reads.
        let i = interest(&[ns(
            &[],
            &[],
            vec![
                ("open", hashed(&[b"o"], &[])),
                ("guarded", hashed(&[b"g"], &[])),
                ("read", hashed(&[], &[b"r"])),
            ],
        )]);
        let names: Vec<(&str, bool)> = i
            .chaincodes
            .iter()
            .map(|c| {
                (
                    c.collection_names.first().map_or("", String::as_str),
                    c.no_private_reads,
                )
            })
            .collect();
        assert_eq!(names, [("", false), ("open", true), ("read", false)]);
        assert_eq!(i.chaincodes[0].key_policies, [policy(2)]);
        assert!(i.chaincodes[0].disregard_namespace_policy);

        // System chaincodes are left out.
        let mut lifecycle = ns(&["k"], &[], vec![]);
        lifecycle.namespace = "_lifecycle".into();
        assert!(interest(&[lifecycle]).chaincodes.is_empty());
    }
}
