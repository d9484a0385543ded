//! The handle the node and its services hold on a running channel: it
//! starts the channel's tasks, offers envelopes and waits for the blocks that
//! hold them, and reports why the channel stopped if it did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until};
use weft_common::backoff::Backoff;
use weft_common::config::ChannelConfig;
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_common::tls::TlsIdentity;

use super::actor::Actor;
use super::clients::{Clients, ConsenterLinks};
use super::config_change::batch_limits;
use super::submit::{SubmitJob, run_submitter};
use super::{Command, Consenter, consenters, stored_membership};
use crate::OrdererError;
use crate::chain::{Chain, ChainSettings, Offer, Offered};
use crate::digest_window::DigestWindow;
use crate::raft_outbox::Outbox;
use crate::storage::{ChannelStorage, ChannelStore};
use weft_common::node::task_scope::TaskScope;

pub(super) type Waiters = Arc<Mutex<HashMap<[u8; 32], Vec<oneshot::Sender<u64>>>>>;

/// How many envelopes of recently written blocks a node remembers, so that a
/// client resubmitting an envelope that is already in a block is answered at
/// once (the leader drops the duplicate, so no new block would answer it).
const ORDERED_WINDOW: usize = 100_000;

/// The envelopes of the newest blocks written before a restart (the chain's
/// history, oldest first) with their block numbers, so that a node that
/// restarts still answers resubmissions of what it ordered before.
fn ordered_from_history(history: Vec<crate::storage::BlockDigests>) -> DigestWindow<u64> {
    let mut recent = DigestWindow::new(ORDERED_WINDOW);
    for block in history {
        for h in block.digests {
            recent.insert(h, block.number);
        }
    }
    recent
}

/// After the leader accepted an envelope, re-offer it only this long after
/// (leader changes re-offer at once).
const ACCEPTED_SAFETY_RETRY: Duration = Duration::from_secs(10);

/// The running channel.
pub struct ChannelHandle {
    /// The channel.
    pub id: ChannelId,
    /// Its current config.
    pub config: watch::Receiver<Arc<ChannelConfig>>,
    /// Number of blocks stored.
    pub height: watch::Receiver<u64>,
    /// Current leader (0 = none known).
    pub leader: watch::Receiver<u64>,
    /// This node's Raft id.
    pub self_id: u64,
    /// The consenters (changes with config blocks).
    pub consenters: std::sync::RwLock<Vec<Consenter>>,
    pub(super) store: ChannelStore,
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) waiters: Waiters,
    pub(super) ordered: Mutex<DigestWindow<u64>>,
    /// Every task of the channel: the actor, the submitter, Raft links,
    /// forwards and block fetches; cancelled and joined together.
    pub(super) scope: TaskScope,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Why the channel's task stopped on its own, if it did.
    halted: Mutex<Option<String>>,
    pub(super) clients: Arc<Clients>,
    submitter: mpsc::Sender<SubmitJob>,
}

impl std::fmt::Debug for ChannelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelHandle")
            .field("id", &self.id)
            .field("self_id", &self.self_id)
            .finish()
    }
}

/// What a channel needs to start.
pub struct ChannelStart {
    /// The channel's store (already holding at least the genesis block).
    pub store: ChannelStore,
    /// Its config as of the newest config block.
    pub config: Arc<ChannelConfig>,
    /// This node's signing identity.
    pub signer: SigningIdentity,
    /// This node's TLS identity and whether TLS is on.
    pub tls: Option<TlsIdentity>,
    /// Where to count blocks and leader changes.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Whether this node joins an existing Raft group (added by a config update).
    pub joining: bool,
    /// How long one call to another consenter may take (`General.Cluster.RPCTimeout`).
    pub rpc_timeout: Duration,
}

