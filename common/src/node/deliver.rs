//! Fabric's Deliver, shared by the orderer (`orderer.AtomicBroadcast/Deliver`)
//! and the peer (`protos.Deliver/Deliver` and `DeliverFiltered`): one request
//! is a signed `SeekInfo`; blocks flow from its start to its stop, then a
//! status; a stream may carry several requests, and ends after a status other
//! than SUCCESS. The semantics are Fabric's (`common/deliver` and the file
//! ledger's iterator), quirks included:
//!
//! | start | first block |
//! |---|---|
//! | `Oldest` | 0 |
//! | `Newest` | height − 1 |
//! | `NextCommit` | height (waits for it) |
//! | `Specified(n)` | n; n = height waits, n > height is NOT_FOUND |
//! | unset | NOT_FOUND |
//!
//! | stop | last block |
//! |---|---|
//! | `Oldest` | the first block |
//! | `Newest` | height − 1 when the request arrives (the first block if start is also `Newest`) |
//! | `Specified(n)` | n; n < first block is BAD_REQUEST |
//! | `NextCommit`, unset | block 0 |
//!
//! Delivery ends once the block numbered like the stop was sent: a stop below
//! the first block (other than `Specified`) never ends, as in Fabric. With
//! `FAIL_IF_NOT_READY`, a block not yet written is NOT_FOUND instead of a
//! wait. `HEADER_WITH_SIG` sends config blocks whole, other blocks without
//! their data. Requests are checked in Fabric's order: envelope and timestamp
//! (within the time window), the TLS binding under mutual TLS (BAD_REQUEST);
//! channel (NOT_FOUND); seek info (BAD_REQUEST); access (FORBIDDEN), which is
//! checked again before each block once the channel's config has changed,
//! and ends delivery when the client's certificate expires.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use prost::Message;
use weft_protos::common::{Block, Envelope, HeaderType, Status};
use weft_protos::orderer::seek_info::{SeekBehavior, SeekContentType};
use weft_protos::orderer::{SeekInfo, SeekPosition, seek_position};

use crate::CommonError;
use crate::policy::SignedData;
use crate::tx::UnpackedEnvelope;

/// Fabric's default for how far a request's timestamp may be from the server's clock.
pub const DEFAULT_TIME_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A channel's blocks and access rule, as Deliver reads them.
pub trait DeliverChannel: Send + Sync {
    /// Blocks written so far.
    fn height(&self) -> u64;
    /// Block `number` (below the height); `None` if it cannot be read.
    fn block(&self, number: u64) -> Option<Block>;
    /// Resolves with true once the height exceeds `height`, or with false
    /// when the channel stops being served.
    fn wait_beyond(&self, height: u64) -> BoxFuture<'_, bool>;
    /// The sequence of the channel's config in force (access is checked
    /// again when it changes).
    fn config_sequence(&self) -> u64;
    /// Whether the creator of `request` may read this channel's blocks.
    fn authorize(&self, request: &SignedData) -> Result<(), CommonError>;
}

/// How a server runs Deliver.
#[derive(Debug, Clone, Copy)]
pub struct DeliverSettings {
    /// How far a request's timestamp may be from this server's clock.
    pub time_window: Duration,
}

impl Default for DeliverSettings {
    fn default() -> Self {
        Self {
            time_window: DEFAULT_TIME_WINDOW,
        }
    }
}

/// What the client's TLS connection proves, for Fabric's TLS binding: under
/// mutual TLS a request must carry the SHA-256 of the client's certificate
/// in its channel header's `tls_cert_hash`.
#[derive(Debug, Clone, Default)]
pub struct TlsBinding {
    /// SHA-256 of the client's TLS certificate, when the server requires
    /// client certificates; `None` when it does not (no binding is checked).
    pub required_cert_hash: Option<Vec<u8>>,
}

impl TlsBinding {
    /// The binding a request on this connection must carry: the hash of the
    /// client certificate when `client_auth_required`, else none.
    pub fn of<T>(request: &tonic::Request<T>, client_auth_required: bool) -> Self {
        if !client_auth_required {
            return Self::default();
        }
        let hash = request.peer_certs().and_then(|certs| {
            certs
                .first()
                .map(|c| crate::crypto::sha256(c.as_ref()).to_vec())
        });
        Self {
            // Under required client authentication the handshake guarantees a
            // certificate; without one nothing can match.
            required_cert_hash: Some(hash.unwrap_or_else(|| vec![0xff; 33])),
        }
    }
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Send this status; the stream goes on only after SUCCESS.
    Status(Status),
    /// The client went away.
    Gone,
}

/// Where the first block is, as Fabric's ledger iterator finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Deliver from this block on.
    At(u64),
    /// NOT_FOUND (an unset position, or a specified block beyond the height).
    NotFound,
}

