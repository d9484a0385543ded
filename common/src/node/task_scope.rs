//! A scope for a component's background tasks: spawned on one runtime,
//! cancelled together, and joined before the component says it has stopped,
//! so that nothing it started outlives it (a store still open, a call still
//! in flight after shutdown).

use std::future::Future;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;

/// The tasks of one component (a channel, a node).
#[derive(Debug, Clone)]
pub struct TaskScope {
    tracker: TaskTracker,
    cancel: CancellationToken,
    runtime: Handle,
}

impl TaskScope {
    /// A scope whose tasks run on the current runtime.
    pub fn current() -> Self {
        Self::on(Handle::current())
    }

    /// A scope whose tasks run on `runtime`.
    pub fn on(runtime: Handle) -> Self {
        Self {
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            runtime,
        }
    }

    /// Spawns a task in the scope. It should end soon after
    /// [`TaskScope::cancelled`] resolves.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn_on(task, &self.runtime)
    }

    /// Resolves once the scope is cancelled.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Whether the scope has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Asks every task to end.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Cancels the scope and waits until every task spawned in it has ended.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn shutdown_cancels_and_joins_every_task() {
        let scope = TaskScope::current();
        let ended = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let (scope2, ended) = (scope.clone(), ended.clone());
            scope.spawn(async move {
                scope2.cancelled().await;
                tokio::task::yield_now().await;
                ended.fetch_add(1, Ordering::SeqCst);
            });
        }
        assert!(!scope.is_cancelled());
        scope.shutdown().await;
        assert!(scope.is_cancelled());
        assert_eq!(ended.load(Ordering::SeqCst), 3, "all joined");
    }
}
