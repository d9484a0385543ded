//! The wasmtime runtime: one deterministic engine, modules compiled once (and
//! cached on disk), a fresh store per invocation with a fuel budget and a
//! memory limit.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use weft_common::ids::{ChaincodeName, ChannelId, MspId, TxId};

use wasmtime::{
    Config, Engine, ExternType, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, Store, Trap, ValType,
};
use weft_chaincode_abi::{ABI_VERSION, HOST_MODULE, Invocation, Response, exports, imports};

use super::host::{self, HostState};
use super::simulator::TxSimulator;
use crate::PeerError;

/// Bytes of each instance's memory kept resident between invocations: the
/// initial memory chaincode is linked with (see `package::CHAINCODE_RUSTFLAGS`).
const KEEP_RESIDENT_BYTES: usize = 128 * 1024;

/// Fuel for instantiating a module and asking its ABI version at install.
const PROBE_FUEL: u64 = 10_000_000;

/// Default fuel per invocation (`peer.limits.chaincodeFuel`): four times
/// what asset-transfer-basic's GetAllAssets burns listing 100,000 assets
/// (Fabric's `totalQueryLimit`), about two seconds of work on a 2-core VM.
pub const DEFAULT_FUEL: u64 = 10_000_000_000;

/// Default largest linear memory (`peer.limits.chaincodeMemory`): twice what
/// that GetAllAssets needs.
pub const DEFAULT_MEMORY: usize = 256 * 1024 * 1024;

/// Limits and caching of the runtime.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Fuel per invocation (roughly: WASM instructions plus host-call charges).
    pub fuel_per_invocation: u64,
    /// Largest linear memory a chaincode may grow to, in bytes.
    pub memory_limit_bytes: usize,
    /// Invocations that may run at once (instances pre-allocated by the pool).
    pub max_concurrent_instances: u32,
    /// Where compiled modules are cached (none: compile at every start).
    pub cache_dir: Option<PathBuf>,
    /// Largest response payload accepted from a chaincode, in bytes.
    pub max_response_bytes: usize,
    /// Results one range or history query returns at most (`ledger.state.totalQueryLimit`).
    pub total_query_limit: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            fuel_per_invocation: DEFAULT_FUEL,
            memory_limit_bytes: DEFAULT_MEMORY,
            max_concurrent_instances: 128,
            cache_dir: None,
            max_response_bytes: 16 * 1024 * 1024,
            total_query_limit: 100_000,
        }
    }
}

/// What a chaincode is invoked with.
#[derive(Debug, Clone, Default)]
pub struct InvocationContext {
    /// The chaincode (and its state namespace).
    pub chaincode: ChaincodeName,
    /// Function name then arguments.
    pub args: Vec<Vec<u8>>,
    /// Transaction id.
    pub tx_id: TxId,
    /// Channel.
    pub channel_id: ChannelId,
    /// Proposal timestamp (seconds, nanos).
    pub timestamp: (i64, i32),
    /// Creator's MSP id.
    pub creator_msp_id: MspId,
    /// Creator's certificate (PEM).
    pub creator_cert: Vec<u8>,
    /// Transient data.
    pub transient: BTreeMap<String, Vec<u8>>,
    /// An evaluation (writes refused, history allowed) rather than a submission.
    pub read_only: bool,
    /// The private data collections the chaincode may use, by name, with
    /// who may read and write them.
    pub collections: BTreeMap<String, CollectionAccess>,
}

/// What an invocation may do with one private data collection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectionAccess {
    /// The endorsing peer's org is a member (it holds the values).
    pub peer_is_member: bool,
    /// The client's org is a member.
    pub creator_is_member: bool,
    /// Only members' clients may read (`memberOnlyRead`).
    pub member_only_read: bool,
    /// Only members' clients may write (`memberOnlyWrite`).
    pub member_only_write: bool,
}

/// The result of an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeOutcome {
    /// The chaincode's response.
    pub response: Response,
    /// The event it set, if any: (name, payload).
    pub event: Option<(String, Vec<u8>)>,
    /// Fuel consumed (deterministic for the same input and state).
    pub fuel_used: u64,
}

