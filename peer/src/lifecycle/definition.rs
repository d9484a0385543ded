//! Reading a committed chaincode definition's endorsement policy.

use prost::Message;
use weft_common::config::ChannelConfig;
use weft_common::policy::{SignaturePolicy, Signers, parse_signature_policy};
use weft_common::tx::Invalid;
use weft_protos::lifecycle::{ChaincodeValidationInfo, StateData, state_data};
use weft_protos::protos::{ApplicationPolicy, TxValidationCode as Code, application_policy};

use super::{LIFECYCLE_ENDORSEMENT, NAMESPACE};
use crate::PeerError;
use crate::ledger::StateView;

/// The policy a chaincode's transactions must satisfy.
#[derive(Debug, Clone)]
pub enum EndorsementPolicy {
    /// A signature policy carried in the definition.
    Signature(SignaturePolicy),
    /// A reference to a channel policy, e.g. `/Channel/Application/Endorsement`.
    ChannelPolicy(String),
}

impl EndorsementPolicy {
    /// Checks the policy against verified endorsers; the error says what was missing.
    pub fn evaluate(&self, signers: &Signers, config: &ChannelConfig) -> Result<(), String> {
        match self {
            Self::Signature(p) => {
                if p.evaluate(&signers.valid, &config.msps) {
                    Ok(())
                } else {
                    Err(format!("{p} requires more than {}", signers.describe()))
                }
            }
            Self::ChannelPolicy(path) => config
                .policies
                .evaluate(path, signers, &config.msps)
                .map_err(|e| e.to_string()),
        }
    }

    /// Decodes an `ApplicationPolicy`.
    pub fn from_application_policy(bytes: &[u8]) -> Result<Self, String> {
        let ap = ApplicationPolicy::decode(bytes)
            .map_err(|e| format!("malformed application policy: {e}"))?;
        match ap.r#type {
            Some(application_policy::Type::SignaturePolicy(env)) => {
                SignaturePolicy::from_proto(&env)
                    .map(Self::Signature)
                    .map_err(|e| e.to_string())
            }
            Some(application_policy::Type::ChannelConfigPolicyReference(path)) => {
                Ok(Self::ChannelPolicy(path))
            }
            None => Err("application policy is empty".into()),
        }
    }
}

/// The org of an implicit collection name (`_implicit_org_<MSPID>`).
pub fn implicit_collection_org(collection: &str) -> Option<&str> {
    collection.strip_prefix("_implicit_org_")
}

/// The endorsement policy of `chaincode` as committed on the channel, or
/// `Ok(None)` when no definition is committed. `_lifecycle` itself is endorsed
/// by the channel's `LifecycleEndorsement` policy.
pub fn committed_policy(
    state: &dyn StateView,
    chaincode: &str,
) -> Result<Result<EndorsementPolicy, Invalid>, PeerError> {
    if chaincode == NAMESPACE {
        return Ok(Ok(EndorsementPolicy::ChannelPolicy(
            LIFECYCLE_ENDORSEMENT.to_string(),
        )));
    }
    let key = format!("namespaces/fields/{chaincode}/ValidationInfo");
    let Some(bytes) = state.value(NAMESPACE, &key)? else {
        // Fabric's committer: no definition is INVALID_CHAINCODE.
        return Ok(Err(Invalid::new(
            Code::InvalidChaincode,
            format!("chaincode {chaincode} has no committed definition on this channel"),
        )));
    };
    Ok(parse_validation_info(chaincode, &bytes)
        .map_err(|why| Invalid::new(Code::EndorsementPolicyFailure, why)))
}

fn parse_validation_info(chaincode: &str, bytes: &[u8]) -> Result<EndorsementPolicy, String> {
    let data = StateData::decode(bytes)
        .map_err(|e| format!("{chaincode}'s ValidationInfo is malformed: {e}"))?;
    let Some(state_data::Type::Bytes(inner)) = data.r#type else {
        return Err(format!("{chaincode}'s ValidationInfo holds no bytes"));
    };
    let info = ChaincodeValidationInfo::decode(inner.as_slice())
        .map_err(|e| format!("{chaincode}'s ValidationInfo is malformed: {e}"))?;
    if info.validation_plugin != "vscc" {
        return Err(format!(
            "{chaincode} asks for validation plugin {:?}; weft supports only the built-in vscc",
            info.validation_plugin
        ));
    }
    EndorsementPolicy::from_application_policy(&info.validation_parameter)
        .map_err(|e| format!("{chaincode}'s endorsement policy: {e}"))
}

/// The policy guarding writes to an implicit org collection of `_lifecycle`:
/// any member of that org (an org approves its own definitions).
pub fn implicit_collection_policy(org: &str) -> Result<EndorsementPolicy, String> {
    parse_signature_policy(&format!("OR('{org}.member')"))
        .map(EndorsementPolicy::Signature)
        .map_err(|e| format!("implicit collection of {org}: {e}"))
}

/// Encodes a `ValidationInfo` field as `_lifecycle` stores it (for tests and the lifecycle).
pub fn validation_info_value(policy: &ApplicationPolicy) -> Vec<u8> {
    let info = ChaincodeValidationInfo {
        validation_plugin: "vscc".into(),
        validation_parameter: policy.encode_to_vec(),
    };
    StateData {
        r#type: Some(state_data::Type::Bytes(info.encode_to_vec())),
    }
    .encode_to_vec()
}
