//! One channel on a running orderer: an async task that owns the channel's
//! [`Chain`](crate::chain::Chain) and drives it with commands, Raft ticks and
//! the batch deadline, plus the handle other parts of the node use.
//!
//! - `handle`: [`ChannelHandle`], what the node and its services hold: it
//!   starts the channel, offers envelopes and waits for their blocks, and
//!   answers resubmissions from its window of recently ordered envelopes;
//! - `actor`: the task that owns the chain (commands in, Raft Readies,
//!   events out, config adoption);
//! - `config_change`: the leader's check of a config update before it
//!   orders it, and what a committed config changes on this node;
//! - `submit`: batches of offers to the leader, here or forwarded;
//! - `clients`: gRPC clients to the other consenters and the Raft transport
//!   over them;
//! - `puller`: blocks pulled from other consenters (joining, catching up);
//! - `consenters`: the consenter list as this node sees it.

mod actor;
mod clients;
mod config_change;
mod consenters;
mod handle;
mod puller;
mod submit;

pub use consenters::{Consenter, consenters, stored_membership};
pub use handle::{ChannelHandle, ChannelStart};
pub use puller::pull_chain;

use tokio::sync::oneshot;

use crate::OrdererError;
use crate::chain::{Offer, Offered};

/// What the handle, the cluster service and the helper tasks ask the actor.
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
