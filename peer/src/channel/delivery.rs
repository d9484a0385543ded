//! Block delivery: a per-channel task that pulls blocks from an orderer's
//! Deliver service, verifies each one and hands it to the committer.
//!
//! It asks for blocks from the ledger's height on, so a peer that joins late or
//! was down replays what it missed, and a block is never applied twice. When a
//! stream breaks it reconnects with backoff, rotating through the orderers of
//! the channel's current config; when an orderer sends a block that fails
//! verification (wrong number, broken hash chain, bad data hash, signatures
//! not satisfying `BlockValidation`) it drops that orderer and fetches the same
//! block from the next one at once.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use tokio::sync::watch;
use weft_common::backoff::Backoff;
use weft_common::ids::ChannelId;
use weft_common::msp::SigningIdentity;
use weft_common::tls::TlsIdentity;
use weft_common::tx::signed_bound_envelope;
use weft_protos::common::{HeaderType, Status};
use weft_protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use weft_protos::orderer::{
    SeekInfo, SeekPosition, SeekSpecified, deliver_response, seek_info, seek_position,
};

use super::commit::Committer;
use super::verify::verify_block;

/// Largest block the peer accepts from an orderer.
const MAX_BLOCK_BYTES: usize = 256 * 1024 * 1024;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long a Deliver stream must stay open to count as working.
const STREAM_SETTLED: Duration = Duration::from_secs(5);

/// Where a committing peer gets the private data a block needs: before the
/// block commits, and later for what was still missing.
#[tonic::async_trait]
pub trait PrivateFetch: Send + Sync {
    /// Fetches into the transient store the private writes of `block` that
    /// this peer should hold and lacks.
    async fn before_commit(&self, committer: &Committer, block: &weft_protos::common::Block);
    /// One reconciliation round over what is recorded as missing.
    async fn reconcile(&self, committer: &Committer);
}

/// What the delivery task needs besides the committer.
#[derive(Clone)]
pub struct DeliverySettings {
    /// Signs the Deliver requests (must satisfy the channel's Readers policy).
    pub signer: SigningIdentity,
    /// The peer's TLS identity, its client certificate towards orderers; `None`: plaintext.
    pub tls: Option<TlsIdentity>,
    /// Orderer endpoints to use instead of the channel config's (empty: the config's).
    pub endpoints: Vec<String>,
    /// Pings that find a dead orderer connection (`peer.keepalive.deliveryClient`).
    pub keep_alive: weft_common::node::dial::KeepAlive,
    /// Where the task reports how it is doing.
    pub health: Arc<DeliveryHealth>,
    /// Where private data comes from (`None`: only the transient store).
    pub private: Option<Arc<dyn PrivateFetch>>,
}

/// How a channel's block delivery is doing, for `/healthz`.
#[derive(Debug, Default)]
pub struct DeliveryHealth {
    failing: std::sync::Mutex<Option<Failing>>,
}

#[derive(Debug)]
struct Failing {
    since: std::time::Instant,
    why: String,
    stopped: bool,
}

impl DeliveryHealth {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Failing>> {
        self.failing.lock().expect("delivery health lock")
    }

    /// A stream is open (or a block arrived): delivery works again.
    fn ok(&self) {
        let mut f = self.lock();
        if !f.as_ref().is_some_and(|f| f.stopped) {
            *f = None;
        }
    }

    /// An attempt failed; failing since the first failure in a row.
    fn failed(&self, why: &str) {
        let mut f = self.lock();
        match f.as_mut() {
            Some(f) => why.clone_into(&mut f.why),
            None => {
                *f = Some(Failing {
                    since: std::time::Instant::now(),
                    why: why.to_string(),
                    stopped: false,
                })
            }
        }
    }

    /// Delivery stopped for good.
    fn stopped(&self, why: String) {
        *self.lock() = Some(Failing {
            since: std::time::Instant::now(),
            why,
            stopped: true,
        });
    }

    /// Why delivery counts as stalled: it stopped, or every attempt has
    /// failed for at least `after` (`peer.deliveryclient.reconnectTotalTimeThreshold`).
    pub fn stalled(&self, after: Duration) -> Option<String> {
        let f = self.lock();
        let f = f.as_ref()?;
        if f.stopped {
            return Some(format!("block delivery stopped: {}", f.why));
        }
        let failing = f.since.elapsed();
        (failing >= after).then(|| {
            format!(
                "no orderer has delivered blocks for {}s: {}",
                failing.as_secs(),
                f.why
            )
        })
    }
}

