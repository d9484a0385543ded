//! WASM chaincode: a wasmtime runtime, the host side of the ABI, and the
//! transaction simulator that records what a chaincode reads and writes.
//!
//! Each invocation runs in a fresh `Store` with a fuel budget and a memory
//! limit; a chaincode that loops, allocates without bound, traps or panics
//! fails its own proposal and nothing else. No clock, randomness or I/O reach
//! the guest: time is the proposal's timestamp, from `tx_info`.

/// The value of a host-side `Result<T, i64>`, or the host function returns
/// the error code to the guest.
macro_rules! try_code {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return Ok(code as _),
        }
    };
}

mod host;
mod host_batch;
mod host_private;
mod host_query;
pub mod installed;
mod memory_ledger;
pub mod runtime;
pub mod simulator;

pub use runtime::{
    ChaincodeRuntime, CollectionAccess, CompiledChaincode, InvocationContext, InvokeOutcome,
    RuntimeConfig,
};
pub use simulator::{MemoryLedger, MemorySimulator, Simulator, StateReader, TxSimulator};
