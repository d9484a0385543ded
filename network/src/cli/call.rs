//! `weft-network invoke|query`: one transaction as an org's User1.

use std::path::PathBuf;

use clap::Args;

use super::say;
use crate::{NetworkError, NetworkInfo};

/// Submit a transaction as an org's User1 and print its result.
#[derive(Args)]
pub(crate) struct InvokeArgs {
    /// Chaincode.
    #[arg(short = 'n', long, default_value = "basic")]
    pub(crate) chaincode: String,
    /// Organisation whose user and gateway peer to use.
    #[arg(long, default_value = "Org1")]
    pub(crate) org: String,
    /// Function and arguments.
    #[arg(required = true, num_args = 1..)]
    pub(crate) call: Vec<String>,
}

/// Evaluate a transaction (a query) as an org's User1 and print its result.
#[derive(Args)]
pub(crate) struct QueryArgs {
    /// Chaincode.
    #[arg(short = 'n', long, default_value = "basic")]
    pub(crate) chaincode: String,
    /// Organisation whose user and gateway peer to use.
    #[arg(long, default_value = "Org1")]
    pub(crate) org: String,
    /// Function and arguments.
    #[arg(required = true, num_args = 1..)]
    pub(crate) call: Vec<String>,
}

fn contract_call(call: &[String]) -> (&str, &[String]) {
    (call[0].as_str(), &call[1..])
}

/// Submit a transaction as an org's User1 and print its result.
pub(crate) async fn invoke(dir: PathBuf, args: InvokeArgs) -> Result<(), NetworkError> {
    let InvokeArgs {
        chaincode,
        org,
        call,
    } = args;
    let info = NetworkInfo::load(&dir)?;
    let contract = info
        .gateway(&org)
        .await?
        .network(&info.channel)
        .contract(&chaincode);
    let (f, args) = contract_call(&call);
    let commit = contract.submit_async(f, args).await?;
    let status = commit.status().await?.into_result()?;
    say(&format!(
        "{} committed VALID in block {}",
        status.tx_id, status.block_number
    ));
    println!("{}", String::from_utf8_lossy(commit.result()));
    Ok(())
}

/// Evaluate a transaction (a query) as an org's User1 and print its result.
pub(crate) async fn query(dir: PathBuf, args: QueryArgs) -> Result<(), NetworkError> {
    let QueryArgs {
        chaincode,
        org,
        call,
    } = args;
    let info = NetworkInfo::load(&dir)?;
    let contract = info
        .gateway(&org)
        .await?
        .network(&info.channel)
        .contract(&chaincode);
    let (f, args) = contract_call(&call);
    println!(
        "{}",
        String::from_utf8_lossy(&contract.evaluate_transaction(f, args).await?)
    );
    Ok(())
}
