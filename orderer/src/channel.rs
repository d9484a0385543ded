//! One channel on a running orderer: an async task that owns the channel's
//! [`Chain`] and drives it with commands, Raft ticks and
//! the batch deadline, plus the handle other parts of the node use.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message as _;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until};
use weft_common::config::ChannelConfig;
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_common::node::dial::{DialOptions, DialTls, dial_lazy};
use weft_common::tls::TlsIdentity;
use weft_protos::common::Block;
use weft_protos::weft::cluster::cluster_client::ClusterClient;
use weft_protos::weft::cluster::{BlocksRequest, ForwardRequest, forward_response::Outcome};

use crate::OrdererError;
use crate::chain::{Chain, ChainEvent, ChainSettings, Offer, Offered};
use crate::cutter::BatchLimits;
use crate::membership::{Membership, consenter_certs};
use crate::raft_outbox::{Outbox, Transport};
use crate::step_wire::{self, StepBatch};
use crate::storage::ChannelStore;

/// A consenter of the channel as this node sees it.
#[derive(Debug, Clone)]
pub struct Consenter {
    /// Raft id.
    pub id: u64,
    /// `host:port` of its cluster service.
    pub endpoint: String,
    /// Host name, for TLS server name checks.
    pub host: String,
    /// Its client TLS certificate (DER), which it must present when calling us.
    pub client_cert_der: Vec<u8>,
}

/// Consenters from a channel config, and which one is this node (by its TLS certificate).
pub fn consenters(
    cfg: &ChannelConfig,
    membership: &Membership,
) -> Result<Vec<Consenter>, OrdererError> {
    let ord = cfg
        .orderer
        .as_ref()
        .ok_or_else(|| OrdererError::Config("channel config has no Orderer group".into()))?;
    if ord.consensus_type != "etcdraft" {
        return Err(OrdererError::Config(format!(
            "consensus type {:?} is not supported (etcdraft only)",
            ord.consensus_type
        )));
    }
    ord.consenters
        .iter()
        .zip(&membership.ids)
        .map(|(c, id)| {
            Ok(Consenter {
                id: *id,
                endpoint: format!("{}:{}", c.host, c.port),
                host: c.host.clone(),
                client_cert_der: weft_common::tls::parse_certs(&c.client_tls_cert)?
                    .remove(0)
                    .to_vec(),
            })
        })
        .collect()
}

/// The consenter membership as of the store's newest block (genesis ids when none is recorded).
pub fn stored_membership(
    store: &ChannelStore,
    cfg: &ChannelConfig,
) -> Result<Membership, OrdererError> {
    let certs = consenter_certs(cfg)?;
    let height = store.height()?;
    let last = store
        .block(height.saturating_sub(1))?
        .and_then(|b| Block::decode(b.as_slice()).ok())
        .ok_or_else(|| OrdererError::Corrupt {
            what: "block store".into(),
            reason: "no blocks".into(),
        })?;
    Ok(Membership::from_block(&last, &certs).unwrap_or_else(|| Membership::genesis(certs)))
}

enum Command {
    Step(Vec<raft::prelude::Message>),
    Unreachable(u64),
    Reachable(oneshot::Sender<usize>),
    OrderConfig(Vec<u8>, oneshot::Sender<Result<Offer, OrdererError>>),
    Order(Vec<u8>, oneshot::Sender<Result<Offer, OrdererError>>),
    OrderMany(
        Vec<Offered>,
        oneshot::Sender<Result<Vec<Offer>, OrdererError>>,
    ),
    CatchUp(Vec<Vec<u8>>),
}

type Waiters = Arc<Mutex<HashMap<[u8; 32], Vec<oneshot::Sender<u64>>>>>;

/// How many envelopes of recently written blocks a node remembers, so that a
/// client resubmitting an envelope that is already in a block is answered at
/// once (the leader drops the duplicate, so no new block would answer it).
const ORDERED_WINDOW: usize = 100_000;

/// Envelope hashes of recently written blocks, with their block numbers.
#[derive(Default)]
struct RecentlyOrdered {
    blocks: HashMap<[u8; 32], u64>,
    order: std::collections::VecDeque<[u8; 32]>,
}

