//! Fabric's marbles02 sample, as weft chaincode. Marbles are stored under
//! their name with the same JSON as the Go sample. Two composite-key indexes,
//! `color~name` and `owner~name`, let `TransferMarblesBasedOnColor`,
//! `GetMarblesByColor` and `GetMarblesByOwner` find marbles by key; Fabric's
//! rich-query functions (`QueryMarblesByOwner`, `QueryMarbles`,
//! `QueryMarblesWithPagination`) search the values themselves, which on weft
//! needs no CouchDB.
//!
//! Transactions: `InitMarble`, `InitMarbleFromTransient` (the marble comes
//! in transient data, as in Fabric's private-data marbles, so its attributes
//! never appear in the transaction), `ReadMarble`, `DeleteMarble`,
//! `TransferMarble`, `TransferMarblesBasedOnColor`, `GetMarblesByRange`,
//! `GetMarblesByColor`, `GetMarblesByOwner`, `GetHistoryForMarble`,
//! `QueryMarblesByOwner`, `QueryMarbles`, `QueryMarblesWithPagination`,
//! `GetMarblesByRangeWithPagination` and `ReadMarbles`.

use serde::{Deserialize, Serialize};
use weft_chaincode_sdk::{Context, ContractError, QueryBuilder, contract};

/// The colour index's object type, as in Fabric's sample.
const COLOR_INDEX: &str = "color~name";

/// The owner index's object type.
const OWNER_INDEX: &str = "owner~name";

/// The transient key `InitMarbleFromTransient` reads.
pub const TRANSIENT_KEY: &str = "marble";

/// The input `InitMarbleFromTransient` expects under [`TRANSIENT_KEY`].
#[derive(Debug, Clone, Deserialize)]
pub struct MarbleInput {
    /// Name.
    pub name: String,
    /// Colour.
    pub color: String,
    /// Size.
    pub size: u64,
    /// Owner.
    pub owner: String,
}

/// A marble, serialised like Fabric's Go sample (fields in this order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marble {
    /// Always `"marble"`: the document type.
    #[serde(rename = "docType")]
    pub doc_type: String,
    /// Name, which is also the key.
    pub name: String,
    /// Colour (indexed).
    pub color: String,
    /// Size.
    pub size: u64,
    /// Owner.
    pub owner: String,
}

/// One past value of a marble, as `GetHistoryForMarble` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarbleHistory {
    /// The transaction that wrote this value.
    #[serde(rename = "TxId")]
    pub tx_id: String,
    /// The marble as written, or `None` when the transaction deleted it.
    #[serde(rename = "Value")]
    pub value: Option<Marble>,
    /// Seconds since the epoch of the writing transaction.
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    /// Whether the transaction deleted the marble.
    #[serde(rename = "IsDelete")]
    pub is_delete: bool,
}

/// One result of a rich query, as Fabric's sample returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryResult {
    /// The marble's key (its name).
    #[serde(rename = "Key")]
    pub key: String,
    /// The marble.
    #[serde(rename = "Record")]
    pub record: Marble,
}

/// A page of a rich query's results and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPage {
    /// The marbles of this page.
    pub records: Vec<QueryResult>,
    /// How many there are.
    #[serde(rename = "fetchedRecordsCount")]
    pub fetched_records_count: u32,
    /// Pass back to get the next page (empty after the last).
    pub bookmark: String,
}

/// The contract.
#[derive(Default)]
pub struct Marbles;

impl Marbles {
    fn read(&self, ctx: &mut Context, name: &str) -> Result<Marble, ContractError> {
        ctx.get_json(name)?
            .ok_or_else(|| ContractError::new(format!("the marble {name} does not exist")))
    }

    fn index_keys(&self, ctx: &Context, marble: &Marble) -> Result<[String; 2], ContractError> {
        Ok([
            ctx.create_composite_key(COLOR_INDEX, &[&marble.color, &marble.name])?,
            ctx.create_composite_key(OWNER_INDEX, &[&marble.owner, &marble.name])?,
        ])
    }

