//! JSON indexes, as Fabric chaincode declares them for CouchDB
//! (`META-INF/statedb/couchdb/indexes/*.json`), and how a query uses one.
//!
//! An index entry is the document's values of the index's fields, each
//! encoded so that byte order is CouchDB's collation ([`encode_value`]),
//! followed by the document's key. A document lacking one of the fields has
//! no entry (as in CouchDB). The planner ([`plan`]) turns the selector's
//! conditions on the index's leading fields into one range of entries; the
//! documents found there are still matched against the whole selector.

use serde_json::Value;

use crate::QueryError;
use crate::path::FieldPath;
use crate::query::Query;
use crate::selector::Cond;

/// One index: its design document, name and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    /// The design document (`ddoc`, without `_design/`).
    pub ddoc: String,
    /// The index's name.
    pub name: String,
    /// The indexed fields, in order.
    pub fields: Vec<FieldPath>,
}

fn bad_index(reason: impl Into<String>) -> QueryError {
    QueryError::BadIndex(reason.into())
}

impl IndexDef {
    /// Parses a CouchDB index definition:
    /// `{"index": {"fields": ["docType", "owner"]}, "ddoc": "indexOwnerDoc",
    /// "name": "indexOwner", "type": "json"}`. Fields may also be written
    /// `{"owner": "asc"}`; a `text` index or a `partial_filter_selector` is
    /// refused.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let v: Value = serde_json::from_str(text).map_err(|e| bad_index(e.to_string()))?;
        let Value::Object(def) = &v else {
            return Err(bad_index("an index definition is a JSON object"));
        };
        if let Some(t) = def.get("type")
            && t != "json"
        {
            return Err(bad_index(format!(
                "type {t} is not supported (only \"json\" indexes)"
            )));
        }
        let index = def
            .get("index")
            .and_then(Value::as_object)
            .ok_or_else(|| bad_index("no \"index\" object"))?;
        if index.contains_key("partial_filter_selector") {
            return Err(bad_index("partial_filter_selector is not supported"));
        }
        let fields = index
            .get("fields")
            .and_then(Value::as_array)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| bad_index("\"index\" has no \"fields\""))?
            .iter()
            .map(|f| match f {
                Value::String(name) => FieldPath::parse(name),
                Value::Object(o) if o.len() == 1 => {
                    let (name, dir) = o.iter().next().expect("one field");
                    match dir.as_str() {
                        Some("asc" | "desc") => FieldPath::parse(name),
                        _ => Err(bad_index(format!("field {name}: direction is asc or desc"))),
                    }
                }
                _ => Err(bad_index("a field is a name or {\"name\": \"asc\"}")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let text_of = |k: &str| def.get(k).and_then(Value::as_str).map(str::to_string);
        let name = text_of("name");
        let ddoc = text_of("ddoc").map(|d| d.strip_prefix("_design/").unwrap_or(&d).to_string());
        let (ddoc, name) = match (ddoc, name) {
            (Some(d), Some(n)) => (d, n),
            (Some(d), None) => (d.clone(), d),
            (None, Some(n)) => (n.clone(), n),
            (None, None) => return Err(bad_index("the index has neither \"ddoc\" nor \"name\"")),
        };
        Ok(Self { ddoc, name, fields })
    }

    /// The index's entry for a document, or `None` when the document lacks
    /// one of the fields (or is not a JSON object).
    pub fn entry(&self, key: &str, doc: &Value) -> Option<Vec<u8>> {
        if !doc.is_object() {
            return None;
        }
        let mut out = Vec::new();
        for field in &self.fields {
            encode_value(&mut out, field.lookup(doc)?);
        }
        out.extend_from_slice(key.as_bytes());
        Some(out)
    }

    /// The document key at the end of an entry of this index.
    pub fn key_of(&self, entry: &[u8]) -> Option<String> {
        let mut rest = entry;
        for _ in &self.fields {
            rest = skip_value(rest)?;
        }
        String::from_utf8(rest.to_vec()).ok()
    }
}

const NULL: u8 = 0x01;
const FALSE: u8 = 0x02;
const TRUE: u8 = 0x03;
const NUMBER: u8 = 0x04;
const STRING: u8 = 0x05;
const ARRAY: u8 = 0x06;
const OBJECT: u8 = 0x07;

/// Appends `bytes`, with 0x00 escaped as 0x00 0xFF, then 0x00 0x00: order
/// and prefixes are kept, and the end is unambiguous.
fn put_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        out.push(*b);
        if *b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Appends a value's order-preserving encoding: a type tag in collation
/// order, then numbers as order-preserving IEEE 754 bits (integers beyond
/// 2^53 share a code with their nearest double; matching re-checks them),
/// strings by UTF-8 bytes (code-point order), arrays and objects by their
/// JSON text (an order within each, not CouchDB's; the planner never
/// ranges over them).
pub fn encode_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            out.push(NUMBER);
            let f = n.as_f64().unwrap_or(0.0);
            // -0.0 and 0.0 are one value.
            let f = if f == 0.0 { 0.0 } else { f };
            let bits = f.to_bits();
            let ordered = if bits >> 63 == 0 {
                bits | (1 << 63)
            } else {
                !bits
            };
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        Value::String(s) => {
            out.push(STRING);
            put_escaped(out, s.as_bytes());
        }
        Value::Array(_) => {
            out.push(ARRAY);
            put_escaped(out, v.to_string().as_bytes());
        }
        Value::Object(_) => {
            out.push(OBJECT);
            put_escaped(out, v.to_string().as_bytes());
        }
    }
}

