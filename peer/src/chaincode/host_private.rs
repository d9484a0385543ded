//! The private-data host functions (Fabric's `GetPrivateData`,
//! `GetPrivateDataHash`, `PutPrivateData`, `DelPrivateData`,
//! `PurgePrivateData`, `GetPrivateDataByRange`,
//! `Get`/`SetPrivateDataValidationParameter`), with the
//! access rules of Fabric's chaincode handler: the collection must be one
//! the chaincode defines (or an org's implicit collection), `memberOnlyRead`
//! and `memberOnlyWrite` keep other orgs' clients out, and a peer outside
//! the collection serves no private values — only their hashes.

use wasmtime::Linker;
use weft_chaincode_abi::{ErrorCode, HOST_MODULE, imports as abi};
use weft_protos::kvrwset::KvMetadataEntry;

use super::host::{
    BYTE_COST, CALL_COST, Ctx, HostState, MAX_ITERATORS, Source, answer_lookup, answer_write,
    charge, open_iterator, read_bytes, read_str, sim,
};
use super::runtime::CollectionAccess;

/// The collection and key a call names, if the collection is one this
/// chaincode may use.
fn target(
    c: &mut Ctx<'_>,
    call: &str,
    coll: (i32, i32),
    (kp, kl): (i32, i32),
) -> Result<(String, String, CollectionAccess), i64> {
    let (collection, access) = collection(c, call, coll)?;
    let key = read_str(c, kp, kl)?;
    if key.is_empty() {
        return Err(ErrorCode::InvalidArgument.as_return());
    }
    Ok((collection, key, access))
}

/// The collection a call names, if it is one this chaincode may use.
pub(super) fn collection(
    c: &mut Ctx<'_>,
    call: &str,
    (cp, cl): (i32, i32),
) -> Result<(String, CollectionAccess), i64> {
    let collection = read_str(c, cp, cl)?;
    match c.data().ctx.collections.get(&collection) {
        Some(access) => Ok((collection, *access)),
        None => {
            tracing::warn!(
                chaincode = %c.data().ctx.chaincode,
                "{call}: collection {collection:?} is not defined for this chaincode"
            );
            Err(ErrorCode::InvalidArgument.as_return())
        }
    }
}

/// `memberOnlyRead`: only members' clients read the collection.
fn may_read(
    c: &Ctx<'_>,
    call: &str,
    collection: &str,
    access: CollectionAccess,
) -> Result<(), i64> {
    if access.member_only_read && !access.creator_is_member {
        return Err(refuse(
            c,
            call,
            collection,
            "the client's org is not a member (memberOnlyRead)",
        ));
    }
    Ok(())
}

/// Whether this peer may serve `collection`'s values to this client: the
/// client may read it, and this peer's org is a member (else it holds no
/// values, only their hashes).
pub(super) fn may_serve_values(
    c: &Ctx<'_>,
    call: &str,
    collection: &str,
    access: CollectionAccess,
) -> Result<(), i64> {
    may_read(c, call, collection, access)?;
    if !access.peer_is_member {
        return Err(refuse(
            c,
            call,
            collection,
            "this peer's org is not a member and holds no private values",
        ));
    }
    Ok(())
}

fn refuse(c: &Ctx<'_>, call: &str, collection: &str, why: &str) -> i64 {
    tracing::warn!(chaincode = %c.data().ctx.chaincode, "{call} on collection {collection:?}: {why}");
    ErrorCode::Forbidden.as_return()
}

