//! The CA's REST protocol as Fabric CA speaks it: every request body and
//! result, shared by the server (`api`, `authority`) and the client
//! (`client`, the `weft-ca client` commands), so both sides read and write
//! the same field names.

use serde::{Deserialize, Serialize};

/// Fabric's clients send `null` for fields they leave out: read it as the default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An attribute of an identity (`hf.Registrar.Roles`, or an application's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Whether it goes into enrollment certificates by default.
    #[serde(default)]
    pub ecert: bool,
}

/// An attribute asked for in an enrollment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttributeRequest {
    /// Its name.
    pub name: String,
    /// Missing is not an error.
    #[serde(default, deserialize_with = "null_as_default")]
    pub optional: bool,
}

/// The body of `POST /api/v1/enroll` and `/reenroll`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// PKCS#10 request (PEM).
    pub certificate_request: String,
    /// `tls` for a TLS certificate; empty for an enrollment certificate.
    #[serde(default, deserialize_with = "null_as_default")]
    pub profile: String,
    /// Attributes to put into the certificate (default: those marked `ecert`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub attr_reqs: Option<Vec<AttributeRequest>>,
    /// The CA to ask (must be this one's name, or empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub caname: String,
    /// Host names and addresses for the certificate's subject alternative
    /// names (default: those in the request).
    #[serde(default, deserialize_with = "null_as_default")]
    pub hosts: Vec<String>,
}

/// The body of `POST /api/v1/register`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// The new enrollment id.
    pub id: String,
    /// Its type (default `client`).
    #[serde(default, rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
    /// Its secret (generated when empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret: String,
    /// Enrollments allowed (0: the CA's default).
    #[serde(default, deserialize_with = "null_as_default")]
    pub max_enrollments: i64,
    /// Its affiliation (default: the registrar's).
    #[serde(default, deserialize_with = "null_as_default")]
    pub affiliation: String,
    /// Its attributes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attrs: Vec<Attribute>,
    /// The CA to ask.
    #[serde(default, deserialize_with = "null_as_default")]
    pub caname: String,
}

/// The body of `POST /api/v1/revoke`: an identity, or one certificate.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RevokeRequest {
    /// Revoke this identity and all its certificates …
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// … or the certificate with this AKI (hex) …
    #[serde(default, deserialize_with = "null_as_default")]
    pub aki: String,
    /// … and serial (hex).
    #[serde(default, deserialize_with = "null_as_default")]
    pub serial: String,
    /// Reason (`keycompromise`, `superseded`, …; default unspecified).
    #[serde(default, deserialize_with = "null_as_default")]
    pub reason: String,
    /// Also return a fresh CRL.
    #[serde(default, deserialize_with = "null_as_default")]
    pub gencrl: bool,
    /// The CA to ask.
    #[serde(default, deserialize_with = "null_as_default")]
    pub caname: String,
}

/// What `revoke` returns.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RevokeResult {
    /// The certificates revoked by this request.
    pub revoked_certs: Vec<RevokedCert>,
    /// Base64 of the CRL (PEM), when asked for.
    #[serde(rename = "CRL", skip_serializing_if = "String::is_empty")]
    pub crl: String,
}

/// One revoked certificate.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RevokedCert {
    /// Serial (hex).
    #[serde(rename = "Serial")]
    pub serial: String,
    /// AKI (hex).
    #[serde(rename = "AKI")]
    pub aki: String,
}

/// What `cainfo` and `enroll` return about the CA.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServerInfo {
    /// The CA's name.
    #[serde(rename = "CAName")]
    pub ca_name: String,
    /// Base64 of the CA chain (PEM).
    #[serde(rename = "CAChain")]
    pub ca_chain: String,
    /// Idemix issuer key (not supported: empty).
    pub issuer_public_key: String,
    /// Idemix revocation key (not supported: empty).
    pub issuer_revocation_public_key: String,
    /// Server version.
    pub version: String,
}

/// An identity as the identities API shows it (never its secret).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentityInfo {
    /// Enrollment id.
    pub id: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Affiliation.
    pub affiliation: String,
    /// Attributes.
    pub attrs: Vec<Attribute>,
    /// Enrollments allowed.
    pub max_enrollments: i64,
}

/// The body of `PUT /api/v1/identities/{id}`: what to change (empty fields
/// stay as they are).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ModifyRequest {
    /// New type.
    #[serde(default, rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
    /// New affiliation (`.` for the root).
    #[serde(default, deserialize_with = "null_as_default")]
    pub affiliation: String,
    /// Attributes to add or change; one with an empty value is removed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attrs: Vec<Attribute>,
    /// New enrollment limit (0: unchanged).
    #[serde(default, deserialize_with = "null_as_default")]
    pub max_enrollments: i64,
    /// New secret.
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret: String,
    /// The CA to ask.
    #[serde(default, deserialize_with = "null_as_default")]
    pub caname: String,
}

/// The body of `POST affiliations` (the new name) and of
/// `PUT affiliations/{name}` (the name to rename it to).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AffiliationRequest {
    /// The affiliation's full dotted name.
    pub name: String,
    /// The CA to ask.
    #[serde(default, deserialize_with = "null_as_default")]
    pub caname: String,
}

/// An affiliation with what is below it, as the API shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AffiliationInfo {
    /// Full dotted name (`""` for the root).
    pub name: String,
    /// Affiliations directly below it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affiliations: Vec<AffiliationInfo>,
    /// Identities in it (those the caller manages).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityInfo>,
}

/// The result of `enroll` and `reenroll`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EnrollResponse {
    /// Base64 of the certificate (PEM).
    #[serde(rename = "Cert")]
    pub cert: String,
    /// The CA that signed it.
    #[serde(rename = "ServerInfo")]
    pub server_info: ServerInfo,
}

/// The result of `register` (and `identities` add).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RegisterResponse {
    /// The identity's secret, given or generated.
    pub secret: String,
}

/// The result of listing identities.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentitiesResponse {
    /// Those the caller manages.
    pub identities: Vec<IdentityInfo>,
    /// The CA that answered.
    pub caname: String,
}

/// The result of `gencrl`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CrlResponse {
    /// Base64 of the CRL (PEM).
    #[serde(rename = "CRL")]
    pub crl: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fabric_clients_nulls_read_as_defaults() {
        let r: RegisterRequest =
            serde_json::from_str(r#"{"id":"a","type":null,"attrs":null,"max_enrollments":null}"#)
                .unwrap();
        assert_eq!(
            (r.kind.as_str(), r.attrs.len(), r.max_enrollments),
            ("", 0, 0)
        );
    }

    #[test]
    fn what_one_side_writes_the_other_reads() {
        let sent = RegisterRequest {
            id: "alice".into(),
            kind: "client".into(),
            attrs: vec![Attribute {
                name: "role".into(),
                value: "auditor".into(),
                ecert: true,
            }],
            ..Default::default()
        };
        let text = serde_json::to_string(&sent).unwrap();
        assert!(text.contains(r#""type":"client""#), "{text}");
        let read: RegisterRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (read.id, read.kind, read.attrs),
            (sent.id, sent.kind, sent.attrs)
        );
        let result = RevokeResult {
            revoked_certs: vec![RevokedCert {
                serial: "0a".into(),
                aki: "0b".into(),
            }],
            crl: String::new(),
        };
        let text = serde_json::to_string(&result).unwrap();
        assert_eq!(text, r#"{"RevokedCerts":[{"Serial":"0a","AKI":"0b"}]}"#);
        let read: RevokeResult = serde_json::from_str(&text).unwrap();
        assert_eq!(read.revoked_certs[0].aki, "0b");
    }
}