/// A `SeekInfo` resolved against the channel's height (sans-IO: no waiting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekPlan {
    /// The first block.
    pub start: Start,
    /// Delivery ends after the block with this number.
    pub stop: u64,
    /// A block beyond the height is NOT_FOUND rather than awaited.
    pub fail_if_not_ready: bool,
    /// Non-config blocks are sent without their data.
    pub headers_only: bool,
}

impl SeekPlan {
    /// Resolves `seek` at `height`; BAD_REQUEST for a missing position or a
    /// specified stop before the start.
    pub fn resolve(seek: &SeekInfo, height: u64) -> Result<Self, Status> {
        let (Some(start), Some(stop)) = (&seek.start, &seek.stop) else {
            return Err(Status::BadRequest);
        };
        let start_at = match &start.r#type {
            Some(seek_position::Type::Oldest(_)) => Start::At(0),
            Some(seek_position::Type::Newest(_)) => Start::At(height.saturating_sub(1)),
            Some(seek_position::Type::Specified(s)) if s.number > height => Start::NotFound,
            Some(seek_position::Type::Specified(s)) => Start::At(s.number),
            Some(seek_position::Type::NextCommit(_)) => Start::At(height),
            None => Start::NotFound,
        };
        let number = match start_at {
            Start::At(n) => n,
            Start::NotFound => 0,
        };
        let stop_at = match &stop.r#type {
            Some(seek_position::Type::Oldest(_)) => number,
            Some(seek_position::Type::Newest(_)) if same_position(start, stop) => number,
            Some(seek_position::Type::Newest(_)) => height.saturating_sub(1),
            Some(seek_position::Type::Specified(s)) if s.number < number => {
                return Err(Status::BadRequest);
            }
            Some(seek_position::Type::Specified(s)) => s.number,
            Some(seek_position::Type::NextCommit(_)) | None => 0,
        };
        Ok(Self {
            start: start_at,
            stop: stop_at,
            fail_if_not_ready: seek.behavior == SeekBehavior::FailIfNotReady as i32,
            headers_only: seek.content_type == SeekContentType::HeaderWithSig as i32,
        })
    }
}

fn same_position(a: &SeekPosition, b: &SeekPosition) -> bool {
    a == b
}

/// A request's envelope, checked (Fabric's `parseEnvelope`): decodes, has a
/// timestamp within `window` of `now`, and under mutual TLS carries the
/// client certificate's hash.
pub fn check_envelope(
    env: &Envelope,
    now: SystemTime,
    window: Duration,
    binding: &TlsBinding,
) -> Result<UnpackedEnvelope, Status> {
    let e = UnpackedEnvelope::decode(env).map_err(|_| Status::BadRequest)?;
    let Some(ts) = &e.channel_header.timestamp else {
        return Err(Status::BadRequest);
    };
    let sent = UNIX_EPOCH
        .checked_add(Duration::new(
            u64::try_from(ts.seconds).unwrap_or(0),
            u32::try_from(ts.nanos).unwrap_or(0),
        ))
        .unwrap_or(UNIX_EPOCH);
    let skew = match now.duration_since(sent) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > window {
        tracing::warn!(
            channel = %e.channel_header.channel_id,
            "deliver request refused: its timestamp is {} s away from this node's clock \
             (allowed: {} s); the requester's clock or this node's is wrong",
            skew.as_secs(),
            window.as_secs()
        );
        return Err(Status::BadRequest);
    }
    if let Some(hash) = &binding.required_cert_hash
        && e.channel_header.tls_cert_hash != *hash
    {
        return Err(Status::BadRequest);
    }
    Ok(e)
}

/// The Unix time at which the creator's certificate expires, if it parses.
pub fn creator_expiry(creator: &[u8]) -> Option<i64> {
    let id = weft_protos::msp::SerializedIdentity::decode(creator).ok()?;
    crate::msp::Certificate::from_pem(&id.id_bytes)
        .ok()
        .map(|c| c.not_after)
}

/// Resolves once a certificate that expires at Unix time `expires` has
/// expired (never, for `None`): a stream waiting for its next block or event
/// ends at its client's expiry, not at the next block after it.
pub async fn until_expired(expires: Option<i64>) {
    let Some(t) = expires else {
        return std::future::pending().await;
    };
    let left = t.saturating_sub(unix(SystemTime::now()));
    if left >= 0 {
        tokio::time::sleep(std::time::Duration::from_secs(left as u64 + 1)).await;
    }
}

