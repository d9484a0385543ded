//! The threads proposals are simulated on, off the async runtime.
//!
//! Each simulation used to be a `spawn_blocking` task: under load the
//! spawners and the blocking pool's workers contended for its one mutex
//! (spinning, yielding, a futex wake per proposal), about 6% of a gateway
//! peer's CPU. A fixed set of threads takes jobs from one queue instead: a
//! busy thread takes the next job without sleeping, an idle one sleeps in the
//! kernel at once (a rayon pool measured the same CPU per transaction, A/B,
//! but spent it spinning and yielding between proposals). The set is as
//! large as the default number of simulations allowed at once
//! (`peer.limits.chaincodeExecutions`), which the caller's semaphore still
//! enforces; the threads are apart from the pool that validates blocks, so
//! slow chaincode does not hold up commits.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, LazyLock, Mutex};

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
#[error("the simulation panicked")]
pub struct Panicked;

type Job = Box<dyn FnOnce() + Send>;

static SIMULATIONS: LazyLock<Sender<Job>> = LazyLock::new(|| {
    let (tx, rx) = channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..crate::config::PeerLimits::default().chaincode_executions {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("simulate-{i}"))
            .spawn(move || work(&rx))
            .expect("a simulation thread starts");
    }
    tx
});

/// One thread's life: the next job, until the process ends.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held while waiting: the other idle threads sleep on it.
        let job = jobs.lock().expect("simulation queue lock").recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// Runs `job` on a simulation thread, inside the caller's Tokio runtime
/// context (chaincode-to-chaincode calls and JoinChain use it), and waits
/// for its result. A panic in `job` is returned, not propagated.
pub async fn run<R: Send + 'static>(
    job: impl FnOnce() -> R + Send + 'static,
) -> Result<R, Panicked> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let runtime = tokio::runtime::Handle::current();
    let wrapped: Job = Box::new(move || {
        let _context = runtime.enter();
        let _ = tx.send(std::panic::catch_unwind(AssertUnwindSafe(job)));
    });
    if SIMULATIONS.send(wrapped).is_err() {
        return Err(Panicked);
    }
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
