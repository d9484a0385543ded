//! Fabric's asset-transfer-sbe, as weft chaincode: every asset's key carries
//! a key-level endorsement policy naming its owner's organisation, so that
//! only that org's peers can endorse changes to it, whatever the chaincode's
//! own policy says. `CreateAsset`, `ReadAsset`, `UpdateAsset`, `DeleteAsset`
//! and `TransferAsset`, with the sample's asset JSON.

use serde::{Deserialize, Serialize};
use weft_chaincode_sdk::statebased::{KeyEndorsementPolicy, RoleType};
use weft_chaincode_sdk::{Context, ContractError, contract};

/// An asset, serialised like Fabric's sample (`ID`, `Value`, `Owner`, `OwnerOrg`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Key.
    #[serde(rename = "ID")]
    pub id: String,
    /// Value.
    #[serde(rename = "Value")]
    pub value: i64,
    /// Owner's name.
    #[serde(rename = "Owner")]
    pub owner: String,
    /// The MSP id of the owner's organisation, whose peers must endorse changes.
    #[serde(rename = "OwnerOrg")]
    pub owner_org: String,
}

/// The contract.
#[derive(Default)]
pub struct AssetContract;

impl AssetContract {
    fn read(&self, ctx: &mut Context, id: &str) -> Result<Asset, ContractError> {
        ctx.get_json(id)?
            .ok_or_else(|| ContractError::new(format!("the asset {id} does not exist")))
    }

    /// Makes a peer of `org` the only endorser `id` accepts from the next
    /// transaction on.
    fn set_endorsement(&self, ctx: &mut Context, id: &str, org: &str) -> Result<(), ContractError> {
        let mut policy = KeyEndorsementPolicy::new();
        policy.add_orgs(RoleType::Peer, [org]);
        ctx.set_state_validation_parameter(id, &policy.policy())?;
        Ok(())
    }
}

#[contract("AssetContract")]
impl AssetContract {
    /// Creates an asset owned by `owner` of the caller's organisation; from
    /// then on only that org's peers can endorse changes to it.
    #[transaction]
    pub fn create_asset(
        &self,
        ctx: &mut Context,
        id: String,
        value: i64,
        owner: String,
    ) -> Result<(), ContractError> {
        if ctx.get_state(&id)?.is_some() {
            return Err(ContractError::new(format!("the asset {id} already exists")));
        }
        let owner_org = ctx.client_identity()?.msp_id;
        let asset = Asset {
            id: id.clone(),
            value,
            owner,
            owner_org: owner_org.clone(),
        };
        ctx.put_json(&id, &asset)?;
        self.set_endorsement(ctx, &id, &owner_org)
    }

    /// The asset.
    #[transaction(evaluate)]
    pub fn read_asset(&self, ctx: &mut Context, id: String) -> Result<Asset, ContractError> {
        self.read(ctx, &id)
    }

    /// Sets the asset's value (endorsed by its owner org's peers).
    #[transaction]
    pub fn update_asset(
        &self,
        ctx: &mut Context,
        id: String,
        new_value: i64,
    ) -> Result<(), ContractError> {
        let mut asset = self.read(ctx, &id)?;
        asset.value = new_value;
        ctx.put_json(&id, &asset)?;
        Ok(())
    }

    /// Deletes the asset (endorsed by its owner org's peers).
    #[transaction]
    pub fn delete_asset(&self, ctx: &mut Context, id: String) -> Result<(), ContractError> {
        self.read(ctx, &id)?;
        ctx.del_state(&id)?;
        Ok(())
    }

    /// Gives the asset to `new_owner` of `new_owner_org` (endorsed by the
    /// current owner org's peers); from then on the new org endorses it.
    #[transaction]
    pub fn transfer_asset(
        &self,
        ctx: &mut Context,
        id: String,
        new_owner: String,
        new_owner_org: String,
    ) -> Result<(), ContractError> {
        let mut asset = self.read(ctx, &id)?;
        asset.owner = new_owner;
        asset.owner_org = new_owner_org.clone();
        ctx.put_json(&id, &asset)?;
        self.set_endorsement(ctx, &id, &new_owner_org)
    }
}

weft_chaincode_sdk::register!(AssetContract);

#[cfg(test)]
mod tests {
    use weft_chaincode_sdk::mock::MockStub;

    use super::*;

    fn endorsing_orgs(stub: &MockStub, id: &str) -> Vec<String> {
        let policy = stub
            .validation_parameters
            .get(id)
            .expect("a key-level policy");
        KeyEndorsementPolicy::from_policy(policy)
            .unwrap()
            .list_orgs()
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn each_asset_answers_to_its_owner_org() {
        let r = router();
        let mut stub = MockStub::new();
        stub.set_client("Org1MSP", "User1@org1.example.com");
        assert_eq!(
            stub.invoke(&r, &["CreateAsset", "asset1", "100", "Tom"])
                .status,
            200
        );
        assert_eq!(
            stub.get_str("asset1").unwrap(),
            r#"{"ID":"asset1","Value":100,"Owner":"Tom","OwnerOrg":"Org1MSP"}"#
        );
        assert_eq!(endorsing_orgs(&stub, "asset1"), ["Org1MSP"]);
        assert_eq!(
            stub.invoke(&r, &["UpdateAsset", "asset1", "200"]).status,
            200
        );
        assert_eq!(
            stub.invoke(&r, &["TransferAsset", "asset1", "Jin", "Org2MSP"])
                .status,
            200
        );
        assert_eq!(endorsing_orgs(&stub, "asset1"), ["Org2MSP"]);
        let asset: Asset =
            serde_json::from_slice(&stub.invoke(&r, &["ReadAsset", "asset1"]).payload).unwrap();
        assert_eq!((asset.value, asset.owner.as_str()), (200, "Jin"));
        assert_eq!(stub.invoke(&r, &["DeleteAsset", "asset1"]).status, 200);
        assert!(!stub.validation_parameters.contains_key("asset1"));
        let again = stub.invoke(&r, &["CreateAsset", "asset1", "1", "Tom"]);
        assert_eq!(again.status, 200);
        let dup = stub.invoke(&r, &["CreateAsset", "asset1", "1", "Tom"]);
        assert_eq!(dup.status, 500);
        assert!(dup.message.contains("already exists"), "{}", dup.message);
    }
}