fn unix(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn is_config_block(block: &Block) -> bool {
    let first = block
        .data
        .as_ref()
        .and_then(|d| d.data.first())
        .and_then(|bytes| Envelope::decode(bytes.as_slice()).ok());
    first
        .and_then(|env| UnpackedEnvelope::from_envelope(&env).ok())
        .is_some_and(|e| e.header_type() == HeaderType::Config as i32)
}

/// Serves one request from `env`: checks it, finds its channel with
/// `lookup`, and sends each block through `tx` as `wrap` makes it into a
/// response. Returns how it ended; the caller sends the status.
#[allow(clippy::too_many_arguments)]
pub async fn deliver_blocks<C, T, F>(
    env: &Envelope,
    settings: DeliverSettings,
    binding: &TlsBinding,
    lookup: impl FnOnce(&str) -> Option<Arc<C>>,
    tx: &tokio::sync::mpsc::Sender<T>,
    wrap: F,
) -> Outcome
where
    C: DeliverChannel + ?Sized,
    F: Fn(&C, Block) -> T,
{
    let request = match check_envelope(env, SystemTime::now(), settings.time_window, binding) {
        Ok(e) => e,
        Err(status) => return Outcome::Status(status),
    };
    let channel_id = &request.channel_header.channel_id;
    let Some(channel) = lookup(channel_id) else {
        return Outcome::Status(Status::NotFound);
    };
    let Ok(seek) = SeekInfo::decode(request.data.as_slice()) else {
        return Outcome::Status(Status::BadRequest);
    };
    let signed = request.creator_signed_data();
    if let Err(e) = channel.authorize(&signed) {
        tracing::info!(channel = %channel_id, "deliver refused: {e}");
        return Outcome::Status(Status::Forbidden);
    }
    let plan = match SeekPlan::resolve(&seek, channel.height()) {
        Ok(p) => p,
        Err(status) => return Outcome::Status(status),
    };
    let access = Access {
        sequence: channel.config_sequence(),
        expires: creator_expiry(&signed.identity),
        signed,
    };
    send_blocks(&*channel, plan, access, tx, |b| wrap(&channel, b)).await
}

/// The access granted to one request, re-checked as Fabric's session access
/// control does.
struct Access {
    sequence: u64,
    expires: Option<i64>,
    signed: SignedData,
}

impl Access {
    fn still_granted<C: DeliverChannel + ?Sized>(&mut self, channel: &C) -> bool {
        if self.expires.is_some_and(|t| unix(SystemTime::now()) > t) {
            tracing::info!("deliver ended: the client's certificate has expired");
            return false;
        }
        let sequence = channel.config_sequence();
        if sequence != self.sequence {
            if let Err(e) = channel.authorize(&self.signed) {
                tracing::info!("deliver ended: access revoked by a config change: {e}");
                return false;
            }
            self.sequence = sequence;
        }
        true
    }
}

async fn send_blocks<C, T>(
    channel: &C,
    plan: SeekPlan,
    mut access: Access,
    tx: &tokio::sync::mpsc::Sender<T>,
    wrap: impl Fn(Block) -> T,
) -> Outcome
where
    C: DeliverChannel + ?Sized,
{
    let mut number = match plan.start {
        Start::At(n) => n,
        Start::NotFound => return Outcome::Status(Status::NotFound),
    };
    loop {
        if plan.fail_if_not_ready && number >= channel.height() {
            return Outcome::Status(Status::NotFound);
        }
        while number >= channel.height() {
            tokio::select! {
                more = channel.wait_beyond(number) => {
                    if !more {
                        return Outcome::Status(Status::ServiceUnavailable);
                    }
                }
                _ = until_expired(access.expires) => {
                    tracing::info!("deliver ended: the client's certificate has expired");
                    return Outcome::Status(Status::Forbidden);
                }
                _ = tx.closed() => return Outcome::Gone,
            }
        }
        let Some(mut block) = channel.block(number) else {
            return Outcome::Status(Status::InternalServerError);
        };
        if !access.still_granted(channel) {
            return Outcome::Status(Status::Forbidden);
        }
        if plan.headers_only && !is_config_block(&block) {
            block.data = None;
        }
        if tx.send(wrap(block)).await.is_err() {
            return Outcome::Gone;
        }
        if number == plan.stop {
            return Outcome::Status(Status::Success);
        }
        number += 1;
    }
}

/// Runs a Deliver stream: serves each request from `incoming` in turn with
/// `serve_one`, sends its status with `status`, and stops after a status
/// other than SUCCESS (Fabric ends the stream then) or when the client goes.
pub async fn run_stream<T, S, Fut>(
    mut incoming: S,
    tx: tokio::sync::mpsc::Sender<T>,
    status: impl Fn(Status) -> T,
    mut serve_one: impl FnMut(Envelope, tokio::sync::mpsc::Sender<T>) -> Fut,
) where
    S: futures::Stream<Item = Result<Envelope, tonic::Status>> + Unpin,
    Fut: Future<Output = Outcome>,
{
    use futures::StreamExt;
    while let Some(Ok(env)) = incoming.next().await {
        match serve_one(env, tx.clone()).await {
            Outcome::Gone => return,
            Outcome::Status(s) => {
                if tx.send(status(s)).await.is_err() || s != Status::Success {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
