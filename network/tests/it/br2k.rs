//! BR2K's experiment on weft (issue 22; the seed paper's Table 2): five
//! clients each send a steady stream of requests while an attacker cuts a
//! node off the network for 20 s, every 60–140 s, either the Raft leader
//! (leader rounds) or any orderer or peer (random rounds).
//! The clients' SDK gateways fail over between their org's peers and then
//! the other org's, so a cut-off gateway is a fault like any other.
//! Afterwards every acknowledged request must be in every peer's ledger
//! exactly once, nothing else may be there, and every peer must hold the
//! same chain and state (`weft_testkit::ledger_check`).
//!
//! The clients use the client SDK's bulk path: each second a client hands
//! `rate` requests (`CreateAsset` of a fresh id) to `bulk::submit_all` with a
//! journal of their own, so a transaction whose fate a fault hid is
//! resubmitted unchanged, never re-proposed.
//!
//! The default run lasts 2 minutes. `scripts/br2k.sh` runs it for longer;
//! these variables shape it (all optional):
//! `WEFT_BR2K_SECS` (120), `WEFT_BR2K_CUT_SECS` (20), `WEFT_BR2K_GAP_SECS`
//! (`60-140`, from one cut's start to the next), `WEFT_BR2K_TARGETS`
//! (`mixed`, `leader` or `random`), `WEFT_BR2K_RATE` (2 requests per second
//! per client), `WEFT_BR2K_SEED`, `WEFT_BR2K_REPORT` (a file for the result
//! table). Time is the experiment's parameter here: the attacker's schedule
//! and the clients' pace are timers; every wait for an outcome is a
//! condition with a timeout.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use weft_testkit::faults::Faults;

use crate::hosted::HostedNetwork;
use crate::load::{Load, LoadResult};

const CLIENTS: usize = 5;

/// The experiment's shape.
#[derive(Debug, Clone)]
struct Plan {
    duration: Duration,
    cut: Duration,
    gap: (u64, u64),
    targets: Targets,
    rate: usize,
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Targets {
    Leader,
    Random,
    Mixed,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not valid"))
        })
        .unwrap_or(default)
}

impl Plan {
    fn from_env() -> Self {
        let gap = std::env::var("WEFT_BR2K_GAP_SECS").unwrap_or_else(|_| "60-140".into());
        let (lo, hi) = gap
            .split_once('-')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .filter(|(a, b)| a <= b)
            .unwrap_or_else(|| panic!("WEFT_BR2K_GAP_SECS={gap:?}: want LOW-HIGH seconds"));
        let targets = match std::env::var("WEFT_BR2K_TARGETS").as_deref() {
            Ok("leader") => Targets::Leader,
            Ok("random") => Targets::Random,
            Ok("mixed") | Err(_) => Targets::Mixed,
            Ok(other) => panic!("WEFT_BR2K_TARGETS={other:?}: leader, random or mixed"),
        };
        let seed = env_or(
            "WEFT_BR2K_SEED",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
        );
        Self {
            duration: Duration::from_secs(env_or("WEFT_BR2K_SECS", 120)),
            cut: Duration::from_secs(env_or("WEFT_BR2K_CUT_SECS", 20)),
            gap: (lo, hi),
            targets,
            rate: env_or("WEFT_BR2K_RATE", 2),
            seed,
        }
    }
}

