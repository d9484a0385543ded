//! Key-level endorsement policies, as Fabric's `pkg/statebased` builds them:
//! a set of organisations, each with a role, all of which must endorse a
//! write to the key.
//!
//! ```
//! use weft_chaincode_sdk::statebased::{KeyEndorsementPolicy, RoleType};
//!
//! let mut ep = KeyEndorsementPolicy::new();
//! ep.add_orgs(RoleType::Peer, ["Org2MSP"]);
//! let bytes = ep.policy();
//! // ctx.set_state_validation_parameter("asset1", &bytes)?;
//! let back = KeyEndorsementPolicy::from_policy(&bytes).unwrap();
//! assert_eq!(back.list_orgs(), ["Org2MSP"]);
//! ```
//!
//! The bytes are a serialised `common.SignaturePolicyEnvelope`: an
//! `NOutOf(n = number of orgs)` of one `SignedBy` per org, each identity an
//! `MSPRole`. Orgs are ordered by MSP id, so that every endorser of a
//! transaction writes the same bytes (Fabric iterates a Go map here).

use std::collections::BTreeMap;
use std::fmt;

/// The role an organisation's endorser must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleType {
    /// Any member of the org (`MSPRole.MEMBER`).
    Member,
    /// A peer of the org (`MSPRole.PEER`).
    Peer,
}

impl RoleType {
    fn proto(self) -> u64 {
        match self {
            Self::Member => 0,
            Self::Peer => 3,
        }
    }

    fn from_proto(v: u64) -> Option<Self> {
        match v {
            0 => Some(Self::Member),
            3 => Some(Self::Peer),
            _ => None,
        }
    }
}

/// Why bytes are not a policy this module reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyParseError(&'static str);

impl fmt::Display for PolicyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a key-level endorsement policy: {}", self.0)
    }
}

impl std::error::Error for PolicyParseError {}

/// A key's endorsement policy under construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyEndorsementPolicy {
    orgs: BTreeMap<String, RoleType>,
}

impl KeyEndorsementPolicy {
    /// A policy with no organisations.
    pub fn new() -> Self {
        Self::default()
    }

    /// The organisations of a policy built by [`Self::policy`] (or by
    /// Fabric's `statebased` package): only role principals of member or
    /// peer role are understood, as in Fabric.
    pub fn from_policy(bytes: &[u8]) -> Result<Self, PolicyParseError> {
        let mut orgs = BTreeMap::new();
        for (field, value) in fields(bytes)? {
            if field != 3 {
                continue;
            }
            let Value::Bytes(principal) = value else {
                return Err(PolicyParseError("an identity is not a message"));
            };
            let mut classification = 0;
            let mut role_bytes: &[u8] = &[];
            for (f, v) in fields(principal)? {
                match (f, v) {
                    (1, Value::Varint(c)) => classification = c,
                    (2, Value::Bytes(b)) => role_bytes = b,
                    _ => {}
                }
            }
            if classification != 0 {
                return Err(PolicyParseError("an identity is not an MSP role"));
            }
            let (mut msp, mut role) = (None, 0);
            for (f, v) in fields(role_bytes)? {
                match (f, v) {
                    (1, Value::Bytes(b)) => {
                        msp = Some(
                            std::str::from_utf8(b)
                                .map_err(|_| PolicyParseError("an MSP id is not UTF-8"))?
                                .to_string(),
                        )
                    }
                    (2, Value::Varint(r)) => role = r,
                    _ => {}
                }
            }
            let msp = msp.ok_or(PolicyParseError("a role names no MSP"))?;
            let role = RoleType::from_proto(role)
                .ok_or(PolicyParseError("a role is not member or peer"))?;
            orgs.insert(msp, role);
        }
        Ok(Self { orgs })
    }

