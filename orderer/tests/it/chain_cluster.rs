//! A cluster of `Chain`s wired together in memory: real Raft, real signing
//! identities, and in-memory stores (held to the RocksDB store's behaviour by
//! the storage conformance suite); messages are delivered by the harness,
//! which can isolate and restart nodes. (One file: the harness and the
//! scenarios it drives are read together.)

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use prost::Message as _;
use weft_common::block::{check_data_hash, check_link, new_block};
use weft_common::crypto::sha256;
use weft_common::msp::SigningIdentity;
use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
use weft_orderer::chain::{Chain, ChainEvent, ChainSettings, Offer};
use weft_orderer::cutter::BatchLimits;
use weft_orderer::storage::{ChannelStorage, MemoryStore};
use weft_protos::common::Block;

struct Harness {
    nodes: BTreeMap<u64, Chain<MemoryStore>>,
    stores: BTreeMap<u64, MemoryStore>,
    signers: BTreeMap<u64, SigningIdentity>,
    isolated: HashSet<u64>,
    queue: VecDeque<raft::prelude::Message>,
    committed: HashMap<u64, Vec<[u8; 32]>>,
    need_blocks: HashMap<u64, u64>,
    settings: ChainSettings,
    now: Instant,
}

fn orderer_identity(ca: &CertAuthority, n: u64) -> SigningIdentity {
    let issued = ca
        .issue(
            &Subject::fabric_style("example.com", &format!("orderer{n}")).with_ou("orderer"),
            &[],
            Usage::Signing,
            KeyType::EcdsaP256,
            Validity::days_from_now(30),
        )
        .unwrap();
    issued.signing_identity("OrdererMSP".into()).unwrap()
}

impl Harness {
    fn new(n: u64, limits: BatchLimits, snapshot_interval_bytes: u64) -> Self {
        let ca = CertAuthority::new_root(
            &Subject::fabric_style("example.com", "ca"),
            KeyType::EcdsaP256,
            Validity::days_from_now(30),
        )
        .unwrap();
        let settings = ChainSettings {
            node_id: 0,
            membership: weft_orderer::membership::Membership::genesis(
                (1..=n).map(|i| vec![i as u8]).collect(),
            ),
            joining: false,
            election_tick: 10,
            heartbeat_tick: 1,
            limits,
            snapshot_interval_bytes,
        };
        let genesis = new_block(0, vec![], vec![b"genesis config".to_vec()]).encode_to_vec();
        let mut h = Harness {
            nodes: BTreeMap::new(),
            stores: BTreeMap::new(),
            signers: BTreeMap::new(),
            isolated: HashSet::new(),
            queue: VecDeque::new(),
            committed: HashMap::new(),
            need_blocks: HashMap::new(),
            settings,
            now: Instant::now(),
        };
        for id in 1..=n {
            let store = MemoryStore::new();
            store.append_block(0, &genesis).unwrap();
            h.stores.insert(id, store);
            h.signers.insert(id, orderer_identity(&ca, id));
            h.start(id);
        }
        h
    }

    fn start(&mut self, id: u64) {
        let store = self.stores[&id].clone();
        let settings = ChainSettings {
            node_id: id,
            ..self.settings.clone()
        };
        self.nodes.insert(
            id,
            Chain::open(store, self.signers[&id].clone(), settings).unwrap(),
        );
    }

    fn stop(&mut self, id: u64) {
        self.nodes.remove(&id); // a crash: what the store holds is what it had written
    }

    /// Delivers messages and processes readies until quiet.
    fn settle(&mut self) {
        for _ in 0..200_000 {
            for (id, chain) in self.nodes.iter_mut() {
                chain.process().unwrap();
                for m in chain.take_messages() {
                    if !self.isolated.contains(id) {
                        self.queue.push_back(m);
                    }
                }
                for e in chain.take_events() {
                    match e {
                        ChainEvent::BlockWritten { envelopes, .. } => {
                            self.committed.entry(*id).or_default().extend(envelopes)
                        }
                        ChainEvent::NeedBlocks { height } => {
                            self.need_blocks.insert(*id, height);
                        }
                        ChainEvent::LeaderChanged(_) | ChainEvent::MembershipChanged(_) => {}
                    }
                }
            }
            match self.queue.pop_front() {
                Some(m) if !self.isolated.contains(&m.to) => {
                    if let Some(c) = self.nodes.get_mut(&m.to) {
                        c.step(m).unwrap();
                    }
                }
                Some(_) => {}
                None => return,
            }
        }
        panic!("cluster did not settle");
    }

