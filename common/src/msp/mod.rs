//! Membership service providers (MSPs), as Fabric defines them.
//!
//! An MSP is an organisation's trust anchor: its root and intermediate CAs, its
//! CRLs, which OUs mark client / peer / admin / orderer identities (NodeOUs), and
//! explicit admin certificates. weft loads MSPs from Fabric's folder layout
//! ([`folder`]) or from channel config (`FabricMSPConfig`), validates identities
//! against them and matches identities to policy principals.

mod cert;
pub mod expiry;
pub mod folder;
mod identity;
mod manager;
mod organization;
mod principal;

pub use cert::{Certificate, RevocationList};
pub use identity::{Identity, SigningIdentity, ValidatedIdentity};
pub use manager::MspManager;
pub use organization::{IdentityError, Msp, NodeOus, OuIdentifier, Role};
pub use principal::{MspRole, Principal};
