//! The machine's speed during a run, in the unit weft's CPU targets are
//! stated in: the CPU one signature verification of the network's key type
//! takes. This VM's clock changes by up to 2x from one minute to the next;
//! server CPU per transaction divided by the cost of one verification does
//! not, so two runs (two builds, two days) compare by that ratio.

use std::time::{Duration, Instant};

use serde::Serialize;
use weft_common::crypto::{KeyAlgorithm, Signer};

/// What one signature verification cost around a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Yardstick {
    /// The network's key type (`ECDSA P-256` or `Ed25519`).
    pub key_type: String,
    /// Microseconds of one core per verification: the least of the
    /// measurements before and after the load (the least disturbed).
    pub verify_us: f64,
}

/// Verifications per measurement; a few milliseconds, so that one
/// interruption spoils one measurement and not the minimum.
const CHECKS: u32 = 100;
/// Measurements at each end of the run.
const ROUNDS: usize = 5;

impl Yardstick {
    /// Times verifications of `signer`'s signature over 1 KiB, the least of
    /// [`ROUNDS`] measurements. `None` if the signer cannot sign, or its
    /// signature does not verify.
    pub fn measure(signer: &dyn Signer) -> Option<Self> {
        let message = vec![7u8; 1024];
        let signature = signer.sign(&message).ok()?;
        let key = signer.public_key();
        // A signature that does not verify would time the refusal instead.
        key.verify_uncached(&message, &signature).ok()?;
        let best = (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..CHECKS {
                    // Uncached: the process-wide cache would answer the repeats.
                    let _ = key.verify_uncached(&message, &signature);
                }
                t.elapsed()
            })
            .min()
            .unwrap_or(Duration::ZERO);
        let key_type = match key.algorithm() {
            KeyAlgorithm::EcdsaP256 => "ECDSA P-256",
            KeyAlgorithm::Ed25519 => "Ed25519",
        };
        Some(Self {
            key_type: key_type.into(),
            verify_us: best.as_secs_f64() * 1e6 / f64::from(CHECKS),
        })
    }

    /// The faster of two measurements of the same key type.
    pub fn least(self, other: Option<Self>) -> Self {
        match other {
            Some(o) if o.verify_us < self.verify_us => o,
            _ => self,
        }
    }

    /// `ms` of CPU in verifications' worth.
    pub fn in_verifications(&self, ms: f64) -> f64 {
        if self.verify_us > 0.0 {
            ms * 1000.0 / self.verify_us
        } else {
            0.0
        }
    }

    /// The summary line for server CPU of `total_ms` per transaction.
    pub fn summary(&self, total_ms: f64) -> String {
        format!(
            "  yardstick   one {} verification took {:.0} µs: server CPU = {:.1} verifications/tx",
            self.key_type,
            self.verify_us,
            self.in_verifications(total_ms)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ecdsa() -> std::sync::Arc<dyn Signer> {
        let rng = ring::rand::SystemRandom::new();
        let der = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &rng,
        )
        .unwrap();
        std::sync::Arc::new(weft_common::crypto::EcdsaP256Signer::from_pkcs8(der.as_ref()).unwrap())
    }

    #[test]
    fn a_verification_is_timed_and_cpu_expressed_in_it() {
        let y = Yardstick::measure(ecdsa().as_ref()).unwrap();
        assert_eq!(y.key_type, "ECDSA P-256");
        // Tens of microseconds on any machine weft runs on; never free.
        assert!(
            y.verify_us > 1.0 && y.verify_us < 10_000.0,
            "{}",
            y.verify_us
        );
        let fixed = Yardstick {
            key_type: "ECDSA P-256".into(),
            verify_us: 50.0,
        };
        assert!((fixed.in_verifications(1.5) - 30.0).abs() < 1e-9);
        assert!(fixed.summary(1.5).contains("30.0 verifications/tx"));
        let slower = Yardstick {
            verify_us: 80.0,
            ..fixed.clone()
        };
        assert_eq!(slower.least(Some(fixed.clone())), fixed);
        assert_eq!(fixed.clone().least(None), fixed);
    }
}