impl ChannelHandle {
    /// Starts the channel's task. Fails if this node is not one of its consenters.
    pub fn start(start: ChannelStart) -> Result<Arc<Self>, OrdererError> {
        let cfg = start.config.clone();
        let own_cert = match &start.tls {
            Some(t) => weft_common::tls::parse_certs(&t.cert_pem)?
                .remove(0)
                .to_vec(),
            None => Vec::new(),
        };
        let membership = stored_membership(&start.store, &cfg)?;
        let consenters = consenters(&cfg, &membership)?;
        let self_id = membership.id_of(&own_cert).ok_or_else(|| {
            OrdererError::ChannelConfig(format!(
                "this orderer's TLS certificate is not among the consenters of channel {}; it cannot follow the channel as a consenter",
                cfg.channel_id
            ))
        })?;
        let ord = cfg.orderer.as_ref().expect("checked by consenters()");
        let opts = ord
            .raft_options
            .unwrap_or(weft_common::config::RaftOptions {
                tick_interval: Duration::from_millis(500),
                election_tick: 10,
                heartbeat_tick: 1,
                max_inflight_blocks: 5,
                snapshot_interval_size: 16 * 1024 * 1024,
            });
        let settings = ChainSettings {
            node_id: self_id,
            membership,
            joining: start.joining,
            election_tick: opts.election_tick as usize,
            heartbeat_tick: opts.heartbeat_tick as usize,
            limits: batch_limits(&cfg),
            snapshot_interval_bytes: opts.snapshot_interval_size as u64,
        };
        let mut chain = Chain::open(start.store.clone(), start.signer, settings)?;
        let clients = Arc::new(Clients::new(start.tls));
        clients.set_consenters(&consenters, self_id, cfg.tls_roots());
        let (commands, rx) = mpsc::channel(4096);
        let (submitter, submit_rx) = mpsc::channel(16 * 1024);
        let (config_tx, config) = watch::channel(cfg.clone());
        let (height_tx, height) = watch::channel(start.store.height()?);
        let ordered = ordered_from_history(chain.take_history());
        let (leader_tx, leader) = watch::channel(0);
        let scope = TaskScope::current();
        let handle = Arc::new(Self {
            id: cfg.channel_id.clone(),
            config,
            height,
            leader,
            self_id,
            consenters: std::sync::RwLock::new(consenters),
            store: start.store,
            commands,
            waiters: Arc::new(Mutex::new(HashMap::new())),
            ordered: Mutex::new(ordered),
            scope: scope.clone(),
            task: Mutex::new(None),
            halted: Mutex::new(None),
            clients: clients.clone(),
            submitter,
        });
        scope.spawn(run_submitter(
            handle.id.to_string(),
            handle.self_id,
            handle.leader.clone(),
            handle.commands.clone(),
            handle.clients.clone(),
            submit_rx,
            scope.clone(),
        ));
        let actor = Actor {
            chain,
            rx,
            scope: scope.clone(),
            tick: opts.tick_interval,
            height_tx,
            leader_tx,
            config_tx,
            done: false,
            metrics: start.metrics,
            outbox: Outbox::new(
                Arc::new(ConsenterLinks {
                    rpc_timeout: start.rpc_timeout,
                    channel: handle.id.to_string(),
                    clients: handle.clients.clone(),
                    commands: handle.commands.clone(),
                }),
                scope.clone(),
            ),
            handle: Arc::downgrade(&handle),
        };
        *handle.task.lock().expect("task lock") = Some(scope.spawn(actor.run()));
        Ok(handle)
    }

    /// The store (blocks for Deliver).
    pub fn store(&self) -> &ChannelStore {
        &self.store
    }

    /// Feeds Raft messages received from another consenter.
    pub async fn step(&self, messages: Vec<raft::prelude::Message>) -> Result<(), OrdererError> {
        self.commands
            .send(Command::Step(messages))
            .await
            .map_err(|_| OrdererError::Stopped(self.id.to_string()))
    }

    /// Offers an envelope to this node's chain (leader: ordered; follower: refused).
    pub async fn offer(&self, envelope: Vec<u8>) -> Result<Offer, OrdererError> {
        self.command(|tx| Command::Order(envelope, tx)).await
    }

