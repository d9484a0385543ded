//! A chaincode's private data collections as the peer applies them: who
//! belongs to each (its member orgs, or the one org of an implicit
//! collection), how far its writes are pushed, how long they live, and who
//! may read and write them — read from the committed definition.

use weft_protos::protos::{
    ApplicationPolicy, CollectionConfigPackage, StaticCollectionConfig, collection_config,
};

use super::definition::implicit_collection_org;
use super::layout::{self, NAMESPACES};
use crate::PeerError;
use crate::ledger::StateView;

/// How many of an org's other peers receive its implicit collections' writes
/// at endorsement: Fabric's `implicitCollectionDisseminationPolicy` defaults
/// (none required, at most one).
const IMPLICIT_REQUIRED_PEERS: i32 = 0;
const IMPLICIT_MAX_PEERS: i32 = 1;

/// One collection of a chaincode, as validation, dissemination and access
/// checks need it.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionRules {
    /// Its name.
    pub name: String,
    /// The orgs (MSP ids) whose peers hold its values.
    pub members: Vec<String>,
    /// Peers that must acknowledge a push before an endorsement succeeds.
    pub required_peer_count: i32,
    /// Peers a push goes to at most.
    pub maximum_peer_count: i32,
    /// Blocks after which its values are purged (0: never).
    pub block_to_live: u64,
    /// Only members' clients may read.
    pub member_only_read: bool,
    /// Only members' clients may write.
    pub member_only_write: bool,
    /// Its own endorsement policy, which replaces the chaincode's for its writes.
    pub endorsement_policy: Option<ApplicationPolicy>,
}

impl CollectionRules {
    /// Whether `msp_id`'s peers and clients are members.
    pub fn has_member(&self, msp_id: &str) -> bool {
        self.members.iter().any(|m| m == msp_id)
    }

    /// An org's implicit collection, if the org is on the channel.
    pub fn implicit(name: &str, channel_orgs: &[String]) -> Option<Self> {
        let org = implicit_collection_org(name)?;
        channel_orgs.iter().any(|o| o == org).then(|| Self {
            name: name.to_string(),
            members: vec![org.to_string()],
            required_peer_count: IMPLICIT_REQUIRED_PEERS,
            maximum_peer_count: IMPLICIT_MAX_PEERS,
            block_to_live: 0,
            member_only_read: false,
            member_only_write: false,
            endorsement_policy: None,
        })
    }

    fn from_static(c: &StaticCollectionConfig) -> Self {
        Self {
            name: c.name.clone(),
            members: super::collections::member_orgs(c),
            required_peer_count: c.required_peer_count,
            maximum_peer_count: c.maximum_peer_count,
            block_to_live: c.block_to_live,
            member_only_read: c.member_only_read,
            member_only_write: c.member_only_write,
            endorsement_policy: c.endorsement_policy.clone(),
        }
    }
}

/// The collections a definition declares.
pub fn declared(pkg: &CollectionConfigPackage) -> impl Iterator<Item = CollectionRules> + '_ {
    pkg.config.iter().filter_map(|c| c.payload.as_ref()).map(
        |collection_config::Payload::StaticCollectionConfig(s)| CollectionRules::from_static(s),
    )
}

/// The committed collection package of chaincode `ns` (empty: none).
pub fn committed_package(
    state: &(impl StateView + ?Sized),
    ns: &str,
) -> Result<CollectionConfigPackage, PeerError> {
    Ok(state
        .value(
            super::NAMESPACE,
            &layout::field_key(NAMESPACES, ns, "Collections"),
        )?
        .and_then(|v| layout::collections(&v))
        .unwrap_or_default())
}

/// Collection `collection` of chaincode `ns` as committed: one its
/// definition declares, or a channel org's implicit collection.
pub fn lookup(
    state: &(impl StateView + ?Sized),
    channel_orgs: &[String],
    ns: &str,
    collection: &str,
) -> Result<Option<CollectionRules>, PeerError> {
    if let Some(r) = CollectionRules::implicit(collection, channel_orgs) {
        return Ok(Some(r));
    }
    Ok(declared(&committed_package(state, ns)?).find(|c| c.name == collection))
}

/// The channel's application orgs, by MSP id.
pub fn channel_orgs(cfg: &weft_common::config::ChannelConfig) -> Vec<String> {
    cfg.application
        .as_ref()
        .map(|a| a.orgs.keys().map(|m| m.to_string()).collect())
        .unwrap_or_default()
}