    /// Ticks every node `n` times (advancing logical time), settling in between.
    fn ticks(&mut self, n: usize) {
        for _ in 0..n {
            for c in self.nodes.values_mut() {
                c.tick();
            }
            self.now += Duration::from_millis(50);
            for c in self.nodes.values_mut() {
                c.on_time(self.now).unwrap();
            }
            self.settle();
        }
    }

    /// Ticks node `id` alone, dropping what it sends, until it no longer
    /// waits for its leader (its check-quorum lease has run out), so that it
    /// grants another node's vote.
    fn outlast_lease(&mut self, id: u64) {
        let node = self.nodes.get_mut(&id).unwrap();
        for _ in 0..2 * self.settings.election_tick {
            node.tick();
            node.process().unwrap();
            node.take_messages();
        }
    }

    fn leader(&self) -> Option<u64> {
        self.nodes
            .iter()
            .find(|(id, c)| c.is_leader() && !self.isolated.contains(id))
            .map(|(id, _)| *id)
    }

    fn elect(&mut self) -> u64 {
        for _ in 0..100 {
            if let Some(l) = self.leader() {
                return l;
            }
            self.ticks(1);
        }
        panic!("no leader elected");
    }

    fn offer(&mut self, to: u64, env: Vec<u8>) -> Offer {
        let now = self.now;
        self.nodes.get_mut(&to).unwrap().order(env, now).unwrap()
    }

    fn chain_of(&self, id: u64) -> Vec<Block> {
        let store = self.nodes[&id].store();
        (0..store.height().unwrap())
            .map(|n| Block::decode(store.block(n).unwrap().unwrap().as_slice()).unwrap())
            .collect()
    }
}

fn env(i: usize) -> Vec<u8> {
    format!("envelope-{i:06}-{}", "x".repeat(64)).into_bytes()
}

fn limits() -> BatchLimits {
    BatchLimits {
        max_message_count: 50,
        preferred_max_bytes: 512 * 1024,
        timeout: Duration::from_millis(200),
    }
}

/// Headers and data are identical on every node, and the chain links.
fn assert_identical_chains(h: &Harness, ids: &[u64]) {
    let reference = h.chain_of(ids[0]);
    for pair in reference.windows(2) {
        check_link(&pair[0], &pair[1]).unwrap();
        check_data_hash(&pair[1]).unwrap();
    }
    for id in &ids[1..] {
        let other = h.chain_of(*id);
        assert_eq!(other.len(), reference.len(), "node {id} height");
        for (a, b) in reference.iter().zip(&other) {
            assert_eq!(a.header, b.header);
            assert_eq!(a.data, b.data);
        }
    }
}

fn envelopes_in(chain: &[Block]) -> Vec<Vec<u8>> {
    chain[1..]
        .iter()
        .flat_map(|b| b.data.clone().unwrap().data)
        .collect()
}

