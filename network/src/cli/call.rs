//! `weft-network invoke|query`: one transaction as an org's User1.

use std::path::{Path, PathBuf};

use clap::Args;
use weft_client_sdk::{Contract, Proposal};

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
    /// Transient data for the chaincode, kept out of the transaction, as
    /// `KEY=VALUE` (the value as text, e.g. JSON); repeatable.
    #[arg(long = "transient", value_name = "KEY=VALUE", value_parser = transient_entry)]
    pub(crate) transient: Vec<(String, String)>,
    /// Function and arguments.
    #[arg(required = true, num_args = 1..)]
    pub(crate) call: Vec<String>,
}

/// One `--transient KEY=VALUE`.
fn transient_entry(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected KEY=VALUE")),
    }
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

    /// The proposal: the function, its arguments and the transient data.
    async fn proposal(&self, dir: &Path) -> Result<Proposal, NetworkError> {
        let contract = self.contract(dir).await?;
        let mut request = contract
            .new_proposal(&self.call[0])
            .arguments(&self.call[1..]);
        for (k, v) in &self.transient {
            request = request.transient(k, v);
        }
        Ok(request.build()?)
    }
}

/// Submit a transaction as an org's User1 and print its result.
pub(crate) async fn invoke(dir: PathBuf, args: CallArgs) -> Result<(), NetworkError> {
    let commit = args.proposal(&dir).await?.endorse().await?.submit().await?;
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
    let result = args.proposal(&dir).await?.evaluate().await?;
    println!("{}", String::from_utf8_lossy(&result));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::transient_entry;

    #[test]
    fn transient_entries_split_at_the_first_equals_sign() {
        assert_eq!(
            transient_entry(r#"asset_properties={"a":"b=c"}"#).unwrap(),
            ("asset_properties".to_string(), r#"{"a":"b=c"}"#.to_string())
        );
        assert_eq!(transient_entry("k=").unwrap(), ("k".into(), String::new()));
        for bad in ["no-equals", "=value"] {
            assert!(transient_entry(bad).unwrap_err().contains("KEY=VALUE"));
        }
    }
}
