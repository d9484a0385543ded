//! A whole query (`{"selector": …, "sort": …, "limit": …}`) and its
//! execution over documents: match, sort, resume after a bookmark, skip,
//! limit and project. The caller supplies the candidate documents (a whole
//! namespace, or what an index narrowed it to); this module is the same for
//! the peer and for MockStub.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::QueryError;
use crate::collate::cmp;
use crate::path::FieldPath;
use crate::selector::Selector;

/// The field that holds a document's key, as CouchDB's `_id` does.
pub const ID_FIELD: &str = "_id";

/// Which way a sort goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    /// Which documents.
    pub selector: Selector,
    /// Sort fields (all one direction, as CouchDB requires); empty for key
    /// order.
    pub sort: Vec<FieldPath>,
    /// The direction of every sort field.
    pub direction: Direction,
    /// At most this many results.
    pub limit: Option<usize>,
    /// Results to leave out first.
    pub skip: usize,
    /// The fields to return (all when `None`).
    pub fields: Option<Vec<FieldPath>>,
    /// The index the query names (`use_index`): design document and,
    /// optionally, index name.
    pub use_index: Option<(String, Option<String>)>,
    /// Resume after this bookmark (from the query text; a pagination call's
    /// own bookmark takes precedence).
    pub bookmark: Option<String>,
    /// Whether the selector looks at `_id` (the key).
    uses_id: bool,
}

/// One result: a document's key and its (projected) value.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The state key.
    pub key: String,
    /// The value, restricted to `fields` when the query has them.
    pub value: Value,
}

/// A page of results and where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The results, in order.
    pub records: Vec<Record>,
    /// Pass back to get the page after this one; empty when no result was
    /// returned.
    pub bookmark: String,
}

fn bad_option(name: &str, reason: &str) -> QueryError {
    QueryError::BadOption {
        name: name.to_string(),
        reason: reason.to_string(),
    }
}

fn count(name: &str, v: &Value) -> Result<usize, QueryError> {
    v.as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| bad_option(name, "takes a non-negative integer"))
}

fn parse_sort(v: &Value) -> Result<(Vec<FieldPath>, Direction), QueryError> {
    let Value::Array(items) = v else {
        return Err(bad_option("sort", "takes an array of fields"));
    };
    let mut fields = Vec::new();
    let mut directions = Vec::new();
    for item in items {
        let (name, dir) = match item {
            Value::String(name) => (name.as_str(), Direction::Asc),
            Value::Object(o) if o.len() == 1 => {
                let (name, dir) = o.iter().next().expect("one field");
                match dir.as_str() {
                    Some("asc") => (name.as_str(), Direction::Asc),
                    Some("desc") => (name.as_str(), Direction::Desc),
                    _ => return Err(bad_option("sort", "a direction is \"asc\" or \"desc\"")),
                }
            }
            _ => {
                return Err(bad_option(
                    "sort",
                    "takes \"field\" or {\"field\": \"asc\"|\"desc\"}",
                ));
            }
        };
        fields.push(FieldPath::parse(name)?);
        directions.push(dir);
    }
    let direction = directions.first().copied().unwrap_or(Direction::Asc);
    if directions.iter().any(|d| *d != direction) {
        return Err(bad_option(
            "sort",
            "every field must sort the same way (CouchDB's rule)",
        ));
    }
    Ok((fields, direction))
}

fn parse_use_index(v: &Value) -> Result<(String, Option<String>), QueryError> {
    let strip = |s: &str| s.strip_prefix("_design/").unwrap_or(s).to_string();
    match v {
        Value::String(ddoc) => Ok((strip(ddoc), None)),
        Value::Array(parts) => match parts.as_slice() {
            [Value::String(ddoc)] => Ok((strip(ddoc), None)),
            [Value::String(ddoc), Value::String(name)] => Ok((strip(ddoc), Some(name.clone()))),
            _ => Err(bad_option(
                "use_index",
                "takes \"ddoc\" or [\"ddoc\", \"name\"]",
            )),
        },
        _ => Err(bad_option(
            "use_index",
            "takes \"ddoc\" or [\"ddoc\", \"name\"]",
        )),
    }
}

