//! One organisation's MSP: its trust anchors and how it judges identities.

use std::collections::HashMap;
use std::sync::RwLock;

use weft_protos::msp::{FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};

use super::cert::{Certificate, RevocationList};
use super::identity::{Identity, ValidatedIdentity};
use super::principal::{MspRole, Principal};
use crate::CommonError;
use crate::crypto::sha256;
use crate::ids::MspId;

/// Why an MSP refused an identity. Each cause is distinct so that callers and
/// users can tell an expired certificate from a revoked one or a foreign one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The identity names a different MSP.
    #[error("identity belongs to MSP {claimed}, not {msp}")]
    WrongMsp {
        /// What the identity claims.
        claimed: MspId,
        /// The MSP asked.
        msp: MspId,
    },
    /// The certificate is a CA certificate.
    #[error("a CA certificate cannot be used as an identity")]
    CaCertificate,
    /// No chain leads from the certificate to one of the MSP's root CAs.
    #[error("certificate (issuer {issuer}) was not issued by any CA of this MSP")]
    UnknownIssuer {
        /// The certificate's issuer, for the message.
        issuer: String,
    },
    /// The certificate has expired.
    #[error("certificate expired at Unix time {not_after}")]
    Expired {
        /// End of validity.
        not_after: i64,
    },
    /// The certificate is not valid yet.
    #[error("certificate is not valid before Unix time {not_before}")]
    NotYetValid {
        /// Start of validity.
        not_before: i64,
    },
    /// A CRL of the MSP revokes the certificate (or a CA above it).
    #[error("certificate with serial {serial} is revoked by a CRL of this MSP")]
    Revoked {
        /// Hex serial number.
        serial: String,
    },
    /// NodeOUs are enabled and the certificate carries none of the role OUs.
    #[error(
        "identity has none of the NodeOU roles (client, peer, admin, orderer); its OUs are {ous:?}"
    )]
    NoRole {
        /// The identity's OUs.
        ous: Vec<String>,
    },
    /// NodeOUs are enabled and the certificate carries several role OUs.
    #[error("identity must have exactly one NodeOU role, but has {roles:?}")]
    MultipleRoles {
        /// The roles found.
        roles: Vec<String>,
    },
    /// A role OU is pinned to a CA that did not certify this identity.
    #[error(
        "OU {ou:?} is only valid for identities certified by a specific CA, and this one was not"
    )]
    WrongCertifier {
        /// The OU.
        ou: String,
    },
    /// The MSP accepts only listed OUs and the identity has none of them.
    #[error("identity is in none of the OUs this MSP accepts ({accepted:?})")]
    OuNotAccepted {
        /// The accepted OUs.
        accepted: Vec<String>,
    },
}

/// The four NodeOU roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A client application identity.
    Client,
    /// A peer node.
    Peer,
    /// An organisation admin.
    Admin,
    /// An orderer node.
    Orderer,
}

impl Role {
    /// The conventional OU name (`client`, `peer`, `admin`, `orderer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Peer => "peer",
            Role::Admin => "admin",
            Role::Orderer => "orderer",
        }
    }
}

/// An OU identifier, optionally pinned to the CA certificate that certifies it.
#[derive(Debug, Clone)]
pub struct OuIdentifier {
    /// The OU value.
    pub ou: String,
    /// The certifying CA, if pinned.
    pub certifier: Option<Certificate>,
}

/// NodeOU configuration: which OU marks each role.
#[derive(Debug, Clone, Default)]
pub struct NodeOus {
    /// Whether NodeOU classification is on.
    pub enabled: bool,
    /// OU of clients.
    pub client: Option<OuIdentifier>,
    /// OU of peers.
    pub peer: Option<OuIdentifier>,
    /// OU of admins.
    pub admin: Option<OuIdentifier>,
    /// OU of orderers.
    pub orderer: Option<OuIdentifier>,
}

