//! The `asset` contract that produced blocks 3–6 of the Fabric chain in
//! `shared/fixtures/fabric-3.0-chain`: `CreateAsset(id, value)` reads the key
//! (it must not exist) and writes `{"ID":id,"Value":value}`; `ReadAsset(id)`
//! returns it. The conformance test endorses the same calls on weft and
//! compares the chaincode actions with Fabric's.

use serde::{Deserialize, Serialize};
use weft_chaincode_sdk::{Context, ContractError, contract};

/// An asset, serialised as the Fabric contract does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Key.
    #[serde(rename = "ID")]
    pub id: String,
    /// Payload.
    #[serde(rename = "Value")]
    pub value: String,
}

/// The contract.
#[derive(Default)]
pub struct AssetContract;

#[contract("AssetContract")]
impl AssetContract {
    /// Creates an asset that does not exist yet.
    #[transaction]
    pub fn create_asset(
        &self,
        ctx: &mut Context,
        id: String,
        value: String,
    ) -> Result<(), ContractError> {
        if ctx.get_state(&id)?.is_some() {
            return Err(ContractError::new(format!("the asset {id} already exists")));
        }
        ctx.put_json(
            &id,
            &Asset {
                id: id.clone(),
                value,
            },
        )?;
        Ok(())
    }

    /// An asset.
    #[transaction(evaluate)]
    pub fn read_asset(&self, ctx: &mut Context, id: String) -> Result<Asset, ContractError> {
        ctx.get_json(&id)?
            .ok_or_else(|| ContractError::new(format!("the asset {id} does not exist")))
    }
}

weft_chaincode_sdk::register!(AssetContract);
