//! Changes to a channel config as an operator names them ("add this org",
//! "set the batch timeout", "rotate this consenter's certificate"), applied
//! to a `common.Config` to give the config an update is then computed
//! against (see [`super::update::compute_update`]). Sans-IO: the config CLI
//! reads the files and the current config, this module only edits trees.
//!
//! Every edit checks what a node would later refuse or what would lock the
//! channel (an MSP that does not load, a batch size a cutter cannot use,
//! the last consenter removed), so a bad update is refused before any admin
//! signs it.

mod orderer;
mod orgs;
mod values;

use weft_protos::common::{Config, ConfigGroup};
use weft_protos::etcdraft::Consenter;
use weft_protos::protos::AnchorPeer;

use crate::CommonError;
use crate::policy::PolicyDef;

/// Which part of the channel an organisation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `/Channel/Application`: peer organisations.
    Application,
    /// `/Channel/Orderer`: ordering organisations.
    Orderer,
}

impl Section {
    /// The group's name in the config tree.
    pub fn group_name(self) -> &'static str {
        match self {
            Section::Application => super::keys::APPLICATION,
            Section::Orderer => super::keys::ORDERER,
        }
    }
}

/// The group whose capabilities an edit sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapabilityLevel {
    /// `/Channel`.
    Channel,
    /// `/Channel/Orderer`.
    Orderer,
    /// `/Channel/Application`.
    Application,
}

/// New batch settings; `None` keeps the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchChange {
    /// Batch timeout, as a Go duration (`2s`, `250ms`).
    pub timeout: Option<String>,
    /// Most envelopes in a block.
    pub max_message_count: Option<u32>,
    /// Largest block, in bytes.
    pub absolute_max_bytes: Option<u32>,
    /// Preferred block size, in bytes.
    pub preferred_max_bytes: Option<u32>,
}

/// One change to a channel config.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Adds an organisation's group (as `configtxgen -printOrg` prints it).
    AddOrg {
        /// Where it goes.
        section: Section,
        /// Its group name (Fabric names it after the org, often its MSP id).
        name: String,
        /// The group: MSP, policies, anchor peers or endpoints.
        group: ConfigGroup,
    },
    /// Removes an organisation (by group name or MSP id) from a section.
    RemoveOrg {
        /// The section.
        section: Section,
        /// Group name or MSP id.
        org: String,
    },
    /// Replaces an application org's anchor peers (none removes the value).
    SetAnchorPeers {
        /// Group name or MSP id.
        org: String,
        /// The new anchor peers.
        peers: Vec<AnchorPeer>,
    },
    /// Changes the orderer's batch settings.
    SetBatch(BatchChange),
    /// Sets (or adds) the policy at a path such as
    /// `/Channel/Application/Endorsement` or `Application/Org1MSP/Admins`.
    SetPolicy {
        /// The policy's path.
        path: String,
        /// The new rule.
        policy: PolicyDef,
    },
    /// Points an application resource (`peer/Propose`, `qscc/GetBlockByNumber`…)
    /// at a policy; an empty `policy_ref` removes the entry (the default applies).
    SetAcl {
        /// The resource.
        resource: String,
        /// The policy path (`/Channel/Application/Writers`).
        policy_ref: String,
    },
    /// Replaces a group's capabilities.
    SetCapabilities {
        /// The group.
        level: CapabilityLevel,
        /// The capabilities to have (`V2_0`, `V2_5`…).
        names: Vec<String>,
    },
    /// Adds a Raft consenter.
    AddConsenter(Consenter),
    /// Removes the Raft consenter at `host:port`.
    RemoveConsenter {
        /// Its host.
        host: String,
        /// Its cluster port.
        port: u32,
    },
    /// Gives the consenter at `host:port` new TLS certificates, in place: the
    /// same Raft member, so quorum never changes.
    RotateConsenterCert {
        /// Its host.
        host: String,
        /// Its cluster port.
        port: u32,
        /// The new client TLS certificate (PEM).
        client_tls_cert: Vec<u8>,
        /// The new server TLS certificate (PEM).
        server_tls_cert: Vec<u8>,
    },
    /// Replaces an orderer org's endpoints (`host:port`).
    SetOrdererEndpoints {
        /// Group name or MSP id.
        org: String,
        /// The endpoints.
        endpoints: Vec<String>,
    },
    /// Adds a CA root (or, with `tls`, a TLS CA root) to an org's MSP,
    /// everywhere the org is: the first step of renewing a CA.
    AddRootCert {
        /// The org's MSP id.
        msp_id: String,
        /// The CA certificate (PEM).
        cert_pem: Vec<u8>,
        /// A TLS root rather than an identity root.
        tls: bool,
    },
    /// Removes a CA root (or TLS CA root) from an org's MSP, once nothing it
    /// issued is in use; the last one is kept.
    RemoveRootCert {
        /// The org's MSP id.
        msp_id: String,
        /// The CA certificate (PEM) to remove.
        cert_pem: Vec<u8>,
        /// A TLS root rather than an identity root.
        tls: bool,
    },
    /// Adds a CRL to an org's MSP (everywhere the org is), replacing an
    /// earlier CRL of the same issuer.
    AddCrl {
        /// The org's MSP id.
        msp_id: String,
        /// The CRL (PEM).
        crl_pem: Vec<u8>,
    },
}

