//! The orderer group: batch settings and Raft consenters.

use prost::Message;
use weft_protos::common::ConfigGroup;
use weft_protos::etcdraft::{ConfigMetadata, Consenter};
use weft_protos::orderer::{BatchSize, BatchTimeout, ConsensusType};

use super::orgs::put_value;
use super::{BatchChange, child_mut, refused};
use crate::CommonError;
use crate::config::{keys, parse_go_duration};
use crate::error::decode;
use crate::msp::Certificate;

fn current<M: Message + Default>(group: &ConfigGroup, key: &'static str) -> Result<M, CommonError> {
    let value = group
        .values
        .get(key)
        .ok_or_else(|| refused(format!("the orderer group has no {key} value")))?;
    decode(key, &value.value)
}

pub(super) fn set_batch(root: &mut ConfigGroup, change: &BatchChange) -> Result<(), CommonError> {
    let orderer = child_mut(root, keys::ORDERER)?;
    let mut size: BatchSize = current(orderer, keys::BATCH_SIZE)?;
    if let Some(n) = change.max_message_count {
        size.max_message_count = n;
    }
    if let Some(n) = change.absolute_max_bytes {
        size.absolute_max_bytes = n;
    }
    if let Some(n) = change.preferred_max_bytes {
        size.preferred_max_bytes = n;
    }
    if size.max_message_count == 0 {
        return Err(refused("max message count must be at least 1"));
    }
    if size.absolute_max_bytes == 0 || size.preferred_max_bytes == 0 {
        return Err(refused("batch byte limits must be above 0"));
    }
    if size.preferred_max_bytes > size.absolute_max_bytes {
        return Err(refused(format!(
            "preferred max bytes ({}) may not exceed absolute max bytes ({})",
            size.preferred_max_bytes, size.absolute_max_bytes
        )));
    }
    put_value(orderer, keys::BATCH_SIZE, size.encode_to_vec());
    if let Some(timeout) = &change.timeout {
        let d = parse_go_duration(timeout)
            .map_err(|e| refused(format!("batch timeout {timeout:?}: {e}")))?;
        if d.is_zero() {
            return Err(refused("the batch timeout must be above 0"));
        }
        let bytes = BatchTimeout {
            timeout: timeout.clone(),
        }
        .encode_to_vec();
        put_value(orderer, keys::BATCH_TIMEOUT, bytes);
    }
    Ok(())
}

/// Reads the Raft metadata, lets `f` change its consenters, writes it back.
fn with_consenters(
    root: &mut ConfigGroup,
    f: impl FnOnce(&mut Vec<Consenter>) -> Result<(), CommonError>,
) -> Result<(), CommonError> {
    let orderer = child_mut(root, keys::ORDERER)?;
    let mut ct: ConsensusType = current(orderer, keys::CONSENSUS_TYPE)?;
    if ct.r#type != "etcdraft" {
        return Err(refused(format!(
            "the channel orders with {:?}; consenters are etcdraft's",
            ct.r#type
        )));
    }
    let mut md: ConfigMetadata = decode("etcdraft config metadata", &ct.metadata)?;
    f(&mut md.consenters)?;
    ct.metadata = md.encode_to_vec();
    put_value(orderer, keys::CONSENSUS_TYPE, ct.encode_to_vec());
    Ok(())
}

fn check_cert(what: &str, pem: &[u8]) -> Result<(), CommonError> {
    let cert = Certificate::from_pem(pem)
        .map_err(|e| refused(format!("the {what} is not a PEM certificate: {e}")))?;
    if !cert.valid_at(crate::clock::unix_now()) {
        return Err(refused(format!(
            "the {what} is not valid now (expired or not yet valid)"
        )));
    }
    Ok(())
}

fn position(consenters: &[Consenter], host: &str, port: u32) -> Result<usize, CommonError> {
    consenters
        .iter()
        .position(|c| c.host == host && c.port == port)
        .ok_or_else(|| {
            refused(format!(
                "no consenter at {host}:{port} (the consenters are {})",
                consenters
                    .iter()
                    .map(|c| format!("{}:{}", c.host, c.port))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

pub(super) fn add_consenter(root: &mut ConfigGroup, new: &Consenter) -> Result<(), CommonError> {
    if new.host.is_empty() || !(1..=65535).contains(&new.port) {
        return Err(refused(
            "a consenter needs a host and a port from 1 to 65535",
        ));
    }
    check_cert("client TLS certificate", &new.client_tls_cert)?;
    check_cert("server TLS certificate", &new.server_tls_cert)?;
    with_consenters(root, |consenters| {
        if let Some(c) = consenters.iter().find(|c| {
            (c.host == new.host && c.port == new.port)
                || c.client_tls_cert == new.client_tls_cert
                || c.server_tls_cert == new.server_tls_cert
        }) {
            return Err(refused(format!(
                "consenter {}:{} is already in the channel (same address or certificate)",
                c.host, c.port
            )));
        }
        consenters.push(new.clone());
        Ok(())
    })
}

pub(super) fn remove_consenter(
    root: &mut ConfigGroup,
    host: &str,
    port: u32,
) -> Result<(), CommonError> {
    with_consenters(root, |consenters| {
        let i = position(consenters, host, port)?;
        if consenters.len() == 1 {
            return Err(refused(format!(
                "{host}:{port} is the channel's only consenter"
            )));
        }
        consenters.remove(i);
        Ok(())
    })
}

pub(super) fn rotate_consenter(
    root: &mut ConfigGroup,
    host: &str,
    port: u32,
    client_tls_cert: &[u8],
    server_tls_cert: &[u8],
) -> Result<(), CommonError> {
    check_cert("new client TLS certificate", client_tls_cert)?;
    check_cert("new server TLS certificate", server_tls_cert)?;
    with_consenters(root, |consenters| {
        let i = position(consenters, host, port)?;
        let others = consenters.iter().enumerate().filter(|(j, _)| *j != i);
        for (_, c) in others {
            if c.client_tls_cert == client_tls_cert || c.server_tls_cert == server_tls_cert {
                return Err(refused(format!(
                    "the new certificate is consenter {}:{}'s",
                    c.host, c.port
                )));
            }
        }
        let c = &mut consenters[i];
        if c.client_tls_cert == client_tls_cert && c.server_tls_cert == server_tls_cert {
            return Err(refused(format!(
                "{host}:{port} already has these certificates"
            )));
        }
        c.client_tls_cert = client_tls_cert.to_vec();
        c.server_tls_cert = server_tls_cert.to_vec();
        Ok(())
    })
}
