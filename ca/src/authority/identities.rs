//! The identities API: list, get, modify and remove registered identities
//! (add is `register`). A registrar sees and manages only identities whose
//! type is in its `hf.Registrar.Roles` and whose affiliation is under its own.

use super::{Authority, IdentityInfo, ModifyRequest, list_allows, now};
use crate::CaError;
use crate::error::code;
use crate::store::IdentityRecord;

impl From<&IdentityRecord> for IdentityInfo {
    fn from(i: &IdentityRecord) -> Self {
        Self {
            id: i.id.clone(),
            kind: i.kind.clone(),
            affiliation: i.affiliation.clone(),
            attrs: i.attributes.clone(),
            max_enrollments: i.max_enrollments,
        }
    }
}

/// Privileges held as allow lists: the target's list must be covered by the caller's.
const LIST_PRIVILEGES: [&str; 3] = [
    "hf.Registrar.Roles",
    "hf.Registrar.DelegateRoles",
    "hf.Registrar.Attributes",
];

/// Privileges held as flags: a target's `true` needs the caller's `true`.
const FLAG_PRIVILEGES: [&str; 4] = [
    "hf.Revoker",
    "hf.GenCRL",
    "hf.IntermediateCA",
    "hf.AffiliationMgr",
];

/// The first `hf.*` privilege `target` holds that `caller` does not.
fn privilege_beyond(caller: &IdentityRecord, target: &IdentityRecord) -> Option<&'static str> {
    let lists = LIST_PRIVILEGES.into_iter().find(|name| {
        let own = caller.attribute(name).unwrap_or("");
        target.attribute(name).is_some_and(|theirs| {
            theirs
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .any(|item| !list_allows(own, item))
        })
    });
    lists.or_else(|| {
        FLAG_PRIVILEGES.into_iter().find(|name| {
            target.attribute(name) == Some("true") && caller.attribute(name) != Some("true")
        })
    })
}

impl Authority {
    /// Whether registrar `caller` may see and manage `identity`: its type is
    /// in the caller's `hf.Registrar.Roles`, its affiliation under the
    /// caller's, and it holds no `hf.*` privilege the caller lacks (else a
    /// lesser registrar could take over a greater identity, e.g. reset the
    /// bootstrap admin's secret and enroll as it).
    pub(super) fn manages(caller: &IdentityRecord, identity: &IdentityRecord) -> bool {
        Self::authority_over(caller, identity).is_ok()
    }

    /// Why `caller` may not act on `identity`, if it may not.
    fn authority_over(
        caller: &IdentityRecord,
        identity: &IdentityRecord,
    ) -> Result<(), NoAuthority> {
        let roles = caller.attribute("hf.Registrar.Roles").unwrap_or("");
        if !list_allows(roles, &identity.kind) {
            return Err(NoAuthority::Type {
                caller: caller.id.clone(),
                roles: roles.to_string(),
                kind: identity.kind.clone(),
            });
        }
        if Self::require_affiliation(caller, &identity.affiliation).is_err() {
            return Err(NoAuthority::Affiliation {
                caller: caller.id.clone(),
                held: caller.affiliation.clone(),
                wanted: identity.affiliation.clone(),
            });
        }
        if let Some(privilege) = privilege_beyond(caller, identity) {
            return Err(NoAuthority::Privilege {
                identity: identity.id.clone(),
                privilege: privilege.to_string(),
                caller: caller.id.clone(),
            });
        }
        Ok(())
    }

    /// [`Self::manages`] as a 403 naming the reason (for revocation, where
    /// the identity is named by the caller and its existence is no secret).
    pub(super) fn require_authority_over(
        caller: &IdentityRecord,
        identity: &IdentityRecord,
    ) -> Result<(), CaError> {
        Self::authority_over(caller, identity)
            .map_err(|why| CaError::api(403, code::AUTHORIZATION, format!("{why}: refused")))
    }

    /// `GET identities`: the identities `caller` manages.
    pub fn list_identities(&self, caller: &IdentityRecord) -> Result<Vec<IdentityInfo>, CaError> {
        Self::registrar_roles(caller)?;
        Ok(self
            .store
            .identities()?
            .iter()
            .filter(|i| Self::manages(caller, i))
            .map(IdentityInfo::from)
            .collect())
    }

