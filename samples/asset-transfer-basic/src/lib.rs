//! Fabric's asset-transfer-basic, as weft chaincode: `InitLedger`,
//! `CreateAsset`, `ReadAsset`, `UpdateAsset`, `DeleteAsset`, `AssetExists`,
//! `TransferAsset` and `GetAllAssets`, with the same asset JSON, so Fabric's
//! sample applications work against it unchanged; and, from Fabric's
//! asset-transfer-ledger-queries, `QueryAssetsWithPagination` (a rich query,
//! one page at a time).

use serde::{Deserialize, Serialize};
use weft_chaincode_sdk::{Context, ContractError, contract};

/// An asset, serialised exactly like Fabric's Go sample (fields in this order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Appraised value.
    #[serde(rename = "AppraisedValue")]
    pub appraised_value: u64,
    /// Colour.
    #[serde(rename = "Color")]
    pub color: String,
    /// Key.
    #[serde(rename = "ID")]
    pub id: String,
    /// Owner.
    #[serde(rename = "Owner")]
    pub owner: String,
    /// Size.
    #[serde(rename = "Size")]
    pub size: u64,
}

/// The contract.
#[derive(Default)]
pub struct SmartContract;

impl SmartContract {
    fn read(&self, ctx: &mut Context, id: &str) -> Result<Asset, ContractError> {
        ctx.get_json(id)?
            .ok_or_else(|| ContractError::new(format!("the asset {id} does not exist")))
    }
}

#[contract("SmartContract")]
impl SmartContract {
    /// Adds the six sample assets.
    #[transaction]
    pub fn init_ledger(&self, ctx: &mut Context) -> Result<(), ContractError> {
        let assets = [
            ("asset1", "blue", 5, "Tomoko", 300),
            ("asset2", "red", 5, "Brad", 400),
            ("asset3", "green", 10, "Jin Soo", 500),
            ("asset4", "yellow", 10, "Max", 600),
            ("asset5", "black", 15, "Adriana", 700),
            ("asset6", "white", 15, "Michel", 800),
        ];
        for (id, color, size, owner, value) in assets {
            let asset = Asset {
                appraised_value: value,
                color: color.into(),
                id: id.into(),
                owner: owner.into(),
                size,
            };
            ctx.put_json(id, &asset)?;
        }
        Ok(())
    }

    /// Creates an asset that does not exist yet.
    #[transaction]
    pub fn create_asset(
        &self,
        ctx: &mut Context,
        id: String,
        color: String,
        size: u64,
        owner: String,
        appraised_value: u64,
    ) -> Result<(), ContractError> {
        if self.asset_exists(ctx, id.clone())? {
            return Err(ContractError::new(format!("the asset {id} already exists")));
        }
        let asset = Asset {
            appraised_value,
            color,
            id: id.clone(),
            owner,
            size,
        };
        ctx.put_json(&id, &asset)?;
        // As Fabric's asset-transfer-events sample: the asset, for listeners.
        Ok(ctx.set_event("CreateAsset", &serde_json::to_vec(&asset)?)?)
    }

    /// An asset by id.
    #[transaction(evaluate)]
    pub fn read_asset(&self, ctx: &mut Context, id: String) -> Result<Asset, ContractError> {
        self.read(ctx, &id)
    }

    /// Replaces an existing asset.
    #[transaction]
    pub fn update_asset(
        &self,
        ctx: &mut Context,
        id: String,
        color: String,
        size: u64,
        owner: String,
        appraised_value: u64,
    ) -> Result<(), ContractError> {
        if !self.asset_exists(ctx, id.clone())? {
            return Err(ContractError::new(format!("the asset {id} does not exist")));
        }
        ctx.put_json(
            &id,
            &Asset {
                appraised_value,
                color,
                id: id.clone(),
                owner,
                size,
            },
        )
    }

    /// Deletes an existing asset.
    #[transaction]
    pub fn delete_asset(&self, ctx: &mut Context, id: String) -> Result<(), ContractError> {
        if !self.asset_exists(ctx, id.clone())? {
            return Err(ContractError::new(format!("the asset {id} does not exist")));
        }
        Ok(ctx.del_state(&id)?)
    }

    /// Whether an asset exists.
    #[transaction(evaluate)]
    pub fn asset_exists(&self, ctx: &mut Context, id: String) -> Result<bool, ContractError> {
        Ok(ctx.get_state(&id)?.is_some())
    }

    /// Gives an asset a new owner; returns the old owner.
    #[transaction]
    pub fn transfer_asset(
        &self,
        ctx: &mut Context,
        id: String,
        new_owner: String,
    ) -> Result<String, ContractError> {
        let mut asset = self.read(ctx, &id)?;
        let old = std::mem::replace(&mut asset.owner, new_owner);
        ctx.put_json(&id, &asset)?;
        ctx.set_event("TransferAsset", &serde_json::to_vec(&asset)?)?;
        Ok(old)
    }

