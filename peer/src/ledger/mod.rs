//! One channel's ledger in RocksDB: blocks, indexes, versioned state and key history.
//!
//! Column families (DESIGN.md §6): `blocks` (number → block), `block_hash`
//! (header hash → number), `txids` (txid → block, position, validation code),
//! `state` (`namespace \0 key` → version + value), `history`
//! (`namespace \0 key \0 block tx` → modification), `hashed` (private data
//! as every peer sees it: `namespace \0 collection \0 SHA-256(key)` →
//! version + SHA-256(value)), `private` (the private values this peer holds:
//! `namespace \0 collection \0 key` → value), `meta` (chain info), and the
//! private-data bookkeeping and transient store of [`private`], and the
//! JSON indexes of rich queries (`json_index`).
//! A block is committed with one synced `WriteBatch` across all of them, so a
//! crash leaves either the whole block or none of it, and the height read at
//! start-up is always consistent with the state.

mod json_index;
pub mod keys;
mod metadata;
pub mod private;
mod purge;
mod state_view;

pub use json_index::IndexScope;
pub use metadata::{VALIDATION_PARAMETER, validation_parameter};
pub use private::{Expiry, MissingPvt, PrivateCommit, PvtKey, TransientEntry};
pub use purge::{Purge, without_keys};
pub use state_view::StateView;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use prost::Message;
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use weft_chaincode_abi::{KeyModification, decode_history, encode_history};
use weft_protos::common::{Block, BlockchainInfo, Envelope};
use weft_protos::kvrwset::{KvMetadataEntry, Version};
use weft_protos::protos::ProcessedTransaction;

use crate::PeerError;

const CF_BLOCKS: &str = "blocks";
const CF_BLOCK_HASH: &str = "block_hash";
const CF_TXIDS: &str = "txids";
const CF_STATE: &str = "state";
const CF_HISTORY: &str = "history";
const CF_HASHED: &str = "hashed";
const CF_PRIVATE: &str = "private";
const CF_META: &str = "meta";
const CF_METADATA: &str = "metadata";
/// Metadata of private keys, by (namespace, collection, key hash).
const CF_HASHED_METADATA: &str = "hashed_metadata";

const META_HEIGHT: &[u8] = b"height";
const META_CURRENT_HASH: &[u8] = b"current_hash";
const META_PREVIOUS_HASH: &[u8] = b"previous_hash";
const META_LAST_CONFIG: &[u8] = b"last_config";

/// Height and hashes of the chain, as QSCC's `GetChainInfo` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainInfo {
    /// Number of committed blocks.
    pub height: u64,
    /// Header hash of the newest block.
    pub current_hash: Vec<u8>,
    /// Its previous-hash field.
    pub previous_hash: Vec<u8>,
    /// Number of the newest config block.
    pub last_config: u64,
}

impl ChainInfo {
    /// The wire form.
    pub fn to_proto(&self) -> BlockchainInfo {
        BlockchainInfo {
            height: self.height,
            current_block_hash: self.current_hash.clone(),
            previous_block_hash: self.previous_hash.clone(),
            bootstrapping_snapshot_info: None,
        }
    }
}

/// Where a transaction is and what became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    /// Block number.
    pub block: u64,
    /// Position in the block.
    pub tx: u64,
    /// `TxValidationCode` as recorded in the block's transactions filter.
    pub code: i32,
}

/// A change to one key made by a valid transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateUpdate {
    /// Chaincode namespace.
    pub namespace: String,
    /// Key.
    pub key: String,
    /// New value; `None` deletes.
    pub value: Option<Vec<u8>>,
    /// Block and position of the writing transaction.
    pub version: Version,
    /// The writing transaction.
    pub tx_id: String,
    /// Its timestamp in seconds (kept in the key's history).
    pub timestamp_seconds: i64,
    /// The key's metadata from now on (empty: none); `None` keeps what it
    /// has. A deletion drops the metadata with the value.
    pub metadata: Option<Vec<KvMetadataEntry>>,
    /// Whether the change is the key's history: a value written or deleted,
    /// not only its metadata (Fabric's history holds only the former).
    pub in_history: bool,
}

