//! The host functions: the weft ABI as seen from the peer. Each charges fuel
//! for its work before doing it, validates every pointer the guest passes, and
//! reaches state only through the [`TxSimulator`], in the invoked chaincode's
//! own namespace. (One file on purpose: every host function's checks and
//! charges are read side by side, as the ABI lists them.)

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use wasmtime::{Caller, Engine, Extern, Linker, ResourceLimiter};
use weft_chaincode_abi::{
    ErrorCode, HOST_MODULE, Invocation, Response, TxInfo, encode_history, encode_kv,
    imports as abi, log_level,
};

use super::runtime::{ChaincodeResolver, ChaincodeRuntime, InvocationContext};
use super::simulator::TxSimulator;
use weft_protos::kvrwset::KvMetadataEntry;

/// Fuel charged for any host call.
pub(super) const CALL_COST: u64 = 1_000;
/// Fuel charged per byte moved across the boundary or through the ledger.
pub(super) const BYTE_COST: u64 = 1;
/// Fuel charged per item a range or history query returns.
pub(super) const ITEM_COST: u64 = 500;
/// Deepest chain of chaincode-to-chaincode calls.
const MAX_CALL_DEPTH: u32 = 8;
/// Most iterators open at once in one invocation.
pub(super) const MAX_ITERATORS: usize = 64;
/// Results a range or history iterator reads from the ledger at a time
/// (Fabric's shim pages by 100 too): no query holds more in memory.
const PAGE: usize = 100;

/// What an open iterator reads from.
pub(super) enum Source {
    /// A range query of the simulator (by its handle).
    Range(usize),
    /// A key's history, from this cursor on.
    History {
        key: String,
        cursor: Option<Vec<u8>>,
    },
    /// A rich query's results, all fetched when it was opened.
    Fetched,
}

/// An iterator of the guest: its source, the page fetched and not yet
/// returned, and how many results it has returned (at most the
/// `total_query_limit`).
pub(super) struct OpenIterator {
    source: Source,
    page: VecDeque<Vec<u8>>,
    returned: usize,
    done: bool,
    /// A paginated rich query's metadata.
    pub(super) metadata: Option<weft_chaincode_abi::QueryMetadata>,
}

/// An event a chaincode set: (name, payload).
pub type Event = (String, Vec<u8>);

