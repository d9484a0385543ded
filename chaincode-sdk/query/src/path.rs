//! Field paths: `owner.name` is field `name` of field `owner`; a backslash
//! keeps a dot in a name (`a\.b` is the one field `a.b`); a number picks an
//! array element (`tags.0`).

use serde_json::Value;

use crate::QueryError;

/// A parsed field path; empty for the value itself (inside `$elemMatch`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FieldPath(pub Vec<String>);

impl FieldPath {
    /// Parses a dotted field name.
    pub fn parse(name: &str) -> Result<Self, QueryError> {
        let mut parts = Vec::new();
        let mut part = String::new();
        let mut chars = name.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => part.push(escaped),
                    None => part.push('\\'),
                },
                '.' => parts.push(std::mem::take(&mut part)),
                c => part.push(c),
            }
        }
        parts.push(part);
        if parts.iter().any(String::is_empty) {
            return Err(QueryError::BadField(name.to_string()));
        }
        Ok(Self(parts))
    }

    /// This path followed by `more`.
    pub fn join(&self, more: &FieldPath) -> Self {
        Self(self.0.iter().chain(&more.0).cloned().collect())
    }

    /// The value at this path in `doc`, if there is one.
    pub fn lookup<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        self.0.iter().try_fold(doc, |v, part| match v {
            Value::Object(fields) => fields.get(part),
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
    }

    /// The path as written, dots escaped where a name holds one.
    pub fn display(&self) -> String {
        self.0
            .iter()
            .map(|p| p.replace('\\', "\\\\").replace('.', "\\."))
            .collect::<Vec<_>>()
            .join(".")
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dots_nest_and_escaped_dots_do_not() {
        assert_eq!(FieldPath::parse("a.b").unwrap().0, ["a", "b"]);
        assert_eq!(FieldPath::parse(r"a\.b").unwrap().0, ["a.b"]);
        assert_eq!(FieldPath::parse(r"a\.b").unwrap().display(), r"a\.b");
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse("").is_err());
    }

    #[test]
    fn lookup_walks_objects_and_array_indexes() {
        let doc = json!({"a": {"b": [10, {"c": 3}]}, "x.y": 1});
        let at = |p: &str| FieldPath::parse(p).unwrap().lookup(&doc).cloned();
        assert_eq!(at("a.b.0"), Some(json!(10)));
        assert_eq!(at("a.b.1.c"), Some(json!(3)));
        assert_eq!(at("a.b.2"), None);
        assert_eq!(at("a.b.x"), None);
        assert_eq!(at("a.b.0.z"), None);
        assert_eq!(at(r"x\.y"), Some(json!(1)));
        assert_eq!(FieldPath::default().lookup(&doc), Some(&doc));
    }
}
