//! Blocks pulled from the other consenters: the chain up to a join block
//! (verified backwards from it), and the blocks a snapshot skipped.

use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;
use weft_common::config::ChannelConfig;
use weft_common::tls::TlsIdentity;
use weft_protos::common::Block;
use weft_protos::weft::cluster::BlocksRequest;

use super::clients::Clients;
use super::{ChannelHandle, Command, Consenter, consenters};
use crate::OrdererError;
use crate::membership::{Membership, consenter_certs};
use crate::storage::ChannelStorage;

/// Pulls blocks `0..=last` of a channel from the consenters of `cfg` (for a
/// node joining with a config block). The blocks are checked backwards from
/// `trusted`, the block the administrator gave: each block's hash is the next
/// one's previous hash and its data matches its data hash.
pub async fn pull_chain(
    cfg: &ChannelConfig,
    tls: Option<&TlsIdentity>,
    trusted: &Block,
) -> Result<Vec<Vec<u8>>, OrdererError> {
    let last = trusted.header.as_ref().map_or(0, |h| h.number);
    let membership = Membership::genesis(consenter_certs(cfg)?);
    let list = consenters(cfg, &membership)?;
    let own = tls
        .map(|t| weft_common::tls::parse_certs(&t.cert_pem).map(|mut c| c.remove(0).to_vec()))
        .transpose()?;
    let clients = Clients::new(tls.cloned());
    let self_id = own.and_then(|o| membership.id_of(&o)).unwrap_or(0);
    clients.set_consenters(&list, self_id, cfg.tls_roots());
    let mut failures = Vec::new();
    for c in list.iter().filter(|c| c.id != self_id) {
        let Some(mut client) = clients.client(c.id) else {
            continue;
        };
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        let fetched = loop {
            let from = blocks.len() as u64;
            if from > last {
                break Ok(());
            }
            let req = BlocksRequest {
                channel: cfg.channel_id.to_string(),
                from,
                to: last + 1,
            };
            match client.pull_blocks(req).await {
                Ok(r) if !r.get_ref().blocks.is_empty() => blocks.extend(r.into_inner().blocks),
                Ok(_) => break Err(format!("{} has no block {from}", c.endpoint)),
                Err(s) => break Err(format!("{}: {}", c.endpoint, s.message())),
            }
        };
        if let Err(e) = fetched {
            failures.push(e);
            continue;
        }
        blocks.truncate(last as usize + 1);
        match verify_backwards(&blocks, trusted) {
            Ok(()) => return Ok(blocks),
            Err(e) => failures.push(format!("{}: {e}", c.endpoint)),
        }
    }
    Err(OrdererError::Unavailable(format!(
        "could not fetch channel {} up to block {last} from any consenter: {}",
        cfg.channel_id,
        failures.join("; ")
    )))
}

fn verify_backwards(blocks: &[Vec<u8>], trusted: &Block) -> Result<(), OrdererError> {
    let decoded = blocks
        .iter()
        .map(|b| {
            Block::decode(b.as_slice()).map_err(|e| OrdererError::Corrupt {
                what: "pulled block".into(),
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let last = decoded.last().ok_or_else(|| OrdererError::Corrupt {
        what: "pulled chain".into(),
        reason: "empty".into(),
    })?;
    if last.header != trusted.header {
        return Err(OrdererError::Corrupt {
            what: "pulled chain".into(),
            reason: "its last block is not the join block".into(),
        });
    }
    weft_common::block::check_data_hash(&decoded[0])?;
    for pair in decoded.windows(2) {
        weft_common::block::check_link(&pair[0], &pair[1])?;
        weft_common::block::check_data_hash(&pair[1])?;
    }
    Ok(())
}

/// Pulls blocks from the other consenters until this node reaches `height`
/// (or the channel stops).
pub(super) async fn fetch_blocks(handle: Arc<ChannelHandle>, height: u64) {
    let scope = handle.scope.clone();
    tokio::select! {
        _ = fetch_until(&handle, height) => {}
        _ = scope.cancelled() => {}
    }
}

async fn fetch_until(handle: &ChannelHandle, height: u64) {
    for _attempt in 0..30 {
        let from = handle.store.height().unwrap_or(0);
        if from >= height {
            return;
        }
        let others: Vec<Consenter> = handle
            .consenters
            .read()
            .expect("consenters lock")
            .iter()
            .filter(|c| c.id != handle.self_id)
            .cloned()
            .collect();
        for c in &others {
            let Some(mut client) = handle.clients.client(c.id) else {
                continue;
            };
            let req = BlocksRequest {
                channel: handle.id.to_string(),
                from,
                to: height,
            };
            match client.pull_blocks(req).await {
                Ok(resp) => {
                    let blocks = resp.into_inner().blocks;
                    if blocks.iter().all(|b| Block::decode(b.as_slice()).is_ok())
                        && !blocks.is_empty()
                    {
                        let _ = handle.commands.send(Command::CatchUp(blocks)).await;
                        break;
                    }
                }
                Err(s) => tracing::debug!(from = c.id, "pulling blocks: {}", s.message()),
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
