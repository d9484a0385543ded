//! Chaincode events from committed blocks: from a start block (or after a
//! given transaction), then live as blocks commit.

use std::sync::Arc;

use futures::Stream;
use weft_protos::gateway::{ChaincodeEventsRequest, ChaincodeEventsResponse};
use weft_protos::orderer::seek_position;
use weft_protos::protos::{ChaincodeEvent, TxValidationCode};

use crate::channel::Committer;

/// Events of `chaincode` in block `number`'s valid transactions, in order.
fn block_events(committer: &Committer, number: u64, chaincode: &str) -> Vec<ChaincodeEvent> {
    let Ok(Some(block)) = committer.ledger().block(number) else {
        return Vec::new();
    };
    let filter = weft_common::block::transactions_filter(&block).to_vec();
    let data = block.data.map(|d| d.data).unwrap_or_default();
    data.iter()
        .enumerate()
        .filter(|(i, _)| filter.get(*i).copied() == Some(TxValidationCode::Valid as i32 as u8))
        .filter_map(|(_, bytes)| {
            let env = weft_common::tx::UnpackedEnvelope::from_bytes(bytes).ok()?;
            env.endorser_transaction().ok()?.action.event
        })
        .filter(|e| e.chaincode_id == chaincode)
        .collect()
}

/// The stream a ChaincodeEvents request gets.
pub fn stream(
    committer: Arc<Committer>,
    req: ChaincodeEventsRequest,
) -> impl Stream<Item = ChaincodeEventsResponse> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut commits = committer.subscribe();
    tokio::spawn(async move {
        let height = committer.ledger().height();
        let mut next = match req.start_position.and_then(|p| p.r#type) {
            Some(seek_position::Type::Specified(s)) => s.number,
            Some(seek_position::Type::Oldest(_)) => 0,
            _ => height,
        };
        let mut skip_until =
            (!req.after_transaction_id.is_empty()).then(|| req.after_transaction_id.clone());
        if let Some(id) = &skip_until {
            match committer.ledger().tx_location(id) {
                Ok(Some(loc)) => next = loc.block,
                _ => skip_until = None,
            }
        }
        loop {
            while next < committer.ledger().height() {
                let mut events = block_events(&committer, next, &req.chaincode_id);
                if let Some(id) = skip_until.take()
                    && let Some(at) = events.iter().position(|e| e.tx_id == id)
                {
                    events.drain(..=at);
                }
                if !events.is_empty()
                    && tx
                        .send(ChaincodeEventsResponse {
                            events,
                            block_number: next,
                        })
                        .await
                        .is_err()
                {
                    return;
                }
                next += 1;
            }
            tokio::select! {
                r = commits.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = r {
                        return;
                    }
                }
                _ = tx.closed() => return,
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
