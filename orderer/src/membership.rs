//! Which Raft id each consenter has.
//!
//! As in Fabric, ids are given in consenter-list order at genesis (1..=n),
//! a consenter added later gets `next_id`, and the mapping travels in every
//! block's etcdraft metadata (`consenter_ids` parallel to the config's
//! consenter list, `next_consenter_id`), so a restarted or joining node reads
//! it from its last block.

use prost::Message as _;
use weft_common::config::ChannelConfig;
use weft_protos::common::{Block, BlockMetadataIndex, Metadata, OrdererBlockMetadata};
use weft_protos::etcdraft::BlockMetadata as RaftBlockMetadata;

use crate::OrdererError;

/// Consenters by Raft id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Raft ids, parallel to `certs`.
    pub ids: Vec<u64>,
    /// Each consenter's client TLS certificate (DER), in config order.
    pub certs: Vec<Vec<u8>>,
    /// The id the next added consenter gets.
    pub next_id: u64,
}

/// A change of one consenter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// This id joins.
    Add(u64),
    /// This id leaves.
    Remove(u64),
    /// This id stays, with a new TLS certificate.
    Rotate(u64),
}

/// The consenters' client TLS certificates (DER) of a config, in order.
pub fn consenter_certs(cfg: &ChannelConfig) -> Result<Vec<Vec<u8>>, OrdererError> {
    let ord = cfg
        .orderer
        .as_ref()
        .ok_or_else(|| OrdererError::ChannelConfig("it has no Orderer group".into()))?;
    ord.consenters
        .iter()
        .map(|c| {
            Ok(weft_common::tls::parse_certs(&c.client_tls_cert)?
                .remove(0)
                .to_vec())
        })
        .collect()
}

impl Membership {
    /// The genesis mapping: ids 1..=n in list order.
    pub fn genesis(certs: Vec<Vec<u8>>) -> Self {
        let n = certs.len() as u64;
        Self {
            ids: (1..=n).collect(),
            certs,
            next_id: n + 1,
        }
    }

    /// The mapping recorded in a block's metadata, for the consenters of `certs`.
    /// `None` for blocks without it (genesis) or when it does not match the list.
    pub fn from_block(block: &Block, certs: &[Vec<u8>]) -> Option<Self> {
        let raw = block
            .metadata
            .as_ref()?
            .metadata
            .get(BlockMetadataIndex::Signatures as usize)?;
        let md = Metadata::decode(raw.as_slice()).ok()?;
        let obm = OrdererBlockMetadata::decode(md.value.as_slice()).ok()?;
        let raft = RaftBlockMetadata::decode(obm.consenter_metadata.as_slice()).ok()?;
        (raft.consenter_ids.len() == certs.len() && !certs.is_empty()).then(|| Self {
            ids: raft.consenter_ids,
            certs: certs.to_vec(),
            next_id: raft.next_consenter_id,
        })
    }

    /// The id of the consenter with this client certificate.
    pub fn id_of(&self, cert_der: &[u8]) -> Option<u64> {
        self.certs
            .iter()
            .position(|c| c == cert_der)
            .map(|i| self.ids[i])
    }

    /// The mapping after the consenter list becomes `new_certs`, and the changes.
    ///
    /// Fabric's rule: when exactly one certificate is new and exactly one is
    /// gone, the consenter's certificate was rotated and the new one keeps
    /// the old one's id (no Raft membership change); otherwise each new
    /// certificate is an added consenter with the next id, each gone one a
    /// removed consenter.
    pub fn update(&self, new_certs: Vec<Vec<u8>>) -> (Self, Vec<Change>) {
        let known: Vec<Option<u64>> = new_certs.iter().map(|c| self.id_of(c)).collect();
        let gone: Vec<u64> = self
            .certs
            .iter()
            .zip(&self.ids)
            .filter(|(cert, _)| !new_certs.contains(cert))
            .map(|(_, id)| *id)
            .collect();
        let added = known.iter().filter(|k| k.is_none()).count();
        if let ([rotated], 1) = (gone.as_slice(), added) {
            let ids = known.iter().map(|k| k.unwrap_or(*rotated)).collect();
            let next = Self {
                ids,
                certs: new_certs,
                next_id: self.next_id,
            };
            return (next, vec![Change::Rotate(*rotated)]);
        }
        let mut next_id = self.next_id;
        let mut ids = Vec::with_capacity(new_certs.len());
        let mut changes = Vec::new();
        for k in known {
            match k {
                Some(id) => ids.push(id),
                None => {
                    ids.push(next_id);
                    changes.push(Change::Add(next_id));
                    next_id += 1;
                }
            }
        }
        changes.extend(gone.into_iter().map(Change::Remove));
        (
            Self {
                ids,
                certs: new_certs,
                next_id,
            },
            changes,
        )
    }

