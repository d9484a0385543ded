//! TLS for every weft listener and client: rustls with the `ring` provider,
//! server or mutual authentication, and ALPN `h2` for gRPC.
//!
//! Servers check client certificates with a [`DynamicClientVerifier`], in one
//! of Fabric's two modes: `clientAuthRequired: true` verifies them against
//! roots that can change at run time (an orderer or peer learns the TLS CAs of
//! the organisations of each channel it joins); `false`, Fabric's default,
//! asks for a certificate but neither requires nor verifies it (Go's
//! `tls.RequestClientCert`), so services that identify a caller by its
//! certificate (the orderers' cluster service) still see the one presented.

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use crate::CommonError;

/// A TLS certificate chain and its private key.
#[derive(Clone)]
pub struct TlsIdentity {
    /// Certificate chain, leaf first (DER).
    pub certs: Vec<CertificateDer<'static>>,
    /// The key.
    pub key: Arc<PrivateKeyDer<'static>>,
    /// The leaf certificate as PEM (what channel configs list for consenters).
    pub cert_pem: Vec<u8>,
    /// The key as PEM.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsIdentity({} certs)", self.certs.len())
    }
}

fn tls_err(what: &'static str, path: &Path, reason: impl std::fmt::Display) -> CommonError {
    CommonError::Load {
        what,
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Parses PEM certificates.
pub fn parse_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CommonError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CommonError::invalid("PEM certificates", e.to_string()))?;
    if certs.is_empty() {
        return Err(CommonError::invalid(
            "PEM certificates",
            "no CERTIFICATE block",
        ));
    }
    Ok(certs)
}

impl TlsIdentity {
    /// From PEM bytes.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, CommonError> {
        let certs = parse_certs(cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                CommonError::Key("no private key in PEM".into())
            }
            other => CommonError::Key(other.to_string()),
        })?;
        Ok(Self {
            certs,
            key: Arc::new(key),
            cert_pem: cert_pem.to_vec(),
            key_pem: key_pem.to_vec(),
        })
    }

    /// SHA-256 of the leaf certificate's DER: what Fabric binds a Deliver
    /// request to (`tls_cert_hash`) under mutual TLS.
    pub fn cert_hash(&self) -> Vec<u8> {
        crate::crypto::sha256(self.certs[0].as_ref()).to_vec()
    }

    /// From a certificate file and a key file (e.g. `tls/server.crt`, `tls/server.key`).
    pub fn load(cert: &Path, key: &Path) -> Result<Self, CommonError> {
        let cert_pem = std::fs::read(cert).map_err(|e| tls_err("TLS certificate", cert, e))?;
        let key_pem = std::fs::read(key).map_err(|e| tls_err("TLS key", key, e))?;
        Self::from_pem(&cert_pem, &key_pem).map_err(|e| tls_err("TLS identity", cert, e))
    }
}

/// The crypto provider weft uses everywhere (ring).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn root_store(roots_pem: &[Vec<u8>]) -> Result<RootCertStore, CommonError> {
    let mut store = RootCertStore::empty();
    for pem in roots_pem {
        for cert in parse_certs(pem)? {
            store
                .add(cert)
                .map_err(|e| CommonError::invalid("TLS root certificate", e.to_string()))?;
        }
    }
    Ok(store)
}

/// A client-certificate verifier whose trusted roots can be replaced while
/// servers run. When client authentication is required, a client must
/// present a certificate chaining to a trusted root (with no roots every
/// client is refused); otherwise any certificate, or none, is accepted —
/// the TLS handshake still proves the client holds the key of the one it
/// presents.
#[derive(Debug)]
pub struct DynamicClientVerifier {
    provider: Arc<CryptoProvider>,
    required: bool,
    inner: RwLock<Option<Arc<dyn ClientCertVerifier>>>,
}

impl DynamicClientVerifier {
    /// A verifier requiring certificates from `roots_pem` (Fabric's
    /// `clientAuthRequired: true`).
    pub fn new(roots_pem: &[Vec<u8>]) -> Result<Arc<Self>, CommonError> {
        Self::with_mode(roots_pem, true)
    }

    /// A verifier that asks for a certificate but neither requires nor
    /// verifies it (Fabric's `clientAuthRequired: false`).
    pub fn requesting() -> Arc<Self> {
        Arc::new(Self {
            provider: provider(),
            required: false,
            inner: RwLock::new(None),
        })
    }

