//! Authenticating a request's token: an identity's certificate and its
//! signature over the method, path and body (Fabric CA's token format).

use super::*;

impl Authority {
    /// Checks a Fabric CA token (`b64(cert).b64(signature)`, the signature
    /// over `method.b64(uri).b64(body).b64(cert)`) and returns the caller.
    pub fn authenticate_token(
        &self,
        header: &str,
        method: &str,
        uri: &str,
        body: &[u8],
    ) -> Result<IdentityRecord, CaError> {
        let bad =
            |m: &str| CaError::unauthorized(code::INVALID_TOKEN, format!("invalid token: {m}"));
        let (b64cert, b64sig) = header
            .split_once('.')
            .ok_or_else(|| bad("expected <cert>.<signature>"))?;
        let cert_pem = B64
            .decode(b64cert)
            .map_err(|_| bad("the certificate is not base64"))?;
        let sig = B64
            .decode(b64sig)
            .map_err(|_| bad("the signature is not base64"))?;
        let cert = weft_common::msp::Certificate::from_pem(&cert_pem)
            .map_err(|e| bad(&format!("the certificate does not parse: {e}")))?;
        let serial = serial_hex(&cert.serial);
        let record = self
            .store
            .certificate(&serial, &self.enrollment.aki)?
            .ok_or_else(|| {
                CaError::unauthorized(
                    code::UNTRUSTED_CERT,
                    "the token's certificate was not issued by this CA",
                )
            })?;
        let issued = weft_common::msp::Certificate::from_pem(record.pem.as_bytes())?;
        if issued.der != cert.der {
            return Err(CaError::unauthorized(
                code::UNTRUSTED_CERT,
                "the token's certificate was not issued by this CA",
            ));
        }
        if record.revoked_reason.is_some() {
            return Err(CaError::unauthorized(
                code::CERT_REVOKED,
                "the token's certificate is revoked",
            ));
        }
        let now = now();
        if now < cert.not_before {
            return Err(bad(&format!(
                "the certificate is not yet valid (from Unix time {})",
                cert.not_before
            )));
        }
        if now > cert.not_after {
            return Err(bad(&format!(
                "the certificate expired at Unix time {}",
                cert.not_after
            )));
        }
        let payload = format!(
            "{method}.{}.{}.{b64cert}",
            B64.encode(uri),
            B64.encode(body)
        );
        if cert.public_key.verify(payload.as_bytes(), &sig).is_err() {
            let legacy = format!("{}.{b64cert}", B64.encode(body));
            if cert.public_key.verify(legacy.as_bytes(), &sig).is_err() {
                return Err(bad("the signature does not match the request"));
            }
            if !self.config.compatibility.legacytokens {
                return Err(bad(
                    "a legacy token (signed over the body only) is refused; \
                     the server accepts them with compatibility.legacytokens",
                ));
            }
            if method != "POST" || body.is_empty() {
                return Err(bad(
                    "a legacy token is accepted only for a POST with a body \
                     (it is not bound to the method or path)",
                ));
            }
        }
        let identity = self
            .store
            .identity(&record.id)?
            .ok_or_else(|| CaError::unauthorized(code::AUTH_FAILURE, "Authentication failure"))?;
        if identity.revoked {
            return Err(CaError::unauthorized(
                code::REVOKED_ID,
                format!("identity '{}' is revoked", identity.id),
            ));
        }
        Ok(identity)
    }
}