/// A module that passed the install checks, compiled and ready to instantiate.
pub struct CompiledChaincode {
    /// SHA-256 of the WASM bytes.
    pub hash: [u8; 32],
    pre: InstancePre<HostState>,
}

impl std::fmt::Debug for CompiledChaincode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CompiledChaincode({})", hex::encode(&self.hash[..8]))
    }
}

/// Finds chaincodes for `invoke_chaincode`.
pub trait ChaincodeResolver: Send + Sync {
    /// The compiled module of the chaincode named `name`, if it is defined and installed.
    fn resolve(&self, name: &str) -> Option<Arc<CompiledChaincode>>;
}

/// The runtime: the engine, the linker with the host functions, and the module cache.
pub struct ChaincodeRuntime {
    engine: Engine,
    linker: Linker<HostState>,
    config: RuntimeConfig,
    compiled: RwLock<HashMap<[u8; 32], Arc<CompiledChaincode>>>,
}

impl std::fmt::Debug for ChaincodeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChaincodeRuntime")
            .field("config", &self.config)
            .finish()
    }
}

fn invalid(e: impl Into<String>) -> PeerError {
    PeerError::InvalidChaincode(e.into())
}

impl ChaincodeRuntime {
    /// A runtime with a deterministic engine: fuel metering, canonical NaNs,
    /// no threads, no relaxed SIMD, and no WASI (no clock, randomness or I/O).
    ///
    /// The on-disk module cache is the one place weft uses `unsafe` (loading a
    /// precompiled module); see `compile`.
    pub fn new(config: RuntimeConfig) -> Result<Self, PeerError> {
        let mut c = Config::new();
        c.consume_fuel(true);
        c.cranelift_nan_canonicalization(true);
        // Threads are off by construction: wasmtime is built without its `threads` feature.
        c.wasm_relaxed_simd(false);
        c.wasm_memory64(false);
        c.wasm_multi_memory(false);
        // Chaincode data segments are small: copying them into a resident slot
        // is cheaper than mapping a copy-on-write image for every instance.
        c.memory_init_cow(false);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(config.max_concurrent_instances);
        pool.total_memories(config.max_concurrent_instances);
        pool.total_tables(config.max_concurrent_instances);
        pool.max_memory_size(config.memory_limit_bytes);
        // Reset the first pages of a slot by memset instead of returning them to
        // the kernel: instantiation then does not page-fault its stack and heap
        // back in (most of an invocation's cost otherwise).
        pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES);
        pool.table_keep_resident(64 * 1024);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&c)?;
        let linker = host::linker(&engine)?;
        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir).map_err(PeerError::file(dir))?;
        }
        Ok(Self {
            engine,
            linker,
            config,
            compiled: RwLock::new(HashMap::new()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    fn cache_path(&self, hash: &[u8; 32]) -> Option<PathBuf> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        self.config
            .cache_dir
            .as_ref()
            .map(|d| d.join(format!("{}-{:016x}.cwasm", hex::encode(hash), h.finish())))
    }

    fn compile(&self, wasm: &[u8], hash: &[u8; 32]) -> Result<Module, PeerError> {
        if let Some(path) = self.cache_path(hash) {
            if path.exists() {
                // SAFETY: the file was written by `precompile_module` of an engine
                // with the same compatibility hash (it is in the file name), in a
                // directory that belongs to this peer.
                #[allow(unsafe_code)]
                let cached = unsafe { Module::deserialize_file(&self.engine, &path) };
                match cached {
                    Ok(m) => return Ok(m),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), "ignoring unusable cached module: {e}")
                    }
                }
            }
            let bytes = self
                .engine
                .precompile_module(wasm)
                .map_err(|e| invalid(format!("does not compile: {e}")))?;
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, &bytes)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .is_err()
            {
                tracing::warn!(path = %path.display(), "could not cache the compiled module");
            }
        }
        Module::new(&self.engine, wasm)
            .map_err(|e| invalid(format!("not a valid WASM module: {e}")))
    }

    /// Checks and compiles a chaincode module (at install): only imports of
    /// the ABI, the required exports with their signatures, and the ABI
    /// version this peer supports. Compiled modules are kept by hash.
    pub fn load(&self, wasm: &[u8]) -> Result<Arc<CompiledChaincode>, PeerError> {
        let hash = weft_common::crypto::sha256(wasm);
        if let Some(c) = self.compiled.read().expect("compiled lock").get(&hash) {
            return Ok(c.clone());
        }
        let module = self.compile(wasm, &hash)?;
        for import in module.imports() {
            if import.module() != HOST_MODULE || !imports::ALL.contains(&import.name()) {
                return Err(invalid(format!(
                    "imports {}.{}, which the weft ABI does not provide (allowed: module {HOST_MODULE:?}, functions {:?})",
                    import.module(),
                    import.name(),
                    imports::ALL
                )));
            }
        }
        let func = |name: &str, params: &[ValType], results: &[ValType]| -> Result<(), PeerError> {
            match module.get_export(name) {
                Some(ExternType::Func(f)) => {
                    let p: Vec<_> = f.params().map(|t| t.to_string()).collect();
                    let r: Vec<_> = f.results().map(|t| t.to_string()).collect();
                    let want_p: Vec<_> = params.iter().map(|t| t.to_string()).collect();
                    let want_r: Vec<_> = results.iter().map(|t| t.to_string()).collect();
                    if p == want_p && r == want_r {
                        Ok(())
                    } else {
                        Err(invalid(format!(
                            "export {name} has type ({}) -> ({}), expected ({}) -> ({})",
                            p.join(", "),
                            r.join(", "),
                            want_p.join(", "),
                            want_r.join(", ")
                        )))
                    }
                }
                Some(_) => Err(invalid(format!("export {name} is not a function"))),
                None => Err(invalid(format!(
                    "required export {name} is missing; build the contract with weft's chaincode SDK"
                ))),
            }
        };
        func(exports::ABI_VERSION, &[], &[ValType::I32])?;
        func(exports::ALLOC, &[ValType::I32], &[ValType::I32])?;
        func(
            exports::INVOKE,
            &[ValType::I32, ValType::I32],
            &[ValType::I64],
        )?;
        if !matches!(
            module.get_export(exports::MEMORY),
            Some(ExternType::Memory(_))
        ) {
            return Err(invalid(
                "the module exports no linear memory named \"memory\"",
            ));
        }
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|e| invalid(format!("cannot be linked: {e}")))?;
        let compiled = Arc::new(CompiledChaincode { hash, pre });
        // Ask the module which ABI it speaks.
        let mut store = self.store(HostState::probe(self.config.memory_limit_bytes));
        store.set_fuel(PROBE_FUEL)?;
        let instance = compiled
            .pre
            .instantiate(&mut store)
            .map_err(|e| invalid(format!("cannot be instantiated: {e}")))?;
        let version = instance
            .get_typed_func::<(), i32>(&mut store, exports::ABI_VERSION)
            .and_then(|f| f.call(&mut store, ()))
            .map_err(|e| invalid(format!("{} failed: {e}", exports::ABI_VERSION)))?;
        if version != ABI_VERSION {
            return Err(invalid(format!(
                "the module speaks ABI version {version}; this peer supports version {ABI_VERSION}"
            )));
        }
        self.compiled
            .write()
            .expect("compiled lock")
            .insert(hash, compiled.clone());
        Ok(compiled)
    }

    fn store(&self, state: HostState) -> Store<HostState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store
    }

    /// Runs one invocation in a fresh store. The simulator is moved in and
    /// handed back with the outcome, so its read/write set can be taken after.
    pub fn invoke(
        self: &Arc<Self>,
        chaincode: &CompiledChaincode,
        ctx: InvocationContext,
        simulator: Box<dyn TxSimulator>,
        resolver: Option<Arc<dyn ChaincodeResolver>>,
    ) -> (Result<InvokeOutcome, PeerError>, Box<dyn TxSimulator>) {
        self.invoke_at_depth(chaincode, ctx, simulator, resolver, 0)
    }

    pub(super) fn invoke_at_depth(
        self: &Arc<Self>,
        chaincode: &CompiledChaincode,
        ctx: InvocationContext,
        simulator: Box<dyn TxSimulator>,
        resolver: Option<Arc<dyn ChaincodeResolver>>,
        depth: u32,
    ) -> (Result<InvokeOutcome, PeerError>, Box<dyn TxSimulator>) {
        let name = ctx.chaincode.to_string();
        let fail = |reason: String| PeerError::Invocation {
            chaincode: name.clone(),
            reason,
        };
        let budget = self.config.fuel_per_invocation;
        let input = Invocation {
            args: ctx.args.clone(),
        }
        .encode();
        let state = HostState::new(
            ctx,
            simulator,
            Some(self.clone()),
            resolver,
            depth,
            self.config.memory_limit_bytes,
            self.config.total_query_limit,
        );
        let mut store = self.store(state);
        if let Err(e) = store.set_fuel(budget) {
            let sim = store.into_data().take_simulator();
            return (Err(fail(e.to_string())), sim);
        }
        let result = run(
            &chaincode.pre,
            &mut store,
            &input,
            self.config.max_response_bytes,
        );
        let fuel_used = budget - store.get_fuel().unwrap_or(0);
        let memory_exceeded = store.data().limits.exceeded;
        let last_error_log = store.data().last_error_log.clone();
        let (simulator, event) = store.into_data().finish();
        let outcome = match result {
            Ok(response) => Ok(InvokeOutcome {
                response,
                event,
                fuel_used,
            }),
            Err(e) => Err(fail(describe_failure(
                &e,
                memory_exceeded,
                last_error_log.as_deref(),
                budget,
                self.config.memory_limit_bytes,
            ))),
        };
        (outcome, simulator)
    }
}

