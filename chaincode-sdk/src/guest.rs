//! The WASM side: host bindings for the [`crate::Ledger`] trait, and the
//! exports `register!` generates. Only compiled for `wasm32`.

/// Registers a chaincode's contracts (the first is the default) and, when
/// compiling to WASM, generates the exports the peer calls. Natively it adds a
/// `router()` function for tests with [`crate::mock::MockStub`].
#[macro_export]
macro_rules! register {
    ($($contract:ty),+ $(,)?) => {
        /// The chaincode's router (its contracts, the first is the default).
        pub fn router() -> $crate::Router {
            $crate::Router::new(vec![$(Box::new(<$contract as ::core::default::Default>::default())),+])
        }

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn weft_abi_version() -> i32 {
            $crate::abi::ABI_VERSION
        }

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn weft_alloc(len: i32) -> i32 {
            $crate::guest::alloc(len)
        }

        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn weft_invoke(ptr: i32, len: i32) -> i64 {
            $crate::guest::invoke(ptr, len, &router())
        }
    };
}

#[cfg(target_arch = "wasm32")]
pub use wasm::{alloc, invoke};

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod wasm {
    use weft_chaincode_abi::{
        ErrorCode, Invocation, KeyModification, QueryMetadata, Response, TxInfo, decode_history,
        decode_kv,
    };

    use crate::{ContractError, KeyValues, Ledger, LedgerError, QueryResults, Router};

    #[link(wasm_import_module = "weft")]
    unsafe extern "C" {
        fn get_state(kp: *const u8, kl: usize) -> i64;
        fn put_state(kp: *const u8, kl: usize, vp: *const u8, vl: usize) -> i32;
        fn del_state(kp: *const u8, kl: usize) -> i32;
        fn get_multiple_states(kp: *const u8, kl: usize) -> i64;
        fn get_multiple_private_data(cp: *const u8, cl: usize, kp: *const u8, kl: usize) -> i64;
        fn put_states(wp: *const u8, wl: usize) -> i32;
        fn get_state_validation_parameter(kp: *const u8, kl: usize) -> i64;
        fn set_state_validation_parameter(
            kp: *const u8,
            kl: usize,
            pp: *const u8,
            pl: usize,
        ) -> i32;
        fn get_private_data_validation_parameter(
            cp: *const u8,
            cl: usize,
            kp: *const u8,
            kl: usize,
        ) -> i64;
        fn set_private_data_validation_parameter(
            cp: *const u8,
            cl: usize,
            kp: *const u8,
            kl: usize,
            pp: *const u8,
            pl: usize,
        ) -> i32;
        fn get_private_data(cp: *const u8, cl: usize, kp: *const u8, kl: usize) -> i64;
        fn get_private_data_hash(cp: *const u8, cl: usize, kp: *const u8, kl: usize) -> i64;
        fn put_private_data(
            cp: *const u8,
            cl: usize,
            kp: *const u8,
            kl: usize,
            vp: *const u8,
            vl: usize,
        ) -> i32;
        fn del_private_data(cp: *const u8, cl: usize, kp: *const u8, kl: usize) -> i32;
        fn purge_private_data(cp: *const u8, cl: usize, kp: *const u8, kl: usize) -> i32;
        fn range_open(sp: *const u8, sl: usize, ep: *const u8, el: usize) -> i64;
        fn range_open_paged(
            sp: *const u8,
            sl: usize,
            ep: *const u8,
            el: usize,
            page_size: i32,
            bp: *const u8,
            bl: usize,
        ) -> i64;
        fn private_range_open(
            cp: *const u8,
            cl: usize,
            sp: *const u8,
            sl: usize,
            ep: *const u8,
            el: usize,
        ) -> i64;
        fn query_open(qp: *const u8, ql: usize, bp: *const u8, bl: usize, page_size: i32) -> i64;
        fn query_metadata(id: i32) -> i64;
        fn private_query_open(cp: *const u8, cl: usize, qp: *const u8, ql: usize) -> i64;
        fn last_error() -> i64;
        fn history_open(kp: *const u8, kl: usize) -> i64;
        fn iter_next(id: i32) -> i64;
        fn iter_close(id: i32) -> i32;
        fn tx_info(kind: i32) -> i64;
        fn get_transient(kp: *const u8, kl: usize) -> i64;
        fn set_event(np: *const u8, nl: usize, pp: *const u8, pl: usize) -> i32;
        fn invoke_chaincode(np: *const u8, nl: usize, ap: *const u8, al: usize) -> i64;
        fn log(level: i32, mp: *const u8, ml: usize);
        fn read_result(ptr: *mut u8, len: usize) -> i32;
    }

    /// A buffer the host writes the input into; leaked, since each invocation
    /// runs in a fresh instance.
    pub fn alloc(len: i32) -> i32 {
        let mut v = Vec::<u8>::with_capacity(len.max(0) as usize);
        let p = v.as_mut_ptr();
        core::mem::forget(v);
        p as i32
    }

    fn err(code: i64, call: &'static str) -> LedgerError {
        LedgerError {
            code: ErrorCode::from_return(code).unwrap_or(ErrorCode::Internal),
            call,
        }
    }

    /// Interprets a host call that returns only success or an error code.
    fn unit(r: i32, call: &'static str) -> Result<(), LedgerError> {
        if r < 0 {
            Err(err(r as i64, call))
        } else {
            Ok(())
        }
    }

    /// Copies the host's result buffer of `len` bytes.
    fn take_result(len: i64) -> Vec<u8> {
        let mut buf = vec![0u8; len as usize];
        // SAFETY: buf is a valid writable buffer of `len` bytes.
        unsafe { read_result(buf.as_mut_ptr(), buf.len()) };
        buf
    }

    /// Interprets a bytes-returning host call: value, not-found, or error.
    fn bytes_or_none(r: i64, call: &'static str) -> Result<Option<Vec<u8>>, LedgerError> {
        if r >= 0 {
            Ok(Some(take_result(r)))
        } else if r == ErrorCode::NotFound.as_return() {
            Ok(None)
        } else {
            Err(err(r, call))
        }
    }

    fn drain(id: i64, call: &'static str) -> Result<Vec<Vec<u8>>, LedgerError> {
        if id < 0 {
            return Err(err(id, call));
        }
        let mut items = Vec::new();
        loop {
            // SAFETY: a plain host call with an integer.
            let r = unsafe { iter_next(id as i32) };
            if r == ErrorCode::Done.as_return() {
                break;
            }
            if r < 0 {
                return Err(err(r, "iter_next"));
            }
            items.push(take_result(r));
        }
        // SAFETY: a plain host call with an integer.
        unsafe { iter_close(id as i32) };
        Ok(items)
    }

    /// The values a multi-key read returned.
    fn values_of(r: i64, call: &'static str) -> Result<Vec<Option<Vec<u8>>>, LedgerError> {
        if r < 0 {
            return Err(err(r, call));
        }
        weft_chaincode_abi::decode_values(&take_result(r)).ok_or(LedgerError {
            code: ErrorCode::Internal,
            call,
        })
    }

    /// The iterator a query call opened, or its refusal with the peer's
    /// reason (status 400) when it was refused as a query.
    fn opened(id: i64, call: &'static str) -> Result<i64, ContractError> {
        if id == ErrorCode::BadQuery.as_return() || id == ErrorCode::Unsupported.as_return() {
            // SAFETY: a plain host call.
            let why = match unsafe { last_error() } {
                len if len >= 0 => String::from_utf8_lossy(&take_result(len)).into_owned(),
                _ => err(id, call).to_string(),
            };
            return Err(ContractError::with_status(400, why));
        }
        if id < 0 {
            return Err(err(id, call).into());
        }
        Ok(id)
    }

    /// The metadata of a paginated query's iterator.
    fn metadata_of(id: i64) -> Result<QueryMetadata, LedgerError> {
        // SAFETY: a plain host call with an integer.
        let len = unsafe { query_metadata(id as i32) };
        if len < 0 {
            return Err(err(len, "query_metadata"));
        }
        QueryMetadata::decode(&take_result(len)).ok_or(LedgerError {
            code: ErrorCode::Internal,
            call: "query_metadata",
        })
    }

    /// Every key and value of a range iterator.
    fn drain_kv(id: i64, call: &'static str) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
        drain(id, call)?
            .iter()
            .map(|b| {
                decode_kv(b).ok_or(LedgerError {
                    code: ErrorCode::Internal,
                    call: "iter_next",
                })
            })
            .collect()
    }

    /// The ledger of the running invocation, through host calls.
    struct Host;

    impl Ledger for Host {
        fn get_state(&mut self, key: &str) -> Result<Option<Vec<u8>>, LedgerError> {
            // SAFETY: pointers and lengths of live slices.
            bytes_or_none(unsafe { get_state(key.as_ptr(), key.len()) }, "get_state")
        }

        fn put_state(&mut self, key: &str, value: &[u8]) -> Result<(), LedgerError> {
            // SAFETY: pointers and lengths of live slices.
            let r = unsafe { put_state(key.as_ptr(), key.len(), value.as_ptr(), value.len()) };
            unit(r, "put_state")
        }

        fn del_state(&mut self, key: &str) -> Result<(), LedgerError> {
            // SAFETY: pointer and length of a live slice.
            let r = unsafe { del_state(key.as_ptr(), key.len()) };
            unit(r, "del_state")
        }

        fn get_state_validation_parameter(
            &mut self,
            key: &str,
        ) -> Result<Option<Vec<u8>>, LedgerError> {
            bytes_or_none(
                // SAFETY: pointer and length of a live slice.
                unsafe { get_state_validation_parameter(key.as_ptr(), key.len()) },
                "get_state_validation_parameter",
            )
        }

        fn set_state_validation_parameter(
            &mut self,
            key: &str,
            policy: &[u8],
        ) -> Result<(), LedgerError> {
            // SAFETY: pointers and lengths of live slices.
            let r = unsafe {
                set_state_validation_parameter(
                    key.as_ptr(),
                    key.len(),
                    policy.as_ptr(),
                    policy.len(),
                )
            };
            unit(r, "set_state_validation_parameter")
        }

        fn get_private_data_validation_parameter(
            &mut self,
            collection: &str,
            key: &str,
        ) -> Result<Option<Vec<u8>>, LedgerError> {
            bytes_or_none(
                // SAFETY: pointers and lengths of live slices.
                unsafe {
                    get_private_data_validation_parameter(
                        collection.as_ptr(),
                        collection.len(),
                        key.as_ptr(),
                        key.len(),
                    )
                },
                "get_private_data_validation_parameter",
            )
        }

        fn set_private_data_validation_parameter(
            &mut self,
            collection: &str,
            key: &str,
            policy: &[u8],
        ) -> Result<(), LedgerError> {
            // SAFETY: pointers and lengths of live slices.
            let r = unsafe {
                set_private_data_validation_parameter(
                    collection.as_ptr(),
                    collection.len(),
                    key.as_ptr(),
                    key.len(),
                    policy.as_ptr(),
                    policy.len(),
                )
            };
            unit(r, "set_private_data_validation_parameter")
        }

        fn get_private_data(
            &mut self,
            collection: &str,
            key: &str,
        ) -> Result<Option<Vec<u8>>, LedgerError> {
            bytes_or_none(
                // SAFETY: pointers and lengths of live slices.
                unsafe {
                    get_private_data(
                        collection.as_ptr(),
                        collection.len(),
                        key.as_ptr(),
                        key.len(),
                    )
                },
                "get_private_data",
            )
        }

        fn get_private_data_hash(
            &mut self,
            collection: &str,
            key: &str,
        ) -> Result<Option<Vec<u8>>, LedgerError> {
            bytes_or_none(
                // SAFETY: pointers and lengths of live slices.
                unsafe {
                    get_private_data_hash(
                        collection.as_ptr(),
                        collection.len(),
                        key.as_ptr(),
                        key.len(),
                    )
                },
                "get_private_data_hash",
            )
        }

        fn put_private_data(
            &mut self,
            collection: &str,
            key: &str,
            value: Option<&[u8]>,
        ) -> Result<(), LedgerError> {
            let (c, k) = (collection, key);
            // SAFETY: pointers and lengths of live slices.
            let (r, call) = unsafe {
                match value {
                    Some(v) => (
                        put_private_data(
                            c.as_ptr(),
                            c.len(),
                            k.as_ptr(),
                            k.len(),
                            v.as_ptr(),
                            v.len(),
                        ),
                        "put_private_data",
                    ),
                    None => (
                        del_private_data(c.as_ptr(), c.len(), k.as_ptr(), k.len()),
                        "del_private_data",
                    ),
                }
            };
            unit(r, call)
        }

        fn purge_private_data(&mut self, collection: &str, key: &str) -> Result<(), LedgerError> {
            // SAFETY: pointers and lengths of live slices.
            let r = unsafe {
                purge_private_data(
                    collection.as_ptr(),
                    collection.len(),
                    key.as_ptr(),
                    key.len(),
                )
            };
            unit(r, "purge_private_data")
        }

        fn get_range(
            &mut self,
            start: &str,
            end: &str,
        ) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
            // SAFETY: pointers and lengths of live slices.
            let id = unsafe { range_open(start.as_ptr(), start.len(), end.as_ptr(), end.len()) };
            drain_kv(id, "range_open")
        }

        fn get_private_data_range(
            &mut self,
            collection: &str,
            start: &str,
            end: &str,
        ) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
            // SAFETY: pointers and lengths of live slices.
            let id = unsafe {
                private_range_open(
                    collection.as_ptr(),
                    collection.len(),
                    start.as_ptr(),
                    start.len(),
                    end.as_ptr(),
                    end.len(),
                )
            };
            drain_kv(id, "private_range_open")
        }

        fn get_multiple_states(
            &mut self,
            keys: &[&str],
        ) -> Result<Vec<Option<Vec<u8>>>, LedgerError> {
            let encoded = weft_chaincode_abi::encode_keys(keys);
            // SAFETY: pointer and length of a live buffer.
            let r = unsafe { get_multiple_states(encoded.as_ptr(), encoded.len()) };
            values_of(r, "get_multiple_states")
        }

        fn get_multiple_private_data(
            &mut self,
            collection: &str,
            keys: &[&str],
        ) -> Result<Vec<Option<Vec<u8>>>, LedgerError> {
            let encoded = weft_chaincode_abi::encode_keys(keys);
            // SAFETY: pointers and lengths of live buffers.
            let r = unsafe {
                get_multiple_private_data(
                    collection.as_ptr(),
                    collection.len(),
                    encoded.as_ptr(),
                    encoded.len(),
                )
            };
            values_of(r, "get_multiple_private_data")
        }

        fn put_states(&mut self, writes: &[(&str, Option<&[u8]>)]) -> Result<(), LedgerError> {
            let encoded = weft_chaincode_abi::encode_writes(writes);
            // SAFETY: pointer and length of a live buffer.
            unit(
                unsafe { put_states(encoded.as_ptr(), encoded.len()) },
                "put_states",
            )
        }

        fn get_range_page(
            &mut self,
            start: &str,
            end: &str,
            page_size: i32,
            bookmark: &str,
        ) -> Result<(KeyValues, QueryMetadata), ContractError> {
            // SAFETY: pointers and lengths of live slices.
            let id = unsafe {
                range_open_paged(
                    start.as_ptr(),
                    start.len(),
                    end.as_ptr(),
                    end.len(),
                    page_size,
                    bookmark.as_ptr(),
                    bookmark.len(),
                )
            };
            let id = opened(id, "range_open_paged")?;
            let metadata = metadata_of(id)?;
            Ok((drain_kv(id, "range_open_paged")?, metadata))
        }

        fn get_query_result(
            &mut self,
            query: &str,
            page: Option<(i32, &str)>,
        ) -> Result<QueryResults, ContractError> {
            let (size, bookmark) = page.unwrap_or((-1, ""));
            // SAFETY: pointers and lengths of live slices.
            let id = unsafe {
                query_open(
                    query.as_ptr(),
                    query.len(),
                    bookmark.as_ptr(),
                    bookmark.len(),
                    size,
                )
            };
            let id = opened(id, "query_open")?;
            let metadata = match page {
                None => None,
                Some(_) => Some(metadata_of(id)?),
            };
            let records = drain_kv(id, "query_open")?;
            Ok(QueryResults { records, metadata })
        }

        fn get_private_data_query_result(
            &mut self,
            collection: &str,
            query: &str,
        ) -> Result<KeyValues, ContractError> {
            // SAFETY: pointers and lengths of live slices.
            let id = unsafe {
                private_query_open(
                    collection.as_ptr(),
                    collection.len(),
                    query.as_ptr(),
                    query.len(),
                )
            };
            let id = opened(id, "private_query_open")?;
            Ok(drain_kv(id, "private_query_open")?)
        }

        fn get_history(&mut self, key: &str) -> Result<Vec<KeyModification>, LedgerError> {
            // SAFETY: pointer and length of a live slice.
            let id = unsafe { history_open(key.as_ptr(), key.len()) };
            drain(id, "history_open")?
                .iter()
                .map(|b| {
                    decode_history(b).ok_or(LedgerError {
                        code: ErrorCode::Internal,
                        call: "iter_next",
                    })
                })
                .collect()
        }

        fn tx_info(&mut self, kind: TxInfo) -> Result<Vec<u8>, LedgerError> {
            // SAFETY: a plain host call with an integer.
            let r = unsafe { tx_info(kind as i32) };
            if r < 0 {
                Err(err(r, "tx_info"))
            } else {
                Ok(take_result(r))
            }
        }

        fn get_transient(&mut self, key: &str) -> Result<Option<Vec<u8>>, LedgerError> {
            // SAFETY: pointer and length of a live slice.
            bytes_or_none(
                unsafe { get_transient(key.as_ptr(), key.len()) },
                "get_transient",
            )
        }

        fn set_event(&mut self, name: &str, payload: &[u8]) -> Result<(), LedgerError> {
            // SAFETY: pointers and lengths of live slices.
            let r =
                unsafe { set_event(name.as_ptr(), name.len(), payload.as_ptr(), payload.len()) };
            unit(r, "set_event")
        }

        fn invoke_chaincode(
            &mut self,
            name: &str,
            args: &[Vec<u8>],
        ) -> Result<Response, LedgerError> {
            let encoded = weft_chaincode_abi::encode_args(args);
            // SAFETY: pointers and lengths of live slices.
            let r = unsafe {
                invoke_chaincode(name.as_ptr(), name.len(), encoded.as_ptr(), encoded.len())
            };
            if r < 0 {
                return Err(err(r, "invoke_chaincode"));
            }
            Response::decode(&take_result(r)).ok_or(LedgerError {
                code: ErrorCode::Internal,
                call: "invoke_chaincode",
            })
        }

        fn log(&mut self, level: i32, message: &str) {
            // SAFETY: pointer and length of a live slice.
            unsafe { log(level, message.as_ptr(), message.len()) }
        }
    }

    /// Runs one invocation; returns the packed pointer/length of the response.
    pub fn invoke(ptr: i32, len: i32, router: &Router) -> i64 {
        std::panic::set_hook(Box::new(|info| {
            let msg = format!("chaincode panicked: {info}");
            // SAFETY: pointer and length of a live string.
            unsafe {
                log(
                    weft_chaincode_abi::log_level::ERROR,
                    msg.as_ptr(),
                    msg.len(),
                )
            }
        }));
        // SAFETY: the host wrote `len` bytes at `ptr`, a buffer from `alloc`.
        let input = unsafe { core::slice::from_raw_parts(ptr as *const u8, len.max(0) as usize) };
        let response = match Invocation::decode(input) {
            Some(inv) => router.handle(&mut Host, &inv.args),
            None => Response {
                status: 400,
                message: "malformed invocation".into(),
                payload: Vec::new(),
            },
        };
        let out = response.encode().into_boxed_slice();
        let (p, l) = (out.as_ptr() as u32, out.len() as u32);
        core::mem::forget(out);
        weft_chaincode_abi::pack(p, l)
    }
}