/// The rest of `b` after one encoded value.
fn skip_value(b: &[u8]) -> Option<&[u8]> {
    let (tag, rest) = b.split_first()?;
    match *tag {
        NULL | FALSE | TRUE => Some(rest),
        NUMBER => rest.get(8..),
        STRING | ARRAY | OBJECT => {
            let mut i = 0;
            loop {
                match (rest.get(i)?, rest.get(i + 1)?) {
                    (0, 0) => return Some(&rest[i + 2..]),
                    (0, _) => i += 2,
                    _ => i += 1,
                }
            }
        }
        _ => None,
    }
}

/// The least byte string greater than every string starting with `prefix`.
fn after_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xff {
            out.push(last + 1);
            return out;
        }
    }
    // All 0xff: nothing bounds it but the end of the index.
    Vec::new()
}

/// How a query is answered with an index: the range `[start, end)` of its
/// entries (`end` empty: to the index's end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPlan {
    /// Which of the given indexes.
    pub index: usize,
    /// First entry to read.
    pub start: Vec<u8>,
    /// Entry to stop before (empty: the end of the index).
    pub end: Vec<u8>,
    /// Fields of the index the range constrains (for the log's `explain`).
    pub fields_used: usize,
}

fn scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// The index field the selector does not require to exist, if any: such an
/// index would miss matching documents that lack the field (CouchDB's rule
/// for when a JSON index may serve a query).
fn uncovered<'d>(query: &Query, def: &'d IndexDef) -> Option<&'d FieldPath> {
    let required = query.selector.required();
    def.fields.iter().find(|f| {
        !required
            .iter()
            .any(|(p, c)| p == f && !matches!(c, Cond::Exists(false)))
    })
}

