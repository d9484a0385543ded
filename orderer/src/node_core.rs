//! The state the orderer's services share: the channel registry, and joining
//! and removing a channel at run time (what the participation API and the
//! node's start-up call). The node wires it to its listeners; the services
//! below it (`participation`, `operations`) read it.

use std::path::PathBuf;
use std::sync::Arc;

use prost::Message as _;
use tokio::sync::watch;
use weft_common::config::ChannelConfig;
use weft_common::msp::SigningIdentity;
use weft_common::node::client_roots::ClientRoots;
use weft_common::node::health;
use weft_common::node::task_scope::TaskScope;
use weft_common::tls::TlsIdentity;
use weft_protos::common::Block;

use crate::OrdererError;
use crate::channel::{ChannelHandle, ChannelStart};
use crate::registry::Registry;
use crate::storage::{ChannelStorage, ChannelStore};

/// Why joining a channel failed.
#[derive(Debug)]
pub enum JoinError {
    /// The channel is already served.
    Exists(String),
    /// The block is not acceptable.
    Invalid(String),
    /// Something broke on this node.
    Internal(String),
}

/// What the node's services share.
pub struct NodeCore {
    /// Running channels.
    pub registry: Arc<Registry>,
    /// Whether the admin listener uses TLS.
    pub admin_tls: bool,
    pub(crate) data_dir: PathBuf,
    pub(crate) signer: SigningIdentity,
    pub(crate) tls: Option<TlsIdentity>,
    pub(crate) client_roots: Arc<ClientRoots>,
    /// Set when the node shuts down.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The node's own background tasks (each channel's client-roots follower).
    pub(crate) tasks: TaskScope,
    pub(crate) rpc_timeout: std::time::Duration,
    /// Metrics shown on `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The log filter control behind `/logspec`, if the process provides one.
    pub log_control: Option<Arc<dyn weft_common::node::operations::LogControl>>,
    /// Channels being joined: a second join of one of them is refused, so
    /// two joins never share (or delete) one channel's folder.
    pub(crate) joining: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Why the channels found at start-up are not open yet (the data
    /// directory's disk was full): `/healthz` names it until they are.
    pub(crate) deferred: std::sync::Mutex<Option<String>>,
}

/// A channel's place among those being joined, given back when dropped.
struct Joining<'a> {
    core: &'a NodeCore,
    name: String,
}

impl Drop for Joining<'_> {
    fn drop(&mut self) {
        self.core
            .joining
            .lock()
            .expect("joining lock")
            .remove(&self.name);
    }
}

impl std::fmt::Debug for NodeCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCore")
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

impl NodeCore {
    /// This node's own certificates (enrollment and TLS), whose expiry
    /// `/metrics` shows.
    pub fn own_certificates(&self) -> weft_common::msp::expiry::OwnCertificates {
        weft_common::msp::expiry::OwnCertificates::new(&self.signer, self.tls.as_ref())
    }

