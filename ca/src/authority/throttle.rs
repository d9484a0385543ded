//! Throttling of secret guessing, per enrollment id (sans-IO: the caller
//! passes the time). After `limit` failures in a row an id must wait before
//! its next attempt is even checked; the wait doubles with each further
//! failure, up to [`MAX_BACKOFF`], and a success clears the record. Unknown
//! ids are counted too, so the answer does not tell which ids exist.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest an id is made to wait.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// How many ids are tracked at most; beyond it, the stalest record goes.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Failed-login records by id.
#[derive(Debug)]
pub struct LoginThrottle {
    limit: u32,
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    /// Throttles an id after `limit` failures in a row (0: never).
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn backoff(&self, count: u32) -> Duration {
        if self.limit == 0 || count < self.limit {
            return Duration::ZERO;
        }
        weft_common::backoff::Backoff::nth(Duration::from_secs(1), MAX_BACKOFF, count - self.limit)
    }

    /// How long `id` must still wait at `now` before a secret is checked
    /// (`None`: it may try now).
    pub fn wait(&self, id: &str, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().expect("throttle lock");
        let f = failures.get(id)?;
        let until = f.last + self.backoff(f.count);
        (until > now).then(|| until - now)
    }

    /// Records a failed secret for `id` at `now`.
    pub fn failed(&self, id: &str, now: Instant) {
        let mut failures = self.failures.lock().expect("throttle lock");
        if !failures.contains_key(id) && failures.len() >= MAX_TRACKED {
            failures.retain(|_, f| now.saturating_duration_since(f.last) < MAX_BACKOFF);
            if failures.len() >= MAX_TRACKED
                && let Some(stalest) = failures
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone())
            {
                failures.remove(&stalest);
            }
        }
        let f = failures.entry(id.to_string()).or_insert(Failures {
            count: 0,
            last: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
    }

    /// Clears `id`'s record after a correct secret.
    pub fn succeeded(&self, id: &str) {
        self.failures.lock().expect("throttle lock").remove(id);
    }

    /// The configured limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_at_the_limit_double_and_clear_on_success() {
        let t = LoginThrottle::new(3);
        let t0 = Instant::now();
        for _ in 0..2 {
            t.failed("admin", t0);
        }
        assert_eq!(t.wait("admin", t0), None, "below the limit");
        t.failed("admin", t0);
        assert_eq!(t.wait("admin", t0), Some(Duration::from_secs(1)));
        assert_eq!(t.wait("admin", t0 + Duration::from_secs(1)), None);
        t.failed("admin", t0 + Duration::from_secs(1));
        assert_eq!(
            t.wait("admin", t0 + Duration::from_secs(1)),
            Some(Duration::from_secs(2))
        );
        for _ in 0..40 {
            t.failed("admin", t0);
        }
        assert_eq!(t.wait("admin", t0), Some(MAX_BACKOFF), "capped");
        assert_eq!(t.wait("other", t0), None, "per id");
        t.succeeded("admin");
        assert_eq!(t.wait("admin", t0), None);
    }

    #[test]
    fn zero_never_throttles_and_the_table_is_bounded() {
        let t = LoginThrottle::new(0);
        let t0 = Instant::now();
        for _ in 0..50 {
            t.failed("a", t0);
        }
        assert_eq!(t.wait("a", t0), None);
        let t = LoginThrottle::new(1);
        for i in 0..MAX_TRACKED + 10 {
            t.failed(&format!("id{i}"), t0 + Duration::from_millis(i as u64));
        }
        assert!(t.failures.lock().unwrap().len() <= MAX_TRACKED);
        assert!(t.wait(&format!("id{}", MAX_TRACKED + 9), t0).is_some());
    }
}
