//! The weft peer: ledger in RocksDB, validation and commit, endorsement, WASM chaincode runtime,
//! Gateway. **Not implemented yet** (issues: Peer ledger, Peer endorsement/Gateway, WASM chaincode);
//! this crate is empty on purpose.