/// The range of `def`'s entries that holds every document the query can
/// match, with how many leading fields it constrains (0: the whole index).
fn range_for(query: &Query, def: &IndexDef) -> (Vec<u8>, Vec<u8>, usize) {
    let required = query.selector.required();
    let mut prefix = Vec::new();
    let mut used = 0;
    for field in &def.fields {
        let conds: Vec<&Cond> = required
            .iter()
            .filter(|(p, _)| *p == field)
            .map(|(_, c)| *c)
            .collect();
        if let Some(Cond::Eq(v)) = conds.iter().find(|c| matches!(c, Cond::Eq(v) if scalar(v))) {
            encode_value(&mut prefix, v);
            used += 1;
            continue;
        }
        // A range on this field, then stop.
        let mut lower: Option<Vec<u8>> = None;
        let mut upper: Option<Vec<u8>> = None;
        for c in &conds {
            let bound = |v: &Value| {
                let mut b = prefix.clone();
                encode_value(&mut b, v);
                b
            };
            // Bounds include the argument itself even for $gt and $lt: two
            // integers beyond 2^53 can share an encoding, and matching
            // re-checks every document found anyway.
            match c {
                Cond::Gt(v) | Cond::Gte(v) if scalar(v) => lower = Some(bound(v)),
                Cond::Lt(v) | Cond::Lte(v) if scalar(v) => upper = Some(after_prefix(&bound(v))),
                _ => {}
            }
        }
        if lower.is_some() || upper.is_some() {
            used += 1;
            let start = lower.unwrap_or_else(|| prefix.clone());
            let end = upper.unwrap_or_else(|| after_prefix(&prefix));
            return (start, end, used);
        }
        break;
    }
    let end = after_prefix(&prefix);
    (prefix, end, used)
}

