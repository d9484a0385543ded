//! Faults on real processes on separate hosts (issue 22's harness:
//! `weft_testkit::hosts` and `faults`), with three Raft orderers each on a
//! host of its own (`orderer_hosts`): leaders cut off, deafened, left in a
//! minority, stopped, killed round after round; a full disk. Every
//! acknowledged envelope must be in the chain exactly once, and every
//! orderer must hold the identical chain. Skips, saying why, where
//! namespaces cannot be made.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use weft_protos::common::Envelope;
use weft_testkit::faults::Faults;

use crate::orderer_hosts::{Flow, NAMES, Orderers, converged_exactly_once, envelope, ordered};
/// How a scenario takes the leader out, and brings it back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LeaderFault {
    /// Cut its host off from the others; heal it.
    Isolate,
    /// SIGSTOP it past its election timeout (it keeps its sockets but
    /// answers nothing); SIGCONT it.
    Stop,
    /// SIGKILL it mid-stream (mid-append); start it again over its data.
    Kill,
    /// It stops hearing the other orderers but can still send to them (a
    /// one-way partition); then hears again.
    Deaf,
    /// Partition it from the other two (a minority of one), watching it
    /// from outside: it must cut no block while the majority moves on.
    Minority,
}

/// The leader of three orderers on three hosts is taken out by `fault`
/// while a client streams envelopes through a follower: the majority must
/// elect another and order on; brought back, the old leader must follow
/// the majority's chain, with every acknowledged envelope in it once.
async fn leader_fault(fault: LeaderFault) {
    let orderers = match Orderers::start(tempfile::tempdir().unwrap()).await {
        Ok(o) => o,
        Err(why) => {
            eprintln!("skipping the fault test: {why}");
            return;
        }
    };
    let faults = Faults::new(&orderers.hosts);
    let mut leader = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while leader.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no leader");
        leader = orderers.leader().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let old = leader.unwrap();
    faults.note(format!("leader is {old}"));
    let via = NAMES.iter().copied().find(|h| *h != old).unwrap();

    // A client streams envelopes through a follower the whole time.
    let flow = Flow::through(&orderers, via).await;
    flow.acked_at_least(10, "the first acknowledgements").await;

    // The leader is taken out: the majority elects another and orders on.
    let others: Vec<&str> = NAMES.iter().copied().filter(|h| *h != old).collect();
    match fault {
        LeaderFault::Isolate => faults.isolate(old),
        LeaderFault::Stop => faults.stop(old, "orderer.log"),
        LeaderFault::Kill => faults.kill(old, "orderer.log"),
        LeaderFault::Deaf => faults.deafen(&[old], &others),
        LeaderFault::Minority => faults.partition(&[old], &others),
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let new = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the majority elected no leader\n{}\n{}",
            faults.story(),
            orderers.logs()
        );
        match orderers.leader().await {
            Some(h) if h != old => break h,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    faults.note(format!("{new} leads the majority"));
    // The stale leader, still reachable from here, takes an envelope.
    let stale = (fault == LeaderFault::Minority).then_some(());
    let stale_height = match stale {
        Some(()) => {
            let height = orderers.chain(old).await.len();
            let mut client = orderers.client(old).await;
            let answer = tokio::time::timeout(
                Duration::from_secs(5),
                client.broadcast(futures::stream::iter([envelope(&orderers.user, 900_000)])),
            )
            .await;
            let acked = match answer {
                Ok(Ok(answers)) => {
                    let mut answers = answers.into_inner();
                    matches!(
                        tokio::time::timeout(Duration::from_secs(5), answers.next()).await,
                        Ok(Some(Ok(a))) if a.status == 200
                    )
                }
                _ => false,
            };
            faults.note(format!(
                "the stale leader {old} has {height} blocks; an envelope sent to it {}",
                if acked {
                    "was ACKNOWLEDGED"
                } else {
                    "was not acknowledged"
                }
            ));
            assert!(
                !acked,
                "a leader cut off from the majority acknowledged an envelope\n{}",
                faults.story()
            );
            Some(height)
        }
        None => None,
    };
    let during = flow.count();
    flow.acked_at_least(
        during + 10,
        "the majority to order while the old leader is cut off",
    )
    .await;
    if let Some(height) = stale_height {
        let now = orderers.chain(old).await.len();
        faults.note(format!(
            "the majority ordered on; {old} still has {now} blocks"
        ));
        assert_eq!(
            now,
            height,
            "a stale leader cut a block\n{}",
            faults.story()
        );
    }

    // Back: the old leader follows the majority's chain.
    match fault {
        LeaderFault::Isolate => faults.heal(old),
        LeaderFault::Stop => faults.resume(old, "orderer.log"),
        LeaderFault::Kill => {
            faults.note(format!("restart {old}"));
            orderers.restart(old, "orderer-restarted.log").await;
        }
        LeaderFault::Deaf | LeaderFault::Minority => faults.mend(&NAMES),
    }
    let healed = flow.count();
    flow.acked_at_least(healed + 10, "envelopes after the heal")
        .await;
    let acked = flow.finish().await;
    faults.note(format!("{} envelopes acknowledged", acked.len()));
    converged_exactly_once(&orderers, &faults, &acked).await;
    assert!(acked.len() >= 10, "{}", faults.story());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_leader_cuts_no_block_and_rejoins_the_majoritys_chain() {
    leader_fault(LeaderFault::Isolate).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_stopped_past_its_election_timeout_rejoins_as_a_follower() {
    leader_fault(LeaderFault::Stop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_mid_stream_restarts_and_follows_the_new_leader() {
    leader_fault(LeaderFault::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_can_send_but_not_hear_loses_leadership_and_rejoins() {
    leader_fault(LeaderFault::Deaf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_leader_in_a_minority_cuts_no_block_and_follows_after_the_heal() {
    leader_fault(LeaderFault::Minority).await;
}

/// The Raft leader SIGKILLed mid-append again and again while a client
/// streams through a follower, restarted over its data each time:
/// `WEFT_LEADER_KILLS` rounds (3 by default; `scripts/soak.sh` runs 50).
/// Every acknowledged envelope is ordered exactly once and
/// all three chains are identical at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_mid_append_round_after_round_loses_and_doubles_nothing() {
    let rounds: usize = std::env::var("WEFT_LEADER_KILLS")
        .ok()
        .map(|v| v.parse().expect("WEFT_LEADER_KILLS is a number"))
        .unwrap_or(3);
    let orderers = match Orderers::start(tempfile::tempdir().unwrap()).await {
        Ok(o) => o,
        Err(why) => {
            eprintln!("skipping the fault test: {why}");
            return;
        }
    };
    let faults = Faults::new(&orderers.hosts);
    // Each host's current process, by log name.
    let mut logs: std::collections::HashMap<&str, String> = NAMES
        .iter()
        .map(|h| (*h, "orderer.log".to_string()))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    // The client moves to another orderer whenever its own is killed.
    let flow = {
        let (stop, count) = (stop.clone(), count.clone());
        let user = orderers.user.clone();
        let mut clients = Vec::new();
        for h in NAMES {
            clients.push(orderers.client(h).await);
        }
        tokio::spawn(async move {
            let (mut next, mut acked, mut via) = (0usize, Vec::new(), 0usize);
            while !stop.load(Ordering::Relaxed) {
                let envs: Vec<Envelope> = (next..next + 5).map(|i| envelope(&user, i)).collect();
                let client = &mut clients[via % 3];
                let answers = tokio::time::timeout(
                    Duration::from_secs(10),
                    client.broadcast(futures::stream::iter(envs)),
                )
                .await;
                let Ok(Ok(answers)) = answers else {
                    via += 1;
                    next += 5;
                    continue;
                };
                let mut answers = answers.into_inner();
                let mut i = next;
                loop {
                    match tokio::time::timeout(Duration::from_secs(10), answers.next()).await {
                        Ok(Some(Ok(a))) => {
                            if a.status == 200 {
                                acked.push(i);
                                count.fetch_add(1, Ordering::Relaxed);
                            }
                            i += 1;
                        }
                        Ok(None) => break,
                        _ => {
                            via += 1;
                            break;
                        }
                    }
                }
                next += 5;
            }
            acked
        })
    };
    for round in 0..rounds {
        let before = count.load(Ordering::Relaxed);
        weft_testkit::wait_for("acknowledgements", Duration::from_secs(60), || {
            count.load(Ordering::Relaxed) >= before + 10
        })
        .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let old = loop {
            if let Some(h) = orderers.leader().await {
                break h;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no leader\n{}",
                faults.story()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        faults.note(format!("round {round}: leader is {old}"));
        faults.kill(old, &logs[old]);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match orderers.leader().await {
                Some(h) if h != old => break,
                _ => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "no new leader\n{}\n{}",
                        faults.story(),
                        orderers.logs()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let log = format!("orderer-{round}.log");
        faults.note(format!("restart {old}"));
        orderers.restart(old, &log).await;
        logs.insert(old, log);
    }
    let before = count.load(Ordering::Relaxed);
    weft_testkit::wait_for(
        "acknowledgements after the last round",
        Duration::from_secs(60),
        || count.load(Ordering::Relaxed) >= before + 10,
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let acked = flow.await.unwrap();
    faults.note(format!(
        "{} envelopes acknowledged over {rounds} kills",
        acked.len()
    ));
    let chain = converged_exactly_once(&orderers, &faults, &acked).await;
    let indices = ordered(&chain);
    let chains = [chain];
    eprintln!(
        "{} leader kills: {} envelopes acknowledged, {} ordered, 0 lost, 0 doubled, 3 identical chains of {} blocks",
        rounds,
        acked.len(),
        indices.len(),
        chains[0].len()
    );
}

/// An orderer whose disk fills while the channel runs: its `/healthz` says
/// so at once and the other two order on. Restarted on the full disk, it
/// serves without opening its store (`/healthz` names why); when space
/// returns it opens the store, intact, and catches up to the identical
/// chain by itself, with every acknowledged envelope ordered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orderer_with_a_full_disk_stops_safely_says_so_and_recovers_intact() {
    let full = "o3";
    let orderers =
        match Orderers::start_with_disk(tempfile::tempdir().unwrap(), Some((full, 256))).await {
            Ok(o) => o,
            Err(why) => {
                eprintln!("skipping the fault test: {why}");
                return;
            }
        };
    let faults = Faults::new(&orderers.hosts);
    let data = orderers.hosts.host(full).dir.join("data");
    let flow = Flow::through(&orderers, "o1").await;
    flow.acked_at_least(10, "the first acknowledgements").await;
    faults.fill_disk(full, &data);

    // /healthz names the disk.
    let health_url = format!("http://{}/healthz", orderers.hosts.host(full).addr(8443));
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let health = loop {
        let r = http.get(&health_url).send().await.unwrap();
        let (status, body) = (r.status(), r.text().await.unwrap());
        if status == 503 && body.contains("disk") {
            break body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "healthz never named the disk: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    faults.note(format!("{full} /healthz: {health}"));

    // The others order on; whatever the full node acknowledged, it stored.
    let during = flow.count();
    flow.acked_at_least(during + 30, "the other two to order on")
        .await;
    let height_full = orderers.chain(full).await.len();
    let height_o1 = orderers.chain("o1").await.len();
    faults.note(format!("{full} has {height_full} blocks, o1 {height_o1}"));
    let health = http
        .get(&health_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    faults.note(format!("{full} /healthz now: {health}"));

    // Restarted on the full disk: it serves, opens no store (RocksDB
    // would meet the full disk), and says why.
    faults.kill(full, "orderer.log");
    faults.note(format!("restart {full} on its full disk"));
    orderers.restart(full, "orderer-restarted.log").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Ok(r) = http.get(&health_url).send().await {
            let body = r.text().await.unwrap_or_default();
            if body.contains("channels not opened") {
                break body;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restarted orderer never said why its channels are closed\n{}\n{}",
            faults.story(),
            orderers.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    faults.note(format!("{full} /healthz on a full disk: {health}"));

    // Space back: it opens its store, intact, and catches up by itself.
    faults.free_disk(full, &data);
    let healed = flow.count();
    flow.acked_at_least(healed + 10, "envelopes after the recovery")
        .await;
    let acked = flow.finish().await;
    converged_exactly_once(&orderers, &faults, &acked).await;
    let health = http.get(&health_url).send().await.unwrap();
    assert_eq!(health.status(), 200, "{}", faults.story());
    eprintln!("{}\n{}", faults.story(), orderers.logs());
}

/// Bad links rather than cut ones: every orderer loses 10% of the packets it
/// receives and the leader's link is slowed to 256 kbit/s behind a 300 ms
/// queue, while a client streams. Raft retransmits and the channel orders
/// on (perhaps with a new leader); restored, the three chains are
/// identical with every acknowledged envelope in them exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lossy_and_slow_links_delay_ordering_but_lose_and_double_nothing() {
    let orderers = match Orderers::start(tempfile::tempdir().unwrap()).await {
        Ok(o) => o,
        Err(why) => {
            eprintln!("skipping the fault test: {why}");
            return;
        }
    };
    let faults = Faults::new(&orderers.hosts);
    let flow = Flow::through(&orderers, "o1").await;
    flow.acked_at_least(10, "the first acknowledgements").await;
    let leader = orderers.leader().await.unwrap_or("o2");
    faults.note(format!("leader is {leader}"));
    for h in NAMES {
        faults.lose(h, 10);
    }
    faults.throttle(leader, 256, 300);
    let during = flow.count();
    flow.acked_at_least(during + 30, "ordering over bad links")
        .await;
    faults.unthrottle(leader);
    faults.mend(&NAMES);
    let after = flow.count();
    flow.acked_at_least(after + 10, "ordering over mended links")
        .await;
    let acked = flow.finish().await;
    faults.note(format!("{} envelopes acknowledged", acked.len()));
    converged_exactly_once(&orderers, &faults, &acked).await;
}
