//! `MockStub`: a ledger in memory, to unit-test contracts natively with
//! `cargo test`, without WASM or a peer.
//!
//! Writes take effect at once (reads see them), unlike on a peer, where a
//! transaction reads committed state; events, transient data and the
//! transaction's facts can be set; other chaincodes are closures.

use std::collections::{BTreeMap, HashMap};

use weft_chaincode_abi::{ErrorCode, KeyModification, Response, TxInfo};

use crate::{ContractError, Ledger, LedgerError, Router};

/// A chaincode called from the contract under test.
pub type MockChaincode = Box<dyn FnMut(&[Vec<u8>]) -> Response>;

/// An in-memory ledger for one chaincode.
pub struct MockStub {
    /// Current state.
    pub state: BTreeMap<String, Vec<u8>>,
    /// Every write, in order: (key, value or None for a delete).
    pub writes: Vec<(String, Option<Vec<u8>>)>,
    /// The last event set: (name, payload).
    pub event: Option<(String, Vec<u8>)>,
    /// Transient data for the next invocations.
    pub transient: BTreeMap<String, Vec<u8>>,
    /// Transaction id returned to the contract.
    pub tx_id: String,
    /// Channel returned to the contract.
    pub channel_id: String,
    /// Timestamp returned to the contract.
    pub timestamp: (i64, i32),
    /// Creator MSP id.
    pub creator_msp_id: String,
    /// Creator certificate (PEM).
    pub creator_cert: Vec<u8>,
    /// Whether invocations are evaluations.
    pub read_only: bool,
    /// Log lines.
    pub logs: Vec<String>,
    /// Keys' endorsement policies (validation parameters).
    pub validation_parameters: BTreeMap<String, Vec<u8>>,
    /// Private data: collection → key → value.
    pub private: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// Private keys' endorsement policies: (collection, key) → policy.
    pub private_validation_parameters: BTreeMap<(String, String), Vec<u8>>,
    /// Private keys purged, in order: (collection, key).
    pub purged: Vec<(String, String)>,
    history: HashMap<String, Vec<KeyModification>>,
    chaincodes: HashMap<String, MockChaincode>,
    tx_counter: u64,
    /// Whether the current invocation has written (Fabric then refuses
    /// private-data and paginated queries) or run one of those (then it
    /// refuses writes).
    wrote: bool,
    queried_unrecorded: bool,
}

impl Default for MockStub {
    fn default() -> Self {
        Self::new()
    }
}

impl MockStub {
    /// An empty ledger.
    pub fn new() -> Self {
        Self {
            state: BTreeMap::new(),
            writes: Vec::new(),
            validation_parameters: BTreeMap::new(),
            private: BTreeMap::new(),
            purged: Vec::new(),
            private_validation_parameters: BTreeMap::new(),
            event: None,
            transient: BTreeMap::new(),
            tx_id: "mocktx0".into(),
            channel_id: "mychannel".into(),
            timestamp: (1_700_000_000, 0),
            creator_msp_id: "Org1MSP".into(),
            creator_cert: Vec::new(),
            read_only: false,
            logs: Vec::new(),
            history: HashMap::new(),
            chaincodes: HashMap::new(),
            tx_counter: 0,
            wrote: false,
            queried_unrecorded: false,
        }
    }

    /// Registers another chaincode the contract may call.
    pub fn register_chaincode(
        &mut self,
        name: &str,
        f: impl FnMut(&[Vec<u8>]) -> Response + 'static,
    ) {
        self.chaincodes.insert(name.to_string(), Box::new(f));
    }

    /// Invokes the router with string arguments (function first); each call is a new transaction.
    pub fn invoke(&mut self, router: &Router, args: &[&str]) -> Response {
        self.tx_counter += 1;
        self.tx_id = format!("mocktx{}", self.tx_counter);
        self.event = None;
        self.wrote = false;
        self.queried_unrecorded = false;
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        router.handle(self, &args)
    }