    fn owner_key(&self, ctx: &Context, marble: &Marble) -> Result<String, ContractError> {
        ctx.create_composite_key(OWNER_INDEX, &[&marble.owner, &marble.name])
    }

    /// Stores a new marble and its index entries.
    fn create(
        &self,
        ctx: &mut Context,
        name: String,
        color: String,
        size: u64,
        owner: String,
    ) -> Result<(), ContractError> {
        if name.is_empty() || color.is_empty() || owner.is_empty() {
            return Err(ContractError::with_status(
                400,
                "name, color and owner must be non-empty",
            ));
        }
        if ctx.get_state(&name)?.is_some() {
            return Err(ContractError::new(format!(
                "the marble {name} already exists"
            )));
        }
        let marble = Marble {
            doc_type: "marble".into(),
            name: name.clone(),
            color: color.to_lowercase(),
            size,
            owner: owner.to_lowercase(),
        };
        ctx.put_json(&name, &marble)?;
        // An index entry's value is a single zero byte, as in Fabric's sample
        // (an empty value would read as a delete).
        for index in self.index_keys(ctx, &marble)? {
            ctx.put_state(&index, &[0])?;
        }
        Ok(())
    }

    /// The marble names an index lists under its first attribute `value`.
    fn index_names(
        &self,
        ctx: &mut Context,
        index: &str,
        value: &str,
    ) -> Result<Vec<String>, ContractError> {
        let entries = ctx.get_state_by_partial_composite_key(index, &[value])?;
        entries
            .into_iter()
            .map(|(key, _)| {
                let (_, mut attrs) = ctx
                    .split_composite_key(&key)
                    .ok_or_else(|| ContractError::new(format!("malformed index key {key:?}")))?;
                if attrs.len() < 2 {
                    return Err(ContractError::new(format!("index key {key:?} has no name")));
                }
                Ok(attrs.swap_remove(1))
            })
            .collect()
    }

    /// The marbles an index lists under its first attribute `value`.
    fn by_index(
        &self,
        ctx: &mut Context,
        index: &str,
        value: &str,
    ) -> Result<Vec<Marble>, ContractError> {
        self.index_names(ctx, index, value)?
            .iter()
            .map(|name| self.read(ctx, name))
            .collect()
    }

    /// Rich-query results as `{Key, Record}` pairs.
    fn query_results(pairs: Vec<(String, Vec<u8>)>) -> Result<Vec<QueryResult>, ContractError> {
        pairs
            .into_iter()
            .map(|(key, v)| {
                Ok(QueryResult {
                    key,
                    record: serde_json::from_slice(&v)?,
                })
            })
            .collect()
    }

    /// Marbles from (key, value) pairs, skipping composite-key entries.
    fn decode_all(pairs: Vec<(String, Vec<u8>)>) -> Result<Vec<Marble>, ContractError> {
        pairs
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v).map_err(ContractError::from))
            .collect()
    }
}

#[contract("Marbles")]
impl Marbles {
    /// Creates a marble and indexes it by colour.
    #[transaction]
    pub fn init_marble(
        &self,
        ctx: &mut Context,
        name: String,
        color: String,
        size: u64,
        owner: String,
    ) -> Result<(), ContractError> {
        self.create(ctx, name, color, size, owner)
    }

    /// Creates a marble from the JSON under the transient key `marble`
    /// (`{"name", "color", "size", "owner"}`): the attributes are not in the
    /// transaction's arguments, only in its writes.
    #[transaction]
    pub fn init_marble_from_transient(&self, ctx: &mut Context) -> Result<(), ContractError> {
        let input = ctx.get_transient(TRANSIENT_KEY)?.ok_or_else(|| {
            ContractError::with_status(
                400,
                format!("the marble must be in transient data under {TRANSIENT_KEY:?}"),
            )
        })?;
        let m: MarbleInput = serde_json::from_slice(&input).map_err(|e| {
            ContractError::with_status(
                400,
                format!("transient {TRANSIENT_KEY:?} is not a marble: {e}"),
            )
        })?;
        self.create(ctx, m.name, m.color, m.size, m.owner)
    }

