//! The chain's side of a Raft Ready: storage writes, block signing, events.

use super::*;

/// The voters and learners after a single-step membership change (what
/// raft-rs's `apply_conf_change` computes for a v1 `ConfChange`).
pub(super) fn conf_state_after(mut cs: ConfState, cc: &ConfChange) -> ConfState {
    use raft::prelude::ConfChangeType;
    let id = cc.node_id;
    let change = cc.change_type;
    if change == ConfChangeType::AddNode as i32 {
        cs.learners.retain(|x| *x != id);
        if !cs.voters.contains(&id) {
            cs.voters.push(id);
        }
    } else if change == ConfChangeType::AddLearnerNode as i32 {
        cs.voters.retain(|x| *x != id);
        if !cs.learners.contains(&id) {
            cs.learners.push(id);
        }
    } else if change == ConfChangeType::RemoveNode as i32 {
        cs.voters.retain(|x| *x != id);
        cs.learners.retain(|x| *x != id);
    }
    cs
}

/// What the chain keeps of a block an apply wrote: the digests of its
/// envelopes (shared with the event) and whether it is a config block.
pub(super) struct Written {
    pub(super) envelopes: Vec<[u8; 32]>,
    pub(super) config: bool,
}

/// The chain's side of a Ready: storage writes, block signing, events.
pub(super) struct Effects<'a, S: ChannelStorage> {
    pub(super) store: &'a S,
    pub(super) signer: &'a SigningIdentity,
    pub(super) snapshot_interval_bytes: u64,
    pub(super) outbox: &'a mut Vec<Message>,
    pub(super) events: &'a mut Vec<ChainEvent>,
    pub(super) conf_changes: Vec<ConfChange>,
    pub(super) written: Vec<Written>,
    pub(super) last_config: &'a mut u64,
    pub(super) membership: &'a mut Membership,
    pub(super) changes: Vec<Change>,
    pub(super) bytes_since_snapshot: &'a mut u64,
}

impl<S: ChannelStorage> ReadyEffects for Effects<'_, S> {
    fn persist(
        &mut self,
        snapshot: Option<&Snapshot>,
        entries: &[Entry],
        hs: Option<&HardState>,
    ) -> Result<(), OrdererError> {
        self.store.persist(snapshot, entries, hs)
    }

    fn send(&mut self, messages: Vec<Message>) {
        self.outbox.extend(messages);
    }

    fn restore(&mut self, snapshot: &Snapshot) -> Result<(), OrdererError> {
        // Snapshot data is the last block at the snapshot's index.
        let block = decode_block(&snapshot.data)?;
        let height = block.header.as_ref().map_or(0, |h| h.number + 1);
        if let Some(md) = &snapshot.metadata {
            self.store.set_applied(md.index)?;
        }
        if height > self.store.height()? {
            self.events.push(ChainEvent::NeedBlocks { height });
        }
        Ok(())
    }

    fn apply(&mut self, entries: Vec<Entry>) -> Result<(), OrdererError> {
        for e in entries {
            if e.entry_type == EntryType::EntryConfChange as i32 {
                let cc = <ConfChange as prost011::Message>::decode(e.data.as_slice()).map_err(
                    |err| OrdererError::Corrupt {
                        what: "conf change".into(),
                        reason: err.to_string(),
                    },
                )?;
                let cs = conf_state_after(self.store.raft_state()?.conf_state, &cc);
                self.store.apply_conf_change(e.index, &cs)?;
                self.conf_changes.push(cc);
                continue;
            }
            if e.entry_type != EntryType::EntryNormal as i32 || e.data.is_empty() {
                self.store.apply(e.index, None)?;
                continue;
            }
            // The block stays encoded: only its header and metadata are decoded,
            // and its signed form is its bytes with the new metadata field.
            let reencoded: Vec<u8>;
            let view = match EncodedBlock::parse(&e.data) {
                Some(view) => view,
                None => {
                    // Valid, but not in prost's field order (not weft's own entries).
                    reencoded = decode_block(&e.data)?.encode_to_vec();
                    EncodedBlock::parse(&reencoded).ok_or_else(|| OrdererError::Corrupt {
                        what: "block in raft entry".into(),
                        reason: "no header".into(),
                    })?
                }
            };
            let number = view.header.number;
            let height = self.store.height()?;
            if number < height {
                // Already written (a block fetched during catch-up, then replayed).
                self.store.apply(e.index, None)?;
                continue;
            }
            if number > height {
                // Earlier blocks are still being fetched after a snapshot: keep this
                // one durably until they arrive.
                self.store.stash_block(e.index, number, &e.data)?;
                self.events.push(ChainEvent::NeedBlocks { height: number });
                continue;
            }
            let config = matches!(view.envelopes(), [only] if is_config_envelope(only));
            if config {
                *self.last_config = number;
                let changes = adopt_membership(self.membership, number, &decode_block(&e.data)?)?;
                if !changes.is_empty() {
                    self.events
                        .push(ChainEvent::MembershipChanged(changes.clone()));
                    self.changes.extend(changes);
                }
            }
            let consenter_md = self.membership.block_metadata(e.index);
            let mut signed = Block {
                header: Some(view.header.clone()),
                data: None,
                metadata: Some(view.metadata.clone()),
            };
            sign_block(
                &mut signed,
                *self.last_config,
                consenter_md.encode_to_vec(),
                self.signer,
            )?;
            let bytes = view.with_metadata(&signed.metadata.unwrap_or_default());
            self.store.apply(e.index, Some((number, &bytes)))?;
            *self.bytes_since_snapshot += bytes.len() as u64;
            let interval = self.snapshot_interval_bytes;
            if interval > 0 && *self.bytes_since_snapshot >= interval {
                self.store.snapshot_at(e.index, bytes.clone())?;
                *self.bytes_since_snapshot = 0;
            }
            let envelopes = envelope_digests(&e.context, view.envelopes());
            self.written.push(Written {
                envelopes: envelopes.clone(),
                config,
            });
            self.events.push(ChainEvent::BlockWritten {
                number,
                envelopes,
                config,
            });
        }
        Ok(())
    }

    fn commit_index(&mut self, commit: u64) -> Result<(), OrdererError> {
        self.store.set_commit(commit)
    }
}
