//! A payroll on the ERC-20 sample (`token-erc20`): the company's account
//! (Org1's minter) pays every employee's account through the client SDK's
//! bulk pipeline — bounded concurrency, MVCC retries, a journal so that a
//! crashed run resumes without paying anyone twice.
//!
//! Every transfer debits the same payer balance, so transfers in one block
//! conflict: the pipeline's window shrinks towards one in flight and the
//! payroll runs at about one transfer per block. That is the ERC-20 account
//! model, not the pipeline; payrolls from several payer accounts go in parallel.

use std::path::Path;

use weft_client_sdk::bulk::{BulkOptions, BulkReport, BulkRequest, Progress, submit_all};
use weft_client_sdk::{ClientError, Contract};

/// The account id of employee `n` (the recipient string the chaincode credits).
pub fn employee_account(n: usize) -> String {
    format!("employee-{n:05}")
}

/// The transfers of one payroll run: `employees` employees, `amount` each.
/// `run` names the payroll (e.g. `2026-11`): the same run resumes, a new one pays again.
pub fn payroll(run: &str, employees: usize, amount: u64) -> Vec<BulkRequest> {
    (0..employees)
        .map(|n| BulkRequest {
            id: format!("{run}/{}", employee_account(n)),
            function: "Transfer".into(),
            args: vec![employee_account(n), amount.to_string()],
        })
        .collect()
}

/// Makes sure the token is initialised and the payer (the caller, of the
/// minter org) holds at least `needed` tokens, minting the difference.
pub async fn fund(contract: &Contract, needed: u64) -> Result<u64, ClientError> {
    if let Err(e) = contract
        .submit_transaction("Initialize", ["WeftPay", "WPY", "2"])
        .await
        && !e.to_string().contains("already initialized")
    {
        return Err(e);
    }
    let balance: u64 = match contract
        .evaluate_transaction("ClientAccountBalance", [""; 0])
        .await
    {
        Ok(b) => String::from_utf8_lossy(&b).trim().parse().unwrap_or(0),
        // A payer that never held tokens has no account yet.
        Err(e) if e.to_string().contains("does not exist") => 0,
        Err(e) => return Err(e),
    };
    if balance < needed {
        contract
            .submit_transaction("Mint", [(needed - balance).to_string()])
            .await?;
    }
    Ok(needed.max(balance))
}

/// Pays the payroll, journaling to `journal`.
pub async fn pay(
    contract: &Contract,
    run: &str,
    employees: usize,
    amount: u64,
    journal: &Path,
    progress: impl Fn(&Progress) + Send + Sync + 'static,
) -> Result<BulkReport, ClientError> {
    let options = BulkOptions {
        initial_in_flight: 4,
        max_in_flight: 64,
        ..Default::default()
    };
    submit_all(
        contract,
        payroll(run, employees, amount),
        journal,
        options,
        progress,
    )
    .await
}
