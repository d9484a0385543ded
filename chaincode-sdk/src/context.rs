//! The transaction context: what a transaction can do with the ledger.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use weft_chaincode_abi::{KeyModification, QueryMetadata, Response, TxInfo, log_level};

use crate::ledger::KeyValues;
use crate::{ContractError, Ledger, LedgerError};

/// Composite keys start with this character (Fabric's `minUnicodeRuneValue`),
/// so they never collide with simple keys.
pub const COMPOSITE_KEY_NAMESPACE: char = '\u{0}';
/// The largest code point: the end of a partial-composite-key range.
const MAX_UNICODE_RUNE: char = '\u{10FFFF}';
/// Where a range with an empty start key begins: just past the composite keys
/// (Fabric's `emptyKeySubstitute`).
const SIMPLE_KEYS_START: &str = "\u{1}";

/// Where a simple-key range begins (an empty `start`: after the composite
/// keys); a bound that is a composite key is refused, as by Fabric's shim.
fn simple_range_start<'s>(start: &'s str, end: &str) -> Result<&'s str, ContractError> {
    for bound in [start, end] {
        if bound.starts_with(COMPOSITE_KEY_NAMESPACE) {
            return Err(ContractError::with_status(
                400,
                format!(
                    "range bound {bound:?} starts with U+0000, which marks a composite key; \
                     use a partial-composite-key query"
                ),
            ));
        }
    }
    Ok(if start.is_empty() {
        SIMPLE_KEYS_START
    } else {
        start
    })
}

/// The context of one transaction.
pub struct Context<'a> {
    ledger: &'a mut dyn Ledger,
}

impl<'a> Context<'a> {
    /// A context over a ledger (the host, or a mock).
    pub fn new(ledger: &'a mut dyn Ledger) -> Self {
        Self { ledger }
    }

    /// A key's committed value.
    pub fn get_state(&mut self, key: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        self.ledger.get_state(key)
    }

    /// Writes a key (visible to other transactions once committed).
    pub fn put_state(&mut self, key: &str, value: &[u8]) -> Result<(), LedgerError> {
        self.ledger.put_state(key, value)
    }

    /// Deletes a key.
    pub fn del_state(&mut self, key: &str) -> Result<(), LedgerError> {
        self.ledger.del_state(key)
    }

    /// A key's endorsement policy, if it has one (Fabric's
    /// `GetStateValidationParameter`); decode it with
    /// [`crate::statebased::KeyEndorsementPolicy`].
    pub fn get_state_validation_parameter(
        &mut self,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        self.ledger.get_state_validation_parameter(key)
    }

    /// Sets a key's endorsement policy (Fabric's `SetStateValidationParameter`):
    /// once this transaction commits, writes to the key must satisfy `policy`
    /// (build it with [`crate::statebased::KeyEndorsementPolicy`]) instead of
    /// the chaincode's endorsement policy — changing it again included. A key
    /// that does not exist when the transaction commits keeps no policy.
    pub fn set_state_validation_parameter(
        &mut self,
        key: &str,
        policy: &[u8],
    ) -> Result<(), LedgerError> {
        self.ledger.set_state_validation_parameter(key, policy)
    }

    /// A private key's endorsement policy (Fabric's
    /// `GetPrivateDataValidationParameter`), if it has one.
    pub fn get_private_data_validation_parameter(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        self.ledger
            .get_private_data_validation_parameter(collection, key)
    }

    /// Sets a private key's endorsement policy (Fabric's
    /// `SetPrivateDataValidationParameter`; build it with
    /// [`crate::statebased::KeyEndorsementPolicy`]): from the next
    /// transaction on, writes to the key must satisfy it instead of the
    /// collection's or the chaincode's policy. Every peer of the channel
    /// checks it, members or not, as it is kept by the key's hash.
    pub fn set_private_data_validation_parameter(
        &mut self,
        collection: &str,
        key: &str,
        policy: &[u8],
    ) -> Result<(), LedgerError> {
        self.ledger
            .set_private_data_validation_parameter(collection, key, policy)
    }

