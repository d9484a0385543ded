//! The MSPs of a channel, by id.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::identity::{Identity, ValidatedIdentity};
use super::organization::Msp;
use super::principal::Principal;
use crate::CommonError;
use crate::ids::MspId;

/// All MSPs known on a channel (application and orderer orgs).
#[derive(Debug, Clone, Default)]
pub struct MspManager {
    msps: BTreeMap<MspId, Arc<Msp>>,
}

impl MspManager {
    /// Builds a manager from MSPs.
    pub fn new(msps: impl IntoIterator<Item = Msp>) -> Self {
        Self {
            msps: msps
                .into_iter()
                .map(|m| (m.id().clone(), Arc::new(m)))
                .collect(),
        }
    }

    /// The MSP of this id.
    pub fn get(&self, id: &MspId) -> Option<&Arc<Msp>> {
        self.msps.get(id)
    }

    /// All MSPs, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&MspId, &Arc<Msp>)> {
        self.msps.iter()
    }

    /// Deserializes and validates a `SerializedIdentity` at Unix time `now`.
    pub fn validate(&self, serialized: &[u8], now: i64) -> Result<ValidatedIdentity, CommonError> {
        let identity = Identity::from_serialized(serialized)?;
        self.validate_identity(&identity, now)
    }

    /// Validates an already deserialized identity.
    pub fn validate_identity(
        &self,
        identity: &Identity,
        now: i64,
    ) -> Result<ValidatedIdentity, CommonError> {
        let msp = self
            .msps
            .get(identity.msp_id())
            .ok_or_else(|| CommonError::UnknownMsp(identity.msp_id().clone()))?;
        msp.validate(identity, now)
            .map_err(|reason| CommonError::Identity {
                msp: identity.msp_id().clone(),
                reason,
            })
    }

    /// Whether a validated identity satisfies a principal (judged by the identity's own MSP).
    pub fn satisfies(&self, id: &ValidatedIdentity, principal: &Principal) -> bool {
        self.msps
            .get(id.identity.msp_id())
            .is_some_and(|m| m.satisfies(id, principal))
    }
}