/// The MSP id of an organisation's group (from its MSP value).
pub fn msp_id_of(group: &ConfigGroup) -> Option<String> {
    orgs::fabric_msp(group).map(|m| m.name)
}

/// An edit that cannot be made, with the reason.
pub(crate) fn refused(reason: impl Into<String>) -> CommonError {
    CommonError::ConfigEdit(reason.into())
}

/// `config` with `edit` made. The versions are untouched:
/// [`super::update::compute_update`] sets them.
pub fn apply(config: &Config, edit: &Edit) -> Result<Config, CommonError> {
    let mut updated = config.clone();
    let root = updated
        .channel_group
        .as_mut()
        .ok_or_else(|| refused("the config has no channel group"))?;
    match edit {
        Edit::AddOrg {
            section,
            name,
            group,
        } => orgs::add(root, *section, name, group)?,
        Edit::RemoveOrg { section, org } => orgs::remove(root, *section, org)?,
        Edit::SetAnchorPeers { org, peers } => orgs::set_anchor_peers(root, org, peers)?,
        Edit::SetOrdererEndpoints { org, endpoints } => {
            orgs::set_orderer_endpoints(root, org, endpoints)?
        }
        Edit::AddCrl { msp_id, crl_pem } => orgs::add_crl(root, msp_id, crl_pem)?,
        Edit::AddRootCert {
            msp_id,
            cert_pem,
            tls,
        } => orgs::change_roots(root, msp_id, cert_pem, *tls, true)?,
        Edit::RemoveRootCert {
            msp_id,
            cert_pem,
            tls,
        } => orgs::change_roots(root, msp_id, cert_pem, *tls, false)?,
        Edit::SetBatch(change) => orderer::set_batch(root, change)?,
        Edit::AddConsenter(c) => orderer::add_consenter(root, c)?,
        Edit::RemoveConsenter { host, port } => orderer::remove_consenter(root, host, *port)?,
        Edit::RotateConsenterCert {
            host,
            port,
            client_tls_cert,
            server_tls_cert,
        } => orderer::rotate_consenter(root, host, *port, client_tls_cert, server_tls_cert)?,
        Edit::SetPolicy { path, policy } => values::set_policy(root, path, policy)?,
        Edit::SetAcl {
            resource,
            policy_ref,
        } => values::set_acl(root, resource, policy_ref)?,
        Edit::SetCapabilities { level, names } => values::set_capabilities(root, *level, names)?,
    }
    Ok(updated)
}

/// The child group `name` of `root`, or an error naming what is missing.
pub(crate) fn child_mut<'a>(
    root: &'a mut ConfigGroup,
    name: &str,
) -> Result<&'a mut ConfigGroup, CommonError> {
    root.groups
        .get_mut(name)
        .ok_or_else(|| refused(format!("the channel has no {name} group")))
}

#[cfg(test)]
mod tests;
