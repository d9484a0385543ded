//! Private data between peers: the endorsing peer's push of private writes
//! to member peers ([`push`]), the committing peer's pull of what it lacks
//! and background reconciliation ([`pull`]), and weft's peer-to-peer
//! `PrivateData` service ([`service`]), whose requests are signed by the
//! asking peer ([`request`]). Who belongs to a collection is
//! [`crate::lifecycle::collection_rules`]; what a commit stores is
//! [`crate::channel::private`].
//!
//! A peer learns the other peers of a channel as service discovery does
//! (its config's `peer.gateway.peers`, the channel's anchor peers, each
//! answering weft's `Membership` service); there is no gossip.

pub mod pull;
pub mod push;
pub mod request;
pub mod service;
