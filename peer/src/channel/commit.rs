//! The committer: validates a verified block, writes it in one atomic batch,
//! adopts a new config and announces what was committed.
//!
//! Writing a block (encoding, one synced RocksDB batch) is serial work that
//! would leave cores idle; [`Committer::submit`] therefore writes on a
//! background thread while the next block is validated against committed
//! state plus the in-flight block's [`Overlay`]. Writes stay in block order,
//! and a block is announced only once it is durable.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{broadcast, watch};
use weft_common::block::header_hash;
use weft_common::config::ChannelConfig;
use weft_protos::common::{Block, BlockMetadata, BlockMetadataIndex};
use weft_protos::protos::TxValidationCode;

use super::pending::{OverlaidState, Overlay};
use super::transient::TransientStore;
use super::tx_waiters::{TxWait, TxWaiters};
use crate::PeerError;
use crate::ledger::{BlockCommit, Ledger, PvtKey};
use crate::validation::{TxVerdict, validate_block};

/// What one committed block did: the notification behind the gateway's
/// CommitStatus and the event services.
#[derive(Debug, Clone)]
pub struct BlockCommitted {
    /// The block number.
    pub number: u64,
    /// One verdict per transaction (txid, validation code, reason).
    pub txs: Vec<TxVerdict>,
}

/// What the committer counts, for `/metrics`.
#[derive(Debug, Default)]
pub struct CommitMetrics {
    /// Blocks committed.
    pub blocks: std::sync::atomic::AtomicU64,
    /// Transactions committed, by validation code.
    pub txs_by_code: Mutex<std::collections::BTreeMap<i32, u64>>,
    /// Time to validate a block.
    pub validate: weft_common::node::operations::Histogram,
    /// Time to write a block (from the end of its validation until durable).
    pub write: weft_common::node::operations::Histogram,
}

/// How many commit notifications a slow subscriber may lag behind.
const NOTIFY_CAPACITY: usize = 1024;

/// The newest validated block and the write still running, if any.
struct Tip {
    /// Blocks validated so far (the next block's number).
    height: u64,
    /// Header hash of the newest validated block.
    hash: Vec<u8>,
    /// Commit hash of the newest validated block (empty before the first).
    commit_hash: Vec<u8>,
    /// What the block being written changes.
    overlay: Option<Arc<Overlay>>,
    /// The background write of that block.
    writing: Option<JoinHandle<Result<(), PeerError>>>,
    /// Why a write failed: the committer refuses further blocks.
    failed: Option<String>,
}

/// Validates and commits the blocks of one channel.
pub struct Committer {
    ledger: Ledger,
    /// The config in force; receivers learn of every config block committed.
    config: watch::Sender<Arc<ChannelConfig>>,
    notify: broadcast::Sender<Arc<BlockCommitted>>,
    /// CommitStatus callers, woken by the block that commits their transaction.
    waiters: Arc<TxWaiters>,
    tip: Mutex<Tip>,
    transient: TransientStore,
    private: super::private::CommitSettings,
    metrics: Arc<CommitMetrics>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer")
            .field("ledger", &self.ledger)
            .finish()
    }
}

fn set_filter(block: &mut Block, filter: Vec<u8>) {
    let md = block.metadata.get_or_insert_with(BlockMetadata::default);
    let idx = BlockMetadataIndex::TransactionsFilter as usize;
    if md.metadata.len() <= idx {
        md.metadata.resize(idx + 1, Vec::new());
    }
    md.metadata[idx] = filter;
}

impl Committer {
    /// A committer over `ledger`, which must hold at least the genesis block.
    /// The channel config is read from the newest config block.
    pub fn open(ledger: Ledger) -> Result<Self, PeerError> {
        let info = ledger.info();
        if info.height == 0 {
            return Err(PeerError::Ledger("ledger has no genesis block".into()));
        }
        let block = ledger.block(info.last_config)?.ok_or_else(|| {
            PeerError::Ledger(format!("config block {} is missing", info.last_config))
        })?;
        let config = ChannelConfig::from_block(&block)
            .map_err(|e| PeerError::Ledger(format!("config block {}: {e}", info.last_config)))?;
        // A ledger written before commit hashes existed starts its chain of
        // them at the next block.
        let newest = ledger
            .block(info.height - 1)?
            .ok_or_else(|| PeerError::Ledger(format!("block {} is missing", info.height - 1)))?;
        let commit_hash = super::commit_hash::of(&newest).unwrap_or_default();
        Ok(Self::with_config(ledger, config, commit_hash))
    }