    /// A marble by name.
    #[transaction(evaluate)]
    pub fn read_marble(&self, ctx: &mut Context, name: String) -> Result<Marble, ContractError> {
        self.read(ctx, &name)
    }

    /// Deletes a marble and its index entry.
    #[transaction]
    pub fn delete_marble(&self, ctx: &mut Context, name: String) -> Result<(), ContractError> {
        let marble = self.read(ctx, &name)?;
        // The marble and its index entries go in one call to the peer.
        let [color, owner] = self.index_keys(ctx, &marble)?;
        ctx.put_states(&[(&name, None), (&color, None), (&owner, None)])?;
        Ok(())
    }

    /// Several marbles at once (`null` for a name with no marble), read in
    /// one call to the peer (Fabric 3.1's `GetMultipleStates`).
    #[transaction(evaluate)]
    pub fn read_marbles(
        &self,
        ctx: &mut Context,
        names: Vec<String>,
    ) -> Result<Vec<Option<Marble>>, ContractError> {
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        ctx.get_multiple_states(&keys)?
            .into_iter()
            .map(|v| {
                v.map(|v| serde_json::from_slice(&v))
                    .transpose()
                    .map_err(ContractError::from)
            })
            .collect()
    }

    /// Gives a marble a new owner.
    #[transaction]
    pub fn transfer_marble(
        &self,
        ctx: &mut Context,
        name: String,
        new_owner: String,
    ) -> Result<(), ContractError> {
        let mut marble = self.read(ctx, &name)?;
        let old = self.owner_key(ctx, &marble)?;
        ctx.del_state(&old)?;
        marble.owner = new_owner.to_lowercase();
        let new = self.owner_key(ctx, &marble)?;
        ctx.put_state(&new, &[0])?;
        ctx.put_json(&name, &marble)
    }

    /// Gives every marble of a colour a new owner, found through the colour
    /// index; returns how many moved.
    #[transaction]
    pub fn transfer_marbles_based_on_color(
        &self,
        ctx: &mut Context,
        color: String,
        new_owner: String,
    ) -> Result<u64, ContractError> {
        let names = self.index_names(ctx, COLOR_INDEX, &color)?;
        for name in &names {
            self.transfer_marble(ctx, name.clone(), new_owner.clone())?;
        }
        Ok(names.len() as u64)
    }

    /// Marbles whose names are in `[start, end)`.
    #[transaction(evaluate)]
    pub fn get_marbles_by_range(
        &self,
        ctx: &mut Context,
        start: String,
        end: String,
    ) -> Result<Vec<Marble>, ContractError> {
        Self::decode_all(ctx.get_state_by_range(&start, &end)?)
    }

    /// Marbles of one colour, through the colour index.
    #[transaction(evaluate)]
    pub fn get_marbles_by_color(
        &self,
        ctx: &mut Context,
        color: String,
    ) -> Result<Vec<Marble>, ContractError> {
        self.by_index(ctx, COLOR_INDEX, &color.to_lowercase())
    }

    /// Marbles of one owner, through the owner index.
    #[transaction(evaluate)]
    pub fn get_marbles_by_owner(
        &self,
        ctx: &mut Context,
        owner: String,
    ) -> Result<Vec<Marble>, ContractError> {
        self.by_index(ctx, OWNER_INDEX, &owner.to_lowercase())
    }

    /// Marbles of one owner, by a rich query on the values (Fabric's
    /// `QueryMarblesByOwner`; the package's `indexOwner` index serves it).
    #[transaction(evaluate)]
    pub fn query_marbles_by_owner(
        &self,
        ctx: &mut Context,
        owner: String,
    ) -> Result<Vec<QueryResult>, ContractError> {
        let query = QueryBuilder::new()
            .eq("docType", "marble")
            .eq("owner", owner.to_lowercase())
            .build();
        Self::query_results(ctx.get_query_result(&query)?)
    }

    /// Marbles matching any rich query (Fabric's `QueryMarbles`), e.g.
    /// `{"selector":{"docType":"marble","size":{"$gt":10}},"sort":[{"size":"desc"}]}`.
    #[transaction(evaluate)]
    pub fn query_marbles(
        &self,
        ctx: &mut Context,
        query: String,
    ) -> Result<Vec<QueryResult>, ContractError> {
        Self::query_results(ctx.get_query_result(&query)?)
    }