    /// How many consenters this node, if leader, currently hears from (0 if not leader).
    pub async fn reachable_consenters(&self) -> usize {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Reachable(tx)).await.is_err() {
            return 0;
        }
        rx.await.unwrap_or(0)
    }

    /// Offers many envelopes to this node's chain in one round trip.
    pub async fn offer_many(&self, envelopes: Vec<Offered>) -> Result<Vec<Offer>, OrdererError> {
        let stopped = || OrdererError::Stopped(self.id.to_string());
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::OrderMany(envelopes, tx))
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Offers a CONFIG envelope to this node's chain.
    pub async fn offer_config(&self, envelope: Vec<u8>) -> Result<Offer, OrdererError> {
        self.command(|tx| Command::OrderConfig(envelope, tx)).await
    }

    async fn command(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<Offer, OrdererError>>) -> Command,
    ) -> Result<Offer, OrdererError> {
        let stopped = || OrdererError::Stopped(self.id.to_string());
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Orders an envelope and waits until it is in a committed block on this
    /// node: offers it to the leader (here or forwarded), and re-offers after
    /// a leader change or a timeout. Returns the block number.
    pub async fn order_and_wait(
        &self,
        envelope: Vec<u8>,
        deadline: Duration,
    ) -> Result<u64, OrdererError> {
        self.submit_and_wait(envelope, false, deadline).await
    }

    /// Like [`Self::order_and_wait`], for a CONFIG envelope (cut alone).
    pub async fn order_config_and_wait(
        &self,
        envelope: Vec<u8>,
        deadline: Duration,
    ) -> Result<u64, OrdererError> {
        self.submit_and_wait(envelope, true, deadline).await
    }

    async fn submit_and_wait(
        &self,
        envelope: Vec<u8>,
        config: bool,
        deadline: Duration,
    ) -> Result<u64, OrdererError> {
        if let Some(why) = self.failure() {
            return Err(OrdererError::Unavailable(format!(
                "channel {} is halted: {why}",
                self.id
            )));
        }
        let hash = weft_common::crypto::sha256(&envelope);
        let (tx, mut done) = oneshot::channel();
        self.waiters
            .lock()
            .expect("waiters lock")
            .entry(hash)
            .or_default()
            .push(tx);
        // Registered first, checked second: a block written in between answers the waiter.
        let already = self
            .ordered
            .lock()
            .expect("ordered lock")
            .get(&hash)
            .copied();
        if let Some(number) = already {
            drop(done);
            let mut waiters = self.waiters.lock().expect("waiters lock");
            if let Some(list) = waiters.get_mut(&hash) {
                list.retain(|w| !w.is_closed());
                if list.is_empty() {
                    waiters.remove(&hash);
                }
            }
            return Ok(number);
        }
        let give_up = Instant::now() + deadline;
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        loop {
            let offered = self.submit(&envelope, hash, config).await;
            // Once the leader has the envelope only a leader change can lose it, so
            // wait for the commit, a leader change, or (as a safety net) a long time.
            // A refused or failed offer is retried soon, backing off.
            let retry_in = match offered {
                Ok(true) => ACCEPTED_SAFETY_RETRY,
                Ok(false) => Duration::from_millis(100),
                // A config the leader refuses as stale does not become valid by retrying.
                Err(OrdererError::UpdateRefused(msg)) => {
                    self.waiters.lock().expect("waiters lock").remove(&hash);
                    return Err(OrdererError::UpdateRefused(msg));
                }
                Err(e) => {
                    tracing::debug!(channel = %self.id, "offer failed, will retry: {e}");
                    backoff.next_wait()
                }
            };
            // A clone keeps the handle's "seen" version; mark the current leader as
            // seen so only a change from now on wakes us.
            let mut leader_rx = self.leader.clone();
            leader_rx.borrow_and_update();
            let wait_until = (Instant::now() + retry_in).min(give_up);
            tokio::select! {
                r = &mut done => return r.map_err(|_| OrdererError::Stopped(self.id.to_string())),
                _ = leader_rx.changed() => {}
                _ = sleep_until(wait_until) => {}
            }
            if Instant::now() >= give_up {
                self.waiters.lock().expect("waiters lock").remove(&hash);
                return Err(OrdererError::Unavailable(format!(
                    "channel {}: the envelope was not ordered within {deadline:?} (leader {})",
                    self.id,
                    *self.leader.borrow()
                )));
            }
        }
    }

    /// Hands an envelope to the channel's submitter, which offers it to the
    /// leader in a batch (here, or forwarded). True once the leader has it.
    async fn submit(
        &self,
        envelope: &[u8],
        digest: [u8; 32],
        config: bool,
    ) -> Result<bool, OrdererError> {
        let (reply, rx) = oneshot::channel();
        let job = SubmitJob {
            envelope: envelope.to_vec(),
            digest,
            config,
            reply,
        };
        self.submitter
            .send(job)
            .await
            .map_err(|_| OrdererError::Stopped(self.id.to_string()))?;
        rx.await
            .map_err(|_| OrdererError::Stopped(self.id.to_string()))?
    }

    /// Why the channel no longer orders, if it stopped without being asked
    /// to: a committed config it could not load, a storage failure, a panic.
    pub fn failure(&self) -> Option<String> {
        if let Some(why) = self.halted.lock().expect("halted lock").clone() {
            return Some(why);
        }
        let task = self.task.lock().expect("task lock");
        let ended = task.as_ref().is_some_and(|t| t.is_finished());
        (ended && !self.scope.is_cancelled()).then(|| "its task has ended".to_string())
    }

    /// Aborts the channel's task as a crash of it would, without asking it to
    /// stop: what tests of `/healthz` use.
    #[doc(hidden)]
    pub fn abort_task(&self) {
        if let Some(t) = self.task.lock().expect("task lock").as_ref() {
            t.abort();
        }
    }

    pub(super) fn halt(&self, why: String) {
        tracing::error!(channel = %self.id, "channel halted: {why}");
        *self.halted.lock().expect("halted lock") = Some(why);
    }

    /// Stops the channel's tasks.
    pub fn stop(&self) {
        self.scope.cancel();
    }

    /// Stops the channel's tasks and waits until every one has ended (the
    /// actor's store is closed, no call or fetch is left running).
    pub async fn stop_and_wait(&self) {
        self.scope.shutdown().await;
    }

    /// Whether a caller's TLS client certificate (DER) is a consenter's.
    pub fn is_consenter_cert(&self, der: &[u8]) -> bool {
        self.consenter_id(der).is_some()
    }

    /// The Raft id of the consenter whose client TLS certificate is `der`.
    pub fn consenter_id(&self, der: &[u8]) -> Option<u64> {
        self.consenters
            .read()
            .expect("consenters lock")
            .iter()
            .find(|c| c.client_cert_der == der)
            .map(|c| c.id)
    }
}
