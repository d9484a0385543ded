//! How many transactions the bulk pipeline keeps in flight: additive increase
//! while they commit, halved when they conflict or the network pushes back
//! (TCP's AIMD, applied to MVCC conflicts and gateway overload). Sans-IO.

/// The congestion window.
#[derive(Debug, Clone)]
pub struct Window {
    limit: f64,
    max: usize,
    in_flight: usize,
}

impl Window {
    /// Starts at `initial` in flight, never above `max` or below one.
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        Self {
            limit: initial.clamp(1, max) as f64,
            max,
            in_flight: 0,
        }
    }

    /// Current limit on transactions in flight.
    pub fn limit(&self) -> usize {
        self.limit as usize
    }

    /// Transactions in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Takes a slot if one is free.
    pub fn try_acquire(&mut self) -> bool {
        if self.in_flight < self.limit() {
            self.in_flight += 1;
            true
        } else {
            false
        }
    }

    /// A transaction committed: grow by one per window's worth of successes.
    pub fn committed(&mut self) {
        self.release();
        self.limit = (self.limit + 1.0 / self.limit).min(self.max as f64);
    }

    /// A transaction conflicted or was pushed back: halve.
    pub fn congested(&mut self) {
        self.release();
        self.limit = (self.limit / 2.0).max(1.0);
    }

    /// A slot is given back without a verdict (the request failed for good).
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_successes_and_halves_on_congestion() {
        let mut w = Window::new(4, 64);
        for _ in 0..4 {
            assert!(w.try_acquire());
        }
        assert!(!w.try_acquire(), "limit reached");
        for _ in 0..4 {
            w.committed();
        }
        assert_eq!(w.limit(), 4, "a full window of successes adds one");
        assert!(w.try_acquire());
        w.committed();
        assert_eq!(w.limit(), 5);
        w.try_acquire();
        w.congested();
        assert_eq!(w.limit(), 2);
        for _ in 0..10 {
            w.try_acquire();
            w.congested();
        }
        assert_eq!(w.limit(), 1, "never below one");
        assert_eq!(w.in_flight(), 0);
    }

    #[test]
    fn never_exceeds_the_maximum() {
        let mut w = Window::new(100, 3);
        assert_eq!(w.limit(), 3);
        for _ in 0..100 {
            w.try_acquire();
            w.committed();
        }
        assert_eq!(w.limit(), 3);
    }
}
