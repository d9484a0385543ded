//! Soak tests: failures under load, again and again. The default run does a
//! few rounds; `./scripts/soak.sh` opts in to a long run (`WEFT_SOAK_ROUNDS`).

use std::time::Duration;

use weft_protos::common::Status;

use crate::support::*;

/// Rounds of the leader dying under load (`WEFT_SOAK_ROUNDS`, default 2):
/// in each, a client streams envelopes to a follower, the leader is killed
/// once blocks are being cut, and restarted when the stream is acknowledged.
/// At the end every node holds the same chain, with every envelope exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaders_die_again_and_again_under_load_and_every_envelope_is_ordered_once() {
    let rounds: usize = std::env::var("WEFT_SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let per_round = 2000;
    let (mut net, listeners) = Net::new(3, 100).await;
    net.start_and_join(listeners).await;
    let user = net.user();
    for round in 0..rounds {
        let leader = net.leader().await;
        let target = (leader + 1 + round % 2) % 3;
        let sent = round * per_round;
        let envs = (sent..sent + per_round)
            .map(|i| envelope(&user, CHANNEL, i, 200))
            .collect();
        let mut client = net.client(target).await;
        let acks = tokio::spawn(async move { broadcast(&mut client, envs).await });
        let from = net.height_of(target);
        let n = &net;
        wait_for("blocks to be cut", Duration::from_secs(60), || {
            n.height_of(target) >= from + 3
        })
        .await;
        net.nodes[leader].take().unwrap().shutdown().await;
        for (i, (status, info)) in acks.await.unwrap().into_iter().enumerate() {
            assert_eq!(
                status,
                Status::Success as i32,
                "round {round}, envelope {}: {info}",
                sent + i
            );
        }
        net.restart(leader).await;
        let goal = net.height_of(target);
        let n = &net;
        wait_for(
            "the restarted node to catch up",
            Duration::from_secs(60),
            || n.height_of(leader) >= goal,
        )
        .await;
        eprintln!("soak: round {round} done, height {goal}, leader {leader} killed");
    }
    let n = &net;
    let mut h = 0;
    wait_for("all nodes at one height", Duration::from_secs(60), || {
        h = (0..3).map(|i| n.height_of(i)).max().unwrap();
        (0..3).all(|i| n.height_of(i) == h)
    })
    .await;
    let chain = identical_chains(&net, h).await;
    assert_exactly_once(&chain[1..], rounds * per_round);
    for n in net.nodes.into_iter().flatten() {
        n.shutdown().await;
    }
}