    /// One page of a rich query's marbles after `bookmark` (Fabric's
    /// `QueryMarblesWithPagination`).
    #[transaction(evaluate)]
    pub fn query_marbles_with_pagination(
        &self,
        ctx: &mut Context,
        query: String,
        page_size: i32,
        bookmark: String,
    ) -> Result<QueryPage, ContractError> {
        let (records, metadata) =
            ctx.get_query_result_with_pagination(&query, page_size, &bookmark)?;
        Ok(QueryPage {
            records: Self::query_results(records)?,
            fetched_records_count: metadata.fetched_records_count,
            bookmark: metadata.bookmark,
        })
    }

    /// One page of the marbles whose names are in `[start, end)`, after
    /// `bookmark` (Fabric's `GetMarblesByRangeWithPagination`).
    #[transaction(evaluate)]
    pub fn get_marbles_by_range_with_pagination(
        &self,
        ctx: &mut Context,
        start: String,
        end: String,
        page_size: i32,
        bookmark: String,
    ) -> Result<QueryPage, ContractError> {
        let (records, metadata) =
            ctx.get_state_by_range_with_pagination(&start, &end, page_size, &bookmark)?;
        Ok(QueryPage {
            records: Self::query_results(records)?,
            fetched_records_count: metadata.fetched_records_count,
            bookmark: metadata.bookmark,
        })
    }

    /// Every value a marble has had, newest first.
    #[transaction(evaluate)]
    pub fn get_history_for_marble(
        &self,
        ctx: &mut Context,
        name: String,
    ) -> Result<Vec<MarbleHistory>, ContractError> {
        ctx.get_history_for_key(&name)?
            .into_iter()
            .map(|m| {
                let value = if m.is_delete {
                    None
                } else {
                    Some(serde_json::from_slice(&m.value)?)
                };
                Ok(MarbleHistory {
                    tx_id: m.tx_id,
                    value,
                    timestamp: m.timestamp_seconds,
                    is_delete: m.is_delete,
                })
            })
            .collect()
    }
}

weft_chaincode_sdk::register!(Marbles);

#[cfg(test)]
mod tests {
    use weft_chaincode_sdk::mock::MockStub;

    use super::*;

    fn marbles(payload: &[u8]) -> Vec<Marble> {
        serde_json::from_slice(payload).unwrap()
    }

    #[test]
    fn the_owner_index_follows_transfers_and_deletes() {
        let r = router();
        let mut stub = MockStub::new();
        for (name, owner) in [("m1", "tom"), ("m2", "tom"), ("m3", "ann")] {
            let res = stub.invoke(&r, &["InitMarble", name, "red", "1", owner]);
            assert_eq!(res.status, 200, "{}", res.message);
        }
        let names = |stub: &mut MockStub, owner: &str| -> Vec<String> {
            marbles(&stub.invoke(&r, &["GetMarblesByOwner", owner]).payload)
                .into_iter()
                .map(|m| m.name)
                .collect()
        };
        assert_eq!(names(&mut stub, "Tom"), ["m1", "m2"]);
        stub.invoke(&r, &["TransferMarble", "m1", "ann"]);
        assert_eq!(names(&mut stub, "tom"), ["m2"]);
        assert_eq!(names(&mut stub, "ann"), ["m1", "m3"]);
        stub.invoke(&r, &["DeleteMarble", "m3"]);
        assert_eq!(names(&mut stub, "ann"), ["m1"]);
        assert!(
            !stub.state.keys().any(|k| k.contains("m3")),
            "no index entry left behind"
        );
    }

