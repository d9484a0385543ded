//! `bulk-payroll`: pays N employees with the ERC-20 sample, exactly once.

use std::path::PathBuf;

use clap::Parser;
use weft_network::NetworkInfo;

#[derive(Parser)]
#[command(
    about = "Pay a payroll with the ERC-20 sample (token-erc20), exactly once, resumable after a crash.",
    long_about = "Pay a payroll with the ERC-20 sample (token-erc20), exactly once, resumable after a crash.\n\nDeploy the token first: `weft-network deploy token-erc20 --name token`. The payer is Org1's User1 (Org1 is the token's minter); missing funds are minted. Kill it at any point and run the same command again: it resumes from its journal, and nobody is paid twice."
)]
struct Args {
    /// Employees to pay.
    #[arg(long, default_value_t = 1000)]
    employees: usize,
    /// Tokens per employee.
    #[arg(long, default_value_t = 100)]
    amount: u64,
    /// The payroll's name: the same name resumes, a new one pays again.
    #[arg(long, default_value = "payroll-1")]
    run: String,
    /// Journal file.
    #[arg(long, default_value = "payroll.journal")]
    journal: PathBuf,
    /// The weft-network directory to connect with.
    #[arg(long, default_value = ".weft-network", env = "WEFT_NETWORK_DIR")]
    network_dir: PathBuf,
    /// The token chaincode's name.
    #[arg(long, default_value = "token")]
    chaincode: String,
}

fn fail(message: String) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    let info = NetworkInfo::load(&args.network_dir)
        .unwrap_or_else(|e| fail(format!("{e} (start a network with `weft-network up`)")));
    // The payer: Org1's User1 (Org1 is the token's minter).
    let gateway = info
        .gateway(&info.orgs[0].msp_id)
        .await
        .unwrap_or_else(|e| fail(e.to_string()));
    let contract = gateway.network(&info.channel).contract(&args.chaincode);
    let needed = args.employees as u64 * args.amount;
    bulk_payroll::fund(&contract, needed)
        .await
        .unwrap_or_else(|e| fail(format!("funding the payer: {e}")));
    let bar = indicatif::ProgressBar::new(args.employees as u64).with_style(
        indicatif::ProgressStyle::with_template("[{bar:40}] {pos}/{len}  {msg} ")
            .expect("a valid template")
            .progress_chars("#> "),
    );
    let shown = bar.clone();
    let report = bulk_payroll::pay(
        &contract,
        &args.run,
        args.employees,
        args.amount,
        &args.journal,
        move |p| {
            shown.set_length(p.total as u64);
            shown.set_position((p.committed + p.failed) as u64);
            shown.set_message(format!(
                "conflicts {}  resubmitted {}  window {}",
                p.conflicts, p.resubmitted, p.window
            ));
        },
    )
    .await
    .unwrap_or_else(|e| fail(e.to_string()));
    bar.finish();
    let p = &report.progress;
    println!(
        "paid {} of {} employees ({} already paid by an earlier run) in {:.1} s; {} failed, {} left in flight",
        p.committed,
        p.total,
        p.already_done,
        report.elapsed.as_secs_f64(),
        report.failures.len(),
        report.unresolved.len()
    );
    for (id, why) in &report.failures {
        println!("  failed {id}: {why}");
    }
    if !report.failures.is_empty() || !report.unresolved.is_empty() {
        std::process::exit(2);
    }
}
