//! Validating a block's transactions, in Fabric's order and with its codes.
//!
//! Two stages, both plain synchronous code:
//!
//! 1. [`transaction`]: each transaction on its own — envelope well-formed,
//!    channel, creator valid and signature correct, txid = SHA-256(nonce ‖
//!    creator), not already in the ledger, endorsements valid and satisfying the
//!    policy of every namespace the transaction must satisfy. Stateless with
//!    respect to the block, so it runs in parallel on all cores (rayon).
//! 2. [`mvcc`]: in block order, duplicate txids within the block, then read
//!    versions and range queries (phantoms) against committed state plus the
//!    writes of earlier valid transactions of the same block.
//!
//! The result is data: a [`BlockVerdict`] with one code per transaction and the
//! state updates of the valid ones. Errors are reserved for a failing ledger.

pub mod key_level;
pub mod mvcc;
pub mod transaction;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use weft_common::config::ChannelConfig;
use weft_common::tx::Invalid;
use weft_protos::common::{Block, HeaderType};
use weft_protos::kvrwset::Version;
use weft_protos::protos::TxValidationCode;

use crate::PeerError;
pub use crate::ledger::StateView;
use crate::ledger::{HashedUpdate, StateUpdate};
use crate::lifecycle::{EndorsementPolicy, committed_policy};

/// The outcome for one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxVerdict {
    /// The txid the envelope claims (empty if it could not be read).
    pub tx_id: String,
    /// Fabric's validation code.
    pub code: TxValidationCode,
    /// Why it is invalid, for logs and the commit notification.
    pub reason: Option<String>,
}

impl TxVerdict {
    /// Whether the transaction changes state.
    pub fn is_valid(&self) -> bool {
        self.code == TxValidationCode::Valid
    }
}

/// Private writes of one valid transaction in one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateWrites {
    /// The transaction.
    pub tx_id: String,
    /// Chaincode namespace.
    pub namespace: String,
    /// Collection.
    pub collection: String,
    /// SHA-256 of the collection's private rwset bytes.
    pub pvt_rwset_hash: Vec<u8>,
    /// The transaction's block and position.
    pub version: Version,
}

/// The outcome for a block.
#[derive(Debug, Clone)]
pub struct BlockVerdict {
    /// One verdict per transaction, in block order.
    pub txs: Vec<TxVerdict>,
    /// State changes of the valid transactions, in block order.
    pub updates: Vec<StateUpdate>,
    /// Hashed private-data changes of the valid transactions, in block order.
    pub hashed_updates: Vec<HashedUpdate>,
    /// Private keys the valid transactions purged, in block order
    /// (`drop_value` is left to the committer, which knows the later writes).
    pub purges: Vec<crate::ledger::Purge>,
    /// Private writes the valid transactions made: (txid, namespace,
    /// collection, SHA-256 of the private rwset), for the committer to fetch
    /// from the endorser's transient store if this peer holds them.
    pub private_writes: Vec<PrivateWrites>,
    /// The channel's new config, if this is a valid config block.
    pub new_config: Option<ChannelConfig>,
}

impl BlockVerdict {
    /// The TRANSACTIONS_FILTER bytes.
    pub fn filter(&self) -> Vec<u8> {
        self.txs.iter().map(|t| t.code as i32 as u8).collect()
    }
}

/// Endorsement policies by chaincode, read once per block from committed
/// `_lifecycle` state and shared by the parallel workers.
pub struct PolicyCache<'a> {
    state: &'a dyn StateView,
    cache: Mutex<HashMap<String, Result<Arc<EndorsementPolicy>, Invalid>>>,
}

