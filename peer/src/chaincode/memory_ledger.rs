//! An in-memory ledger: committed state by namespace and key, and key
//! history. For tests, and for unit-testing chaincode outside a peer.

use std::collections::{BTreeMap, HashMap};

use prost::Message;

use weft_chaincode_abi::KeyModification;
use weft_protos::kvrwset::{KvrwSet, Version};
use weft_protos::rwset::TxReadWriteSet;

use super::simulator::{HistoryPage, Simulator, StateReader};
use crate::PeerError;

/// Simulates one transaction over a [`MemoryLedger`] snapshot.
pub type MemorySimulator = Simulator<MemoryLedger>;

/// The version of a committed value (its block and transaction).
pub(super) fn version(v: &VersionedValue) -> Version {
    Version {
        block_num: v.block,
        tx_num: v.tx,
    }
}

impl StateReader for MemoryLedger {
    fn read(&self, ns: &str, key: &str) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
        Ok(self.get(ns, key).map(|v| (version(v), v.value.clone())))
    }
    fn read_range(
        &self,
        ns: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Version, Vec<u8>)>, PeerError> {
        Ok(self
            .state
            .get(ns)
            .map(|m| {
                m.range(start.to_string()..)
                    .take_while(|(k, _)| end.is_empty() || k.as_str() < end)
                    .take(limit)
                    .map(|(k, v)| (k.clone(), version(v), v.value.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }
    fn read_history(
        &self,
        ns: &str,
        key: &str,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<HistoryPage, PeerError> {
        // The cursor is the index of the next entry.
        let all = self
            .history
            .get(&(ns.to_string(), key.to_string()))
            .map_or(&[][..], Vec::as_slice);
        let from = cursor
            .and_then(|c| c.try_into().ok())
            .map_or(0, |c: [u8; 8]| u64::from_be_bytes(c) as usize);
        let to = all.len().min(from.saturating_add(limit.max(1)));
        let next = (to < all.len()).then(|| (to as u64).to_be_bytes().to_vec());
        Ok((all.get(from..to).unwrap_or_default().to_vec(), next))
    }
}

/// A committed value with the height of the transaction that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedValue {
    /// The bytes.
    pub value: Vec<u8>,
    /// Block number of the writing transaction.
    pub block: u64,
    /// Its position in the block.
    pub tx: u64,
}

/// An in-memory ledger: committed state by namespace and key, and key history.
/// For tests and for unit-testing chaincode outside a peer.
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    state: BTreeMap<String, BTreeMap<String, VersionedValue>>,
    history: HashMap<(String, String), Vec<KeyModification>>,
}

impl MemoryLedger {
    /// Commits a write directly (seeding state).
    pub fn put(&mut self, ns: &str, key: &str, value: &[u8], block: u64, tx: u64) {
        self.state.entry(ns.to_string()).or_default().insert(
            key.to_string(),
            VersionedValue {
                value: value.to_vec(),
                block,
                tx,
            },
        );
        self.history
            .entry((ns.to_string(), key.to_string()))
            .or_default()
            .insert(
                0,
                KeyModification {
                    tx_id: format!("{block}:{tx}"),
                    value: value.to_vec(),
                    timestamp_seconds: 0,
                    is_delete: false,
                },
            );
    }

    /// Applies a simulated transaction's writes at height (block, tx).
    pub fn commit(&mut self, rwset: &TxReadWriteSet, block: u64, tx: u64) {
        for ns in &rwset.ns_rwset {
            let Ok(kv) = KvrwSet::decode(ns.rwset.as_slice()) else {
                continue;
            };
            for w in kv.writes {
                if w.is_delete {
                    if let Some(m) = self.state.get_mut(&ns.namespace) {
                        m.remove(&w.key);
                    }
                    self.history
                        .entry((ns.namespace.clone(), w.key.clone()))
                        .or_default()
                        .insert(
                            0,
                            KeyModification {
                                tx_id: format!("{block}:{tx}"),
                                value: Vec::new(),
                                timestamp_seconds: 0,
                                is_delete: true,
                            },
                        );
                } else {
                    self.put(&ns.namespace, &w.key, &w.value, block, tx);
                }
            }
        }
    }

    /// A committed value.
    pub fn get(&self, ns: &str, key: &str) -> Option<&VersionedValue> {
        self.state.get(ns)?.get(key)
    }

    /// A simulator over a snapshot of this ledger.
    pub fn simulator(&self) -> MemorySimulator {
        Simulator::new(self.clone())
    }
}
