//! The SDK and host ABI for chaincode written in Rust and run as WASM in the peer.
//! **Not implemented yet** (issue: WASM chaincode); this crate is empty on purpose.