    #[test]
    fn a_marble_from_transient_data_keeps_its_attributes_out_of_the_arguments() {
        let r = router();
        let mut stub = MockStub::new();
        let missing = stub.invoke(&r, &["InitMarbleFromTransient"]);
        assert_eq!(missing.status, 400);
        assert!(missing.message.contains("transient"), "{}", missing.message);
        stub.transient
            .insert(TRANSIENT_KEY.into(), b"{not json".to_vec());
        assert_eq!(stub.invoke(&r, &["InitMarbleFromTransient"]).status, 400);
        stub.transient.insert(
            TRANSIENT_KEY.into(),
            br#"{"name":"secret1","color":"Green","size":9,"owner":"Eve"}"#.to_vec(),
        );
        let ok = stub.invoke(&r, &["InitMarbleFromTransient"]);
        assert_eq!(ok.status, 200, "{}", ok.message);
        let m: Marble = serde_json::from_str(&stub.get_str("secret1").unwrap()).unwrap();
        assert_eq!(
            (m.color.as_str(), m.owner.as_str(), m.size),
            ("green", "eve", 9)
        );
    }

    #[test]
    fn the_colour_index_follows_the_marbles() {
        let r = router();
        let mut stub = MockStub::new();
        for (name, color, size, owner) in [
            ("marble1", "blue", "35", "tom"),
            ("marble2", "red", "50", "tom"),
            ("marble3", "blue", "70", "tom"),
        ] {
            let res = stub.invoke(&r, &["InitMarble", name, color, size, owner]);
            assert_eq!(res.status, 200, "{}", res.message);
        }
        assert_eq!(
            stub.get_str("marble1").unwrap(),
            r#"{"docType":"marble","name":"marble1","color":"blue","size":35,"owner":"tom"}"#,
            "the same JSON as Fabric's Go sample"
        );
        assert!(
            stub.state
                .contains_key("\u{0}color~name\u{0}blue\u{0}marble3\u{0}")
        );
        let dup = stub.invoke(&r, &["InitMarble", "marble1", "red", "1", "x"]);
        assert_eq!(dup.message, "the marble marble1 already exists");

        // Range queries see marbles only, never index entries.
        let all = marbles(&stub.invoke(&r, &["GetMarblesByRange", "", ""]).payload);
        assert_eq!(all.len(), 3);
        let some = marbles(
            &stub
                .invoke(&r, &["GetMarblesByRange", "marble1", "marble3"])
                .payload,
        );
        assert_eq!(some.len(), 2);
        let composite = stub.invoke(&r, &["GetMarblesByRange", "\u{0}color~name", ""]);
        assert_eq!(composite.status, 400, "a composite bound is refused");
        assert!(composite.message.contains("composite key"));

        let blue = marbles(&stub.invoke(&r, &["GetMarblesByColor", "blue"]).payload);
        let names: Vec<_> = blue.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["marble1", "marble3"]);

        let moved = stub.invoke(&r, &["TransferMarblesBasedOnColor", "blue", "jerry"]);
        assert_eq!(moved.payload, b"2");
        let m3: Marble =
            serde_json::from_slice(&stub.invoke(&r, &["ReadMarble", "marble3"]).payload).unwrap();
        assert_eq!(m3.owner, "jerry");
        let m2: Marble =
            serde_json::from_slice(&stub.invoke(&r, &["ReadMarble", "marble2"]).payload).unwrap();
        assert_eq!(m2.owner, "tom", "other colours are untouched");

