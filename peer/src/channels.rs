//! The channels a peer has joined: each one's committer, the task pulling its
//! blocks from the orderers, and the task keeping the TLS client roots in line
//! with its config. The peer's services find a channel's committer here; the
//! node only wires it (see `node`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use weft_common::config::ChannelConfig;
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_common::node::client_roots::ClientRoots;
use weft_common::node::dial::KeepAlive;
use weft_common::node::health::FailedCheck;
use weft_common::tls::TlsIdentity;
use weft_protos::common::Block;

use crate::PeerError;
use crate::channel::Committer;
use crate::channel::delivery::{self, DeliverySettings, PrivateFetch};
use crate::ledger::Ledger;

/// The channels a service reads. Every peer service needs this of the
/// registry and nothing more of it, so services (and their unit tests with
/// fakes) do not depend on the whole peer.
pub trait JoinedChannels: Send + Sync + std::fmt::Debug {
    /// The committer of a joined channel.
    fn channel(&self, id: &str) -> Option<Arc<Committer>>;
    /// The joined channels.
    fn channel_ids(&self) -> Vec<ChannelId>;
}

impl JoinedChannels for Channels {
    fn channel(&self, id: &str) -> Option<Arc<Committer>> {
        self.get(id)
    }
    fn channel_ids(&self) -> Vec<ChannelId> {
        self.ids()
    }
}

/// A joined channel and its tasks.
struct Joined {
    committer: Arc<Committer>,
    delivery: JoinHandle<()>,
    delivery_health: Arc<delivery::DeliveryHealth>,
    roots: JoinHandle<()>,
    reconciler: Option<JoinHandle<()>>,
    upkeep: Option<JoinHandle<()>>,
}

/// Where a channel's missing private data comes from, and how often it is
/// asked for again.
#[derive(Clone)]
pub struct PrivateDataSource {
    /// Pulls before commit and reconciles.
    pub fetch: Arc<dyn PrivateFetch>,
    /// `peer.gossip.pvtData.reconcileSleepInterval`.
    pub reconcile_interval: Duration,
    /// `peer.ledger.pvtdataStore.transientstoreMaxBlockRetention`.
    pub transient_retention: u64,
}

/// What brings a channel's ledger in line with the chaincodes defined on it
/// (their packaged indexes), run after each commit.
pub type ChaincodeUpkeep = Arc<dyn Fn(&Ledger) + Send + Sync>;