/// A change to the hashed state of a private-data collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedUpdate {
    /// Chaincode namespace.
    pub namespace: String,
    /// Collection.
    pub collection: String,
    /// SHA-256 of the key.
    pub key_hash: Vec<u8>,
    /// SHA-256 of the new value; `None` deletes.
    pub value_hash: Option<Vec<u8>>,
    /// Block and position of the writing transaction.
    pub version: Version,
    /// The key's metadata from now on (empty: none); `None` keeps what it
    /// has. A deletion drops the metadata with the value.
    pub metadata: Option<Vec<KvMetadataEntry>>,
}

/// A private value this peer holds (its org is a member of the collection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateUpdate {
    /// Chaincode namespace.
    pub namespace: String,
    /// Collection.
    pub collection: String,
    /// Key.
    pub key: String,
    /// New value; `None` deletes.
    pub value: Option<Vec<u8>>,
}

/// Everything one block's commit writes.
#[derive(Debug, Clone)]
pub struct BlockCommit {
    /// The block, its transactions filter filled in.
    pub block: Block,
    /// The header hash of the block.
    pub hash: Vec<u8>,
    /// `(txid, validation code)` per transaction, in block order (empty txid: not indexed).
    pub tx_ids: Vec<(String, i32)>,
    /// State changes of the valid transactions, in block order.
    pub updates: Vec<StateUpdate>,
    /// Hashed private-data changes of the valid transactions.
    pub hashed_updates: Vec<HashedUpdate>,
    /// Private values of the valid transactions that this peer holds, and
    /// those that expire with this block.
    pub private_updates: Vec<PrivateUpdate>,
    /// Private rwsets held or missing, expiries, transient entries done with.
    pub private: PrivateCommit,
    /// Whether the block is a config block.
    pub is_config: bool,
}

/// A channel's ledger. Cheap to clone; reads run concurrently with a commit
/// and see either all of a block or none of it.
#[derive(Clone)]
pub struct Ledger {
    db: Arc<DB>,
    info: Arc<RwLock<ChainInfo>>,
    /// Whether any key may have metadata: until one does, validation's
    /// per-key metadata reads cost nothing.
    any_metadata: Arc<AtomicBool>,
    /// Entries in the transient store: until there is one, commits skip it.
    transient_count: Arc<AtomicUsize>,
    /// The JSON indexes of each namespace.
    indexes: Arc<json_index::IndexCatalog>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.db.path())
            .field("info", &self.info())
            .finish()
    }
}

/// Column families read by key on every transaction, and mostly for keys
/// that are not there: every endorsement, validation and CommitStatus asks
/// the txid index for a transaction id it should not (yet) hold, and
/// CreateAsset-like chaincode reads a key before creating it. Bloom filters
/// (in the memtable and in each table file) answer "absent" without
/// searching either; without them a miss walks the memtable's skip list and
/// the index blocks of every level, which grows with the ledger.
fn cf_options(name: &str) -> Options {
    let mut opts = Options::default();
    if matches!(name, CF_TXIDS | CF_STATE | CF_HASHED) {
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        opts.set_block_based_table_factory(&table);
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(0.02);
    }
    opts
}

