//! Revocation and CRLs: who may revoke what, and the CRL each CA signs.

use super::*;

impl Authority {
    pub(super) fn require_flag(
        caller: &IdentityRecord,
        flag: &str,
        what: &str,
        code: u16,
    ) -> Result<(), CaError> {
        if caller.attribute(flag) == Some("true") {
            Ok(())
        } else {
            Err(CaError::api(
                403,
                code,
                format!("'{}' may not {what} ({flag} is not true)", caller.id),
            ))
        }
    }

    pub(super) fn require_affiliation(
        caller: &IdentityRecord,
        affiliation: &str,
    ) -> Result<(), CaError> {
        if covers(&caller.affiliation, affiliation) {
            Ok(())
        } else {
            Err(CaError::api(
                403,
                17,
                format!(
                    "'{}' of affiliation '{}' may not act on affiliation '{affiliation}'",
                    caller.id, caller.affiliation
                ),
            ))
        }
    }

    /// `revoke`: by identity (it may not enroll again, and every certificate
    /// it holds is revoked) or by AKI + serial. Needs `hf.Revoker`.
    pub fn revoke(
        &self,
        caller: &IdentityRecord,
        req: &RevokeRequest,
    ) -> Result<RevokeResult, CaError> {
        self.check_caname(&req.caname)?;
        Self::require_flag(caller, "hf.Revoker", "revoke", code::AUTHORIZATION)?;
        let reason = reason_code(&req.reason)?;
        let revoked = if !req.id.is_empty() {
            let identity = self.store.identity(&req.id)?.ok_or_else(|| {
                CaError::api(404, 10, format!("identity '{}' is not registered", req.id))
            })?;
            Self::require_authority_over(caller, &identity)?;
            self.store.revoke_identity(&req.id, reason, now())?
        } else {
            if req.serial.is_empty() || req.aki.is_empty() {
                return Err(CaError::bad_request(
                    15,
                    "revoke needs an identity (id), or a certificate (aki and serial)",
                ));
            }
            let serial = serial_hex(&serial_bytes(&req.serial.to_ascii_lowercase())?);
            let aki = req.aki.to_ascii_lowercase();
            let cert = self.store.certificate(&serial, &aki)?.ok_or_else(|| {
                CaError::api(
                    404,
                    30,
                    format!(
                        "no certificate with serial {} and AKI {}",
                        req.serial, req.aki
                    ),
                )
            })?;
            if let Some(owner) = self.store.identity(&cert.id)? {
                Self::require_authority_over(caller, &owner)?;
            }
            if !self
                .store
                .revoke_certificate(&cert.serial, &cert.aki, reason, now())?
            {
                return Err(CaError::bad_request(
                    66,
                    format!("certificate {} is already revoked", req.serial),
                ));
            }
            vec![(cert.serial, cert.aki)]
        };
        let crl = if req.gencrl {
            self.crl_pem()?
        } else {
            String::new()
        };
        Ok(RevokeResult {
            revoked_certs: revoked
                .into_iter()
                .map(|(serial, aki)| RevokedCert { serial, aki })
                .collect(),
            crl: if crl.is_empty() { crl } else { B64.encode(crl) },
        })
    }

    /// The enrollment CA's CRL (PEM): every certificate it issued that is
    /// revoked, numbered in sequence.
    pub fn crl_pem(&self) -> Result<String, CaError> {
        self.crl_pem_of(&self.enrollment)
    }

    pub(super) fn crl_pem_of(&self, signer: &SigningCa) -> Result<String, CaError> {
        let serials = self
            .store
            .revoked_serials(&signer.aki)?
            .iter()
            .map(|s| serial_bytes(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(signer.ca.crl(&serials, self.store.next_crl_number()?, 7)?)
    }

    /// `gencrl` of the CA named `caname` (empty: the enrollment CA): needs
    /// `hf.GenCRL`. Returns base64 of the CRL (PEM).
    pub fn gencrl(&self, caller: &IdentityRecord, caname: &str) -> Result<String, CaError> {
        Self::require_flag(caller, "hf.GenCRL", "generate CRLs", 35)?;
        Ok(B64.encode(self.crl_pem_of(self.signer(caname)?)?))
    }
}
