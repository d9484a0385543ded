//! Reading a committed chaincode definition's endorsement policy.

use prost::Message;
use weft_common::config::ChannelConfig;
use weft_common::policy::{SignaturePolicy, Signers, parse_signature_policy};
use weft_common::tx::Invalid;
use weft_protos::lifecycle::{ChaincodeValidationInfo, StateData, state_data};
use weft_protos::protos::{ApplicationPolicy, TxValidationCode as Code, application_policy};

use weft_common::CommonError;

use super::{LIFECYCLE_ENDORSEMENT, NAMESPACE};
use crate::PeerError;
use crate::ledger::StateView;

/// Why an endorsement policy cannot be read, or is not satisfied.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The endorsers do not satisfy the definition's signature policy.
    #[error("{policy} requires more than {endorsers}")]
    NotSatisfied {
        /// The policy, as text.
        policy: String,
        /// Who endorsed.
        endorsers: String,
    },
    /// A channel policy refused, is missing, or a signature policy does not parse.
    #[error(transparent)]
    Channel(#[from] CommonError),
    /// An `ApplicationPolicy` does not decode.
    #[error("malformed application policy: {0}")]
    Malformed(#[source] prost::DecodeError),
    /// An `ApplicationPolicy` holds neither kind of policy.
    #[error("application policy is empty")]
    Empty,
    /// A definition's `ValidationInfo` does not decode.
    #[error("{chaincode}'s ValidationInfo is malformed: {source}")]
    ValidationInfo {
        /// The chaincode defined.
        chaincode: String,
        /// The decoding error.
        source: prost::DecodeError,
    },
    /// A definition's `ValidationInfo` holds no bytes.
    #[error("{chaincode}'s ValidationInfo holds no bytes")]
    NoValidationInfo {
        /// The chaincode defined.
        chaincode: String,
    },
    /// A definition names a validation plugin other than Fabric's built-in `vscc`.
    #[error(
        "{chaincode} asks for validation plugin {plugin:?}; weft supports only the built-in vscc"
    )]
    Plugin {
        /// The chaincode defined.
        chaincode: String,
        /// The plugin it names.
        plugin: String,
    },
    /// A definition's endorsement policy cannot be read.
    #[error("{chaincode}'s endorsement policy: {source}")]
    Definition {
        /// The chaincode defined.
        chaincode: String,
        /// Why.
        source: Box<PolicyError>,
    },
    /// The policy of an org's implicit collection cannot be built.
    #[error("implicit collection of {org}: {source}")]
    ImplicitCollection {
        /// The org.
        org: String,
        /// Why.
        source: CommonError,
    },
}

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
    pub fn evaluate(&self, signers: &Signers, config: &ChannelConfig) -> Result<(), PolicyError> {
        match self {
            Self::Signature(p) => {
                if p.evaluate(&signers.valid, &config.msps) {
                    Ok(())
                } else {
                    Err(PolicyError::NotSatisfied {
                        policy: p.to_string(),
                        endorsers: signers.describe(),
                    })
                }
            }
            Self::ChannelPolicy(path) => Ok(config
                .policies
                .evaluate(path, signers, &config.msps)
                .map(|_| ())?),
        }
    }

    /// Decodes an `ApplicationPolicy`.
    pub fn from_application_policy(bytes: &[u8]) -> Result<Self, PolicyError> {
        let ap = ApplicationPolicy::decode(bytes).map_err(PolicyError::Malformed)?;
        match ap.r#type {
            Some(application_policy::Type::SignaturePolicy(env)) => {
                Ok(SignaturePolicy::from_proto(&env).map(Self::Signature)?)
            }
            Some(application_policy::Type::ChannelConfigPolicyReference(path)) => {
                Ok(Self::ChannelPolicy(path))
            }
            None => Err(PolicyError::Empty),
        }
    }
}

impl EndorsementPolicy {
    /// Decodes a key's validation parameter (a `SignaturePolicyEnvelope`, as
    /// Fabric's `statebased` package writes it): its key-level policy.
    pub fn from_validation_parameter(bytes: &[u8]) -> Result<Self, PolicyError> {
        let env = weft_protos::common::SignaturePolicyEnvelope::decode(bytes)
            .map_err(PolicyError::Malformed)?;
        Ok(SignaturePolicy::from_proto(&env).map(Self::Signature)?)
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
        .map_err(|why| Invalid::new(Code::EndorsementPolicyFailure, why.to_string())))
}

fn parse_validation_info(chaincode: &str, bytes: &[u8]) -> Result<EndorsementPolicy, PolicyError> {
    let malformed = |source| PolicyError::ValidationInfo {
        chaincode: chaincode.to_string(),
        source,
    };
    let data = StateData::decode(bytes).map_err(malformed)?;
    let Some(state_data::Type::Bytes(inner)) = data.r#type else {
        return Err(PolicyError::NoValidationInfo {
            chaincode: chaincode.to_string(),
        });
    };
    let info = ChaincodeValidationInfo::decode(inner.as_slice()).map_err(malformed)?;
    if info.validation_plugin != "vscc" {
        return Err(PolicyError::Plugin {
            chaincode: chaincode.to_string(),
            plugin: info.validation_plugin,
        });
    }
    EndorsementPolicy::from_application_policy(&info.validation_parameter).map_err(|e| {
        PolicyError::Definition {
            chaincode: chaincode.to_string(),
            source: Box::new(e),
        }
    })
}

/// The policy guarding writes to an implicit org collection of `_lifecycle`:
/// any member of that org (an org approves its own definitions).
pub fn implicit_collection_policy(org: &str) -> Result<EndorsementPolicy, PolicyError> {
    parse_signature_policy(&format!("OR('{org}.member')"))
        .map(EndorsementPolicy::Signature)
        .map_err(|source| PolicyError::ImplicitCollection {
            org: org.to_string(),
            source,
        })
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