impl NodeOus {
    fn by_role(&self) -> [(Role, Option<&OuIdentifier>); 4] {
        [
            (Role::Client, self.client.as_ref()),
            (Role::Peer, self.peer.as_ref()),
            (Role::Admin, self.admin.as_ref()),
            (Role::Orderer, self.orderer.as_ref()),
        ]
    }
}

/// What chain validation found, cached per certificate (time-independent facts only).
#[derive(Debug, Clone)]
struct ChainFacts {
    role: Option<Role>,
    is_admin: bool,
    certifiers_id: [u8; 32],
}

const CACHE_LIMIT: usize = 100_000;

/// One organisation's MSP.
#[derive(Debug)]
pub struct Msp {
    id: MspId,
    roots: Vec<Certificate>,
    intermediates: Vec<Certificate>,
    admins: Vec<Certificate>,
    crls: Vec<RevocationList>,
    node_ous: NodeOus,
    accepted_ous: Vec<OuIdentifier>,
    tls_roots: Vec<Vec<u8>>,
    tls_intermediates: Vec<Vec<u8>>,
    config: FabricMspConfig,
    cache: RwLock<HashMap<[u8; 32], Result<ChainFacts, IdentityError>>>,
}

fn parse_certs(what: &'static str, pems: &[Vec<u8>]) -> Result<Vec<Certificate>, CommonError> {
    pems.iter()
        .map(|p| Certificate::from_pem(p).map_err(|e| CommonError::Config(format!("{what}: {e}"))))
        .collect()
}

fn ou_identifier(id: &FabricOuIdentifier) -> Result<OuIdentifier, CommonError> {
    let certifier = if id.certificate.is_empty() {
        None
    } else {
        Some(Certificate::from_pem(&id.certificate)?)
    };
    Ok(OuIdentifier {
        ou: id.organizational_unit_identifier.clone(),
        certifier,
    })
}

impl Msp {
    /// Builds an MSP from its channel-config form, checking that it is coherent:
    /// at least one root CA, every CA certificate is a CA, intermediates chain to
    /// a root, and every CRL is signed by one of the MSP's CAs.
    pub fn from_config(config: &FabricMspConfig) -> Result<Self, CommonError> {
        let id = MspId::new(config.name.clone());
        let ctx = |e: CommonError| CommonError::Config(format!("MSP {id}: {e}"));
        if config.name.is_empty() {
            return Err(CommonError::Config(
                "MSP config without a name (MSP id)".into(),
            ));
        }
        if config.root_certs.is_empty() {
            return Err(ctx(CommonError::Config(
                "no root CA certificate (cacerts/ is empty)".into(),
            )));
        }
        let roots = parse_certs("root CA certificate", &config.root_certs).map_err(ctx)?;
        let intermediates =
            parse_certs("intermediate CA certificate", &config.intermediate_certs).map_err(ctx)?;
        let admins = parse_certs("admin certificate", &config.admins).map_err(ctx)?;
        for ca in roots.iter().chain(&intermediates) {
            if !ca.is_ca {
                return Err(ctx(CommonError::Config(format!(
                    "certificate {:?} in cacerts/intermediatecerts is not a CA certificate",
                    ca.common_name
                ))));
            }
        }
        let crls = config
            .revocation_list
            .iter()
            .map(|c| RevocationList::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ctx)?;
        let node_ous = match &config.fabric_node_ous {
            Some(n) => node_ous_from_proto(n).map_err(ctx)?,
            None => NodeOus::default(),
        };
        let accepted_ous = config
            .organizational_unit_identifiers
            .iter()
            .map(ou_identifier)
            .collect::<Result<Vec<_>, _>>()
            .map_err(ctx)?;
        let msp = Self {
            id: id.clone(),
            roots,
            intermediates,
            admins,
            crls,
            node_ous,
            accepted_ous,
            tls_roots: config.tls_root_certs.clone(),
            tls_intermediates: config.tls_intermediate_certs.clone(),
            config: config.clone(),
            cache: RwLock::new(HashMap::new()),
        };
        for int in &msp.intermediates {
            if msp.chain_to_root(int).is_none() {
                return Err(ctx(CommonError::Config(format!(
                    "intermediate CA {:?} does not chain to a root CA of the MSP",
                    int.common_name
                ))));
            }
        }
        for crl in &msp.crls {
            if !msp
                .roots
                .iter()
                .chain(&msp.intermediates)
                .any(|ca| crl.is_signed_by(ca))
            {
                return Err(ctx(CommonError::Config(
                    "a CRL is not signed by any CA of the MSP".into(),
                )));
            }
        }
        Ok(msp)
    }