    /// `GET identities/{id}`.
    pub fn get_identity(&self, caller: &IdentityRecord, id: &str) -> Result<IdentityInfo, CaError> {
        Ok(IdentityInfo::from(&self.managed_identity(caller, id)?))
    }
}

impl Authority {
    fn identity_not_found(id: &str) -> CaError {
        CaError::api(
            404,
            code::IDENTITY_NOT_FOUND,
            format!("identity '{id}' not found"),
        )
    }

    /// The identity `id`, if `caller` manages it; otherwise the same
    /// "not found" an unknown id gets, so registrars cannot probe others' identities.
    fn managed_identity(
        &self,
        caller: &IdentityRecord,
        id: &str,
    ) -> Result<IdentityRecord, CaError> {
        self.store
            .identity(id)?
            .filter(|i| Self::manages(caller, i))
            .ok_or_else(|| Self::identity_not_found(id))
    }

    /// `PUT identities/{id}`: changes an identity's type, affiliation,
    /// attributes, enrollment limit or secret. The caller must manage it
    /// both before and after the change. Returns the new record.
    pub fn modify_identity(
        &self,
        caller: &IdentityRecord,
        id: &str,
        req: &ModifyRequest,
    ) -> Result<IdentityInfo, CaError> {
        self.check_caname(&req.caname)?;
        Self::registrar_roles(caller)?;
        let mut identity = self.managed_identity(caller, id)?;
        if !req.kind.is_empty() {
            Self::may_register(caller, &req.kind)?;
            identity.kind = req.kind.clone();
        }
        if !req.affiliation.is_empty() {
            let affiliation = if req.affiliation == "." {
                ""
            } else {
                req.affiliation.as_str()
            };
            self.may_place_into(caller, affiliation)?;
            identity.affiliation = affiliation.to_string();
        }
        if !req.attrs.is_empty() {
            Self::may_grant(caller, &req.attrs)?;
            for a in &req.attrs {
                identity.attributes.retain(|have| have.name != a.name);
                if !a.value.is_empty() {
                    identity.attributes.push(a.clone());
                }
            }
        }
        if req.max_enrollments != 0 {
            identity.max_enrollments = self.max_enrollments(req.max_enrollments)?;
        }
        if !req.secret.is_empty() {
            identity.set_secret(&req.secret, self.iterations());
        }
        if !self.store.update_identity(&identity)? {
            return Err(Self::identity_not_found(id));
        }
        tracing::info!(id, by = %caller.id, "modified identity");
        Ok(IdentityInfo::from(&identity))
    }

    /// `DELETE identities/{id}`: removes an identity and revokes its
    /// certificates. Needs `cfg.identities.allowremove`; removing oneself needs `force`.
    pub fn remove_identity(
        &self,
        caller: &IdentityRecord,
        id: &str,
        force: bool,
    ) -> Result<IdentityInfo, CaError> {
        self.config.cfg.identities.check("identity", "identities")?;
        let identity = self.managed_identity(caller, id)?;
        if identity.id == caller.id && !force {
            return Err(CaError::bad_request(
                code::NEEDS_FORCE,
                format!("'{id}' is removing itself: repeat with force"),
            ));
        }
        let revoked = self
            .store
            .remove_identities(std::slice::from_ref(&identity.id), now())?;
        tracing::info!(id, by = %caller.id, revoked = revoked.len(), "removed identity");
        Ok(IdentityInfo::from(&identity))
    }
}

/// Why a registrar may not act on an identity.
#[derive(Debug, thiserror::Error)]
enum NoAuthority {
    /// The identity's type is not in the registrar's `hf.Registrar.Roles`.
    #[error("'{caller}' may act on types [{roles}], not '{kind}'")]
    Type {
        caller: String,
        roles: String,
        kind: String,
    },
    /// The identity's affiliation is outside the registrar's.
    #[error("'{caller}' of affiliation '{held}' may not act on affiliation '{wanted}'")]
    Affiliation {
        caller: String,
        held: String,
        wanted: String,
    },
    /// The identity holds an `hf.*` privilege the registrar lacks.
    #[error("'{identity}' holds {privilege}, which '{caller}' does not")]
    Privilege {
        identity: String,
        privilege: String,
        caller: String,
    },
}
