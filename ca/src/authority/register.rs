//! Register: who may register whom, into which affiliation, with which
//! attributes and how many enrollments.

use super::*;

impl Authority {
    /// `register`: `caller` registers a new identity, within its authority
    /// (`hf.Registrar.Roles`, `hf.Registrar.Attributes`, its affiliation).
    /// Returns the secret.
    pub fn register(
        &self,
        caller: &IdentityRecord,
        req: &RegisterRequest,
    ) -> Result<String, CaError> {
        self.check_caname(&req.caname)?;
        if req.id.trim().is_empty() {
            return Err(CaError::bad_request(
                code::BAD_REQUEST,
                "the identity needs an id",
            ));
        }
        let kind = if req.kind.is_empty() {
            "client"
        } else {
            req.kind.as_str()
        };
        Self::may_register(caller, kind)?;
        let affiliation = if req.affiliation.is_empty() {
            caller.affiliation.clone()
        } else {
            req.affiliation.clone()
        };
        self.may_place_into(caller, &affiliation)?;
        Self::may_grant(caller, &req.attrs)?;
        let max = self.max_enrollments(req.max_enrollments)?;
        let secret = if req.secret.is_empty() {
            random_secret()
        } else {
            req.secret.clone()
        };
        self.store.insert_identity(&IdentityRecord::new(
            &req.id,
            kind,
            &affiliation,
            req.attrs.clone(),
            max,
            &secret,
            self.iterations(),
        ))?;
        Ok(secret)
    }

    /// The types `caller` may register (`hf.Registrar.Roles`); an error if it is no registrar.
    pub(super) fn registrar_roles(caller: &IdentityRecord) -> Result<&str, CaError> {
        caller.attribute("hf.Registrar.Roles").ok_or_else(|| {
            CaError::forbidden(format!(
                "'{}' is not a registrar (no hf.Registrar.Roles)",
                caller.id
            ))
        })
    }

    /// Whether `caller` is a registrar for identities of type `kind`.
    pub(super) fn may_register(caller: &IdentityRecord, kind: &str) -> Result<(), CaError> {
        let roles = Self::registrar_roles(caller)?;
        if !list_allows(roles, kind) {
            return Err(CaError::forbidden(format!(
                "'{}' may register types [{roles}], not '{kind}'",
                caller.id
            )));
        }
        Ok(())
    }

    /// Whether `caller` may put an identity into `affiliation`, which must exist.
    pub(super) fn may_place_into(
        &self,
        caller: &IdentityRecord,
        affiliation: &str,
    ) -> Result<(), CaError> {
        if !covers(&caller.affiliation, affiliation) {
            return Err(CaError::forbidden(format!(
                "'{}' of affiliation '{}' may not register into '{affiliation}'",
                caller.id, caller.affiliation
            )));
        }
        if !self.store.affiliation_exists(affiliation)? {
            return Err(CaError::bad_request(
                code::AFFILIATION_NOT_FOUND,
                format!(
                    "affiliation '{affiliation}' does not exist (add it with the affiliations API)"
                ),
            ));
        }
        Ok(())
    }

    /// Whether `caller` may grant `attrs` (`hf.Registrar.Attributes`, and
    /// for `hf.*` attributes no more than it holds itself).
    pub(super) fn may_grant(caller: &IdentityRecord, attrs: &[Attribute]) -> Result<(), CaError> {
        let allowed_attrs = caller.attribute("hf.Registrar.Attributes").unwrap_or("");
        for a in attrs {
            if !list_allows(allowed_attrs, &a.name) {
                return Err(CaError::forbidden(format!(
                    "'{}' may not register attribute '{}' (hf.Registrar.Attributes: [{allowed_attrs}])",
                    caller.id, a.name
                )));
            }
            if a.name.starts_with("hf.") {
                let own = caller.attribute(&a.name).unwrap_or("");
                let grantable = own == "*"
                    || own == a.value
                    || (own == "true" && a.value == "false")
                    || a.value.split(',').all(|v| list_allows(own, v.trim()));
                if !grantable {
                    return Err(CaError::forbidden(format!(
                        "'{}' may not grant {}={} (it holds '{own}')",
                        caller.id, a.name, a.value
                    )));
                }
            }
        }
        Ok(())
    }

    /// The enrollment limit for a request asking for `requested` (0: the
    /// CA's default), within the CA's own limit.
    pub(super) fn max_enrollments(&self, requested: i64) -> Result<i64, CaError> {
        let ca_max = self.config.registry.maxenrollments;
        let max = if requested == 0 { ca_max } else { requested };
        if ca_max > 0 && (max < 0 || max > ca_max) {
            return Err(CaError::bad_request(
                code::BAD_REQUEST,
                format!("max_enrollments {max} exceeds this CA's limit of {ca_max}"),
            ));
        }
        Ok(max)
    }
}
