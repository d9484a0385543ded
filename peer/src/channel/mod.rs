//! A channel the peer has joined: its ledger, committer and block delivery.

pub mod commit;
pub mod commit_hash;
pub mod delivery;
pub mod pending;
pub mod private;
pub mod transient;
pub mod tx_waiters;
pub mod verify;

pub use commit::{BlockCommitted, Committer};
pub use verify::{BadBlock, verify_block};
