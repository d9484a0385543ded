//! A contract for the ABI's private key-level policy calls: `SetPolicy`
//! makes a private key answer to one org's peers, `GetPolicy` says which
//! orgs a private key's policy names (empty when it has none).

use weft_chaincode_sdk::statebased::{KeyEndorsementPolicy, RoleType};
use weft_chaincode_sdk::{Context, ContractError, contract};

/// The contract.
#[derive(Default)]
pub struct PrivatePolicy;

#[contract("PrivatePolicy")]
impl PrivatePolicy {
    /// Makes `key` of `collection` answer to the peers of `org`.
    #[transaction]
    pub fn set_policy(
        &self,
        ctx: &mut Context,
        collection: String,
        key: String,
        org: String,
    ) -> Result<(), ContractError> {
        let mut policy = KeyEndorsementPolicy::new();
        policy.add_orgs(RoleType::Peer, [org.as_str()]);
        ctx.set_private_data_validation_parameter(&collection, &key, &policy.policy())?;
        Ok(())
    }

    /// The orgs the policy of `key` of `collection` names.
    #[transaction(evaluate)]
    pub fn get_policy(
        &self,
        ctx: &mut Context,
        collection: String,
        key: String,
    ) -> Result<Vec<String>, ContractError> {
        Ok(
            match ctx.get_private_data_validation_parameter(&collection, &key)? {
                Some(bytes) => KeyEndorsementPolicy::from_policy(&bytes)
                    .map_err(|e| ContractError::new(e.to_string()))?
                    .list_orgs()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                None => Vec::new(),
            },
        )
    }
}

weft_chaincode_sdk::register!(PrivatePolicy);
