//! A chaincode (or one named contract in it) on a channel: the everyday calls.

use crate::{ClientError, Commit, Network, ProposalRequest};

/// A chaincode on a channel, called through the network's gateway.
#[derive(Debug, Clone)]
pub struct Contract {
    pub(crate) network: Network,
    pub(crate) chaincode: String,
    pub(crate) contract_name: Option<String>,
}

impl Contract {
    pub(crate) fn new(network: Network, chaincode: &str, contract_name: Option<String>) -> Self {
        Self {
            network,
            chaincode: chaincode.to_string(),
            contract_name,
        }
    }

    /// The chaincode's name.
    pub fn chaincode(&self) -> &str {
        &self.chaincode
    }

    /// The network this contract is on.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Starts the staged flow for `function`: add arguments, transient data
    /// or endorsing organisations, then build, endorse, submit.
    pub fn new_proposal(&self, function: &str) -> ProposalRequest {
        ProposalRequest::new(self.clone(), function)
    }

    /// Runs `function` on one peer without ordering it and returns its result.
    pub async fn evaluate_transaction<I>(
        &self,
        function: &str,
        args: I,
    ) -> Result<Vec<u8>, ClientError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.new_proposal(function)
            .arguments(args)
            .build()?
            .evaluate()
            .await
    }

    /// Endorses and submits `function`, waits for the commit and returns the
    /// result; a transaction committed as invalid is [`ClientError::Commit`].
    pub async fn submit_transaction<I>(
        &self,
        function: &str,
        args: I,
    ) -> Result<Vec<u8>, ClientError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let commit = self.submit_async(function, args).await?;
        commit.status().await?.into_result()?;
        Ok(commit.result().to_vec())
    }

    /// Endorses and submits `function`; returns once the orderer accepted it,
    /// with the result and a [`Commit`] to wait on.
    pub async fn submit_async<I>(&self, function: &str, args: I) -> Result<Commit, ClientError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.new_proposal(function)
            .arguments(args)
            .build()?
            .endorse()
            .await?
            .submit()
            .await
    }
}
