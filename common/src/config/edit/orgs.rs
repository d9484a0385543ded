//! Organisations: adding and removing them, their anchor peers, orderer
//! endpoints and CRLs.

use prost::Message;
use weft_protos::common::{ConfigGroup, ConfigValue, OrdererAddresses};
use weft_protos::msp::{FabricMspConfig, MspConfig};
use weft_protos::protos::{AnchorPeer, AnchorPeers};

use super::{Section, child_mut, refused};
use crate::CommonError;
use crate::config::keys;
use crate::msp::{Msp, RevocationList};

/// The MSP config of an org group, if it has one that decodes.
pub(super) fn fabric_msp(group: &ConfigGroup) -> Option<FabricMspConfig> {
    let value = group.values.get(keys::MSP)?;
    let msp = MspConfig::decode(value.value.as_slice()).ok()?;
    FabricMspConfig::decode(msp.config.as_slice()).ok()
}

/// The group name of the org `org` (a group name or an MSP id) in `section`.
fn org_key(section: &ConfigGroup, section_name: &str, org: &str) -> Result<String, CommonError> {
    if section.groups.contains_key(org) {
        return Ok(org.to_string());
    }
    section
        .groups
        .iter()
        .find(|(_, g)| fabric_msp(g).is_some_and(|m| m.name == org))
        .map(|(k, _)| k.clone())
        .ok_or_else(|| {
            refused(format!(
                "no organisation {org} in {section_name} (it has {})",
                section
                    .groups
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

fn org_mut<'a>(
    root: &'a mut ConfigGroup,
    section: Section,
    org: &str,
) -> Result<&'a mut ConfigGroup, CommonError> {
    let name = section.group_name();
    let group = child_mut(root, name)?;
    let key = org_key(group, name, org)?;
    Ok(group
        .groups
        .get_mut(&key)
        .expect("org_key returns a present key"))
}

/// Sets value `key` to `bytes`, keeping its mod_policy, or adds it under `Admins`.
pub(super) fn put_value(group: &mut ConfigGroup, key: &str, bytes: Vec<u8>) {
    let entry = group
        .values
        .entry(key.to_string())
        .or_insert_with(|| ConfigValue {
            mod_policy: "Admins".into(),
            ..Default::default()
        });
    entry.value = bytes;
}

pub(super) fn add(
    root: &mut ConfigGroup,
    section: Section,
    name: &str,
    group: &ConfigGroup,
) -> Result<(), CommonError> {
    if name.is_empty() || name.contains('/') {
        return Err(refused(format!(
            "{name:?} is not an organisation group name"
        )));
    }
    let fabric = fabric_msp(group).ok_or_else(|| {
        refused(format!(
            "organisation {name} has no MSP value that decodes (print it with `weft-configtx org print`)"
        ))
    })?;
    // Fail now on an MSP every node would refuse.
    Msp::from_config(&fabric)?;
    for policy in ["Admins", "Readers", "Writers"] {
        if !group.policies.contains_key(policy) {
            return Err(refused(format!(
                "organisation {name} has no {policy} policy; the channel's implicit-meta policies need it"
            )));
        }
    }
    let section_name = section.group_name();
    let target = child_mut(root, section_name)?;
    if let Some((existing, _)) = target
        .groups
        .iter()
        .find(|(k, g)| *k == name || fabric_msp(g).is_some_and(|m| m.name == fabric.name))
    {
        return Err(refused(format!(
            "{section_name} already has organisation {existing} (MSP {})",
            fabric.name
        )));
    }
    let mut group = group.clone();
    zero_versions(&mut group);
    target.groups.insert(name.to_string(), group);
    Ok(())
}

fn zero_versions(g: &mut ConfigGroup) {
    g.version = 0;
    g.values.values_mut().for_each(|v| v.version = 0);
    g.policies.values_mut().for_each(|p| p.version = 0);
    g.groups.values_mut().for_each(zero_versions);
}

pub(super) fn remove(
    root: &mut ConfigGroup,
    section: Section,
    org: &str,
) -> Result<(), CommonError> {
    let section_name = section.group_name();
    let group = child_mut(root, section_name)?;
    let key = org_key(group, section_name, org)?;
    if group.groups.len() == 1 {
        return Err(refused(format!(
            "{key} is the only organisation in {section_name}; a channel needs at least one"
        )));
    }
    group.groups.remove(&key);
    Ok(())
}

pub(super) fn set_anchor_peers(
    root: &mut ConfigGroup,
    org: &str,
    peers: &[AnchorPeer],
) -> Result<(), CommonError> {
    for p in peers {
        if p.host.is_empty() || !(1..=65535).contains(&p.port) {
            return Err(refused(format!(
                "anchor peer {}:{} needs a host and a port from 1 to 65535",
                p.host, p.port
            )));
        }
    }
    let group = org_mut(root, Section::Application, org)?;
    if peers.is_empty() {
        group.values.remove(keys::ANCHOR_PEERS);
    } else {
        let bytes = AnchorPeers {
            anchor_peers: peers.to_vec(),
        }
        .encode_to_vec();
        put_value(group, keys::ANCHOR_PEERS, bytes);
    }
    Ok(())
}

pub(super) fn set_orderer_endpoints(
    root: &mut ConfigGroup,
    org: &str,
    endpoints: &[String],
) -> Result<(), CommonError> {
    if endpoints.is_empty() {
        return Err(refused(
            "an orderer organisation needs at least one endpoint (peers find the orderers through them)",
        ));
    }
    for e in endpoints {
        let port = e.rsplit_once(':').and_then(|(h, p)| {
            (!h.is_empty()).then_some(())?;
            p.parse::<u16>().ok().filter(|p| *p > 0)
        });
        if port.is_none() {
            return Err(refused(format!("endpoint {e:?} is not host:port")));
        }
    }
    let group = org_mut(root, Section::Orderer, org)?;
    let bytes = OrdererAddresses {
        addresses: endpoints.to_vec(),
    }
    .encode_to_vec();
    put_value(group, keys::ENDPOINTS, bytes);
    Ok(())
}

/// Applies `f` to the MSP config of `msp_id` wherever the org is (and
/// checks the result loads); an error if the org is in no section.
fn with_msp(
    root: &mut ConfigGroup,
    msp_id: &str,
    mut f: impl FnMut(&mut FabricMspConfig) -> Result<(), CommonError>,
) -> Result<(), CommonError> {
    let mut found = false;
    for section in [keys::APPLICATION, keys::ORDERER] {
        let Some(group) = root.groups.get_mut(section) else {
            continue;
        };
        for org in group.groups.values_mut() {
            let Some(mut fabric) = fabric_msp(org).filter(|m| m.name == msp_id) else {
                continue;
            };
            found = true;
            f(&mut fabric)?;
            Msp::from_config(&fabric)?;
            let bytes = MspConfig {
                r#type: 0,
                config: fabric.encode_to_vec(),
            }
            .encode_to_vec();
            put_value(org, keys::MSP, bytes);
        }
    }
    if found {
        Ok(())
    } else {
        Err(refused(format!(
            "organisation {msp_id} is not in the channel config"
        )))
    }
}

/// NodeOU identifiers that name the certificate allowed to issue them pin
/// the old root: a second root's members would match no OU. Renewing a CA
/// makes every root of the MSP a certifier (Fabric's empty `Certificate`),
/// as an MSP with several roots is written.
fn unpin_node_ous(fabric: &mut FabricMspConfig) {
    if let Some(ous) = fabric.fabric_node_ous.as_mut() {
        for id in [
            &mut ous.client_ou_identifier,
            &mut ous.peer_ou_identifier,
            &mut ous.admin_ou_identifier,
            &mut ous.orderer_ou_identifier,
        ]
        .into_iter()
        .flatten()
        {
            id.certificate.clear();
        }
    }
}

pub(super) fn change_roots(
    root: &mut ConfigGroup,
    msp_id: &str,
    cert_pem: &[u8],
    tls: bool,
    add: bool,
) -> Result<(), CommonError> {
    let cert = crate::msp::Certificate::from_pem(cert_pem)
        .map_err(|e| refused(format!("the CA certificate does not parse: {e}")))?;
    let kind = if tls { "TLS root" } else { "root" };
    if add && (!cert.is_ca || !cert.valid_at(crate::clock::unix_now())) {
        return Err(refused(format!(
            "a new {kind} must be a CA certificate valid now"
        )));
    }
    let same =
        |pem: &Vec<u8>| crate::msp::Certificate::from_pem(pem).is_ok_and(|c| c.der == cert.der);
    with_msp(root, msp_id, |fabric| {
        let roots = if tls {
            &mut fabric.tls_root_certs
        } else {
            &mut fabric.root_certs
        };
        if add {
            if roots.iter().any(same) {
                return Err(refused(format!("{msp_id} already has this {kind}")));
            }
            roots.push(cert_pem.to_vec());
            if !tls {
                unpin_node_ous(fabric);
            }
        } else {
            let before = roots.len();
            roots.retain(|r| !same(r));
            if roots.len() == before {
                return Err(refused(format!("{msp_id} has no such {kind}")));
            }
            if roots.is_empty() {
                return Err(refused(format!(
                    "it is {msp_id}'s only {kind}: add the new one first"
                )));
            }
        }
        Ok(())
    })
}

pub(super) fn add_crl(
    root: &mut ConfigGroup,
    msp_id: &str,
    crl_pem: &[u8],
) -> Result<(), CommonError> {
    let new_crl = RevocationList::parse(crl_pem)
        .map_err(|e| refused(format!("the CRL does not parse: {e}")))?;
    with_msp(root, msp_id, |fabric| {
        fabric.revocation_list.retain(|old| {
            RevocationList::parse(old)
                .map(|c| c.issuer_raw != new_crl.issuer_raw)
                .unwrap_or(true)
        });
        fabric.revocation_list.push(crl_pem.to_vec());
        Ok(())
    })
}
