//! Bulk submission: a large batch of transactions (an airdrop, a payroll)
//! submitted at the rate the network sustains, each committed exactly once,
//! resumable after a crash of the client.
//!
//! - **Exactly once.** A request gets one signed transaction at a time. Its
//!   bytes are journaled (and synced) before it is submitted; while its fate
//!   is unknown — submit failed, status timed out, the client died — the
//!   *same* envelope is resubmitted, never a new one, and the ledger refuses
//!   a second commit of one txid. Only a transaction that committed as an
//!   MVCC conflict (so can never commit) is replaced by a new proposal.
//! - **Backpressure.** At most `max_in_flight` requests are in flight; the
//!   actual limit follows an AIMD [`window::Window`]: it grows while
//!   transactions commit and halves on MVCC conflicts or gateway overload
//!   (`RESOURCE_EXHAUSTED`, `UNAVAILABLE`, timeouts).
//! - **Resume.** Run again with the same journal and requests: committed and
//!   failed requests are skipped, in-flight ones resubmitted, the rest sent.

pub mod journal;
pub mod window;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Notify;

use crate::retry::RetryPolicy;
use crate::{ClientError, Contract, Transaction};
use journal::{Journal, Record, State};
use window::Window;

/// One transaction to submit. `id` names it across restarts (an employee
/// number, an airdrop recipient): it must be unique in the batch and stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRequest {
    /// Stable, unique id of the request.
    pub id: String,
    /// The transaction function.
    pub function: String,
    /// Its arguments.
    pub args: Vec<String>,
}

/// How the pipeline runs.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Upper bound on transactions in flight.
    pub max_in_flight: usize,
    /// In flight at the start (the window grows from here).
    pub initial_in_flight: usize,
    /// New proposals per request after MVCC conflicts, and their backoff.
    pub conflicts: RetryPolicy,
    /// Wait before resubmitting after an overload or a lost answer.
    pub resubmit_backoff: Duration,
    /// Give up on a request whose transaction could not be submitted or
    /// confirmed this many times in a row (it stays in flight in the journal;
    /// the next run resumes it).
    pub max_resubmits: u32,
}

impl Default for BulkOptions {
    fn default() -> Self {
        Self {
            max_in_flight: 256,
            initial_in_flight: 16,
            conflicts: RetryPolicy {
                attempts: 50,
                backoff: Duration::from_millis(20),
                max_backoff: Duration::from_secs(1),
            },
            resubmit_backoff: Duration::from_millis(200),
            max_resubmits: 20,
        }
    }
}

/// Where a run is, for a progress display.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Requests in the batch.
    pub total: usize,
    /// Committed (this run or earlier).
    pub committed: usize,
    /// Failed for good.
    pub failed: usize,
    /// Committed or failed by an earlier run.
    pub already_done: usize,
    /// Transactions that committed as MVCC conflicts and were re-proposed.
    pub conflicts: u64,
    /// Transactions resubmitted unchanged (after overload, lost answers or a restart).
    pub resubmitted: u64,
    /// The window's current limit.
    pub window: usize,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct BulkReport {
    /// Final counters.
    pub progress: Progress,
    /// Requests that failed for good, with the reason.
    pub failures: Vec<(String, String)>,
    /// Requests left in flight (to be resumed by the next run).
    pub unresolved: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

struct Shared {
    contract: Contract,
    journal: Journal,
    options: BulkOptions,
    window: Mutex<Window>,
    freed: Notify,
    progress: Mutex<Progress>,
    on_progress: Box<dyn Fn(&Progress) + Send + Sync>,
}

enum Outcome {
    Committed,
    Failed(String),
    Unresolved,
}

/// Submits every request through `contract`, journaling to `journal_path`.
/// `on_progress` is called after each request finishes.
pub async fn submit_all(
    contract: &Contract,
    requests: Vec<BulkRequest>,
    journal_path: &std::path::Path,
    options: BulkOptions,
    on_progress: impl Fn(&Progress) + Send + Sync + 'static,
) -> Result<BulkReport, ClientError> {
    let started = Instant::now();
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = requests.iter().find(|r| !seen.insert(r.id.as_str())) {
        return Err(ClientError::malformed(
            "bulk requests",
            format!("request id {:?} appears twice; ids must be unique", dup.id),
        ));
    }
    let journal = Journal::open(journal_path)?;
    let mut progress = Progress {
        total: requests.len(),
        ..Default::default()
    };
    let mut todo = Vec::new();
    for r in requests {
        match journal.state(&r.id) {
            State::Committed => progress.committed += 1,
            State::Failed(_) => progress.failed += 1,
            state => todo.push((r, state)),
        }
    }
    progress.already_done = progress.committed + progress.failed;
    let shared = Arc::new(Shared {
        contract: contract.clone(),
        journal,
        window: Mutex::new(Window::new(
            options.initial_in_flight,
            options.max_in_flight,
        )),
        options,
        freed: Notify::new(),
        progress: Mutex::new(progress),
        on_progress: Box::new(on_progress),
    });
    let max = shared.options.max_in_flight.max(1);
    let results: Vec<(String, Outcome)> = futures::stream::iter(todo)
        .map(|(request, state)| {
            let shared = shared.clone();
            async move {
                let id = request.id.clone();
                let outcome = run_one(&shared, request, state).await;
                {
                    let mut p = shared.progress.lock().expect("progress lock");
                    match &outcome {
                        Outcome::Committed => p.committed += 1,
                        Outcome::Failed(_) => p.failed += 1,
                        Outcome::Unresolved => {}
                    }
                    p.window = shared.window.lock().expect("window lock").limit();
                    (shared.on_progress)(&p);
                }
                (id, outcome)
            }
        })
        .buffer_unordered(max)
        .collect()
        .await;
    let mut failures = Vec::new();
    let mut unresolved = Vec::new();
    for (id, outcome) in results {
        match outcome {
            Outcome::Failed(reason) => failures.push((id, reason)),
            Outcome::Unresolved => unresolved.push(id),
            Outcome::Committed => {}
        }
    }
    let progress = shared.progress.lock().expect("progress lock").clone();
    Ok(BulkReport {
        progress,
        failures,
        unresolved,
        elapsed: started.elapsed(),
    })
}

/// A slot in the window, given back with a verdict.
struct Slot<'a> {
    shared: &'a Shared,
    done: bool,
}

