//! A listener whose process is out of file descriptors (EMFILE) backs off
//! between accept attempts instead of spinning on the error, and serves again
//! once descriptors are free. Its own test binary: it lowers the process's
//! descriptor limit.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rustix::process::{Resource, getrlimit, setrlimit};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing_subscriber::layer::SubscriberExt;
use weft_common::node::net::{ConnectionLimits, tcp_incoming};

/// Records when each "accept failed" warning was logged.
#[derive(Clone, Default)]
struct AcceptFailures(Arc<Mutex<Vec<Instant>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for AcceptFailures {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{v:?}");
                }
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        if m.0.contains("accept failed") {
            self.0.lock().unwrap().push(Instant::now());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_the_accept_loop_backs_off_and_recovers() {
    let failures = AcceptFailures::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(failures.clone()))
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_stop, shutdown) = watch::channel(false);
    let mut incoming = Box::pin(tcp_incoming(
        listener,
        ConnectionLimits::default(),
        shutdown,
    ));

    // Use up every descriptor but one under a lowered limit, then connect:
    // the client's socket takes the last one, so the listener cannot accept.
    let limit = getrlimit(Resource::Nofile);
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    setrlimit(
        Resource::Nofile,
        rustix::process::Rlimit {
            current: Some(open + 64),
            maximum: limit.maximum,
        },
    )
    .unwrap();
    let mut fillers = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        fillers.push(f);
    }
    fillers.pop();
    let client = std::net::TcpStream::connect(addr).unwrap();

    // The loop retries with growing pauses: six failures take at least
    // 5 + 10 + 20 + 40 + 80 ms; a spinning loop would log thousands.
    let deadline = Instant::now() + Duration::from_secs(20);
    while failures.0.lock().unwrap().len() < 6 {
        assert!(Instant::now() < deadline, "accept never failed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let times = failures.0.lock().unwrap().clone();
    assert!(
        times[5] - times[0] >= Duration::from_millis(150),
        "six attempts in {:?}: no back-off",
        times[5] - times[0]
    );

    // Descriptors free again: the waiting client is accepted.
    drop(fillers);
    let served = tokio::time::timeout(Duration::from_secs(5), incoming.next())
        .await
        .expect("accepted once descriptors are free")
        .unwrap()
        .unwrap();
    assert_eq!(
        served.get_ref().peer_addr().unwrap(),
        client.local_addr().unwrap()
    );
    setrlimit(Resource::Nofile, limit).unwrap();
}
