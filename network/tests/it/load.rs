//! The fault tests' clients: each a steady stream of requests through the
//! client SDK's bulk path (every second, `rate` `CreateAsset`s of fresh ids
//! handed to `bulk::submit_all` with a journal of their own), and what their
//! journals say they were told, for `weft_testkit::ledger_check`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use weft_client_sdk::Contract;
use weft_client_sdk::bulk::journal::Record;
use weft_client_sdk::bulk::{BulkOptions, BulkReport, BulkRequest, submit_all};
use weft_testkit::ledger_check::{ClientRecord, Outcome};

use crate::hosted::{CC, HostedNetwork};

/// Clients sending until [`Load::finish`].
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    clients: Vec<tokio::task::JoinHandle<Vec<Batch>>>,
    _journals: tempfile::TempDir,
}

/// What the clients did and were told.
pub(crate) struct LoadResult {
    /// Requests sent.
    pub sent: usize,
    /// Requests the SDK reported committed.
    pub acknowledged: usize,
    /// Requests failed for good.
    pub failed: usize,
    /// Requests still in flight after every resume.
    pub unresolved: usize,
    /// Transactions resubmitted unchanged.
    pub resubmitted: u64,
    /// Every transaction sent, with what its client was told.
    pub records: Vec<ClientRecord>,
}

impl Load {
    /// `clients` clients, client `c` a user of org `c % orgs` whose gateway
    /// fails over ([`HostedNetwork::failover_gateway`]), each sending `rate`
    /// requests a second.
    pub fn start(net: &HostedNetwork, clients: usize, rate: usize) -> Self {
        let contracts = (0..clients)
            .map(|c| {
                net.failover_gateway(c % net.info.orgs.len())
                    .network(&net.info.channel)
                    .contract(CC)
            })
            .collect();
        Self::through(contracts, rate)
    }

    /// One client per contract (its gateway and identity), each sending
    /// `rate` requests a second.
    pub fn through(contracts: Vec<Contract>, rate: usize) -> Self {
        let journals = tempfile::tempdir().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for (c, contract) in contracts.into_iter().enumerate() {
            handles.push(tokio::spawn(client(
                c,
                contract,
                journals.path().to_path_buf(),
                rate,
                stop.clone(),
                sent.clone(),
            )));
        }
        Self {
            stop,
            sent,
            clients: handles,
            _journals: journals,
        }
    }

    /// Requests sent so far.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops sending, runs every request to an end, and reads the journals.
    pub async fn finish(self) -> LoadResult {
        self.stop.store(true, Ordering::Relaxed);
        let mut result = LoadResult {
            sent: 0,
            acknowledged: 0,
            failed: 0,
            unresolved: 0,
            resubmitted: 0,
            records: Vec::new(),
        };
        for (c, handle) in self.clients.into_iter().enumerate() {
            let batches = handle.await.unwrap();
            result.records.extend(records(c, &batches));
            for b in &batches {
                let r = b.report.as_ref().expect("every batch ran");
                result.acknowledged += r.progress.committed;
                result.failed += r.failures.len();
                result.unresolved += r.unresolved.len();
                result.resubmitted += r.progress.resubmitted;
            }
        }
        result.sent = self.sent.load(Ordering::Relaxed);
        result
    }
}

/// One client's batches: the requests, their journal, the last report.
struct Batch {
    requests: Vec<BulkRequest>,
    journal: PathBuf,
    report: Option<BulkReport>,
}

fn options() -> BulkOptions {
    BulkOptions {
        max_in_flight: 8,
        initial_in_flight: 8,
        // A cut lasts 20 s: keep resubmitting the same envelope through it.
        max_resubmits: 400,
        ..BulkOptions::default()
    }
}

/// Client `c`: every second, `rate` new requests handed to the bulk path
/// with a journal of their own, until `stop`; then every batch run to an
/// end (unresolved ones resumed from their journals).
async fn client(
    c: usize,
    contract: Contract,
    dir: PathBuf,
    rate: usize,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
) -> Vec<Batch> {
    let mut running = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let requests: Vec<BulkRequest> = (0..rate)
            .map(|j| {
                let id = format!("c{c}-{k:05}-{j}");
                BulkRequest {
                    function: "CreateAsset".into(),
                    args: vec![
                        id.clone(),
                        "blue".into(),
                        "5".into(),
                        format!("client{c}"),
                        "100".into(),
                    ],
                    id,
                }
            })
            .collect();
        sent.fetch_add(requests.len(), Ordering::Relaxed);
        let journal = dir.join(format!("c{c}-{k:05}.journal"));
        let (contract, reqs, path) = (contract.clone(), requests.clone(), journal.clone());
        let task =
            tokio::spawn(
                async move { submit_all(&contract, reqs, &path, options(), |_| {}).await },
            );
        running.push((
            Batch {
                requests,
                journal,
                report: None,
            },
            task,
        ));
        k += 1;
    }
    let mut batches = Vec::new();
    for (mut batch, task) in running {
        let mut report = task.await.unwrap().unwrap();
        // Resume what a fault left in flight, from the journal.
        for _ in 0..5 {
            if report.unresolved.is_empty() {
                break;
            }
            report = submit_all(
                &contract,
                batch.requests.clone(),
                &batch.journal,
                options(),
                |_| {},
            )
            .await
            .unwrap();
        }
        batch.report = Some(report);
        batches.push(batch);
    }
    batches
}

/// What client `c`'s journals say of each transaction it sent.
fn records(c: usize, batches: &[Batch]) -> Vec<ClientRecord> {
    let mut out: Vec<ClientRecord> = Vec::new();
    for b in batches {
        let text = std::fs::read_to_string(&b.journal).unwrap_or_default();
        for line in text.lines() {
            let record: Record = serde_json::from_str(line).unwrap();
            let (tx_id, outcome) = match record {
                Record::Prepared { tx_id, .. } | Record::Superseded { tx_id, .. } => {
                    (tx_id, Outcome::Sent)
                }
                Record::Committed { tx_id, block, .. } => (tx_id, Outcome::Valid { block }),
                Record::Failed { .. } => continue,
            };
            match out.iter_mut().find(|r| r.tx_id == tx_id) {
                Some(r) if outcome != Outcome::Sent => r.outcome = outcome,
                Some(_) => {}
                None => out.push(ClientRecord {
                    client: format!("client{c}"),
                    tx_id,
                    outcome,
                }),
            }
        }
    }
    out
}
