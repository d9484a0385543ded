//! The transient store: private writes an endorsement produced, kept until
//! the transaction commits (then the committer moves them into the ledger's
//! private data) or is pushed out by newer entries.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use prost::Message;
use weft_protos::kvrwset::KvrwSet;
use weft_protos::rwset::TxPvtReadWriteSet;

use crate::ledger::PrivateUpdate;
use crate::validation::PrivateWrites;

/// Most transactions whose private writes are kept while they wait to commit.
const CAPACITY: usize = 100_000;

/// Private rwsets by txid.
#[derive(Debug, Default)]
pub struct TransientStore {
    inner: Mutex<(HashMap<String, TxPvtReadWriteSet>, VecDeque<String>)>,
}

impl TransientStore {
    /// Keeps the private writes of an endorsed transaction.
    pub fn put(&self, tx_id: &str, pvt: TxPvtReadWriteSet) {
        let mut g = self.inner.lock().expect("transient lock");
        let (map, order) = &mut *g;
        if map.insert(tx_id.to_string(), pvt).is_none() {
            order.push_back(tx_id.to_string());
        }
        while order.len() > CAPACITY {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// The private values behind `w`, if this peer endorsed them and they
    /// hash to what the transaction committed to.
    pub fn resolve(&self, w: &PrivateWrites) -> Option<Vec<PrivateUpdate>> {
        let g = self.inner.lock().expect("transient lock");
        let pvt = g.0.get(&w.tx_id)?;
        let rwset = pvt
            .ns_pvt_rwset
            .iter()
            .filter(|ns| ns.namespace == w.namespace)
            .flat_map(|ns| ns.collection_pvt_rwset.iter())
            .find(|c| c.collection_name == w.collection)?;
        if weft_common::crypto::sha256(&rwset.rwset).as_slice() != w.pvt_rwset_hash {
            tracing::warn!(tx_id = %w.tx_id, collection = %w.collection, "private data does not match the committed hash; not stored");
            return None;
        }
        let kv = KvrwSet::decode(rwset.rwset.as_slice()).ok()?;
        Some(
            kv.writes
                .into_iter()
                .map(|wr| PrivateUpdate {
                    namespace: w.namespace.clone(),
                    collection: w.collection.clone(),
                    key: wr.key,
                    value: (!wr.is_delete).then_some(wr.value),
                })
                .collect(),
        )
    }

    /// Forgets transactions that are in a committed block.
    pub fn remove<'a>(&self, tx_ids: impl Iterator<Item = &'a str>) {
        let mut g = self.inner.lock().expect("transient lock");
        for t in tx_ids {
            g.0.remove(t);
        }
        let (map, order) = &mut *g;
        order.retain(|t| map.contains_key(t));
    }
}
