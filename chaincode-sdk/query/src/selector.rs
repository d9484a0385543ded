//! Mango selectors: parsed into a normal form, then matched against
//! documents.
//!
//! The normal form is CouchDB's: field names pushed down to the conditions
//! (`{"a": {"b": {"$gt": 1}}}` is `a.b > 1`), implicit `$and`s made
//! explicit, and negations (`$not`, `$nor`) pushed down to the conditions by
//! De Morgan's laws (`$not` of `a > 1` is `a <= 1`). That last step decides
//! what a negation means for a missing field: as in CouchDB, a condition on
//! a field other than `"$exists": false` never matches a document without
//! that field, negated or not.

use std::cmp::Ordering;

use regex::Regex;
use serde_json::{Map, Value};

use crate::QueryError;
use crate::collate::{cmp, type_name};
use crate::path::FieldPath;

/// A normalised selector.
#[derive(Debug, Clone)]
pub enum Selector {
    /// Every part matches (an empty `$and`, or `{}`, matches everything).
    And(Vec<Selector>),
    /// Some part matches (an empty `$or` matches everything, as in CouchDB).
    Or(Vec<Selector>),
    /// The value at a path meets a condition.
    Field(FieldPath, Cond),
}

/// A condition on one value.
#[derive(Debug, Clone)]
pub enum Cond {
    /// `$eq`, or a bare value.
    Eq(Value),
    /// `$ne`.
    Ne(Value),
    /// `$lt`.
    Lt(Value),
    /// `$lte`.
    Lte(Value),
    /// `$gt`.
    Gt(Value),
    /// `$gte`.
    Gte(Value),
    /// `$in`: equal to one of these (or, for an array, one of its elements is).
    In(Vec<Value>),
    /// `$nin`: equal to none of these.
    Nin(Vec<Value>),
    /// `$exists`.
    Exists(bool),
    /// `$type`.
    Type(&'static str),
    /// `$mod`: an integer with this remainder (Rust's `%`, like Erlang's `rem`).
    Mod(i64, i64),
    /// `$regex`, on strings only.
    Regex(Box<Regex>),
    /// `$beginsWith`, on strings only.
    BeginsWith(String),
    /// `$size` of an array.
    Size(u64),
    /// `$all`: an array holding every one of these.
    All(Vec<Value>),
    /// `$elemMatch`: some element of an array matches.
    ElemMatch(Box<Selector>),
    /// `$allMatch`: a non-empty array whose elements all match.
    AllMatch(Box<Selector>),
    /// `$keyMapMatch`: some field name of an object matches.
    KeyMapMatch(Box<Selector>),
    /// A negated condition that has no positive form.
    Not(Box<Cond>),
}

/// Operators CouchDB has that weft does not evaluate, refused by name.
const UNSUPPORTED: &[&str] = &[
    "$text",
    "$where",
    "$geoWithin",
    "$geoIntersects",
    "$near",
    "$nearSphere",
];

const TYPES: &[&str] = &["null", "boolean", "number", "string", "array", "object"];

fn bad(op: &str, reason: impl Into<String>) -> QueryError {
    QueryError::BadArgument {
        op: op.to_string(),
        reason: reason.into(),
    }
}

impl Selector {
    /// Parses a selector (the value of a query's `"selector"`).
    pub fn parse(selector: &Value) -> Result<Self, QueryError> {
        match selector {
            Value::Object(fields) => parse_object(fields, &FieldPath::default(), 0),
            other => Err(QueryError::BadSelector(format!(
                "a selector is a JSON object, not {}",
                type_name(other)
            ))),
        }
    }

    /// Whether `doc` matches.
    pub fn matches(&self, doc: &Value) -> bool {
        match self {
            Self::And(parts) => parts.iter().all(|p| p.matches(doc)),
            Self::Or(parts) => parts.is_empty() || parts.iter().any(|p| p.matches(doc)),
            Self::Field(path, cond) => match path.lookup(doc) {
                None => matches!(cond, Cond::Exists(false)),
                Some(v) => cond.matches(v),
            },
        }
    }

    /// The logical negation, pushed down to the conditions.
    fn negate(self) -> Self {
        match self {
            Self::And(parts) => Self::Or(parts.into_iter().map(Self::negate).collect()),
            Self::Or(parts) => Self::And(parts.into_iter().map(Self::negate).collect()),
            Self::Field(path, cond) => Self::Field(path, cond.negate()),
        }
    }

