//! What a config update would change and whether its signatures already
//! allow it, for the offline signature round (`weft-configtx update
//! inspect`): each element it writes, the `mod_policy` guarding it and who
//! must still sign — without refusing the update for what is still missing.

use std::collections::BTreeMap;

use weft_protos::common::ConfigUpdateEnvelope;

use super::{Element, Flattened, Key, describe, flattened, mod_policy_path, update_signers};
use crate::CommonError;
use crate::config::bundle::ChannelConfig;

/// One element an update writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeReview {
    /// The element, e.g. `value /Channel/Orderer/BatchTimeout`.
    pub element: String,
    /// Whether the current config lacks it (authorised by its parent's change).
    pub added: bool,
    /// The policy guarding a change of an existing element.
    pub mod_policy: Option<String>,
    /// Who must still sign (`None`: the signatures suffice), or why the
    /// element cannot be written at all (a stale version).
    pub needs: Option<String>,
}

/// An update reviewed against the current config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateReview {
    /// The valid signers, described.
    pub signed_by: String,
    /// Signatures that do not count, and why.
    pub refused: Vec<String>,
    /// The elements it writes, in config order.
    pub changes: Vec<ChangeReview>,
}

impl UpdateReview {
    /// Whether the update would be accepted as it is.
    pub fn complete(&self) -> bool {
        !self.changes.is_empty() && self.changes.iter().all(|c| c.needs.is_none())
    }
}

/// Reviews `envelope` against `current` at Unix time `now`.
pub fn review_update(
    current: &ChannelConfig,
    envelope: &ConfigUpdateEnvelope,
    now: i64,
) -> Result<UpdateReview, CommonError> {
    let Flattened {
        current: current_map,
        read: read_map,
        write: write_map,
    } = flattened(current, envelope)?;
    let signers = update_signers(current, envelope, now)?;
    let changes = write_map
        .iter()
        .filter(|(k, el)| {
            read_map
                .get(*k)
                .is_none_or(|r: &Element| r.version() != el.version())
        })
        .map(|(key, el)| change(current, &current_map, &read_map, &signers, key, el))
        .collect();
    Ok(UpdateReview {
        signed_by: signers.describe(),
        refused: signers.refused.clone(),
        changes,
    })
}

fn change(
    current: &ChannelConfig,
    current_map: &BTreeMap<Key, Element>,
    read_map: &BTreeMap<Key, Element>,
    signers: &crate::policy::Signers,
    key: &Key,
    el: &Element,
) -> ChangeReview {
    let element = describe(key);
    let stale = |why: String| ChangeReview {
        element: element.clone(),
        added: false,
        mod_policy: None,
        needs: Some(why),
    };
    if let Some(read) = read_map.get(key)
        && current_map
            .get(key)
            .is_some_and(|c| c.version() != read.version())
    {
        return stale("a newer config: the update read an older version; recompute it".into());
    }
    match current_map.get(key) {
        None => ChangeReview {
            element: element.clone(),
            added: true,
            mod_policy: None,
            needs: (el.version() != 0).then(|| {
                format!(
                    "a new element must be written at version 0, not {}",
                    el.version()
                )
            }),
        },
        Some(cur) if el.version() != cur.version() + 1 => stale(format!(
            "a newer config: it is at version {}, the update writes {}; recompute it",
            cur.version(),
            el.version()
        )),
        Some(cur) => {
            let path = mod_policy_path(key, cur.mod_policy());
            let needs = current
                .policies
                .still_needed(&path, signers, &current.msps)
                .map(|n| format!("{n} to sign"));
            ChangeReview {
                element,
                added: false,
                mod_policy: Some(path),
                needs,
            }
        }
    }
}

impl std::fmt::Display for UpdateReview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Signed by: {}", self.signed_by)?;
        for r in &self.refused {
            writeln!(f, "Not counted: {r}")?;
        }
        for c in &self.changes {
            let what = if c.added { "adds" } else { "changes" };
            match (&c.mod_policy, &c.needs) {
                (_, Some(n)) => writeln!(f, "  {what} {}: needs {n}", c.element)?,
                (Some(p), None) => writeln!(f, "  {what} {}: {p} satisfied", c.element)?,
                (None, None) => writeln!(f, "  {what} {}", c.element)?,
            }
        }
        if self.complete() {
            write!(f, "Ready to submit.")
        } else {
            write!(f, "Not ready: more signatures are needed.")
        }
    }
}

/// The `ConfigUpdateEnvelope` with one more admin's signature.
pub fn add_signature(
    envelope: &ConfigUpdateEnvelope,
    signer: &crate::msp::SigningIdentity,
) -> Result<ConfigUpdateEnvelope, CommonError> {
    let mut out = envelope.clone();
    out.signatures
        .push(super::sign_config_update(&envelope.config_update, signer)?);
    Ok(out)
}
