//! Stage one: checks of a transaction on its own (run in parallel).

use std::sync::Arc;

use prost::Message;
use weft_common::config::ChannelConfig;
use weft_common::config::update::verify_config_envelope;
use weft_common::policy::{Signers, verify_signers};
use weft_common::tx::{Invalid, NsRwSet, UnpackedEnvelope};
use weft_protos::common::{Block, ConfigEnvelope, HeaderType};
use weft_protos::kvrwset::HashedRwSet;
use weft_protos::protos::TxValidationCode as Code;

use super::{PolicyCache, StateView, key_level};
use crate::PeerError;
use crate::lifecycle::{self, implicit_collection_org, implicit_collection_policy};

/// A transaction that passed stage one.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Its txid.
    pub tx_id: String,
    /// `common.HeaderType` of the envelope.
    pub header_type: i32,
    /// Seconds of the channel header's timestamp.
    pub timestamp_seconds: i64,
    /// The read/write set (endorser transactions only).
    pub rwset: Vec<NsRwSet>,
    /// Its private-data collections, hashed rwsets decoded.
    pub collections: Vec<CollectionRw>,
}

/// One collection's hashed reads and writes in a transaction.
#[derive(Debug, Clone)]
pub struct CollectionRw {
    /// Chaincode namespace.
    pub namespace: String,
    /// Collection name.
    pub collection: String,
    /// Hashed reads and writes.
    pub hashed: HashedRwSet,
    /// SHA-256 of the private rwset the endorser kept (empty: no private writes).
    pub pvt_rwset_hash: Vec<u8>,
}

/// Stage one's outcome: the txid the envelope claims (empty if unreadable)
/// and the transaction or why it is invalid.
pub type Verdict = (String, Result<Checked, Invalid>);

fn invalid(code: Code, reason: impl Into<String>) -> Invalid {
    Invalid::new(code, reason)
}

/// Checks one envelope of a block. `Err` only when the ledger fails.
pub fn check(
    bytes: &[u8],
    config: &ChannelConfig,
    state: &dyn StateView,
    policies: &PolicyCache<'_>,
) -> Result<Verdict, PeerError> {
    let env = match UnpackedEnvelope::from_bytes(bytes) {
        Ok(env) => env,
        Err(inv) => return Ok((String::new(), Err(inv))),
    };
    let tx_id = env.channel_header.tx_id.clone();
    let with_id = |inv: Invalid| Ok((tx_id.clone(), Err(inv)));
    if env.channel_header.channel_id != config.channel_id.as_str() {
        return with_id(invalid(
            Code::TargetChainNotFound,
            format!(
                "transaction is for channel {:?}, not {}",
                env.channel_header.channel_id, config.channel_id
            ),
        ));
    }
    let timestamp_seconds = env
        .channel_header
        .timestamp
        .as_ref()
        .map_or(0, |t| t.seconds);
    let header_type = env.header_type();
    if header_type != HeaderType::Config as i32
        && header_type != HeaderType::EndorserTransaction as i32
    {
        return with_id(invalid(
            Code::UnsupportedTxPayload,
            format!(
                "a peer commits endorser and config transactions, not header type {header_type}"
            ),
        ));
    }
    // Validity is judged at the transaction's own timestamp so that every peer
    // reaches the same verdict whenever it validates. A CONFIG transaction is
    // signed by the orderer that built it; its content is checked against the
    // config as a whole block (`check_config_block`).
    let creator = env.creator_signed_data();
    let signers = verify_signers(
        std::slice::from_ref(&creator),
        &config.msps,
        timestamp_seconds,
    );
    if signers.valid.is_empty() {
        return with_id(invalid(
            Code::BadCreatorSignature,
            format!(
                "creator refused: {}",
                signers.refused.first().map_or("unknown", String::as_str)
            ),
        ));
    }
    if header_type == HeaderType::Config as i32 {
        return Ok((
            tx_id.clone(),
            Ok(Checked {
                tx_id,
                header_type,
                timestamp_seconds,
                rwset: Vec::new(),
                collections: Vec::new(),
            }),
        ));
    }
    if let Err(inv) = env.check_txid() {
        return with_id(inv);
    }
    let etx = match env.endorser_transaction() {
        Ok(t) => t,
        Err(inv) => return with_id(inv),
    };
    let mut collections = Vec::new();
    for ns in &etx.action.rwset {
        for c in &ns.collections {
            let hashed = match HashedRwSet::decode(c.hashed_rwset.as_slice()) {
                Ok(h) => h,
                Err(e) => {
                    return with_id(invalid(
                        Code::BadRwset,
                        format!(
                            "malformed hashed rwset of {}/{}: {e}",
                            ns.namespace, c.collection_name
                        ),
                    ));
                }
            };
            collections.push(CollectionRw {
                namespace: ns.namespace.clone(),
                collection: c.collection_name.clone(),
                hashed,
                pvt_rwset_hash: c.pvt_rwset_hash.clone(),
            });
        }
    }
    if state.has_tx(&tx_id)? {
        return with_id(invalid(
            Code::DuplicateTxid,
            "a transaction with this txid is already in the ledger",
        ));
    }
    if let Err(inv) = check_action(&etx) {
        return with_id(inv);
    }
    let endorsers = verify_signers(
        &etx.action.endorsement_signed_data(),
        &config.msps,
        timestamp_seconds,
    );
    if let Err(why) = check_endorsements(
        etx.chaincode.as_str(),
        &etx.action.rwset,
        &endorsers,
        config,
        state,
        policies,
    )? {
        return with_id(why);
    }
    Ok((
        tx_id.clone(),
        Ok(Checked {
            tx_id,
            header_type,
            timestamp_seconds,
            rwset: etx.action.rwset,
            collections,
        }),
    ))
}