/// The memory limiter of one store.
pub struct Limits {
    max_memory: usize,
    /// Set when the guest tried to grow past the limit.
    pub exceeded: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.exceeded = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded",
                self.max_memory
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Per-invocation host state.
pub struct HostState {
    pub(super) ctx: InvocationContext,
    sim: Option<Box<dyn TxSimulator>>,
    runtime: Option<Arc<ChaincodeRuntime>>,
    resolver: Option<Arc<dyn ChaincodeResolver>>,
    depth: u32,
    result: Vec<u8>,
    iterators: HashMap<i32, OpenIterator>,
    next_iterator: i32,
    /// Results one query returns at most (`ledger.state.totalQueryLimit`).
    query_limit: usize,
    event: Option<Event>,
    /// The store's memory limiter.
    pub limits: Limits,
    /// The guest's last error-level log line (the SDK logs a panic's message
    /// there before aborting), to name the cause of a trap.
    pub last_error_log: Option<String>,
    /// Why the last refused rich query was refused (`last_error`).
    pub(super) last_refusal: Option<String>,
}

/// A simulator for stores that never touch state (the ABI-version probe).
struct NoState;

fn no_state() -> crate::PeerError {
    crate::PeerError::Ledger("no state during install checks".into())
}

impl TxSimulator for NoState {
    fn get_state(&mut self, _: &str, _: &str) -> Result<Option<Vec<u8>>, crate::PeerError> {
        Err(no_state())
    }
    fn put_state(&mut self, _: &str, _: &str, _: Vec<u8>) -> Result<(), crate::PeerError> {
        Err(no_state())
    }
    fn del_state(&mut self, _: &str, _: &str) -> Result<(), crate::PeerError> {
        Err(no_state())
    }
    fn get_state_metadata(
        &mut self,
        _: &str,
        _: &str,
    ) -> Result<Vec<KvMetadataEntry>, crate::PeerError> {
        Err(no_state())
    }
    fn set_state_metadata(
        &mut self,
        _: &str,
        _: &str,
        _: Vec<KvMetadataEntry>,
    ) -> Result<(), crate::PeerError> {
        Err(no_state())
    }
    fn get_private_data(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Option<Vec<u8>>, crate::PeerError> {
        Err(no_state())
    }
    fn get_private_data_hash(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Option<Vec<u8>>, crate::PeerError> {
        Err(no_state())
    }
    fn put_private_data(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
        _: Option<Vec<u8>>,
    ) -> Result<(), crate::PeerError> {
        Err(no_state())
    }
    fn purge_private_data(&mut self, _: &str, _: &str, _: &str) -> Result<(), crate::PeerError> {
        Err(no_state())
    }
    fn get_private_metadata(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<Vec<KvMetadataEntry>, crate::PeerError> {
        Err(no_state())
    }
    fn set_private_metadata(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
        _: Vec<KvMetadataEntry>,
    ) -> Result<(), crate::PeerError> {
        Err(no_state())
    }
    fn private_writes(&self) -> Option<weft_protos::rwset::TxPvtReadWriteSet> {
        None
    }
    fn open_range(&mut self, _: &str, _: &str, _: &str) -> usize {
        0
    }
    fn range_page(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
        _: usize,
    ) -> Result<super::simulator::RangePage, crate::PeerError> {
        Err(no_state())
    }
    fn private_rich_query(
        &mut self,
        _: &str,
        _: &str,
        _: &weft_chaincode_query::Query,
        _: super::simulator::QueryLimits,
    ) -> Result<super::simulator::QueryOutcome, crate::PeerError> {
        Err(no_state())
    }
    fn rich_query(
        &mut self,
        _: &str,
        _: &weft_chaincode_query::Query,
        _: Option<(usize, &str)>,
        _: super::simulator::QueryLimits,
    ) -> Result<super::simulator::QueryOutcome, crate::PeerError> {
        Err(no_state())
    }
    fn open_private_range(
        &mut self,
        _: &str,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<usize, crate::PeerError> {
        Err(no_state())
    }
    fn next_range(
        &mut self,
        _: usize,
        _: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, crate::PeerError> {
        Err(no_state())
    }
    fn history_page(
        &mut self,
        _: &str,
        _: &str,
        _: Option<&[u8]>,
        _: usize,
    ) -> Result<super::simulator::HistoryPage, crate::PeerError> {
        Err(no_state())
    }
    fn rwset(&self) -> weft_protos::rwset::TxReadWriteSet {
        Default::default()
    }
}

impl HostState {
    /// How many iterators the guest holds open.
    pub(super) fn iterators_open(&self) -> usize {
        self.iterators.len()
    }

    /// Results one query returns at most (`ledger.state.totalQueryLimit`).
    pub(super) fn query_limit(&self) -> usize {
        self.query_limit
    }

    /// The metadata of iterator `id`, if it is a paginated rich query's.
    pub(super) fn query_metadata(&self, id: i32) -> Option<&weft_chaincode_abi::QueryMetadata> {
        self.iterators.get(&id)?.metadata.as_ref()
    }

    pub(super) fn new(
        ctx: InvocationContext,
        sim: Box<dyn TxSimulator>,
        runtime: Option<Arc<ChaincodeRuntime>>,
        resolver: Option<Arc<dyn ChaincodeResolver>>,
        depth: u32,
        max_memory: usize,
        query_limit: usize,
    ) -> Self {
        Self {
            ctx,
            sim: Some(sim),
            runtime,
            resolver,
            depth,
            result: Vec::new(),
            iterators: HashMap::new(),
            next_iterator: 1,
            query_limit,
            event: None,
            last_error_log: None,
            last_refusal: None,
            limits: Limits {
                max_memory,
                exceeded: false,
            },
        }
    }

    pub(super) fn probe(max_memory: usize) -> Self {
        Self::new(
            InvocationContext::default(),
            Box::new(NoState),
            None,
            None,
            0,
            max_memory,
            0,
        )
    }

    /// The simulator back (for a failed set-up).
    pub(super) fn take_simulator(mut self) -> Box<dyn TxSimulator> {
        self.sim.take().unwrap_or_else(|| Box::new(NoState))
    }

    /// The simulator and the event after the invocation.
    pub(super) fn finish(mut self) -> (Box<dyn TxSimulator>, Option<Event>) {
        (
            self.sim.take().unwrap_or_else(|| Box::new(NoState)),
            self.event.take(),
        )
    }
}

pub(super) type Ctx<'a> = Caller<'a, HostState>;

pub(super) fn charge(caller: &mut Ctx<'_>, cost: u64) -> wasmtime::Result<()> {
    let fuel = caller.get_fuel()?;
    if fuel < cost {
        caller.set_fuel(0)?;
        return Err(wasmtime::Trap::OutOfFuel.into());
    }
    caller.set_fuel(fuel - cost)?;
    Ok(())
}

pub(super) fn read_bytes(caller: &mut Ctx<'_>, ptr: i32, len: i32) -> Result<Vec<u8>, i64> {
    let Some(Extern::Memory(mem)) = caller.get_export("memory") else {
        return Err(ErrorCode::Internal.as_return());
    };
    let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
    let data = mem.data(&*caller);
    match ptr.checked_add(len) {
        Some(end) if end <= data.len() => Ok(data[ptr..end].to_vec()),
        _ => Err(ErrorCode::InvalidArgument.as_return()),
    }
}

pub(super) fn read_str(caller: &mut Ctx<'_>, ptr: i32, len: i32) -> Result<String, i64> {
    String::from_utf8(read_bytes(caller, ptr, len)?)
        .map_err(|_| ErrorCode::InvalidArgument.as_return())
}

/// Puts bytes in the result buffer; returns their length.
pub(super) fn set_result(caller: &mut Ctx<'_>, bytes: Vec<u8>) -> wasmtime::Result<i64> {
    charge(caller, bytes.len() as u64 * BYTE_COST)?;
    let len = bytes.len() as i64;
    caller.data_mut().result = bytes;
    Ok(len)
}

/// A lookup's answer to the guest: the value in the result buffer (its
/// length returned), NOT_FOUND, or INTERNAL with the cause logged.
pub(super) fn answer_lookup<E: std::fmt::Display>(
    caller: &mut Ctx<'_>,
    call: &str,
    found: Result<Option<Vec<u8>>, E>,
) -> wasmtime::Result<i64> {
    match found {
        Ok(Some(v)) => set_result(caller, v),
        Ok(None) => Ok(ErrorCode::NotFound.as_return()),
        Err(e) => {
            tracing::warn!("{call}: {e}");
            Ok(ErrorCode::Internal.as_return())
        }
    }
}

/// A write's answer to the guest: 0, UNSUPPORTED (a write after a
/// private-data query), or INTERNAL; the cause is logged.
pub(super) fn answer_write(c: &Ctx<'_>, call: &str, done: Result<(), crate::PeerError>) -> i32 {
    match done {
        Ok(()) => 0,
        Err(e) => {
            tracing::warn!(chaincode = %c.data().ctx.chaincode, "{call}: {e}");
            match e {
                crate::PeerError::UnsupportedTransaction(_) => ErrorCode::Unsupported,
                _ => ErrorCode::Internal,
            }
            .as_return() as i32
        }
    }
}

pub(super) fn sim<'a>(caller: &'a mut Ctx<'_>) -> (&'a mut dyn TxSimulator, String) {
    let data = caller.data_mut();
    let ns = data.ctx.chaincode.to_string();
    (
        data.sim
            .as_deref_mut()
            .expect("the simulator is present during an invocation"),
        ns,
    )
}

/// The linker with every host function of the ABI.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut l = Linker::new(engine);

    l.func_wrap(
        HOST_MODULE,
        abi::GET_STATE,
        |mut c: Ctx<'_>, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST + kl.max(0) as u64 * BYTE_COST)?;
            let key = try_code!(read_str(&mut c, kp, kl));
            let (s, ns) = sim(&mut c);
            let found = s.get_state(&ns, &key);
            answer_lookup(&mut c, "get_state", found)
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::PUT_STATE,
        |mut c: Ctx<'_>, kp: i32, kl: i32, vp: i32, vl: i32| -> wasmtime::Result<i32> {
            charge(
                &mut c,
                CALL_COST + (kl.max(0) + vl.max(0)) as u64 * BYTE_COST,
            )?;
            let key = match read_str(&mut c, kp, kl) {
                Ok(k) if !k.is_empty() => k,
                _ => return Ok(ErrorCode::InvalidArgument.as_return() as i32),
            };
            let value = match read_bytes(&mut c, vp, vl) {
                Ok(v) => v,
                Err(code) => return Ok(code as i32),
            };
            let (s, ns) = sim(&mut c);
            let done = s.put_state(&ns, &key, value);
            Ok(answer_write(&c, abi::PUT_STATE, done))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::DEL_STATE,
        |mut c: Ctx<'_>, kp: i32, kl: i32| -> wasmtime::Result<i32> {
            charge(&mut c, CALL_COST + kl.max(0) as u64 * BYTE_COST)?;
            let key = match read_str(&mut c, kp, kl) {
                Ok(k) if !k.is_empty() => k,
                _ => return Ok(ErrorCode::InvalidArgument.as_return() as i32),
            };
            let (s, ns) = sim(&mut c);
            let done = s.del_state(&ns, &key);
            Ok(answer_write(&c, abi::DEL_STATE, done))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::GET_STATE_VALIDATION_PARAMETER,
        |mut c: Ctx<'_>, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST + kl.max(0) as u64 * BYTE_COST)?;
            let key = try_code!(read_str(&mut c, kp, kl));
            let (s, ns) = sim(&mut c);
            match s.get_state_metadata(&ns, &key) {
                Ok(entries) => match crate::ledger::validation_parameter(&entries) {
                    Some(p) => {
                        let p = p.to_vec();
                        set_result(&mut c, p)
                    }
                    None => Ok(ErrorCode::NotFound.as_return()),
                },
                Err(e) => {
                    tracing::warn!("get_state_validation_parameter: {e}");
                    Ok(ErrorCode::Internal.as_return())
                }
            }
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::SET_STATE_VALIDATION_PARAMETER,
        |mut c: Ctx<'_>, kp: i32, kl: i32, pp: i32, pl: i32| -> wasmtime::Result<i32> {
            charge(
                &mut c,
                CALL_COST + (kl.max(0) + pl.max(0)) as u64 * BYTE_COST,
            )?;
            let key = match read_str(&mut c, kp, kl) {
                Ok(k) if !k.is_empty() => k,
                _ => return Ok(ErrorCode::InvalidArgument.as_return() as i32),
            };
            let policy = match read_bytes(&mut c, pp, pl) {
                Ok(v) => v,
                Err(code) => return Ok(code as i32),
            };
            // As Fabric's handler: the key's metadata becomes this one entry.
            let entries = vec![KvMetadataEntry {
                name: crate::ledger::VALIDATION_PARAMETER.into(),
                value: policy,
            }];
            let (s, ns) = sim(&mut c);
            let done = s.set_state_metadata(&ns, &key, entries);
            Ok(answer_write(&c, abi::SET_STATE_VALIDATION_PARAMETER, done))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::RANGE_OPEN,
        |mut c: Ctx<'_>, sp: i32, sl: i32, ep: i32, el: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST)?;
            let start = try_code!(read_str(&mut c, sp, sl));
            let end = try_code!(read_str(&mut c, ep, el));
            if c.data().iterators.len() >= MAX_ITERATORS {
                return Ok(ErrorCode::Forbidden.as_return());
            }
            let (s, ns) = sim(&mut c);
            let query = s.open_range(&ns, &start, &end);
            Ok(open_iterator(&mut c, Source::Range(query)))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::HISTORY_OPEN,
        |mut c: Ctx<'_>, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST)?;
            if !c.data().ctx.read_only {
                // History is not part of a read set; it would make validation depend on it.
                return Ok(ErrorCode::Forbidden.as_return());
            }
            let key = try_code!(read_str(&mut c, kp, kl));
            if c.data().iterators.len() >= MAX_ITERATORS {
                return Ok(ErrorCode::Forbidden.as_return());
            }
            Ok(open_iterator(&mut c, Source::History { key, cursor: None }))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::ITER_NEXT,
        |mut c: Ctx<'_>, id: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST)?;
            let fetched = match next_page(c.data_mut(), id) {
                Ok(bytes) => bytes,
                Err(code) => return Ok(code.as_return()),
            };
            charge(&mut c, fetched)?;
            let next = c
                .data_mut()
                .iterators
                .get_mut(&id)
                .and_then(|it| it.page.pop_front());
            match next {
                Some(item) => set_result(&mut c, item),
                None => Ok(ErrorCode::Done.as_return()),
            }
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::ITER_CLOSE,
        |mut c: Ctx<'_>, id: i32| -> wasmtime::Result<i32> {
            charge(&mut c, CALL_COST)?;
            Ok(if c.data_mut().iterators.remove(&id).is_some() {
                0
            } else {
                ErrorCode::NoSuchIterator.as_return() as i32
            })
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::TX_INFO,
        |mut c: Ctx<'_>, kind: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST)?;
            let ctx = &c.data().ctx;
            let bytes = match TxInfo::from_i32(kind) {
                Some(TxInfo::TxId) => ctx.tx_id.as_str().as_bytes().to_vec(),
                Some(TxInfo::ChannelId) => ctx.channel_id.as_str().as_bytes().to_vec(),
                Some(TxInfo::Timestamp) => {
                    let mut b = ctx.timestamp.0.to_le_bytes().to_vec();
                    b.extend_from_slice(&ctx.timestamp.1.to_le_bytes());
                    b
                }
                Some(TxInfo::CreatorMspId) => ctx.creator_msp_id.as_str().as_bytes().to_vec(),
                Some(TxInfo::CreatorCert) => ctx.creator_cert.clone(),
                Some(TxInfo::ReadOnly) => vec![u8::from(ctx.read_only)],
                None => return Ok(ErrorCode::InvalidArgument.as_return()),
            };
            set_result(&mut c, bytes)
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::GET_TRANSIENT,
        |mut c: Ctx<'_>, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST)?;
            let key = try_code!(read_str(&mut c, kp, kl));
            match c.data().ctx.transient.get(&key).cloned() {
                Some(v) => set_result(&mut c, v),
                None => Ok(ErrorCode::NotFound.as_return()),
            }
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::SET_EVENT,
        |mut c: Ctx<'_>, np: i32, nl: i32, pp: i32, pl: i32| -> wasmtime::Result<i32> {
            charge(
                &mut c,
                CALL_COST + (nl.max(0) + pl.max(0)) as u64 * BYTE_COST,
            )?;
            let name = match read_str(&mut c, np, nl) {
                Ok(n) if !n.is_empty() => n,
                _ => return Ok(ErrorCode::InvalidArgument.as_return() as i32),
            };
            let payload = match read_bytes(&mut c, pp, pl) {
                Ok(p) => p,
                Err(code) => return Ok(code as i32),
            };
            c.data_mut().event = Some((name, payload));
            Ok(0)
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::INVOKE_CHAINCODE,
        |mut c: Ctx<'_>, np: i32, nl: i32, ap: i32, al: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST * 10)?;
            let name = try_code!(read_str(&mut c, np, nl));
            let args = try_code!(read_bytes(&mut c, ap, al));
            let Some(inv) = Invocation::decode(&args) else {
                return Ok(ErrorCode::InvalidArgument.as_return());
            };
            let depth = c.data().depth;
            if depth + 1 >= MAX_CALL_DEPTH {
                let r = Response::error(format!(
                    "chaincode calls nested deeper than {MAX_CALL_DEPTH}"
                ));
                return set_result(&mut c, r.encode());
            }
            let (Some(runtime), Some(resolver)) =
                (c.data().runtime.clone(), c.data().resolver.clone())
            else {
                return Ok(ErrorCode::NotFound.as_return());
            };
            let Some(target) = resolver.resolve(&name) else {
                return Ok(ErrorCode::NotFound.as_return());
            };
            let mut ctx = c.data().ctx.clone();
            ctx.chaincode = name.into();
            ctx.args = inv.args;
            let sim = c
                .data_mut()
                .sim
                .take()
                .expect("the simulator is present during an invocation");
            let (outcome, sim) =
                runtime.invoke_at_depth(&target, ctx, sim, Some(resolver), depth + 1);
            c.data_mut().sim = Some(sim);
            let response = match outcome {
                Ok(o) => {
                    charge(&mut c, o.fuel_used)?;
                    o.response
                }
                Err(e) => Response::error(e.to_string()),
            };
            set_result(&mut c, response.encode())
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::LOG,
        |mut c: Ctx<'_>, level: i32, mp: i32, ml: i32| -> wasmtime::Result<()> {
            charge(&mut c, CALL_COST + ml.max(0) as u64 * BYTE_COST)?;
            let Ok(msg) = read_bytes(&mut c, mp, ml) else {
                return Ok(());
            };
            let msg = String::from_utf8_lossy(&msg);
            let cc = c.data().ctx.chaincode.clone();
            if level == log_level::ERROR {
                c.data_mut().last_error_log = Some(msg.chars().take(1024).collect());
            }
            match level {
                log_level::ERROR => tracing::error!(target: "chaincode", chaincode = %cc, "{msg}"),
                log_level::WARN => tracing::warn!(target: "chaincode", chaincode = %cc, "{msg}"),
                log_level::INFO => tracing::info!(target: "chaincode", chaincode = %cc, "{msg}"),
                _ => tracing::debug!(target: "chaincode", chaincode = %cc, "{msg}"),
            }
            Ok(())
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::READ_RESULT,
        |mut c: Ctx<'_>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            charge(&mut c, CALL_COST)?;
            let result = std::mem::take(&mut c.data_mut().result);
            if (len as u32 as usize) < result.len() {
                c.data_mut().result = result;
                return Ok(ErrorCode::BufferTooSmall.as_return() as i32);
            }
            let Some(Extern::Memory(mem)) = c.get_export("memory") else {
                return Ok(ErrorCode::Internal.as_return() as i32);
            };
            if mem.write(&mut c, ptr as u32 as usize, &result).is_err() {
                return Ok(ErrorCode::InvalidArgument.as_return() as i32);
            }
            Ok(result.len() as i32)
        },
    )?;

    super::host_private::link(&mut l)?;
    super::host_query::link(&mut l)?;
    super::host_batch::link(&mut l)?;
    Ok(l)
}

/// Registers an iterator over `source`; its results are read when the guest asks.
pub(super) fn open_iterator(c: &mut Ctx<'_>, source: Source) -> i64 {
    let data = c.data_mut();
    let id = data.next_iterator;
    data.next_iterator += 1;
    data.iterators.insert(
        id,
        OpenIterator {
            source,
            page: VecDeque::new(),
            returned: 0,
            done: false,
            metadata: None,
        },
    );
    id as i64
}

/// Registers an iterator over results already fetched (a rich query's),
/// with the metadata of a paginated query.
pub(super) fn open_fetched(
    c: &mut Ctx<'_>,
    items: Vec<Vec<u8>>,
    metadata: Option<weft_chaincode_abi::QueryMetadata>,
) -> i64 {
    let id = open_iterator(c, Source::Fetched);
    if let Some(it) = c.data_mut().iterators.get_mut(&(id as i32)) {
        it.returned = items.len();
        it.page = items.into();
        it.done = true;
        it.metadata = metadata;
    }
    id
}

/// Reads iterator `id`'s next page from the ledger if it has none left and
/// may return more; returns the fuel it costs (per item and byte).
fn next_page(data: &mut HostState, id: i32) -> Result<u64, ErrorCode> {
    let HostState {
        sim,
        iterators,
        ctx,
        query_limit,
        ..
    } = data;
    let it = iterators.get_mut(&id).ok_or(ErrorCode::NoSuchIterator)?;
    if !it.page.is_empty() || it.done {
        return Ok(0);
    }
    let want = PAGE.min(query_limit.saturating_sub(it.returned));
    if want == 0 {
        // `ledger.state.totalQueryLimit` reached: the query ends here, as in Fabric.
        it.done = true;
        return Ok(0);
    }
    let sim = sim.as_deref_mut().ok_or(ErrorCode::Internal)?;
    let (items, cost): (Vec<Vec<u8>>, u64) = match &mut it.source {
        Source::Range(query) => {
            let page = sim
                .next_range(*query, want)
                .map_err(|_| ErrorCode::Internal)?;
            let cost = page
                .iter()
                .map(|(k, v)| ITEM_COST + (k.len() + v.len()) as u64 * BYTE_COST)
                .sum();
            (page.iter().map(|(k, v)| encode_kv(k, v)).collect(), cost)
        }
        Source::Fetched => (Vec::new(), 0),
        Source::History { key, cursor } => {
            let (page, next) = sim
                .history_page(ctx.chaincode.as_str(), key, cursor.as_deref(), want)
                .map_err(|_| ErrorCode::Internal)?;
            if next.is_none() {
                it.done = true;
            }
            *cursor = next;
            let cost = page
                .iter()
                .map(|m| ITEM_COST + m.value.len() as u64 * BYTE_COST)
                .sum();
            (page.iter().map(encode_history).collect(), cost)
        }
    };
    if items.len() < want {
        it.done = true;
    }
    it.returned += items.len();
    it.page = items.into();
    Ok(cost)
}