    /// Creates the ledger's first block from a channel's genesis (or any config)
    /// block `0` and returns a committer over it.
    pub fn genesis(ledger: Ledger, mut block: Block) -> Result<Self, PeerError> {
        let number = block.header.as_ref().map_or(u64::MAX, |h| h.number);
        if number != 0 {
            return Err(PeerError::Channel(format!(
                "a channel is joined with its genesis block (number 0), not block {number}"
            )));
        }
        let config = ChannelConfig::from_block(&block)
            .map_err(|e| PeerError::Channel(format!("genesis block: {e}")))?;
        if config.application.is_none() {
            return Err(PeerError::Channel(format!(
                "channel {} has no Application group; peers join application channels",
                config.channel_id
            )));
        }
        let tx_id = weft_common::tx::UnpackedEnvelope::from_bytes(
            block.data.as_ref().map_or(&[][..], |d| &d.data[0]),
        )
        .map(|e| e.channel_header.tx_id)
        .unwrap_or_default();
        let filter = vec![TxValidationCode::Valid as i32 as u8];
        let commit_hash = super::commit_hash::next(&[], &filter, &[], &[]);
        super::commit_hash::record(&mut block, &commit_hash);
        set_filter(&mut block, filter);
        let hash = header_hash(block.header.as_ref().expect("checked above")).to_vec();
        ledger.commit(&BlockCommit {
            block,
            hash,
            tx_ids: vec![(tx_id, TxValidationCode::Valid as i32)],
            updates: Vec::new(),
            hashed_updates: Vec::new(),
            private_updates: Vec::new(),
            private: Default::default(),
            is_config: true,
        })?;
        Ok(Self::with_config(ledger, config, commit_hash))
    }

    fn with_config(ledger: Ledger, config: ChannelConfig, commit_hash: Vec<u8>) -> Self {
        let info = ledger.info();
        let transient_ledger = ledger.clone();
        Self {
            ledger,
            config: watch::Sender::new(Arc::new(config)),
            notify: broadcast::channel(NOTIFY_CAPACITY).0,
            waiters: Arc::default(),
            tip: Mutex::new(Tip {
                height: info.height,
                hash: info.current_hash,
                commit_hash,
                overlay: None,
                writing: None,
                failed: None,
            }),
            transient: TransientStore::new(transient_ledger),
            private: super::private::CommitSettings {
                org: None,
                transient_retention: super::transient::DEFAULT_MAX_BLOCK_RETENTION,
            },
            metrics: Arc::default(),
        }
    }

    /// Number and header hash the next block must follow: the newest
    /// validated block, which may still be being written.
    pub fn tip(&self) -> (u64, Vec<u8>) {
        let tip = self.tip.lock().expect("tip lock");
        (tip.height, tip.hash.clone())
    }

    /// Waits until every submitted block is durably committed.
    pub fn flush(&self) -> Result<(), PeerError> {
        let mut tip = self.tip.lock().expect("tip lock");
        Self::wait_write(&mut tip)
    }

    fn wait_write(tip: &mut Tip) -> Result<(), PeerError> {
        if let Some(why) = &tip.failed {
            return Err(PeerError::Ledger(format!(
                "an earlier block write failed: {why}"
            )));
        }
        let result = match tip.writing.take() {
            None => Ok(()),
            Some(h) => h
                .join()
                .unwrap_or_else(|_| Err(PeerError::Ledger("the block writer panicked".into()))),
        };
        if let Err(e) = &result {
            tip.failed = Some(e.to_string());
        }
        result
    }

    /// Blocks, transactions by code and stage latencies of this channel.
    pub fn metrics(&self) -> &Arc<CommitMetrics> {
        &self.metrics
    }

    /// Private writes of endorsements waiting for their transactions to commit.
    pub fn transient(&self) -> &TransientStore {
        &self.transient
    }

    /// Commits as a peer of `org`: it stores the private data of collections
    /// its org belongs to (and records what it lacks), and nothing else;
    /// transient entries live `transient_retention` blocks at most.
    pub fn for_org(mut self, org: String, transient_retention: u64) -> Self {
        self.private = super::private::CommitSettings {
            org: Some(org),
            transient_retention,
        };
        self
    }

    /// Stores private rwsets fetched after their blocks committed: each one's
    /// values where the key still has the version that transaction gave it
    /// (a later write or a purge wins). Commits wait meanwhile.
    pub fn reconcile(&self, found: Vec<(PvtKey, Vec<u8>)>) -> Result<(), PeerError> {
        let mut tip = self.tip.lock().expect("tip lock");
        Self::wait_write(&mut tip)?;
        let mut values = Vec::new();
        let mut stored = Vec::new();
        for (key, rwset) in found {
            // Versions purged here since never come back.
            let rwset = self.ledger.trim_purged(&key, rwset)?;
            let Some(r) = super::transient::decode_writes(&key.namespace, &key.collection, rwset)
            else {
                continue;
            };
            for u in r.updates {
                let hash = weft_common::crypto::sha256(u.key.as_bytes());
                if self
                    .ledger
                    .get_hashed(&key.namespace, &key.collection, &hash)?
                    .is_some_and(|(v, _)| v == key.version())
                {
                    values.push(u);
                }
            }
            stored.push((key, r.rwset));
        }
        self.ledger.commit_reconciled(&stored, &values)
    }

