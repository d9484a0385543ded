//! The task that owns a channel's chain: it takes commands from the handle,
//! the submitter and the cluster service, ticks Raft, cuts blocks on the
//! batch deadline, processes Readies and turns the chain's events into
//! watch updates, waiter wake-ups, config adoption and block fetches.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};
use weft_common::config::ChannelConfig;

use super::clients::ConsenterLinks;
use super::puller::fetch_blocks;
use super::{ChannelHandle, Command, config_change};
use crate::OrdererError;
use crate::chain::{Chain, ChainEvent, Offer};
use crate::raft_outbox::Outbox;
use weft_common::node::task_scope::TaskScope;

/// Commands handled before one Raft Ready is processed.
const MAX_COMMANDS_PER_READY: usize = 256;

pub(super) struct Actor {
    pub(super) chain: Chain,
    pub(super) rx: mpsc::Receiver<Command>,
    /// The channel's tasks: the actor ends when it is cancelled, and spawns
    /// its block fetches in it.
    pub(super) scope: TaskScope,
    pub(super) tick: Duration,
    pub(super) height_tx: watch::Sender<u64>,
    pub(super) leader_tx: watch::Sender<u64>,
    pub(super) config_tx: watch::Sender<Arc<ChannelConfig>>,
    /// Set once the task should end: this node was removed from the
    /// consenters, or the channel halted.
    pub(super) done: bool,
    pub(super) metrics: Arc<crate::metrics::Metrics>,
    pub(super) handle: std::sync::Weak<ChannelHandle>,
    /// Raft messages to the other consenters, in order.
    pub(super) outbox: Outbox<ConsenterLinks>,
}

impl Actor {
    /// Orders a CONFIG envelope if this node leads and it is the next config.
    fn order_config(&mut self, env: Vec<u8>) -> Result<Offer, OrdererError> {
        if !self.chain.leading()? {
            return Ok(Offer::NotLeader(self.chain.leader()));
        }
        if self.chain.knows(&env) {
            return Ok(Offer::Duplicate); // a resubmission of the config in flight
        }
        let current = self.config_tx.borrow().clone();
        config_change::check_next_config(&self.chain, &current, &env)?;
        self.chain.order_config(env)
    }

    /// A config block was written: adopt its config, and publish it on the
    /// watch the node follows (its TLS client roots).
    fn config_committed(&mut self, handle: &Arc<ChannelHandle>, number: u64) {
        match config_change::committed_config(&handle.store, number) {
            Ok(cfg) => {
                tracing::info!(channel = %handle.id, block = number, sequence = cfg.sequence(), "channel config updated");
                config_change::adopt(&mut self.chain, handle, &mut self.outbox, &cfg);
                self.config_tx.send_replace(Arc::new(cfg));
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

    pub(super) async fn run(mut self) {
        let mut ticker = tokio::time::interval(self.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.chain.deadline().map(Instant::from_std);
            tokio::select! {
                biased;
                _ = self.scope.cancelled() => break,
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
                    self.scope.spawn(fetch_blocks(handle, height));
                }
            }
        }
    }
}
