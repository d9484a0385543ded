//! Fabric's asset-transfer-private-data, as weft chaincode. Assets live in
//! `assetCollection` (Org1 and Org2); each org keeps its appraisal of an
//! asset in its own `<MSPID>PrivateCollection`. Every input arrives as
//! transient data, so no private value is in the transaction:
//!
//! - `CreateAsset` (`asset_properties`: objectType, assetID, color, size,
//!   appraisedValue);
//! - `AgreeToTransfer` (`asset_value`: assetID, appraisedValue) — the buyer
//!   records its appraisal and the agreement;
//! - `TransferAsset` (`asset_owner`: assetID, buyerMSP) — the owner hands the
//!   asset over when both appraisals hash the same;
//! - `DeleteAsset` (`asset_delete`: assetID);
//! - `PurgeAsset` (`asset_purge`: assetID) — Fabric 2.5's purge: every past
//!   version goes too;
//! - `ReadAsset`, `ReadAssetPrivateDetails`, `ReadTransferAgreement`,
//!   `GetAssetByRange`, and `QueryAssetByOwner` (a rich query on the
//!   collection, as Fabric's sample runs on CouchDB).

use serde::{Deserialize, Serialize};
use weft_chaincode_sdk::{Context, ContractError, contract};

/// The shared collection.
pub const ASSET_COLLECTION: &str = "assetCollection";
/// Composite key object type of transfer agreements.
const TRANSFER_AGREEMENT: &str = "transferAgreement";

/// An asset as the sample stores it in `assetCollection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Always "asset".
    #[serde(rename = "objectType")]
    pub object_type: String,
    /// Key.
    #[serde(rename = "assetID")]
    pub id: String,
    /// Colour.
    pub color: String,
    /// Size.
    pub size: i64,
    /// The owning client's id.
    pub owner: String,
}

/// An org's appraisal, kept in its own collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetPrivateDetails {
    /// Key.
    #[serde(rename = "assetID")]
    pub id: String,
    /// The appraised value.
    #[serde(rename = "appraisedValue")]
    pub appraised_value: i64,
}

/// A buyer's agreement to take an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferAgreement {
    /// Key.
    #[serde(rename = "assetID")]
    pub id: String,
    /// The buying client's id.
    #[serde(rename = "buyerID")]
    pub buyer_id: String,
}

#[derive(Deserialize)]
struct AssetInput {
    #[serde(rename = "objectType")]
    object_type: String,
    #[serde(rename = "assetID")]
    id: String,
    color: String,
    size: i64,
    #[serde(rename = "appraisedValue")]
    appraised_value: i64,
}

#[derive(Deserialize)]
struct OwnerInput {
    #[serde(rename = "assetID")]
    id: String,
    #[serde(rename = "buyerMSP")]
    buyer_msp: String,
}

#[derive(Deserialize)]
struct IdInput {
    #[serde(rename = "assetID")]
    id: String,
}

/// An org's own collection.
pub fn org_collection(msp_id: &str) -> String {
    format!("{msp_id}PrivateCollection")
}

fn fail(text: impl Into<String>) -> ContractError {
    ContractError::new(text)
}

fn transient<T: serde::de::DeserializeOwned>(
    ctx: &mut Context,
    key: &str,
) -> Result<T, ContractError> {
    let bytes = ctx
        .get_transient(key)?
        .ok_or_else(|| fail(format!("{key} key not found in the transient map input")))?;
    serde_json::from_slice(&bytes).map_err(|e| fail(format!("failed to unmarshal JSON: {e}")))
}

fn private_json<T: serde::de::DeserializeOwned>(
    ctx: &mut Context,
    collection: &str,
    key: &str,
) -> Result<Option<T>, ContractError> {
    match ctx.get_private_data(collection, key)? {
        None => Ok(None),
        Some(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| fail(format!("failed to unmarshal JSON: {e}"))),
    }
}

