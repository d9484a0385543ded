//! weft's client SDK: what a backend server uses to transact on a weft (or
//! Fabric) network.
//!
//! It speaks Fabric's Gateway protocol (`gateway.Gateway` on the peer's
//! port), so the same code works against weft peers and against Fabric 2.4+
//! peers. The shape follows Fabric's own Gateway SDKs:
//!
//! ```no_run
//! # async fn demo() -> Result<(), weft_client_sdk::ClientError> {
//! use weft_client_sdk::{Gateway, Tls, identity};
//! let (id, signer) = identity::load_msp("users/User1@org1.example.com/msp".as_ref(), "Org1MSP")?;
//! let tls = Tls::from_files("tlsca/tlsca.org1.example.com-cert.pem".as_ref(), None)?;
//! let gateway = Gateway::connect("127.0.0.1:7051", id, Some(signer), Some(tls)).await?;
//! let contract = gateway.network("mychannel").contract("basic");
//! contract.submit_transaction("CreateAsset", &["a1", "blue", "5", "Tom", "100"]).await?;
//! let json = contract.evaluate_transaction("ReadAsset", &["a1"]).await?;
//! # Ok(()) }
//! ```
//!
//! - [`Contract::submit_transaction`] endorses, submits and waits for the
//!   commit; [`Contract::submit_async`] returns once the orderer has the
//!   transaction, with a [`Commit`] to ask for its status later.
//! - The staged flow ([`Contract::new_proposal`] → [`Proposal::endorse`] →
//!   [`Transaction::submit`] → [`Commit::status`]) adds transient data and a
//!   choice of endorsing organisations.
//! - Offline signing: with no signer, every signable ([`Proposal`],
//!   [`Transaction`], [`Commit`]) exposes `bytes()` and `digest()` and takes
//!   `with_signature(..)`; each serialises so that another process can sign it.
//! - Events: [`Network::chaincode_events`] and [`Network::block_events`], with
//!   a [`checkpoint::FileCheckpointer`] that resumes after a restart.
//! - Errors are typed ([`ClientError`]) and carry the gateway's per-peer
//!   details and, for a failed commit, the validation code;
//!   [`retry::submit_with_retry`] retries MVCC conflicts; [`bulk`] submits
//!   large batches exactly once with a journal.

pub mod bulk;
pub mod checkpoint;
pub mod connection;
pub mod contract;
pub mod error;
pub mod events;
pub mod gateway;
pub mod identity;
pub mod proposal;
pub mod retry;
pub mod transaction;

pub use connection::Tls;
pub use contract::Contract;
pub use error::{ClientError, GatewayFailure};
pub use events::{BlockEvents, ChaincodeEvent, ChaincodeEvents};
pub use gateway::{Gateway, Network, Timeouts};
pub use proposal::{Proposal, ProposalRequest};
pub use transaction::{Commit, Status, Transaction};
pub use weft_protos::gateway::ErrorDetail;
pub use weft_protos::protos::TxValidationCode;