    /// The conditions this selector puts on each field that every match must
    /// meet (those reachable through `$and` only): what an index can serve.
    pub fn required(&self) -> Vec<(&FieldPath, &Cond)> {
        match self {
            Self::Field(path, cond) => vec![(path, cond)],
            Self::And(parts) => parts.iter().flat_map(Self::required).collect(),
            Self::Or(_) => Vec::new(),
        }
    }
}

/// Nesting deeper than this is refused: a selector is parsed recursively,
/// and it comes from whoever calls the chaincode.
const MAX_DEPTH: usize = 64;

fn parse_object(
    fields: &Map<String, Value>,
    prefix: &FieldPath,
    depth: usize,
) -> Result<Selector, QueryError> {
    if depth > MAX_DEPTH {
        return Err(QueryError::BadSelector(format!(
            "nested more than {MAX_DEPTH} levels deep"
        )));
    }
    let mut parts = fields
        .iter()
        .map(|(name, value)| parse_entry(name, value, prefix, depth + 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Selector::And(parts)
    })
}

/// The selectors in an `$and`, `$or` or `$nor` array.
fn parse_list(
    op: &str,
    value: &Value,
    prefix: &FieldPath,
    depth: usize,
) -> Result<Vec<Selector>, QueryError> {
    let Value::Array(items) = value else {
        return Err(bad(op, "takes an array of selectors"));
    };
    items
        .iter()
        .map(|item| match item {
            Value::Object(fields) => parse_object(fields, prefix, depth),
            _ => Err(bad(op, "takes an array of selectors")),
        })
        .collect()
}

fn sub_selector(op: &str, value: &Value, depth: usize) -> Result<Box<Selector>, QueryError> {
    match value {
        Value::Object(fields) => Ok(Box::new(parse_object(
            fields,
            &FieldPath::default(),
            depth,
        )?)),
        _ => Err(bad(op, "takes a selector")),
    }
}

fn parse_entry(
    name: &str,
    value: &Value,
    prefix: &FieldPath,
    depth: usize,
) -> Result<Selector, QueryError> {
    let field = |cond| Ok(Selector::Field(prefix.clone(), cond));
    if !name.starts_with('$') {
        let path = prefix.join(&FieldPath::parse(name)?);
        return match value {
            Value::Object(fields) if !fields.is_empty() => parse_object(fields, &path, depth),
            other => Ok(Selector::Field(path, Cond::Eq(other.clone()))),
        };
    }
    let values = |op: &str| match value {
        Value::Array(items) => Ok(items.clone()),
        _ => Err(bad(op, "takes an array")),
    };
    match name {
        "$and" => Ok(Selector::And(parse_list(name, value, prefix, depth)?)),
        "$or" => Ok(Selector::Or(parse_list(name, value, prefix, depth)?)),
        "$nor" => Ok(Selector::And(
            parse_list(name, value, prefix, depth)?
                .into_iter()
                .map(Selector::negate)
                .collect(),
        )),
        "$not" => match value {
            Value::Object(fields) => Ok(parse_object(fields, prefix, depth)?.negate()),
            _ => Err(bad(name, "takes a selector")),
        },
        "$eq" => field(Cond::Eq(value.clone())),
        "$ne" => field(Cond::Ne(value.clone())),
        "$lt" => field(Cond::Lt(value.clone())),
        "$lte" => field(Cond::Lte(value.clone())),
        "$gt" => field(Cond::Gt(value.clone())),
        "$gte" => field(Cond::Gte(value.clone())),
        "$in" => field(Cond::In(values(name)?)),
        "$nin" => field(Cond::Nin(values(name)?)),
        "$all" => field(Cond::All(values(name)?)),
        "$exists" => match value {
            Value::Bool(b) => field(Cond::Exists(*b)),
            _ => Err(bad(name, "takes true or false")),
        },
        "$type" => match value.as_str().and_then(|t| TYPES.iter().find(|k| **k == t)) {
            Some(t) => field(Cond::Type(t)),
            None => Err(bad(name, format!("takes one of {}", TYPES.join(", ")))),
        },
        "$size" => match value.as_u64() {
            Some(n) => field(Cond::Size(n)),
            None => Err(bad(name, "takes a non-negative integer")),
        },
        "$mod" => match value.as_array().map(|a| a.as_slice()) {
            Some([d, r]) => match (d.as_i64(), r.as_i64()) {
                (Some(0), Some(_)) => Err(bad(name, "divisor must not be 0")),
                (Some(d), Some(r)) => field(Cond::Mod(d, r)),
                _ => Err(bad(name, "takes [divisor, remainder], both integers")),
            },
            _ => Err(bad(name, "takes [divisor, remainder], both integers")),
        },
        "$regex" => match value {
            Value::String(pattern) => match regex::RegexBuilder::new(pattern)
                .size_limit(1 << 20)
                .build()
            {
                Ok(re) => field(Cond::Regex(Box::new(re))),
                Err(e) => Err(QueryError::BadRegex {
                    pattern: pattern.clone(),
                    reason: e.to_string(),
                }),
            },
            _ => Err(bad(name, "takes a string")),
        },
        "$beginsWith" => match value {
            Value::String(prefix) => field(Cond::BeginsWith(prefix.clone())),
            _ => Err(bad(name, "takes a string")),
        },
        "$elemMatch" => field(Cond::ElemMatch(sub_selector(name, value, depth)?)),
        "$allMatch" => field(Cond::AllMatch(sub_selector(name, value, depth)?)),
        "$keyMapMatch" => field(Cond::KeyMapMatch(sub_selector(name, value, depth)?)),
        op if UNSUPPORTED.contains(&op) => Err(QueryError::Unsupported(op.to_string())),
        op => Err(QueryError::UnknownOperator(op.to_string())),
    }
}

impl Cond {
    fn negate(self) -> Self {
        match self {
            Self::Eq(v) => Self::Ne(v),
            Self::Ne(v) => Self::Eq(v),
            Self::Lt(v) => Self::Gte(v),
            Self::Lte(v) => Self::Gt(v),
            Self::Gt(v) => Self::Lte(v),
            Self::Gte(v) => Self::Lt(v),
            Self::In(v) => Self::Nin(v),
            Self::Nin(v) => Self::In(v),
            Self::Exists(b) => Self::Exists(!b),
            Self::Not(c) => *c,
            other => Self::Not(Box::new(other)),
        }
    }