fn put_private_json<T: Serialize>(
    ctx: &mut Context,
    collection: &str,
    key: &str,
    value: &T,
) -> Result<(), ContractError> {
    let bytes = serde_json::to_vec(value).map_err(|e| fail(e.to_string()))?;
    ctx.put_private_data(collection, key, &bytes)?;
    Ok(())
}

/// The contract.
#[derive(Default)]
pub struct AssetContract;

impl AssetContract {
    fn asset(&self, ctx: &mut Context, id: &str) -> Result<Asset, ContractError> {
        private_json(ctx, ASSET_COLLECTION, id)?.ok_or_else(|| fail(format!("{id} does not exist")))
    }

    fn agreement_key(&self, ctx: &Context, id: &str) -> Result<String, ContractError> {
        ctx.create_composite_key(TRANSFER_AGREEMENT, &[id])
    }
}

#[contract("AssetContract")]
impl AssetContract {
    /// Creates an asset in `assetCollection`, owned by the caller, and
    /// keeps the caller org's appraisal in its own collection.
    #[transaction]
    pub fn create_asset(&self, ctx: &mut Context) -> Result<(), ContractError> {
        let input: AssetInput = transient(ctx, "asset_properties")?;
        if input.object_type.is_empty() || input.id.is_empty() || input.color.is_empty() {
            return Err(fail("objectType, assetID and color must be non-empty"));
        }
        if input.size <= 0 || input.appraised_value <= 0 {
            return Err(fail("size and appraisedValue must be positive"));
        }
        if ctx.get_private_data(ASSET_COLLECTION, &input.id)?.is_some() {
            return Err(fail(format!("this asset already exists: {}", input.id)));
        }
        let client = ctx.client_identity()?;
        let asset = Asset {
            object_type: input.object_type,
            id: input.id.clone(),
            color: input.color,
            size: input.size,
            owner: client.id,
        };
        put_private_json(ctx, ASSET_COLLECTION, &input.id, &asset)?;
        let details = AssetPrivateDetails {
            id: input.id.clone(),
            appraised_value: input.appraised_value,
        };
        put_private_json(ctx, &org_collection(&client.msp_id), &input.id, &details)
    }

    /// The buyer records its appraisal (in its org's collection) and its
    /// agreement to take the asset.
    #[transaction]
    pub fn agree_to_transfer(&self, ctx: &mut Context) -> Result<(), ContractError> {
        let input: AssetPrivateDetails = transient(ctx, "asset_value")?;
        if input.id.is_empty() || input.appraised_value <= 0 {
            return Err(fail(
                "assetID must be non-empty and appraisedValue positive",
            ));
        }
        self.asset(ctx, &input.id)?;
        let client = ctx.client_identity()?;
        put_private_json(ctx, &org_collection(&client.msp_id), &input.id, &input)?;
        let key = self.agreement_key(ctx, &input.id)?;
        ctx.put_private_data(ASSET_COLLECTION, &key, client.id.as_bytes())?;
        Ok(())
    }

    /// The owner transfers the asset to the client that agreed, when the
    /// owner's and the buyer's appraisals hash the same.
    #[transaction]
    pub fn transfer_asset(&self, ctx: &mut Context) -> Result<(), ContractError> {
        let input: OwnerInput = transient(ctx, "asset_owner")?;
        let mut asset = self.asset(ctx, &input.id)?;
        let client = ctx.client_identity()?;
        if asset.owner != client.id {
            return Err(fail(format!(
                "submitting client identity does not own asset {}",
                input.id
            )));
        }
        let owner_collection = org_collection(&client.msp_id);
        let owner_hash = ctx
            .get_private_data_hash(&owner_collection, &input.id)?
            .ok_or_else(|| fail(format!("hash of appraised value for {} does not exist in collection {owner_collection}", input.id)))?;
        let buyer_collection = org_collection(&input.buyer_msp);
        let buyer_hash = ctx
            .get_private_data_hash(&buyer_collection, &input.id)?
            .ok_or_else(|| fail(format!("hash of appraised value for {} does not exist in collection {buyer_collection}: the buyer has not agreed", input.id)))?;
        if owner_hash != buyer_hash {
            return Err(fail(format!(
                "hash for appraised value for owner {} does not match the buyer's",
                client.msp_id
            )));
        }
        let key = self.agreement_key(ctx, &input.id)?;
        let buyer = ctx
            .get_private_data(ASSET_COLLECTION, &key)?
            .ok_or_else(|| fail(format!("buyer not found for asset {}", input.id)))?;
        asset.owner = String::from_utf8_lossy(&buyer).into_owned();
        put_private_json(ctx, ASSET_COLLECTION, &input.id, &asset)?;
        ctx.del_private_data(&owner_collection, &input.id)?;
        ctx.del_private_data(ASSET_COLLECTION, &key)?;
        Ok(())
    }