impl Query {
    /// Parses a query's JSON text, as a chaincode passes it to
    /// `GetQueryResult`.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| QueryError::InvalidJson(e.to_string()))?;
        Self::from_value(&v)
    }

    /// Parses a query already decoded.
    pub fn from_value(v: &Value) -> Result<Self, QueryError> {
        let Value::Object(options) = v else {
            return Err(QueryError::InvalidJson("a query is a JSON object".into()));
        };
        let selector = options.get("selector").ok_or(QueryError::BadSelector(
            "the query has no \"selector\"".into(),
        ))?;
        let mut query = Self {
            selector: Selector::parse(selector)?,
            sort: Vec::new(),
            direction: Direction::Asc,
            limit: None,
            skip: 0,
            fields: None,
            use_index: None,
            bookmark: None,
            uses_id: false,
        };
        for (name, value) in options {
            match name.as_str() {
                "selector" => {}
                "sort" => (query.sort, query.direction) = parse_sort(value)?,
                "limit" => query.limit = Some(count(name, value)?),
                "skip" => query.skip = count(name, value)?,
                "fields" => {
                    let Value::Array(items) = value else {
                        return Err(bad_option("fields", "takes an array of field names"));
                    };
                    let fields = items
                        .iter()
                        .map(|f| match f {
                            Value::String(f) => FieldPath::parse(f),
                            _ => Err(bad_option("fields", "takes an array of field names")),
                        })
                        .collect::<Result<_, _>>()?;
                    query.fields = Some(fields);
                }
                "use_index" => query.use_index = Some(parse_use_index(value)?),
                "bookmark" => match value {
                    Value::String(b) => query.bookmark = Some(b.clone()).filter(|b| !b.is_empty()),
                    _ => return Err(bad_option("bookmark", "takes a string")),
                },
                other => return Err(QueryError::UnknownOption(other.to_string())),
            }
        }
        let id = FieldPath(vec![ID_FIELD.to_string()]);
        query.uses_id = selector_mentions(&query.selector, &id) || query.sort.contains(&id);
        Ok(query)
    }

    /// Whether the document `value` stored under `key` matches. Only JSON
    /// objects are documents; `_id` is the key.
    pub fn matches(&self, key: &str, value: &Value) -> bool {
        let Value::Object(fields) = value else {
            return false;
        };
        if self.uses_id {
            self.selector.matches(&with_id(key, fields))
        } else {
            self.selector.matches(value)
        }
    }

    /// The sort tuple of a document, or `None` when it lacks a sort field
    /// (such documents are left out of sorted results, as a CouchDB index
    /// leaves them out).
    fn sort_key(&self, key: &str, value: &Value) -> Option<Vec<Value>> {
        self.sort
            .iter()
            .map(|path| match path.0.as_slice() {
                [id] if id == ID_FIELD => Some(Value::String(key.to_string())),
                _ => path.lookup(value).cloned(),
            })
            .collect()
    }

    /// Orders two (sort tuple, key) positions in the query's order.
    fn order(&self, a: (&[Value], &str), b: (&[Value], &str)) -> Ordering {
        let by_fields =
            a.0.iter()
                .zip(b.0)
                .map(|(x, y)| cmp(x, y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.1.cmp(b.1));
        match self.direction {
            Direction::Asc => by_fields,
            Direction::Desc => by_fields.reverse(),
        }
    }

    /// Runs the query over `docs`, which come in key order (values that are
    /// not JSON objects are skipped). Results resume after `bookmark` (or the
    /// query's own), and stop at `page_size` (or the query's `limit`).
    pub fn run<I>(
        &self,
        docs: I,
        page_size: Option<usize>,
        bookmark: &str,
    ) -> Result<Page, QueryError>
    where
        I: IntoIterator<Item = (String, Value)>,
    {
        let bookmark = Some(bookmark)
            .filter(|b| !b.is_empty())
            .or(self.bookmark.as_deref())
            .map(decode_bookmark)
            .transpose()?;
        let limit = page_size.or(self.limit).unwrap_or(usize::MAX);
        let wanted = self.skip.saturating_add(limit);
        let mut found: Vec<(Vec<Value>, String, Value)> = Vec::new();
        for (key, value) in docs {
            if !self.matches(&key, &value) {
                continue;
            }
            let Some(position) = self.sort_key(&key, &value) else {
                continue;
            };
            if let Some((after, after_key)) = &bookmark
                && self.order((&position, &key), (after, after_key)) != Ordering::Greater
            {
                continue;
            }
            found.push((position, key, value));
            // In key order the first matches are the answer.
            if self.sort.is_empty() && found.len() >= wanted {
                break;
            }
        }
        if !self.sort.is_empty() {
            found.sort_by(|a, b| self.order((&a.0, &a.1), (&b.0, &b.1)));
        }
        let records: Vec<_> = found.into_iter().skip(self.skip).take(limit).collect();
        let bookmark = records
            .last()
            .map(|(position, key, _)| encode_bookmark(position, key))
            .unwrap_or_default();
        Ok(Page {
            records: records
                .into_iter()
                .map(|(_, key, value)| Record {
                    value: self.project(&key, value),
                    key,
                })
                .collect(),
            bookmark,
        })
    }

    /// `value` restricted to the query's `fields`.
    pub fn project(&self, key: &str, value: Value) -> Value {
        let Some(fields) = &self.fields else {
            return value;
        };
        let mut out = Map::new();
        for path in fields {
            let found = match path.0.as_slice() {
                [id] if id == ID_FIELD => Some(Value::String(key.to_string())),
                _ => path.lookup(&value).cloned(),
            };
            if let Some(found) = found {
                insert_at(&mut out, &path.0, found);
            }
        }
        Value::Object(out)
    }
}

