//! A peer pulling from orderers that send a corrupted block and a block signed
//! by someone who is not an orderer refuses each and fetches it from another.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{Stream, StreamExt};
use prost::Message;
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};
use weft_common::tls::{DynamicClientVerifier, TlsIdentity};
use weft_protos::common::{Block, Envelope, Payload};
use weft_protos::orderer::atomic_broadcast_server::{AtomicBroadcast, AtomicBroadcastServer};
use weft_protos::orderer::{
    BroadcastResponse, DeliverResponse, SeekInfo, deliver_response, seek_position,
};

use crate::net::*;
use crate::support::*;

type Responses<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Serves a fixed chain over Deliver (one of whose blocks is bad), then holds the stream open;
/// `bad_served` counts the requests that reached block `bad`.
pub struct FaultyOrderer {
    pub blocks: Vec<Block>,
    pub bad: u64,
    pub bad_served: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl AtomicBroadcast for FaultyOrderer {
    type BroadcastStream = Responses<BroadcastResponse>;
    type DeliverStream = Responses<DeliverResponse>;

    async fn broadcast(
        &self,
        _: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::BroadcastStream>, Status> {
        Err(Status::unimplemented("deliver only"))
    }

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverStream>, Status> {
        let env = request.into_inner().next().await.unwrap()?;
        let payload = Payload::decode(env.payload.as_slice()).unwrap();
        let seek = SeekInfo::decode(payload.data.as_slice()).unwrap();
        let Some(seek_position::Type::Specified(s)) = seek.start.unwrap().r#type else {
            panic!("the peer seeks a specified block");
        };
        let from = s.number as usize;
        if from as u64 <= self.bad {
            self.bad_served.fetch_add(1, Ordering::SeqCst);
        }
        let blocks: Vec<_> = self.blocks[from.min(self.blocks.len())..]
            .iter()
            .map(|b| {
                Ok(DeliverResponse {
                    r#type: Some(deliver_response::Type::Block(b.clone())),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(
            futures::stream::iter(blocks).chain(futures::stream::pending()),
        )))
    }
}

pub async fn serve(
    net: &Net,
    orderer: usize,
    svc: FaultyOrderer,
    shutdown: watch::Receiver<bool>,
) -> String {
    let od = net.orgs.orderer_dir(orderer);
    let id = TlsIdentity::load(&od.join("tls/server.crt"), &od.join("tls/server.key")).unwrap();
    let roots = [1, 2].map(|org| std::fs::read(net.orgs.org_tls_ca(org)).unwrap());
    let verifier = DynamicClientVerifier::new(&roots).unwrap();
    let tls = Arc::new(weft_common::tls::server_config(&id, verifier, &[b"h2"]).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming =
        weft_common::node::net::tls_incoming(listener, tls, Default::default(), shutdown.clone());
    let mut stop = shutdown;
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(AtomicBroadcastServer::new(svc))
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = stop.changed().await;
            })
            .await;
    });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn corrupted_and_wrongly_signed_blocks_are_refused_and_refetched() {
    let net = Net::start(1, 5).await;
    let orgs = &net.orgs;
    let (_, def) = define_chaincode(orgs, "basic", "OR('Org1MSP.peer')");
    net.broadcast(0, vec![def]).await;
    let tx = |i: usize| {
        endorsed_tx(
            "basic",
            rwset(vec![Ns::new("basic").write(&format!("k{i}"), b"v")]),
            &orgs.user(1),
            &[&orgs.peer(1)],
        )
        .1
    };
    net.broadcast(0, (0..20).map(tx).collect()).await;
    let height = net.settled_height().await;
    assert!(height >= 5, "{height}");
    let real: Vec<Block> = net.orderer_blocks(0, height);

    // Orderer A flips a byte in block 2's data; orderer B signs block 3 itself
    // with a peer's identity (not an orderer: BlockValidation fails).
    let mut corrupted = real.clone();
    corrupted[2].data.as_mut().unwrap().data[0][20] ^= 1;
    let mut forged = real.clone();
    forged[3].metadata.as_mut().unwrap().metadata[0].clear();
    weft_common::block::sign_block(&mut forged[3], 0, Vec::new(), &orgs.peer(1)).unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let a_bad = Arc::new(AtomicUsize::new(0));
    let b_bad = Arc::new(AtomicUsize::new(0));
    let a = serve(
        &net,
        2,
        FaultyOrderer {
            blocks: corrupted,
            bad: 2,
            bad_served: a_bad.clone(),
        },
        stop_rx.clone(),
    )
    .await;
    let b = serve(
        &net,
        3,
        FaultyOrderer {
            blocks: forged,
            bad: 3,
            bad_served: b_bad.clone(),
        },
        stop_rx,
    )
    .await;

    let peer = net.start_peer(1, 0).await;
    peer.core
        .set_orderer_endpoints(vec![a, b, net.orderer_endpoint(0)]);
    net.join(1, &peer).await;
    wait_height(&peer, height).await;
    assert!(
        a_bad.load(Ordering::SeqCst) >= 1 && b_bad.load(Ordering::SeqCst) >= 1,
        "both faulty orderers were asked"
    );
    let ledger = peer.core.channel(CHANNEL).unwrap().ledger().clone();
    for (n, b) in real.iter().enumerate() {
        let mine = ledger.block(n as u64).unwrap().unwrap();
        assert_eq!(mine.header, b.header, "block {n}");
        assert_eq!(mine.data, b.data, "block {n}");
    }
    assert_eq!(ledger.range("basic", "", "").unwrap().len(), 20);
    let _ = stop.send(true);
    peer.shutdown().await;
    net.shutdown().await;
}