    /// Deletes the asset and the caller org's appraisal; only an org that
    /// holds an appraisal of the asset (its owner's) may.
    #[transaction]
    pub fn delete_asset(&self, ctx: &mut Context) -> Result<(), ContractError> {
        let input: IdInput = transient(ctx, "asset_delete")?;
        self.asset(ctx, &input.id)?;
        let client = ctx.client_identity()?;
        let own = org_collection(&client.msp_id);
        if ctx.get_private_data(&own, &input.id)?.is_none() {
            return Err(fail(format!(
                "asset not found in owner's private collection {own}: {}",
                input.id
            )));
        }
        ctx.del_private_data(ASSET_COLLECTION, &input.id)?;
        ctx.del_private_data(&own, &input.id)?;
        Ok(())
    }

    /// Purges the asset (Fabric 2.5's sample `PurgeAsset`): it and the
    /// caller org's appraisal leave the private state, and every member
    /// peer drops every past version of them. The asset may be gone already
    /// (deleted); while it exists, only its owner may purge it.
    #[transaction]
    pub fn purge_asset(&self, ctx: &mut Context) -> Result<(), ContractError> {
        let input: IdInput = transient(ctx, "asset_purge")?;
        let client = ctx.client_identity()?;
        if let Some(asset) = private_json::<Asset>(ctx, ASSET_COLLECTION, &input.id)?
            && asset.owner != client.id
        {
            return Err(fail(format!(
                "submitting client identity does not own asset {}",
                input.id
            )));
        }
        ctx.purge_private_data(ASSET_COLLECTION, &input.id)?;
        ctx.purge_private_data(&org_collection(&client.msp_id), &input.id)?;
        Ok(())
    }

    /// The asset, from `assetCollection`; nothing when there is none (as
    /// Fabric's sample answers).
    #[transaction(evaluate)]
    pub fn read_asset(
        &self,
        ctx: &mut Context,
        id: String,
    ) -> Result<Option<Asset>, ContractError> {
        private_json(ctx, ASSET_COLLECTION, &id)
    }

    /// An org's appraisal of the asset, from `collection`; nothing when
    /// there is none.
    #[transaction(evaluate)]
    pub fn read_asset_private_details(
        &self,
        ctx: &mut Context,
        collection: String,
        id: String,
    ) -> Result<Option<AssetPrivateDetails>, ContractError> {
        private_json(ctx, &collection, &id)
    }

    /// Who agreed to buy the asset; nothing when no one has.
    #[transaction(evaluate)]
    pub fn read_transfer_agreement(
        &self,
        ctx: &mut Context,
        id: String,
    ) -> Result<Option<TransferAgreement>, ContractError> {
        let key = self.agreement_key(ctx, &id)?;
        Ok(ctx
            .get_private_data(ASSET_COLLECTION, &key)?
            .map(|buyer| TransferAgreement {
                id,
                buyer_id: String::from_utf8_lossy(&buyer).into_owned(),
            }))
    }

    /// The assets of `assetCollection` of one type owned by `owner` (the
    /// owner's client id), by a rich query on the private values (Fabric's
    /// `QueryAssetByOwner`; an evaluation, since nothing is recorded).
    #[transaction(evaluate)]
    pub fn query_asset_by_owner(
        &self,
        ctx: &mut Context,
        asset_type: String,
        owner: String,
    ) -> Result<Vec<Asset>, ContractError> {
        let query = weft_chaincode_sdk::QueryBuilder::new()
            .eq("objectType", asset_type)
            .eq("owner", owner)
            .build();
        ctx.get_private_data_query_result(ASSET_COLLECTION, &query)?
            .into_iter()
            .map(|(_, value)| {
                serde_json::from_slice(&value)
                    .map_err(|e| fail(format!("failed to unmarshal JSON: {e}")))
            })
            .collect()
    }

