//! The threads proposals are simulated on, off the async runtime.
//!
//! Each simulation used to be a `spawn_blocking` task: under load the
//! spawners and the blocking pool's workers contended for its one mutex
//! (spinning, yielding, a futex wake per proposal), about 6% of a gateway
//! peer's CPU. A fixed set of threads with a work-stealing queue hands a
//! proposal over without a lock, and a busy thread takes the next one
//! without sleeping. The set is as large as the default number of
//! simulations allowed at once (`peer.limits.chaincodeExecutions`), which the
//! caller's semaphore still enforces; the threads are apart from the pool
//! that validates blocks, so slow chaincode does not hold up commits.

use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
#[error("the simulation panicked")]
pub struct Panicked;

static SIMULATIONS: LazyLock<rayon::ThreadPool> = LazyLock::new(|| {
    rayon::ThreadPoolBuilder::new()
        .num_threads(crate::config::PeerLimits::default().chaincode_executions)
        .thread_name(|i| format!("simulate-{i}"))
        .build()
        .expect("the simulation threads start")
});

/// Runs `job` on a simulation thread, inside the caller's Tokio runtime
/// context (chaincode-to-chaincode calls and JoinChain use it), and waits
/// for its result. A panic in `job` is returned, not propagated.
pub async fn run<R: Send + 'static>(
    job: impl FnOnce() -> R + Send + 'static,
) -> Result<R, Panicked> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let runtime = tokio::runtime::Handle::current();
    SIMULATIONS.spawn(move || {
        let _context = runtime.enter();
        let _ = tx.send(std::panic::catch_unwind(AssertUnwindSafe(job)));
    });
    match rx.await {
        Ok(Ok(r)) => Ok(r),
        _ => Err(Panicked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn results_and_panics_come_back() {
        assert_eq!(run(|| 6 * 7).await.unwrap(), 42);
        assert!(
            run(|| -> u8 { panic!("chaincode host bug") })
                .await
                .is_err()
        );
        // The threads survive a panic.
        assert_eq!(run(|| 1).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn jobs_run_in_the_callers_runtime() {
        let inside = run(|| tokio::runtime::Handle::try_current().is_ok()).await;
        assert!(inside.unwrap());
    }
}