#[test]
fn followers_redirect_and_all_nodes_build_the_same_chain() {
    let mut h = Harness::new(3, limits(), 0);
    let leader = h.elect();
    let follower = (1..=3).find(|i| *i != leader).unwrap();
    assert_eq!(h.offer(follower, env(0)), Offer::NotLeader(leader));
    for i in 0..1000 {
        assert_eq!(h.offer(leader, env(i)), Offer::Accepted);
        if i % 100 == 0 {
            h.settle();
        }
    }
    assert_eq!(
        h.offer(leader, env(999)),
        Offer::Duplicate,
        "a resubmission is not ordered twice"
    );
    h.ticks(10); // batch timeout cuts the rest
    assert_identical_chains(&h, &[1, 2, 3]);
    let envs = envelopes_in(&h.chain_of(1));
    assert_eq!(
        envs,
        (0..1000).map(env).collect::<Vec<_>>(),
        "every envelope once, in order"
    );
    assert!(
        h.chain_of(1)[1..]
            .iter()
            .all(|b| b.data.as_ref().unwrap().data.len() <= 50),
        "MaxMessageCount holds"
    );
    // The leader's entries carry their envelopes' digests, and every node
    // reports those for the blocks it wrote: each envelope's SHA-256, in order.
    let expected: Vec<[u8; 32]> = (0..1000).map(|i| sha256(&env(i))).collect();
    for id in 1..=3 {
        assert_eq!(h.committed[&id], expected, "digests reported by node {id}");
    }
    let store = h.nodes[&1].store();
    let entries = raft::Storage::entries(
        store,
        raft::Storage::first_index(store).unwrap(),
        raft::Storage::last_index(store).unwrap() + 1,
        None,
        raft::GetEntriesContext::empty(false),
    )
    .unwrap();
    let in_log: Vec<&[u8]> = entries
        .iter()
        .filter(|e| !e.data.is_empty())
        .flat_map(|e| e.context.chunks(32))
        .collect();
    assert_eq!(in_log, expected.iter().map(|d| &d[..]).collect::<Vec<_>>());
}

#[test]
fn a_new_leader_takes_over_and_nothing_is_lost_or_duplicated() {
    let mut h = Harness::new(3, limits(), 0);
    let first = h.elect();
    for i in 0..300 {
        h.offer(first, env(i));
    }
    h.settle();
    // Cut the leader off mid-stream: it keeps accepting, but nothing it does reaches the others.
    h.isolated.insert(first);
    for i in 300..400 {
        h.offer(first, env(i));
    }
    h.ticks(40);
    let second = h.elect();
    assert_ne!(first, second);
    // Clients resubmit everything they were not told was committed (here: all of 0..400)
    // to the new leader; already ordered ones are dropped as duplicates.
    let committed_on_second: HashSet<[u8; 32]> = h
        .committed
        .get(&second)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    for i in 0..400 {
        let offer = h.offer(second, env(i));
        if committed_on_second.contains(&sha256(&env(i))) {
            assert_eq!(
                offer,
                Offer::Duplicate,
                "envelope {i} was committed already"
            );
        }
    }
    h.ticks(10);
    // The old leader rejoins and follows.
    h.isolated.clear();
    h.ticks(30);
    assert_identical_chains(&h, &[1, 2, 3]);
    let mut envs = envelopes_in(&h.chain_of(second));
    envs.sort();
    let mut want: Vec<Vec<u8>> = (0..400).map(env).collect();
    want.sort();
    assert_eq!(envs, want, "each of the 400 envelopes exactly once");
}

