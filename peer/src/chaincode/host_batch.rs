//! Many keys in one host call (Fabric 3.1's `GetMultipleStates`,
//! `GetMultiplePrivateData` and write batches): each key is read or written
//! exactly as by its one-key call, with the same checks and records, but the
//! guest crosses into the host once.

use wasmtime::Linker;
use weft_chaincode_abi::{
    ErrorCode, HOST_MODULE, decode_keys, decode_writes, encode_values, imports as abi,
};

use super::host::{
    BYTE_COST, CALL_COST, Ctx, HostState, ITEM_COST, answer_write, charge, read_bytes, set_result,
    sim,
};
use super::host_private::{collection, may_serve_values};

/// The keys a call names, charged per key and byte.
fn keys_of(c: &mut Ctx<'_>, kp: i32, kl: i32) -> wasmtime::Result<Result<Vec<String>, i64>> {
    let bytes = match read_bytes(c, kp, kl) {
        Ok(b) => b,
        Err(code) => return Ok(Err(code)),
    };
    let Some(keys) = decode_keys(&bytes) else {
        return Ok(Err(ErrorCode::InvalidArgument.as_return()));
    };
    charge(c, keys.len() as u64 * ITEM_COST)?;
    Ok(Ok(keys))
}

/// Links the batched host functions.
pub(super) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        HOST_MODULE,
        abi::GET_MULTIPLE_STATES,
        |mut c: Ctx<'_>, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            charge(&mut c, CALL_COST + kl.max(0) as u64 * BYTE_COST)?;
            let keys = try_code!(keys_of(&mut c, kp, kl)?);
            let (s, ns) = sim(&mut c);
            let mut values = Vec::with_capacity(keys.len());
            for key in &keys {
                match s.get_state(&ns, key) {
                    Ok(v) => values.push(v),
                    Err(e) => {
                        tracing::warn!("{}: {e}", abi::GET_MULTIPLE_STATES);
                        return Ok(ErrorCode::Internal.as_return());
                    }
                }
            }
            set_result(&mut c, encode_values(&values))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::GET_MULTIPLE_PRIVATE_DATA,
        |mut c: Ctx<'_>, cp: i32, cl: i32, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + kl.max(0)) as u64 * BYTE_COST,
            )?;
            let call = abi::GET_MULTIPLE_PRIVATE_DATA;
            let (coll, access) = try_code!(collection(&mut c, call, (cp, cl)));
            let keys = try_code!(keys_of(&mut c, kp, kl)?);
            try_code!(may_serve_values(&c, call, &coll, access));
            let (s, ns) = sim(&mut c);
            let mut values = Vec::with_capacity(keys.len());
            for key in &keys {
                match s.get_private_data(&ns, &coll, key) {
                    Ok(v) => values.push(v),
                    Err(e) => {
                        tracing::warn!("{call}: {e}");
                        return Ok(ErrorCode::Internal.as_return());
                    }
                }
            }
            set_result(&mut c, encode_values(&values))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::PUT_STATES,
        |mut c: Ctx<'_>, wp: i32, wl: i32| -> wasmtime::Result<i32> {
            charge(&mut c, CALL_COST + wl.max(0) as u64 * BYTE_COST)?;
            let bytes = match read_bytes(&mut c, wp, wl) {
                Ok(b) => b,
                Err(code) => return Ok(code as i32),
            };
            let Some(writes) = decode_writes(&bytes) else {
                return Ok(ErrorCode::InvalidArgument.as_return() as i32);
            };
            charge(&mut c, writes.len() as u64 * ITEM_COST)?;
            // All or nothing: an empty key anywhere refuses the batch first.
            if writes.iter().any(|(k, _)| k.is_empty()) {
                return Ok(ErrorCode::InvalidArgument.as_return() as i32);
            }
            let done = {
                let (s, ns) = sim(&mut c);
                writes.into_iter().try_for_each(|(key, value)| match value {
                    Some(v) => s.put_state(&ns, &key, v),
                    None => s.del_state(&ns, &key),
                })
            };
            Ok(answer_write(&c, abi::PUT_STATES, done))
        },
    )?;
    Ok(())
}
