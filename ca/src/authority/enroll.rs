//! Enroll and reenroll: checking the caller's secret or certificate, the
//! issuing CA, and what the certificate may say (Fabric CA's rules).

use super::*;

impl Authority {
    /// `enroll`: checks the secret and the enrollment limit, then certifies
    /// the request's key. A refusal changes nothing.
    pub fn enroll(
        &self,
        id: &str,
        secret: &str,
        req: &EnrollRequest,
    ) -> Result<Enrollment, CaError> {
        let issuer = self.issuer_of(req)?;
        let ca_max = self.config.registry.maxenrollments;
        if ca_max == 0 {
            return Err(CaError::unauthorized(
                22,
                "enrollment is disabled on this CA",
            ));
        }
        let checked = self.check_secret(id, secret)?;
        let cert = self.store.enroll(
            id,
            |identity| {
                // The secret may have changed since it was checked.
                if !identity.same_secret(&checked) {
                    return Err(CaError::unauthorized(code::AUTH_FAILURE, "Authentication failure"));
                }
                // From here on the caller proved its secret: name the cause.
                if identity.revoked {
                    return Err(CaError::unauthorized(
                        code::REVOKED_ID,
                        format!("identity '{id}' is revoked and may not enroll"),
                    ));
                }
                let limit = if identity.max_enrollments > 0 { identity.max_enrollments } else { ca_max };
                if limit > 0 && identity.enrollments >= limit {
                    return Err(CaError::unauthorized(
                        code::INVALID_PASS,
                        format!(
                            "identity '{id}' has used its {limit} enrollment(s); reenroll with its certificate or ask a registrar to raise max_enrollments"
                        ),
                    ));
                }
                Ok(())
            },
                                    |identity| self.certify(identity, req, issuer),
        )?;
        Ok(Enrollment {
            info: issuer.info(),
            cert: cert.pem,
        })
    }

    /// `reenroll`: a new certificate for the caller (authenticated by its
    /// current one), e.g. before it expires. It does not count against
    /// `max_enrollments`.
    pub fn reenroll(
        &self,
        caller: &IdentityRecord,
        req: &EnrollRequest,
    ) -> Result<Enrollment, CaError> {
        let issuer = self.issuer_of(req)?;
        let cert = self.certify(caller, req, issuer)?;
        self.store.insert_certificate(&cert)?;
        Ok(Enrollment {
            info: issuer.info(),
            cert: cert.pem,
        })
    }

    /// Which CA signs an enrollment, and what for: the CA named by
    /// `caname`, except that the TLS profile goes to the TLS CA when the
    /// server runs one and the request names no CA.
    pub(super) fn issuer_of(&self, req: &EnrollRequest) -> Result<&SigningCa, CaError> {
        match (&self.tls, req.profile.as_str(), req.caname.as_str()) {
            (Some(tls), "tls", "") => Ok(tls),
            _ => self.signer(&req.caname),
        }
    }

    /// Issues the certificate for an enrollment of `identity`, signed by `issuer`.
    pub(super) fn certify(
        &self,
        identity: &IdentityRecord,
        req: &EnrollRequest,
        issuer: &SigningCa,
    ) -> Result<CertRecord, CaError> {
        let mut attrs = serde_json::Map::new();
        attrs.insert("hf.Affiliation".into(), identity.affiliation.clone().into());
        attrs.insert("hf.EnrollmentID".into(), identity.id.clone().into());
        attrs.insert("hf.Type".into(), identity.kind.clone().into());
        match &req.attr_reqs {
            None => {
                for a in identity.attributes.iter().filter(|a| a.ecert) {
                    attrs.insert(a.name.clone(), a.value.clone().into());
                }
            }
            Some(wanted) => {
                for w in wanted {
                    match identity.attribute(&w.name) {
                        Some(v) => {
                            attrs.insert(w.name.clone(), v.into());
                        }
                        None if w.optional => {}
                        None => {
                            return Err(CaError::bad_request(
                                code::BAD_REQUEST,
                                format!("identity '{}' has no attribute '{}'", identity.id, w.name),
                            ));
                        }
                    }
                }
            }
        }
        let extension = serde_json::to_vec(&serde_json::json!({ "attrs": attrs })).expect("JSON");
        let usage = match req.profile.as_str() {
            "" if issuer.tls => Usage::Tls,
            "" => Usage::Signing,
            "tls" => Usage::Tls,
            "ca" => {
                Self::may_certify_a_ca(identity, issuer)?;
                Usage::Ca
            }
            other => {
                return Err(CaError::bad_request(
                    code::BAD_REQUEST,
                    format!("unknown profile '{other}' (use tls, ca, or none)"),
                ));
            }
        };
        let ou = match identity.kind.as_str() {
            "user" => "client",
            k => k,
        };
        let mut subject = Subject {
            organization: Some(self.config.csr.organization.clone()),
            ..Subject::fabric_style(&self.config.csr.organization, &identity.id)
        };
        let mut extensions = Vec::new();
        if usage != Usage::Ca {
            subject = subject.with_ou(ou);
            extensions.push((ATTRIBUTE_EXTENSION_OID.to_vec(), extension));
        }
        let (pem, serial) = issuer
            .ca
            .issue_for_request(
                &req.certificate_request,
                &subject,
                &req.hosts,
                usage,
                Validity::days_from_now(self.config.expiry_days),
                &extensions,
            )
            .map_err(|e| CaError::bad_request(code::BAD_CSR, e.to_string()))?;
        Ok(CertRecord {
            serial: serial_hex(&serial),
            aki: issuer.aki.clone(),
            id: identity.id.clone(),
            pem,
            revoked_reason: None,
            revoked_at: None,
        })
    }

    /// Whether `identity` may get an intermediate CA certificate from `issuer`.
    pub(super) fn may_certify_a_ca(
        identity: &IdentityRecord,
        issuer: &SigningCa,
    ) -> Result<(), CaError> {
        Self::require_flag(
            identity,
            "hf.IntermediateCA",
            "enroll as an intermediate CA",
            code::AUTHORIZATION,
        )?;
        if issuer.intermediate || issuer.tls {
            return Err(CaError::api(
                403,
                code::AUTHORIZATION,
                format!(
                    "CA '{}' may not certify CAs (it is {})",
                    issuer.name,
                    if issuer.tls {
                        "a TLS CA"
                    } else {
                        "an intermediate with path length 0"
                    }
                ),
            ));
        }
        Ok(())
    }
}
