//! Issuing X.509 certificates and CRLs, as Fabric's cryptogen and CA do.
//!
//! Used by `weft-configtx crypto generate`, by the CA, and by tests that need
//! real certificate chains. Certificates carry Fabric's conventions: subject
//! key identifier = SHA-256 of the public key point, NodeOUs in the subject OU,
//! CA certificates with `keyCertSign`/`cRLSign`, leaf certificates not CAs.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber, SignatureAlgorithm,
};
use time::OffsetDateTime;

use crate::CommonError;
use crate::crypto::{random_bytes, sha256};

/// Which kind of key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// ECDSA P-256 (Fabric's default).
    #[default]
    EcdsaP256,
    /// Ed25519.
    Ed25519,
}

impl KeyType {
    fn algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

/// A subject distinguished name.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// C
    pub country: Option<String>,
    /// ST
    pub province: Option<String>,
    /// L
    pub locality: Option<String>,
    /// O
    pub organization: Option<String>,
    /// OU. One at most: rcgen encodes one value per attribute type.
    pub organizational_unit: Option<String>,
    /// CN
    pub common_name: String,
}

impl Subject {
    /// A subject with Fabric's sample location (US, California, San Francisco).
    pub fn fabric_style(organization: &str, common_name: &str) -> Self {
        Self {
            country: Some("US".into()),
            province: Some("California".into()),
            locality: Some("San Francisco".into()),
            organization: Some(organization.into()),
            organizational_unit: None,
            common_name: common_name.into(),
        }
    }

    /// Sets the OU (for NodeOUs: `client`, `peer`, `admin` or `orderer`).
    pub fn with_ou(mut self, ou: impl Into<String>) -> Self {
        self.organizational_unit = Some(ou.into());
        self
    }

    fn to_dn(&self) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        if let Some(c) = &self.country {
            dn.push(DnType::CountryName, c.as_str());
        }
        if let Some(st) = &self.province {
            dn.push(DnType::StateOrProvinceName, st.as_str());
        }
        if let Some(l) = &self.locality {
            dn.push(DnType::LocalityName, l.as_str());
        }
        if let Some(o) = &self.organization {
            dn.push(DnType::OrganizationName, o.as_str());
        }
        if let Some(ou) = &self.organizational_unit {
            dn.push(DnType::OrganizationalUnitName, ou.as_str());
        }
        dn.push(DnType::CommonName, self.common_name.as_str());
        dn
    }
}

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Signing identities (MSP signcerts): digitalSignature.
    Signing,
    /// TLS server and client authentication.
    Tls,
    /// An intermediate CA that may issue leaves but no further CAs (path length 0).
    Ca,
}

/// Validity window of a certificate, in Unix seconds.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    /// Start.
    pub not_before: i64,
    /// End.
    pub not_after: i64,
}

impl Validity {
    /// From now (minus five minutes of clock skew) for `days`.
    pub fn days_from_now(days: i64) -> Self {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        Self {
            not_before: now - 300,
            not_after: now + days * 86_400,
        }
    }
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// The private key (PKCS#8 PEM, as Fabric writes `priv_sk`).
    pub key_pem: String,
    /// The serial number.
    pub serial: Vec<u8>,
}

impl IssuedCert {
    /// The identity this certificate and key make for `msp_id`, ready to sign.
    pub fn signing_identity(
        &self,
        msp_id: crate::ids::MspId,
    ) -> Result<crate::msp::SigningIdentity, CommonError> {
        let signer = crate::crypto::load_private_key_pem(self.key_pem.as_bytes())?.signer()?;
        crate::msp::SigningIdentity::new(
            crate::msp::Identity::new(msp_id, self.cert_pem.as_bytes())?,
            signer,
        )
    }
}

fn err(e: rcgen::Error) -> CommonError {
    CommonError::Key(format!("certificate generation: {e}"))
}

fn time_of(unix: i64) -> Result<OffsetDateTime, CommonError> {
    OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|e| CommonError::Key(format!("bad time {unix}: {e}")))
}

fn random_serial() -> Vec<u8> {
    let mut s = random_bytes(16);
    s[0] &= 0x7f; // positive
    s[0] |= 0x01; // no leading zero byte, so the DER encoding keeps all 16 bytes
    s
}

/// SHA-256 of the raw public key bytes, Fabric's subject key identifier.
fn fabric_ski(public_key_raw: &[u8]) -> Vec<u8> {
    sha256(public_key_raw).to_vec()
}

fn base_params(
    subject: &Subject,
    validity: Validity,
    key: &KeyPair,
) -> Result<(CertificateParams, Vec<u8>), CommonError> {
    base_params_for(subject, validity, key.public_key_raw())
}

