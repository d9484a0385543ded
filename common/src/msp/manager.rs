//! The MSPs of a channel, by id.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use super::identity::{Identity, ValidatedIdentity};
use super::organization::Msp;
use super::principal::Principal;
use crate::CommonError;
use crate::ids::MspId;

/// Most decoded identities kept (a channel sees few distinct signers).
const IDENTITY_CACHE_LIMIT: usize = 4096;

/// All MSPs known on a channel (application and orderer orgs).
#[derive(Debug, Clone, Default)]
pub struct MspManager {
    msps: BTreeMap<MspId, Arc<Msp>>,
    /// Decoded identities by serialized bytes: the same clients and peers sign
    /// transaction after transaction, and decoding X.509 is not free.
    identities: Arc<RwLock<HashMap<Vec<u8>, Identity>>>,
}

impl MspManager {
    /// Builds a manager from MSPs.
    pub fn new(msps: impl IntoIterator<Item = Msp>) -> Self {
        Self {
            msps: msps
                .into_iter()
                .map(|m| (m.id().clone(), Arc::new(m)))
                .collect(),
            identities: Arc::default(),
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
        let identity = self.deserialize(serialized)?;
        self.validate_identity(&identity, now)
    }

    /// Deserializes a `SerializedIdentity` (its certificate parsed once and
    /// remembered for the next transactions of the same creator or endorser),
    /// without validating it.
    pub fn deserialize(&self, serialized: &[u8]) -> Result<Identity, CommonError> {
        let cached = self
            .identities
            .read()
            .expect("identity cache lock")
            .get(serialized)
            .cloned();
        if let Some(i) = cached {
            return Ok(i);
        }
        let i = Identity::from_serialized(serialized)?;
        let mut cache = self.identities.write().expect("identity cache lock");
        if cache.len() >= IDENTITY_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(serialized.to_vec(), i.clone());
        Ok(i)
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