    /// Where the node keeps its channels.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    fn chain_dir(&self, name: &str) -> PathBuf {
        self.data_dir.join("chains").join(name)
    }

    fn start_channel(
        self: &Arc<Self>,
        store: ChannelStore,
        config: ChannelConfig,
        joining: bool,
    ) -> Result<Arc<ChannelHandle>, OrdererError> {
        let handle = ChannelHandle::start(ChannelStart {
            store,
            config: Arc::new(config),
            signer: self.signer.clone(),
            tls: self.tls.clone(),
            metrics: self.metrics.clone(),
            joining,
            rpc_timeout: self.rpc_timeout,
        })?;
        // Trusted before the join returns, then kept in line with each config
        // block; forgotten when the channel ends.
        self.tasks.spawn(
            self.client_roots
                .follow(handle.config.clone(), self.shutdown.clone()),
        );
        Ok(handle)
    }

    /// Joins a channel from its genesis block; returns the channel name.
    pub async fn join_channel(self: &Arc<Self>, block_bytes: &[u8]) -> Result<String, JoinError> {
        let block = Block::decode(block_bytes)
            .map_err(|e| JoinError::Invalid(format!("not a block: {e}")))?;
        let config = ChannelConfig::from_block(&block)
            .map_err(|e| JoinError::Invalid(format!("not a config block: {e}")))?;
        let name = config.channel_id.to_string();
        if self.registry.get(&name).is_some()
            || !self
                .joining
                .lock()
                .expect("joining lock")
                .insert(name.clone())
        {
            return Err(JoinError::Exists(name));
        }
        let _joining = Joining {
            core: self,
            name: name.clone(),
        };
        weft_common::block::check_data_hash(&block)
            .map_err(|e| JoinError::Invalid(e.to_string()))?;
        let number = block.header.as_ref().map_or(0, |h| h.number);
        let dir = self.chain_dir(&name);
        if dir.exists() {
            return Err(JoinError::Exists(name));
        }
        if let Some(why) = self.deferred().or_else(|| self.disk_full()) {
            return Err(JoinError::Internal(format!(
                "not joining {name}: the data directory's disk is full ({why})"
            )));
        }
        // A later config block: this orderer was added to a running channel and
        // fetches the chain up to that block from the other consenters first.
        let earlier = if number == 0 {
            Vec::new()
        } else {
            let mut pulled = crate::channel::pull_chain(&config, self.tls.as_ref(), &block)
                .await
                .map_err(|e| JoinError::Internal(e.to_string()))?;
            pulled.pop(); // the join block itself, written below as given
            pulled
        };
        let result = (|| {
            let store = ChannelStore::open(&dir)?;
            for (n, b) in earlier.iter().enumerate() {
                store.append_block(n as u64, b)?;
            }
            store.append_block(number, block_bytes)?;
            self.start_channel(store, config, number > 0)
        })();
        match result {
            Ok(handle) => {
                self.registry.insert(handle);
                tracing::info!(channel = %name, from_block = number, "joined channel");
                Ok(name)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                match e {
                    OrdererError::ChannelConfig(msg) => Err(JoinError::Invalid(msg)),
                    other => Err(JoinError::Internal(other.to_string())),
                }
            }
        }
    }

    /// Stops serving a channel and deletes its data; false if unknown.
    pub async fn remove_channel(&self, name: &str) -> Result<bool, OrdererError> {
        let Some(handle) = self.registry.remove(name) else {
            return Ok(false);
        };
        handle.stop_and_wait().await;
        let id = handle.id.clone();
        drop(handle);
        std::fs::remove_dir_all(self.chain_dir(name))
            .map_err(|e| OrdererError::Storage(e.to_string()))?;
        self.client_roots.remove_channel(&id);
        Ok(true)
    }

    /// Why the data directory's disk cannot take a channel's writes now,
    /// if it cannot: RocksDB must never meet a full disk (Debian's build
    /// aborts the process on the write error), so stores are opened only
    /// with room to spare.
    fn disk_full(&self) -> Option<String> {
        health::disk_check(&self.data_dir, health::MIN_FREE_BYTES).map(|f| f.reason)
    }

    /// Why the channels found at start-up are not open yet, if they are not.
    pub fn deferred(&self) -> Option<String> {
        self.deferred.lock().expect("deferred lock").clone()
    }

    /// Restarts every channel found in the data directory; with its disk
    /// full, serves without them (and `/healthz` says why) and opens them
    /// once it has room again.
    pub(crate) fn resume_channels(self: &Arc<Self>) -> Result<(), OrdererError> {
        let Some(why) = self.disk_full() else {
            return self.open_found_channels();
        };
        tracing::error!(
            "the data directory's disk is full ({why}): its channels are opened once it has room"
        );
        *self.deferred.lock().expect("deferred lock") = Some(format!("channels not opened: {why}"));
        let core = self.clone();
        let mut shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            let mut tick = tokio::time::interval(DISK_RECHECK);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.changed() => return,
                }
                if core.disk_full().is_some() {
                    continue;
                }
                let outcome = core.open_found_channels();
                let mut deferred = core.deferred.lock().expect("deferred lock");
                match outcome {
                    Ok(()) => {
                        tracing::info!("the data directory's disk has room: channels opened");
                        *deferred = None;
                    }
                    Err(e) => {
                        tracing::error!("opening the channels failed: {e}");
                        *deferred = Some(format!("channels not opened: {e}"));
                    }
                }
                return;
            }
        });
        Ok(())
    }

    fn open_found_channels(self: &Arc<Self>) -> Result<(), OrdererError> {
        let chains = self.data_dir.join("chains");
        let Ok(entries) = std::fs::read_dir(&chains) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let store = ChannelStore::open(&entry.path())?;
            let height = store.height()?;
            if height == 0 {
                continue;
            }
            let config = newest_config(&store, height)?;
            let handle = self.start_channel(store, config, false)?;
            tracing::info!(channel = %handle.id, height, "resumed channel");
            self.registry.insert(handle);
        }
        Ok(())
    }
}

/// How often a full disk is looked at again.
const DISK_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// The channel config as of the newest config block (named by the last block's metadata).
fn newest_config(store: &ChannelStore, height: u64) -> Result<ChannelConfig, OrdererError> {
    let decode = |n: u64| -> Result<Block, OrdererError> {
        let bytes = store.block(n)?.ok_or_else(|| OrdererError::Corrupt {
            what: format!("block {n}"),
            reason: "missing".into(),
        })?;
        Block::decode(bytes.as_slice()).map_err(|e| OrdererError::Corrupt {
            what: format!("block {n}"),
            reason: e.to_string(),
        })
    };
    let last = decode(height - 1)?;
    let index = if height == 1 {
        0
    } else {
        weft_common::block::last_config_index(&last)?
    };
    Ok(ChannelConfig::from_block(&decode(index)?)?)
}
