//! One suite, two stores: every behaviour `Chain` relies on, checked against
//! the RocksDB store and the in-memory one alike (openraft's storage test
//! suite is the model). A "reopen" drops the store and opens it again: from
//! disk for RocksDB, from the shared state for memory.

use raft::prelude::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{Storage, StorageError};

use super::{ChannelStorage, ChannelStore, MemoryStore};

/// A store under test, and how to open it again.
trait Harness {
    type Store: ChannelStorage;
    fn new() -> Self;
    /// The store (again, after the previous handle was dropped).
    fn store(&self) -> Self::Store;
}

struct Rocks(tempfile::TempDir);

impl Harness for Rocks {
    type Store = ChannelStore;
    fn new() -> Self {
        Rocks(tempfile::tempdir().unwrap())
    }
    fn store(&self) -> ChannelStore {
        ChannelStore::open(self.0.path()).unwrap()
    }
}

struct Memory(MemoryStore);

impl Harness for Memory {
    type Store = MemoryStore;
    fn new() -> Self {
        Memory(MemoryStore::new())
    }
    fn store(&self) -> MemoryStore {
        self.0.clone()
    }
}

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        data: vec![index as u8],
        ..Default::default()
    }
}

fn entries_persist_truncate_and_survive_reopen<H: Harness>() {
    let h = H::new();
    {
        let s = h.store();
        s.initialize(&[1, 2, 3]).unwrap();
        let hs = HardState {
            term: 1,
            vote: 1,
            commit: 0,
        };
        s.persist(None, &[entry(1, 1), entry(2, 1), entry(3, 1)], Some(&hs))
            .unwrap();
        assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (1, 3));
        // A new leader overwrites index 2 onwards.
        s.persist(None, &[entry(2, 2)], None).unwrap();
        assert_eq!(s.last_index().unwrap(), 2);
        assert_eq!(s.term(2).unwrap(), 2);
        assert!(matches!(
            s.term(3),
            Err(raft::Error::Store(StorageError::Unavailable))
        ));
    }
    let s = h.store();
    assert!(s.is_initialized().unwrap());
    assert_eq!(s.last_index().unwrap(), 2);
    // Terms come back from disk on reopen.
    assert_eq!((s.term(1).unwrap(), s.term(2).unwrap()), (1, 2));
    let e = s
        .entries(1, 3, None, raft::GetEntriesContext::empty(false))
        .unwrap();
    assert_eq!(
        e.iter().map(|e| (e.index, e.term)).collect::<Vec<_>>(),
        vec![(1, 1), (2, 2)]
    );
    let st = s.initial_state().unwrap();
    assert_eq!(st.hard_state.vote, 1);
    assert_eq!(st.conf_state.voters, vec![1, 2, 3]);
}

fn entries_respect_size_limits_but_return_one<H: Harness>() {
    let h = H::new();
    let s = h.store();
    s.persist(
        None,
        &(1..=5).map(|i| entry(i, 1)).collect::<Vec<_>>(),
        None,
    )
    .unwrap();
    let one = s
        .entries(1, 6, Some(1), raft::GetEntriesContext::empty(false))
        .unwrap();
    assert_eq!(one.len(), 1);
    let all = s
        .entries(2, 6, None, raft::GetEntriesContext::empty(false))
        .unwrap();
    assert_eq!(all.len(), 4);
    assert!(
        s.entries(1, 7, None, raft::GetEntriesContext::empty(false))
            .is_err()
    );
}

fn snapshots_compact_the_log<H: Harness>() {
    let h = H::new();
    let s = h.store();
    s.initialize(&[1]).unwrap();
    s.persist(
        None,
        // Entry i in term i, so that a misaligned term cache shows.
        &(1..=10).map(|i| entry(i, i)).collect::<Vec<_>>(),
        None,
    )
    .unwrap();
    for i in 1..=7 {
        s.apply(i, None).unwrap();
    }
    s.snapshot_at(7, b"state".to_vec()).unwrap();
    assert_eq!(s.first_index().unwrap(), 8);
    assert_eq!(s.term(7).unwrap(), 7);
    assert_eq!((s.term(8).unwrap(), s.term(10).unwrap()), (8, 10));
    assert!(matches!(
        s.term(6),
        Err(raft::Error::Store(StorageError::Compacted))
    ));
    assert!(matches!(
        s.entries(5, 9, None, raft::GetEntriesContext::empty(false)),
        Err(raft::Error::Store(StorageError::Compacted))
    ));
    let snap = Storage::snapshot(&s, 0, 2).unwrap();
    assert_eq!(snap.data, b"state");
    assert_eq!(snap.metadata.unwrap().conf_state.unwrap().voters, vec![1]);
    drop(s);
    let s = h.store();
    assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (8, 10));
    assert_eq!((s.term(7).unwrap(), s.term(9).unwrap()), (7, 9));
}

