//! The client SDK for backend servers (Gateway → Network → Contract, events, bulk submission).
//! **Not implemented yet** (issue: Client SDK); `weft_common::tx` already builds and signs
//! proposals and transactions.