impl RecentlyOrdered {
    /// The envelopes of the newest blocks written before a restart (the
    /// chain's history, oldest first), so that a node that restarts still
    /// answers resubmissions of what it ordered before.
    fn from_history(history: Vec<crate::storage::BlockDigests>) -> Self {
        let mut recent = Self::default();
        for block in history {
            for h in block.digests {
                recent.insert(h, block.number);
            }
        }
        recent
    }

    fn insert(&mut self, hash: [u8; 32], block: u64) {
        if self.blocks.insert(hash, block).is_none() {
            self.order.push_back(hash);
            while self.order.len() > ORDERED_WINDOW {
                if let Some(old) = self.order.pop_front() {
                    self.blocks.remove(&old);
                }
            }
        }
    }
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
    store: ChannelStore,
    commands: mpsc::Sender<Command>,
    waiters: Waiters,
    ordered: Mutex<RecentlyOrdered>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Why the channel's task stopped on its own, if it did.
    halted: Mutex<Option<String>>,
    clients: Arc<Clients>,
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

/// gRPC clients to the other consenters, made lazily.
struct Clients {
    tls: Option<(TlsIdentity, Vec<Vec<u8>>)>,
    by_id: Mutex<BTreeMap<u64, tonic::transport::Channel>>,
    endpoints: Mutex<BTreeMap<u64, (String, String)>>,
}

impl Clients {
    /// Replaces the endpoints (after a membership change); drops clients of removed consenters.
    fn set_consenters(&self, consenters: &[Consenter], self_id: u64) {
        let endpoints: BTreeMap<u64, (String, String)> = consenters
            .iter()
            .filter(|c| c.id != self_id)
            .map(|c| (c.id, (c.endpoint.clone(), c.host.clone())))
            .collect();
        self.by_id
            .lock()
            .expect("clients lock")
            .retain(|id, _| endpoints.contains_key(id));
        *self.endpoints.lock().expect("endpoints lock") = endpoints;
    }

    fn client(&self, id: u64) -> Option<ClusterClient<tonic::transport::Channel>> {
        let channel = self.channel(id)?;
        Some(ClusterClient::new(channel).max_decoding_message_size(256 * 1024 * 1024))
    }

    /// The (lazily connecting) channel to consenter `id`, shared by every call to it.
    fn channel(&self, id: u64) -> Option<tonic::transport::Channel> {
        let mut by_id = self.by_id.lock().expect("clients lock");
        if let Some(c) = by_id.get(&id) {
            return Some(c.clone());
        }
        let (endpoint, host) = self
            .endpoints
            .lock()
            .expect("endpoints lock")
            .get(&id)?
            .clone();
        let tls = self.tls.as_ref().map(|(identity, roots)| DialTls {
            roots: roots.clone(),
            identity: Some((identity.cert_pem.clone(), identity.key_pem.clone())),
            server_name: Some(host),
        });
        let options = DialOptions {
            connect_timeout: Duration::from_secs(3),
            ..DialOptions::default()
        };
        let channel = match dial_lazy(&endpoint, tls.as_ref(), options) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(consenter = id, "{e}");
                return None;
            }
        };
        by_id.insert(id, channel.clone());
        Some(channel)
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
    /// Called after a config block is committed (the node refreshes its TLS roots).
    pub on_config: Arc<dyn Fn() + Send + Sync>,
}

