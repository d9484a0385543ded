//! `_lifecycle`: chaincode definitions as Fabric stores them.
//!
//! A committed definition of chaincode `cc` lives in the `_lifecycle` namespace
//! under `namespaces/metadata/cc` (a `StateMetadata` naming the fields) and
//! `namespaces/fields/cc/<Field>` (one `StateData` each): `Sequence`,
//! `EndorsementInfo`, `ValidationInfo`, `Collections`. The committer reads the
//! endorsement policy from `ValidationInfo`; the approve/commit transactions
//! themselves arrive with the endorsing half of the peer.

pub mod collection_rules;
pub mod collections;
pub mod definition;
pub mod layout;
pub mod scc;

pub use definition::{
    EndorsementPolicy, PolicyError, committed_policy, implicit_collection_org,
    implicit_collection_policy, validation_info_value,
};

/// The lifecycle system chaincode's name and namespace.
pub const NAMESPACE: &str = "_lifecycle";

/// The channel policy that endorses `_lifecycle`'s own transactions.
pub const LIFECYCLE_ENDORSEMENT: &str = "/Channel/Application/LifecycleEndorsement";
