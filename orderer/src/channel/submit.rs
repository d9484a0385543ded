//! Offers to the leader in batches: whatever is queued when a batch can go
//! travels together, to this node's actor when it leads, or in one
//! `Cluster.Forward` call to the leader otherwise.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use weft_protos::weft::cluster::{ForwardRequest, forward_response::Outcome};

use super::Command;
use super::clients::Clients;
use crate::OrdererError;
use crate::chain::{Offer, Offered};
use weft_common::node::task_scope::TaskScope;

/// One envelope to offer to the leader.
pub(super) struct SubmitJob {
    pub(super) envelope: Vec<u8>,
    /// The envelope's SHA-256, computed once by [`ChannelHandle::submit_and_wait`].
    pub(super) digest: [u8; 32],
    pub(super) config: bool,
    pub(super) reply: oneshot::Sender<Result<bool, OrdererError>>,
}

/// Most envelopes in one offer batch (one actor command or one forward RPC).
const MAX_SUBMIT_BATCH: usize = 1000;

/// Offers envelopes to the leader in batches: whatever is queued when a batch
/// can go (up to [`MAX_SUBMIT_BATCH`]) travels together, to this node's actor
/// when it leads, or in one forward RPC to the leader otherwise.
/// Runs until the channel's scope is cancelled; forwards run in the scope too.
pub(super) async fn run_submitter(
    channel: String,
    self_id: u64,
    leader: watch::Receiver<u64>,
    commands: mpsc::Sender<Command>,
    clients: Arc<Clients>,
    rx: mpsc::Receiver<SubmitJob>,
    scope: TaskScope,
) {
    tokio::select! {
        _ = submit_batches(channel, self_id, leader, commands, clients, rx, &scope) => {}
        _ = scope.cancelled() => {}
    }
}

async fn submit_batches(
    channel: String,
    self_id: u64,
    leader: watch::Receiver<u64>,
    commands: mpsc::Sender<Command>,
    clients: Arc<Clients>,
    mut rx: mpsc::Receiver<SubmitJob>,
    scope: &TaskScope,
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
                let cancel = scope.clone();
                scope.spawn(async move {
                    tokio::select! {
                        _ = forward_group(&clients, channel, leader, config, group) => {}
                        _ = cancel.cancelled() => {}
                    }
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
                    OrdererError::UpdateRefused(why) => OrdererError::UpdateRefused(why.clone()),
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
                        OrdererError::UpdateRefused(s.message().to_string())
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
