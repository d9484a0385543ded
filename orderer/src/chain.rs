//! One channel's ordering state machine: a Raft node, the block cutter, and
//! the block store. Synchronous and free of sockets and timers: the async shell
//! feeds it envelopes, Raft messages, ticks and the time, and takes out
//! messages to send and events (blocks written, leadership changes).
//!
//! The leader cuts blocks and proposes each block's bytes as one Raft entry;
//! every node writes a committed block to its store, signed with its own
//! identity, so all nodes hold the same chain of headers and data.
//!
//! Exactly once: the leader remembers the hashes of envelopes in recent
//! blocks, in blocks still in its log and in the pending batch, and drops a
//! resubmitted duplicate. A new leader commits every entry in its log, so an
//! envelope it holds is ordered even if the old leader died before the commit.
//! Hashes of what a leader holds but has not written (pending or proposed) are
//! kept apart from those of written blocks and forgotten when its leadership
//! ends: a block it proposed may be overwritten by the next leader's log, and
//! a resubmission of its envelopes must then be ordered again. Leadership is
//! observed before every offer, not only after a Ready: the shell steps many
//! messages and offers between Readies, and a node that has just won an
//! election must build on its log before it cuts a block.
//!
//! Hash once: the node that receives an envelope hashes it and offers it
//! with its digest ([`Offered`]); the leader puts the digests of a block's
//! envelopes in its Raft entry's `context` (32 bytes each, in order). Every
//! node takes them from there when it writes the block or rebuilds its
//! duplicate set, instead of hashing each envelope again; consenters trust
//! each other's bytes anyway (Raft tolerates crashes, not lies). An entry
//! without them (written by an older weft) is hashed.

use std::collections::HashSet;
use std::time::Instant;

use prost::Message as _;
use raft::prelude::{ConfChange, ConfState, Entry, EntryType, HardState, Message, Snapshot};
use raft::{RawNode, StateRole};
use weft_common::block::{header_hash, new_block, sign_block};
use weft_common::crypto::sha256;
use weft_common::msp::SigningIdentity;
use weft_protos::common::Block;

use crate::OrdererError;
use crate::cutter::{Batch, BatchLimits, BlockCutter};
use crate::digest_window::DigestWindow;
use crate::encoded_block::EncodedBlock;
use crate::membership::{Change, Membership, consenter_certs};
use crate::raft_driver::{ReadyEffects, handle_ready, raft_logger};
use crate::storage::{BlockDigests, ChannelStorage, ChannelStore};

/// How many recent envelope hashes the leader keeps for duplicate suppression.
const DEDUP_WINDOW: usize = 200_000;

/// How many of the newest blocks a restarting node reads to rebuild its
/// duplicate set (besides the envelope window).
const DEDUP_REBUILD_BLOCKS: u64 = 10_000;

/// Settings of one channel's chain on one node.
#[derive(Debug, Clone)]
pub struct ChainSettings {
    /// This node's Raft id.
    pub node_id: u64,
    /// Consenters by Raft id, as of the newest block.
    pub membership: Membership,
    /// This node joins an existing Raft group (it starts with no voters and
    /// waits for the leader) rather than founding it at genesis.
    pub joining: bool,
    /// Ticks before an election.
    pub election_tick: usize,
    /// Ticks between heartbeats.
    pub heartbeat_tick: usize,
    /// Batch limits.
    pub limits: BatchLimits,
    /// Bytes of blocks between snapshots (0 = never).
    pub snapshot_interval_bytes: u64,
}

/// Something that happened that the shell should act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainEvent {
    /// A block was committed and written.
    BlockWritten {
        /// Its number.
        number: u64,
        /// SHA-256 of each envelope in it, in order.
        envelopes: Vec<[u8; 32]>,
        /// Whether it is a config block (the channel's config changed).
        config: bool,
    },
    /// The leader changed (0 = none known).
    LeaderChanged(u64),
    /// A config block changed the consenters.
    MembershipChanged(Vec<Change>),
    /// A snapshot says the chain is longer than the store: fetch blocks up to `height`.
    NeedBlocks {
        /// The height to reach.
        height: u64,
    },
}

/// The result of offering an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// Accepted by the leader (cut into a block or pending).
    Accepted,
    /// Already ordered or pending: not ordered again.
    Duplicate,
    /// This node is not the leader; forward to this one (0 = unknown).
    NotLeader(u64),
}

/// An envelope on its way into a block, with the SHA-256 digest the leader
/// keys it by.
#[derive(Debug, Clone)]
pub struct Offered {
    bytes: Vec<u8>,
    digest: [u8; 32],
}

impl Offered {
    /// Hashes the envelope.
    pub fn new(bytes: Vec<u8>) -> Self {
        let digest = sha256(&bytes);
        Self { bytes, digest }
    }

    /// An envelope hashed already, by this node or by the consenter that
    /// forwarded it (consenters trust each other's bytes, as with the digests
    /// in Raft entries).
    pub fn hashed(bytes: Vec<u8>, digest: [u8; 32]) -> Self {
        Self { bytes, digest }
    }

    /// The digest the leader keys the envelope by.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }
}

