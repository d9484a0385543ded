//! A payroll on an in-process network: everyone paid once, a second run pays nobody again.

use std::path::PathBuf;

use weft_network::InProcessNetwork;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_is_paid_exactly_once_even_when_the_payroll_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
    let net = InProcessNetwork::with_sample(dir.path(), "50ms", "token-erc20", "token", &build)
        .await
        .unwrap();
    let contract = net
        .info()
        .gateway("Org1MSP")
        .await
        .unwrap()
        .network("mychannel")
        .contract("token");
    let (employees, amount) = (25, 100);
    bulk_payroll::fund(&contract, employees as u64 * amount)
        .await
        .unwrap();
    let journal = dir.path().join("payroll.journal");

    let report = bulk_payroll::pay(&contract, "2026-11", employees, amount, &journal, |_| {})
        .await
        .unwrap();
    assert_eq!(
        report.progress.committed, employees,
        "{:?}",
        report.failures
    );
    assert!(
        report.progress.conflicts > 0,
        "transfers from one account conflict and are retried"
    );

    let again = bulk_payroll::pay(&contract, "2026-11", employees, amount, &journal, |_| {})
        .await
        .unwrap();
    assert_eq!(
        again.progress.already_done, employees,
        "the journal says everyone is paid"
    );

    for n in 0..employees {
        let balance = contract
            .evaluate_transaction("BalanceOf", [bulk_payroll::employee_account(n)])
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&balance),
            amount.to_string(),
            "employee {n}"
        );
    }
    let payer = contract
        .evaluate_transaction("ClientAccountBalance", [""; 0])
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&payer), "0");
    net.shutdown().await;
}