/// Instantiates, passes the input, calls `weft_invoke` and reads the response.
fn run(
    pre: &InstancePre<HostState>,
    store: &mut Store<HostState>,
    input: &[u8],
    max_response: usize,
) -> wasmtime::Result<Response> {
    let instance = pre.instantiate(&mut *store)?;
    let memory = instance
        .get_memory(&mut *store, exports::MEMORY)
        .ok_or_else(|| wasmtime::Error::msg("no memory export"))?;
    let alloc = instance.get_typed_func::<i32, i32>(&mut *store, exports::ALLOC)?;
    let invoke = instance.get_typed_func::<(i32, i32), i64>(&mut *store, exports::INVOKE)?;
    let len = i32::try_from(input.len()).map_err(|_| wasmtime::Error::msg("input too large"))?;
    let ptr = alloc.call(&mut *store, len)?;
    memory
        .write(&mut *store, ptr as u32 as usize, input)
        .map_err(|_| wasmtime::Error::msg("weft_alloc returned a buffer outside memory"))?;
    let packed = invoke.call(&mut *store, (ptr, len))?;
    let (rptr, rlen) = weft_chaincode_abi::unpack(packed);
    if rlen as usize > max_response {
        return Err(wasmtime::Error::msg(format!(
            "response of {rlen} bytes exceeds the limit of {max_response}"
        )));
    }
    let mut out = vec![0u8; rlen as usize];
    memory
        .read(&*store, rptr as usize, &mut out)
        .map_err(|_| wasmtime::Error::msg("weft_invoke returned a response outside memory"))?;
    Response::decode(&out)
        .ok_or_else(|| wasmtime::Error::msg("weft_invoke returned bytes that are not a response"))
}

/// A sentence for a failed invocation: fuel, memory, trap or host refusal.
fn describe_failure(
    e: &wasmtime::Error,
    memory_exceeded: bool,
    last_error_log: Option<&str>,
    fuel: u64,
    memory: usize,
) -> String {
    if memory_exceeded {
        return format!(
            "exceeded the memory limit of {} MiB",
            memory / (1024 * 1024)
        );
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => {
            format!("ran out of fuel (budget {fuel}): it loops or does too much work")
        }
        Some(Trap::UnreachableCodeReached) => match last_error_log {
            Some(msg) if msg.starts_with("chaincode panicked") => msg.to_string(),
            _ => "trapped: unreachable code reached (a Rust panic aborts this way)".into(),
        },
        Some(t) => format!("trapped: {t}"),
        None => format!("{e:#}"),
    }
}