fn base_params_for(
    subject: &Subject,
    validity: Validity,
    public_key_raw: &[u8],
) -> Result<(CertificateParams, Vec<u8>), CommonError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject.to_dn();
    params.not_before = time_of(validity.not_before)?;
    params.not_after = time_of(validity.not_after)?;
    let serial = random_serial();
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.key_identifier_method = KeyIdMethod::PreSpecified(fabric_ski(public_key_raw));
    params.use_authority_key_identifier_extension = true;
    Ok((params, serial))
}

/// A certificate authority: its certificate and key.
pub struct CertAuthority {
    cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for CertAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertAuthority")
    }
}

fn ca_params(params: &mut CertificateParams) {
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ClientAuth,
        ExtendedKeyUsagePurpose::ServerAuth,
    ];
}

impl CertAuthority {
    /// A new self-signed root CA.
    pub fn new_root(
        subject: &Subject,
        key_type: KeyType,
        validity: Validity,
    ) -> Result<Self, CommonError> {
        let key = KeyPair::generate_for(key_type.algorithm()).map_err(err)?;
        let (mut params, _) = base_params(subject, validity, &key)?;
        params.use_authority_key_identifier_extension = false;
        ca_params(&mut params);
        let cert = params.self_signed(&key).map_err(err)?;
        let key_pem = key.serialize_pem();
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA from its certificate and PKCS#8 key (PEM).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CommonError> {
        let key = KeyPair::from_pem(key_pem).map_err(err)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key).map_err(err)?;
        Ok(Self {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
            issuer,
        })
    }

    /// The CA certificate (PEM).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA key (PKCS#8 PEM).
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issues an intermediate CA under this one.
    pub fn issue_intermediate(
        &self,
        subject: &Subject,
        key_type: KeyType,
        validity: Validity,
    ) -> Result<CertAuthority, CommonError> {
        let key = KeyPair::generate_for(key_type.algorithm()).map_err(err)?;
        let (mut params, _) = base_params(subject, validity, &key)?;
        ca_params(&mut params);
        let cert = params.signed_by(&key, &self.issuer).map_err(err)?;
        let key_pem = key.serialize_pem();
        Ok(CertAuthority {
            cert_pem: cert.pem(),
            key_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// Issues a leaf certificate with a new key. `sans` are DNS names or IP addresses.
    pub fn issue(
        &self,
        subject: &Subject,
        sans: &[String],
        usage: Usage,
        key_type: KeyType,
        validity: Validity,
    ) -> Result<IssuedCert, CommonError> {
        let key = KeyPair::generate_for(key_type.algorithm()).map_err(err)?;
        let (mut params, serial) = base_params(subject, validity, &key)?;
        leaf_params(&mut params, sans, usage)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(err)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            serial,
        })
    }

    /// Issues a leaf certificate for the key of a PKCS#10 request, whose
    /// signature is checked first (an error names a malformed or forged
    /// request). The subject, names, usage and validity are the CA's choice,
    /// not the request's; `extensions` are extra (OID arcs, DER content)
    /// pairs, such as Fabric CA's attribute extension. Returns the
    /// certificate (PEM) and its serial number. With no `sans`, the
    /// request's own subject alternative names are kept.
    pub fn issue_for_request(
        &self,
        csr_pem: &str,
        subject: &Subject,
        sans: &[String],
        usage: Usage,
        validity: Validity,
        extensions: &[(Vec<u64>, Vec<u8>)],
    ) -> Result<(String, Vec<u8>), CommonError> {
        let csr = rcgen::CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| CommonError::invalid("certificate signing request", e.to_string()))?;
        let raw = rcgen::PublicKeyData::der_bytes(&csr.public_key).to_vec();
        let (mut params, serial) = base_params_for(subject, validity, &raw)?;
        leaf_params(&mut params, sans, usage)?;
        if sans.is_empty() {
            params.subject_alt_names = csr.params.subject_alt_names.clone();
        }
        for (oid, content) in extensions {
            params
                .custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    oid,
                    content.clone(),
                ));
        }
        let cert = params
            .signed_by(&csr.public_key, &self.issuer)
            .map_err(err)?;
        Ok((cert.pem(), serial))
    }
}

/// Key usages, extended usages and subject alternative names of an issued certificate.
fn leaf_params(
    params: &mut CertificateParams,
    sans: &[String],
    usage: Usage,
) -> Result<(), CommonError> {
    params.is_ca = IsCa::ExplicitNoCa;
    match usage {
        Usage::Ca => {
            ca_params(params);
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        }
        Usage::Signing => params.key_usages = vec![KeyUsagePurpose::DigitalSignature],
        Usage::Tls => {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
        }
    }
    for san in sans {
        let entry = match san.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(san.clone().try_into().map_err(err)?),
        };
        params.subject_alt_names.push(entry);
    }
    Ok(())
}

