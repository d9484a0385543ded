//! A client that sends oversized messages, holds many requests or streams
//! open, or opens connections and never speaks: refused at the limit, with
//! the cause named, while the peer keeps serving.

use std::time::Duration;

use tonic::Code as GrpcCode;
use weft_common::node::net::ConnectionLimits;
use weft_protos::protos::SignedProposal;
use weft_protos::protos::deliver_client::DeliverClient;
use weft_protos::protos::endorser_client::EndorserClient;

use super::*;

/// A proposal the endorser refuses as malformed: proof that it was served.
fn junk(bytes: usize) -> SignedProposal {
    SignedProposal {
        proposal_bytes: vec![7; bytes],
        signature: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_and_too_many_proposals_are_refused() {
    let net = Net::start(1, 5).await;
    let peer = net
        .start_peer_configured(1, 0, |c| c.limits.max_recv_msg_size = 1024 * 1024)
        .await;
    let mut endorser = EndorserClient::new(net.user_channel(&peer).await);

    let big = endorser
        .process_proposal(junk(2 * 1024 * 1024))
        .await
        .unwrap_err();
    assert_eq!(big.code(), GrpcCode::OutOfRange, "{big:?}");
    assert!(
        big.message().contains("message length too large"),
        "{big:?}"
    );

    // Every place of peer.limits.concurrency.endorserService is taken.
    let places: Vec<_> = (0..peer.core.endorser_limit.limit())
        .map(|_| peer.core.endorser_limit.try_acquire().unwrap())
        .collect();
    let busy = endorser.process_proposal(junk(10)).await.unwrap_err();
    assert_eq!(busy.code(), GrpcCode::ResourceExhausted, "{busy:?}");
    assert!(
        busy.message()
            .contains("too many requests for protos.Endorser, exceeding concurrency limit"),
        "{busy:?}"
    );
    drop(places);
    let served = endorser.process_proposal(junk(10)).await.unwrap_err();
    assert_eq!(served.code(), GrpcCode::InvalidArgument, "{served:?}");
    peer.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_streams_beyond_the_limit_are_refused_until_one_ends() {
    let net = Net::start(1, 5).await;
    let peer = net
        .start_peer_configured(1, 0, |c| c.limits.deliver_concurrency = 1)
        .await;
    let mut deliver = DeliverClient::new(net.user_channel(&peer).await);
    let (hold, requests) = tokio::sync::mpsc::channel::<weft_protos::common::Envelope>(1);
    let open = deliver
        .deliver(tokio_stream::wrappers::ReceiverStream::new(requests))
        .await
        .unwrap();
    let idle = futures::stream::pending::<weft_protos::common::Envelope>();
    let refused = deliver.deliver(idle).await.unwrap_err();
    assert_eq!(refused.code(), GrpcCode::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("protos.Deliver"), "{refused:?}");

    drop((hold, open));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let idle = futures::stream::pending::<weft_protos::common::Envelope>();
        match deliver.deliver(idle).await {
            Ok(_) => break,
            Err(e) => {
                assert_eq!(e.code(), GrpcCode::ResourceExhausted, "{e:?}");
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the ended stream gave its place back"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    peer.shutdown().await;
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_handshake_lose_their_place() {
    let net = Net::start(1, 5).await;
    let limits = ConnectionLimits {
        max_connections: 4,
        handshake_timeout: Duration::from_millis(500),
    };
    let peer = net
        .start_peer_configured(1, 0, |c| c.limits.connections = limits)
        .await;
    // The attacker takes every place with TCP connections that say nothing.
    let mut silent = Vec::new();
    for _ in 0..limits.max_connections {
        silent.push(tokio::net::TcpStream::connect(peer.addr).await.unwrap());
    }
    // A client still gets in once the handshake timeout frees the places.
    let started = tokio::time::Instant::now();
    let mut endorser = EndorserClient::new(net.user_channel(&peer).await);
    let served = endorser.process_proposal(junk(10)).await.unwrap_err();
    assert_eq!(served.code(), GrpcCode::InvalidArgument, "{served:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    for mut s in silent {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("the peer closes a silent connection")
            .unwrap_or(0);
        assert_eq!(n, 0, "closed without a word");
    }
    peer.shutdown().await;
    net.shutdown().await;
}

/// Fabric counts every gateway call in flight against
/// `peer.limits.concurrency.gatewayService`, streams for their whole life:
/// so are open chaincode-event streams and CommitStatus calls waiting for a
/// commit, and a client cannot pile up waiters beyond the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_and_commit_waits_hold_a_gateway_place() {
    use weft_protos::gateway::gateway_client::GatewayClient;
    use weft_protos::gateway::{CommitStatusRequest, SignedCommitStatusRequest};

    let net = Net::start(1, 5).await;
    let peer = net
        .start_peer_configured(1, 0, |c| c.gateway_concurrency = 1)
        .await;
    net.join(1, &peer).await;
    let user = net.orgs.user(1);
    let mut gateway = GatewayClient::new(net.user_channel(&peer).await);
    let status_request = {
        let request = CommitStatusRequest {
            transaction_id: "never-submitted".into(),
            channel_id: CHANNEL.into(),
            identity: user.serialized().to_vec(),
        }
        .encode_to_vec();
        SignedCommitStatusRequest {
            signature: user.sign(&request).unwrap(),
            request,
        }
    };

    let stream = gateway
        .chaincode_events(events_request(&user))
        .await
        .unwrap()
        .into_inner();
    let busy = gateway
        .commit_status(status_request.clone())
        .await
        .unwrap_err();
    assert_eq!(busy.code(), GrpcCode::ResourceExhausted, "{busy:?}");

    // The stream ends: its place is free again, and a CommitStatus call takes
    // it and waits (for a transaction that never comes).
    drop(stream);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut g = gateway.clone();
        let call = tokio::time::timeout(
            Duration::from_millis(300),
            g.commit_status(status_request.clone()),
        )
        .await;
        match call {
            Err(_) => break, // admitted, waiting for the commit
            Ok(Err(e)) => {
                assert_eq!(e.code(), GrpcCode::ResourceExhausted, "{e:?}");
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the ended stream gave its place back"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(Ok(r)) => panic!("a status for a transaction never submitted: {r:?}"),
        }
    }
    peer.shutdown().await;
    net.shutdown().await;
}