fn corrupt(what: &str) -> PeerError {
    PeerError::Ledger(format!("corrupt ledger: {what}"))
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir`.
    pub fn open(dir: &Path) -> Result<Self, PeerError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = [
            CF_BLOCKS,
            CF_BLOCK_HASH,
            CF_TXIDS,
            CF_STATE,
            CF_HISTORY,
            CF_HASHED,
            CF_PRIVATE,
            CF_META,
            CF_METADATA,
            CF_HASHED_METADATA,
            private::CF_PVT_TX,
            private::CF_PVT_MISSING,
            private::CF_PVT_EXPIRY,
            private::CF_TRANSIENT,
            private::CF_TRANSIENT_HEIGHT,
            purge::CF_PVT_KEY_INDEX,
            purge::CF_PVT_PURGED,
            json_index::CF_INDEX,
        ]
        .map(|n| ColumnFamilyDescriptor::new(n, cf_options(n)));
        let db = DB::open_cf_descriptors(&opts, dir, cfs)?;
        let ledger = Self {
            db: Arc::new(db),
            info: Arc::new(RwLock::new(ChainInfo::default())),
            any_metadata: Arc::new(AtomicBool::new(false)),
            transient_count: Arc::new(AtomicUsize::new(0)),
            indexes: Arc::default(),
        };
        ledger.count_transient();
        ledger.load_indexes()?;
        let any = [CF_METADATA, CF_HASHED_METADATA].iter().any(|cf| {
            ledger
                .db
                .iterator_cf(ledger.cf(cf), rocksdb::IteratorMode::Start)
                .next()
                .is_some()
        });
        ledger.any_metadata.store(any, Ordering::Release);
        let info = ledger.read_info()?;
        *ledger.info.write().expect("info lock") = info;
        Ok(ledger)
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column families are created at open")
    }

    fn read_info(&self) -> Result<ChainInfo, PeerError> {
        let meta = self.cf(CF_META);
        let num = |k: &[u8]| -> Result<u64, PeerError> {
            match self.db.get_cf(meta, k)? {
                None => Ok(0),
                Some(b) => keys::parse_number(&b).ok_or_else(|| corrupt("chain info")),
            }
        };
        Ok(ChainInfo {
            height: num(META_HEIGHT)?,
            current_hash: self.db.get_cf(meta, META_CURRENT_HASH)?.unwrap_or_default(),
            previous_hash: self
                .db
                .get_cf(meta, META_PREVIOUS_HASH)?
                .unwrap_or_default(),
            last_config: num(META_LAST_CONFIG)?,
        })
    }

    /// The ledger's directory.
    pub fn dir(&self) -> &std::path::Path {
        self.db.path()
    }

    /// Height, hashes and newest config block.
    pub fn info(&self) -> ChainInfo {
        self.info.read().expect("info lock").clone()
    }

    /// Number of committed blocks.
    pub fn height(&self) -> u64 {
        self.info.read().expect("info lock").height
    }

    /// Commits one block atomically (synced to disk). The block must be the next one.
    pub fn commit(&self, c: &BlockCommit) -> Result<(), PeerError> {
        let number = c.block.header.as_ref().map_or(u64::MAX, |h| h.number);
        let mut info = self.info.write().expect("info lock");
        if number != info.height {
            return Err(PeerError::Ledger(format!(
                "block {number} cannot be committed at height {}",
                info.height
            )));
        }
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(CF_BLOCKS),
            keys::number(number),
            c.block.encode_to_vec(),
        );
        batch.put_cf(self.cf(CF_BLOCK_HASH), &c.hash, keys::number(number));
        // One index entry per txid: a VALID transaction's if there is one (the
        // validator checked those against the ledger and the block), else the
        // first invalid one, unless the ledger already has the txid.
        let mut seen = std::collections::HashSet::new();
        let mut order: Vec<(usize, &(String, i32))> = c.tx_ids.iter().enumerate().collect();
        order.sort_by_key(|(i, (_, code))| (*code != 0, *i));
        for (i, (txid, code)) in order {
            if txid.is_empty() || !seen.insert(txid.as_str()) {
                continue;
            }
            if *code != 0 && self.db.get_cf(self.cf(CF_TXIDS), txid)?.is_some() {
                continue;
            }
            batch.put_cf(
                self.cf(CF_TXIDS),
                txid,
                keys::tx_location(number, i as u64, *code as u8),
            );
        }
        for u in &c.updates {
            let sk = keys::state_key(&u.namespace, &u.key);
            match &u.value {
                Some(v) => batch.put_cf(self.cf(CF_STATE), &sk, keys::state_value(&u.version, v)),
                None => batch.delete_cf(self.cf(CF_STATE), &sk),
            }
            match (&u.value, &u.metadata) {
                (None, _) => batch.delete_cf(self.cf(CF_METADATA), &sk),
                (Some(_), Some(entries)) if entries.is_empty() => {
                    batch.delete_cf(self.cf(CF_METADATA), &sk)
                }
                (Some(_), Some(entries)) => {
                    batch.put_cf(self.cf(CF_METADATA), &sk, metadata::encode(entries))
                }
                (Some(_), None) => {}
            }
            if !u.in_history {
                continue;
            }
            let m = KeyModification {
                tx_id: u.tx_id.clone(),
                value: u.value.clone().unwrap_or_default(),
                timestamp_seconds: u.timestamp_seconds,
                is_delete: u.value.is_none(),
            };
            batch.put_cf(
                self.cf(CF_HISTORY),
                keys::history_key(&u.namespace, &u.key, u.version.block_num, u.version.tx_num),
                encode_history(&m),
            );
        }
        for u in &c.hashed_updates {
            let k = keys::collection_key(&u.namespace, &u.collection, &u.key_hash);
            match &u.value_hash {
                Some(h) => batch.put_cf(self.cf(CF_HASHED), &k, keys::state_value(&u.version, h)),
                None => batch.delete_cf(self.cf(CF_HASHED), &k),
            }
            match (&u.value_hash, &u.metadata) {
                (None, _) => batch.delete_cf(self.cf(CF_HASHED_METADATA), &k),
                (Some(_), Some(entries)) if entries.is_empty() => {
                    batch.delete_cf(self.cf(CF_HASHED_METADATA), &k)
                }
                (Some(_), Some(entries)) => {
                    batch.put_cf(self.cf(CF_HASHED_METADATA), &k, metadata::encode(entries))
                }
                (Some(_), None) => {}
            }
        }
        self.batch_index_updates(&mut batch, &c.updates)?;
        self.batch_private_values(&mut batch, &c.private_updates)?;
        let transient_removed = self.batch_private(&mut batch, &c.private)?;
        let previous = c
            .block
            .header
            .as_ref()
            .map(|h| h.previous_hash.clone())
            .unwrap_or_default();
        let last_config = if c.is_config {
            number
        } else {
            info.last_config
        };
        let meta = self.cf(CF_META);
        batch.put_cf(meta, META_HEIGHT, keys::number(number + 1));
        batch.put_cf(meta, META_CURRENT_HASH, &c.hash);
        batch.put_cf(meta, META_PREVIOUS_HASH, &previous);
        batch.put_cf(meta, META_LAST_CONFIG, keys::number(last_config));
        // Set before the write, so that no reader can see the metadata
        // without the flag.
        let sets_metadata = |value: bool, m: &Option<Vec<KvMetadataEntry>>| {
            value && m.as_ref().is_some_and(|m| !m.is_empty())
        };
        if c.updates
            .iter()
            .any(|u| sets_metadata(u.value.is_some(), &u.metadata))
            || c.hashed_updates
                .iter()
                .any(|u| sets_metadata(u.value_hash.is_some(), &u.metadata))
        {
            self.any_metadata.store(true, Ordering::Release);
        }
        let mut w = WriteOptions::default();
        w.set_sync(true);
        self.db.write_opt(batch, &w)?;
        self.transient_removed(transient_removed);
        *info = ChainInfo {
            height: number + 1,
            current_hash: c.hash.clone(),
            previous_hash: previous,
            last_config,
        };
        Ok(())
    }

    fn batch_private_values(
        &self,
        batch: &mut WriteBatch,
        values: &[PrivateUpdate],
    ) -> Result<(), PeerError> {
        self.batch_private_index_updates(batch, values)?;
        for u in values {
            let k = keys::collection_key(&u.namespace, &u.collection, u.key.as_bytes());
            match &u.value {
                Some(v) => batch.put_cf(self.cf(CF_PRIVATE), &k, v),
                None => batch.delete_cf(self.cf(CF_PRIVATE), &k),
            }
        }
        Ok(())
    }

    /// The committed block `number`, as bytes.
    pub fn block_bytes(&self, number: u64) -> Result<Option<Vec<u8>>, PeerError> {
        Ok(self.db.get_cf(self.cf(CF_BLOCKS), keys::number(number))?)
    }

    /// The committed block `number`.
    pub fn block(&self, number: u64) -> Result<Option<Block>, PeerError> {
        self.block_bytes(number)?
            .map(|b| Block::decode(b.as_slice()).map_err(|_| corrupt(&format!("block {number}"))))
            .transpose()
    }

    /// The block whose header hash is `hash`.
    pub fn block_by_hash(&self, hash: &[u8]) -> Result<Option<Block>, PeerError> {
        match self.db.get_cf(self.cf(CF_BLOCK_HASH), hash)? {
            None => Ok(None),
            Some(n) => self.block(keys::parse_number(&n).ok_or_else(|| corrupt("hash index"))?),
        }
    }

    /// Where the transaction `tx_id` was committed.
    pub fn tx_location(&self, tx_id: &str) -> Result<Option<TxLocation>, PeerError> {
        match self.db.get_cf(self.cf(CF_TXIDS), tx_id)? {
            None => Ok(None),
            Some(v) => {
                let (block, tx, code) =
                    keys::parse_tx_location(&v).ok_or_else(|| corrupt("txid index"))?;
                Ok(Some(TxLocation {
                    block,
                    tx,
                    code: i32::from(code),
                }))
            }
        }
    }

    /// The block holding transaction `tx_id`.
    pub fn block_by_tx_id(&self, tx_id: &str) -> Result<Option<Block>, PeerError> {
        match self.tx_location(tx_id)? {
            None => Ok(None),
            Some(loc) => self.block(loc.block),
        }
    }

    /// The transaction `tx_id` with its validation code (QSCC's `GetTransactionByID`).
    pub fn transaction_by_id(
        &self,
        tx_id: &str,
    ) -> Result<Option<ProcessedTransaction>, PeerError> {
        let Some(loc) = self.tx_location(tx_id)? else {
            return Ok(None);
        };
        let block = self
            .block(loc.block)?
            .ok_or_else(|| corrupt(&format!("txid {tx_id} points at a missing block")))?;
        let bytes = block
            .data
            .as_ref()
            .and_then(|d| d.data.get(loc.tx as usize))
            .ok_or_else(|| corrupt(&format!("txid {tx_id} points past its block")))?;
        let env = Envelope::decode(bytes.as_slice())
            .map_err(|_| corrupt(&format!("envelope of {tx_id}")))?;
        Ok(Some(ProcessedTransaction {
            transaction_envelope: Some(env),
            validation_code: loc.code,
        }))
    }

    /// Committed value and version of `key` in `ns`.
    pub fn get_state(&self, ns: &str, key: &str) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
        match self
            .db
            .get_cf(self.cf(CF_STATE), keys::state_key(ns, key))?
        {
            None => Ok(None),
            Some(v) => {
                let (ver, bytes) =
                    keys::parse_state_value(&v).ok_or_else(|| corrupt("state value"))?;
                Ok(Some((ver, bytes.to_vec())))
            }
        }
    }

    /// Version and value hash of a private key, as every channel member sees it.
    pub fn get_hashed(
        &self,
        ns: &str,
        collection: &str,
        key_hash: &[u8],
    ) -> Result<Option<(Version, Vec<u8>)>, PeerError> {
        match self.db.get_cf(
            self.cf(CF_HASHED),
            keys::collection_key(ns, collection, key_hash),
        )? {
            None => Ok(None),
            Some(v) => {
                let (ver, bytes) =
                    keys::parse_state_value(&v).ok_or_else(|| corrupt("hashed value"))?;
                Ok(Some((ver, bytes.to_vec())))
            }
        }
    }

    /// A private value this peer holds.
    pub fn get_private(
        &self,
        ns: &str,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, PeerError> {
        Ok(self.db.get_cf(
            self.cf(CF_PRIVATE),
            keys::collection_key(ns, collection, key.as_bytes()),
        )?)
    }

    /// The first `limit` private values of `collection` this peer holds
    /// with keys in `[start, end)` (empty `end`: to the collection's end),
    /// in key order.
    pub fn private_range_page(
        &self,
        ns: &str,
        collection: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, PeerError> {
        let prefix = keys::collection_key(ns, collection, b"");
        let from = keys::collection_key(ns, collection, start.as_bytes());
        let upper = if end.is_empty() {
            None
        } else {
            Some(keys::collection_key(ns, collection, end.as_bytes()))
        };
        let it = self.db.iterator_cf(
            self.cf(CF_PRIVATE),
            IteratorMode::From(&from, Direction::Forward),
        );
        let mut out = Vec::new();
        for item in it {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            if !k.starts_with(&prefix) || upper.as_ref().is_some_and(|u| *k >= **u) {
                break;
            }
            let key =
                std::str::from_utf8(&k[prefix.len()..]).map_err(|_| corrupt("private key"))?;
            out.push((key.to_string(), v.to_vec()));
        }
        Ok(out)
    }

    /// Committed keys of `ns` in `[start, end)` (empty `end`: to the namespace's end), in key order.
    pub fn range(
        &self,
        ns: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, Version, Vec<u8>)>, PeerError> {
        self.range_page(ns, start, end, usize::MAX)
    }

    /// The first `limit` of those: what a query reads one page at a time,
    /// so no query holds more than a page in memory.
    pub fn range_page(
        &self,
        ns: &str,
        start: &str,
        end: &str,
        limit: usize,
    ) -> Result<Vec<(String, Version, Vec<u8>)>, PeerError> {
        let from = keys::state_key(ns, start);
        let upper = if end.is_empty() {
            let mut u = ns.as_bytes().to_vec();
            u.push(1);
            u
        } else {
            keys::state_key(ns, end)
        };
        let mut out = Vec::new();
        let it = self.db.iterator_cf(
            self.cf(CF_STATE),
            IteratorMode::From(&from, Direction::Forward),
        );
        for item in it {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item?;
            if *k >= *upper {
                break;
            }
            let (_, key) = keys::split_state_key(&k).ok_or_else(|| corrupt("state key"))?;
            let (ver, bytes) = keys::parse_state_value(&v).ok_or_else(|| corrupt("state value"))?;
            out.push((key.to_string(), ver, bytes.to_vec()));
        }
        Ok(out)
    }

    /// Every committed change of `key` in `ns`, newest first.
    pub fn history(&self, ns: &str, key: &str) -> Result<Vec<KeyModification>, PeerError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = self.history_page(ns, key, cursor.as_deref(), 1024)?;
            out.extend(page);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Up to `limit` changes of `key` in `ns`, newest first, older than
    /// `cursor` (from the previous page; `None`: from the newest), and the
    /// cursor of the next page (`None`: no more).
    pub fn history_page(
        &self,
        ns: &str,
        key: &str,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Vec<KeyModification>, Option<Vec<u8>>), PeerError> {
        let limit = limit.max(1);
        let prefix = keys::history_prefix(ns, key);
        let from = match cursor {
            Some(c) => c.to_vec(),
            None => {
                let mut top = prefix.clone();
                top.extend_from_slice(&[0xff; 16]);
                top
            }
        };
        let mut out = Vec::new();
        let mut last = Vec::new();
        let it = self.db.iterator_cf(
            self.cf(CF_HISTORY),
            IteratorMode::From(&from, Direction::Reverse),
        );
        for item in it {
            let (k, v) = item?;
            if !k.starts_with(&prefix) {
                return Ok((out, None));
            }
            // Longer keys that merely share the prefix have a non-16-byte
            // suffix; the cursor itself was returned already.
            if k.len() != prefix.len() + 16 || cursor.is_some_and(|c| *k == *c) {
                continue;
            }
            if out.len() == limit {
                return Ok((out, Some(last)));
            }
            out.push(decode_history(&v).ok_or_else(|| corrupt("history entry"))?);
            last = k.to_vec();
        }
        Ok((out, None))
    }
}

#[cfg(test)]
mod tests;