    /// The assets of `assetCollection` with ids in `[start, end)` (a
    /// private-data range query, so an evaluation).
    #[transaction(evaluate)]
    pub fn get_asset_by_range(
        &self,
        ctx: &mut Context,
        start: String,
        end: String,
    ) -> Result<Vec<Asset>, ContractError> {
        ctx.get_private_data_by_range(ASSET_COLLECTION, &start, &end)?
            .into_iter()
            .map(|(_, value)| {
                serde_json::from_slice(&value)
                    .map_err(|e| fail(format!("failed to unmarshal JSON: {e}")))
            })
            .collect()
    }
}

weft_chaincode_sdk::register!(AssetContract);

#[cfg(test)]
mod tests {
    use weft_chaincode_sdk::mock::MockStub;

    use super::*;

    fn call(stub: &mut MockStub, function: &str, key: &str, input: &str) -> (u32, String) {
        stub.transient.insert(key.into(), input.as_bytes().to_vec());
        let r = stub.invoke(&router(), &[function]);
        stub.transient.clear();
        (r.status, r.message)
    }

    fn stored<T: serde::de::DeserializeOwned>(stub: &MockStub, coll: &str, key: &str) -> Option<T> {
        stub.private
            .get(coll)
            .and_then(|c| c.get(key))
            .map(|b| serde_json::from_slice(b).unwrap())
    }

    fn create(stub: &mut MockStub, id: &str, value: i64) {
        stub.set_client("Org1MSP", "User1@org1.example.com");
        let input = format!(
            r#"{{"objectType":"asset","assetID":"{id}","color":"green","size":20,"appraisedValue":{value}}}"#
        );
        assert_eq!(call(stub, "CreateAsset", "asset_properties", &input).0, 200);
    }

    #[test]
    fn an_asset_is_created_agreed_and_transferred_through_private_data() {
        let mut stub = MockStub::new();
        create(&mut stub, "asset1", 100);
        assert!(stub.state.is_empty(), "nothing is public");
        let asset: Asset = stored(&stub, ASSET_COLLECTION, "asset1").unwrap();
        assert_eq!(asset.color, "green");
        let mine: AssetPrivateDetails =
            stored(&stub, "Org1MSPPrivateCollection", "asset1").unwrap();
        assert_eq!(mine.appraised_value, 100);

        stub.set_client("Org2MSP", "User1@org2.example.com");
        let agree = r#"{"assetID":"asset1","appraisedValue":100}"#;
        assert_eq!(
            call(&mut stub, "AgreeToTransfer", "asset_value", agree).0,
            200
        );

        stub.set_client("Org1MSP", "User1@org1.example.com");
        let give = r#"{"assetID":"asset1","buyerMSP":"Org2MSP"}"#;
        let (status, message) = call(&mut stub, "TransferAsset", "asset_owner", give);
        assert_eq!(status, 200, "{message}");
        let asset: Asset = stored(&stub, ASSET_COLLECTION, "asset1").unwrap();
        assert!(
            asset.owner.contains("User1@org2.example.com"),
            "{}",
            asset.owner
        );
        assert!(
            stored::<AssetPrivateDetails>(&stub, "Org1MSPPrivateCollection", "asset1").is_none()
        );
    }

