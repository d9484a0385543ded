//! Envelope digests remembered in the order they were written, the oldest
//! forgotten past a capacity: the leader's duplicate set (`Chain`) and each
//! node's index of recently ordered envelopes (`channel::handle`).

use std::collections::{HashMap, VecDeque};

/// A SHA-256 envelope digest.
pub type Digest = [u8; 32];

/// At most `capacity` digests, each with a value (a block number, or `()`).
#[derive(Debug)]
pub struct DigestWindow<V> {
    values: HashMap<Digest, V>,
    order: VecDeque<Digest>,
    capacity: usize,
}

impl<V> DigestWindow<V> {
    /// An empty window of `capacity` digests.
    pub fn new(capacity: usize) -> Self {
        Self {
            values: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Remembers `digest` with `value` unless it is already known (its first
    /// value stays). Returns whether it was new. The oldest digests are
    /// forgotten once more than the capacity are held.
    pub fn insert(&mut self, digest: Digest, value: V) -> bool {
        if self.values.contains_key(&digest) {
            return false;
        }
        self.values.insert(digest, value);
        self.order.push_back(digest);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.values.remove(&old);
            }
        }
        true
    }

    /// Whether `digest` is in the window.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.values.contains_key(digest)
    }

    /// The value remembered with `digest`.
    pub fn get(&self, digest: &Digest) -> Option<&V> {
        self.values.get(digest)
    }

    /// How many digests are held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> Digest {
        [n; 32]
    }

    #[test]
    fn the_oldest_digests_go_first_and_a_known_one_keeps_its_value() {
        let mut w = DigestWindow::new(2);
        assert!(w.insert(d(1), 10));
        assert!(!w.insert(d(1), 11), "already known");
        assert_eq!(w.get(&d(1)), Some(&10));
        assert!(w.insert(d(2), 20));
        assert!(w.insert(d(3), 30));
        assert_eq!(w.len(), 2);
        assert!(!w.contains(&d(1)), "the oldest is forgotten");
        assert_eq!((w.get(&d(2)), w.get(&d(3))), (Some(&20), Some(&30)));
        // A forgotten digest may come back.
        assert!(w.insert(d(1), 12));
        assert!(!w.contains(&d(2)));
    }
}
