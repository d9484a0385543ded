//! Building rich queries: [`QueryBuilder`] writes the JSON that
//! [`crate::Context::get_query_result`] takes, so a contract need not
//! assemble it by hand. Raw JSON text works as well.

use serde_json::{Map, Value, json};

/// A rich query under construction (CouchDB's query language; the
/// `weft-chaincode-query` crate documents each operator).
///
/// ```
/// use serde_json::json;
/// use weft_chaincode_sdk::QueryBuilder;
///
/// let query = QueryBuilder::new()
///     .eq("docType", "marble")
///     .field("size", json!({"$gt": 10}))
///     .sort_desc("size")
///     .use_index("indexSizeDoc", "indexSize")
///     .limit(20)
///     .build();
/// assert_eq!(
///     query,
///     r#"{"selector":{"docType":"marble","size":{"$gt":10}},"sort":[{"size":"desc"}],"use_index":["_design/indexSizeDoc","indexSize"],"limit":20}"#
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct QueryBuilder {
    selector: Map<String, Value>,
    options: Map<String, Value>,
}

impl QueryBuilder {
    /// A query matching every document until conditions are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Field `name` (dotted for nested fields) equals `value`.
    pub fn eq(self, name: &str, value: impl Into<Value>) -> Self {
        self.field(name, value.into())
    }

    /// Field `name` meets `condition`: a value (equality) or an operator
    /// object such as `json!({"$gte": 5, "$lt": 9})`.
    pub fn field(mut self, name: &str, condition: Value) -> Self {
        self.selector.insert(name.to_string(), condition);
        self
    }

    /// Any of `selectors` matches (`$or`).
    pub fn or(mut self, selectors: Vec<Value>) -> Self {
        self.selector.insert("$or".into(), Value::Array(selectors));
        self
    }

    fn push_sort(mut self, name: &str, direction: &str) -> Self {
        let sort = self
            .options
            .entry("sort")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(fields) = sort {
            fields.push(json!({ name: direction }));
        }
        self
    }

    /// Sorts by `name`, smallest first (every sort field must go one way).
    pub fn sort_asc(self, name: &str) -> Self {
        self.push_sort(name, "asc")
    }

    /// Sorts by `name`, largest first.
    pub fn sort_desc(self, name: &str) -> Self {
        self.push_sort(name, "desc")
    }

    /// Returns only these fields of each value.
    pub fn fields(mut self, names: &[&str]) -> Self {
        self.options.insert("fields".into(), json!(names));
        self
    }

    /// Names the index to use (design document and index name, as in the
    /// chaincode's `META-INF/statedb/couchdb/indexes/*.json`).
    pub fn use_index(mut self, ddoc: &str, name: &str) -> Self {
        let ddoc = if ddoc.starts_with("_design/") {
            ddoc.to_string()
        } else {
            format!("_design/{ddoc}")
        };
        self.options.insert("use_index".into(), json!([ddoc, name]));
        self
    }

    /// At most `n` results.
    pub fn limit(mut self, n: u64) -> Self {
        self.options.insert("limit".into(), json!(n));
        self
    }

    /// Leaves out the first `n` results.
    pub fn skip(mut self, n: u64) -> Self {
        self.options.insert("skip".into(), json!(n));
        self
    }

    /// The query's JSON text.
    pub fn build(self) -> String {
        let mut query = Map::new();
        query.insert("selector".into(), Value::Object(self.selector));
        query.extend(self.options);
        Value::Object(query).to_string()
    }
}