impl<'a> PolicyCache<'a> {
    /// An empty cache over `state`.
    pub fn new(state: &'a dyn StateView) -> Self {
        Self {
            state,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The committed policy of `chaincode`, or why there is none (with
    /// Fabric's code: INVALID_CHAINCODE when it is not defined). Shared, not
    /// copied: a block's transactions ask for the same few policies.
    pub fn policy(
        &self,
        chaincode: &str,
    ) -> Result<Result<Arc<EndorsementPolicy>, Invalid>, PeerError> {
        if let Some(p) = self.cache.lock().expect("policy cache").get(chaincode) {
            return Ok(p.clone());
        }
        let p = committed_policy(self.state, chaincode)?.map(Arc::new);
        self.cache
            .lock()
            .expect("policy cache")
            .insert(chaincode.to_string(), p.clone());
        Ok(p)
    }
}

/// Merges a page of committed keys in a range (its first `limit`, or all of
/// them if fewer) with writes over it (`None`: deleted), all in the range.
/// When the page was cut at `limit`, writes after its last key are left out:
/// committed keys the page did not read may come before them. The result is
/// then a correct prefix of the merged range, of at least `limit` minus the
/// deletions entries.
pub(crate) fn merge_range_page<'a>(
    committed: Vec<(String, Version)>,
    limit: usize,
    writes: impl Iterator<Item = (&'a String, Option<Version>)>,
) -> BTreeMap<String, Version> {
    let bound = if committed.len() >= limit {
        committed.last().map(|(k, _)| k.clone())
    } else {
        None
    };
    let mut merged: BTreeMap<String, Version> = committed.into_iter().collect();
    for (k, v) in writes {
        if bound.as_ref().is_some_and(|b| k > b) {
            continue;
        }
        match v {
            Some(v) => merged.insert(k.clone(), v),
            None => merged.remove(k),
        };
    }
    merged
}

/// Validates every transaction of `block` (number `block.header.number`)
/// against `config` and committed `state`.
pub fn validate_block(
    block: &Block,
    config: &ChannelConfig,
    state: &dyn StateView,
) -> Result<BlockVerdict, PeerError> {
    let number = block.header.as_ref().map_or(0, |h| h.number);
    let data: &[Vec<u8>] = block.data.as_ref().map_or(&[], |d| d.data.as_slice());
    let policies = PolicyCache::new(state);
    let checked: Vec<transaction::Verdict> = data
        .par_iter()
        .map(|bytes| transaction::check(bytes, config, state, &policies))
        .collect::<Result<_, PeerError>>()?;
    let config_tx = checked
        .iter()
        .any(|(_, c)| matches!(c, Ok(t) if t.header_type == HeaderType::Config as i32));
    let mut verdict = mvcc::resolve(number, checked, state)?;
    if config_tx {
        match transaction::check_config_block(block, config) {
            Ok(cfg) => verdict.new_config = Some(cfg),
            Err(invalid) => {
                for t in verdict.txs.iter_mut().filter(|t| t.is_valid()) {
                    t.code = invalid.code;
                    t.reason = Some(invalid.reason.clone());
                }
            }
        }
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(block: u64) -> Version {
        Version {
            block_num: block,
            tx_num: 0,
        }
    }

    fn keys(m: &BTreeMap<String, Version>) -> Vec<&str> {
        m.keys().map(String::as_str).collect()
    }

    #[test]
    fn a_cut_page_ignores_writes_after_its_last_key() {
        // Committed a c e g; the page read 2 of them (a c); the block wrote f
        // and deleted a. Keys after c cannot be placed: e was not read.
        let page = vec![("a".to_string(), v(1)), ("c".to_string(), v(1))];
        let (f, a) = ("f".to_string(), "a".to_string());
        let writes = [(&f, Some(v(2))), (&a, None)];
        let merged = merge_range_page(page, 2, writes.into_iter());
        assert_eq!(keys(&merged), ["c"], "a correct prefix of c e f g");
    }

    #[test]
    fn a_whole_range_takes_every_write() {
        let page = vec![("a".to_string(), v(1))];
        let f = "f".to_string();
        let merged = merge_range_page(page, 5, [(&f, Some(v(2)))].into_iter());
        assert_eq!(keys(&merged), ["a", "f"]);
    }
}