impl AsRef<[u8]> for Offered {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// The SHA-256 digests of a block's envelopes, in order: from its entry's
/// `context` when the leader put them there, else computed.
fn envelope_digests(context: &[u8], envelopes: &[&[u8]]) -> Vec<[u8; 32]> {
    if !envelopes.is_empty() && context.len() == envelopes.len() * 32 {
        context
            .chunks_exact(32)
            .map(|c| c.try_into().expect("chunks of 32 bytes"))
            .collect()
    } else {
        envelopes.iter().map(|env| sha256(env)).collect()
    }
}

/// A decoded block's envelopes as slices.
fn envelopes_of(block: &Block) -> Vec<&[u8]> {
    block
        .data
        .iter()
        .flat_map(|d| d.data.iter())
        .map(Vec::as_slice)
        .collect()
}

/// One channel on one node.
pub struct Chain<S: ChannelStorage = ChannelStore> {
    node: RawNode<S>,
    store: S,
    signer: SigningIdentity,
    cutter: BlockCutter<Offered>,
    settings: ChainSettings,
    /// Number and header hash of the block the leader builds on: set from its
    /// log when it takes over, moved by each block it proposes.
    tip: (u64, Vec<u8>),
    /// Digests of envelopes in recently written blocks (a window of [`DEDUP_WINDOW`]).
    recent: DigestWindow<()>,
    /// Digests of envelopes this leader holds but has not written: pending in
    /// the cutter, proposed, or in its log when it took over.
    in_flight: HashSet<[u8; 32]>,
    /// Envelope digests of the blocks written before this open, until the
    /// shell takes them.
    history: Vec<BlockDigests>,
    /// While leading: the number of the newest applied block, if it is not
    /// written yet (blocks skipped by a snapshot are still being fetched).
    fetching_until: Option<u64>,
    /// The term this node leads in, once it has built on its log for it.
    leading_term: Option<u64>,
    /// Ticks this node has led while still fetching blocks (see [`Chain::tick`]).
    fetching_ticks: usize,
    /// This leader holds a config block it has not written (proposed, or in
    /// its log when it took over): the next config must wait for it.
    config_pending: bool,
    leader: u64,
    last_config: u64,
    bytes_since_snapshot: u64,
    outbox: Vec<Message>,
    events: Vec<ChainEvent>,
}

impl<S: ChannelStorage> std::fmt::Debug for Chain<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("node", &self.settings.node_id)
            .field("leader", &self.leader)
            .finish()
    }
}

fn decode_block(bytes: &[u8]) -> Result<Block, OrdererError> {
    Block::decode(bytes).map_err(|e| OrdererError::Corrupt {
        what: "block in raft entry".into(),
        reason: e.to_string(),
    })
}

/// Whether a block holds a single CONFIG transaction.
pub fn is_config_block(block: &Block) -> bool {
    let data = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or_default();
    matches!(data, [only] if is_config_envelope(only))
}

/// Whether an envelope is a CONFIG transaction.
fn is_config_envelope(envelope: &[u8]) -> bool {
    weft_common::tx::UnpackedEnvelope::from_bytes(envelope)
        .is_ok_and(|e| e.header_type() == weft_protos::common::HeaderType::Config as i32)
}

/// Updates the membership from a config block's consenters; returns the changes.
/// Takes the consenters of committed config block `number`. A config that
/// cannot be loaded is an error naming the block: the channel halts rather
/// than order under the config it was meant to replace.
fn adopt_membership(
    membership: &mut Membership,
    number: u64,
    block: &Block,
) -> Result<Vec<Change>, OrdererError> {
    let unloadable = |e: &dyn std::fmt::Display| {
        OrdererError::ChannelConfig(format!(
            "cannot load the config committed in block {number}: {e}"
        ))
    };
    let cfg = weft_common::config::ChannelConfig::from_block(block).map_err(|e| unloadable(&e))?;
    let certs = consenter_certs(&cfg).map_err(|e| unloadable(&e))?;
    let (updated, changes) = membership.update(certs);
    *membership = updated;
    Ok(changes)
}

fn block_tip(block: &Block) -> (u64, Vec<u8>) {
    let h = block.header.clone().unwrap_or_default();
    (h.number, header_hash(&h).to_vec())
}

