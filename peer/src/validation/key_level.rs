//! Key-level (state-based) endorsement, as Fabric's `statebased` validator
//! decides it: every key a transaction writes, or whose metadata it
//! writes — public, or private by its hash — and that carries a validation parameter must have its own policy
//! satisfied by the transaction's endorsers; the chaincode's policy is
//! needed only when some written key has none.
//!
//! The parameter is read from committed state (plus the block in flight).
//! A parameter changed by an earlier transaction of the same block is
//! stage two's concern ([`super::mvcc`]), as Fabric invalidates such a
//! transaction instead of waiting for the new policy.

use weft_common::config::ChannelConfig;
use weft_common::policy::Signers;
use weft_common::tx::Invalid;
use weft_protos::kvrwset::{HashedRwSet, KvMetadataEntry, KvrwSet};
use weft_protos::protos::TxValidationCode as Code;

use super::StateView;
use crate::PeerError;
use crate::ledger::validation_parameter;
use crate::lifecycle::EndorsementPolicy;

/// What the namespace's writes still need after their key-level policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every written key has a key-level policy, and all are satisfied.
    AllKeysCovered,
    /// Some written key has none: the chaincode's policy must hold too.
    NamespacePolicyNeeded,
}

/// The public keys a namespace's rwset writes or sets metadata of, once each.
pub fn written_keys(kv: &KvrwSet) -> impl Iterator<Item = &str> {
    let mut seen = std::collections::HashSet::new();
    kv.writes
        .iter()
        .map(|w| w.key.as_str())
        .chain(kv.metadata_writes.iter().map(|m| m.key.as_str()))
        .filter(move |k| seen.insert(*k))
}

/// The private keys (by hash) a collection's hashed rwset writes or sets
/// metadata of, once each.
pub fn written_key_hashes(hashed: &HashedRwSet) -> impl Iterator<Item = &[u8]> {
    let mut seen = std::collections::HashSet::new();
    hashed
        .hashed_writes
        .iter()
        .map(|w| w.key_hash.as_slice())
        .chain(hashed.metadata_writes.iter().map(|m| m.key_hash.as_slice()))
        .filter(move |k| seen.insert(*k))
}

/// Checks the key-level policies of the keys `kv` writes in `ns`. `Ok(Err)`
/// is an invalid transaction; `Err` only a failing ledger.
pub fn check(
    ns: &str,
    kv: &KvrwSet,
    state: &dyn StateView,
    endorsers: &Signers,
    config: &ChannelConfig,
) -> Result<Result<Outcome, Invalid>, PeerError> {
    let keys = written_keys(kv).map(|key| {
        let metadata = state.metadata(ns, key);
        (format!("{ns}/{key:?}"), metadata)
    });
    check_keys(keys, endorsers, config)
}

/// Checks the key-level policies of the private keys a transaction writes
/// in collection `coll` of `ns` (Fabric keeps them by key hash, so every
/// peer of the channel can check them); the collection's own policy (or
/// the chaincode's) is needed only for keys without one.
pub fn check_collection(
    ns: &str,
    coll: &str,
    hashed: &HashedRwSet,
    state: &dyn StateView,
    endorsers: &Signers,
    config: &ChannelConfig,
) -> Result<Result<Outcome, Invalid>, PeerError> {
    let keys = written_key_hashes(hashed).map(|h| {
        let name = format!("{ns}/{coll} key {}", hex::encode(&h[..h.len().min(8)]));
        (name, state.hashed_metadata(ns, coll, h))
    });
    check_keys(keys, endorsers, config)
}

/// Each key (named for messages) with its committed metadata.
fn check_keys(
    keys: impl Iterator<Item = (String, Result<Vec<KvMetadataEntry>, PeerError>)>,
    endorsers: &Signers,
    config: &ChannelConfig,
) -> Result<Result<Outcome, Invalid>, PeerError> {
    let mut outcome = Outcome::AllKeysCovered;
    for (name, metadata) in keys {
        let metadata = metadata?;
        let parameter = match validation_parameter(&metadata) {
            Some(p) if !p.is_empty() => p,
            _ => {
                outcome = Outcome::NamespacePolicyNeeded;
                continue;
            }
        };
        let refused = |why: String| {
            Err(Invalid::new(
                Code::EndorsementPolicyFailure,
                format!("key-level endorsement policy of {name} {why}"),
            ))
        };
        // Fabric halts the channel on a parameter it cannot read; every
        // peer reads the same bytes, so refusing the transaction is as
        // deterministic and keeps the channel serving.
        let policy = match EndorsementPolicy::from_validation_parameter(parameter) {
            Ok(p) => p,
            Err(e) => return Ok(refused(format!("cannot be read: {e}"))),
        };
        if let Err(e) = policy.evaluate(endorsers, config) {
            return Ok(refused(format!("not satisfied: {e}")));
        }
    }
    Ok(Ok(outcome))
}