    /// Requires an endorsement of `role` from each of `orgs` (an org already
    /// present gets the new role).
    pub fn add_orgs<I, S>(&mut self, role: RoleType, orgs: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for org in orgs {
            self.orgs.insert(org.into(), role);
        }
    }

    /// No longer requires `orgs`.
    pub fn del_orgs<I, S>(&mut self, orgs: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for org in orgs {
            self.orgs.remove(org.as_ref());
        }
    }

    /// The organisations required, by MSP id.
    pub fn list_orgs(&self) -> Vec<&str> {
        self.orgs.keys().map(String::as_str).collect()
    }

    /// The policy's bytes, for `set_state_validation_parameter`.
    pub fn policy(&self) -> Vec<u8> {
        let mut identities = Vec::new();
        let mut rules = Vec::new();
        for (i, (msp, role)) in self.orgs.iter().enumerate() {
            let mut msp_role = Vec::new();
            put_bytes(&mut msp_role, 1, msp.as_bytes());
            put_varint_field(&mut msp_role, 2, role.proto());
            let mut principal = Vec::new();
            // principal_classification ROLE is 0, the default: not written.
            put_bytes(&mut principal, 2, &msp_role);
            put_bytes(&mut identities, 3, &principal);
            // SignaturePolicy { signed_by: i } (a oneof: written even when 0).
            let mut signed_by = Vec::new();
            put_varint_field(&mut signed_by, 1, i as u64);
            put_bytes(&mut rules, 2, &signed_by);
        }
        let mut n_out_of = Vec::new();
        if !self.orgs.is_empty() {
            put_varint_field(&mut n_out_of, 1, self.orgs.len() as u64);
        }
        n_out_of.extend_from_slice(&rules);
        let mut rule = Vec::new();
        put_bytes(&mut rule, 2, &n_out_of);
        let mut envelope = Vec::new();
        // version 0: not written.
        put_bytes(&mut envelope, 2, &rule);
        envelope.extend_from_slice(&identities);
        envelope
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint_field(out: &mut Vec<u8>, field: u64, v: u64) {
    put_varint(out, field << 3);
    put_varint(out, v);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &mut &[u8]) -> Result<u64, PolicyParseError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b
            .split_first()
            .ok_or(PolicyParseError("truncated varint"))?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(PolicyParseError("varint too long"))
}

/// The top-level fields of a protobuf message (varints and length-delimited).
fn fields(mut b: &[u8]) -> Result<Vec<(u64, Value<'_>)>, PolicyParseError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let tag = varint(&mut b)?;
        let value = match tag & 7 {
            0 => Value::Varint(varint(&mut b)?),
            2 => {
                let len = usize::try_from(varint(&mut b)?)
                    .map_err(|_| PolicyParseError("length too large"))?;
                if len > b.len() {
                    return Err(PolicyParseError("truncated field"));
                }
                let (v, rest) = b.split_at(len);
                b = rest;
                Value::Bytes(v)
            }
            _ => return Err(PolicyParseError("unexpected wire type")),
        };
        out.push((tag >> 3, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orgs_are_added_replaced_removed_and_read_back() {
        let mut ep = KeyEndorsementPolicy::new();
        ep.add_orgs(RoleType::Peer, ["Org2MSP", "Org1MSP"]);
        ep.add_orgs(RoleType::Member, ["Org3MSP"]);
        ep.del_orgs(["Org2MSP"]);
        assert_eq!(ep.list_orgs(), ["Org1MSP", "Org3MSP"]);
        let back = KeyEndorsementPolicy::from_policy(&ep.policy()).unwrap();
        assert_eq!(back, ep);
        assert_eq!(
            KeyEndorsementPolicy::from_policy(&[])
                .unwrap()
                .list_orgs()
                .len(),
            0
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert!(KeyEndorsementPolicy::from_policy(b"\xff\xff\xff").is_err());
        assert!(KeyEndorsementPolicy::from_policy(&[0x1a, 0x05, 0x01]).is_err());
    }
}