    /// The org whose private data this committer stores, if it is set.
    pub fn org(&self) -> Option<&str> {
        self.private.org.as_deref()
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The channel config in force for the next block.
    pub fn config(&self) -> Arc<ChannelConfig> {
        self.config.borrow().clone()
    }

    /// The config in force, changing with every config block committed.
    pub fn watch_config(&self) -> watch::Receiver<Arc<ChannelConfig>> {
        self.config.subscribe()
    }

    /// Subscribes to commit notifications from the next block on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<BlockCommitted>> {
        self.notify.subscribe()
    }

    /// A wait for transaction `tx_id`, answered by the block that commits it.
    /// Register first, then look in the ledger: see [`TxWaiters`].
    pub fn wait_for_tx(&self, tx_id: &str) -> TxWait {
        self.waiters.register(tx_id)
    }

    /// Transactions at least one CommitStatus call waits for.
    pub fn waited_for(&self) -> usize {
        self.waiters.len()
    }

    /// Validates and commits `block`, which the caller has verified
    /// ([`super::verify::verify_block`]), and returns once it is durable.
    /// Invalid transactions stay in the block, marked in its transactions filter.
    pub fn commit(&self, block: Block) -> Result<Arc<BlockCommitted>, PeerError> {
        let done = self.submit(block)?;
        self.flush()?;
        Ok(done)
    }

    /// Validates `block` and starts writing it in the background; returns the
    /// verdict. The block is announced to subscribers once it is durable, and
    /// the next `submit`, [`Self::flush`] or [`Self::commit`] reports a failed write.
    pub fn submit(&self, mut block: Block) -> Result<Arc<BlockCommitted>, PeerError> {
        let mut tip = self.tip.lock().expect("tip lock");
        let number = block.header.as_ref().map_or(u64::MAX, |h| h.number);
        if number != tip.height {
            return Err(PeerError::Ledger(format!(
                "block {number} submitted at height {}",
                tip.height
            )));
        }
        let config = self.config();
        let started = std::time::Instant::now();
        let view = OverlaidState {
            ledger: &self.ledger,
            overlay: tip.overlay.as_deref(),
        };
        let verdict = validate_block(&block, &config, &view)?;
        let private = super::private::plan(
            number,
            &verdict,
            crate::lifecycle::collection_rules::channel_orgs(&config),
            &self.private,
            &self.transient,
            &self.ledger,
            &view,
        )?;
        self.metrics.validate.observe(started.elapsed());
        {
            let mut by_code = self.metrics.txs_by_code.lock().expect("metrics lock");
            for t in &verdict.txs {
                *by_code.entry(t.code as i32).or_default() += 1;
            }
        }
        let filter = verdict.filter();
        let commit_hash = super::commit_hash::next(
            &tip.commit_hash,
            &filter,
            &verdict.updates,
            &verdict.hashed_updates,
        );
        super::commit_hash::record(&mut block, &commit_hash);
        set_filter(&mut block, filter);
        let hash = header_hash(
            block
                .header
                .as_ref()
                .ok_or_else(|| PeerError::Ledger("block without header".into()))?,
        )
        .to_vec();
        let commit = BlockCommit {
            block,
            hash: hash.clone(),
            tx_ids: verdict
                .txs
                .iter()
                .map(|t| (t.tx_id.clone(), t.code as i32))
                .collect(),
            updates: verdict.updates,
            hashed_updates: {
                let mut h = verdict.hashed_updates;
                h.extend(private.purged_hashes);
                h
            },
            private_updates: private.values,
            private: private.commit,
            is_config: verdict.new_config.is_some(),
        };
        let overlay = Arc::new(Overlay::of(&commit));
        // Writes stay in order: the previous block must be durable first.
        Self::wait_write(&mut tip)?;
        if let Some(cfg) = verdict.new_config {
            tracing::info!(channel = %cfg.channel_id, sequence = cfg.sequence(), block = number, "adopted new channel config");
            self.config.send_replace(Arc::new(cfg));
        }
        for t in verdict.txs.iter().filter(|t| !t.is_valid()) {
            tracing::debug!(block = number, tx_id = %t.tx_id, code = t.code.as_str_name(), reason = t.reason.as_deref().unwrap_or(""), "invalid transaction");
        }
        let done = Arc::new(BlockCommitted {
            number,
            txs: verdict.txs,
        });
        let (ledger, notify, announce) = (self.ledger.clone(), self.notify.clone(), done.clone());
        let waiters = self.waiters.clone();
        let channel = config.channel_id.clone();
        let metrics = self.metrics.clone();
        let write_started = std::time::Instant::now();
        tip.writing = Some(std::thread::spawn(move || {
            ledger.commit(&commit)?;
            metrics.write.observe(write_started.elapsed());
            metrics
                .blocks
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(%channel, block = number, txs = announce.txs.len(), "committed");
            waiters.announce(announce.txs.iter().map(|t| t.tx_id.as_str()), |id| {
                ledger.tx_location(id)
            });
            // Nobody listening is fine.
            let _ = notify.send(announce);
            Ok(())
        }));
        tip.overlay = Some(overlay);
        tip.height = number + 1;
        tip.hash = hash;
        tip.commit_hash = commit_hash;
        Ok(done)
    }
}
