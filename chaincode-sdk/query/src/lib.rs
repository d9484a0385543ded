//! Rich queries over a namespace's JSON values, in the language Fabric
//! chaincode sends to CouchDB: Mango selectors with `sort`, `limit`, `skip`,
//! `fields`, `use_index` and `bookmark`. The peer evaluates them over its
//! embedded state (no CouchDB to run) and the chaincode SDK's MockStub over
//! its in-memory state, with this one implementation.
//!
//! # The language
//!
//! A document is a value that is a JSON object; its key is the field `_id`.
//!
//! | selector | matches |
//! |---|---|
//! | `{"f": v}`, `{"f": {"$eq": v}}` | `f` equals `v` |
//! | `$ne`, `$lt`, `$lte`, `$gt`, `$gte` | by CouchDB's collation, across types: `null` < `false` < `true` < numbers < strings < arrays < objects ([`collate`]) |
//! | `{"f": {"$in": [..]}}`, `$nin` | `f` equals one (none) of them; an array `f` when one (none) of its elements does |
//! | `{"f": {"$exists": true}}` | `f` is present (`false`: absent) |
//! | `$type` | `f` is a `null`, `boolean`, `number`, `string`, `array` or `object` |
//! | `$regex` | `f` is a string matching (Rust's `regex` syntax: no look-around or back-references; such a pattern is refused) |
//! | `$beginsWith` | `f` is a string with this prefix |
//! | `$mod: [d, r]` | `f` is an integer with `f % d == r` |
//! | `$size: n` | `f` is an array of `n` elements |
//! | `$all: [..]` | `f` is an array holding all of them |
//! | `$elemMatch: {sel}` / `$allMatch: {sel}` | some / every element of the array `f` matches `sel` (fields in `sel` are the element's) |
//! | `$keyMapMatch: {sel}` | some field name of the object `f` matches |
//! | `$and`, `$or`, `$nor: [sel, ..]`, `$not: sel` | combinations; several fields in one object are an `$and` |
//! | `{"a": {"b": ..}}`, `"a.b"` | nested fields; `"a\\.b"` is one field named `a.b`; `"tags.0"` an array element |
//!
//! As in CouchDB, a condition never matches a document that lacks its field,
//! except `"$exists": false` — negated conditions included: `{"$not": {"age":
//! {"$gt": 5}}}` means `age <= 5`, so a document without `age` does not
//! match. `$text` and the geospatial operators are refused
//! ([`QueryError::Unsupported`]), as is any unknown operator or query option.
//!
//! Options: `sort` (`["f", ..]` or `[{"f": "asc"|"desc"}, ..]`, one direction
//! for all fields; a document lacking a sort field is not returned, as a
//! CouchDB index would not hold it), `limit`, `skip`, `fields` (the value is
//! returned with only these fields), `use_index` (`"ddoc"` or `["ddoc",
//! "name"]`), `bookmark` (where the previous page ended).
//!
//! Differences from CouchDB: strings collate by Unicode code point, not by
//! ICU (so `"B" < "a"`); a `sort` does not need an index (results are sorted
//! in memory, bounded by the peer's query limits); bookmarks are weft's own
//! (hex of the last result's sort values and key).

pub mod collate;
pub mod index;
pub mod path;
pub mod query;
pub mod selector;

pub use index::{IndexDef, IndexPlan, plan};
pub use path::FieldPath;
pub use query::{Direction, ID_FIELD, Page, Query, Record};
pub use selector::{Cond, Selector};

/// Why a query cannot be run. Every variant names what was wrong; nothing
/// in a query is silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The query text is not JSON, or not a JSON object.
    #[error("invalid query: {0}")]
    InvalidJson(String),
    /// The selector is missing or malformed.
    #[error("invalid selector: {0}")]
    BadSelector(String),
    /// A field name is malformed (empty, or an empty part between dots).
    #[error("invalid field name {0:?}")]
    BadField(String),
    /// An operator that does not exist.
    #[error("unknown operator {0}")]
    UnknownOperator(String),
    /// A CouchDB operator weft does not evaluate.
    #[error("operator {0} is not supported by weft's state database")]
    Unsupported(String),
    /// An operator's argument is of the wrong kind.
    #[error("{op} {reason}")]
    BadArgument {
        /// The operator.
        op: String,
        /// What it takes.
        reason: String,
    },
    /// A `$regex` pattern that does not compile.
    #[error("$regex {pattern:?}: {reason}")]
    BadRegex {
        /// The pattern.
        pattern: String,
        /// Why it was refused.
        reason: String,
    },
    /// A query option with a bad value.
    #[error("query option {name} {reason}")]
    BadOption {
        /// The option.
        name: String,
        /// What it takes.
        reason: String,
    },
    /// A query option weft does not know.
    #[error(
        "unknown query option {0:?} (known: selector, sort, limit, skip, fields, use_index, bookmark)"
    )]
    UnknownOption(String),
    /// A bookmark this query did not hand out.
    #[error("invalid bookmark {0:?}")]
    BadBookmark(String),
    /// An index definition that cannot be used.
    #[error("invalid index definition: {0}")]
    BadIndex(String),
    /// `use_index` names an index the chaincode does not define.
    #[error("use_index names {0}, which is not an index of this chaincode")]
    UnknownIndex(String),
    /// `use_index` names an index that would miss matching documents.
    #[error(
        "index {index} cannot serve this query: its field {field} is not required by the selector"
    )]
    UnusableIndex {
        /// The index.
        index: String,
        /// Its field the selector does not require.
        field: String,
    },
}
