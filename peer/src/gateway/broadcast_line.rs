//! Submitting to orderers over long-lived Broadcast streams.
//!
//! Broadcast answers the envelopes of one stream in the order they were
//! sent, so one stream per orderer can carry every client's submission: each
//! envelope queued on a [`Line`] leaves a waiter behind it, and the stream's
//! n-th answer goes to the n-th waiter. Opening a stream per submission (as
//! this gateway did, and as Fabric's does) cost both the gateway peer and the
//! orderer an HTTP/2 stream's set-up and tear-down, a task and a channel for
//! every transaction.
//!
//! What one client's envelope can do to the others on the line:
//! - A refusal (bad signature, wrong channel, too large for the channel's
//!   `AbsoluteMaxBytes`) is an answer like any other: the line goes on.
//! - The orderer ends the stream (it stopped, or something broke the
//!   transport): every waiter is told, and its submission moves on to the next
//!   orderer as a failed one-off stream did; the next submission opens a new
//!   line. An envelope larger than the channel allows never rides a line (it
//!   goes on a stream of its own), so no client can end a line on purpose by
//!   exceeding the orderer's gRPC message limit.
//! - Answers come in order: an envelope still waiting for its block holds up
//!   the answers of those sent after it. All are ordered through the same
//!   Raft log, so they commit in that order anyway.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;
use weft_protos::common::Envelope;
use weft_protos::orderer::BroadcastResponse;
use weft_protos::orderer::atomic_broadcast_client::AtomicBroadcastClient;

use super::failure::NotOrdered;

type Answer = Result<BroadcastResponse, Status>;

/// One open Broadcast stream and the submissions waiting on it.
struct Line {
    state: Mutex<LineState>,
}

struct LineState {
    /// The stream's sending half; dropped to end the stream.
    send: Option<mpsc::UnboundedSender<Envelope>>,
    waiting: VecDeque<oneshot::Sender<Answer>>,
    closed: bool,
}

impl Line {
    /// Queues `env` and returns where its answer will come, or `None` when
    /// the line has closed.
    fn queue(&self, env: Envelope) -> Option<oneshot::Receiver<Answer>> {
        let mut state = self.state.lock().expect("broadcast line lock");
        let send = state.send.as_ref().filter(|_| !state.closed)?;
        let (tx, rx) = oneshot::channel();
        // Under the lock: the n-th envelope sent gets the n-th waiter.
        if send.send(env).is_err() {
            state.closed = true;
            state.send = None;
            return None;
        }
        state.waiting.push_back(tx);
        Some(rx)
    }

    /// Hands the next answer to its waiter.
    fn answer(&self, answer: Answer) {
        let waiter = self
            .state
            .lock()
            .expect("broadcast line lock")
            .waiting
            .pop_front();
        if let Some(w) = waiter {
            let _ = w.send(answer);
        }
    }

    /// Marks the line closed and tells every waiter why.
    fn close(&self, why: Status) {
        let waiting = {
            let mut state = self.state.lock().expect("broadcast line lock");
            state.closed = true;
            state.send = None;
            std::mem::take(&mut state.waiting)
        };
        for w in waiting {
            let _ = w.send(Err(why.clone()));
        }
    }

    /// Takes no more envelopes and ends the stream once the orderer has
    /// answered those sent; their waiters still get the answers.
    fn hang_up(&self) {
        let mut state = self.state.lock().expect("broadcast line lock");
        state.closed = true;
        state.send = None;
    }

    fn is_closed(&self) -> bool {
        self.state.lock().expect("broadcast line lock").closed
    }
}

/// The gateway's lines, one per orderer endpoint, opened on first use.
#[derive(Default)]
pub(super) struct BroadcastLines {
    open: Mutex<HashMap<String, Arc<Line>>>,
}

impl std::fmt::Debug for BroadcastLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.open.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "BroadcastLines({n} open)")
    }
}

impl BroadcastLines {
    /// Sends `env` to the orderer at `endpoint` over its line (`channel`
    /// connects there) and waits for the orderer's answer.
    pub(super) async fn submit(
        &self,
        endpoint: &str,
        channel: tonic::transport::Channel,
        env: Envelope,
    ) -> Result<(), NotOrdered> {
        let line = self.line(endpoint, channel).await?;
        let Some(answer) = line.queue(env) else {
            self.forget(endpoint, &line);
            return Err(NotOrdered::Closed);
        };
        let answer = answer.await.map_err(|_| NotOrdered::Closed)?;
        if line.is_closed() {
            self.forget(endpoint, &line);
        }
        settle(Some(answer))
    }