    /// The MSP id.
    pub fn id(&self) -> &MspId {
        &self.id
    }

    /// The config this MSP was built from.
    pub fn config(&self) -> &FabricMspConfig {
        &self.config
    }

    /// NodeOU settings.
    pub fn node_ous(&self) -> &NodeOus {
        &self.node_ous
    }

    /// Root CA certificates.
    pub fn roots(&self) -> &[Certificate] {
        &self.roots
    }

    /// TLS root CA certificates (PEM).
    pub fn tls_roots(&self) -> &[Vec<u8>] {
        &self.tls_roots
    }

    /// TLS intermediate CA certificates (PEM).
    pub fn tls_intermediates(&self) -> &[Vec<u8>] {
        &self.tls_intermediates
    }

    /// The chain from `cert` (exclusive) up to a root (inclusive), if one exists.
    fn chain_to_root(&self, cert: &Certificate) -> Option<Vec<&Certificate>> {
        let mut chain = Vec::new();
        let mut current = cert;
        for _ in 0..8 {
            if let Some(root) = self.roots.iter().find(|r| current.is_issued_by(r)) {
                chain.push(root);
                return Some(chain);
            }
            let parent = self
                .intermediates
                .iter()
                .find(|i| *i != current && current.is_issued_by(i))?;
            chain.push(parent);
            current = parent;
        }
        None
    }

    fn is_revoked(&self, cert: &Certificate) -> bool {
        self.crls.iter().any(|crl| {
            crl.issuer_raw == cert.issuer_raw
                && crl.revoked_serials.iter().any(|s| s == &cert.serial)
        })
    }

    fn certified_by(chain: &[&Certificate], certifier: &Option<Certificate>) -> bool {
        match certifier {
            None => true,
            Some(ca) => chain.iter().any(|c| c.der == ca.der),
        }
    }

    fn chain_facts(&self, identity: &Identity) -> Result<ChainFacts, IdentityError> {
        let cert = identity.certificate();
        if cert.is_ca {
            return Err(IdentityError::CaCertificate);
        }
        let chain = self
            .chain_to_root(cert)
            .ok_or_else(|| IdentityError::UnknownIssuer {
                issuer: x509_parser::prelude::FromDer::from_der(&cert.der)
                    .map(|(_, c): (_, x509_parser::prelude::X509Certificate)| {
                        c.issuer().to_string()
                    })
                    .unwrap_or_else(|_| "?".into()),
            })?;
        for c in std::iter::once(cert).chain(chain.iter().copied()) {
            if self.is_revoked(c) {
                return Err(IdentityError::Revoked {
                    serial: hex::encode(&c.serial),
                });
            }
        }
        let mut certifiers = Vec::new();
        for c in &chain {
            certifiers.extend_from_slice(&c.der);
        }
        let certifiers_id = sha256(&certifiers);
        let ous = &cert.organizational_units;

        if !self.accepted_ous.is_empty()
            && !self
                .accepted_ous
                .iter()
                .any(|a| ous.contains(&a.ou) && Self::certified_by(&chain, &a.certifier))
        {
            return Err(IdentityError::OuNotAccepted {
                accepted: self.accepted_ous.iter().map(|a| a.ou.clone()).collect(),
            });
        }

        let mut role = None;
        if self.node_ous.enabled {
            let mut found = Vec::new();
            for (r, ou) in self.node_ous.by_role() {
                let Some(ou) = ou else { continue };
                if ous.contains(&ou.ou) {
                    if !Self::certified_by(&chain, &ou.certifier) {
                        return Err(IdentityError::WrongCertifier { ou: ou.ou.clone() });
                    }
                    found.push(r);
                }
            }
            match found.as_slice() {
                [] => return Err(IdentityError::NoRole { ous: ous.clone() }),
                [one] => role = Some(*one),
                many => {
                    return Err(IdentityError::MultipleRoles {
                        roles: many.iter().map(|r| r.as_str().to_string()).collect(),
                    });
                }
            }
        }
        let listed_admin = self.admins.iter().any(|a| a.der == cert.der);
        Ok(ChainFacts {
            role,
            is_admin: listed_admin || role == Some(Role::Admin),
            certifiers_id,
        })
    }

