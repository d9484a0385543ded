//! `weft-network invoke|query`: one transaction as an org's User1.

use std::path::{Path, PathBuf};

use clap::Args;
use weft_client_sdk::Contract;

use super::say;
use crate::{NetworkError, NetworkInfo};

/// What to call, and as whom.
#[derive(Args)]
pub(crate) struct CallArgs {
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

impl CallArgs {
    /// The chaincode on the network's channel, through `org`'s gateway peer.
    async fn contract(&self, dir: &Path) -> Result<Contract, NetworkError> {
        let info = NetworkInfo::load(dir)?;
        Ok(info
            .gateway(&self.org)
            .await?
            .network(&info.channel)
            .contract(&self.chaincode))
    }

    /// The function and its arguments.
    fn function(&self) -> (&str, &[String]) {
        (self.call[0].as_str(), &self.call[1..])
    }
}

/// Submit a transaction as an org's User1 and print its result.
pub(crate) async fn invoke(dir: PathBuf, args: CallArgs) -> Result<(), NetworkError> {
    let contract = args.contract(&dir).await?;
    let (f, call) = args.function();
    let commit = contract.submit_async(f, call).await?;
    let status = commit.status().await?.into_result()?;
    say(&format!(
        "{} committed VALID in block {}",
        status.tx_id, status.block_number
    ));
    println!("{}", String::from_utf8_lossy(commit.result()));
    Ok(())
}

/// Evaluate a transaction (a query) as an org's User1 and print its result.
pub(crate) async fn query(dir: PathBuf, args: CallArgs) -> Result<(), NetworkError> {
    let contract = args.contract(&dir).await?;
    let (f, call) = args.function();
    println!(
        "{}",
        String::from_utf8_lossy(&contract.evaluate_transaction(f, call).await?)
    );
    Ok(())
}