/// Runs `upkeep` over the channel's ledger now and after every commit.
async fn keep_up(
    committer: Arc<Committer>,
    upkeep: ChaincodeUpkeep,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut commits = committer.subscribe();
    loop {
        let (ledger, upkeep) = (committer.ledger().clone(), upkeep.clone());
        if tokio::task::spawn_blocking(move || upkeep(&ledger))
            .await
            .is_err()
        {
            tracing::warn!("chaincode upkeep failed");
        }
        tokio::select! {
            next = commits.recv() => {
                if matches!(next, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                    return;
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// How the peer pulls blocks: as whom, over which TLS, with which keep-alive.
#[derive(Debug, Clone)]
pub struct DeliveryIdentity {
    /// The peer's signing identity (its Deliver requests).
    pub signer: SigningIdentity,
    /// The peer's TLS identity (its client certificate towards orderers).
    pub tls: Option<TlsIdentity>,
    /// `peer.keepalive.deliveryClient.*`.
    pub keep_alive: KeepAlive,
}

/// The channels a peer has joined.
pub struct Channels {
    ledgers_dir: PathBuf,
    joined: RwLock<BTreeMap<ChannelId, Joined>>,
    delivery: DeliveryIdentity,
    /// How long block delivery may fail before `/healthz` reports it.
    delivery_stall: Duration,
    /// Orderer endpoints that replace the channels' own (tests, `--orderer`).
    orderer_override: Mutex<Vec<String>>,
    client_roots: Arc<ClientRoots>,
    shutdown: watch::Receiver<bool>,
    private: OnceLock<PrivateDataSource>,
    upkeep: OnceLock<ChaincodeUpkeep>,
    /// Why the ledgers found at start-up are not open yet (the disk was
    /// full), for `/healthz`.
    deferred: Mutex<Option<String>>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("ledgers_dir", &self.ledgers_dir)
            .finish()
    }
}

impl Channels {
    /// No channel yet; ledgers live under `ledgers_dir`.
    pub fn new(
        ledgers_dir: PathBuf,
        delivery: DeliveryIdentity,
        delivery_stall: Duration,
        client_roots: Arc<ClientRoots>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            ledgers_dir,
            joined: RwLock::new(BTreeMap::new()),
            delivery,
            delivery_stall,
            orderer_override: Mutex::new(Vec::new()),
            client_roots,
            shutdown,
            private: OnceLock::new(),
            upkeep: OnceLock::new(),
            deferred: Mutex::new(None),
        }
    }

    /// Records why the ledgers found at start-up are not open yet (`None`:
    /// they are).
    pub fn set_deferred(&self, why: Option<String>) {
        *self.deferred.lock().expect("deferred lock") = why;
    }

    /// Sets where channels get private data from; channels joined or
    /// resumed afterwards commit as peers of this peer's org, pull what they
    /// lack and reconcile.
    pub fn set_private_data(&self, source: PrivateDataSource) {
        let _ = self.private.set(source);
    }

    /// Sets what channels joined or resumed afterwards run after each commit
    /// to keep up with their chaincode definitions.
    pub fn set_chaincode_upkeep(&self, upkeep: ChaincodeUpkeep) {
        let _ = self.upkeep.set(upkeep);
    }

    /// A committer as this peer's org, when private data is set up.
    fn as_member(&self, c: Committer) -> Committer {
        match self.private.get() {
            Some(p) => c.for_org(
                self.delivery.signer.identity.msp_id().to_string(),
                p.transient_retention,
            ),
            None => c,
        }
    }

    /// Joins the channel whose genesis block this is: creates its ledger and
    /// starts pulling blocks from its orderers.
    pub fn join(&self, genesis: Block) -> Result<ChannelId, PeerError> {
        let config = ChannelConfig::from_block(&genesis)
            .map_err(|e| PeerError::Channel(format!("not a usable genesis block: {e}")))?;
        let id = config.channel_id.clone();
        let mut joined = self.joined.write().expect("channels lock");
        if joined.contains_key(&id) {
            return Err(PeerError::Channel(format!(
                "this peer has already joined channel {id}"
            )));
        }
        let full = weft_common::node::health::disk_check(
            &self.ledgers_dir,
            weft_common::node::health::MIN_FREE_BYTES,
        )
        .map(|f| f.reason);
        if let Some(why) = self
            .deferred
            .lock()
            .expect("deferred lock")
            .clone()
            .or(full)
        {
            return Err(PeerError::Channel(format!(
                "not joining channel {id}: {why}"
            )));
        }
        let dir = self.ledgers_dir.join(id.as_str());
        let ledger = Ledger::open(&dir)?;
        if ledger.height() > 0 {
            return Err(PeerError::Channel(format!(
                "a ledger for channel {id} already exists"
            )));
        }
        let committer = match Committer::genesis(ledger, genesis) {
            Ok(c) => Arc::new(self.as_member(c)),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        self.start(&mut joined, committer);
        tracing::info!(channel = %id, "joined channel");
        Ok(id)
    }

    /// Opens every channel ledger found under the ledgers directory.
    pub fn resume(&self) -> Result<(), PeerError> {
        let Ok(entries) = std::fs::read_dir(&self.ledgers_dir) else {
            return Ok(());
        };
        let mut joined = self.joined.write().expect("channels lock");
        for entry in entries.flatten() {
            let ledger = Ledger::open(&entry.path())?;
            if ledger.height() == 0 {
                continue;
            }
            let committer = Arc::new(self.as_member(Committer::open(ledger)?));
            tracing::info!(channel = %committer.config().channel_id, height = committer.ledger().height(), "resumed channel");
            self.start(&mut joined, committer);
        }
        Ok(())
    }

    fn start(&self, joined: &mut BTreeMap<ChannelId, Joined>, committer: Arc<Committer>) {
        let id = committer.config().channel_id.clone();
        // Trusted before the join returns, then kept in line with each config block.
        let roots = tokio::spawn(
            self.client_roots
                .follow(committer.watch_config(), self.shutdown.clone()),
        );
        let settings = DeliverySettings {
            signer: self.delivery.signer.clone(),
            tls: self.delivery.tls.clone(),
            endpoints: self.orderer_override.lock().expect("override lock").clone(),
            keep_alive: self.delivery.keep_alive,
            health: Arc::default(),
            private: self.private.get().map(|p| p.fetch.clone()),
        };
        let reconciler = self.private.get().map(|p| {
            tokio::spawn(delivery::reconcile(
                committer.clone(),
                p.fetch.clone(),
                p.reconcile_interval,
                self.shutdown.clone(),
            ))
        });
        let upkeep = self
            .upkeep
            .get()
            .map(|u| tokio::spawn(keep_up(committer.clone(), u.clone(), self.shutdown.clone())));
        let delivery_health = settings.health.clone();
        let delivery = tokio::spawn(delivery::run(
            committer.clone(),
            settings,
            self.shutdown.clone(),
        ));
        joined.insert(
            id,
            Joined {
                committer,
                delivery,
                delivery_health,
                roots,
                reconciler,
                upkeep,
            },
        );
    }

    /// The committer of a joined channel.
    pub fn get(&self, id: &str) -> Option<Arc<Committer>> {
        self.joined
            .read()
            .expect("channels lock")
            .iter()
            .find(|(k, _)| k.as_str() == id)
            .map(|(_, j)| j.committer.clone())
    }

    /// The joined channels.
    pub fn ids(&self) -> Vec<ChannelId> {
        self.joined
            .read()
            .expect("channels lock")
            .keys()
            .cloned()
            .collect()
    }

    /// Each channel whose block delivery has stalled
    /// (`peer.deliveryclient.reconnectTotalTimeThreshold`) or whose delivery
    /// task ended, and ledgers not opened for want of disk space.
    pub fn failed_checks(&self) -> Vec<FailedCheck> {
        let shutting_down = *self.shutdown.borrow();
        let deferred = self.deferred.lock().expect("deferred lock").clone();
        let deferred = deferred.map(|reason| FailedCheck {
            component: "channels".into(),
            reason,
        });
        self.joined
            .read()
            .expect("channels lock")
            .iter()
            .filter_map(|(id, j)| {
                let reason = j.delivery_health.stalled(self.delivery_stall).or_else(|| {
                    (j.delivery.is_finished() && !shutting_down)
                        .then(|| "its block delivery task has ended".to_string())
                })?;
                Some(FailedCheck {
                    component: format!("channel:{id}"),
                    reason,
                })
            })
            .chain(deferred)
            .collect()
    }

    /// The orderers to use for a channel: the override if set, else the config's.
    pub fn orderer_endpoints(&self, config: &ChannelConfig) -> Vec<String> {
        let o = self.orderer_override.lock().expect("override lock").clone();
        if o.is_empty() {
            config.orderer_endpoints()
        } else {
            o
        }
    }

    /// Pulls blocks from these orderer endpoints instead of the channel config's
    /// (for channels joined after this call).
    pub fn set_orderer_endpoints(&self, endpoints: Vec<String>) {
        *self.orderer_override.lock().expect("override lock") = endpoints;
    }

    /// Forgets every channel and waits for its tasks to end (the node is
    /// shutting down: its shutdown signal is already set).
    pub async fn stop_all(&self) {
        let joined: Vec<Joined> = std::mem::take(&mut *self.joined.write().expect("channels lock"))
            .into_values()
            .collect();
        for j in joined {
            let _ = j.delivery.await;
            let _ = j.roots.await;
            for task in [j.reconciler, j.upkeep].into_iter().flatten() {
                let _ = task.await;
            }
        }
    }
}
