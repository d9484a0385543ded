//! The affiliations API: the tree identities are registered into
//! (`org1`, `org1.department1`, …). Every call needs `hf.AffiliationMgr`
//! and reaches only the caller's own affiliation and what is below it.

use super::{AffiliationInfo, AffiliationRequest, Authority, IdentityInfo, covers, now};
use crate::CaError;
use crate::error::code;
use crate::store::IdentityRecord;

impl AffiliationInfo {
    /// The subtree of `all` (sorted names) rooted at `root`.
    fn tree(root: &str, all: &[String]) -> Self {
        let depth = |n: &str| n.split('.').count();
        let children = all
            .iter()
            .filter(|n| {
                n.as_str() != root
                    && covers(root, n)
                    && depth(n) == if root.is_empty() { 1 } else { depth(root) + 1 }
            })
            .map(|n| Self::tree(n, all))
            .collect();
        Self {
            name: root.to_string(),
            affiliations: children,
            identities: Vec::new(),
        }
    }
}

/// A dotted name with no empty parts.
fn check_name(name: &str) -> Result<(), CaError> {
    if name.is_empty() || name.split('.').any(|p| p.trim().is_empty()) {
        return Err(CaError::bad_request(
            code::BAD_REQUEST,
            format!("'{name}' is not an affiliation name (dot-separated, no empty parts)"),
        ));
    }
    Ok(())
}

/// `a.b.c` → `[a, a.b]`.
fn parents(name: &str) -> Vec<String> {
    let parts: Vec<&str> = name.split('.').collect();
    (1..parts.len()).map(|n| parts[..n].join(".")).collect()
}

impl Authority {
    /// Whether `caller` may manage affiliation `name`.
    fn may_manage_affiliation(caller: &IdentityRecord, name: &str) -> Result<(), CaError> {
        Self::require_flag(
            caller,
            "hf.AffiliationMgr",
            "manage affiliations",
            code::AUTHORIZATION,
        )?;
        Self::require_affiliation(caller, name)
    }

    fn affiliation_not_found(name: &str) -> CaError {
        CaError::api(
            404,
            code::AFFILIATION_NOT_FOUND,
            format!("affiliation '{name}' does not exist"),
        )
    }

    /// `GET affiliations`: the tree below the caller's affiliation.
    pub fn affiliations(&self, caller: &IdentityRecord) -> Result<AffiliationInfo, CaError> {
        Self::may_manage_affiliation(caller, &caller.affiliation)?;
        Ok(AffiliationInfo::tree(
            &caller.affiliation,
            &self.store.affiliations()?,
        ))
    }

    /// `GET affiliations/{name}`: one affiliation, what is below it, and its identities.
    pub fn affiliation(
        &self,
        caller: &IdentityRecord,
        name: &str,
    ) -> Result<AffiliationInfo, CaError> {
        Self::may_manage_affiliation(caller, name)?;
        let all = self.store.affiliations()?;
        if !all.iter().any(|n| n == name) {
            return Err(Self::affiliation_not_found(name));
        }
        let mut info = AffiliationInfo::tree(name, &all);
        info.identities = self
            .store
            .identities_in(name)?
            .iter()
            .filter(|i| Self::manages(caller, i))
            .map(IdentityInfo::from)
            .collect();
        Ok(info)
    }

    /// `POST affiliations`: adds one; missing parents are an error unless `force` adds them too.
    pub fn add_affiliation(
        &self,
        caller: &IdentityRecord,
        req: &AffiliationRequest,
        force: bool,
    ) -> Result<AffiliationInfo, CaError> {
        self.check_caname(&req.caname)?;
        check_name(&req.name)?;
        Self::may_manage_affiliation(caller, &req.name)?;
        if self.store.affiliation_exists(&req.name)? {
            return Err(CaError::bad_request(
                code::BAD_REQUEST,
                format!("affiliation '{}' already exists", req.name),
            ));
        }
        let mut missing = Vec::new();
        for p in parents(&req.name) {
            if !self.store.affiliation_exists(&p)? {
                missing.push(p);
            }
        }
        if !missing.is_empty() && !force {
            return Err(CaError::bad_request(
                code::NEEDS_FORCE,
                format!(
                    "the parent affiliation '{}' does not exist: add it first, or repeat with force",
                    missing[0]
                ),
            ));
        }
        missing.push(req.name.clone());
        self.store.add_affiliations(&missing)?;
        tracing::info!(name = %req.name, by = %caller.id, "added affiliation");
        Ok(AffiliationInfo {
            name: req.name.clone(),
            ..Default::default()
        })
    }

