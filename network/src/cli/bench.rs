//! `weft-network bench`: a load test with asset-transfer-basic.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::say;
use crate::bench::{self, BenchClient, BenchOptions, NodeSigner, Workload};
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

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ClientArg {
    /// weft's Rust client SDK (in this process).
    Rust,
    /// Fabric's own Node.js Gateway client, @hyperledger/fabric-gateway
    /// (needs Node.js and the npm packages `scripts/setup.sh` installs).
    FabricNode,
}

/// Load-test the network with asset-transfer-basic and report TPS and latency.
///
/// Example: `weft-network bench -n 5000 -c 256`, or with Fabric's Node.js
/// client: `weft-network bench -n 5000 -c 256 --client fabric-node`.
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
    /// Which client sends the transactions.
    #[arg(long, value_enum, default_value = "rust")]
    pub(crate) client: ClientArg,
    /// Where `bench.mjs` and its node_modules are, for `--client fabric-node`.
    #[arg(long, env = "WEFT_FABRIC_NODE_BENCH", default_value_os_t = bench::node::default_dir())]
    pub(crate) node_dir: PathBuf,
    /// How the Node.js client signs, for `--client fabric-node`.
    #[arg(long, value_enum, default_value = "openssl")]
    pub(crate) node_signer: NodeSigner,
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
        client,
        node_dir,
        node_signer,
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
        client: match client {
            ClientArg::Rust => BenchClient::Rust,
            ClientArg::FabricNode => BenchClient::FabricNode {
                dir: node_dir,
                signer: node_signer,
            },
        },
    };
    say(&format!(
        "{}: {transactions} transactions, concurrency {concurrency}{}, {} client",
        workload.name(),
        rate.map_or(String::new(), |r| format!(", {r} tx/s")),
        match client {
            ClientArg::Rust => "Rust",
            ClientArg::FabricNode => "Fabric Node.js",
        }
    ));
    let bar = indicatif::ProgressBar::new(transactions as u64).with_style(
        indicatif::ProgressStyle::with_template("[{bar:40}] {pos}/{len}  {per_sec} ")
            .expect("a valid template")
            .progress_chars("#> "),
    );
    let shown = bar.clone();
    let report = bench::run(&info, &opts, move |done, total| {
        shown.set_length(total as u64);
        shown.set_position(done as u64);
    })
    .await?;
    bar.finish();
    println!("{}", report.summary());
    let svg = bench::write_report(&report, &output)?;
    say(&format!("wrote {} and {}", output.display(), svg.display()));
    Ok(())
}