/// The async shell steps several Raft messages and offers before it
/// processes a Ready. A node that wins an election in one of those steps must
/// build on the blocks in its log (and know their envelopes) before it takes
/// an offer, even though it has not processed a Ready as leader yet.
#[test]
fn a_leader_offered_envelopes_before_its_first_ready_builds_on_its_log() {
    let mut h = Harness::new(3, limits(), 0);
    let old = h.elect();
    let (new, other) = {
        let mut rest = (1..=3).filter(|i| *i != old);
        (rest.next().unwrap(), rest.next().unwrap())
    };
    // One full batch: the old leader proposes it at once. Its appends reach
    // both followers, who persist them, but their answers never come back:
    // the old leader dies with the block replicated and not committed.
    for i in 0..50 {
        assert_eq!(h.offer(old, env(i)), Offer::Accepted);
    }
    let leader = h.nodes.get_mut(&old).unwrap();
    leader.process().unwrap();
    for m in leader.take_messages() {
        let to = h.nodes.get_mut(&m.to).unwrap();
        to.step(m).unwrap();
        to.process().unwrap();
        to.take_messages();
    }
    h.stop(old);
    assert_eq!(
        h.nodes[&new].store().height().unwrap(),
        1,
        "not committed yet"
    );
    // `other` stops waiting for the dead leader (its lease runs out), then
    // `new` campaigns and `other` answers.
    h.outlast_lease(other);
    // The message that makes `new` leader is stepped without a Ready being
    // processed after it, as in the shell.
    h.nodes.get_mut(&new).unwrap().campaign().unwrap();
    let mut won = false;
    for _ in 0..20 {
        let chain = h.nodes.get_mut(&new).unwrap();
        chain.process().unwrap();
        let mut answers = Vec::new();
        for m in chain.take_messages().into_iter().filter(|m| m.to == other) {
            let voter = h.nodes.get_mut(&other).unwrap();
            voter.step(m).unwrap();
            voter.process().unwrap();
            answers.extend(voter.take_messages().into_iter().filter(|m| m.to == new));
        }
        let chain = h.nodes.get_mut(&new).unwrap();
        for m in answers {
            chain.step(m).unwrap();
        }
        if chain.is_leader() {
            won = true;
            break;
        }
    }
    assert!(won, "{new} won the election");
    // A client resubmits an envelope of the uncommitted block, and sends a new one.
    assert_eq!(
        h.offer(new, env(7)),
        Offer::Duplicate,
        "the envelope is in the new leader's log"
    );
    assert_eq!(h.offer(new, env(50)), Offer::Accepted);
    h.ticks(20);
    assert_identical_chains(&h, &[new, other]);
    let labels = |envs: Vec<Vec<u8>>| -> Vec<String> {
        envs.iter()
            .map(|e| String::from_utf8_lossy(&e[..15]).into_owned())
            .collect()
    };
    assert_eq!(
        labels(envelopes_in(&h.chain_of(new))),
        labels((0..=50).map(env).collect()),
        "the old leader's block, then the new envelope, each once"
    );
}

/// A leader that loses its leadership with envelopes pending, or proposed and
/// never committed, forgets them: when it leads again, a client's
/// resubmission is ordered, not taken for a duplicate of an envelope that was
/// never ordered. Likewise it no longer waits for a config update it proposed.
#[test]
fn a_deposed_leader_forgets_what_it_never_ordered() {
    let mut h = Harness::new(3, limits(), 0);
    let first = h.elect();
    // Pending in its cutter (below MaxMessageCount, before BatchTimeout).
    for i in 0..10 {
        assert_eq!(h.offer(first, env(i)), Offer::Accepted);
    }
    h.isolated.insert(first);
    // Cut off, it still takes a config update (which first cuts the pending
    // envelopes into a block): both proposed, neither committed.
    let config = h
        .nodes
        .get_mut(&first)
        .unwrap()
        .order_config(b"config update".to_vec())
        .unwrap();
    assert_eq!(config, Offer::Accepted);
    assert!(h.nodes[&first].config_pending());
    h.ticks(40);
    let second = h.elect();
    assert_ne!(first, second);
    h.isolated.clear();
    h.ticks(5);
    assert!(!h.nodes[&first].is_leader(), "the old leader follows");
    assert!(!h.nodes[&first].config_pending());
    // Depose leaders until `first` leads again.
    for _ in 0..20 {
        match h.leader() {
            Some(l) if l == first => break,
            Some(l) => {
                h.isolated.insert(l);
                h.ticks(40);
                h.isolated.clear();
                h.ticks(5);
            }
            None => h.ticks(1),
        }
    }
    assert_eq!(h.leader(), Some(first), "{first} leads again");
    for i in 0..10 {
        assert_eq!(
            h.offer(first, env(i)),
            Offer::Accepted,
            "envelope {i} was never ordered"
        );
    }
    h.ticks(10);
    assert_identical_chains(&h, &[1, 2, 3]);
    assert_eq!(envelopes_in(&h.chain_of(first)).len(), 10);
}