    /// Every asset.
    #[transaction(evaluate)]
    pub fn get_all_assets(&self, ctx: &mut Context) -> Result<Vec<Asset>, ContractError> {
        ctx.get_state_by_range("", "")?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v).map_err(ContractError::from))
            .collect()
    }

    /// One page of the assets a rich query selects, after `bookmark`
    /// (Fabric's asset-transfer-ledger-queries `QueryAssetsWithPagination`).
    #[transaction(evaluate)]
    pub fn query_assets_with_pagination(
        &self,
        ctx: &mut Context,
        query: String,
        page_size: i32,
        bookmark: String,
    ) -> Result<AssetPage, ContractError> {
        let (records, metadata) =
            ctx.get_query_result_with_pagination(&query, page_size, &bookmark)?;
        Ok(AssetPage {
            records: records
                .into_iter()
                .map(|(_, v)| serde_json::from_slice(&v))
                .collect::<Result<_, _>>()?,
            fetched_records_count: metadata.fetched_records_count,
            bookmark: metadata.bookmark,
        })
    }
}

/// A page of assets and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetPage {
    /// The assets.
    pub records: Vec<Asset>,
    /// How many there are.
    #[serde(rename = "fetchedRecordsCount")]
    pub fetched_records_count: u32,
    /// Pass back for the next page (empty after the last).
    pub bookmark: String,
}

weft_chaincode_sdk::register!(SmartContract);

#[cfg(test)]
mod tests {
    use weft_chaincode_sdk::mock::MockStub;

    use super::*;

    #[test]
    fn the_fabric_transaction_list_works() {
        let r = router();
        let mut stub = MockStub::new();
        assert_eq!(stub.invoke(&r, &["InitLedger"]).status, 200);
        let all: Vec<Asset> =
            serde_json::from_slice(&stub.invoke(&r, &["GetAllAssets"]).payload).unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(
            stub.get_str("asset1").unwrap(),
            r#"{"AppraisedValue":300,"Color":"blue","ID":"asset1","Owner":"Tomoko","Size":5}"#,
            "the same JSON as Fabric's Go sample"
        );
        assert_eq!(
            stub.invoke(&r, &["CreateAsset", "asset7", "purple", "20", "Ana", "900"])
                .status,
            200
        );
        let dup = stub.invoke(&r, &["CreateAsset", "asset7", "purple", "20", "Ana", "900"]);
        assert_eq!(
            (dup.status, dup.message.as_str()),
            (500, "the asset asset7 already exists")
        );
        let read: Asset =
            serde_json::from_slice(&stub.invoke(&r, &["ReadAsset", "asset7"]).payload).unwrap();
        assert_eq!(read.owner, "Ana");
        assert_eq!(
            stub.invoke(&r, &["UpdateAsset", "asset7", "green", "21", "Ana", "950"])
                .status,
            200
        );
        assert_eq!(
            stub.invoke(&r, &["TransferAsset", "asset7", "Bo"]).payload,
            b"Ana"
        );
        assert_eq!(stub.invoke(&r, &["AssetExists", "asset7"]).payload, b"true");
        assert_eq!(stub.invoke(&r, &["DeleteAsset", "asset7"]).status, 200);
        assert_eq!(
            stub.invoke(&r, &["AssetExists", "asset7"]).payload,
            b"false"
        );
        let missing = stub.invoke(&r, &["ReadAsset", "asset7"]);
        assert_eq!(missing.message, "the asset asset7 does not exist");
        // Fabric's Contract:Function form, wrong arguments, unknown functions.
        assert_eq!(
            stub.invoke(&r, &["SmartContract:AssetExists", "asset1"])
                .payload,
            b"true"
        );
        assert_eq!(stub.invoke(&r, &["CreateAsset", "x"]).status, 400);
        assert!(
            stub.invoke(&r, &["CreateAsset", "a9", "red", "big", "Al", "1"])
                .message
                .contains("argument size")
        );
        assert_eq!(stub.invoke(&r, &["Nope"]).status, 400);
        let meta: serde_json::Value = serde_json::from_slice(
            &stub
                .invoke(&r, &["org.hyperledger.fabric:GetMetadata"])
                .payload,
        )
        .unwrap();
        let txs = meta["contracts"]["SmartContract"]["transactions"]
            .as_array()
            .unwrap();
        assert_eq!(txs.len(), 9);
        assert!(
            txs.iter()
                .any(|t| t["name"] == "ReadAsset" && t["tag"][0] == "evaluate")
        );
    }

    #[test]
    fn assets_page_through_a_rich_query() {
        let r = router();
        let mut stub = MockStub::new();
        stub.invoke(&r, &["InitLedger"]);
        let query = r#"{"selector":{"Size":{"$gte":10}}}"#;
        let page: AssetPage = serde_json::from_slice(
            &stub
                .invoke(&r, &["QueryAssetsWithPagination", query, "2", ""])
                .payload,
        )
        .unwrap();
        assert_eq!(page.fetched_records_count, 2);
        let next: AssetPage = serde_json::from_slice(
            &stub
                .invoke(
                    &r,
                    &["QueryAssetsWithPagination", query, "2", &page.bookmark],
                )
                .payload,
        )
        .unwrap();
        assert!(next.records.iter().all(|a| a.size >= 10));
        assert!(!next.records.iter().any(|a| page.records.contains(a)));
    }
}
