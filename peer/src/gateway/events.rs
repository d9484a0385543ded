//! Chaincode events from committed blocks: from a start block (or after a
//! given transaction), then live as blocks commit. Access is checked again
//! whenever the channel's config changes (a CRL or a removed org ends the
//! stream with PERMISSION_DENIED) and the stream ends when the client's
//! certificate expires, as Deliver does.

use std::sync::Arc;

use futures::Stream;
use tonic::Status;
use weft_protos::gateway::{
    ChaincodeEventsRequest, ChaincodeEventsResponse, SignedChaincodeEventsRequest,
};
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

/// The access a ChaincodeEvents request was granted, re-checked as it goes.
pub struct Access {
    sequence: u64,
    expires: Option<i64>,
    identity: Vec<u8>,
    signed: SignedChaincodeEventsRequest,
}

impl Access {
    /// The access of `signed` (already authorised), from `identity`, under
    /// the current config.
    pub fn new(
        committer: &Committer,
        identity: Vec<u8>,
        signed: SignedChaincodeEventsRequest,
    ) -> Self {
        Self {
            sequence: committer.config().sequence(),
            expires: weft_common::node::deliver::creator_expiry(&identity),
            identity,
            signed,
        }
    }

    /// Still allowed to read: the certificate has not expired, and a changed
    /// config still lets the identity in.
    fn check(&mut self, committer: &Committer) -> Result<(), Status> {
        if self
            .expires
            .is_some_and(|t| weft_common::clock::unix_now() > t)
        {
            return Err(Status::permission_denied(
                "the client's certificate has expired",
            ));
        }
        let sequence = committer.config().sequence();
        if sequence != self.sequence {
            super::authorize(
                committer,
                &self.identity,
                &self.signed.request,
                &self.signed.signature,
            )
            .map_err(|e| {
                Status::permission_denied(format!(
                    "access revoked by a config change: {}",
                    e.message()
                ))
            })?;
            self.sequence = sequence;
        }
        Ok(())
    }
}

/// The stream a ChaincodeEvents request gets; it holds `permit` (a place
/// under `peer.limits.concurrency.gatewayService`) until it ends.
pub fn stream(
    committer: Arc<Committer>,
    req: ChaincodeEventsRequest,
    mut access: Access,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> impl Stream<Item = Result<ChaincodeEventsResponse, Status>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut commits = committer.subscribe();
    tokio::spawn(async move {
        // The gateway's place is given back when the stream ends.
        let _permit = permit;
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
                if let Err(refused) = access.check(&committer) {
                    tracing::info!("chaincode events ended: {}", refused.message());
                    let _ = tx.send(Err(refused)).await;
                    return;
                }
                let mut events = block_events(&committer, next, &req.chaincode_id);
                if let Some(id) = skip_until.take()
                    && let Some(at) = events.iter().position(|e| e.tx_id == id)
                {
                    events.drain(..=at);
                }
                if !events.is_empty()
                    && tx
                        .send(Ok(ChaincodeEventsResponse {
                            events,
                            block_number: next,
                        }))
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
                _ = weft_common::node::deliver::until_expired(access.expires) => {
                    let refused = Status::permission_denied("the client's certificate has expired");
                    tracing::info!("chaincode events ended: {}", refused.message());
                    let _ = tx.send(Err(refused)).await;
                    return;
                }
                _ = tx.closed() => return,
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