#[test]
fn a_stopped_node_restarts_from_disk_and_catches_up() {
    let mut h = Harness::new(3, limits(), 0);
    let leader = h.elect();
    let victim = (1..=3).find(|i| *i != leader).unwrap();
    for i in 0..100 {
        h.offer(leader, env(i));
    }
    h.ticks(5);
    let height_before = h.nodes[&victim].store().height().unwrap();
    h.stop(victim);
    for i in 100..250 {
        h.offer(leader, env(i));
    }
    h.ticks(5);
    h.start(victim);
    assert_eq!(
        h.nodes[&victim].store().height().unwrap(),
        height_before,
        "restarts at its own height"
    );
    h.ticks(20);
    assert_identical_chains(&h, &[1, 2, 3]);
    assert_eq!(envelopes_in(&h.chain_of(victim)).len(), 250);
}

/// A node that restarts remembers the envelopes of the blocks it wrote
/// before: leading again, it drops a resubmission of one.
#[test]
fn a_restarted_leader_still_knows_what_it_ordered() {
    let mut h = Harness::new(1, limits(), 0);
    let leader = h.elect();
    for i in 0..10 {
        assert_eq!(h.offer(leader, env(i)), Offer::Accepted);
    }
    h.ticks(10);
    h.stop(leader);
    h.start(leader);
    assert_eq!(h.elect(), leader);
    assert_eq!(h.offer(leader, env(3)), Offer::Duplicate);
    assert_eq!(h.offer(leader, env(10)), Offer::Accepted);
    h.ticks(10);
    assert_eq!(
        envelopes_in(&h.chain_of(leader)),
        (0..=10).map(env).collect::<Vec<_>>()
    );
}

/// A cluster that snapshots after every ~4 KiB of blocks, so its log is
/// compacted while `victim` is away: 300 envelopes are ordered without it,
/// then it restarts, is sent a snapshot and asks for the blocks it skipped
/// (not transferred yet). Returns (harness, leader, victim).
fn victim_restored_from_a_snapshot() -> (Harness, u64, u64) {
    let mut h = Harness::new(
        3,
        BatchLimits {
            max_message_count: 10,
            ..limits()
        },
        4 * 1024,
    );
    let leader = h.elect();
    let victim = (1..=3).find(|i| *i != leader).unwrap();
    h.stop(victim);
    for i in 0..300 {
        h.offer(leader, env(i));
        if i % 50 == 0 {
            h.settle();
        }
    }
    h.ticks(5);
    h.start(victim);
    let mut asked = None;
    for _ in 0..50 {
        h.ticks(1);
        if let Some(height) = h.need_blocks.remove(&victim) {
            asked = Some(height);
            break;
        }
    }
    asked.expect("the lagging node was sent a snapshot and asked for blocks");
    (h, leader, victim)
}

#[test]
fn a_lagging_node_catches_up_from_a_snapshot_plus_block_transfer() {
    let (mut h, leader, victim) = victim_restored_from_a_snapshot();
    // More blocks commit while the node is still behind: it keeps them aside.
    for i in 300..320 {
        h.offer(leader, env(i));
    }
    h.ticks(10);
    assert!(
        h.nodes[&victim]
            .store()
            .highest_stashed()
            .unwrap()
            .is_some(),
        "blocks past the gap were stashed"
    );
    // It crashes mid catch-up and restarts: it asks for the blocks again.
    h.stop(victim);
    h.start(victim);
    h.settle();
    let asked_again = h
        .need_blocks
        .remove(&victim)
        .expect("asks again after a restart");
    let from = h.nodes[&victim].store().height().unwrap();
    assert!(asked_again > from);
    let leader_height = h.nodes[&leader].store().height().unwrap();
    let blocks: Vec<Vec<u8>> = (from..leader_height)
        .map(|n| h.nodes[&leader].store().block(n).unwrap().unwrap())
        .collect();
    // A tampered block is refused, and nothing after it is written.
    let mut bad = blocks.clone();
    let mut b = Block::decode(bad[0].as_slice()).unwrap();
    b.data.as_mut().unwrap().data[0] = b"forged".to_vec();
    bad[0] = b.encode_to_vec();
    assert!(h.nodes.get_mut(&victim).unwrap().catch_up(&bad).is_err());
    assert_eq!(h.nodes[&victim].store().height().unwrap(), from);
    h.nodes.get_mut(&victim).unwrap().catch_up(&blocks).unwrap();
    for i in 320..330 {
        h.offer(leader, env(i));
    }
    h.ticks(10);
    assert_identical_chains(&h, &[1, 2, 3]);
    assert_eq!(envelopes_in(&h.chain_of(victim)).len(), 330);
}

