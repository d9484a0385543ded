//! BR2K's recovery loop on weft. A service's **manager** registers it in the
//! service registry (`samples/service-registry`) with a recovery body that
//! says how to redeploy it; **clients** always find the service through the
//! registry. When a call fails, the client files a claim (`SendClaim`); the
//! manager, watching the registry's `Claim` events, checks the service,
//! redeploys it from the recovery body if it is down, and records where it
//! now runs (`UpdateLocation`, whose `NewLocation` event the client waits
//! for); the client resolves the service again and calls the new instance.
//!
//! - [`registry`]: the registry chaincode through the client SDK, typed.
//! - [`recipe`]: recovery bodies and the deployers that carry them out — a
//!   local process, or a container with `podman run`.
//! - [`manager`]: the manager's loop.
//! - [`client`]: a client that resolves, claims and re-resolves.
//! - [`probe`]: whether a service answers.

pub mod client;
pub mod manager;
pub mod probe;
pub mod recipe;
pub mod registry;

/// What can go wrong in the loop.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The registry's chaincode or the network refused or failed.
    #[error("registry: {0}")]
    Registry(#[from] weft_client_sdk::ClientError),
    /// A registry answer did not decode.
    #[error("registry answer: {0}")]
    Decode(#[from] serde_json::Error),
    /// A recovery body this manager cannot carry out.
    #[error("recipe of {service}: {reason}")]
    Recipe {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// Redeploying failed.
    #[error("redeploying {service}: {reason}")]
    Deploy {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// The service still does not answer.
    #[error("{service} does not answer at {location}: {reason}")]
    Unreachable {
        /// The service.
        service: String,
        /// Where it was called.
        location: String,
        /// Why.
        reason: String,
    },
    /// Waited too long.
    #[error("timed out waiting for {0}")]
    Timeout(String),
}
