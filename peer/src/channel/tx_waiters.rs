//! Callers waiting for one transaction to be committed (the Gateway's
//! CommitStatus), by txid. The block that commits a transaction answers its
//! waiters once, with the location the ledger recorded; a waiter is not woken
//! by the blocks before it, and the ledger is read once per waited-for
//! transaction, not once per waiter per block.
//!
//! A waiter registers before it looks in the ledger, so a commit between the
//! two cannot be missed. One that goes away (its client hung up) takes its
//! entry with it. When the channel's committer goes away, every waiter is
//! told so.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::PeerError;
use crate::ledger::TxLocation;

type Waiting = Vec<(u64, oneshot::Sender<Result<TxLocation, String>>)>;

/// The waiters of one channel.
#[derive(Default)]
pub struct TxWaiters {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    by_tx: HashMap<String, Waiting>,
}

impl TxWaiters {
    /// Registers a wait for `tx_id`; look in the ledger after this, not before.
    pub fn register(self: &Arc<Self>, tx_id: &str) -> TxWait {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.inner.lock().expect("tx waiters");
        let id = inner.next;
        inner.next += 1;
        inner
            .by_tx
            .entry(tx_id.to_string())
            .or_default()
            .push((id, tx));
        TxWait {
            waiters: Arc::downgrade(self),
            tx_id: tx_id.to_string(),
            id,
            rx,
        }
    }

    /// After a block is durable: answers the waiters of each of its
    /// transactions (`tx_ids`, in block order) with where `locate` (the
    /// ledger's txid index) says it was committed.
    pub fn announce<'a>(
        &self,
        tx_ids: impl IntoIterator<Item = &'a str>,
        locate: impl Fn(&str) -> Result<Option<TxLocation>, PeerError>,
    ) {
        let woken: Vec<(&str, Waiting)> = {
            let mut inner = self.inner.lock().expect("tx waiters");
            if inner.by_tx.is_empty() {
                return;
            }
            tx_ids
                .into_iter()
                .filter_map(|id| Some((id, inner.by_tx.remove(id)?)))
                .collect()
        };
        for (tx_id, waiting) in woken {
            let answer = match locate(tx_id) {
                Ok(Some(loc)) => Ok(loc),
                Ok(None) => Err(format!(
                    "transaction {tx_id} was in a committed block but is not in the txid index"
                )),
                Err(e) => Err(format!("cannot read the txid index: {e}")),
            };
            for (_, tx) in waiting {
                // A waiter that went away meanwhile needs no answer.
                let _ = tx.send(answer.clone());
            }
        }
    }

    /// Transactions with at least one waiter.
    pub fn len(&self) -> usize {
        self.inner.lock().expect("tx waiters").by_tx.len()
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn forget(&self, tx_id: &str, id: u64) {
        let mut inner = self.inner.lock().expect("tx waiters");
        if let Some(waiting) = inner.by_tx.get_mut(tx_id) {
            waiting.retain(|(i, _)| *i != id);
            if waiting.is_empty() {
                inner.by_tx.remove(tx_id);
            }
        }
    }
}

/// Why a wait ended without a location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitEnded {
    /// The channel's committer is gone (the peer is shutting down).
    #[error("the channel is shutting down")]
    Closed,
    /// The block committed the transaction but its location could not be read.
    #[error("{0}")]
    Unreadable(String),
}

/// One wait for one transaction: resolves to where it was committed.
pub struct TxWait {
    waiters: Weak<TxWaiters>,
    tx_id: String,
    id: u64,
    rx: oneshot::Receiver<Result<TxLocation, String>>,
}

impl Future for TxWait {
    type Output = Result<TxLocation, WaitEnded>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx).poll(cx).map(|r| match r {
            Ok(Ok(loc)) => Ok(loc),
            Ok(Err(why)) => Err(WaitEnded::Unreadable(why)),
            Err(_) => Err(WaitEnded::Closed),
        })
    }
}

impl Drop for TxWait {
    fn drop(&mut self) {
        if let Some(waiters) = self.waiters.upgrade() {
            waiters.forget(&self.tx_id, self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(block: u64, tx: u64) -> TxLocation {
        TxLocation { block, tx, code: 0 }
    }

    #[tokio::test]
    async fn the_committing_block_answers_each_waiter_once_with_the_ledgers_location() {
        let waiters = Arc::new(TxWaiters::default());
        let a1 = waiters.register("a");
        let a2 = waiters.register("a");
        let mut b = waiters.register("b");
        assert_eq!(waiters.len(), 2);
        // A block without "b" leaves its waiter waiting; the index is read
        // once for "a", however many wait for it.
        let reads = std::sync::atomic::AtomicUsize::new(0);
        waiters.announce(["x", "a"], |id| {
            reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert_eq!(id, "a");
            Ok(Some(at(7, 1)))
        });
        assert_eq!(reads.into_inner(), 1);
        assert_eq!(a1.await, Ok(at(7, 1)));
        assert_eq!(a2.await, Ok(at(7, 1)));
        assert!(futures::poll!(&mut b).is_pending());
        assert_eq!(waiters.len(), 1);
        waiters.announce(["b"], |_| Ok(None));
        assert!(
            matches!(b.await, Err(WaitEnded::Unreadable(why)) if why.contains("not in the txid index"))
        );
        assert!(waiters.is_empty());
    }

    #[tokio::test]
    async fn a_waiter_that_goes_away_takes_its_entry_and_a_gone_committer_ends_every_wait() {
        let waiters = Arc::new(TxWaiters::default());
        let kept = waiters.register("a");
        drop(waiters.register("a"));
        drop(waiters.register("b"));
        assert_eq!(waiters.len(), 1, "only the kept wait remains");
        drop(waiters);
        assert_eq!(kept.await, Err(WaitEnded::Closed));
    }
}