/// The endorsement policies an action's read/write set must satisfy, as the
/// committer decides them: the invoked chaincode's and every written
/// namespace's, a written collection's own policy instead of its
/// chaincode's, and a key's validation parameter (public, or private by
/// hash) instead of either for that key. `endorsers` are the verified
/// endorsements. `Ok(Err)` is an unsatisfied policy; `Err` a failing ledger.
/// The Gateway asks it too, to know whom to ask for endorsements.
pub fn check_endorsements(
    chaincode: &str,
    rwset: &[NsRwSet],
    endorsers: &Signers,
    config: &ChannelConfig,
    state: &dyn StateView,
    policies: &PolicyCache<'_>,
) -> Result<Result<(), Invalid>, PeerError> {
    // Namespaces that must be satisfied: the invoked chaincode always, and
    // every namespace the transaction writes to. A public key with a
    // validation parameter answers to that key-level policy instead of its
    // namespace's (Fabric's state-based endorsement): the namespace's policy
    // is needed only for keys without one.
    let mut checks: Vec<(String, Option<&str>)> = Vec::new();
    let invoked = chaincode;
    let mut invoked_checked = false;
    for ns in rwset {
        let public_writes = !ns.kv.writes.is_empty() || !ns.kv.metadata_writes.is_empty();
        // Collections the transaction writes to (a collection only read
        // needs no policy of its own, as in Fabric), and whether their
        // writes need the collection's policy: a private key with a
        // validation parameter answers to it instead.
        let mut collections: Vec<&str> = Vec::new();
        let mut collection_checks: Vec<&str> = Vec::new();
        for c in &ns.collections {
            let name = c.collection_name.as_str();
            let Ok(hashed) = HashedRwSet::decode(c.hashed_rwset.as_slice()) else {
                collections.push(name);
                collection_checks.push(name);
                continue;
            };
            if hashed.hashed_writes.is_empty() && hashed.metadata_writes.is_empty() {
                continue;
            }
            collections.push(name);
            match key_level::check_collection(
                &ns.namespace,
                name,
                &hashed,
                state,
                endorsers,
                config,
            )? {
                Err(why) => return Ok(Err(why)),
                Ok(key_level::Outcome::NamespacePolicyNeeded) => collection_checks.push(name),
                Ok(key_level::Outcome::AllKeysCovered) => {}
            }
        }
        if public_writes {
            match key_level::check(&ns.namespace, &ns.kv, state, endorsers, config)? {
                Err(why) => return Ok(Err(why)),
                Ok(key_level::Outcome::NamespacePolicyNeeded) => {
                    checks.push((ns.namespace.clone(), None))
                }
                Ok(key_level::Outcome::AllKeysCovered) => {}
            }
        }
        for c in collection_checks {
            checks.push((ns.namespace.clone(), Some(c)));
        }
        if ns.namespace == invoked && (public_writes || !collections.is_empty()) {
            invoked_checked = true;
        }
    }
    if !invoked_checked {
        checks.push((invoked.to_string(), None));
    }
    for (ns, collection) in checks {
        let policy = match collection {
            Some(c) if ns == lifecycle::NAMESPACE => match implicit_collection_org(c) {
                Some(org) => implicit_collection_policy(org)
                    .map(Arc::new)
                    .map_err(|why| invalid(Code::EndorsementPolicyFailure, why.to_string())),
                None => policies.policy(&ns)?,
            },
            // A collection's own endorsement policy replaces the chaincode's
            // for its writes.
            Some(c) => match collection_policy(state, config, &ns, c)? {
                Some(p) => p.map(Arc::new),
                None => policies.policy(&ns)?,
            },
            None => policies.policy(&ns)?,
        };
        let policy = match policy {
            Ok(p) => p,
            Err(why) => return Ok(Err(why)),
        };
        if let Err(why) = policy.evaluate(endorsers, config) {
            let what = match collection {
                Some(c) => format!("{ns} (collection {c})"),
                None => ns.clone(),
            };
            return Ok(Err(invalid(
                Code::EndorsementPolicyFailure,
                format!("endorsement policy of {what} not satisfied: {why}"),
            )));
        }
    }
    Ok(Ok(()))
}