/// A small deterministic generator (xorshift), seeded from the plan.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// The result, laid out as BR2K's Table 2.
fn table(plan: &Plan, rows: &[(&str, String)]) -> String {
    let mut t = format!(
        "| BR2K experiment on weft | {} |\n|---|---|\n",
        match plan.targets {
            Targets::Leader => "Leader test",
            Targets::Random => "Random test",
            Targets::Mixed => "Leader and random rounds, alternating",
        }
    );
    for (what, value) in rows {
        t.push_str(&format!("| {what} | {value} |\n"));
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn br2k_five_clients_keep_sending_while_nodes_are_cut_off_and_nothing_is_lost_or_doubled() {
    let plan = Plan::from_env();
    let net = match HostedNetwork::start(2, 2, "250ms").await {
        Ok(n) => n,
        Err(why) => {
            eprintln!("skipping the BR2K experiment: {why}");
            return;
        }
    };
    let faults = Faults::new(&net.hosts);
    faults.note(format!("plan: {plan:?}"));
    let from_block = net.peer_heights().await.iter().map(|h| h.1).min().unwrap();

    // Any node may be cut off, gateways too: the clients' gateways fail
    // over to the next peer they trust.
    let targets: Vec<String> = net.node_hosts().collect();

    let load = Load::start(&net, CLIENTS, plan.rate);

    // Who leads, all along.
    let leader_changes = Arc::new(AtomicUsize::new(0));
    let watching = Arc::new(AtomicBool::new(true));
    let leaders: Arc<std::sync::Mutex<Vec<(Instant, String)>>> = Arc::default();
    let monitor = {
        let (changes, watching, leaders) =
            (leader_changes.clone(), watching.clone(), leaders.clone());
        let info = net.info.clone();
        tokio::spawn(async move {
            let mut last: Option<String> = None;
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            while watching.load(Ordering::Relaxed) {
                tick.tick().await;
                if let Some(h) = crate::hosted::leader(&info).await {
                    if last.as_ref().is_some_and(|l| *l != h) {
                        changes.fetch_add(1, Ordering::Relaxed);
                    }
                    if last.as_ref() != Some(&h) {
                        leaders.lock().unwrap().push((Instant::now(), h.clone()));
                    }
                    last = Some(h);
                }
            }
        })
    };

    // The attacker.
    let started = Instant::now();
    let mut dice = Dice(plan.seed | 1);
    let mut next_cut = started + Duration::from_secs(10);
    let (mut leader_rounds, mut random_rounds) = (0usize, 0usize);
    let mut round = 0usize;
    while next_cut + plan.cut <= started + plan.duration {
        tokio::time::sleep_until(next_cut.into()).await;
        let leader_round = match plan.targets {
            Targets::Leader => true,
            Targets::Random => false,
            Targets::Mixed => round.is_multiple_of(2),
        };
        let target = if leader_round {
            leader_rounds += 1;
            match net.leader().await {
                Some(h) => h,
                None => targets[dice.below(3) as usize].clone(),
            }
        } else {
            random_rounds += 1;
            targets[dice.below(targets.len() as u64) as usize].clone()
        };
        faults.note(format!(
            "round {round} ({}): cut {target} off for {:?}; {} requests sent so far",
            if leader_round { "leader" } else { "random" },
            plan.cut,
            load.sent()
        ));
        faults.isolate(&target);
        tokio::time::sleep(plan.cut).await;
        faults.heal(&target);
        round += 1;
        next_cut += Duration::from_secs(plan.gap.0 + dice.below(plan.gap.1 - plan.gap.0 + 1));
    }
    tokio::time::sleep_until((started + plan.duration).into()).await;
    faults.note(format!(
        "clients stop sending after {} requests; resolving what is in flight",
        load.sent()
    ));
    let result = load.finish().await;
    watching.store(false, Ordering::Relaxed);
    monitor.await.unwrap();
    let report = net
        .converge_and_check(&faults, &result.records, from_block)
        .await;
    let height = report.height;
    let LoadResult {
        sent: total,
        acknowledged,
        failed,
        unresolved,
        resubmitted,
        ..
    } = result;
    let rows = [
        ("Duration", format!("{:?}", plan.duration)),
        (
            "Frequency of network partition",
            format!("{}~{} sec, {:?} each", plan.gap.0, plan.gap.1, plan.cut),
        ),
        (
            "Faults injected",
            format!("{round} ({leader_rounds} leader, {random_rounds} random)"),
        ),
        (
            "# of leader changes",
            leader_changes.load(Ordering::Relaxed).to_string(),
        ),
        ("Requests sent (5 clients)", total.to_string()),
        ("Acknowledged (committed VALID)", acknowledged.to_string()),
        (
            "Resubmitted unchanged (fate hidden by a fault)",
            resubmitted.to_string(),
        ),
        (
            "Failed / left unresolved",
            format!("{failed} / {unresolved}"),
        ),
        (
            "Lost (acknowledged, missing on a peer)",
            report.missing.len().to_string(),
        ),
        (
            "Duplicated (VALID twice)",
            report.duplicated.len().to_string(),
        ),
        (
            "Unexplained (sent by nobody)",
            report.unexplained.len().to_string(),
        ),
        (
            "All peers identical (blocks, verdicts, commit hash)",
            if report.divergent.is_empty() {
                format!("yes: {} peers × {height} blocks", report.peers)
            } else {
                format!("NO: {}", report.divergent.join("; "))
            },
        ),
    ];
    let table = table(&plan, &rows);
    eprintln!("{}\n\n{table}\n{report}", faults.story());
    if let Ok(path) = std::env::var("WEFT_BR2K_REPORT") {
        let leaders: Vec<String> = leaders
            .lock()
            .unwrap()
            .iter()
            .map(|(t, h)| format!("{:>8.1}s {h}", t.duration_since(started).as_secs_f64()))
            .collect();
        std::fs::write(
            Path::new(&path),
            format!(
                "{table}\nseed {}\n\n## Story\n\n```\n{}\n```\n\n## Leaders\n\n```\n{}\n```\n\n## Check\n\n```\n{report}```\n",
                plan.seed,
                faults.story(),
                leaders.join("\n")
            ),
        )
        .unwrap();
    }
    assert!(report.ok(), "{report}\n{}", faults.story());
    assert_eq!(
        (failed, unresolved),
        (0, 0),
        "every request must end committed\n{}",
        faults.story()
    );
    assert_eq!(acknowledged, total, "{}", faults.story());
    assert!(round >= 1, "the attacker never struck");
}
