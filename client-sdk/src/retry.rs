//! Retrying transactions that lost an MVCC race.
//!
//! Two transactions that read and write the same key in one block: the
//! second is committed as `MVCC_READ_CONFLICT` and changes nothing. Running it
//! again — a new proposal, endorsed against the new state — usually succeeds.

use std::future::Future;
use std::time::Duration;

use crate::ClientError;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the first retry; doubled after each, with jitter.
    pub backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), jittered to 50–100%.
    pub fn delay(&self, retry: u32) -> Duration {
        let base = weft_common::backoff::Backoff::nth(
            self.backoff,
            self.max_backoff,
            retry.saturating_sub(1),
        );
        let jitter = weft_common::crypto::random_bytes(1)[0] as u32;
        base / 2 + base * jitter / 510
    }
}

/// Runs `attempt` (which must build a *new* proposal each time, e.g. a
/// [`crate::Contract::submit_transaction`] call) until it succeeds, fails with
/// something other than an MVCC conflict, or the attempts run out.
pub async fn submit_with_retry<T, F, Fut>(
    policy: RetryPolicy,
    mut attempt: F,
) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut n = 1;
    loop {
        match attempt().await {
            Err(e) if e.is_mvcc_conflict() && n < policy.attempts => {
                tracing::debug!(attempt = n, "MVCC conflict, retrying: {e}");
                tokio::time::sleep(policy.delay(n)).await;
                n += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_protos::protos::TxValidationCode;

    fn conflict() -> ClientError {
        ClientError::Commit {
            tx_id: "t".into(),
            code: TxValidationCode::MvccReadConflict,
            block_number: 3,
        }
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn retries_conflicts_until_success() {
        let mut calls = 0;
        let r = submit_with_retry(quick(), || {
            calls += 1;
            let c = calls;
            async move { if c < 3 { Err(conflict()) } else { Ok(c) } }
        })
        .await;
        assert_eq!(r.unwrap(), 3);
    }

    #[tokio::test]
    async fn gives_up_after_the_attempts_and_returns_the_last_error() {
        let mut calls = 0;
        let r: Result<(), _> = submit_with_retry(quick(), || {
            calls += 1;
            async { Err(conflict()) }
        })
        .await;
        assert!(r.unwrap_err().is_mvcc_conflict());
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn other_failures_are_not_retried() {
        let mut calls = 0;
        let r: Result<(), _> = submit_with_retry(quick(), || {
            calls += 1;
            async {
                Err(ClientError::Commit {
                    tx_id: "t".into(),
                    code: TxValidationCode::EndorsementPolicyFailure,
                    block_number: 1,
                })
            }
        })
        .await;
        assert_eq!(
            r.unwrap_err().validation_code(),
            Some(TxValidationCode::EndorsementPolicyFailure)
        );
        assert_eq!(calls, 1);
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let p = RetryPolicy {
            attempts: 10,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
        };
        assert!(p.delay(1) <= Duration::from_millis(100));
        assert!(p.delay(1) >= Duration::from_millis(50));
        assert!(p.delay(8) <= Duration::from_millis(400));
        assert!(p.delay(8) >= Duration::from_millis(200));
    }
}
