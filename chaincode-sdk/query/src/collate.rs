//! The order of JSON values, as CouchDB collates them: `null`, then
//! `false`, `true`, numbers, strings, arrays and objects. Numbers compare by
//! value (`1` equals `1.0`), arrays element by element and then by length,
//! objects field by field in stored order (name, then value) and then by
//! size.
//!
//! One difference, kept on purpose: strings compare by Unicode code point,
//! not by ICU's collation as CouchDB's do, so `"B" < "a"` here where CouchDB
//! puts `"a"` first. Code-point order is the same on every peer and every
//! platform, which endorsement needs, and is the order of weft's index keys.

use std::cmp::Ordering;

use serde_json::{Number, Value};

/// The rank of a value's type in the collation.
fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(false) => 1,
        Value::Bool(true) => 2,
        Value::Number(_) => 3,
        Value::String(_) => 4,
        Value::Array(_) => 5,
        Value::Object(_) => 6,
    }
}

/// Compares two JSON numbers by value: exactly when both are integers,
/// otherwise as 64-bit floats (JSON has no NaN).
pub fn cmp_numbers(a: &Number, b: &Number) -> Ordering {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x.cmp(&y);
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x.cmp(&y);
    }
    // One is negative and the other above i64::MAX.
    match (a.as_i64(), b.as_u64()) {
        (Some(_), Some(_)) => return Ordering::Less,
        _ if a.as_u64().is_some() && b.as_i64().is_some() => return Ordering::Greater,
        _ => {}
    }
    let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
    x.partial_cmp(&y).unwrap_or(Ordering::Equal)
}

/// Compares two JSON values in CouchDB's collation (strings by code point).
pub fn cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_numbers(x, y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(p, q)| cmp(p, q))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        (Value::Object(x), Value::Object(y)) => x
            .iter()
            .zip(y)
            .map(|((kx, vx), (ky, vy))| kx.cmp(ky).then_with(|| cmp(vx, vy)))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A value's type as `$type` names it: `null`, `boolean`, `number`,
/// `string`, `array` or `object`.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_collate_in_couchdbs_order() {
        let ordered = [
            json!(null),
            json!(false),
            json!(true),
            json!(-5),
            json!(1),
            json!(1.5),
            json!(2),
            json!(""),
            json!("B"),
            json!("a"),
            json!("ab"),
            json!([]),
            json!([1]),
            json!([1, 2]),
            json!([2]),
            json!({}),
            json!({"a": 1}),
            json!({"a": 2}),
            json!({"a": 2, "b": 0}),
            json!({"b": 0}),
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(cmp(a, b), i.cmp(&j), "{a} against {b}");
            }
        }
    }

    #[test]
    fn numbers_compare_by_value_across_representations() {
        assert_eq!(cmp(&json!(1), &json!(1.0)), Ordering::Equal);
        assert_eq!(cmp(&json!(u64::MAX), &json!(-1)), Ordering::Greater);
        assert_eq!(cmp(&json!(-1), &json!(u64::MAX)), Ordering::Less);
        assert_eq!(
            cmp(
                &json!(9_007_199_254_740_993_i64),
                &json!(9_007_199_254_740_992_i64)
            ),
            Ordering::Greater,
            "integers beyond 2^53 compare exactly"
        );
    }
}
