use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use weft_protos::orderer::{SeekNewest, SeekNextCommit, SeekOldest, SeekSpecified};

use super::*;
use crate::ids::ChannelId;

fn pos(t: seek_position::Type) -> Option<SeekPosition> {
    Some(SeekPosition { r#type: Some(t) })
}
fn oldest() -> Option<SeekPosition> {
    pos(seek_position::Type::Oldest(SeekOldest {}))
}
fn newest() -> Option<SeekPosition> {
    pos(seek_position::Type::Newest(SeekNewest {}))
}
fn next_commit() -> Option<SeekPosition> {
    pos(seek_position::Type::NextCommit(SeekNextCommit {}))
}
fn at(n: u64) -> Option<SeekPosition> {
    pos(seek_position::Type::Specified(SeekSpecified { number: n }))
}
fn seek(start: Option<SeekPosition>, stop: Option<SeekPosition>) -> SeekInfo {
    SeekInfo {
        start,
        stop,
        ..Default::default()
    }
}

#[test]
fn positions_resolve_as_fabrics_ledger_iterator_does() {
    let h = 5;
    let plan = |s: SeekInfo| SeekPlan::resolve(&s, h).map(|p| (p.start, p.stop));
    assert_eq!(plan(seek(oldest(), newest())), Ok((Start::At(0), 4)));
    assert_eq!(plan(seek(newest(), newest())), Ok((Start::At(4), 4)));
    assert_eq!(
        plan(seek(next_commit(), at(u64::MAX))),
        Ok((Start::At(5), u64::MAX))
    );
    assert_eq!(
        plan(seek(at(5), at(7))),
        Ok((Start::At(5), 7)),
        "the next block waits"
    );
    assert_eq!(
        plan(seek(at(6), at(7))),
        Ok((Start::NotFound, 7)),
        "beyond: NOT_FOUND"
    );
    assert_eq!(plan(seek(at(2), oldest())), Ok((Start::At(2), 2)));
    assert_eq!(
        plan(seek(Some(SeekPosition { r#type: None }), newest())),
        Ok((Start::NotFound, 4))
    );
    assert_eq!(plan(seek(at(3), at(2))), Err(Status::BadRequest));
    assert_eq!(plan(seek(None, newest())), Err(Status::BadRequest));
    assert_eq!(plan(seek(oldest(), None)), Err(Status::BadRequest));
    // Fabric's quirks: a NextCommit or unset stop is block 0, and a Newest
    // stop below a NextCommit start never ends the delivery.
    assert_eq!(plan(seek(oldest(), next_commit())), Ok((Start::At(0), 0)));
    assert_eq!(plan(seek(next_commit(), newest())), Ok((Start::At(5), 4)));
    let mut s = seek(oldest(), newest());
    s.behavior = SeekBehavior::FailIfNotReady as i32;
    s.content_type = SeekContentType::HeaderWithSig as i32;
    let p = SeekPlan::resolve(&s, h).unwrap();
    assert!(p.fail_if_not_ready && p.headers_only);
}

/// A channel in memory: blocks, a height watch, a config sequence and an
/// access switch.
struct FakeChannel {
    blocks: Mutex<Vec<Block>>,
    height: tokio::sync::watch::Sender<u64>,
    sequence: AtomicU64,
    allowed: AtomicBool,
}

impl FakeChannel {
    fn new(n: u64) -> Arc<Self> {
        let c = Arc::new(Self {
            blocks: Mutex::new(Vec::new()),
            height: tokio::sync::watch::channel(0).0,
            sequence: AtomicU64::new(0),
            allowed: AtomicBool::new(true),
        });
        for _ in 0..n {
            c.append(false);
        }
        c
    }

    fn append(&self, config: bool) {
        let mut blocks = self.blocks.lock().unwrap();
        let kind = if config {
            HeaderType::Config
        } else {
            HeaderType::EndorserTransaction
        };
        let env = Envelope {
            payload: crate::tx::envelope_payload(kind, &ChannelId::new("ch"), vec![1], b"creator"),
            signature: vec![],
        };
        let number = blocks.len() as u64;
        blocks.push(crate::block::new_block(
            number,
            vec![],
            vec![env.encode_to_vec()],
        ));
        self.height.send_replace(blocks.len() as u64);
    }
}

impl DeliverChannel for FakeChannel {
    fn height(&self) -> u64 {
        *self.height.borrow()
    }
    fn block(&self, number: u64) -> Option<Block> {
        self.blocks.lock().unwrap().get(number as usize).cloned()
    }
    fn wait_beyond(&self, height: u64) -> BoxFuture<'_, bool> {
        let mut rx = self.height.subscribe();
        Box::pin(async move { rx.wait_for(|h| *h > height).await.is_ok() })
    }
    fn config_sequence(&self) -> u64 {
        self.sequence.load(Ordering::SeqCst)
    }
    fn authorize(&self, _request: &SignedData) -> Result<(), CommonError> {
        if self.allowed.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(CommonError::UnknownPolicy("/Channel/Readers".into()))
        }
    }
}

fn request(seek: &SeekInfo, age: Duration, tls_hash: &[u8]) -> Envelope {
    request_by(seek, age, tls_hash, b"creator")
}

fn request_by(seek: &SeekInfo, age: Duration, tls_hash: &[u8], creator: &[u8]) -> Envelope {
    let payload = crate::tx::envelope_payload(
        HeaderType::DeliverSeekInfo,
        &ChannelId::new("ch"),
        seek.encode_to_vec(),
        creator,
    );
    // Rewrite the channel header's timestamp and TLS hash.
    let mut p = weft_protos::common::Payload::decode(payload.as_slice()).unwrap();
    let h = p.header.as_mut().unwrap();
    let mut ch = weft_protos::common::ChannelHeader::decode(h.channel_header.as_slice()).unwrap();
    ch.timestamp = Some(prost_types::Timestamp::from(SystemTime::now() - age));
    ch.tls_cert_hash = tls_hash.to_vec();
    h.channel_header = ch.encode_to_vec();
    Envelope {
        payload: p.encode_to_vec(),
        signature: vec![],
    }
}

/// Serves `seek` on `channel`; the block numbers sent (None for a block
/// without data) and the outcome.
async fn serve(
    channel: &Arc<FakeChannel>,
    env: Envelope,
    binding: TlsBinding,
) -> (Vec<(u64, bool)>, Outcome) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(100);
    let c = channel.clone();
    let outcome = deliver_blocks(
        &env,
        DeliverSettings::default(),
        &binding,
        |id| (id == "ch").then_some(c),
        &tx,
        |_, b| b,
    )
    .await;
    drop(tx);
    let mut got = Vec::new();
    while let Some(b) = rx.recv().await {
        got.push((b.header.unwrap().number, b.data.is_some()));
    }
    (got, outcome)
}

fn numbers(got: &[(u64, bool)]) -> Vec<u64> {
    got.iter().map(|(n, _)| *n).collect()
}

#[tokio::test]
async fn a_request_without_a_nonce_is_served_as_fabrics_gateway_client_sends_it() {
    let c = FakeChannel::new(1);
    let env = request(&seek(oldest(), newest()), Duration::ZERO, &[]);
    let mut p = weft_protos::common::Payload::decode(env.payload.as_slice()).unwrap();
    let h = p.header.as_mut().unwrap();
    let mut sh =
        weft_protos::common::SignatureHeader::decode(h.signature_header.as_slice()).unwrap();
    sh.nonce.clear();
    h.signature_header = sh.encode_to_vec();
    let env = Envelope {
        payload: p.encode_to_vec(),
        signature: vec![],
    };
    let (got, outcome) = serve(&c, env, TlsBinding::default()).await;
    assert_eq!(
        (numbers(&got), outcome),
        (vec![0], Outcome::Status(Status::Success))
    );
}

#[tokio::test]
async fn blocks_from_start_to_stop_then_success() {
    let c = FakeChannel::new(4);
    let (got, outcome) = serve(
        &c,
        request(&seek(oldest(), newest()), Duration::ZERO, &[]),
        TlsBinding::default(),
    )
    .await;
    assert_eq!(numbers(&got), [0, 1, 2, 3]);
    assert_eq!(outcome, Outcome::Status(Status::Success));
    let (got, _) = serve(
        &c,
        request(&seek(newest(), newest()), Duration::ZERO, &[]),
        TlsBinding::default(),
    )
    .await;
    assert_eq!(numbers(&got), [3]);
}

#[tokio::test]
async fn next_commit_waits_for_the_next_block_only() {
    let c = FakeChannel::new(3);
    let env = request(&seek(next_commit(), at(3)), Duration::ZERO, &[]);
    let task = tokio::spawn({
        let c = c.clone();
        async move { serve(&c, env, TlsBinding::default()).await }
    });
    tokio::task::yield_now().await;
    c.append(false);
    let (got, outcome) = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        numbers(&got),
        [3],
        "not the newest block that was there before"
    );
    assert_eq!(outcome, Outcome::Status(Status::Success));
}

#[tokio::test]
async fn fail_if_not_ready_sends_what_exists_then_not_found() {
    let c = FakeChannel::new(3);
    let mut s = seek(oldest(), at(10));
    s.behavior = SeekBehavior::FailIfNotReady as i32;
    let (got, outcome) = serve(&c, request(&s, Duration::ZERO, &[]), TlsBinding::default()).await;
    assert_eq!(numbers(&got), [0, 1, 2]);
    assert_eq!(outcome, Outcome::Status(Status::NotFound));
}

#[tokio::test]
async fn refusals_carry_fabrics_statuses_and_send_nothing() {
    let c = FakeChannel::new(3);
    let none = TlsBinding::default();
    for (env, want) in [
        (
            request(&seek(at(4), at(5)), Duration::ZERO, &[]),
            Status::NotFound,
        ),
        (
            request(&seek(at(2), at(1)), Duration::ZERO, &[]),
            Status::BadRequest,
        ),
        (
            request(&seek(oldest(), None), Duration::ZERO, &[]),
            Status::BadRequest,
        ),
        (
            request(&seek(oldest(), newest()), Duration::from_secs(3600), &[]),
            Status::BadRequest,
        ),
        (
            Envelope {
                payload: vec![1, 2, 3],
                signature: vec![],
            },
            Status::BadRequest,
        ),
    ] {
        let (got, outcome) = serve(&c, env, none.clone()).await;
        assert!(got.is_empty());
        assert_eq!(outcome, Outcome::Status(want));
    }
    let mut other = request(&seek(oldest(), newest()), Duration::ZERO, &[]);
    let mut p = weft_protos::common::Payload::decode(other.payload.as_slice()).unwrap();
    let h = p.header.as_mut().unwrap();
    let mut ch = weft_protos::common::ChannelHeader::decode(h.channel_header.as_slice()).unwrap();
    ch.channel_id = "nosuch".into();
    h.channel_header = ch.encode_to_vec();
    other.payload = p.encode_to_vec();
    assert_eq!(
        serve(&c, other, none.clone()).await.1,
        Outcome::Status(Status::NotFound)
    );
    c.allowed.store(false, Ordering::SeqCst);
    let (got, outcome) = serve(
        &c,
        request(&seek(oldest(), newest()), Duration::ZERO, &[]),
        none,
    )
    .await;
    assert!(got.is_empty());
    assert_eq!(outcome, Outcome::Status(Status::Forbidden));
}

#[tokio::test]
async fn under_mutual_tls_a_request_is_bound_to_the_client_certificate() {
    let c = FakeChannel::new(1);
    let binding = TlsBinding {
        required_cert_hash: Some(vec![7; 32]),
    };
    let s = seek(oldest(), newest());
    let (_, outcome) = serve(&c, request(&s, Duration::ZERO, &[]), binding.clone()).await;
    assert_eq!(outcome, Outcome::Status(Status::BadRequest), "no hash");
    let (_, outcome) = serve(&c, request(&s, Duration::ZERO, &[8; 32]), binding.clone()).await;
    assert_eq!(
        outcome,
        Outcome::Status(Status::BadRequest),
        "another certificate's hash"
    );
    let (got, outcome) = serve(&c, request(&s, Duration::ZERO, &[7; 32]), binding).await;
    assert_eq!(
        (numbers(&got), outcome),
        (vec![0], Outcome::Status(Status::Success))
    );
}

#[tokio::test]
async fn access_is_checked_again_after_a_config_change() {
    let c = FakeChannel::new(2);
    let env = request(&seek(oldest(), at(u64::MAX)), Duration::ZERO, &[]);
    let task = tokio::spawn({
        let c = c.clone();
        async move { serve(&c, env, TlsBinding::default()).await }
    });
    // The stream is following new blocks; the config changes and revokes access.
    wait(|| *c.height.borrow() == 2 && c.height.receiver_count() >= 1).await;
    c.allowed.store(false, Ordering::SeqCst);
    c.sequence.store(1, Ordering::SeqCst);
    c.append(true);
    let (got, outcome) = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        numbers(&got),
        [0, 1],
        "the block after the change is not sent"
    );
    assert_eq!(outcome, Outcome::Status(Status::Forbidden));
}

/// A client whose certificate expires two seconds from now, following new
/// blocks when none come: its stream ends at the expiry, not at the next
/// block (which may be hours away on a quiet channel).
#[tokio::test]
async fn an_idle_stream_ends_when_its_client_certificate_expires() {
    use crate::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
    let ca = CertAuthority::new_root(
        &Subject::fabric_style("org1.example.com", "ca"),
        KeyType::EcdsaP256,
        Validity::days_from_now(1),
    )
    .unwrap();
    let now = unix(SystemTime::now());
    let cert = ca
        .issue(
            &Subject::fabric_style("org1.example.com", "User1"),
            &[],
            Usage::Signing,
            KeyType::EcdsaP256,
            Validity {
                not_before: now - 300,
                not_after: now + 2,
            },
        )
        .unwrap()
        .cert_pem;
    let creator = weft_protos::msp::SerializedIdentity {
        mspid: "Org1MSP".into(),
        id_bytes: cert.into_bytes(),
    }
    .encode_to_vec();
    let c = FakeChannel::new(1);
    let env = request_by(&seek(oldest(), at(u64::MAX)), Duration::ZERO, &[], &creator);
    let (got, outcome) = tokio::time::timeout(
        Duration::from_secs(10),
        serve(&c, env, TlsBinding::default()),
    )
    .await
    .expect("the stream ends at the expiry");
    assert_eq!(numbers(&got), [0]);
    assert_eq!(outcome, Outcome::Status(Status::Forbidden));
    assert!(unix(SystemTime::now()) > now + 2);
}

async fn wait(mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn header_with_sig_keeps_only_config_blocks_whole() {
    let c = FakeChannel::new(1);
    c.append(true);
    c.append(false);
    let mut s = seek(oldest(), newest());
    s.content_type = SeekContentType::HeaderWithSig as i32;
    let (got, _) = serve(&c, request(&s, Duration::ZERO, &[]), TlsBinding::default()).await;
    assert_eq!(got, [(0, false), (1, true), (2, false)]);
}

#[tokio::test]
async fn a_stream_serves_requests_in_turn_and_ends_after_a_failure() {
    let c = FakeChannel::new(2);
    let requests = vec![
        Ok(request(&seek(oldest(), oldest()), Duration::ZERO, &[])),
        Ok(request(&seek(at(9), at(9)), Duration::ZERO, &[])),
        Ok(request(&seek(oldest(), oldest()), Duration::ZERO, &[])),
    ];
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    run_stream(futures::stream::iter(requests), tx, Err, |env, tx| {
        let c = c.clone();
        async move {
            deliver_blocks(
                &env,
                DeliverSettings::default(),
                &TlsBinding::default(),
                |_| Some(c),
                &tx,
                |_, b| Ok(b.header.unwrap().number),
            )
            .await
        }
    })
    .await;
    let mut got = Vec::new();
    while let Some(r) = rx.recv().await {
        got.push(r);
    }
    assert_eq!(got, [Ok(0), Err(Status::Success), Err(Status::NotFound)]);
}