    /// [`Self::new`] when `required`, else [`Self::requesting`] (roots are
    /// kept, and apply if the mode is ever required).
    pub fn with_mode(roots_pem: &[Vec<u8>], required: bool) -> Result<Arc<Self>, CommonError> {
        let v = Arc::new(Self {
            provider: provider(),
            required,
            inner: RwLock::new(None),
        });
        v.set_roots(roots_pem)?;
        Ok(v)
    }

    /// Whether clients must present a verified certificate.
    pub fn required(&self) -> bool {
        self.required
    }

    /// Whether `chain` (DER, leaf first) chains to a trusted root now, whatever
    /// the handshake's mode: what a resource that needs an authenticated
    /// client checks when the handshake let any certificate through.
    pub fn verifies(&self, chain: &[Vec<u8>]) -> bool {
        let Some((leaf, rest)) = chain.split_first() else {
            return false;
        };
        let inner = self.inner.read().expect("verifier lock");
        let Some(verifier) = inner.as_ref() else {
            return false;
        };
        let rest: Vec<CertificateDer<'_>> = rest
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        verifier
            .verify_client_cert(
                &CertificateDer::from(leaf.as_slice()),
                &rest,
                UnixTime::now(),
            )
            .is_ok()
    }

    /// Replaces the trusted roots.
    pub fn set_roots(&self, roots_pem: &[Vec<u8>]) -> Result<(), CommonError> {
        let store = root_store(roots_pem)?;
        let verifier = if store.is_empty() {
            None
        } else {
            Some(
                WebPkiClientVerifier::builder_with_provider(Arc::new(store), self.provider.clone())
                    .build()
                    .map_err(|e| CommonError::invalid("TLS client roots", e.to_string()))?,
            )
        };
        *self.inner.write().expect("verifier lock") = verifier;
        Ok(())
    }
}

