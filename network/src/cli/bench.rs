//! `weft-network bench`: a load test with asset-transfer-basic.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::say;
use crate::bench::{self, BenchOptions, Workload};
use crate::{NetworkError, NetworkInfo};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum WorkloadArg {
    /// CreateAsset, a new asset each time.
    Create,
    /// TransferAsset over --keys assets (fewer keys, more MVCC conflicts).
    Transfer,
    /// ReadAsset (evaluate) over --keys assets.
    Read,
}

/// Load-test the network with asset-transfer-basic and report TPS and latency.
#[derive(Args)]
pub(crate) struct BenchArgs {
    /// What each transaction does.
    #[arg(long, value_enum, default_value = "create")]
    pub(crate) workload: WorkloadArg,
    /// Transactions to send.
    #[arg(short = 'n', long, default_value_t = 2000)]
    pub(crate) transactions: usize,
    /// Transactions in flight at most.
    #[arg(short, long, default_value_t = 64)]
    pub(crate) concurrency: usize,
    /// Target send rate in tx/s (default: as fast as --concurrency allows).
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Keys for transfer and read workloads.
    #[arg(long, default_value_t = 100)]
    pub(crate) keys: usize,
    /// Chaincode name of asset-transfer-basic.
    #[arg(long, default_value = "basic")]
    pub(crate) chaincode: String,
    /// Report file (JSON); the plot goes next to it as .svg.
    #[arg(short, long, default_value = "bench.json")]
    pub(crate) output: PathBuf,
}

/// Load-test the network with asset-transfer-basic and report TPS and latency.
pub(crate) async fn run(dir: PathBuf, args: BenchArgs) -> Result<(), NetworkError> {
    let BenchArgs {
        workload,
        transactions,
        concurrency,
        rate,
        keys,
        chaincode,
        output,
    } = args;
    let info = NetworkInfo::load(&dir)?;
    let workload = match workload {
        WorkloadArg::Create => Workload::Create,
        WorkloadArg::Transfer => Workload::Transfer { keys },
        WorkloadArg::Read => Workload::Read { keys },
    };
    let opts = BenchOptions {
        workload,
        transactions,
        concurrency,
        rate,
        chaincode,
    };
    say(&format!(
        "{}: {transactions} transactions, concurrency {concurrency}{}",
        workload.name(),
        rate.map_or(String::new(), |r| format!(", {r} tx/s"))
    ));
    let started = std::time::Instant::now();
    let last = std::sync::Mutex::new(std::time::Instant::now() - std::time::Duration::from_secs(1));
    let report = bench::run(&info, &opts, move |done, total| {
        let mut last = last.lock().expect("progress lock");
        if done == total || last.elapsed() > std::time::Duration::from_millis(200) {
            *last = std::time::Instant::now();
            let width = 40;
            let filled = width * done / total.max(1);
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
            eprint!(
                "\r[{}{}] {done}/{total}  {rate:.0} tx/s ",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            let _ = std::io::stderr().flush();
        }
    })
    .await?;
    eprintln!();
    println!("{}", report.summary());
    let svg = bench::write_report(&report, &output)?;
    say(&format!("wrote {} and {}", output.display(), svg.display()));
    Ok(())
}