    /// Makes the next invocations come from a client of `msp_id` with a
    /// fresh self-signed certificate whose subject is `CN=<common_name>`, so
    /// `Context::client_identity` gives `x509::CN=<cn>::CN=<cn>`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn set_client(&mut self, msp_id: &str, common_name: &str) {
        self.creator_msp_id = msp_id.to_string();
        self.creator_cert = test_certificate(common_name);
    }

    /// Fabric's rule for one transaction: no write after a private-data query.
    fn write_allowed(&mut self, call: &'static str) -> Result<(), LedgerError> {
        if self.queried_unrecorded {
            return Err(LedgerError {
                code: ErrorCode::Unsupported,
                call,
            });
        }
        self.wrote = true;
        Ok(())
    }

    /// A key's value as UTF-8 (for assertions).
    pub fn get_str(&self, key: &str) -> Option<String> {
        self.state
            .get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

impl Ledger for MockStub {
    fn get_state(&mut self, key: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.state.get(key).cloned())
    }

    fn put_state(&mut self, key: &str, value: &[u8]) -> Result<(), LedgerError> {
        if key.is_empty() {
            return Err(LedgerError {
                code: ErrorCode::InvalidArgument,
                call: "put_state",
            });
        }
        self.write_allowed("put_state")?;
        self.state.insert(key.to_string(), value.to_vec());
        self.writes.push((key.to_string(), Some(value.to_vec())));
        self.history.entry(key.to_string()).or_default().insert(
            0,
            KeyModification {
                tx_id: self.tx_id.clone(),
                value: value.to_vec(),
                timestamp_seconds: self.timestamp.0,
                is_delete: false,
            },
        );
        Ok(())
    }

    fn get_state_validation_parameter(
        &mut self,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.validation_parameters.get(key).cloned())
    }

    fn set_state_validation_parameter(
        &mut self,
        key: &str,
        policy: &[u8],
    ) -> Result<(), LedgerError> {
        if key.is_empty() {
            return Err(LedgerError {
                code: ErrorCode::InvalidArgument,
                call: "set_state_validation_parameter",
            });
        }
        self.write_allowed("set_state_validation_parameter")?;
        // As on a peer, a key that does not exist keeps no policy.
        if self.state.contains_key(key) {
            self.validation_parameters
                .insert(key.to_string(), policy.to_vec());
        }
        Ok(())
    }

    fn get_private_data_validation_parameter(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .private_validation_parameters
            .get(&(collection.to_string(), key.to_string()))
            .cloned())
    }

    fn set_private_data_validation_parameter(
        &mut self,
        collection: &str,
        key: &str,
        policy: &[u8],
    ) -> Result<(), LedgerError> {
        if key.is_empty() || collection.is_empty() {
            return Err(LedgerError {
                code: ErrorCode::InvalidArgument,
                call: "set_private_data_validation_parameter",
            });
        }
        self.write_allowed("set_private_data_validation_parameter")?;
        // As on a peer, a key that does not exist keeps no policy.
        let exists = self
            .private
            .get(collection)
            .is_some_and(|c| c.contains_key(key));
        if exists {
            self.private_validation_parameters
                .insert((collection.to_string(), key.to_string()), policy.to_vec());
        }
        Ok(())
    }

    fn get_private_data(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .private
            .get(collection)
            .and_then(|c| c.get(key))
            .cloned())
    }

    fn get_private_data_hash(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        let value = self.get_private_data(collection, key)?;
        #[cfg(not(target_arch = "wasm32"))]
        return Ok(value.map(|v| {
            ring::digest::digest(&ring::digest::SHA256, &v)
                .as_ref()
                .to_vec()
        }));
        #[cfg(target_arch = "wasm32")]
        return value.map_or(Ok(None), |_| {
            Err(LedgerError {
                code: ErrorCode::Internal,
                call: "get_private_data_hash (MockStub runs natively)",
            })
        });
    }

    fn put_private_data(
        &mut self,
        collection: &str,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<(), LedgerError> {
        if key.is_empty() || collection.is_empty() {
            return Err(LedgerError {
                code: ErrorCode::InvalidArgument,
                call: "put_private_data",
            });
        }
        self.write_allowed("put_private_data")?;
        let c = self.private.entry(collection.to_string()).or_default();
        match value {
            Some(v) => c.insert(key.to_string(), v.to_vec()),
            None => c.remove(key),
        };
        if value.is_none() {
            self.private_validation_parameters
                .remove(&(collection.to_string(), key.to_string()));
        }
        Ok(())
    }

    fn purge_private_data(&mut self, collection: &str, key: &str) -> Result<(), LedgerError> {
        self.put_private_data(collection, key, None)
            .map_err(|e| LedgerError {
                call: "purge_private_data",
                ..e
            })?;
        self.purged.push((collection.to_string(), key.to_string()));
        Ok(())
    }

    fn del_state(&mut self, key: &str) -> Result<(), LedgerError> {
        self.write_allowed("del_state")?;
        self.validation_parameters.remove(key);
        self.state.remove(key);
        self.writes.push((key.to_string(), None));
        self.history.entry(key.to_string()).or_default().insert(
            0,
            KeyModification {
                tx_id: self.tx_id.clone(),
                value: Vec::new(),
                timestamp_seconds: self.timestamp.0,
                is_delete: true,
            },
        );
        Ok(())
    }

    fn get_range(&mut self, start: &str, end: &str) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
        Ok(self
            .state
            .range(start.to_string()..)
            .take_while(|(k, _)| end.is_empty() || k.as_str() < end)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn get_private_data_range(
        &mut self,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
        if self.wrote {
            return Err(LedgerError {
                code: ErrorCode::Unsupported,
                call: "private_range_open",
            });
        }
        self.queried_unrecorded = true;
        Ok(self
            .private
            .get(collection)
            .into_iter()
            .flat_map(|c| c.range(start.to_string()..))
            .take_while(|(k, _)| end.is_empty() || k.as_str() < end)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn get_multiple_states(&mut self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, LedgerError> {
        keys.iter().map(|k| self.get_state(k)).collect()
    }

    fn get_multiple_private_data(
        &mut self,
        collection: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, LedgerError> {
        keys.iter()
            .map(|k| self.get_private_data(collection, k))
            .collect()
    }

    fn put_states(&mut self, writes: &[(&str, Option<&[u8]>)]) -> Result<(), LedgerError> {
        if writes.iter().any(|(k, _)| k.is_empty()) {
            return Err(LedgerError {
                code: ErrorCode::InvalidArgument,
                call: "put_states",
            });
        }
        writes.iter().try_for_each(|(k, v)| match v {
            Some(v) => self.put_state(k, v),
            None => self.del_state(k),
        })
    }

    fn get_range_page(
        &mut self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<(crate::KeyValues, crate::QueryMetadata), ContractError> {
        if page_size <= 0 {
            return Err(ContractError::with_status(
                400,
                "rich query: query option pageSize must be positive",
            ));
        }
        if self.wrote {
            return Err(LedgerError {
                code: ErrorCode::Unsupported,
                call: "range_open_paged",
            }
            .into());
        }
        self.queried_unrecorded = true;
        let from = if bookmark.is_empty() { start } else { bookmark };
        if from < start || (!end.is_empty() && from >= end) {
            return Err(ContractError::with_status(
                400,
                format!("rich query: invalid bookmark {from:?}"),
            ));
        }
        let mut page: Vec<_> = self
            .state
            .range(from.to_string()..)
            .take_while(|(k, _)| end.is_empty() || k.as_str() < end)
            .take(page_size as usize + 1)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let next = if page.len() > page_size as usize {
            page.pop().map(|(k, _)| k).unwrap_or_default()
        } else {
            String::new()
        };
        let metadata = crate::QueryMetadata {
            fetched_records_count: page.len() as u32,
            bookmark: next,
        };
        Ok((page, metadata))
    }

    /// The peer's own evaluator (`weft-chaincode-query`) over this stub's
    /// state, with the peer's rules: the paginated form only in a transaction
    /// that writes nothing, values returned as stored.
    #[cfg(not(target_arch = "wasm32"))]
    fn get_query_result(
        &mut self,
        query: &str,
        page: Option<(i32, &str)>,
    ) -> Result<crate::QueryResults, ContractError> {
        let refused =
            |e: &dyn std::fmt::Display| ContractError::with_status(400, format!("rich query: {e}"));
        let parsed = weft_chaincode_query::Query::parse(query).map_err(|e| refused(&e))?;
        let paging = match page {
            None => None,
            Some((size, _)) if size <= 0 => {
                return Err(refused(&"query option pageSize must be positive"));
            }
            Some((size, bookmark)) => {
                if self.wrote {
                    return Err(LedgerError {
                        code: ErrorCode::Unsupported,
                        call: "query_open",
                    }
                    .into());
                }
                self.queried_unrecorded = true;
                Some((size as usize, bookmark))
            }
        };
        let docs = self.state.iter().filter_map(|(k, v)| {
            serde_json::from_slice::<serde_json::Value>(v)
                .ok()
                .map(|doc| (k.clone(), doc))
        });
        let (size, bookmark) = paging.unwrap_or((parsed.limit.unwrap_or(usize::MAX), ""));
        let page_out = parsed
            .run(docs, Some(size), bookmark)
            .map_err(|e| refused(&e))?;
        let records = page_out
            .records
            .into_iter()
            .map(|r| {
                let value = match parsed.fields {
                    None => self.state[&r.key].clone(),
                    Some(_) => r.value.to_string().into_bytes(),
                };
                (r.key, value)
            })
            .collect::<Vec<_>>();
        let metadata = paging.map(|_| crate::QueryMetadata {
            fetched_records_count: records.len() as u32,
            bookmark: page_out.bookmark,
        });
        Ok(crate::QueryResults { records, metadata })
    }

    /// The same evaluator over this stub's private values of `collection`,
    /// with the peer's rule (never in a transaction that writes).
    #[cfg(not(target_arch = "wasm32"))]
    fn get_private_data_query_result(
        &mut self,
        collection: &str,
        query: &str,
    ) -> Result<crate::KeyValues, ContractError> {
        let parsed = weft_chaincode_query::Query::parse(query)
            .map_err(|e| ContractError::with_status(400, format!("rich query: {e}")))?;
        if self.wrote {
            return Err(LedgerError {
                code: ErrorCode::Unsupported,
                call: "private_query_open",
            }
            .into());
        }
        self.queried_unrecorded = true;
        let values = self.private.get(collection).cloned().unwrap_or_default();
        let docs = values.iter().filter_map(|(k, v)| {
            serde_json::from_slice::<serde_json::Value>(v)
                .ok()
                .map(|doc| (k.clone(), doc))
        });
        let page = parsed
            .run(docs, parsed.limit, "")
            .map_err(|e| ContractError::with_status(400, format!("rich query: {e}")))?;
        Ok(page
            .records
            .into_iter()
            .map(|r| {
                let value = match parsed.fields {
                    None => values[&r.key].clone(),
                    Some(_) => r.value.to_string().into_bytes(),
                };
                (r.key, value)
            })
            .collect())
    }

    /// MockStub evaluates rich queries natively only.
    #[cfg(target_arch = "wasm32")]
    fn get_private_data_query_result(
        &mut self,
        _: &str,
        _: &str,
    ) -> Result<crate::KeyValues, ContractError> {
        Err(ContractError::new(
            "MockStub evaluates rich queries natively only",
        ))
    }

    /// MockStub evaluates rich queries natively only.
    #[cfg(target_arch = "wasm32")]
    fn get_query_result(
        &mut self,
        _: &str,
        _: Option<(i32, &str)>,
    ) -> Result<crate::QueryResults, ContractError> {
        Err(ContractError::new(
            "MockStub evaluates rich queries natively only",
        ))
    }

    fn get_history(&mut self, key: &str) -> Result<Vec<KeyModification>, LedgerError> {
        Ok(self.history.get(key).cloned().unwrap_or_default())
    }

    fn tx_info(&mut self, kind: TxInfo) -> Result<Vec<u8>, LedgerError> {
        Ok(match kind {
            TxInfo::TxId => self.tx_id.clone().into_bytes(),
            TxInfo::ChannelId => self.channel_id.clone().into_bytes(),
            TxInfo::Timestamp => {
                let mut b = self.timestamp.0.to_le_bytes().to_vec();
                b.extend_from_slice(&self.timestamp.1.to_le_bytes());
                b
            }
            TxInfo::CreatorMspId => self.creator_msp_id.clone().into_bytes(),
            TxInfo::CreatorCert => self.creator_cert.clone(),
            TxInfo::ReadOnly => vec![u8::from(self.read_only)],
        })
    }

    fn get_transient(&mut self, key: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.transient.get(key).cloned())
    }

    fn set_event(&mut self, name: &str, payload: &[u8]) -> Result<(), LedgerError> {
        self.event = Some((name.to_string(), payload.to_vec()));
        Ok(())
    }

    fn invoke_chaincode(&mut self, name: &str, args: &[Vec<u8>]) -> Result<Response, LedgerError> {
        match self.chaincodes.get_mut(name) {
            Some(f) => Ok(f(args)),
            None => Err(LedgerError {
                code: ErrorCode::NotFound,
                call: "invoke_chaincode",
            }),
        }
    }

    fn log(&mut self, _level: i32, message: &str) {
        self.logs.push(message.to_string());
    }
}

/// A fresh self-signed PEM certificate with subject `CN=<common_name>`, for
/// tests that need a creator (natively or through the peer's runtime).
#[cfg(not(target_arch = "wasm32"))]
pub fn test_certificate(common_name: &str) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().expect("generating a P-256 key");
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    params
        .self_signed(&key)
        .expect("self-signing a test certificate")
        .pem()
        .into_bytes()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::Context;

    #[test]
    fn private_ranges_follow_fabrics_rule_against_writes_in_the_same_transaction() {
        let mut stub = MockStub::new();
        for k in ["a", "b", "c"] {
            stub.put_private_data("coll", k, Some(k.as_bytes()))
                .unwrap();
        }
        let composite = Context::new(&mut stub)
            .create_composite_key("t", &["x"])
            .unwrap();
        stub.put_private_data("coll", &composite, Some(b"z"))
            .unwrap();

        // A new transaction: the query reads, then a write is refused.
        stub.wrote = false;
        let mut ctx = Context::new(&mut stub);
        let keys: Vec<String> = ctx
            .get_private_data_by_range("coll", "a", "c")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(
            ctx.get_private_data_by_range("coll", "", "").unwrap().len(),
            3
        );
        let by_type = ctx
            .get_private_data_by_partial_composite_key("coll", "t", &[])
            .unwrap();
        assert_eq!(by_type, vec![(composite, b"z".to_vec())]);
        let refused = ctx.put_state("k", b"v").unwrap_err();
        assert_eq!(refused.code, ErrorCode::Unsupported);
        assert!(refused.to_string().contains("unsupported transaction"));

        // Another: a write first, then the query is refused.
        stub.queried_unrecorded = false;
        stub.wrote = false;
        let mut ctx = Context::new(&mut stub);
        ctx.del_private_data("coll", "a").unwrap();
        let refused = ctx.get_private_data_by_range("coll", "", "").unwrap_err();
        assert!(
            refused.message.contains("unsupported transaction"),
            "{refused}"
        );
    }

    #[test]
    fn a_private_key_keeps_a_policy_while_it_exists() {
        let mut stub = MockStub::new();
        let mut ctx = Context::new(&mut stub);
        // A key that does not exist keeps no policy, as on a peer.
        ctx.set_private_data_validation_parameter("coll", "k", b"p")
            .unwrap();
        assert_eq!(
            ctx.get_private_data_validation_parameter("coll", "k")
                .unwrap(),
            None
        );
        ctx.put_private_data("coll", "k", b"v").unwrap();
        ctx.set_private_data_validation_parameter("coll", "k", b"p")
            .unwrap();
        assert_eq!(
            ctx.get_private_data_validation_parameter("coll", "k")
                .unwrap(),
            Some(b"p".to_vec())
        );
        ctx.del_private_data("coll", "k").unwrap();
        assert_eq!(
            ctx.get_private_data_validation_parameter("coll", "k")
                .unwrap(),
            None
        );
    }
}
