//! `weft-ca`: a certificate authority with Fabric CA's REST API, so Fabric's
//! own CA clients work against it, keeping identities and certificates in SQLite.
//!
//! - [`config`]: server settings (YAML, `FABRIC_CA_SERVER_*` overrides).
//! - [`store`]: the SQLite registry (identities, certificates).
//! - [`authority`]: the signing CAs (enrollment, TLS) and the rules of enroll,
//!   register, identities and affiliations.
//! - [`api`]: the `/api/v1` routes and Fabric CA's response envelope.
//! - [`server`]: start and stop.
//! - [`client`]: `weft-ca client` (enroll into an MSP folder, token-signed calls).
//! - [`crl_update`]: a CRL as a signed channel config update for an org's MSP.
//! - [`intermediate`]: an intermediate CA's enrollment at its parent.
//!
//! The API: `cainfo`, `enroll`, `reenroll`, `register`, `revoke`, `gencrl`,
//! `identities` (list, get, add, modify, remove) and `affiliations` (list,
//! get, add, rename, remove).

pub mod api;
pub mod authority;
pub mod cli;
pub mod client;
pub mod config;
pub mod crl_update;
pub mod error;
pub mod intermediate;
pub mod protocol;
pub mod server;
pub mod store;

pub use error::CaError;