impl Slot<'_> {
    async fn acquire(shared: &Shared) -> Slot<'_> {
        loop {
            let notified = shared.freed.notified();
            if shared.window.lock().expect("window lock").try_acquire() {
                return Slot {
                    shared,
                    done: false,
                };
            }
            notified.await;
        }
    }

    fn finish(mut self, f: impl FnOnce(&mut Window)) {
        f(&mut self.shared.window.lock().expect("window lock"));
        self.done = true;
        self.shared.freed.notify_waiters();
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.window.lock().expect("window lock").release();
            self.shared.freed.notify_waiters();
        }
    }
}

fn is_overload(e: &ClientError) -> bool {
    use tonic::Code;
    match e {
        ClientError::Timeout(_) | ClientError::Connect { .. } => true,
        ClientError::Endorse { failure, .. }
        | ClientError::Submit { failure, .. }
        | ClientError::CommitStatus { failure, .. } => matches!(
            failure.code,
            Code::ResourceExhausted | Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled
        ),
        _ => false,
    }
}

async fn run_one(shared: &Shared, request: BulkRequest, state: State) -> Outcome {
    let gateway = shared.contract.network().gateway().clone();
    let mut in_flight = match state {
        State::InFlight(bytes) => match gateway.transaction_from_bytes(&bytes) {
            Ok(tx) => Some(tx),
            Err(e) => return Outcome::Failed(format!("journaled transaction unreadable: {e}")),
        },
        _ => None,
    };
    let mut conflicts = 0u32;
    let mut resubmits = 0u32;
    loop {
        let slot = Slot::acquire(shared).await;
        let tx: Transaction = match in_flight.take() {
            Some(tx) => {
                shared.progress.lock().expect("progress lock").resubmitted += 1;
                tx
            }
            None => match propose(shared, &request).await {
                Ok(tx) => tx,
                Err(e) if is_overload(&e) => {
                    slot.finish(Window::congested);
                    tokio::time::sleep(shared.options.resubmit_backoff).await;
                    continue;
                }
                Err(e) => {
                    let reason = e.to_string();
                    return record_failure(shared, slot, &request.id, reason);
                }
            },
        };
        match submit_and_wait(&tx).await {
            Ok(status) if status.is_successful() => {
                if let Err(e) = shared.journal.append(&Record::Committed {
                    id: request.id.clone(),
                    tx_id: status.tx_id.clone(),
                    block: status.block_number,
                }) {
                    tracing::error!("journal: {e}");
                }
                slot.finish(Window::committed);
                return Outcome::Committed;
            }
            Ok(status) => {
                let err = status.clone().into_result().expect_err("invalid status");
                if err.is_mvcc_conflict() {
                    conflicts += 1;
                    shared.progress.lock().expect("progress lock").conflicts += 1;
                    if let Err(e) = shared.journal.append(&Record::Superseded {
                        id: request.id.clone(),
                        tx_id: status.tx_id.clone(),
                    }) {
                        tracing::error!("journal: {e}");
                        return Outcome::Unresolved;
                    }
                    if conflicts >= shared.options.conflicts.attempts {
                        return record_failure(shared, slot, &request.id, err.to_string());
                    }
                    slot.finish(Window::congested);
                    tokio::time::sleep(shared.options.conflicts.delay(conflicts)).await;
                    continue;
                }
                return record_failure(shared, slot, &request.id, err.to_string());
            }
            Err(e) => {
                // Unsure whether it was ordered: resubmit the same envelope.
                resubmits += 1;
                tracing::debug!(id = %request.id, tx_id = tx.tx_id(), "resubmitting: {e}");
                if resubmits > shared.options.max_resubmits {
                    tracing::warn!(id = %request.id, "left in flight after {resubmits} tries: {e}");
                    return Outcome::Unresolved;
                }
                slot.finish(Window::congested);
                tokio::time::sleep(shared.options.resubmit_backoff).await;
                in_flight = Some(tx);
            }
        }
    }
}

/// A new proposal for `request`, endorsed, signed and journaled before it can be submitted.
async fn propose(shared: &Shared, request: &BulkRequest) -> Result<Transaction, ClientError> {
    let tx = shared
        .contract
        .new_proposal(&request.function)
        .arguments(&request.args)
        .build()?
        .endorse()
        .await?;
    if !tx.is_signed() {
        return Err(ClientError::Unsigned("transaction"));
    }
    shared.journal.append(&Record::Prepared {
        id: request.id.clone(),
        tx_id: tx.tx_id().to_string(),
        transaction: hex::encode(tx.to_bytes()),
    })?;
    Ok(tx)
}

async fn submit_and_wait(tx: &Transaction) -> Result<crate::Status, ClientError> {
    tx.submit().await?.status().await
}

fn record_failure(shared: &Shared, slot: Slot<'_>, id: &str, reason: String) -> Outcome {
    if let Err(e) = shared.journal.append(&Record::Failed {
        id: id.to_string(),
        reason: reason.clone(),
    }) {
        tracing::error!("journal: {e}");
        return Outcome::Unresolved;
    }
    slot.finish(Window::release);
    Outcome::Failed(reason)
}