    /// `PUT affiliations/{name}`: renames an affiliation and everything
    /// below it; moving identities along needs `force`.
    pub fn rename_affiliation(
        &self,
        caller: &IdentityRecord,
        name: &str,
        req: &AffiliationRequest,
        force: bool,
    ) -> Result<AffiliationInfo, CaError> {
        self.check_caname(&req.caname)?;
        check_name(&req.name)?;
        Self::may_manage_affiliation(caller, name)?;
        Self::may_manage_affiliation(caller, &req.name)?;
        if !self.store.affiliation_exists(name)? {
            return Err(Self::affiliation_not_found(name));
        }
        if covers(name, &req.name) {
            return Err(CaError::bad_request(
                code::BAD_REQUEST,
                format!(
                    "cannot rename '{name}' to '{}', which is itself or below it",
                    req.name
                ),
            ));
        }
        if self.store.affiliation_exists(&req.name)? {
            return Err(CaError::bad_request(
                code::BAD_REQUEST,
                format!("affiliation '{}' already exists", req.name),
            ));
        }
        for p in parents(&req.name) {
            if !self.store.affiliation_exists(&p)? {
                return Err(Self::affiliation_not_found(&p));
            }
        }
        let moved = self.store.identities_under(name)?;
        if moved > 0 && !force {
            return Err(CaError::bad_request(
                code::NEEDS_FORCE,
                format!("renaming '{name}' moves {moved} identities: repeat with force"),
            ));
        }
        self.require_authority_under(caller, name)?;
        self.store.rename_affiliation(name, &req.name)?;
        tracing::info!(from = name, to = %req.name, by = %caller.id, "renamed affiliation");
        Ok(AffiliationInfo::tree(
            &req.name,
            &self.store.affiliations()?,
        ))
    }

    /// Moving or removing an affiliation acts on every identity below it:
    /// the caller must have authority over each (a lesser manager may not
    /// remove a greater identity by removing its affiliation).
    fn require_authority_under(&self, caller: &IdentityRecord, name: &str) -> Result<(), CaError> {
        for identity in self.store.identities()? {
            if covers(name, &identity.affiliation) {
                Self::require_authority_over(caller, &identity)?;
            }
        }
        Ok(())
    }

    /// `DELETE affiliations/{name}`: removes an affiliation; if it has
    /// affiliations or identities below it, `force` removes those too (and
    /// revokes the identities' certificates). Needs `cfg.affiliations.allowremove`.
    pub fn delete_affiliation(
        &self,
        caller: &IdentityRecord,
        name: &str,
        force: bool,
    ) -> Result<AffiliationInfo, CaError> {
        self.config
            .cfg
            .affiliations
            .check("affiliation", "affiliations")?;
        Self::may_manage_affiliation(caller, name)?;
        if covers(name, &caller.affiliation) {
            return Err(CaError::forbidden(format!(
                "'{}' may not remove its own affiliation '{name}'",
                caller.id
            )));
        }
        let all = self.store.affiliations()?;
        if !all.iter().any(|n| n == name) {
            return Err(Self::affiliation_not_found(name));
        }
        let info = AffiliationInfo::tree(name, &all);
        let identities = self.store.identities_under(name)?;
        if (identities > 0 || !info.affiliations.is_empty()) && !force {
            return Err(CaError::bad_request(
                code::NEEDS_FORCE,
                format!(
                    "'{name}' has {} affiliations and {identities} identities below it: repeat with force to remove them too",
                    info.affiliations.len()
                ),
            ));
        }
        self.require_authority_under(caller, name)?;
        let (removed, revoked) = self.store.delete_affiliation(name, now())?;
        tracing::info!(
            name,
            by = %caller.id,
            identities = removed.len(),
            revoked = revoked.len(),
            "removed affiliation"
        );
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_nests_by_dots() {
        let all: Vec<String> = ["org1", "org1.a", "org1.a.x", "org1.b", "org10", "org2"]
            .map(String::from)
            .to_vec();
        let root = AffiliationInfo::tree("", &all);
        let names: Vec<&str> = root.affiliations.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["org1", "org10", "org2"]);
        let org1 = &root.affiliations[0];
        assert_eq!(org1.affiliations.len(), 2);
        assert_eq!(org1.affiliations[0].affiliations[0].name, "org1.a.x");
        assert_eq!(parents("a.b.c"), ["a", "a.b"]);
        assert!(check_name("a..b").is_err());
        assert!(check_name("").is_err());
    }
}