fn batch_limits(cfg: &ChannelConfig) -> BatchLimits {
    let ord = cfg.orderer.as_ref().expect("checked by consenters()");
    BatchLimits {
        max_message_count: ord.batch_size.max_message_count,
        preferred_max_bytes: ord.batch_size.preferred_max_bytes,
        timeout: ord.batch_timeout,
    }
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
            OrdererError::Config(format!(
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
        let clients = Arc::new(Clients {
            tls: start.tls.map(|t| (t, cfg.tls_roots())),
            by_id: Mutex::new(BTreeMap::new()),
            endpoints: Mutex::new(BTreeMap::new()),
        });
        clients.set_consenters(&consenters, self_id);
        let (commands, rx) = mpsc::channel(4096);
        let (submitter, submit_rx) = mpsc::channel(16 * 1024);
        let (config_tx, config) = watch::channel(cfg.clone());
        let (height_tx, height) = watch::channel(start.store.height()?);
        let ordered = RecentlyOrdered::from_history(chain.take_history());
        let (leader_tx, leader) = watch::channel(0);
        let (stop, stop_rx) = watch::channel(false);
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
            stop,
            task: Mutex::new(None),
            halted: Mutex::new(None),
            clients: clients.clone(),
            submitter,
        });
        tokio::spawn(run_submitter(
            handle.id.to_string(),
            handle.self_id,
            handle.leader.clone(),
            handle.commands.clone(),
            handle.clients.clone(),
            submit_rx,
        ));
        let runtime = tokio::runtime::Handle::current();
        let actor = Actor {
            chain,
            rx,
            stop: stop_rx,
            tick: opts.tick_interval,
            height_tx,
            leader_tx,
            config_tx,
            on_config: start.on_config,
            done: false,
            metrics: start.metrics,
            outbox: Outbox::new(
                Arc::new(ConsenterLinks {
                    rpc_timeout: start.rpc_timeout,
                    channel: handle.id.to_string(),
                    clients: handle.clients.clone(),
                    commands: handle.commands.clone(),
                }),
                runtime.clone(),
            ),
            runtime,
            handle: Arc::downgrade(&handle),
        };
        *handle.task.lock().expect("task lock") = Some(tokio::spawn(actor.run()));
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
            .blocks
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
        let mut backoff = Duration::from_millis(50);
        loop {
            let offered = self.submit(&envelope, hash, config).await;
            // Once the leader has the envelope only a leader change can lose it, so
            // wait for the commit, a leader change, or (as a safety net) a long time.
            // A refused or failed offer is retried soon, backing off.
            let retry_in = match offered {
                Ok(true) => ACCEPTED_SAFETY_RETRY,
                Ok(false) => Duration::from_millis(100),
                // A config the leader refuses as stale does not become valid by retrying.
                Err(OrdererError::Config(msg)) => {
                    self.waiters.lock().expect("waiters lock").remove(&hash);
                    return Err(OrdererError::Config(msg));
                }
                Err(e) => {
                    tracing::debug!(channel = %self.id, "offer failed, will retry: {e}");
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    backoff
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
        (ended && !*self.stop.borrow()).then(|| "its task has ended".to_string())
    }

    /// Aborts the channel's task as a crash of it would, without asking it to
    /// stop: what tests of `/healthz` use.
    #[doc(hidden)]
    pub fn abort_task(&self) {
        if let Some(t) = self.task.lock().expect("task lock").as_ref() {
            t.abort();
        }
    }

    fn halt(&self, why: String) {
        tracing::error!(channel = %self.id, "channel halted: {why}");
        *self.halted.lock().expect("halted lock") = Some(why);
    }

    /// Stops the channel's task.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops the channel's task and waits until it has ended (its store is closed).
    pub async fn stop_and_wait(&self) {
        self.stop();
        let task = self.task.lock().expect("task lock").take();
        if let Some(t) = task {
            let _ = t.await;
        }
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

struct Actor {
    chain: Chain,
    rx: mpsc::Receiver<Command>,
    stop: watch::Receiver<bool>,
    tick: Duration,
    height_tx: watch::Sender<u64>,
    leader_tx: watch::Sender<u64>,
    config_tx: watch::Sender<Arc<ChannelConfig>>,
    on_config: Arc<dyn Fn() + Send + Sync>,
    /// Set once the task should end: this node was removed from the
    /// consenters, or the channel halted.
    done: bool,
    metrics: Arc<crate::metrics::Metrics>,
    /// The node's shared runtime, where block fetches run.
    runtime: tokio::runtime::Handle,
    handle: std::sync::Weak<ChannelHandle>,
    /// Raft messages to the other consenters, in order.
    outbox: Outbox<ConsenterLinks>,
}

/// The cluster transport as the outbox sees it: `Cluster.Step` calls to the
/// consenters, and failures reported back to this channel's Raft node.
struct ConsenterLinks {
    /// A call not answered in time fails, so a black-holed consenter does not
    /// hold its link (and every message queued behind the call) forever.
    rpc_timeout: Duration,
    channel: String,
    clients: Arc<Clients>,
    commands: mpsc::Sender<Command>,
}

impl Transport for ConsenterLinks {
    fn deliver(
        &self,
        to: u64,
        messages: Vec<raft::prelude::Message>,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send {
        let connection = self.clients.channel(to);
        let batch = StepBatch {
            channel: self.channel.clone(),
            messages,
        };
        let timeout = self.rpc_timeout;
        async move {
            let connection =
                connection.ok_or_else(|| format!("consenter {to} has no known endpoint"))?;
            tokio::time::timeout(timeout, step_wire::step(connection, batch))
                .await
                .map_err(|_| format!("consenter {to} did not answer within {timeout:?}"))?
                .map_err(|s| s.message().to_string())
        }
    }

    fn unreachable(&self, to: u64) {
        // Raft falls back to probing the peer instead of streaming to it.
        let _ = self.commands.try_send(Command::Unreachable(to));
    }
}

impl Actor {
    /// Checks a CONFIG envelope is the next config (and none is in flight) before ordering it.
    fn order_config(&mut self, env: Vec<u8>) -> Result<Offer, OrdererError> {
        if !self.chain.leading()? {
            return Ok(Offer::NotLeader(self.chain.leader()));
        }
        if self.chain.knows(&env) {
            return Ok(Offer::Duplicate); // a resubmission of the config in flight
        }
        let bad = |e: String| OrdererError::Config(e);
        let unpacked =
            weft_common::tx::UnpackedEnvelope::from_bytes(&env).map_err(|e| bad(e.to_string()))?;
        let ce = weft_protos::common::ConfigEnvelope::decode(unpacked.data.as_slice())
            .map_err(|e| bad(e.to_string()))?;
        let ce_config = ce.config;
        let sequence = ce_config.as_ref().map_or(0, |c| c.sequence);
        let current = self.config_tx.borrow().sequence();
        if self.chain.config_pending() || sequence != current + 1 {
            return Err(bad(format!(
                "the channel config changed while this update was validated (now at sequence {current}); recompute the update and resubmit"
            )));
        }
        let new_cfg = ChannelConfig::from_config(
            self.config_tx.borrow().channel_id.clone(),
            ce_config
                .as_ref()
                .ok_or_else(|| bad("the CONFIG envelope holds no config".into()))?,
        )
        .map_err(|e| bad(e.to_string()))?;
        self.chain
            .check_membership_change(consenter_certs(&new_cfg)?)
            .map_err(bad)?;
        self.chain.order_config(env)
    }

    /// A config block was written: adopt its config.
    fn config_committed(&mut self, handle: &Arc<ChannelHandle>, number: u64) {
        let loaded = handle
            .store
            .block(number)
            .ok()
            .flatten()
            .and_then(|b| Block::decode(b.as_slice()).ok())
            .ok_or_else(|| "config block missing from the store".to_string())
            .and_then(|b| ChannelConfig::from_block(&b).map_err(|e| e.to_string()));
        match loaded {
            Ok(cfg) => {
                tracing::info!(channel = %handle.id, block = number, sequence = cfg.sequence(), "channel config updated");
                self.chain.set_limits(batch_limits(&cfg));
                match consenters(&cfg, self.chain.membership()) {
                    Ok(list) => {
                        handle.clients.set_consenters(&list, handle.self_id);
                        self.outbox.retain(|id| list.iter().any(|c| c.id == id));
                        *handle.consenters.write().expect("consenters lock") = list;
                    }
                    Err(e) => {
                        tracing::error!(channel = %handle.id, "consenters of the new config: {e}")
                    }
                }
                let _ = self.config_tx.send(Arc::new(cfg));
                (self.on_config)();
            }
            Err(e) => {
                // Going on with the old config would order under rules the
                // channel no longer has: stop, visibly (logs and /healthz).
                handle.halt(format!(
                    "cannot load the config committed in block {number}: {e}"
                ));
                self.done = true;
            }
        }
    }

    /// Carries out one command from the channel's handle or the cluster service.
    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Step(msgs) => {
                for m in msgs {
                    if let Err(e) = self.chain.step(m) {
                        tracing::warn!("raft step: {e}");
                    }
                }
            }
            Command::Unreachable(id) => self.chain.report_unreachable(id),
            Command::OrderMany(envs, reply) => {
                let _ = reply.send(self.chain.order_many(envs, std::time::Instant::now()));
            }
            Command::Reachable(reply) => {
                let _ = reply.send(self.chain.reachable_voters());
            }
            Command::OrderConfig(env, reply) => {
                let _ = reply.send(self.order_config(env));
            }
            Command::Order(env, reply) => {
                let _ = reply.send(self.chain.order(env, std::time::Instant::now()));
            }
            Command::CatchUp(blocks) => {
                if let Err(e) = self.chain.catch_up(&blocks) {
                    tracing::warn!("catch-up blocks refused: {e}");
                }
            }
        }
    }

    /// Persists and applies what Raft has ready. This writes to RocksDB with
    /// fsync, so on a multi-threaded runtime the worker thread is handed
    /// over for the duration and other tasks (admission checks, the other
    /// channels) keep running.
    fn process(&mut self) -> Result<(), OrdererError> {
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(|| self.chain.process())
        } else {
            self.chain.process()
        }
    }

    async fn run(mut self) {
        let mut ticker = tokio::time::interval(self.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.chain.deadline().map(Instant::from_std);
            tokio::select! {
                biased;
                _ = self.stop.changed() => break,
                cmd = self.rx.recv() => match cmd {
                    None => break,
                    Some(cmd) => {
                        self.handle(cmd);
                        // Take what else is waiting before persisting, so that one
                        // Raft Ready (one fsync) covers many commands under load.
                        for _ in 0..MAX_COMMANDS_PER_READY {
                            match self.rx.try_recv() {
                                Ok(cmd) => self.handle(cmd),
                                Err(_) => break,
                            }
                        }
                    }
                },
                _ = ticker.tick() => self.chain.tick(),
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    if let Err(e) = self.chain.on_time(std::time::Instant::now()) {
                        tracing::error!("cutting a block: {e}");
                    }
                }
            }
            if let Err(e) = self.process() {
                match self.handle.upgrade() {
                    Some(handle) => handle.halt(e.to_string()),
                    None => tracing::error!("channel halted: {e}"),
                }
                break;
            }
            let Some(handle) = self.handle.upgrade() else {
                break;
            };
            self.dispatch(&handle);
            if self.done {
                break;
            }
        }
    }

    fn dispatch(&mut self, handle: &Arc<ChannelHandle>) {
        self.outbox.send(self.chain.take_messages());
        for event in self.chain.take_events() {
            match event {
                ChainEvent::BlockWritten {
                    number,
                    envelopes,
                    config,
                } => {
                    if config {
                        self.config_committed(handle, number);
                    }
                    self.metrics
                        .block_written(handle.id.as_str(), envelopes.len());
                    let _ = self.height_tx.send(number + 1);
                    {
                        let mut ordered = handle.ordered.lock().expect("ordered lock");
                        for h in &envelopes {
                            ordered.insert(*h, number);
                        }
                    }
                    let mut waiters = handle.waiters.lock().expect("waiters lock");
                    for h in envelopes {
                        for tx in waiters.remove(&h).unwrap_or_default() {
                            let _ = tx.send(number);
                        }
                    }
                }
                ChainEvent::MembershipChanged(changes) => {
                    tracing::info!(channel = %handle.id, ?changes, "consenters changed");
                    if changes.contains(&crate::membership::Change::Remove(handle.self_id)) {
                        tracing::warn!(channel = %handle.id, "this orderer was removed from the channel's consenters; it stops following the channel");
                        self.done = true;
                    }
                }
                ChainEvent::LeaderChanged(l) => {
                    tracing::info!(channel = %handle.id, leader = l, "leader changed");
                    self.metrics.leader_changed(
                        handle.id.as_str(),
                        self.chain.term(),
                        l == handle.self_id,
                    );
                    let _ = self.leader_tx.send(l);
                }
                ChainEvent::NeedBlocks { height } => {
                    let handle = handle.clone();
                    self.runtime
                        .spawn(async move { fetch_blocks(handle, height).await });
                }
            }
        }
    }
}

/// One envelope to offer to the leader.
struct SubmitJob {
    envelope: Vec<u8>,
    /// The envelope's SHA-256, computed once by [`ChannelHandle::submit_and_wait`].
    digest: [u8; 32],
    config: bool,
    reply: oneshot::Sender<Result<bool, OrdererError>>,
}

/// Most envelopes in one offer batch (one actor command or one forward RPC).
/// Commands handled before one Raft Ready is processed.
const MAX_COMMANDS_PER_READY: usize = 256;

const MAX_SUBMIT_BATCH: usize = 1000;

/// Offers envelopes to the leader in batches: whatever is queued when a batch
/// can go (up to [`MAX_SUBMIT_BATCH`]) travels together, to this node's actor
/// when it leads, or in one forward RPC to the leader otherwise.
async fn run_submitter(
    channel: String,
    self_id: u64,
    leader: watch::Receiver<u64>,
    commands: mpsc::Sender<Command>,
    clients: Arc<Clients>,
    mut rx: mpsc::Receiver<SubmitJob>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_SUBMIT_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let leader = *leader.borrow();
        let (configs, normal): (Vec<SubmitJob>, Vec<SubmitJob>) =
            jobs.into_iter().partition(|j| j.config);
        if leader == self_id || leader == 0 {
            if !normal.is_empty() {
                let (envelopes, replies): (Vec<Offered>, Vec<_>) = normal
                    .into_iter()
                    .map(|j| (Offered::hashed(j.envelope, j.digest), j.reply))
                    .unzip();
                let (tx, rx) = oneshot::channel();
                let result = match commands.send(Command::OrderMany(envelopes, tx)).await {
                    Ok(()) => rx
                        .await
                        .unwrap_or_else(|_| Err(OrdererError::Stopped(channel.clone()))),
                    Err(_) => Err(OrdererError::Stopped(channel.clone())),
                };
                answer(
                    replies,
                    result.map(|offers| {
                        offers
                            .into_iter()
                            .map(|o| !matches!(o, Offer::NotLeader(_)))
                            .collect()
                    }),
                );
            }
            for job in configs {
                let (tx, rx) = oneshot::channel();
                let result = match commands.send(Command::OrderConfig(job.envelope, tx)).await {
                    Ok(()) => rx
                        .await
                        .unwrap_or_else(|_| Err(OrdererError::Stopped(channel.clone()))),
                    Err(_) => Err(OrdererError::Stopped(channel.clone())),
                };
                let _ = job
                    .reply
                    .send(result.map(|o| !matches!(o, Offer::NotLeader(_))));
            }
        } else {
            for (config, group) in [(false, normal), (true, configs)] {
                if group.is_empty() {
                    continue;
                }
                let clients = clients.clone();
                let channel = channel.clone();
                tokio::spawn(async move {
                    forward_group(&clients, channel, leader, config, group).await
                });
            }
        }
    }
}

