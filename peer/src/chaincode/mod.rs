//! WASM chaincode: a wasmtime runtime, the host side of the ABI, and the
//! transaction simulator that records what a chaincode reads and writes.
//!
//! Each invocation runs in a fresh `Store` with a fuel budget and a memory
//! limit; a chaincode that loops, allocates without bound, traps or panics
//! fails its own proposal and nothing else. No clock, randomness or I/O reach
//! the guest: time is the proposal's timestamp, from `tx_info`.

mod host;
mod host_private;
pub mod installed;
mod memory_ledger;
pub mod runtime;
pub mod simulator;

pub use runtime::{
    ChaincodeRuntime, CollectionAccess, CompiledChaincode, InvocationContext, InvokeOutcome,
    RuntimeConfig,
};
pub use simulator::{MemoryLedger, MemorySimulator, Simulator, StateReader, TxSimulator};