    /// Validates `identity` at Unix time `now`: right MSP, not a CA, chains to a
    /// root CA, not revoked, within its validity period, and (with NodeOUs) has
    /// exactly one role.
    pub fn validate(
        &self,
        identity: &Identity,
        now: i64,
    ) -> Result<ValidatedIdentity, IdentityError> {
        if identity.msp_id() != &self.id {
            return Err(IdentityError::WrongMsp {
                claimed: identity.msp_id().clone(),
                msp: self.id.clone(),
            });
        }
        let cert = identity.certificate();
        if now < cert.not_before {
            return Err(IdentityError::NotYetValid {
                not_before: cert.not_before,
            });
        }
        if now > cert.not_after {
            return Err(IdentityError::Expired {
                not_after: cert.not_after,
            });
        }
        let key = sha256(&cert.der);
        let cached = self
            .cache
            .read()
            .expect("MSP cache lock")
            .get(&key)
            .cloned();
        let facts = match cached {
            Some(f) => f,
            None => {
                let f = self.chain_facts(identity);
                let mut cache = self.cache.write().expect("MSP cache lock");
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
                cache.insert(key, f.clone());
                f
            }
        }?;
        Ok(ValidatedIdentity {
            identity: identity.clone(),
            role: facts.role,
            is_admin: facts.is_admin,
            certifiers_id: facts.certifiers_id,
        })
    }

    /// Whether a validated identity of this MSP satisfies `principal`.
    pub fn satisfies(&self, id: &ValidatedIdentity, principal: &Principal) -> bool {
        match principal {
            Principal::Role { msp, role } => {
                if msp != &self.id || id.identity.msp_id() != &self.id {
                    return false;
                }
                match role {
                    MspRole::Member => true,
                    MspRole::Admin => id.is_admin,
                    MspRole::Client => self.node_ous.enabled && id.role == Some(Role::Client),
                    MspRole::Peer => self.node_ous.enabled && id.role == Some(Role::Peer),
                    MspRole::Orderer => self.node_ous.enabled && id.role == Some(Role::Orderer),
                }
            }
            Principal::OrganizationUnit {
                msp,
                ou,
                certifiers_id,
            } => {
                msp == &self.id
                    && id.identity.certificate().organizational_units.contains(ou)
                    && (certifiers_id.is_empty() || certifiers_id.as_slice() == id.certifiers_id)
            }
            Principal::Identity(bytes) => match Identity::from_serialized(bytes) {
                Ok(p) => {
                    p.msp_id() == id.identity.msp_id()
                        && p.certificate().der == id.identity.certificate().der
                }
                Err(_) => false,
            },
            Principal::Anonymity { nominal } => *nominal,
            Principal::Combined(ps) => !ps.is_empty() && ps.iter().all(|p| self.satisfies(id, p)),
        }
    }
}

fn node_ous_from_proto(n: &FabricNodeOUs) -> Result<NodeOus, CommonError> {
    let opt = |o: &Option<FabricOuIdentifier>| o.as_ref().map(ou_identifier).transpose();
    Ok(NodeOus {
        enabled: n.enable,
        client: opt(&n.client_ou_identifier)?,
        peer: opt(&n.peer_ou_identifier)?,
        admin: opt(&n.admin_ou_identifier)?,
        orderer: opt(&n.orderer_ou_identifier)?,
    })
}