    /// The etcdraft block metadata for a block at `raft_index`.
    pub fn block_metadata(&self, raft_index: u64) -> RaftBlockMetadata {
        RaftBlockMetadata {
            consenter_ids: self.ids.clone(),
            next_consenter_id: self.next_id,
            raft_index,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(n: u8) -> Vec<u8> {
        vec![n; 4]
    }

    #[test]
    fn ids_stay_with_their_consenters() {
        let m = Membership::genesis(vec![cert(1), cert(2), cert(3)]);
        assert_eq!(m.ids, vec![1, 2, 3]);
        // Add a fourth, then remove the second: ids of the others do not shift.
        let (m2, changes) = m.update(vec![cert(1), cert(2), cert(3), cert(4)]);
        assert_eq!(changes, vec![Change::Add(4)]);
        let (m2, changes) = m2.update(vec![cert(1), cert(3), cert(4)]);
        assert_eq!(m2.ids, vec![1, 3, 4]);
        assert_eq!(m2.next_id, 5);
        assert_eq!(changes, vec![Change::Remove(2)]);
        assert_eq!(m2.id_of(&cert(3)), Some(3));
        assert_eq!(m2.id_of(&cert(2)), None);
        // A consenter removed and added back gets a new id, as in Fabric.
        let (m3, changes) = m2.update(vec![cert(1), cert(3), cert(4), cert(2)]);
        assert_eq!(changes, vec![Change::Add(5)]);
        assert_eq!(m3.id_of(&cert(2)), Some(5));
    }

    #[test]
    fn one_certificate_replaced_is_a_rotation_that_keeps_the_id() {
        let m = Membership::genesis(vec![cert(1), cert(2), cert(3)]);
        let (rotated, changes) = m.update(vec![cert(1), cert(9), cert(3)]);
        assert_eq!(changes, vec![Change::Rotate(2)]);
        assert_eq!(rotated.ids, vec![1, 2, 3]);
        assert_eq!(rotated.next_id, 4, "no id is used up");
        assert_eq!(rotated.id_of(&cert(9)), Some(2));
        assert_eq!(
            rotated.id_of(&cert(2)),
            None,
            "the old certificate is no consenter"
        );
        // Two replaced at once are two removals and two additions.
        let (_, changes) = m.update(vec![cert(1), cert(8), cert(9)]);
        assert_eq!(
            changes,
            vec![
                Change::Add(4),
                Change::Add(5),
                Change::Remove(2),
                Change::Remove(3)
            ]
        );
    }

    #[test]
    fn round_trips_through_block_metadata() {
        let m = Membership::genesis(vec![cert(1), cert(2)])
            .update(vec![cert(2), cert(3)])
            .0;
        let mut block = weft_common::block::new_block(1, vec![], vec![]);
        let obm = OrdererBlockMetadata {
            last_config: None,
            consenter_metadata: m.block_metadata(9).encode_to_vec(),
        };
        block.metadata.as_mut().unwrap().metadata[0] = Metadata {
            value: obm.encode_to_vec(),
            signatures: vec![],
        }
        .encode_to_vec();
        assert_eq!(Membership::from_block(&block, &m.certs), Some(m.clone()));
        assert_eq!(
            Membership::from_block(&block, &[cert(1)]),
            None,
            "a list of another length does not match"
        );
    }
}