/// Adds the private-data functions to the linker.
pub(super) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        HOST_MODULE,
        abi::GET_PRIVATE_DATA,
        |mut c: Ctx<'_>, cp: i32, cl: i32, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + kl.max(0)) as u64 * BYTE_COST,
            )?;
            let call = abi::GET_PRIVATE_DATA;
            let (coll, key, access) = try_code!(target(&mut c, call, (cp, cl), (kp, kl)));
            try_code!(may_read(&c, call, &coll, access));
            let (s, ns) = sim(&mut c);
            if !access.peer_is_member {
                // As Fabric: a value this peer cannot hold is an error when it exists.
                return Ok(match s.get_private_data_hash(&ns, &coll, &key) {
                    Ok(None) => ErrorCode::NotFound.as_return(),
                    Ok(Some(_)) => refuse(
                        &c,
                        call,
                        &coll,
                        "this peer's org is not a member and holds no private values",
                    ),
                    Err(_) => ErrorCode::Internal.as_return(),
                });
            }
            let found = s.get_private_data(&ns, &coll, &key);
            answer_lookup(&mut c, call, found)
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::GET_PRIVATE_DATA_HASH,
        |mut c: Ctx<'_>, cp: i32, cl: i32, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + kl.max(0)) as u64 * BYTE_COST,
            )?;
            let (coll, key, _) = try_code!(target(
                &mut c,
                abi::GET_PRIVATE_DATA_HASH,
                (cp, cl),
                (kp, kl)
            ));
            let (s, ns) = sim(&mut c);
            let found = s.get_private_data_hash(&ns, &coll, &key);
            answer_lookup(&mut c, abi::GET_PRIVATE_DATA_HASH, found)
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::PUT_PRIVATE_DATA,
        |mut c: Ctx<'_>,
         cp: i32,
         cl: i32,
         kp: i32,
         kl: i32,
         vp: i32,
         vl: i32|
         -> wasmtime::Result<i32> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + kl.max(0) + vl.max(0)) as u64 * BYTE_COST,
            )?;
            let call = abi::PUT_PRIVATE_DATA;
            let (coll, key, access) = try_code!(target(&mut c, call, (cp, cl), (kp, kl)));
            let value = try_code!(read_bytes(&mut c, vp, vl));
            write(&mut c, call, &coll, &key, access, Change::Put(value))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::DEL_PRIVATE_DATA,
        |mut c: Ctx<'_>, cp: i32, cl: i32, kp: i32, kl: i32| -> wasmtime::Result<i32> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + kl.max(0)) as u64 * BYTE_COST,
            )?;
            let call = abi::DEL_PRIVATE_DATA;
            let (coll, key, access) = try_code!(target(&mut c, call, (cp, cl), (kp, kl)));
            write(&mut c, call, &coll, &key, access, Change::Delete)
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::PURGE_PRIVATE_DATA,
        |mut c: Ctx<'_>, cp: i32, cl: i32, kp: i32, kl: i32| -> wasmtime::Result<i32> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + kl.max(0)) as u64 * BYTE_COST,
            )?;
            let call = abi::PURGE_PRIVATE_DATA;
            let (coll, key, access) = try_code!(target(&mut c, call, (cp, cl), (kp, kl)));
            write(&mut c, call, &coll, &key, access, Change::Purge)
        },
    )?;
    l.func_wrap(
        HOST_MODULE,
        abi::GET_PRIVATE_DATA_VALIDATION_PARAMETER,
        |mut c: Ctx<'_>, cp: i32, cl: i32, kp: i32, kl: i32| -> wasmtime::Result<i64> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + kl.max(0)) as u64 * BYTE_COST,
            )?;
            let call = abi::GET_PRIVATE_DATA_VALIDATION_PARAMETER;
            let (coll, key, access) = try_code!(target(&mut c, call, (cp, cl), (kp, kl)));
            try_code!(may_read(&c, call, &coll, access));
            let (s, ns) = sim(&mut c);
            let found = s
                .get_private_metadata(&ns, &coll, &key)
                .map(|entries| crate::ledger::validation_parameter(&entries).map(<[u8]>::to_vec));
            answer_lookup(&mut c, call, found)
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::SET_PRIVATE_DATA_VALIDATION_PARAMETER,
        |mut c: Ctx<'_>,
         cp: i32,
         cl: i32,
         kp: i32,
         kl: i32,
         pp: i32,
         pl: i32|
         -> wasmtime::Result<i32> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + kl.max(0) + pl.max(0)) as u64 * BYTE_COST,
            )?;
            let call = abi::SET_PRIVATE_DATA_VALIDATION_PARAMETER;
            let (coll, key, access) = try_code!(target(&mut c, call, (cp, cl), (kp, kl)));
            let policy = try_code!(read_bytes(&mut c, pp, pl));
            // As Fabric's handler: the key's metadata becomes this one entry.
            let entries = vec![KvMetadataEntry {
                name: crate::ledger::VALIDATION_PARAMETER.into(),
                value: policy,
            }];
            write(&mut c, call, &coll, &key, access, Change::Metadata(entries))
        },
    )?;

    l.func_wrap(
        HOST_MODULE,
        abi::PRIVATE_RANGE_OPEN,
        |mut c: Ctx<'_>,
         cp: i32,
         cl: i32,
         sp: i32,
         sl: i32,
         ep: i32,
         el: i32|
         -> wasmtime::Result<i64> {
            charge(
                &mut c,
                CALL_COST + (cl.max(0) + sl.max(0) + el.max(0)) as u64 * BYTE_COST,
            )?;
            let call = abi::PRIVATE_RANGE_OPEN;
            let (coll, access) = try_code!(collection(&mut c, call, (cp, cl)));
            let start = try_code!(read_str(&mut c, sp, sl));
            let end = try_code!(read_str(&mut c, ep, el));
            try_code!(may_serve_values(&c, call, &coll, access));
            if c.data().iterators_open() >= MAX_ITERATORS {
                return Ok(ErrorCode::Forbidden.as_return());
            }
            let (s, ns) = sim(&mut c);
            match s.open_private_range(&ns, &coll, &start, &end) {
                Ok(query) => Ok(open_iterator(&mut c, Source::Range(query))),
                Err(e) => Ok(answer_write(&c, call, Err(e)) as i64),
            }
        },
    )?;
    Ok(())
}

/// What a private write does to its key.
enum Change {
    Put(Vec<u8>),
    Delete,
    Purge,
    /// Sets its metadata (its validation parameter).
    Metadata(Vec<KvMetadataEntry>),
}

fn write(
    c: &mut Ctx<'_>,
    call: &str,
    coll: &str,
    key: &str,
    access: CollectionAccess,
    change: Change,
) -> wasmtime::Result<i32> {
    if access.member_only_write && !access.creator_is_member {
        return Ok(refuse(
            c,
            call,
            coll,
            "the client's org is not a member (memberOnlyWrite)",
        ) as i32);
    }
    let (s, ns) = sim(c);
    let done = match change {
        Change::Put(value) => s.put_private_data(&ns, coll, key, Some(value)),
        Change::Delete => s.put_private_data(&ns, coll, key, None),
        Change::Purge => s.purge_private_data(&ns, coll, key),
        Change::Metadata(entries) => s.set_private_metadata(&ns, coll, key, entries),
    };
    Ok(answer_write(c, call, done))
}