/// Why pulling from one orderer stopped.
#[derive(Debug)]
enum Stop {
    /// The orderer sent a block that failed verification: try another now.
    BadBlock(String),
    /// The connection or stream failed: back off, then try another.
    Transport(String),
    /// The peer is shutting down.
    Shutdown,
}

/// Reconciles missing private data every `interval` until `shutdown`
/// turns true (Fabric's `peer.gossip.pvtData.reconcileSleepInterval`).
pub async fn reconcile(
    committer: Arc<Committer>,
    private: Arc<dyn PrivateFetch>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        private.reconcile(&committer).await;
    }
}

/// Runs until `shutdown` turns true.
pub async fn run(
    committer: Arc<Committer>,
    settings: DeliverySettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let channel = committer.config().channel_id.clone();
    let mut index = 0usize;
    let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let endpoints = if settings.endpoints.is_empty() {
            committer.config().orderer_endpoints()
        } else {
            settings.endpoints.clone()
        };
        if endpoints.is_empty() {
            tracing::error!(%channel, "the channel config names no orderer endpoints; cannot pull blocks");
            settings
                .health
                .stopped("the channel config names no orderer endpoints".into());
            let _ = shutdown.changed().await;
            return;
        }
        let endpoint = endpoints[index % endpoints.len()].clone();
        let height_before = committer.tip().0;
        let stop = pull(&committer, &settings, &endpoint, &channel, &mut shutdown).await;
        if committer.tip().0 > height_before {
            backoff.reset();
        }
        match stop {
            Stop::Shutdown => {
                let c = committer.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || c.flush()).await {
                    tracing::error!(%channel, "last block write failed: {e}");
                }
                return;
            }
            Stop::BadBlock(why) => {
                settings.health.failed(&why);
                tracing::warn!(%channel, orderer = %endpoint, "{why}; fetching it from another orderer");
                index += 1;
            }
            Stop::Transport(why) => {
                settings.health.failed(&why);
                let wait = backoff.next_wait();
                tracing::info!(%channel, orderer = %endpoint, "deliver: {why}; retrying in {wait:?}");
                index += 1;
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

async fn connect(
    endpoint: &str,
    tls: Option<(&TlsIdentity, Vec<Vec<u8>>)>,
    keep_alive: weft_common::node::dial::KeepAlive,
) -> Result<AtomicBroadcastClient<tonic::transport::Channel>, weft_common::CommonError> {
    let channel = crate::remote::connect(endpoint, tls, keep_alive).await?;
    Ok(AtomicBroadcastClient::new(channel).max_decoding_message_size(MAX_BLOCK_BYTES))
}

fn seek_from(height: u64) -> SeekInfo {
    let specified = |number| SeekPosition {
        r#type: Some(seek_position::Type::Specified(SeekSpecified { number })),
    };
    SeekInfo {
        start: Some(specified(height)),
        stop: Some(specified(u64::MAX)),
        behavior: seek_info::SeekBehavior::BlockUntilReady as i32,
        error_response: seek_info::SeekErrorResponse::Strict as i32,
        content_type: seek_info::SeekContentType::Block as i32,
    }
}

async fn pull(
    committer: &Arc<Committer>,
    settings: &DeliverySettings,
    endpoint: &str,
    channel: &ChannelId,
    shutdown: &mut watch::Receiver<bool>,
) -> Stop {
    let tls = settings
        .tls
        .as_ref()
        .map(|t| (t, committer.config().tls_roots()));
    let mut client = match connect(endpoint, tls, settings.keep_alive).await {
        Ok(c) => c,
        Err(e) => return Stop::Transport(e.to_string()),
    };
    let height = committer.tip().0;
    // Bound to this peer's TLS certificate, as Fabric's peers bind theirs:
    // an orderer that requires client certificates requires the binding.
    let request = match signed_bound_envelope(
        HeaderType::DeliverSeekInfo,
        channel,
        seek_from(height).encode_to_vec(),
        &settings.signer,
        settings
            .tls
            .as_ref()
            .map(TlsIdentity::cert_hash)
            .unwrap_or_default(),
    ) {
        Ok(env) => env,
        Err(e) => return Stop::Transport(format!("cannot sign the deliver request: {e}")),
    };
    let mut stream = match client.deliver(futures::stream::iter([request])).await {
        Ok(r) => r.into_inner(),
        Err(e) => return Stop::Transport(format!("deliver refused: {}", e.message())),
    };
    tracing::debug!(%channel, orderer = %endpoint, from = height, "pulling blocks");
    // A stream that stays open this long without failing works, even on a
    // channel with no new blocks; one the orderer answers with an error
    // status at once does not.
    let settled = tokio::time::sleep(STREAM_SETTLED);
    tokio::pin!(settled);
    let mut working = false;
    loop {
        let next = tokio::select! {
            n = stream.next() => n,
            _ = &mut settled, if !working => {
                working = true;
                settings.health.ok();
                continue;
            }
            _ = shutdown.changed() => return Stop::Shutdown,
        };
        let response = match next {
            None => return Stop::Transport("stream ended".into()),
            Some(Err(e)) => return Stop::Transport(format!("stream failed: {}", e.message())),
            Some(Ok(r)) => r,
        };
        let block = match response.r#type {
            Some(deliver_response::Type::Block(b)) => b,
            Some(deliver_response::Type::Status(s)) => {
                let name = Status::try_from(s).map_or("UNKNOWN", |s| s.as_str_name());
                let hint = if s == Status::BadRequest as i32 {
                    " (an orderer refuses a request whose timestamp is further from its \
                     clock than its time window, 15 min by default: check this host's clock)"
                } else {
                    ""
                };
                return Stop::Transport(format!("orderer answered {name}{hint}"));
            }
            None => return Stop::Transport("empty deliver response".into()),
        };
        let (height, hash) = committer.tip();
        if let Err(bad) = verify_block(
            &block,
            height,
            &hash,
            &committer.config(),
            weft_common::clock::unix_now(),
        ) {
            return Stop::BadBlock(bad.to_string());
        }
        if wait_for_disk_room(committer, &settings.health, shutdown).await {
            return Stop::Shutdown;
        }
        if let Some(p) = &settings.private {
            p.before_commit(committer, &block).await;
        }
        // Validating this block overlaps the write of the previous one.
        let c = committer.clone();
        match tokio::task::spawn_blocking(move || c.submit(block)).await {
            Ok(Ok(done)) => {
                settings.health.ok();
                tracing::trace!(%channel, block = done.number, txs = done.txs.len(), "validated");
            }
            Ok(Err(e)) => {
                // A ledger failure: stop pulling rather than skip a block.
                tracing::error!(%channel, "commit failed: {e}; block delivery stops");
                settings.health.stopped(format!("commit failed: {e}"));
                let _ = shutdown.changed().await;
                return Stop::Shutdown;
            }
            Err(e) => return Stop::Transport(format!("commit task: {e}")),
        }
    }
}

/// How often a full disk is looked at again while commits wait.
const DISK_RECHECK: Duration = Duration::from_secs(1);

/// Before a block is written: with the ledger's disk nearly full, commits
/// pause (delivery health says why) until it has room, so RocksDB never
/// meets a full disk in the middle of a block's write (Debian's build aborts
/// the process on that error). Returns whether the peer shut down meanwhile.
async fn wait_for_disk_room(
    committer: &Committer,
    health: &DeliveryHealth,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    use weft_common::node::health::{MIN_FREE_BYTES, disk_check};
    let dir = committer.ledger().dir();
    let Some(full) = disk_check(dir, MIN_FREE_BYTES) else {
        return false;
    };
    let channel = committer.config().channel_id.clone();
    tracing::error!(%channel, "the ledger's disk is full ({}): commits pause until it has room", full.reason);
    health.failed(&format!("commits paused: {}", full.reason));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(DISK_RECHECK) => {}
            _ = shutdown.changed() => return true,
        }
        if disk_check(dir, MIN_FREE_BYTES).is_none() {
            tracing::info!(%channel, "the ledger's disk has room: commits resume");
            return false;
        }
    }
}
