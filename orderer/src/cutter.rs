//! The block cutter: which envelopes go into which block, and when.
//!
//! A sans-IO core with Fabric's semantics (`blockcutter.Ordered`):
//! - an envelope larger than `PreferredMaxBytes` is cut alone, after cutting
//!   whatever is pending;
//! - an envelope that would push the pending batch over `PreferredMaxBytes`
//!   first cuts the pending batch;
//! - a batch reaching `MaxMessageCount` is cut;
//! - a pending batch is cut `BatchTimeout` after its first envelope arrived;
//! - config envelopes always travel alone.
//!
//! Time is an input: callers pass `now` and ask [`BlockCutter::deadline`] when
//! to come back. `AbsoluteMaxBytes` is enforced at admission, before the cutter.

use std::time::{Duration, Instant};

/// Batch limits (from the channel's `BatchSize` and `BatchTimeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most envelopes per block.
    pub max_message_count: u32,
    /// Cut once a batch would exceed this many bytes.
    pub preferred_max_bytes: u32,
    /// Cut a pending batch this long after its first envelope.
    pub timeout: Duration,
}

/// One block's worth of envelopes.
pub type Batch<E = Vec<u8>> = Vec<E>;

/// The cutter's state: the pending batch and when it started. `E` is an
/// envelope as the caller keeps it (its bytes, or its bytes with more).
#[derive(Debug)]
pub struct BlockCutter<E = Vec<u8>> {
    limits: BatchLimits,
    pending: Batch<E>,
    pending_bytes: usize,
    first_at: Option<Instant>,
}

impl<E: AsRef<[u8]>> BlockCutter<E> {
    /// An empty cutter.
    pub fn new(limits: BatchLimits) -> Self {
        Self {
            limits,
            pending: Vec::new(),
            pending_bytes: 0,
            first_at: None,
        }
    }

    /// Replaces the limits (after a config change); the pending batch is kept.
    pub fn set_limits(&mut self, limits: BatchLimits) {
        self.limits = limits;
    }

    /// Adds a normal envelope; returns the batches to cut now (zero, one or two).
    pub fn ordered(&mut self, envelope: E, now: Instant) -> Vec<Batch<E>> {
        let size = envelope.as_ref().len();
        let preferred = self.limits.preferred_max_bytes as usize;
        let mut out = Vec::new();
        if size > preferred {
            out.extend(self.cut());
            out.push(vec![envelope]);
            return out;
        }
        if self.pending_bytes + size > preferred {
            out.extend(self.cut());
        }
        if self.pending.is_empty() {
            self.first_at = Some(now);
        }
        self.pending.push(envelope);
        self.pending_bytes += size;
        if self.pending.len() >= self.limits.max_message_count as usize {
            out.extend(self.cut());
        }
        out
    }

    /// Adds a config envelope: cuts what is pending, then the config alone.
    pub fn ordered_config(&mut self, envelope: E) -> Vec<Batch<E>> {
        let mut out: Vec<Batch<E>> = self.cut().into_iter().collect();
        out.push(vec![envelope]);
        out
    }

    /// Cuts the pending batch, if any.
    pub fn cut(&mut self) -> Option<Batch<E>> {
        self.first_at = None;
        self.pending_bytes = 0;
        if self.pending.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.pending))
        }
    }

    /// When the pending batch times out, if there is one.
    pub fn deadline(&self) -> Option<Instant> {
        self.first_at.map(|t| t + self.limits.timeout)
    }

    /// Cuts the pending batch if its timeout has passed at `now`.
    pub fn tick(&mut self, now: Instant) -> Option<Batch<E>> {
        match self.deadline() {
            Some(d) if now >= d => self.cut(),
            _ => None,
        }
    }

    /// Number of envelopes pending.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(count: u32, preferred: u32) -> BatchLimits {
        BatchLimits {
            max_message_count: count,
            preferred_max_bytes: preferred,
            timeout: Duration::from_millis(250),
        }
    }

    fn env(size: usize, tag: u8) -> Vec<u8> {
        vec![tag; size]
    }

    #[test]
    fn cuts_at_max_message_count() {
        let mut c = BlockCutter::new(limits(3, 1000));
        let t = Instant::now();
        assert!(c.ordered(env(10, 1), t).is_empty());
        assert!(c.ordered(env(10, 2), t).is_empty());
        let batches = c.ordered(env(10, 3), t);
        assert_eq!(batches, vec![vec![env(10, 1), env(10, 2), env(10, 3)]]);
        assert_eq!(c.pending_len(), 0);
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn overflowing_preferred_size_cuts_before_adding() {
        let mut c = BlockCutter::new(limits(100, 25));
        let t = Instant::now();
        assert!(c.ordered(env(10, 1), t).is_empty());
        assert!(c.ordered(env(10, 2), t).is_empty());
        // 20 + 10 > 25: the pending two are cut, the new one starts a batch.
        assert_eq!(c.ordered(env(10, 3), t), vec![vec![env(10, 1), env(10, 2)]]);
        assert_eq!(c.pending_len(), 1);
    }

    #[test]
    fn an_oversized_envelope_goes_alone_after_the_pending_batch() {
        let mut c = BlockCutter::new(limits(100, 25));
        let t = Instant::now();
        c.ordered(env(5, 1), t);
        let batches = c.ordered(env(30, 9), t);
        assert_eq!(batches, vec![vec![env(5, 1)], vec![env(30, 9)]]);
        assert_eq!(c.pending_len(), 0);
        // With nothing pending, only the big one is cut.
        assert_eq!(c.ordered(env(30, 8), t), vec![vec![env(30, 8)]]);
    }

    #[test]
    fn timeout_cuts_from_the_first_envelope() {
        let mut c = BlockCutter::new(limits(100, 1000));
        let t0 = Instant::now();
        assert_eq!(c.deadline(), None);
        assert_eq!(
            c.tick(t0 + Duration::from_secs(10)),
            None,
            "nothing pending, nothing cut"
        );
        c.ordered(env(1, 1), t0);
        c.ordered(env(1, 2), t0 + Duration::from_millis(200));
        assert_eq!(
            c.deadline(),
            Some(t0 + Duration::from_millis(250)),
            "measured from the first envelope"
        );
        assert_eq!(c.tick(t0 + Duration::from_millis(249)), None);
        assert_eq!(
            c.tick(t0 + Duration::from_millis(250)),
            Some(vec![env(1, 1), env(1, 2)])
        );
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn config_envelopes_travel_alone() {
        let mut c = BlockCutter::new(limits(100, 1000));
        let t = Instant::now();
        assert_eq!(c.ordered_config(env(3, 7)), vec![vec![env(3, 7)]]);
        c.ordered(env(1, 1), t);
        assert_eq!(
            c.ordered_config(env(3, 7)),
            vec![vec![env(1, 1)], vec![env(3, 7)]]
        );
        assert_eq!(c.pending_len(), 0);
    }

    #[test]
    fn new_limits_apply_to_the_next_envelope() {
        let mut c = BlockCutter::new(limits(10, 1000));
        let t = Instant::now();
        c.ordered(env(1, 1), t);
        c.set_limits(limits(2, 1000));
        assert_eq!(c.ordered(env(1, 2), t), vec![vec![env(1, 1), env(1, 2)]]);
    }
}
