//! Bench results: per-transaction samples in, a report out (throughput,
//! latency percentiles, counts per validation code, a per-second timeline).
//! Plain computation, unit-tested.

use std::collections::BTreeMap;

use serde::Serialize;

/// One finished transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When it was sent, seconds since the run started.
    pub sent_at: f64,
    /// Time from sending to its outcome (commit, or evaluate answer), seconds.
    pub latency: f64,
    /// `VALID`, a validation code name, or the kind of error.
    pub outcome: String,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// One second of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Second {
    /// Second since the start.
    pub second: u64,
    /// Successful transactions that finished in it.
    pub successes: u64,
    /// Transactions that failed in it.
    pub failures: u64,
    /// Median latency of those finishing in it (ms).
    pub p50_ms: f64,
    /// 99th percentile latency of those finishing in it (ms).
    pub p99_ms: f64,
}

/// The whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The workload's name.
    pub workload: String,
    /// Transactions sent.
    pub sent: u64,
    /// Transactions that succeeded (committed VALID, or evaluated).
    pub succeeded: u64,
    /// Wall time from the first send to the last outcome, seconds.
    pub duration_s: f64,
    /// Successful transactions per second over the run.
    pub tps: f64,
    /// Latency of successful transactions.
    pub latency_ms: Percentiles,
    /// Outcomes by name (`VALID`, `MVCC_READ_CONFLICT`, `ENDORSE_ERROR`, …).
    pub outcomes: BTreeMap<String, u64>,
    /// Per-second throughput and latency.
    pub timeline: Vec<Second>,
    /// CPU the node processes spent per successful transaction, when they
    /// run as processes of a `weft-network` directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu: Option<super::cpu::ServerCpu>,
    /// What one signature verification cost on this machine around the run:
    /// the unit to compare server CPU in across runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yardstick: Option<super::yardstick::Yardstick>,
}

/// The `q` quantile (0..=1) of sorted values (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn percentiles(mut ms: Vec<f64>) -> Percentiles {
    if ms.is_empty() {
        return Percentiles::default();
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    Percentiles {
        p50: quantile(&ms, 0.50),
        p90: quantile(&ms, 0.90),
        p99: quantile(&ms, 0.99),
        max: *ms.last().unwrap_or(&0.0),
        mean: ms.iter().sum::<f64>() / ms.len() as f64,
    }
}

/// Whether an outcome counts as success.
pub fn is_success(outcome: &str) -> bool {
    outcome == "VALID" || outcome == "EVALUATED"
}

impl Report {
    /// Summarises `samples`.
    pub fn from_samples(workload: &str, samples: &[Sample]) -> Self {
        let mut outcomes = BTreeMap::new();
        for s in samples {
            *outcomes.entry(s.outcome.clone()).or_insert(0) += 1;
        }
        let ok: Vec<&Sample> = samples.iter().filter(|s| is_success(&s.outcome)).collect();
        let start = samples
            .iter()
            .map(|s| s.sent_at)
            .fold(f64::INFINITY, f64::min);
        let end = samples
            .iter()
            .map(|s| s.sent_at + s.latency)
            .fold(0.0, f64::max);
        let duration = if samples.is_empty() {
            0.0
        } else {
            (end - start).max(1e-9)
        };
        let seconds = end.ceil() as u64;
        let mut timeline: Vec<Second> = (0..seconds)
            .map(|second| Second {
                second,
                ..Default::default()
            })
            .collect();
        let mut latencies: Vec<Vec<f64>> = vec![Vec::new(); seconds as usize];
        for s in samples {
            let at =
                ((s.sent_at + s.latency).floor() as usize).min(timeline.len().saturating_sub(1));
            if let Some(sec) = timeline.get_mut(at) {
                if is_success(&s.outcome) {
                    sec.successes += 1;
                    latencies[at].push(s.latency * 1000.0);
                } else {
                    sec.failures += 1;
                }
            }
        }
        for (sec, lat) in timeline.iter_mut().zip(latencies) {
            let p = percentiles(lat);
            sec.p50_ms = p.p50;
            sec.p99_ms = p.p99;
        }
        Self {
            workload: workload.to_string(),
            sent: samples.len() as u64,
            succeeded: ok.len() as u64,
            duration_s: duration,
            tps: if duration > 0.0 {
                ok.len() as f64 / duration
            } else {
                0.0
            },
            latency_ms: percentiles(ok.iter().map(|s| s.latency * 1000.0).collect()),
            outcomes,
            timeline,
            server_cpu: None,
            yardstick: None,
        }
    }

    /// The human summary printed at the end of a run.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} sent, {} succeeded in {:.1} s\n  throughput  {:.0} tx/s\n  latency     p50 {:.0} ms   p90 {:.0} ms   p99 {:.0} ms   max {:.0} ms\n  outcomes   ",
            self.workload,
            self.sent,
            self.succeeded,
            self.duration_s,
            self.tps,
            self.latency_ms.p50,
            self.latency_ms.p90,
            self.latency_ms.p99,
            self.latency_ms.max
        );
        for (k, v) in &self.outcomes {
            s.push_str(&format!(" {k}={v}"));
        }
        if let Some(cpu) = &self.server_cpu {
            s.push('\n');
            s.push_str(&cpu.summary());
            if let Some(y) = &self.yardstick {
                s.push('\n');
                s.push_str(&y.summary(cpu.total_ms));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(sent_at: f64, latency: f64, outcome: &str) -> Sample {
        Sample {
            sent_at,
            latency,
            outcome: outcome.into(),
        }
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn report_counts_outcomes_throughput_and_timeline() {
        let samples = vec![
            sample(0.0, 0.2, "VALID"),
            sample(0.1, 0.3, "VALID"),
            sample(0.5, 0.7, "MVCC_READ_CONFLICT"),
            sample(1.0, 0.5, "VALID"),
            sample(1.2, 0.8, "VALID"),
        ];
        let r = Report::from_samples("transfer", &samples);
        assert_eq!(r.sent, 5);
        assert_eq!(r.succeeded, 4);
        assert!((r.duration_s - 2.0).abs() < 1e-9);
        assert!((r.tps - 2.0).abs() < 1e-9);
        assert_eq!(r.outcomes["VALID"], 4);
        assert_eq!(r.outcomes["MVCC_READ_CONFLICT"], 1);
        assert_eq!(r.latency_ms.p50, 300.0);
        assert_eq!(r.latency_ms.max, 800.0);
        assert_eq!(r.timeline.len(), 2);
        assert_eq!((r.timeline[0].successes, r.timeline[0].failures), (2, 0));
        assert_eq!((r.timeline[1].successes, r.timeline[1].failures), (2, 1));
        assert!(r.summary().contains("MVCC_READ_CONFLICT=1"));
    }

    #[test]
    fn an_empty_run_is_all_zero() {
        let r = Report::from_samples("read", &[]);
        assert_eq!((r.sent, r.succeeded, r.tps), (0, 0, 0.0));
        assert!(r.timeline.is_empty());
    }
}
