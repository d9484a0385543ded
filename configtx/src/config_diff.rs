//! A readable diff of two channel configs: each leaf that changed, with its
//! old and new value as `configtxlator` JSON shows them, and each group,
//! value or policy added or removed (by path, not by content: an added
//! org's certificates are not worth a screen).

use serde_json::Value as Json;
use weft_common::config::go_encoding;
use weft_protos::common::Config;

use crate::ConfigtxError;
use crate::protolator::Protolator;

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Something present only after.
    Added(String),
    /// Something present only before.
    Removed(String),
    /// A leaf whose value changed: path, before, after.
    Changed(String, String, String),
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Added(p) => write!(f, "+ {p}"),
            Difference::Removed(p) => write!(f, "- {p}"),
            Difference::Changed(p, a, b) => write!(f, "~ {p}: {a} → {b}"),
        }
    }
}

/// The differences from `before` to `after`, versions left out.
pub fn diff(before: &Config, after: &Config) -> Result<Vec<Difference>, ConfigtxError> {
    let p = Protolator::new();
    let json = |c: &Config| p.decode("common.Config", &go_encoding::config(c));
    let (a, b) = (json(before)?, json(after)?);
    let mut out = Vec::new();
    walk("", &a["channel_group"], &b["channel_group"], &mut out);
    Ok(out)
}

fn short(v: &Json) -> String {
    let text = v.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

fn walk(path: &str, a: &Json, b: &Json, out: &mut Vec<Difference>) {
    if a == b {
        return;
    }
    let join = |k: &str| {
        // The tree's plumbing ("groups", "values", "policies", "value") is
        // left out of the path: /Orderer/BatchTimeout/timeout reads better.
        if ["groups", "values", "policies", "value", "policy"].contains(&k) {
            path.to_string()
        } else {
            format!("{path}/{k}")
        }
    };
    match (a, b) {
        (Json::Object(ma), Json::Object(mb)) => {
            for (k, va) in ma {
                if k == "version" {
                    continue;
                }
                match mb.get(k) {
                    Some(vb) => walk(&join(k), va, vb, out),
                    None => out.push(Difference::Removed(join(k))),
                }
            }
            for k in mb
                .keys()
                .filter(|k| !ma.contains_key(*k) && *k != "version")
            {
                out.push(Difference::Added(join(k)));
            }
        }
        _ => out.push(Difference::Changed(
            if path.is_empty() {
                "/".into()
            } else {
                path.to_string()
            },
            short(a),
            short(b),
        )),
    }
}