    /// A private value of `collection` (Fabric's `GetPrivateData`): present
    /// on peers of the collection's member orgs only. With `memberOnlyRead`,
    /// clients of other orgs are refused.
    pub fn get_private_data(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        self.ledger.get_private_data(collection, key)
    }

    /// The SHA-256 of a private value as committed (Fabric's
    /// `GetPrivateDataHash`): every org's peers can read it, e.g. to check a
    /// value another org shows them.
    pub fn get_private_data_hash(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, LedgerError> {
        self.ledger.get_private_data_hash(collection, key)
    }

    /// Writes a private value (Fabric's `PutPrivateData`): the transaction
    /// carries only its hash; the value stays with the collection's members.
    pub fn put_private_data(
        &mut self,
        collection: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), LedgerError> {
        self.ledger.put_private_data(collection, key, Some(value))
    }

    /// Deletes a private value (Fabric's `DelPrivateData`).
    pub fn del_private_data(&mut self, collection: &str, key: &str) -> Result<(), LedgerError> {
        self.ledger.put_private_data(collection, key, None)
    }

    /// Deletes a private value and has every member peer drop every past
    /// version of it from its private data store (Fabric 2.5's
    /// `PurgePrivateData`, which the channel's `V2_5` application capability
    /// enables). Validated like a delete.
    pub fn purge_private_data(&mut self, collection: &str, key: &str) -> Result<(), LedgerError> {
        self.ledger.purge_private_data(collection, key)
    }

    /// A key's value parsed from JSON.
    pub fn get_json<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, ContractError> {
        match self.get_state(key)? {
            None => Ok(None),
            Some(b) => Ok(Some(serde_json::from_slice(&b).map_err(|e| {
                ContractError::new(format!("value of {key:?} is not the expected JSON: {e}"))
            })?)),
        }
    }

    /// Writes a value as JSON.
    pub fn put_json<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), ContractError> {
        Ok(self.put_state(key, &serde_json::to_vec(value)?)?)
    }