/// A node still fetching the blocks a snapshot skipped can win an election.
/// It takes no offers until it has written them (it could not tell a
/// resubmission of their envelopes from a new one), then numbers its blocks
/// after the newest block it has applied, not after the newest one it had
/// written when it took over.
#[test]
fn a_leader_still_fetching_blocks_after_a_snapshot_continues_the_chain() {
    let (mut h, leader, victim) = victim_restored_from_a_snapshot();
    let other = (1..=3).find(|i| *i != leader && *i != victim).unwrap();
    let behind = h.nodes[&victim].store().height().unwrap();
    assert!(
        behind < h.nodes[&leader].store().height().unwrap(),
        "restored from a snapshot, blocks not fetched yet"
    );
    // The leader dies; `other`'s lease runs out; the lagging node wins.
    h.stop(leader);
    h.outlast_lease(other);
    h.nodes.get_mut(&victim).unwrap().campaign().unwrap();
    h.settle();
    assert_eq!(h.leader(), Some(victim));
    assert_eq!(h.nodes[&victim].store().height().unwrap(), behind);
    // A client resubmits an envelope of a block the new leader has not fetched.
    assert_eq!(h.offer(victim, env(42)), Offer::NotLeader(victim));
    // It fetches what it lacks from `other`, then takes offers.
    let upto = h.nodes[&other].store().height().unwrap();
    let blocks: Vec<Vec<u8>> = (behind..upto)
        .map(|n| h.nodes[&other].store().block(n).unwrap().unwrap())
        .collect();
    h.nodes.get_mut(&victim).unwrap().catch_up(&blocks).unwrap();
    assert_eq!(h.offer(victim, env(42)), Offer::Duplicate);
    for i in 300..320 {
        assert_eq!(h.offer(victim, env(i)), Offer::Accepted);
    }
    h.ticks(10);
    assert_identical_chains(&h, &[victim, other]);
    let mut envs = envelopes_in(&h.chain_of(other));
    envs.sort();
    let mut want: Vec<Vec<u8>> = (0..320).map(env).collect();
    want.sort();
    assert!(envs == want, "each of the 320 envelopes exactly once");
}

/// A leader that cannot catch up (nobody sends it the blocks it lacks) does
/// not hold the channel: after an election timeout it hands leadership to an
/// up-to-date follower, which orders again.
#[test]
fn a_leader_that_cannot_catch_up_hands_leadership_over() {
    let (mut h, leader, victim) = victim_restored_from_a_snapshot();
    let other = (1..=3).find(|i| *i != leader && *i != victim).unwrap();
    let behind = h.nodes[&victim].store().height().unwrap();
    h.stop(leader);
    h.outlast_lease(other);
    h.nodes.get_mut(&victim).unwrap().campaign().unwrap();
    h.settle();
    assert_eq!(h.leader(), Some(victim));
    assert_eq!(h.offer(victim, env(300)), Offer::NotLeader(victim));
    // The blocks it asked for never come.
    h.ticks(2 * h.settings.election_tick);
    assert_eq!(h.leader(), Some(other), "leadership handed to the follower");
    assert_eq!(h.nodes[&victim].store().height().unwrap(), behind);
    for i in 300..310 {
        assert_eq!(h.offer(other, env(i)), Offer::Accepted);
    }
    h.ticks(10);
    let envs = envelopes_in(&h.chain_of(other));
    assert_eq!(envs.len(), 310, "each envelope once, the channel goes on");
    assert_eq!(h.nodes[&victim].leader(), other);
}
