//! Exponential back-off, the one retry pacing of weft's nodes and clients:
//! a wait that doubles after each failure up to a ceiling, and starts over
//! after a success.

use std::time::Duration;

/// A doubling wait between retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Waits of `first`, then twice as long each time, never over `max`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            next: first,
        }
    }

    /// The wait before the next retry; the one after it is twice as long
    /// (up to the ceiling).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        wait
    }

    /// Starts over from the first wait (after a success).
    pub fn reset(&mut self) {
        self.next = self.first;
    }

    /// The wait before retry `n` (0-based) of a fresh back-off: `first` × 2ⁿ,
    /// never over `max`.
    pub fn nth(first: Duration, max: Duration, n: u32) -> Duration {
        first.saturating_mul(1u32 << n.min(31)).min(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn doubles_to_the_ceiling_and_starts_over_after_a_reset() {
        let mut b = Backoff::new(100 * MS, 500 * MS);
        let waits: Vec<_> = (0..5).map(|_| b.next_wait()).collect();
        assert_eq!(waits, [100 * MS, 200 * MS, 400 * MS, 500 * MS, 500 * MS]);
        b.reset();
        assert_eq!(b.next_wait(), 100 * MS);
    }

    #[test]
    fn the_nth_wait_is_the_sequences_and_never_overflows() {
        let mut b = Backoff::new(3 * MS, 1000 * MS);
        for n in 0..12 {
            assert_eq!(
                Backoff::nth(3 * MS, 1000 * MS, n),
                b.next_wait(),
                "wait {n}"
            );
        }
        let huge = Backoff::nth(Duration::from_secs(1), Duration::from_secs(900), u32::MAX);
        assert_eq!(huge, Duration::from_secs(900));
    }
}