fn blocks_and_applied_index_move_together<H: Harness>() {
    let h = H::new();
    let s = h.store();
    s.append_block(0, b"genesis").unwrap();
    s.apply(5, Some((1, b"one"))).unwrap();
    assert_eq!(s.height().unwrap(), 2);
    assert_eq!(s.applied_index().unwrap(), 5);
    assert_eq!(s.block(1).unwrap().unwrap(), b"one");
    assert!(
        s.apply(6, Some((5, b"gap"))).is_err(),
        "blocks are written in order"
    );
    assert_eq!(
        s.applied_index().unwrap(),
        5,
        "a refused write changes nothing"
    );
}

fn installing_a_snapshot_replaces_the_log<H: Harness>() {
    let h = H::new();
    let s = h.store();
    s.persist(
        None,
        &(1..=3).map(|i| entry(i, 1)).collect::<Vec<_>>(),
        None,
    )
    .unwrap();
    let snap = Snapshot {
        data: b"d".to_vec(),
        metadata: Some(SnapshotMetadata {
            conf_state: Some(ConfState {
                voters: vec![1, 2],
                ..Default::default()
            }),
            index: 20,
            term: 4,
        }),
    };
    s.persist(
        Some(&snap),
        &[],
        Some(&HardState {
            term: 4,
            vote: 0,
            commit: 20,
        }),
    )
    .unwrap();
    assert_eq!(
        (s.first_index().unwrap(), s.last_index().unwrap()),
        (21, 20)
    );
    assert_eq!(s.term(20).unwrap(), 4);
    assert_eq!(s.raft_state().unwrap().conf_state.voters, vec![1, 2]);
}

fn installing_a_snapshot_drops_the_entries_after_it_too<H: Harness>() {
    // Entries 1..=30 of an old term; the leader's snapshot at 20 (term 4)
    // says nothing about 21..=30, which may conflict with its log.
    let h = H::new();
    let s = h.store();
    s.persist(
        None,
        &(1..=30).map(|i| entry(i, 1)).collect::<Vec<_>>(),
        None,
    )
    .unwrap();
    let snap = Snapshot {
        data: b"d".to_vec(),
        metadata: Some(SnapshotMetadata {
            conf_state: Some(ConfState::default()),
            index: 20,
            term: 4,
        }),
    };
    s.persist(Some(&snap), &[], None).unwrap();
    assert_eq!(
        (s.first_index().unwrap(), s.last_index().unwrap()),
        (21, 20)
    );
    assert!(s.term(25).is_err(), "stale entry 25 survived the snapshot");
    drop(s);
    let s = h.store();
    assert_eq!(s.last_index().unwrap(), 20, "and after a restart");
}

fn stashed_blocks_wait_for_the_gap_then_follow_the_chain<H: Harness>() {
    let h = H::new();
    let s = h.store();
    s.append_block(0, b"genesis").unwrap();
    s.stash_block(7, 3, b"three").unwrap();
    s.stash_block(8, 4, b"four").unwrap();
    assert_eq!(s.applied_index().unwrap(), 8);
    assert_eq!(s.highest_stashed().unwrap(), Some(4));
    assert!(
        s.drain_stash().unwrap().is_empty(),
        "blocks 1 and 2 are missing"
    );
    s.append_block(1, b"one").unwrap();
    s.append_block(2, b"two").unwrap();
    let moved = s.drain_stash().unwrap();
    assert_eq!(moved, vec![(3, b"three".to_vec()), (4, b"four".to_vec())]);
    assert_eq!(s.height().unwrap(), 5);
    assert_eq!(s.highest_stashed().unwrap(), None);
    assert_eq!(s.stashed_block(3).unwrap(), None);
}

fn a_membership_change_is_in_the_next_snapshot_and_survives_reopen<H: Harness>() {
    let h = H::new();
    let s = h.store();
    s.initialize(&[1, 2, 3]).unwrap();
    assert!(s.is_initialized().unwrap());
    s.persist(
        None,
        &(1..=3).map(|i| entry(i, 1)).collect::<Vec<_>>(),
        None,
    )
    .unwrap();
    let four = ConfState {
        voters: vec![1, 2, 3, 4],
        ..Default::default()
    };
    s.apply_conf_change(2, &four).unwrap();
    s.apply(3, None).unwrap();
    s.snapshot_at(3, b"block".to_vec()).unwrap();
    drop(s);
    let s = h.store();
    assert_eq!(s.applied_index().unwrap(), 3);
    assert_eq!(s.raft_state().unwrap().conf_state.voters, vec![1, 2, 3, 4]);
    let md = s.latest_snapshot().unwrap().metadata.unwrap();
    assert_eq!((md.index, md.term), (3, 1));
    assert_eq!(md.conf_state.unwrap().voters, vec![1, 2, 3, 4]);
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod rocks {
            $(#[test] fn $name() { super::$name::<super::Rocks>() })*
        }
        mod memory {
            $(#[test] fn $name() { super::$name::<super::Memory>() })*
        }
    };
}

conformance!(
    entries_persist_truncate_and_survive_reopen,
    entries_respect_size_limits_but_return_one,
    snapshots_compact_the_log,
    blocks_and_applied_index_move_together,
    installing_a_snapshot_replaces_the_log,
    installing_a_snapshot_drops_the_entries_after_it_too,
    stashed_blocks_wait_for_the_gap_then_follow_the_chain,
    a_membership_change_is_in_the_next_snapshot_and_survives_reopen,
);