fn insert_at(out: &mut Map<String, Value>, path: &[String], v: Value) {
    match path {
        [] => {}
        [last] => {
            out.insert(last.clone(), v);
        }
        [first, rest @ ..] => {
            let inner = out
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = inner {
                insert_at(inner, rest, v);
            }
        }
    }
}

fn with_id(key: &str, fields: &Map<String, Value>) -> Value {
    let mut doc = fields.clone();
    doc.insert(ID_FIELD.to_string(), Value::String(key.to_string()));
    Value::Object(doc)
}

fn selector_mentions(s: &Selector, path: &FieldPath) -> bool {
    match s {
        Selector::And(parts) | Selector::Or(parts) => {
            parts.iter().any(|p| selector_mentions(p, path))
        }
        Selector::Field(p, _) => p.0.first() == path.0.first(),
    }
}

/// A bookmark: the hex of the JSON array `[sort values…, key]` of the last
/// result returned.
fn encode_bookmark(position: &[Value], key: &str) -> String {
    let mut tuple = position.to_vec();
    tuple.push(Value::String(key.to_string()));
    hex::encode(Value::Array(tuple).to_string())
}

fn decode_bookmark(bookmark: &str) -> Result<(Vec<Value>, String), QueryError> {
    let invalid = || QueryError::BadBookmark(bookmark.chars().take(64).collect());
    let bytes = hex::decode(bookmark).map_err(|_| invalid())?;
    let Ok(Value::Array(mut tuple)) = serde_json::from_slice(&bytes) else {
        return Err(invalid());
    };
    match tuple.pop() {
        Some(Value::String(key)) => Ok((tuple, key)),
        _ => Err(invalid()),
    }
}