impl CertAuthority {
    /// A CRL revoking the given serial numbers, valid for `days`.
    pub fn crl(
        &self,
        revoked_serials: &[Vec<u8>],
        crl_number: u64,
        days: i64,
    ) -> Result<String, CommonError> {
        let now = OffsetDateTime::now_utc();
        let params = CertificateRevocationListParams {
            this_update: now - time::Duration::minutes(5),
            next_update: now + time::Duration::days(days),
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point: None,
            revoked_certs: revoked_serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(s),
                    revocation_time: now - time::Duration::minutes(1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.issuer)
            .map_err(err)?
            .pem()
            .map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(cn: &str) -> (KeyPair, String) {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, cn);
        let csr = params.serialize_request(&key).unwrap().pem().unwrap();
        (key, csr)
    }

    #[test]
    fn a_request_is_certified_with_the_cas_subject_and_extensions() {
        let ca = CertAuthority::new_root(
            &Subject::fabric_style("org1.example.com", "ca.org1.example.com"),
            KeyType::EcdsaP256,
            Validity::days_from_now(30),
        )
        .unwrap();
        let (key, csr) = request("whatever-the-client-asked");
        let subject = Subject::fabric_style("org1.example.com", "user1").with_ou("client");
        let attrs = br#"{"attrs":{"role":"auditor"}}"#.to_vec();
        let (pem, serial) = ca
            .issue_for_request(
                &csr,
                &subject,
                &[],
                Usage::Signing,
                Validity::days_from_now(1),
                &[(vec![1, 2, 3, 4, 5, 6, 7, 8, 1], attrs.clone())],
            )
            .unwrap();
        let cert = crate::msp::Certificate::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(cert.common_name.as_deref(), Some("user1"));
        let der = ::pem::parse(&pem).unwrap();
        let (_, x) = x509_parser::parse_x509_certificate(der.contents()).unwrap();
        assert_eq!(x.raw_serial(), serial.as_slice());
        assert_eq!(
            x.public_key().subject_public_key.data.as_ref(),
            key.public_key_raw()
        );
        let ext = x
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.2.3.4.5.6.7.8.1")
            .expect("attribute extension");
        assert_eq!(ext.value, attrs.as_slice());
        assert!(
            x.verify_signature(Some(
                x509_parser::parse_x509_certificate(
                    ::pem::parse(ca.cert_pem()).unwrap().contents()
                )
                .unwrap()
                .1
                .public_key()
            ))
            .is_ok()
        );
    }

    #[test]
    fn a_forged_or_malformed_request_is_refused() {
        let ca = CertAuthority::new_root(
            &Subject::fabric_style("o", "ca"),
            KeyType::EcdsaP256,
            Validity::days_from_now(30),
        )
        .unwrap();
        let (_, csr) = request("x");
        let der = ::pem::parse(&csr).unwrap();
        let mut bytes = der.contents().to_vec();
        let at = bytes.len() - 10;
        bytes[at] ^= 0x40;
        let forged = ::pem::encode(&::pem::Pem::new("CERTIFICATE REQUEST", bytes));
        let subject = Subject::fabric_style("o", "x");
        for bad in [forged.as_str(), "not a request"] {
            let e = ca
                .issue_for_request(
                    bad,
                    &subject,
                    &[],
                    Usage::Signing,
                    Validity::days_from_now(1),
                    &[],
                )
                .unwrap_err();
            assert!(e.to_string().contains("certificate signing request"), "{e}");
        }
    }

    #[test]
    fn a_ca_request_becomes_a_path_length_zero_ca_and_request_sans_are_kept() {
        let root = CertAuthority::new_root(
            &Subject::fabric_style("o", "root"),
            KeyType::EcdsaP256,
            Validity::days_from_now(30),
        )
        .unwrap();
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(vec!["peer0.example.com".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "ica");
        let csr = params.serialize_request(&key).unwrap().pem().unwrap();
        let subject = Subject::fabric_style("o", "ica");
        let (pem, _) = root
            .issue_for_request(
                &csr,
                &subject,
                &[],
                Usage::Ca,
                Validity::days_from_now(1),
                &[],
            )
            .unwrap();
        let der = ::pem::parse(&pem).unwrap();
        let (_, x) = x509_parser::parse_x509_certificate(der.contents()).unwrap();
        let bc = x
            .basic_constraints()
            .unwrap()
            .expect("basic constraints")
            .value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let sans = x
            .subject_alternative_name()
            .unwrap()
            .expect("the request's SANs");
        assert_eq!(sans.value.general_names.len(), 1);
        // The issued CA certificate signs with the request's key.
        let ica = CertAuthority::from_pem(&pem, &key.serialize_pem()).unwrap();
        let leaf = ica
            .issue(
                &Subject::fabric_style("o", "leaf"),
                &["127.0.0.1".to_string()],
                Usage::Tls,
                KeyType::EcdsaP256,
                Validity::days_from_now(1),
            )
            .unwrap();
        let leaf_der = ::pem::parse(&leaf.cert_pem).unwrap();
        let (_, leaf_x) = x509_parser::parse_x509_certificate(leaf_der.contents()).unwrap();
        assert!(leaf_x.verify_signature(Some(x.public_key())).is_ok());
    }
}