/// Sends each job its part of a batch result.
fn answer(
    replies: Vec<oneshot::Sender<Result<bool, OrdererError>>>,
    result: Result<Vec<bool>, OrdererError>,
) {
    match result {
        Ok(outcomes) => {
            for (reply, ok) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(ok));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(match &e {
                    OrdererError::Config(_) => OrdererError::Config(msg.clone()),
                    _ => OrdererError::Unavailable(msg.clone()),
                }));
            }
        }
    }
}

async fn forward_group(
    clients: &Clients,
    channel: String,
    leader: u64,
    config: bool,
    group: Vec<SubmitJob>,
) {
    let Some(mut client) = clients.client(leader) else {
        for j in group {
            let _ = j.reply.send(Err(OrdererError::Unavailable(format!(
                "no endpoint for consenter {leader}"
            ))));
        }
        return;
    };
    let mut envelopes = Vec::with_capacity(group.len());
    let mut digests = Vec::with_capacity(group.len());
    let mut replies = Vec::with_capacity(group.len());
    for j in group {
        envelopes.push(j.envelope);
        digests.push(j.digest.to_vec());
        replies.push(j.reply);
    }
    let n = envelopes.len();
    match client
        .forward(ForwardRequest {
            channel,
            envelopes,
            config,
            digests,
        })
        .await
    {
        Ok(resp) => {
            let outcomes = resp.into_inner().outcomes;
            for (i, reply) in replies.into_iter().enumerate() {
                let r = match outcomes.get(i) {
                    Some(o) => Ok(*o != Outcome::NotLeader as i32),
                    None => Err(OrdererError::Unavailable(format!(
                        "consenter {leader} answered {} of {n} envelopes",
                        outcomes.len()
                    ))),
                };
                let _ = reply.send(r);
            }
        }
        Err(s) => {
            for reply in replies {
                let e = match s.code() {
                    tonic::Code::FailedPrecondition => {
                        OrdererError::Config(s.message().to_string())
                    }
                    _ => OrdererError::Unavailable(format!(
                        "forwarding to consenter {leader}: {}",
                        s.message()
                    )),
                };
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// Pulls blocks `0..=last` of a channel from the consenters of `cfg` (for a
/// node joining with a config block). The blocks are checked backwards from
/// `trusted`, the block the administrator gave: each block's hash is the next
/// one's previous hash and its data matches its data hash.
pub async fn pull_chain(
    cfg: &ChannelConfig,
    tls: Option<&TlsIdentity>,
    trusted: &Block,
) -> Result<Vec<Vec<u8>>, OrdererError> {
    let last = trusted.header.as_ref().map_or(0, |h| h.number);
    let membership = Membership::genesis(consenter_certs(cfg)?);
    let list = consenters(cfg, &membership)?;
    let own = tls
        .map(|t| weft_common::tls::parse_certs(&t.cert_pem).map(|mut c| c.remove(0).to_vec()))
        .transpose()?;
    let clients = Clients {
        tls: tls.map(|t| (t.clone(), cfg.tls_roots())),
        by_id: Mutex::new(BTreeMap::new()),
        endpoints: Mutex::new(BTreeMap::new()),
    };
    let self_id = own.and_then(|o| membership.id_of(&o)).unwrap_or(0);
    clients.set_consenters(&list, self_id);
    let mut failures = Vec::new();
    for c in list.iter().filter(|c| c.id != self_id) {
        let Some(mut client) = clients.client(c.id) else {
            continue;
        };
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        let fetched = loop {
            let from = blocks.len() as u64;
            if from > last {
                break Ok(());
            }
            let req = BlocksRequest {
                channel: cfg.channel_id.to_string(),
                from,
                to: last + 1,
            };
            match client.pull_blocks(req).await {
                Ok(r) if !r.get_ref().blocks.is_empty() => blocks.extend(r.into_inner().blocks),
                Ok(_) => break Err(format!("{} has no block {from}", c.endpoint)),
                Err(s) => break Err(format!("{}: {}", c.endpoint, s.message())),
            }
        };
        if let Err(e) = fetched {
            failures.push(e);
            continue;
        }
        blocks.truncate(last as usize + 1);
        match verify_backwards(&blocks, trusted) {
            Ok(()) => return Ok(blocks),
            Err(e) => failures.push(format!("{}: {e}", c.endpoint)),
        }
    }
    Err(OrdererError::Unavailable(format!(
        "could not fetch channel {} up to block {last} from any consenter: {}",
        cfg.channel_id,
        failures.join("; ")
    )))
}

fn verify_backwards(blocks: &[Vec<u8>], trusted: &Block) -> Result<(), OrdererError> {
    let decoded = blocks
        .iter()
        .map(|b| {
            Block::decode(b.as_slice()).map_err(|e| OrdererError::Corrupt {
                what: "pulled block".into(),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let last = decoded.last().ok_or_else(|| OrdererError::Corrupt {
        what: "pulled chain".into(),
        reason: "empty".into(),
    })?;
    if last.header != trusted.header {
        return Err(OrdererError::Corrupt {
            what: "pulled chain".into(),
            reason: "its last block is not the join block".into(),
        });
    }
    weft_common::block::check_data_hash(&decoded[0])?;
    for pair in decoded.windows(2) {
        weft_common::block::check_link(&pair[0], &pair[1])?;
        weft_common::block::check_data_hash(&pair[1])?;
    }
    Ok(())
}

/// Pulls blocks from the other consenters until this node reaches `height`.
async fn fetch_blocks(handle: Arc<ChannelHandle>, height: u64) {
    for _attempt in 0..30 {
        let from = handle.store.height().unwrap_or(0);
        if from >= height {
            return;
        }
        let others: Vec<Consenter> = handle
            .consenters
            .read()
            .expect("consenters lock")
            .iter()
            .filter(|c| c.id != handle.self_id)
            .cloned()
            .collect();
        for c in &others {
            let Some(mut client) = handle.clients.client(c.id) else {
                continue;
            };
            let req = BlocksRequest {
                channel: handle.id.to_string(),
                from,
                to: height,
            };
            match client.pull_blocks(req).await {
                Ok(resp) => {
                    let blocks = resp.into_inner().blocks;
                    if blocks.iter().all(|b| Block::decode(b.as_slice()).is_ok())
                        && !blocks.is_empty()
                    {
                        let _ = handle.commands.send(Command::CatchUp(blocks)).await;
                        break;
                    }
                }
                Err(s) => tracing::debug!(from = c.id, "pulling blocks: {}", s.message()),
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