        assert_eq!(stub.invoke(&r, &["DeleteMarble", "marble1"]).status, 200);
        assert!(
            !stub
                .state
                .contains_key("\u{0}color~name\u{0}blue\u{0}marble1\u{0}")
        );
        let blue = marbles(&stub.invoke(&r, &["GetMarblesByColor", "blue"]).payload);
        assert_eq!(blue.len(), 1);
        let missing = stub.invoke(&r, &["TransferMarble", "marble1", "x"]);
        assert_eq!(missing.message, "the marble marble1 does not exist");
        assert_eq!(
            stub.invoke(&r, &["InitMarble", "", "red", "1", "x"]).status,
            400
        );
    }

    #[test]
    fn history_lists_every_value_newest_first() {
        let r = router();
        let mut stub = MockStub::new();
        stub.invoke(&r, &["InitMarble", "m", "green", "5", "ann"]);
        stub.invoke(&r, &["TransferMarble", "m", "bob"]);
        stub.invoke(&r, &["DeleteMarble", "m"]);
        let history: Vec<MarbleHistory> =
            serde_json::from_slice(&stub.invoke(&r, &["GetHistoryForMarble", "m"]).payload)
                .unwrap();
        assert_eq!(history.len(), 3);
        assert!(history[0].is_delete && history[0].value.is_none());
        assert_eq!(history[1].value.as_ref().unwrap().owner, "bob");
        assert_eq!(history[2].value.as_ref().unwrap().owner, "ann");
    }

    #[test]
    fn rich_queries_find_marbles_by_value_and_page_with_bookmarks() {
        let r = router();
        let mut stub = MockStub::new();
        for i in 0..7 {
            let owner = if i % 2 == 0 { "tom" } else { "ann" };
            let name = format!("marble{i}");
            let size = (10 * i).to_string();
            stub.invoke(&r, &["InitMarble", &name, "blue", &size, owner]);
        }
        let toms: Vec<QueryResult> =
            serde_json::from_slice(&stub.invoke(&r, &["QueryMarblesByOwner", "TOM"]).payload)
                .unwrap();
        let names: Vec<_> = toms.iter().map(|q| q.key.as_str()).collect();
        assert_eq!(names, ["marble0", "marble2", "marble4", "marble6"]);
        assert_eq!(toms[1].record.size, 20);

        let big =
            r#"{"selector":{"docType":"marble","size":{"$gte":30}},"sort":[{"size":"desc"}]}"#;
        let found: Vec<QueryResult> =
            serde_json::from_slice(&stub.invoke(&r, &["QueryMarbles", big]).payload).unwrap();
        let sizes: Vec<_> = found.iter().map(|q| q.record.size).collect();
        assert_eq!(sizes, [60, 50, 40, 30]);

        // Pages of 3 over all seven, each marble once.
        let all = r#"{"selector":{"docType":"marble"}}"#;
        let (mut seen, mut bookmark) = (Vec::new(), String::new());
        loop {
            let page: QueryPage = serde_json::from_slice(
                &stub
                    .invoke(&r, &["QueryMarblesWithPagination", all, "3", &bookmark])
                    .payload,
            )
            .unwrap();
            if page.records.is_empty() {
                break;
            }
            assert_eq!(page.fetched_records_count as usize, page.records.len());
            seen.extend(page.records.into_iter().map(|q| q.key));
            bookmark = page.bookmark;
        }
        assert_eq!(seen.len(), 7);

        // Range pages: the bookmark is the next page's first key.
        let page: QueryPage = serde_json::from_slice(
            &stub
                .invoke(
                    &r,
                    &["GetMarblesByRangeWithPagination", "marble1", "", "4", ""],
                )
                .payload,
        )
        .unwrap();
        assert_eq!(page.fetched_records_count, 4);
        assert_eq!(page.bookmark, "marble5");
        let page: QueryPage = serde_json::from_slice(
            &stub
                .invoke(
                    &r,
                    &[
                        "GetMarblesByRangeWithPagination",
                        "marble1",
                        "",
                        "4",
                        "marble5",
                    ],
                )
                .payload,
        )
        .unwrap();
        let names: Vec<_> = page.records.iter().map(|q| q.key.as_str()).collect();
        assert_eq!(
            (names, page.bookmark.as_str()),
            (vec!["marble5", "marble6"], "")
        );

        // Several marbles in one read.
        let read: Vec<Option<Marble>> = serde_json::from_slice(
            &stub
                .invoke(&r, &["ReadMarbles", r#"["marble2","nope","marble0"]"#])
                .payload,
        )
        .unwrap();
        assert_eq!(read[0].as_ref().unwrap().size, 20);
        assert!(read[1].is_none());
        assert_eq!(read[2].as_ref().unwrap().owner, "tom");

        let bad = stub.invoke(
            &r,
            &["QueryMarbles", r#"{"selector":{"size":{"$near":1}}}"#],
        );
        assert_eq!(bad.status, 400);
        assert!(
            bad.message.contains("$near is not supported"),
            "{}",
            bad.message
        );
    }
}