/// Collection `c` of chaincode `ns`'s own endorsement policy, if its
/// definition gives it one (Fabric's collection-level endorsement); `None`:
/// the chaincode's policy applies.
fn collection_policy(
    state: &dyn StateView,
    config: &ChannelConfig,
    ns: &str,
    c: &str,
) -> Result<Option<Result<lifecycle::EndorsementPolicy, Invalid>>, PeerError> {
    let orgs = lifecycle::collection_rules::channel_orgs(config);
    let Some(policy) = lifecycle::collection_rules::lookup(state, &orgs, ns, c)?
        .and_then(|rules| rules.endorsement_policy)
    else {
        return Ok(None);
    };
    Ok(Some(
        lifecycle::EndorsementPolicy::from_application_policy(&policy.encode_to_vec()).map_err(
            |e| {
                invalid(
                    Code::EndorsementPolicyFailure,
                    format!("endorsement policy of {ns} (collection {c}) cannot be read: {e}"),
                )
            },
        ),
    ))
}

/// The consistency checks Fabric's committer makes of an endorsed action
/// before its endorsement policies (`plugindispatcher.Dispatch`), with its codes.
fn check_action(etx: &weft_common::tx::EndorserTransaction) -> Result<(), Invalid> {
    let Some(id) = &etx.action.chaincode_action.chaincode_id else {
        return Err(invalid(
            Code::InvalidOtherReason,
            "nil ChaincodeId in ChaincodeAction",
        ));
    };
    if id.name != etx.chaincode {
        return Err(invalid(
            Code::InvalidChaincode,
            format!(
                "inconsistent chaincode id: the header invokes {:?}, the action is {:?}'s",
                etx.chaincode, id.name
            ),
        ));
    }
    if id.version.is_empty() {
        return Err(invalid(
            Code::InvalidChaincode,
            "invalid chaincode version: the action names none",
        ));
    }
    if let Some(event) = &etx.action.event
        && event.chaincode_id != etx.chaincode
    {
        return Err(invalid(
            Code::InvalidOtherReason,
            format!(
                "the chaincode event is {:?}'s, the action {:?}'s",
                event.chaincode_id, etx.chaincode
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = etx
        .action
        .rwset
        .iter()
        .find(|ns| !seen.insert(&ns.namespace))
    {
        return Err(invalid(
            Code::IllegalWriteset,
            format!(
                "duplicate namespace {:?} in the read/write set",
                dup.namespace
            ),
        ));
    }
    Ok(())
}

/// Checks a config block as a Fabric peer does: its one envelope is a CONFIG
/// transaction for this channel whose config is exactly what its signed
/// update (`last_update`) yields from the current config, the update's
/// signatures satisfying the `mod_policy` of every element it changes
/// (judged at the envelope's timestamp, so every peer agrees). Returns the
/// new config.
pub fn check_config_block(
    block: &Block,
    current: &ChannelConfig,
) -> Result<ChannelConfig, Invalid> {
    let refused = |why: String| invalid(Code::InvalidConfigTransaction, why);
    let cfg = ChannelConfig::from_block(block).map_err(|e| refused(e.to_string()))?;
    if cfg.channel_id != current.channel_id {
        return Err(refused(format!(
            "config is for channel {}, not {}",
            cfg.channel_id, current.channel_id
        )));
    }
    if cfg.sequence() != current.sequence() + 1 {
        return Err(refused(format!(
            "config sequence {} does not follow the current {}",
            cfg.sequence(),
            current.sequence()
        )));
    }
    // `from_block` has checked that the block holds one CONFIG envelope.
    let data = block.data.as_ref().map_or(&[][..], |d| d.data.as_slice());
    let env = UnpackedEnvelope::from_bytes(&data[0]).map_err(|e| refused(e.to_string()))?;
    let envelope = ConfigEnvelope::decode(env.data.as_slice())
        .map_err(|e| refused(format!("malformed config envelope: {e}")))?;
    let at = env
        .channel_header
        .timestamp
        .as_ref()
        .map_or(0, |t| t.seconds);
    verify_config_envelope(current, &envelope, at)
        .map_err(|e| refused(format!("config refused: {e}")))?;
    Ok(cfg)
}