    /// Simple keys in `[start, end)` with their values (empty `end`: to the
    /// end). As in Fabric's shim, composite keys are never returned: an empty
    /// `start` begins after them, and a bound that is itself a composite key
    /// is refused (use [`Self::get_state_by_partial_composite_key`]).
    pub fn get_state_by_range(
        &mut self,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, ContractError> {
        let start = simple_range_start(start, end)?;
        Ok(self.ledger.get_range(start, end)?)
    }

    /// The committed values of many keys, in the order given, in one call
    /// to the peer (Fabric 3.1's `GetMultipleStates`); each is recorded as a
    /// read, as by [`Self::get_state`].
    pub fn get_multiple_states(
        &mut self,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, LedgerError> {
        self.ledger.get_multiple_states(keys)
    }

    /// Private values of many keys of `collection`, in one call (Fabric
    /// 3.1's `GetMultiplePrivateData`), with [`Self::get_private_data`]'s rules.
    pub fn get_multiple_private_data(
        &mut self,
        collection: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<Vec<u8>>>, LedgerError> {
        self.ledger.get_multiple_private_data(collection, keys)
    }

    /// Many writes (`Some(value)`) and deletes (`None`) in one call to the
    /// peer (what Fabric 3.1's `StartWriteBatch`/`FinishWriteBatch` do for
    /// its shim); the same as calling [`Self::put_state`] and
    /// [`Self::del_state`] in order.
    pub fn put_states(&mut self, writes: &[(&str, Option<&[u8]>)]) -> Result<(), LedgerError> {
        self.ledger.put_states(writes)
    }

    /// One page of simple keys in `[start, end)` after `bookmark` (empty:
    /// the first page), and the next page's bookmark, empty after the last
    /// (Fabric's `GetStateByRangeWithPagination`). Only in a transaction that
    /// writes nothing, as in Fabric.
    pub fn get_state_by_range_with_pagination(
        &mut self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<(KeyValues, QueryMetadata), ContractError> {
        let start = simple_range_start(start, end)?;
        self.ledger.get_range_page(start, end, page_size, bookmark)
    }

    /// One page of the entries whose composite key starts with `type` and
    /// the given leading attributes (Fabric's
    /// `GetStateByPartialCompositeKeyWithPagination`).
    pub fn get_state_by_partial_composite_key_with_pagination(
        &mut self,
        object_type: &str,
        attributes: &[&str],
        page_size: i32,
        bookmark: &str,
    ) -> Result<(KeyValues, QueryMetadata), ContractError> {
        let start = self.create_composite_key(object_type, attributes)?;
        let mut end = start.clone();
        end.push(MAX_UNICODE_RUNE);
        self.ledger
            .get_range_page(&start, &end, page_size, bookmark)
    }

    /// One page of every entry with a composite key, of any type (Fabric
    /// 3.1's `GetAllStatesCompositeKeyWithPagination`).
    pub fn get_all_states_composite_key_with_pagination(
        &mut self,
        page_size: i32,
        bookmark: &str,
    ) -> Result<(KeyValues, QueryMetadata), ContractError> {
        let start = COMPOSITE_KEY_NAMESPACE.to_string();
        let end = format!("{COMPOSITE_KEY_NAMESPACE}{MAX_UNICODE_RUNE}");
        self.ledger
            .get_range_page(&start, &end, page_size, bookmark)
    }

    /// Private values of `collection` this peer holds, with simple keys in
    /// `[start, end)` (Fabric's `GetPrivateDataByRange`; bounds as in
    /// [`Self::get_state_by_range`]). Keys are not recorded for validation,
    /// so Fabric and weft allow it only in a transaction that writes nothing
    /// (an evaluation, typically): a write before or after it fails.
    pub fn get_private_data_by_range(
        &mut self,
        collection: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, ContractError> {
        let start = simple_range_start(start, end)?;
        Ok(self.ledger.get_private_data_range(collection, start, end)?)
    }

    /// Fabric's composite key: `\0type\0attr1\0attr2\0`.
    pub fn create_composite_key(
        &self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<String, ContractError> {
        let bad = |s: &str| s.contains(COMPOSITE_KEY_NAMESPACE) || s.contains(MAX_UNICODE_RUNE);
        if object_type.is_empty() || bad(object_type) || attributes.iter().any(|a| bad(a)) {
            return Err(ContractError::with_status(
                400,
                "composite key parts must be non-empty and must not contain U+0000 or U+10FFFF",
            ));
        }
        let mut key = String::new();
        key.push(COMPOSITE_KEY_NAMESPACE);
        for part in std::iter::once(&object_type).chain(attributes.iter()) {
            key.push_str(part);
            key.push(COMPOSITE_KEY_NAMESPACE);
        }
        Ok(key)
    }

    /// The type and attributes of a composite key.
    pub fn split_composite_key(&self, key: &str) -> Option<(String, Vec<String>)> {
        let rest = key
            .strip_prefix(COMPOSITE_KEY_NAMESPACE)?
            .strip_suffix(COMPOSITE_KEY_NAMESPACE)?;
        let mut parts = rest.split(COMPOSITE_KEY_NAMESPACE).map(str::to_string);
        let t = parts.next()?;
        Some((t, parts.collect()))
    }

    /// Entries whose composite key starts with `type` and the given leading attributes.
    pub fn get_state_by_partial_composite_key(
        &mut self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<Vec<(String, Vec<u8>)>, ContractError> {
        let start = self.create_composite_key(object_type, attributes)?;
        let mut end = start.clone();
        end.push(MAX_UNICODE_RUNE);
        Ok(self.ledger.get_range(&start, &end)?)
    }

    /// Private values of `collection` whose composite key starts with `type`
    /// and the given leading attributes (Fabric's
    /// `GetPrivateDataByPartialCompositeKey`; the same rule as
    /// [`Self::get_private_data_by_range`]).
    pub fn get_private_data_by_partial_composite_key(
        &mut self,
        collection: &str,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<Vec<(String, Vec<u8>)>, ContractError> {
        let start = self.create_composite_key(object_type, attributes)?;
        let mut end = start.clone();
        end.push(MAX_UNICODE_RUNE);
        Ok(self
            .ledger
            .get_private_data_range(collection, &start, &end)?)
    }

    /// The results of a rich query (Fabric's `GetQueryResult`): CouchDB's
    /// JSON query language over this chaincode's JSON values, evaluated by
    /// the peer on its embedded state (see [`crate::QueryBuilder`]). As in
    /// Fabric, each key returned is checked for changes at commit, but a
    /// document that starts to match between endorsement and commit is not:
    /// do not rely on a rich query's completeness in a transaction that
    /// writes. A malformed or unsupported query fails with the peer's reason.
    pub fn get_query_result(
        &mut self,
        query: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, ContractError> {
        Ok(self.ledger.get_query_result(query, None)?.records)
    }

    /// The results of a rich query on the private values of `collection`
    /// this peer holds (Fabric's `GetPrivateDataQueryResult`). As in Fabric
    /// nothing is recorded for validation, so it is allowed only in a
    /// transaction that writes nothing.
    pub fn get_private_data_query_result(
        &mut self,
        collection: &str,
        query: &str,
    ) -> Result<KeyValues, ContractError> {
        self.ledger.get_private_data_query_result(collection, query)
    }

    /// One page of a rich query's results, after `bookmark` (empty: the
    /// first page), and where the next page starts (Fabric's
    /// `GetQueryResultWithPagination`). Only in a transaction that writes
    /// nothing, as in Fabric.
    pub fn get_query_result_with_pagination(
        &mut self,
        query: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<(KeyValues, QueryMetadata), ContractError> {
        let results = self
            .ledger
            .get_query_result(query, Some((page_size, bookmark)))?;
        Ok((results.records, results.metadata.unwrap_or_default()))
    }

    /// A key's past values, newest first (in evaluations).
    pub fn get_history_for_key(&mut self, key: &str) -> Result<Vec<KeyModification>, LedgerError> {
        self.ledger.get_history(key)
    }

    fn info_string(&mut self, kind: TxInfo) -> Result<String, LedgerError> {
        let b = self.ledger.tx_info(kind)?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    /// The transaction id.
    pub fn tx_id(&mut self) -> Result<String, LedgerError> {
        self.info_string(TxInfo::TxId)
    }

    /// The channel.
    pub fn channel_id(&mut self) -> Result<String, LedgerError> {
        self.info_string(TxInfo::ChannelId)
    }

    /// The proposal's timestamp: (seconds, nanos). The only clock a chaincode has.
    pub fn timestamp(&mut self) -> Result<(i64, i32), LedgerError> {
        let b = self.ledger.tx_info(TxInfo::Timestamp)?;
        if b.len() != 12 {
            return Ok((0, 0));
        }
        let mut s = [0u8; 8];
        s.copy_from_slice(&b[..8]);
        let mut n = [0u8; 4];
        n.copy_from_slice(&b[8..]);
        Ok((i64::from_le_bytes(s), i32::from_le_bytes(n)))
    }

    /// Whether this is an evaluation (no writes will be committed).
    pub fn is_read_only(&mut self) -> Result<bool, LedgerError> {
        Ok(self.ledger.tx_info(TxInfo::ReadOnly)? == [1])
    }

    /// Who submitted the transaction.
    pub fn client_identity(&mut self) -> Result<ClientIdentity, ContractError> {
        let msp_id = self.info_string(TxInfo::CreatorMspId)?;
        let cert = self.ledger.tx_info(TxInfo::CreatorCert)?;
        ClientIdentity::from_pem(msp_id, &cert)
    }

    /// Transient (private, unrecorded) input.
    pub fn get_transient(&mut self, key: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        self.ledger.get_transient(key)
    }

    /// Sets the transaction's chaincode event (one per transaction; the last wins).
    pub fn set_event(&mut self, name: &str, payload: &[u8]) -> Result<(), LedgerError> {
        self.ledger.set_event(name, payload)
    }

    /// Calls another chaincode on the channel.
    pub fn invoke_chaincode(
        &mut self,
        name: &str,
        args: &[Vec<u8>],
    ) -> Result<Response, LedgerError> {
        self.ledger.invoke_chaincode(name, args)
    }

    /// Logs at info level (shown in the peer's log, attributed to this chaincode).
    pub fn log_info(&mut self, message: &str) {
        self.ledger.log(log_level::INFO, message);
    }

    /// Logs at debug level.
    pub fn log_debug(&mut self, message: &str) {
        self.ledger.log(log_level::DEBUG, message);
    }
}

/// The submitting client's identity, as Fabric's `cid` package presents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// MSP id.
    pub msp_id: String,
    /// `x509::<subject>::<issuer>`, with names in Go's order and format.
    pub id: String,
    /// Attributes from Fabric CA's attribute extension (OID 1.2.3.4.5.6.7.8.1).
    pub attributes: BTreeMap<String, String>,
}

/// Fabric CA's attribute extension.
const ATTRS_OID: &str = "1.2.3.4.5.6.7.8.1";

fn go_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    let short = |oid: &str| match oid {
        "2.5.4.3" => "CN",
        "2.5.4.11" => "OU",
        "2.5.4.10" => "O",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.6" => "C",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.9" => "STREET",
        "2.5.4.17" => "POSTALCODE",
        _ => "",
    };
    let mut parts: Vec<String> = Vec::new();
    for rdn in name.iter() {
        for attr in rdn.iter() {
            let oid = attr.attr_type().to_id_string();
            let key = short(&oid);
            let value = attr.as_str().unwrap_or("");
            parts.push(if key.is_empty() {
                format!("{oid}={value}")
            } else {
                format!("{key}={value}")
            });
        }
    }
    parts.reverse();
    parts.join(",")
}

impl ClientIdentity {
    /// From the creator's MSP id and PEM certificate.
    pub fn from_pem(msp_id: String, pem: &[u8]) -> Result<Self, ContractError> {
        let bad = |e: String| ContractError::new(format!("creator certificate: {e}"));
        let (_, p) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| bad(e.to_string()))?;
        let cert = p.parse_x509().map_err(|e| bad(e.to_string()))?;
        let id = format!(
            "x509::{}::{}",
            go_name(cert.subject()),
            go_name(cert.issuer())
        );
        let mut attributes = BTreeMap::new();
        for ext in cert.extensions() {
            if ext.oid.to_id_string() == ATTRS_OID
                && let Ok(v) = serde_json::from_slice::<serde_json::Value>(ext.value)
                && let Some(map) = v.get("attrs").and_then(|a| a.as_object())
            {
                for (k, v) in map {
                    attributes.insert(
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    );
                }
            }
        }
        Ok(Self {
            msp_id,
            id,
            attributes,
        })
    }

    /// An attribute's value.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// Fails unless the attribute has this value.
    pub fn assert_attribute(&self, name: &str, value: &str) -> Result<(), ContractError> {
        match self.attribute(name) {
            Some(v) if v == value => Ok(()),
            Some(v) => Err(ContractError::with_status(
                403,
                format!("attribute {name} is {v:?}, not {value:?}"),
            )),
            None => Err(ContractError::with_status(
                403,
                format!("the client has no attribute {name}"),
            )),
        }
    }
}