impl<S: ChannelStorage> Chain<S> {
    /// Opens the chain on `store`. A new store must already hold the genesis block.
    pub fn open(
        store: S,
        signer: SigningIdentity,
        settings: ChainSettings,
    ) -> Result<Self, OrdererError> {
        if !store.is_initialized()? {
            let voters = if settings.joining {
                Vec::new()
            } else {
                settings.membership.ids.clone()
            };
            store.initialize(&voters)?;
        }
        let height = store.height()?;
        let last = store
            .block(
                height
                    .checked_sub(1)
                    .ok_or_else(|| OrdererError::Storage("channel has no genesis block".into()))?,
            )?
            .ok_or_else(|| OrdererError::Corrupt {
                what: "block store".into(),
                reason: "missing last block".into(),
            })?;
        let last_block = decode_block(&last)?;
        let tip = block_tip(&last_block);
        let last_config = if height == 1 {
            0
        } else {
            weft_common::block::last_config_index(&last_block).unwrap_or(0)
        };
        let cfg = raft::Config {
            id: settings.node_id,
            election_tick: settings.election_tick,
            heartbeat_tick: settings.heartbeat_tick,
            applied: store.applied_index()?,
            max_size_per_msg: 1024 * 1024,
            max_inflight_msgs: 256,
            check_quorum: true,
            pre_vote: true,
            ..Default::default()
        };
        cfg.validate()?;
        let node = RawNode::new(&cfg, store.clone(), &raft_logger())?;
        // After a crash during catch-up, ask for the missing blocks again.
        let mut events = Vec::new();
        let snapshot_height = {
            let snap = store.latest_snapshot()?;
            if snap.data.is_empty() {
                0
            } else {
                decode_block(&snap.data)?.header.map_or(0, |h| h.number + 1)
            }
        };
        let wanted = snapshot_height.max(store.highest_stashed()?.map_or(0, |n| n + 1));
        if wanted > height {
            events.push(ChainEvent::NeedBlocks { height: wanted });
        }
        // What this node wrote before a restart still counts as ordered.
        let history = store.recent_envelopes(DEDUP_WINDOW, DEDUP_REBUILD_BLOCKS)?;
        let mut chain = Self {
            node,
            store,
            signer,
            cutter: BlockCutter::new(settings.limits),
            settings,
            tip,
            recent: DigestWindow::new(DEDUP_WINDOW),
            in_flight: HashSet::new(),
            history: Vec::new(),
            fetching_until: None,
            leading_term: None,
            fetching_ticks: 0,
            config_pending: false,
            leader: 0,
            last_config,
            bytes_since_snapshot: 0,
            outbox: Vec::new(),
            events,
        };
        for digest in history.iter().flat_map(|b| &b.digests) {
            chain.remember(*digest);
        }
        chain.history = history;
        Ok(chain)
    }

    /// The envelope digests of the newest blocks written before this open,
    /// oldest block first, with their block numbers (read once, at open, for
    /// the duplicate set); empty after the first call.
    pub fn take_history(&mut self) -> Vec<BlockDigests> {
        std::mem::take(&mut self.history)
    }

    /// This node's Raft id.
    pub fn id(&self) -> u64 {
        self.settings.node_id
    }

    /// The current leader (0 = unknown).
    pub fn leader(&self) -> u64 {
        self.leader
    }

    /// The current Raft term.
    pub fn term(&self) -> u64 {
        self.node.raft.term
    }