    #[test]
    fn assets_are_listed_by_range_and_missing_ones_read_as_nothing() {
        let mut stub = MockStub::new();
        for id in ["asset1", "asset2", "asset3"] {
            create(&mut stub, id, 10);
        }
        stub.read_only = true;
        let r = stub.invoke(&router(), &["GetAssetByRange", "asset1", "asset3"]);
        assert_eq!(r.status, 200, "{}", r.message);
        let listed: Vec<Asset> = serde_json::from_slice(&r.payload).unwrap();
        let ids: Vec<&str> = listed.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["asset1", "asset2"]);
        // A rich query on the collection: the owner's assets of a type.
        let owner = stored::<Asset>(&stub, ASSET_COLLECTION, "asset2")
            .unwrap()
            .owner;
        let r = stub.invoke(&router(), &["QueryAssetByOwner", "asset", &owner]);
        assert_eq!(r.status, 200, "{}", r.message);
        assert_eq!(
            serde_json::from_slice::<Vec<Asset>>(&r.payload)
                .unwrap()
                .len(),
            3
        );
        let r = stub.invoke(&router(), &["QueryAssetByOwner", "asset", "nobody"]);
        assert_eq!(
            serde_json::from_slice::<Vec<Asset>>(&r.payload)
                .unwrap()
                .len(),
            0
        );
        // The agreement's composite key is not a simple key: not listed.
        let r = stub.invoke(&router(), &["GetAssetByRange", "", ""]);
        assert_eq!(
            serde_json::from_slice::<Vec<Asset>>(&r.payload)
                .unwrap()
                .len(),
            3
        );
        let r = stub.invoke(
            &router(),
            &[
                "ReadAssetPrivateDetails",
                "Org2MSPPrivateCollection",
                "asset1",
            ],
        );
        assert_eq!((r.status, r.payload.len()), (200, 0));
        let r = stub.invoke(&router(), &["ReadAsset", "nope"]);
        assert_eq!((r.status, r.payload.len()), (200, 0));

        // Only the org holding an appraisal deletes.
        stub.read_only = false;
        stub.set_client("Org2MSP", "User1@org2.example.com");
        let del = r#"{"assetID":"asset2"}"#;
        let (status, message) = call(&mut stub, "DeleteAsset", "asset_delete", del);
        assert_ne!(status, 200);
        assert!(message.contains("Org2MSPPrivateCollection"), "{message}");
        stub.set_client("Org1MSP", "User1@org1.example.com");
        assert_eq!(call(&mut stub, "DeleteAsset", "asset_delete", del).0, 200);
        assert!(stored::<Asset>(&stub, ASSET_COLLECTION, "asset2").is_none());

        // Only the owner purges an asset that exists; then both its records go.
        let purge = r#"{"assetID":"asset3"}"#;
        stub.set_client("Org2MSP", "User1@org2.example.com");
        let (status, message) = call(&mut stub, "PurgeAsset", "asset_purge", purge);
        assert!(
            status != 200 && message.contains("does not own"),
            "{message}"
        );
        stub.set_client("Org1MSP", "User1@org1.example.com");
        assert_eq!(call(&mut stub, "PurgeAsset", "asset_purge", purge).0, 200);
        assert_eq!(
            stub.purged,
            [
                (ASSET_COLLECTION.to_string(), "asset3".to_string()),
                ("Org1MSPPrivateCollection".to_string(), "asset3".to_string())
            ]
        );
        assert!(stored::<Asset>(&stub, ASSET_COLLECTION, "asset3").is_none());
    }

    #[test]
    fn a_transfer_without_matching_appraisals_or_inputs_is_refused() {
        let mut stub = MockStub::new();
        create(&mut stub, "a", 100);
        stub.set_client("Org2MSP", "User1@org2.example.com");
        let agree = r#"{"assetID":"a","appraisedValue":99}"#;
        assert_eq!(
            call(&mut stub, "AgreeToTransfer", "asset_value", agree).0,
            200
        );
        stub.set_client("Org1MSP", "User1@org1.example.com");
        let give = r#"{"assetID":"a","buyerMSP":"Org2MSP"}"#;
        let (status, message) = call(&mut stub, "TransferAsset", "asset_owner", give);
        assert_ne!(status, 200);
        assert!(message.contains("does not match"), "{message}");
        let r = stub.invoke(&router(), &["CreateAsset"]);
        assert!(
            r.message.contains("asset_properties key not found"),
            "{}",
            r.message
        );
    }
}