impl ClientCertVerifier for DynamicClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.required
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if !self.required {
            // Fabric's RequestClientCert: whatever is presented is accepted
            // unverified (the handshake signature is still checked below).
            return Ok(ClientCertVerified::assertion());
        }
        match self.inner.read().expect("verifier lock").as_ref() {
            Some(v) => v.verify_client_cert(end_entity, intermediates, now),
            None => Err(rustls::Error::General(
                "no trusted client CAs are configured yet".into(),
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A server config checking client certificates with `verifier`, offering `alpn`.
pub fn server_config(
    identity: &TlsIdentity,
    verifier: Arc<DynamicClientVerifier>,
    alpn: &[&[u8]],
) -> Result<rustls::ServerConfig, CommonError> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| CommonError::invalid("TLS server config", e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.certs.clone(), identity.key.clone_key())
        .map_err(|e| CommonError::invalid("TLS server certificate", e.to_string()))?;
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(cfg)
}

/// A server config that authenticates only the server (clients present no
/// certificate), offering `alpn`: what HTTPS APIs such as the CA's use.
pub fn server_config_server_auth(
    identity: &TlsIdentity,
    alpn: &[&[u8]],
) -> Result<rustls::ServerConfig, CommonError> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| CommonError::invalid("TLS server config", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(identity.certs.clone(), identity.key.clone_key())
        .map_err(|e| CommonError::invalid("TLS server certificate", e.to_string()))?;
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(cfg)
}

/// A client config trusting `roots_pem` and presenting `identity`.
pub fn client_config(
    identity: &TlsIdentity,
    roots_pem: &[Vec<u8>],
    alpn: &[&[u8]],
) -> Result<rustls::ClientConfig, CommonError> {
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| CommonError::invalid("TLS client config", e.to_string()))?
        .with_root_certificates(root_store(roots_pem)?)
        .with_client_auth_cert(identity.certs.clone(), identity.key.clone_key())
        .map_err(|e| CommonError::invalid("TLS client certificate", e.to_string()))?;
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CertAuthority, KeyType, Subject, Usage, Validity};

    fn ca(name: &str) -> CertAuthority {
        CertAuthority::new_root(
            &Subject::fabric_style(name, &format!("tlsca.{name}")),
            KeyType::EcdsaP256,
            Validity::days_from_now(30),
        )
        .unwrap()
    }

    fn identity(ca: &CertAuthority, cn: &str) -> TlsIdentity {
        let issued = ca
            .issue(
                &Subject::fabric_style("x", cn),
                &["localhost".into(), "127.0.0.1".into()],
                Usage::Tls,
                KeyType::EcdsaP256,
                Validity::days_from_now(30),
            )
            .unwrap();
        TlsIdentity::from_pem(issued.cert_pem.as_bytes(), issued.key_pem.as_bytes()).unwrap()
    }

    /// Runs a handshake over in-memory buffers; returns whether both sides finished.
    fn handshake(
        server: rustls::ServerConfig,
        client: rustls::ClientConfig,
    ) -> Result<(), rustls::Error> {
        let mut s = rustls::ServerConnection::new(Arc::new(server))?;
        let mut c =
            rustls::ClientConnection::new(Arc::new(client), "localhost".try_into().unwrap())?;
        for _ in 0..20 {
            let mut buf = Vec::new();
            c.write_tls(&mut buf).unwrap();
            s.read_tls(&mut buf.as_slice()).unwrap();
            s.process_new_packets()?;
            let mut buf = Vec::new();
            s.write_tls(&mut buf).unwrap();
            c.read_tls(&mut buf.as_slice()).unwrap();
            c.process_new_packets()?;
            if !s.is_handshaking() && !c.is_handshaking() {
                return Ok(());
            }
        }
        Err(rustls::Error::General("handshake did not finish".into()))
    }

    #[test]
    fn mutual_tls_checks_client_roots_that_can_change() {
        let (ca1, ca2) = (ca("org1"), ca("org2"));
        let server_id = identity(&ca1, "orderer");
        let verifier = DynamicClientVerifier::new(&[ca1.cert_pem().as_bytes().to_vec()]).unwrap();
        let server = || server_config(&server_id, verifier.clone(), &[b"h2"]).unwrap();
        let roots = vec![ca1.cert_pem().as_bytes().to_vec()];

        let trusted = client_config(&identity(&ca1, "peer0"), &roots, &[b"h2"]).unwrap();
        handshake(server(), trusted).unwrap();

        let stranger = client_config(&identity(&ca2, "peer0.org2"), &roots, &[b"h2"]).unwrap();
        assert!(
            handshake(server(), stranger.clone()).is_err(),
            "a client of an unknown CA is refused"
        );

        verifier
            .set_roots(&[
                ca1.cert_pem().as_bytes().to_vec(),
                ca2.cert_pem().as_bytes().to_vec(),
            ])
            .unwrap();
        handshake(server(), stranger).unwrap();

        verifier.set_roots(&[]).unwrap();
        let trusted = client_config(&identity(&ca1, "peer1"), &roots, &[b"h2"]).unwrap();
        assert!(
            handshake(server(), trusted).is_err(),
            "no roots, no clients"
        );
    }

    #[test]
    fn fabrics_default_asks_for_a_certificate_but_neither_requires_nor_verifies_it() {
        let (ca1, stranger_ca) = (ca("org1"), ca("elsewhere"));
        let server_id = identity(&ca1, "peer0");
        let verifier =
            DynamicClientVerifier::with_mode(&[ca1.cert_pem().as_bytes().to_vec()], false).unwrap();
        assert!(!verifier.required());
        let server = || server_config(&server_id, verifier.clone(), &[b"h2"]).unwrap();
        let roots = vec![ca1.cert_pem().as_bytes().to_vec()];

        // No certificate at all (Fabric's sample applications, the peer CLI).
        let mut no_cert = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(root_store(&roots).unwrap())
            .with_no_client_auth();
        no_cert.alpn_protocols = vec![b"h2".to_vec()];
        handshake(server(), no_cert).unwrap();

        // A certificate from a CA nobody trusts (fabric-network 2.2's self-signed one).
        let stranger =
            client_config(&identity(&stranger_ca, "fabric-common"), &roots, &[b"h2"]).unwrap();
        handshake(server(), stranger.clone()).unwrap();

        // The same client against a server that requires client authentication.
        let strict = DynamicClientVerifier::new(&[ca1.cert_pem().as_bytes().to_vec()]).unwrap();
        assert!(
            handshake(
                server_config(&server_id, strict, &[b"h2"]).unwrap(),
                stranger
            )
            .is_err()
        );
    }
}