/// Chooses an index for `query` among `indexes`: the one its `use_index`
/// names (refused if there is none such, or if it cannot serve the query),
/// else, among those whose every field the selector requires, the one whose
/// leading fields it constrains most. `None`: no index helps; scan.
pub fn plan(query: &Query, indexes: &[IndexDef]) -> Result<Option<IndexPlan>, QueryError> {
    if let Some((ddoc, name)) = &query.use_index {
        let label = match name {
            Some(n) => format!("{ddoc}/{n}"),
            None => ddoc.clone(),
        };
        let found = indexes
            .iter()
            .position(|d| d.ddoc == *ddoc && name.as_ref().is_none_or(|n| d.name == *n))
            .ok_or_else(|| QueryError::UnknownIndex(label.clone()))?;
        if let Some(field) = uncovered(query, &indexes[found]) {
            return Err(QueryError::UnusableIndex {
                index: label,
                field: field.to_string(),
            });
        }
        let (start, end, fields_used) = range_for(query, &indexes[found]);
        return Ok(Some(IndexPlan {
            index: found,
            start,
            end,
            fields_used,
        }));
    }
    Ok(indexes
        .iter()
        .enumerate()
        .filter(|(_, d)| uncovered(query, d).is_none())
        .map(|(i, d)| (i, range_for(query, d)))
        .filter(|(_, (_, _, used))| *used > 0)
        .max_by_key(|(i, (_, _, used))| (*used, std::cmp::Reverse(*i)))
        .map(|(index, (start, end, fields_used))| IndexPlan {
            index,
            start,
            end,
            fields_used,
        }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn definitions_parse_as_couchdb_writes_them() {
        let def = IndexDef::parse(
            r#"{"index":{"fields":["docType",{"owner":"asc"}]},"ddoc":"_design/indexOwnerDoc","name":"indexOwner","type":"json"}"#,
        )
        .unwrap();
        assert_eq!(
            (def.ddoc.as_str(), def.name.as_str()),
            ("indexOwnerDoc", "indexOwner")
        );
        assert_eq!(def.fields.len(), 2);
        for (text, why) in [
            (
                r#"{"index":{"fields":["a"]},"name":"x","type":"text"}"#,
                "not supported",
            ),
            (r#"{"index":{"fields":[]},"name":"x"}"#, "no \"fields\""),
            (
                r#"{"index":{"fields":["a"],"partial_filter_selector":{}},"name":"x"}"#,
                "partial_filter_selector",
            ),
            (r#"{"index":{"fields":["a"]}}"#, "neither"),
        ] {
            let err = IndexDef::parse(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn encoded_values_sort_in_collation_order() {
        let ordered = [
            json!(null),
            json!(false),
            json!(true),
            json!(-1e300),
            json!(-2),
            json!(-0.5),
            json!(0),
            json!(0.5),
            json!(3),
            json!(1e300),
            json!(""),
            json!("a"),
            json!("a\u{0}b"),
            json!("ab"),
            json!("b"),
        ];
        let enc = |v: &Value| {
            let mut b = Vec::new();
            encode_value(&mut b, v);
            b.extend_from_slice(b"key");
            b
        };
        for w in ordered.windows(2) {
            assert!(enc(&w[0]) < enc(&w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(enc(&json!(-0.0)), enc(&json!(0)));
        assert_eq!(enc(&json!(2)), enc(&json!(2.0)));
    }

    #[test]
    fn entries_end_with_the_key_and_skip_documents_without_the_fields() {
        let def = IndexDef::parse(r#"{"index":{"fields":["owner","size"]},"name":"i"}"#).unwrap();
        let entry = def
            .entry("m1", &json!({"owner": "to\u{0}m", "size": 5}))
            .unwrap();
        assert_eq!(def.key_of(&entry).as_deref(), Some("m1"));
        assert_eq!(def.entry("m2", &json!({"owner": "tom"})), None);
        assert_eq!(def.entry("m3", &json!([1])), None);
    }

    #[test]
    fn the_planner_uses_equalities_then_one_range_and_honours_use_index() {
        let by_owner =
            IndexDef::parse(r#"{"index":{"fields":["docType","owner"]},"name":"owner"}"#).unwrap();
        let by_size = IndexDef::parse(r#"{"index":{"fields":["size"]},"name":"size"}"#).unwrap();
        let indexes = [by_owner.clone(), by_size.clone()];
        let q = |text: &str| Query::parse(text).unwrap();
        let p = plan(
            &q(r#"{"selector":{"docType":"m","owner":"tom","size":{"$gt":1}}}"#),
            &indexes,
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.index, p.fields_used), (0, 2));
        let doc = |owner: &str| {
            by_owner
                .entry("k", &json!({"docType": "m", "owner": owner}))
                .unwrap()
        };
        assert!(p.start <= doc("tom") && doc("tom") < p.end);
        assert!(doc("tim") < p.start && doc("tommy") >= p.end);

        let p = plan(&q(r#"{"selector":{"size":{"$gte":5,"$lt":9}}}"#), &indexes)
            .unwrap()
            .unwrap();
        assert_eq!(p.index, 1);
        let at = |n: i64| by_size.entry("k", &json!({ "size": n })).unwrap();
        // $lt 9 includes 9's entries too (bounds are inclusive; matching decides).
        assert!(at(4) < p.start && p.start <= at(5) && at(9) < p.end && at(10) >= p.end);

        // Nothing on a leading field, or only under $or: no index.
        assert_eq!(
            plan(&q(r#"{"selector":{"owner":"tom"}}"#), &indexes).unwrap(),
            None
        );
        assert_eq!(
            plan(
                &q(r#"{"selector":{"$or":[{"size":1},{"size":2}]}}"#),
                &indexes
            )
            .unwrap(),
            None
        );
        // An index whose field the selector does not require would miss
        // documents: not used, and refused when named.
        assert_eq!(
            plan(&q(r#"{"selector":{"docType":"m"}}"#), &indexes).unwrap(),
            None
        );
        let err = plan(
            &q(r#"{"selector":{"docType":"m"},"use_index":"owner"}"#),
            &indexes,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("owner") && err.contains("not required"),
            "{err}"
        );
        // use_index picks among usable ones, or is refused by name.
        let p = plan(
            &q(r#"{"selector":{"owner":{"$exists":true},"docType":{"$gt":null}},"use_index":["_design/owner","owner"]}"#),
            &indexes,
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.index, p.fields_used), (0, 1));
        let err = plan(&q(r#"{"selector":{},"use_index":"nope"}"#), &indexes).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