    async fn line(
        &self,
        endpoint: &str,
        channel: tonic::transport::Channel,
    ) -> Result<Arc<Line>, NotOrdered> {
        if let Some(line) = self.open.lock().expect("lines lock").get(endpoint)
            && !line.is_closed()
        {
            return Ok(line.clone());
        }
        let (send, outgoing) = mpsc::unbounded_channel();
        let mut answers = AtomicBroadcastClient::new(channel)
            .broadcast(tokio_stream::wrappers::UnboundedReceiverStream::new(
                outgoing,
            ))
            .await
            .map_err(NotOrdered::Call)?
            .into_inner();
        let line = Arc::new(Line {
            state: Mutex::new(LineState {
                send: Some(send),
                waiting: VecDeque::new(),
                closed: false,
            }),
        });
        let reader = line.clone();
        tokio::spawn(async move {
            let why = loop {
                match answers.next().await {
                    Some(Ok(r)) => reader.answer(Ok(r)),
                    Some(Err(status)) => break status,
                    None => break Status::unavailable("the orderer ended the Broadcast stream"),
                }
            };
            reader.close(why);
        });
        let mut open = self.open.lock().expect("lines lock");
        // Another submission may have opened one meanwhile: keep the first.
        match open.get(endpoint) {
            Some(first) if !first.is_closed() => {
                let first = first.clone();
                line.hang_up();
                Ok(first)
            }
            _ => {
                if let Some(old) = open.insert(endpoint.to_string(), line.clone()) {
                    old.hang_up();
                }
                Ok(line)
            }
        }
    }

    /// Drops `line` for `endpoint` if it is still the one recorded.
    fn forget(&self, endpoint: &str, line: &Arc<Line>) {
        let mut open = self.open.lock().expect("lines lock");
        if open.get(endpoint).is_some_and(|l| Arc::ptr_eq(l, line)) {
            open.remove(endpoint);
        }
    }

    /// Ends the line to `endpoint` (after a failure there); the next
    /// submission opens a new one.
    pub(super) fn drop_endpoint(&self, endpoint: &str) {
        if let Some(line) = self.open.lock().expect("lines lock").remove(endpoint) {
            line.hang_up();
        }
    }
}

/// Sends `env` on a Broadcast stream of its own and waits for the answer.
pub(super) async fn submit_alone(
    channel: tonic::transport::Channel,
    env: Envelope,
) -> Result<(), NotOrdered> {
    let mut answers = AtomicBroadcastClient::new(channel)
        .broadcast(futures::stream::iter([env]))
        .await
        .map_err(NotOrdered::Call)?
        .into_inner();
    settle(answers.next().await)
}

/// What an orderer's answer (or its absence) means for the submission.
fn settle(answer: Option<Answer>) -> Result<(), NotOrdered> {
    match answer {
        Some(Ok(r)) if r.status == 200 => Ok(()),
        Some(Ok(r)) => Err(NotOrdered::Refused {
            status: r.status,
            info: r.info,
        }),
        Some(Err(s)) => Err(NotOrdered::Call(s)),
        None => Err(NotOrdered::Closed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> (Arc<Line>, mpsc::UnboundedReceiver<Envelope>) {
        let (send, outgoing) = mpsc::unbounded_channel();
        let line = Arc::new(Line {
            state: Mutex::new(LineState {
                send: Some(send),
                waiting: VecDeque::new(),
                closed: false,
            }),
        });
        (line, outgoing)
    }

    fn env(n: u8) -> Envelope {
        Envelope {
            payload: vec![n],
            signature: vec![n],
        }
    }

    fn ok(info: &str) -> Answer {
        Ok(BroadcastResponse {
            status: 200,
            info: info.into(),
        })
    }

    #[tokio::test]
    async fn answers_go_to_the_envelopes_in_the_order_sent() {
        let (line, mut sent) = line();
        let first = line.queue(env(1)).unwrap();
        let second = line.queue(env(2)).unwrap();
        assert_eq!(sent.recv().await.unwrap().payload, [1]);
        assert_eq!(sent.recv().await.unwrap().payload, [2]);
        line.answer(ok("a"));
        line.answer(Ok(BroadcastResponse {
            status: 400,
            info: "bad signature".into(),
        }));
        assert_eq!(first.await.unwrap().unwrap().info, "a");
        let refused = settle(Some(second.await.unwrap()));
        assert!(matches!(
            refused,
            Err(NotOrdered::Refused { status: 400, .. })
        ));
        // A refusal does not close the line.
        assert!(line.queue(env(3)).is_some());
    }

    #[tokio::test]
    async fn an_ended_stream_tells_every_waiter_and_takes_no_more() {
        let (line, _sent) = line();
        let a = line.queue(env(1)).unwrap();
        let b = line.queue(env(2)).unwrap();
        line.close(Status::unavailable("orderer stopped"));
        for w in [a, b] {
            let e = settle(Some(w.await.unwrap())).unwrap_err();
            assert!(e.to_string().contains("orderer stopped"), "{e}");
        }
        assert!(line.queue(env(3)).is_none());
    }

    #[tokio::test]
    async fn hanging_up_ends_the_stream_but_answers_those_sent() {
        let (line, mut sent) = line();
        let a = line.queue(env(1)).unwrap();
        line.hang_up();
        assert!(line.queue(env(2)).is_none());
        assert_eq!(sent.recv().await.unwrap().payload, [1]);
        assert!(sent.recv().await.is_none(), "the stream ends");
        line.answer(ok("a"));
        assert_eq!(a.await.unwrap().unwrap().info, "a");
    }

    #[tokio::test]
    async fn a_line_whose_stream_is_gone_takes_no_envelope() {
        let (line, sent) = line();
        drop(sent);
        assert!(line.queue(env(1)).is_none());
        assert!(line.is_closed());
    }
}