    /// Whether `v` (the value found at the condition's path) meets it.
    pub fn matches(&self, v: &Value) -> bool {
        let order = |arg: &Value| cmp(v, arg);
        match self {
            Self::Eq(arg) => order(arg) == Ordering::Equal,
            Self::Ne(arg) => order(arg) != Ordering::Equal,
            Self::Lt(arg) => order(arg) == Ordering::Less,
            Self::Lte(arg) => order(arg) != Ordering::Greater,
            Self::Gt(arg) => order(arg) == Ordering::Greater,
            Self::Gte(arg) => order(arg) != Ordering::Less,
            Self::In(args) => match v {
                Value::Array(items) => items.iter().any(|i| args.iter().any(|a| cmp(i, a).is_eq())),
                _ => args.iter().any(|a| order(a).is_eq()),
            },
            Self::Nin(args) => match v {
                Value::Array(items) => items.iter().all(|i| args.iter().all(|a| cmp(i, a).is_ne())),
                _ => args.iter().all(|a| order(a).is_ne()),
            },
            Self::Exists(b) => *b,
            Self::Type(t) => type_name(v) == *t,
            Self::Mod(d, r) => v.as_i64().is_some_and(|n| n.checked_rem(*d) == Some(*r)),
            Self::Regex(re) => v.as_str().is_some_and(|s| re.is_match(s)),
            Self::BeginsWith(p) => v.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Self::Size(n) => v.as_array().is_some_and(|a| a.len() as u64 == *n),
            Self::All(args) => match v {
                // `[[1, 2]]` also matches the array `[1, 2]` itself.
                Value::Array(items) if args.len() == 1 && args[0] == *v => !items.is_empty(),
                Value::Array(items) => !args.is_empty() && args.iter().all(|a| items.contains(a)),
                _ => false,
            },
            Self::ElemMatch(sel) => v
                .as_array()
                .is_some_and(|items| items.iter().any(|i| sel.matches(i))),
            Self::AllMatch(sel) => v
                .as_array()
                .is_some_and(|items| !items.is_empty() && items.iter().all(|i| sel.matches(i))),
            Self::KeyMapMatch(sel) => v.as_object().is_some_and(|fields| {
                fields
                    .keys()
                    .any(|k| sel.matches(&Value::String(k.clone())))
            }),
            Self::Not(c) => !c.matches(v),
        }
    }
}