    /// Whether this node leads.
    pub fn is_leader(&self) -> bool {
        self.node.raft.state == StateRole::Leader
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Advances Raft's logical clock by one tick.
    ///
    /// A leader that is still fetching the blocks a snapshot skipped takes no
    /// offers, so the channel orders nothing while it leads. After one
    /// election timeout of that it hands leadership to the follower whose log
    /// matches the most of its own (and tries again each further timeout,
    /// should that follower be fetching too): a consenter that cannot catch
    /// up never holds the channel.
    pub fn tick(&mut self) {
        self.node.tick();
        if let Err(e) = self.hand_over_while_fetching() {
            tracing::warn!("checking whether to hand over leadership: {e}");
        }
    }

    fn hand_over_while_fetching(&mut self) -> Result<(), OrdererError> {
        if self.leading()? || self.leading_term.is_none() {
            self.fetching_ticks = 0;
            return Ok(());
        }
        self.fetching_ticks += 1;
        if self.fetching_ticks < self.settings.election_tick {
            return Ok(());
        }
        self.fetching_ticks = 0;
        let me = self.settings.node_id;
        let voters = self.node.raft.prs().conf().voters().ids();
        let best = self
            .node
            .raft
            .prs()
            .iter()
            .filter(|(id, _)| **id != me && voters.contains(**id))
            .max_by_key(|(_, p)| (p.recent_active, p.matched))
            .map(|(id, _)| *id);
        if let Some(to) = best {
            tracing::warn!(
                from = me,
                to,
                fetching_until = ?self.fetching_until,
                "leader still fetching blocks; handing leadership over"
            );
            self.node.transfer_leader(to);
        }
        Ok(())
    }

    /// Starts an election now (tests, leadership transfer).
    pub fn campaign(&mut self) -> Result<(), OrdererError> {
        Ok(self.node.campaign()?)
    }

    /// Feeds a Raft message from another node.
    pub fn step(&mut self, msg: Message) -> Result<(), OrdererError> {
        match self.node.step(msg) {
            Ok(()) | Err(raft::Error::StepPeerNotFound) | Err(raft::Error::StepLocalMsg) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A block was written here: its envelopes count as ordered, and a config
    /// block ends the wait for the config in flight.
    fn block_written(&mut self, digests: &[[u8; 32]], config: bool) {
        for digest in digests {
            self.remember(*digest);
        }
        self.config_pending &= !config;
    }

    /// Remembers the digest of an envelope in a written block.
    fn remember(&mut self, h: [u8; 32]) {
        self.in_flight.remove(&h);
        self.recent.insert(h, ());
    }

    /// Offers a CONFIG envelope (already validated against the current config):
    /// it is cut alone into its own block.
    pub fn order_config(&mut self, envelope: Vec<u8>) -> Result<Offer, OrdererError> {
        if !self.leading()? {
            return Ok(Offer::NotLeader(self.leader));
        }
        let offered = Offered::new(envelope);
        if !self.hold(offered.digest) {
            return Ok(Offer::Duplicate);
        }
        self.config_pending = true;
        let batches = self.cutter.ordered_config(offered);
        self.propose_batches(batches)?;
        Ok(Offer::Accepted)
    }

    /// Whether this envelope was already ordered or is pending here.
    pub fn knows(&self, envelope: &[u8]) -> bool {
        let h = sha256(envelope);
        self.recent.contains(&h) || self.in_flight.contains(&h)
    }

    /// Takes an envelope's digest into the leader's keeping; false if it was
    /// already ordered or held (a duplicate).
    fn hold(&mut self, h: [u8; 32]) -> bool {
        !self.recent.contains(&h) && self.in_flight.insert(h)
    }

    /// Whether this leader holds a config block it has not written yet.
    pub fn config_pending(&self) -> bool {
        self.config_pending
    }

    /// Observes leadership (see the module docs), then tells whether this
    /// node leads and can take offers. Call it, rather than
    /// [`Chain::is_leader`], before deciding on an offer between Readies.
    ///
    /// A leader still fetching the blocks a snapshot skipped takes none until
    /// it has written them: it does not know their envelopes yet, so it could
    /// not tell a resubmission of one from a new envelope.
    pub fn leading(&mut self) -> Result<bool, OrdererError> {
        self.observe_leader()?;
        if let Some(tip) = self.fetching_until
            && self.store.height()? > tip
        {
            self.fetching_until = None;
        }
        Ok(self.leading_term.is_some() && self.fetching_until.is_none())
    }

    /// Replaces the batch limits (after a config change).
    pub fn set_limits(&mut self, limits: BatchLimits) {
        self.cutter.set_limits(limits);
        self.settings.limits = limits;
    }

    /// Consenters by Raft id.
    pub fn membership(&self) -> &Membership {
        &self.settings.membership
    }

    /// Takes a snapshot at the applied index (data: the newest block).
    fn snapshot_now(&mut self) -> Result<(), OrdererError> {
        let applied = self.store.applied_index()?;
        let height = self.store.height()?;
        if applied == 0 || height == 0 {
            return Ok(());
        }
        if let Some(last) = self.store.block(height - 1)? {
            self.store.snapshot_at(applied, last)?;
            self.bytes_since_snapshot = 0;
        }
        Ok(())
    }

    /// Offers many normal envelopes at once (one round trip for a batch).
    pub fn order_many(
        &mut self,
        envelopes: Vec<Offered>,
        now: Instant,
    ) -> Result<Vec<Offer>, OrdererError> {
        envelopes.into_iter().map(|e| self.offer(e, now)).collect()
    }

    /// Tells Raft a message to `id` could not be sent.
    pub fn report_unreachable(&mut self, id: u64) {
        self.node.report_unreachable(id);
    }

    /// Consenters this node hears from: every voter the leader saw recently
    /// (itself included); 0 when not leader.
    pub fn reachable_voters(&self) -> usize {
        if !self.is_leader() {
            return 0;
        }
        self.count_recently_active(&self.settings.membership.ids)
    }

    /// How many of `ids` this leader heard from recently (itself included).
    fn count_recently_active(&self, ids: &[u64]) -> usize {
        let me = self.settings.node_id;
        ids.iter()
            .filter(|id| {
                **id == me
                    || self
                        .node
                        .raft
                        .prs()
                        .get(**id)
                        .is_some_and(|p| p.recent_active)
            })
            .count()
    }

    /// Whether the cluster can take the consenter list becoming `new_certs`:
    /// one consenter added or removed at a time, and after a removal the
    /// consenters this leader hears from must still form a quorum.
    pub fn check_membership_change(&self, new_certs: Vec<Vec<u8>>) -> Result<(), OrdererError> {
        if new_certs.is_empty() {
            return Err(OrdererError::UpdateRefused(
                "a channel needs at least one consenter".into(),
            ));
        }
        let (updated, changes) = self.settings.membership.update(new_certs);
        if changes.len() > 1 {
            return Err(OrdererError::UpdateRefused(format!(
                "add or remove one consenter at a time (this update makes {} changes)",
                changes.len()
            )));
        }
        if let [Change::Remove(_)] = changes.as_slice() {
            let active = self.count_recently_active(&updated.ids);
            let quorum = updated.ids.len() / 2 + 1;
            if active < quorum {
                return Err(OrdererError::UpdateRefused(format!(
                    "removing this consenter would lose quorum: {active} of the remaining {} consenters are reachable, {quorum} are needed",
                    updated.ids.len()
                )));
            }
        }
        Ok(())
    }

    /// The number of the newest config block.
    pub fn last_config(&self) -> u64 {
        self.last_config
    }

    /// Offers a normal envelope for ordering.
    pub fn order(&mut self, envelope: Vec<u8>, now: Instant) -> Result<Offer, OrdererError> {
        self.offer(Offered::new(envelope), now)
    }

    fn offer(&mut self, offered: Offered, now: Instant) -> Result<Offer, OrdererError> {
        if !self.leading()? {
            return Ok(Offer::NotLeader(self.leader));
        }
        if !self.hold(offered.digest) {
            return Ok(Offer::Duplicate);
        }
        let batches = self.cutter.ordered(offered, now);
        self.propose_batches(batches)?;
        Ok(Offer::Accepted)
    }

    /// When the pending batch times out.
    pub fn deadline(&self) -> Option<Instant> {
        self.cutter.deadline()
    }

    /// Cuts the pending batch if its timeout has passed.
    pub fn on_time(&mut self, now: Instant) -> Result<(), OrdererError> {
        if !self.leading()? {
            return Ok(());
        }
        if let Some(batch) = self.cutter.tick(now) {
            self.propose_batches(vec![batch])?;
        }
        Ok(())
    }

    fn propose_batches(&mut self, batches: Vec<Batch<Offered>>) -> Result<(), OrdererError> {
        let mut batches = batches.into_iter();
        while let Some(batch) = batches.next() {
            let (number, prev) = self.tip.clone();
            let (envelopes, digests): (Vec<Vec<u8>>, Vec<[u8; 32]>) =
                batch.into_iter().map(|o| (o.bytes, o.digest)).unzip();
            let block = new_block(number + 1, prev, envelopes);
            if let Err(e) = self.node.propose(digests.concat(), block.encode_to_vec()) {
                // Not proposed: its envelopes (and those of later batches) were not
                // ordered, so a resubmission must not be taken for a duplicate.
                let later = batches.flatten().map(|o| o.digest);
                for digest in digests.into_iter().chain(later) {
                    self.in_flight.remove(&digest);
                }
                return Err(e.into());
            }
            self.tip = block_tip(&block);
        }
        Ok(())
    }

    /// Proposes adding (`add = true`) or removing a voter.
    pub fn propose_membership(&mut self, node_id: u64, add: bool) -> Result<(), OrdererError> {
        let cc = ConfChange {
            change_type: if add {
                raft::prelude::ConfChangeType::AddNode
            } else {
                raft::prelude::ConfChangeType::RemoveNode
            } as i32,
            node_id,
            ..Default::default()
        };
        Ok(self.node.propose_conf_change(Vec::new(), cc)?)
    }

    /// Processes every pending Ready; call after any input.
    pub fn process(&mut self) -> Result<(), OrdererError> {
        loop {
            let mut fx = Effects {
                store: &self.store,
                signer: &self.signer,
                snapshot_interval_bytes: self.settings.snapshot_interval_bytes,
                outbox: &mut self.outbox,
                events: &mut self.events,
                conf_changes: Vec::new(),
                written: Vec::new(),
                last_config: &mut self.last_config,
                membership: &mut self.settings.membership,
                changes: Vec::new(),
                bytes_since_snapshot: &mut self.bytes_since_snapshot,
            };
            let had = handle_ready(&mut self.node, &mut fx)?;
            let (conf_changes, written, changes) = (fx.conf_changes, fx.written, fx.changes);
            let _ = changes; // the leader reconciles Raft's voters with the membership below
            let membership_changed = !conf_changes.is_empty();
            for cc in conf_changes {
                let cs = self.node.apply_conf_change(&cc)?;
                self.store.set_conf_state(&cs)?;
            }
            if membership_changed && self.settings.snapshot_interval_bytes > 0 {
                // raft-rs refuses a snapshot whose voters do not include the
                // receiver, so a node just added must be sent one taken now.
                self.snapshot_now()?;
            }
            for block in written {
                self.block_written(&block.envelopes, block.config);
            }
            self.observe_leader()?;
            self.reconcile_voters()?;
            if !had {
                return Ok(());
            }
        }
    }

    /// The leader brings Raft's voters in line with the consenter membership,
    /// one conf change at a time. Doing it from state rather than from events
    /// means a leader elected mid-change still finishes it.
    fn reconcile_voters(&mut self) -> Result<(), OrdererError> {
        if !self.is_leader() || self.node.raft.has_pending_conf() {
            return Ok(());
        }
        let voters: std::collections::BTreeSet<u64> =
            self.node.raft.prs().conf().voters().ids().iter().collect();
        let wanted: std::collections::BTreeSet<u64> =
            self.settings.membership.ids.iter().copied().collect();
        let change = match (
            wanted.difference(&voters).next(),
            voters.difference(&wanted).next(),
        ) {
            (Some(add), _) => Some((*add, true)),
            (None, Some(remove)) => Some((*remove, false)),
            (None, None) => None,
        };
        if let Some((id, add)) = change {
            match self.propose_membership(id, add) {
                Ok(()) => tracing::info!(node = id, add, "proposed raft membership change"),
                Err(OrdererError::Raft(raft::Error::ProposalDropped)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Follows Raft's view of leadership: reports a new leader, and on a
    /// change of the term this node leads in (including starting or ceasing
    /// to lead) drops what the old leadership held and builds on the log for
    /// the new one.
    fn observe_leader(&mut self) -> Result<(), OrdererError> {
        let leading_term =
            (self.node.raft.state == StateRole::Leader).then_some(self.node.raft.term);
        if leading_term != self.leading_term {
            if self.leading_term.is_some() {
                // Pending envelopes were never proposed; their clients will resubmit.
                self.cutter.cut();
            }
            self.in_flight.clear();
            self.config_pending = false;
            self.leading_term = leading_term;
            if leading_term.is_some() {
                self.rebase_on_log()?;
            }
        }
        let leader = self.node.raft.leader_id;
        if leader != self.leader {
            self.leader = leader;
            self.events.push(ChainEvent::LeaderChanged(leader));
        }
        Ok(())
    }

    /// A new leader builds on the newest block in its log, committed or not,
    /// persisted or not, and holds the envelopes there as already ordered.
    fn rebase_on_log(&mut self) -> Result<(), OrdererError> {
        let applied = self.store.applied_index()?;
        self.tip = self.applied_tip()?;
        let written = self.store.height()? - 1;
        self.fetching_until = (self.tip.0 > written).then_some(self.tip.0);
        let entries = self.node.raft.raft_log.entries(
            applied + 1,
            None,
            raft::GetEntriesContext::empty(false),
        )?;
        for e in entries
            .iter()
            .filter(|e| e.entry_type == EntryType::EntryNormal as i32 && !e.data.is_empty())
        {
            let block = decode_block(&e.data)?;
            for digest in envelope_digests(&e.context, &envelopes_of(&block)) {
                self.in_flight.insert(digest);
            }
            self.config_pending |= is_config_block(&block);
            self.tip = block_tip(&block);
        }
        Ok(())
    }

    /// The newest block this node has applied: the newest written, unless it
    /// is still fetching the blocks a snapshot skipped, in which case the
    /// newest block kept aside past that gap, or else the snapshot's.
    fn applied_tip(&self) -> Result<(u64, Vec<u8>), OrdererError> {
        let height = self.store.height()?;
        let written = self
            .store
            .block(height - 1)?
            .expect("height counts stored blocks");
        let newest = match self.store.highest_stashed()? {
            Some(n) => self.store.stashed_block(n)?,
            None => Some(self.store.latest_snapshot()?.data).filter(|d| !d.is_empty()),
        };
        let mut tip = block_tip(&decode_block(&written)?);
        if let Some(bytes) = newest {
            let candidate = block_tip(&decode_block(&bytes)?);
            if candidate.0 > tip.0 {
                tip = candidate;
            }
        }
        Ok(tip)
    }

    /// Writes blocks fetched from another orderer after a snapshot said this
    /// node is behind. Each must follow the previous one (hash chain); a block
    /// that does not is refused and nothing after it is written.
    pub fn catch_up(&mut self, blocks: &[Vec<u8>]) -> Result<u64, OrdererError> {
        let mut written = 0;
        for bytes in blocks {
            let block = decode_block(bytes)?;
            let height = self.store.height()?;
            let number = block.header.as_ref().map_or(u64::MAX, |h| h.number);
            if number < height {
                continue;
            }
            let prev = decode_block(
                &self
                    .store
                    .block(height - 1)?
                    .expect("height counts stored blocks"),
            )?;
            weft_common::block::check_link(&prev, &block)?;
            weft_common::block::check_data_hash(&block)?;
            self.store.append_block(number, bytes)?;
            let config = is_config_block(&block);
            if config {
                self.last_config = number;
                let changes = adopt_membership(&mut self.settings.membership, number, &block)?;
                if !changes.is_empty() {
                    self.events.push(ChainEvent::MembershipChanged(changes));
                }
            }
            self.record_written(number, &block, config);
            written += 1;
        }
        // Blocks committed while we were behind now follow the chain.
        for (number, bytes) in self.store.drain_stash()? {
            let mut block = decode_block(&bytes)?;
            let config = is_config_block(&block);
            if config {
                self.last_config = number;
            }
            sign_block(&mut block, self.last_config, Vec::new(), &self.signer)?;
            self.record_written(number, &block, config);
            written += 1;
        }
        Ok(written)
    }

    /// Remembers a fetched block's envelopes for deduplication and reports
    /// the block to the shell.
    fn record_written(&mut self, number: u64, block: &Block, config: bool) {
        let envelopes = envelope_digests(&[], &envelopes_of(block));
        self.block_written(&envelopes, config);
        self.events.push(ChainEvent::BlockWritten {
            number,
            envelopes,
            config,
        });
    }

    /// Messages to send to other nodes.
    pub fn take_messages(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.outbox)
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<ChainEvent> {
        std::mem::take(&mut self.events)
    }
}

/// The voters and learners after a single-step membership change (what
/// raft-rs's `apply_conf_change` computes for a v1 `ConfChange`).
fn conf_state_after(mut cs: ConfState, cc: &ConfChange) -> ConfState {
    use raft::prelude::ConfChangeType;
    let id = cc.node_id;
    let change = cc.change_type;
    if change == ConfChangeType::AddNode as i32 {
        cs.learners.retain(|x| *x != id);
        if !cs.voters.contains(&id) {
            cs.voters.push(id);
        }
    } else if change == ConfChangeType::AddLearnerNode as i32 {
        cs.voters.retain(|x| *x != id);
        if !cs.learners.contains(&id) {
            cs.learners.push(id);
        }
    } else if change == ConfChangeType::RemoveNode as i32 {
        cs.voters.retain(|x| *x != id);
        cs.learners.retain(|x| *x != id);
    }
    cs
}

/// What the chain keeps of a block an apply wrote: the digests of its
/// envelopes (shared with the event) and whether it is a config block.
struct Written {
    envelopes: Vec<[u8; 32]>,
    config: bool,
}

/// The chain's side of a Ready: storage writes, block signing, events.
struct Effects<'a, S: ChannelStorage> {
    store: &'a S,
    signer: &'a SigningIdentity,
    snapshot_interval_bytes: u64,
    outbox: &'a mut Vec<Message>,
    events: &'a mut Vec<ChainEvent>,
    conf_changes: Vec<ConfChange>,
    written: Vec<Written>,
    last_config: &'a mut u64,
    membership: &'a mut Membership,
    changes: Vec<Change>,
    bytes_since_snapshot: &'a mut u64,
}

impl<S: ChannelStorage> ReadyEffects for Effects<'_, S> {
    fn persist(
        &mut self,
        snapshot: Option<&Snapshot>,
        entries: &[Entry],
        hs: Option<&HardState>,
    ) -> Result<(), OrdererError> {
        self.store.persist(snapshot, entries, hs)
    }

    fn send(&mut self, messages: Vec<Message>) {
        self.outbox.extend(messages);
    }

    fn restore(&mut self, snapshot: &Snapshot) -> Result<(), OrdererError> {
        // Snapshot data is the last block at the snapshot's index.
        let block = decode_block(&snapshot.data)?;
        let height = block.header.as_ref().map_or(0, |h| h.number + 1);
        if let Some(md) = &snapshot.metadata {
            self.store.set_applied(md.index)?;
        }
        if height > self.store.height()? {
            self.events.push(ChainEvent::NeedBlocks { height });
        }
        Ok(())
    }

    fn apply(&mut self, entries: Vec<Entry>) -> Result<(), OrdererError> {
        for e in entries {
            if e.entry_type == EntryType::EntryConfChange as i32 {
                let cc = <ConfChange as prost011::Message>::decode(e.data.as_slice()).map_err(
                    |err| OrdererError::Corrupt {
                        what: "conf change".into(),
                        reason: err.to_string(),
                    },
                )?;
                let cs = conf_state_after(self.store.raft_state()?.conf_state, &cc);
                self.store.apply_conf_change(e.index, &cs)?;
                self.conf_changes.push(cc);
                continue;
            }
            if e.entry_type != EntryType::EntryNormal as i32 || e.data.is_empty() {
                self.store.apply(e.index, None)?;
                continue;
            }
            // The block stays encoded: only its header and metadata are decoded,
            // and its signed form is its bytes with the new metadata field.
            let reencoded: Vec<u8>;
            let view = match EncodedBlock::parse(&e.data) {
                Some(view) => view,
                None => {
                    // Valid, but not in prost's field order (not weft's own entries).
                    reencoded = decode_block(&e.data)?.encode_to_vec();
                    EncodedBlock::parse(&reencoded).ok_or_else(|| OrdererError::Corrupt {
                        what: "block in raft entry".into(),
                        reason: "no header".into(),
                    })?
                }
            };
            let number = view.header.number;
            let height = self.store.height()?;
            if number < height {
                // Already written (a block fetched during catch-up, then replayed).
                self.store.apply(e.index, None)?;
                continue;
            }
            if number > height {
                // Earlier blocks are still being fetched after a snapshot: keep this
                // one durably until they arrive.
                self.store.stash_block(e.index, number, &e.data)?;
                self.events.push(ChainEvent::NeedBlocks { height: number });
                continue;
            }
            let config = matches!(view.envelopes(), [only] if is_config_envelope(only));
            if config {
                *self.last_config = number;
                let changes = adopt_membership(self.membership, number, &decode_block(&e.data)?)?;
                if !changes.is_empty() {
                    self.events
                        .push(ChainEvent::MembershipChanged(changes.clone()));
                    self.changes.extend(changes);
                }
            }
            let consenter_md = self.membership.block_metadata(e.index);
            let mut signed = Block {
                header: Some(view.header.clone()),
                data: None,
                metadata: Some(view.metadata.clone()),
            };
            sign_block(
                &mut signed,
                *self.last_config,
                consenter_md.encode_to_vec(),
                self.signer,
            )?;
            let bytes = view.with_metadata(&signed.metadata.unwrap_or_default());
            self.store.apply(e.index, Some((number, &bytes)))?;
            *self.bytes_since_snapshot += bytes.len() as u64;
            let interval = self.snapshot_interval_bytes;
            if interval > 0 && *self.bytes_since_snapshot >= interval {
                self.store.snapshot_at(e.index, bytes.clone())?;
                *self.bytes_since_snapshot = 0;
            }
            let envelopes = envelope_digests(&e.context, view.envelopes());
            self.written.push(Written {
                envelopes: envelopes.clone(),
                config,
            });
            self.events.push(ChainEvent::BlockWritten {
                number,
                envelopes,
                config,
            });
        }
        Ok(())
    }

    fn commit_index(&mut self, commit: u64) -> Result<(), OrdererError> {
        self.store.set_commit(commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_protos::common::BlockData;

    fn block_of(envelopes: &[&[u8]]) -> Block {
        Block {
            data: Some(BlockData {
                data: envelopes.iter().map(|e| e.to_vec()).collect(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn digests_come_from_the_entry_context_when_it_has_one_per_envelope() {
        let block = block_of(&[b"one", b"two"]);
        let computed = vec![sha256(b"one"), sha256(b"two")];
        // The leader's digests are taken as they are (these are deliberately
        // not the envelopes' hashes, to show nothing is recomputed).
        let context = [[7u8; 32], [9u8; 32]].concat();
        let block = envelopes_of(&block);
        assert_eq!(
            envelope_digests(&context, &block),
            vec![[7u8; 32], [9u8; 32]]
        );
        // An entry without them (an older weft), or with a count that does not
        // match the block, is hashed.
        assert_eq!(envelope_digests(&[], &block), computed);
        assert_eq!(envelope_digests(&[7u8; 32], &block), computed);
        assert_eq!(envelope_digests(&[], &[]), Vec::<[u8; 32]>::new());
    }

    fn signer() -> SigningIdentity {
        use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
        let ca = CertAuthority::new_root(
            &Subject::fabric_style("example.com", "ca"),
            KeyType::EcdsaP256,
            Validity::days_from_now(1),
        )
        .unwrap();
        let issued = ca
            .issue(
                &Subject::fabric_style("example.com", "orderer1"),
                &[],
                Usage::Signing,
                KeyType::EcdsaP256,
                Validity::days_from_now(1),
            )
            .unwrap();
        issued.signing_identity("OrdererMSP".into()).unwrap()
    }

    /// One Ready commits a membership change and, after it, a block that
    /// crosses the snapshot interval. The node crashes right after applying
    /// them (before the shell hands the change to Raft): on restart its
    /// voters include the new node, and so does the snapshot it took, whose
    /// index is past the change (the change's entry is compacted away, so
    /// nothing could replay it).
    #[test]
    fn a_membership_change_and_a_snapshot_in_one_ready_survive_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = ChannelStore::open(dir.path()).unwrap();
            store.initialize(&[1, 2, 3]).unwrap();
            let genesis = new_block(0, vec![], vec![b"genesis".to_vec()]);
            store.append_block(0, &genesis.encode_to_vec()).unwrap();
            let add4 = ConfChange {
                change_type: raft::prelude::ConfChangeType::AddNode as i32,
                node_id: 4,
                ..Default::default()
            };
            let entries = vec![
                Entry {
                    entry_type: EntryType::EntryConfChange as i32,
                    index: 1,
                    term: 1,
                    data: prost011::Message::encode_to_vec(&add4),
                    ..Default::default()
                },
                Entry {
                    entry_type: EntryType::EntryNormal as i32,
                    index: 2,
                    term: 1,
                    data: new_block(
                        1,
                        header_hash(genesis.header.as_ref().unwrap()).to_vec(),
                        vec![b"tx".to_vec()],
                    )
                    .encode_to_vec(),
                    ..Default::default()
                },
            ];
            let hs = HardState {
                term: 1,
                vote: 1,
                commit: 2,
            };
            store.persist(None, &entries, Some(&hs)).unwrap();
            let signer = signer();
            let (mut outbox, mut events, mut last_config, mut bytes) = (vec![], vec![], 0, 0);
            let mut membership = Membership::genesis(vec![vec![1], vec![2], vec![3]]);
            let mut fx = Effects {
                store: &store,
                signer: &signer,
                snapshot_interval_bytes: 1,
                outbox: &mut outbox,
                events: &mut events,
                conf_changes: Vec::new(),
                written: Vec::new(),
                last_config: &mut last_config,
                membership: &mut membership,
                changes: Vec::new(),
                bytes_since_snapshot: &mut bytes,
            };
            fx.apply(entries).unwrap();
            // Crash: the shell never reaches `apply_conf_change`.
        }
        let store = ChannelStore::open(dir.path()).unwrap();
        assert_eq!(store.applied_index().unwrap(), 2);
        assert_eq!(store.height().unwrap(), 2);
        let mut voters = store.raft_state().unwrap().conf_state.voters;
        voters.sort();
        assert_eq!(voters, [1, 2, 3, 4], "voters after restart");
        let md = store.snapshot().unwrap().metadata.unwrap();
        assert_eq!(md.index, 2);
        let mut voters = md.conf_state.unwrap().voters;
        voters.sort();
        assert_eq!(voters, [1, 2, 3, 4], "voters in the snapshot");
    }
}
