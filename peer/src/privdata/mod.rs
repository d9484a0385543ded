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
pub mod verify;

use std::future::Future;
use std::time::Duration;

use weft_protos::weft::privdata::private_data_client::PrivateDataClient;

use crate::discovery::Support;

/// Calls the `PrivateData` service of the peer at `endpoint` of `cfg`'s
/// channel with `call`, over the reused connection; the answer must come
/// within `within`. On any failure the connection is dropped, so the next
/// call reconnects; the error says what happened, for the caller's report.
pub(crate) async fn call_peer<T, F, Fut>(
    core: &dyn Support,
    cfg: &weft_common::config::ChannelConfig,
    endpoint: &str,
    within: Duration,
    call: F,
) -> Result<T, String>
where
    F: FnOnce(PrivateDataClient<tonic::transport::Channel>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let answer = async {
        let conn = core
            .views()
            .connect(core, cfg, endpoint)
            .await
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(within, call(PrivateDataClient::new(conn))).await {
            Ok(Ok(r)) => Ok(r.into_inner()),
            Ok(Err(s)) => Err(s.message().to_string()),
            Err(_) => Err(format!("no answer in {within:?}")),
        }
    }
    .await;
    if answer.is_err() {
        core.views().forget(endpoint);
    }
    answer
}
