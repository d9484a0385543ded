//! The service registry chaincode, called through the client SDK.

use service_registry::{Claim, Header, NewLocation, RecoveryInfo, Service};
use weft_client_sdk::{Contract, Gateway};

use crate::RecoveryError;

/// The registry as one identity sees it.
#[derive(Clone)]
pub struct Registry {
    gateway: Gateway,
    channel: String,
    chaincode: String,
}

impl Registry {
    /// The registry deployed as `chaincode` on `channel`, through `gateway`.
    pub fn new(gateway: Gateway, channel: &str, chaincode: &str) -> Self {
        Self {
            gateway,
            channel: channel.to_string(),
            chaincode: chaincode.to_string(),
        }
    }

    fn contract(&self) -> Contract {
        self.gateway
            .network(&self.channel)
            .contract(&self.chaincode)
    }

    /// The gateway, to open event streams.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The channel.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The chaincode's name.
    pub fn chaincode(&self) -> &str {
        &self.chaincode
    }

    /// Registers `name` at `location`; the caller becomes its manager.
    pub async fn register(
        &self,
        name: &str,
        location: &str,
        body: &RecoveryInfo,
    ) -> Result<Service, RecoveryError> {
        let body = serde_json::to_string(body)?;
        let out = self
            .contract()
            .submit_transaction("RegisterService", [name, location, body.as_str()])
            .await?;
        Ok(serde_json::from_slice(&out)?)
    }

    /// Where `name` runs and its state.
    pub async fn service(&self, name: &str) -> Result<Header, RecoveryError> {
        let out = self
            .contract()
            .evaluate_transaction("GetService", [name])
            .await?;
        Ok(serde_json::from_slice(&out)?)
    }

    /// `name`'s recovery body (its manager only).
    pub async fn recovery_info(&self, name: &str) -> Result<RecoveryInfo, RecoveryError> {
        let out = self
            .contract()
            .evaluate_transaction("GetRecoveryInfo", [name])
            .await?;
        Ok(serde_json::from_slice(&out)?)
    }

    /// Sets `name`'s state (its manager only).
    pub async fn set_state(&self, name: &str, state: &str) -> Result<(), RecoveryError> {
        self.contract()
            .submit_transaction("SetState", [name, state])
            .await?;
        Ok(())
    }

    /// Records where `name` runs now (its manager only); settles open claims.
    pub async fn update_location(
        &self,
        name: &str,
        location: &str,
    ) -> Result<NewLocation, RecoveryError> {
        let out = self
            .contract()
            .submit_transaction("UpdateLocation", [name, location])
            .await?;
        Ok(serde_json::from_slice(&out)?)
    }

    /// Files a claim that `name` fails, and the block it committed in.
    pub async fn send_claim(
        &self,
        name: &str,
        reason: &str,
    ) -> Result<(Claim, u64), RecoveryError> {
        let submitted = self
            .contract()
            .submit_async("SendClaim", [name, reason])
            .await?;
        let claim: Claim = serde_json::from_slice(submitted.result())?;
        let status = submitted.status().await?.into_result()?;
        Ok((claim, status.block_number))
    }
}
