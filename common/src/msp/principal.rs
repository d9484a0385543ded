//! Policy principals: what a signer must be for a rule to count it.

use std::fmt;

use prost::Message;
use weft_protos::common::{MspPrincipal, msp_principal::Classification, msp_role::MspRoleType};

use crate::CommonError;
use crate::error::decode;
use crate::ids::MspId;

/// A role within an MSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MspRole {
    /// Any valid identity of the MSP.
    Member,
    /// An admin of the MSP.
    Admin,
    /// An identity with the client NodeOU.
    Client,
    /// An identity with the peer NodeOU.
    Peer,
    /// An identity with the orderer NodeOU.
    Orderer,
}

impl MspRole {
    /// The lowercase name used in policy text (`'Org1MSP.peer'`).
    pub fn as_str(self) -> &'static str {
        match self {
            MspRole::Member => "member",
            MspRole::Admin => "admin",
            MspRole::Client => "client",
            MspRole::Peer => "peer",
            MspRole::Orderer => "orderer",
        }
    }

    /// Parses a role name as policy text writes it.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "member" => MspRole::Member,
            "admin" => MspRole::Admin,
            "client" => MspRole::Client,
            "peer" => MspRole::Peer,
            "orderer" => MspRole::Orderer,
            _ => return None,
        })
    }

    fn to_proto(self) -> MspRoleType {
        match self {
            MspRole::Member => MspRoleType::Member,
            MspRole::Admin => MspRoleType::Admin,
            MspRole::Client => MspRoleType::Client,
            MspRole::Peer => MspRoleType::Peer,
            MspRole::Orderer => MspRoleType::Orderer,
        }
    }

    fn from_proto(t: MspRoleType) -> Self {
        match t {
            MspRoleType::Member => MspRole::Member,
            MspRoleType::Admin => MspRole::Admin,
            MspRoleType::Client => MspRole::Client,
            MspRoleType::Peer => MspRole::Peer,
            MspRoleType::Orderer => MspRole::Orderer,
        }
    }
}

/// A principal of a signature policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A role in an MSP.
    Role {
        /// The MSP.
        msp: MspId,
        /// The role.
        role: MspRole,
    },
    /// Members of an OU of an MSP.
    OrganizationUnit {
        /// The MSP.
        msp: MspId,
        /// The OU name.
        ou: String,
        /// SHA-256 of the certifying CA chain; empty matches any.
        certifiers_id: Vec<u8>,
    },
    /// Exactly one identity (its serialized bytes).
    Identity(Vec<u8>),
    /// Nominal (true) or anonymous (false) identities.
    Anonymity {
        /// Whether the principal requires a nominal identity.
        nominal: bool,
    },
    /// All of several principals.
    Combined(Vec<Principal>),
}

impl Principal {
    /// Shorthand for a role principal.
    pub fn role(msp: impl Into<MspId>, role: MspRole) -> Self {
        Principal::Role {
            msp: msp.into(),
            role,
        }
    }

    /// Decodes a wire principal.
    pub fn from_proto(p: &MspPrincipal) -> Result<Self, CommonError> {
        use weft_protos::common::{
            CombinedPrincipal, MspIdentityAnonymity, MspRole as PMspRole, OrganizationUnit,
        };
        let class = Classification::try_from(p.principal_classification).map_err(|_| {
            CommonError::invalid(
                "MSP principal",
                format!("unknown classification {}", p.principal_classification),
            )
        })?;
        Ok(match class {
            Classification::Role => {
                let r: PMspRole = decode("MSP role principal", &p.principal)?;
                let role = MspRoleType::try_from(r.role).map_err(|_| {
                    CommonError::invalid("MSP role principal", format!("unknown role {}", r.role))
                })?;
                Principal::Role {
                    msp: MspId::new(r.msp_identifier),
                    role: MspRole::from_proto(role),
                }
            }
            Classification::OrganizationUnit => {
                let ou: OrganizationUnit = decode("OU principal", &p.principal)?;
                Principal::OrganizationUnit {
                    msp: MspId::new(ou.msp_identifier),
                    ou: ou.organizational_unit_identifier,
                    certifiers_id: ou.certifiers_identifier,
                }
            }
            Classification::Identity => Principal::Identity(p.principal.clone()),
            Classification::Anonymity => {
                let a: MspIdentityAnonymity = decode("anonymity principal", &p.principal)?;
                Principal::Anonymity {
                    nominal: a.anonymity_type == 0,
                }
            }
            Classification::Combined => {
                let c: CombinedPrincipal = decode("combined principal", &p.principal)?;
                Principal::Combined(
                    c.principals
                        .iter()
                        .map(Principal::from_proto)
                        .collect::<Result<_, _>>()?,
                )
            }
        })
    }

    /// Encodes to the wire principal.
    pub fn to_proto(&self) -> MspPrincipal {
        use weft_protos::common::{
            CombinedPrincipal, MspIdentityAnonymity, MspRole as PMspRole, OrganizationUnit,
        };
        let (class, body) = match self {
            Principal::Role { msp, role } => (
                Classification::Role,
                PMspRole {
                    msp_identifier: msp.to_string(),
                    role: role.to_proto() as i32,
                }
                .encode_to_vec(),
            ),
            Principal::OrganizationUnit {
                msp,
                ou,
                certifiers_id,
            } => (
                Classification::OrganizationUnit,
                OrganizationUnit {
                    msp_identifier: msp.to_string(),
                    organizational_unit_identifier: ou.clone(),
                    certifiers_identifier: certifiers_id.clone(),
                }
                .encode_to_vec(),
            ),
            Principal::Identity(bytes) => (Classification::Identity, bytes.clone()),
            Principal::Anonymity { nominal } => (
                Classification::Anonymity,
                MspIdentityAnonymity {
                    anonymity_type: if *nominal { 0 } else { 1 },
                }
                .encode_to_vec(),
            ),
            Principal::Combined(ps) => (
                Classification::Combined,
                CombinedPrincipal {
                    principals: ps.iter().map(Principal::to_proto).collect(),
                }
                .encode_to_vec(),
            ),
        };
        MspPrincipal {
            principal_classification: class as i32,
            principal: body,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Role { msp, role } => write!(f, "'{msp}.{}'", role.as_str()),
            Principal::OrganizationUnit { msp, ou, .. } => write!(f, "OU '{msp}.{ou}'"),
            Principal::Identity(_) => write!(f, "a specific identity"),
            Principal::Anonymity { nominal } => write!(
                f,
                "{} identity",
                if *nominal { "nominal" } else { "anonymous" }
            ),
            Principal::Combined(ps) => {
                write!(f, "all of [")?;
                for (i, p) in ps.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{p}")?;
                }
                write!(f, "]")
            }
        }
    }
}
