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
//!
//! (Just over 600 lines, most of them these design notes and the docs of the
//! chain's API; the parts with a job of their own are submodules.)

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
    /// While leading: the followers heard from before the last quorum check.
    heard_from: HeardFrom,
}

impl<S: ChannelStorage> std::fmt::Debug for Chain<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("node", &self.settings.node_id)
            .field("leader", &self.leader)
            .finish()
    }
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
            heard_from: HeardFrom::default(),
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
        let before = self.is_leader().then(|| self.active_followers());
        self.node.tick();
        match before {
            // Leading on both sides of the tick: a quorum check may have
            // closed the period.
            Some(before) if self.is_leader() => {
                let after = self.active_followers();
                self.heard_from.ticked(before, &after);
            }
            _ => self.heard_from.forget(),
        }
        if let Err(e) = self.hand_over_while_fetching() {
            tracing::warn!("checking whether to hand over leadership: {e}");
        }
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

    /// How many of `ids` this leader heard from recently (itself included):
    /// in the current quorum-check period or the one before (`heard_from`).
    fn count_recently_active(&self, ids: &[u64]) -> usize {
        let me = self.settings.node_id;
        ids.iter()
            .filter(|id| {
                **id == me
                    || self.heard_from.in_previous_period(**id)
                    || self
                        .node
                        .raft
                        .prs()
                        .get(**id)
                        .is_some_and(|p| p.recent_active)
            })
            .count()
    }

    /// The followers Raft currently marks active.
    fn active_followers(&self) -> std::collections::BTreeSet<u64> {
        let me = self.settings.node_id;
        self.node
            .raft
            .prs()
            .iter()
            .filter(|(id, p)| **id != me && p.recent_active)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether the cluster can take the consenter list becoming `new_certs`:
    /// one consenter added, removed or given a new certificate at a time.
    /// After a removal the consenters this leader hears from must still form
    /// a quorum; so must they without the rotated one (it is cut off until
    /// it restarts with its new certificate), as Fabric checks, unless the
    /// cluster is too small to tolerate any fault anyway.
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
        if let [Change::Rotate(id)] = changes.as_slice() {
            let others: Vec<u64> = updated.ids.iter().copied().filter(|i| i != id).collect();
            let active = self.count_recently_active(&others);
            let quorum = updated.ids.len() / 2 + 1;
            if updated.ids.len() > 2 && active < quorum {
                return Err(OrdererError::UpdateRefused(format!(
                    "rotating consenter {id}'s certificate would lose quorum until it restarts: {active} of the other {} consenters are reachable, {quorum} are needed",
                    others.len()
                )));
            }
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
            // Raft's voters follow the membership (reconciled below); a
            // leader whose own certificate was rotated hands leadership
            // over, since the others now refuse its old certificate.
            if changes.contains(&Change::Rotate(self.settings.node_id)) {
                self.hand_over_leadership("this node's certificate was rotated")?;
            }
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

    /// Messages to send to other nodes.
    pub fn take_messages(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.outbox)
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<ChainEvent> {
        std::mem::take(&mut self.events)
    }
}

mod blocks;
mod catch_up;
mod effects;
mod heard_from;
mod leadership;

use blocks::{
    adopt_membership, block_tip, decode_block, envelope_digests, envelopes_of, is_config_envelope,
};
use effects::Effects;
use heard_from::HeardFrom;

pub use blocks::is_config_block;

#[cfg(test)]
mod tests;
