//! Server CPU per transaction: each node process's user + system time from
//! `/proc/<pid>/stat`, read before and after the measured load, divided by
//! the transactions that succeeded. Unlike throughput it hardly depends on how
//! fast this (shared, clock-varying) machine happens to be running.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

/// Linux's USER_HZ, the unit of `/proc/<pid>/stat` times, on every
/// architecture weft runs on.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time each process had used at one moment: (name, clock ticks).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuSnapshot(pub Vec<(String, u64)>);

impl CpuSnapshot {
    /// The node processes of the network in `dir` (its `pids/`) and the
    /// client that drives the load, as `client`: process `client_pid`, or
    /// this process when `None`. Processes that cannot be read are left out.
    pub fn take(dir: &Path, client_pid: Option<u32>) -> Self {
        let ticks_of = |pid: &str| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| cpu_ticks(&stat))
        };
        let mut out: Vec<(String, u64)> = crate::process::running(dir)
            .into_iter()
            .filter_map(|(name, pid)| Some((name, ticks_of(&pid.to_string())?)))
            .collect();
        out.sort();
        let client = client_pid.map_or_else(|| "self".to_string(), |pid| pid.to_string());
        if let Some(ticks) = ticks_of(&client) {
            out.push((CLIENT.into(), ticks));
        }
        Self(out)
    }
}

/// The name the bench's own process is reported under.
pub const CLIENT: &str = "client";

/// utime + stime of a `/proc/<pid>/stat` line (fields 14 and 15; the command
/// name in parentheses may itself hold spaces or parentheses).
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    // rest starts at field 3 (state): utime is field 14, the 12th from here.
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU the servers spent on a run, per successful transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerCpu {
    /// Milliseconds of CPU per successful transaction, by node.
    pub per_node_ms: BTreeMap<String, f64>,
    /// Sum over the nodes (the client excluded), ms per transaction.
    pub total_ms: f64,
    /// The bench client's own CPU, ms per transaction.
    pub client_ms: f64,
}

impl ServerCpu {
    /// From snapshots before and after `succeeded` transactions. `None` when
    /// no node process was measured (an in-process network) or nothing
    /// succeeded.
    pub fn between(before: &CpuSnapshot, after: &CpuSnapshot, succeeded: u64) -> Option<Self> {
        if succeeded == 0 {
            return None;
        }
        let per_tx = |ticks: u64| ticks as f64 * 1000.0 / TICKS_PER_SECOND / succeeded as f64;
        let mut out = Self::default();
        for (name, end) in &after.0 {
            let Some((_, start)) = before.0.iter().find(|(n, _)| n == name) else {
                continue;
            };
            let ms = per_tx(end.saturating_sub(*start));
            if name == CLIENT {
                out.client_ms = ms;
            } else {
                out.total_ms += ms;
                out.per_node_ms.insert(name.clone(), ms);
            }
        }
        (!out.per_node_ms.is_empty()).then_some(out)
    }

    /// Lines for the summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "  server CPU  {:.3} ms/tx (client {:.3} ms/tx)",
            self.total_ms, self.client_ms
        );
        for (name, ms) in &self.per_node_ms {
            s.push_str(&format!("\n    {name:<28} {ms:.3} ms/tx"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_after_the_command_name() {
        // A command name with a space and a parenthesis of its own.
        let stat = "4242 (weft peer) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 \
                    731 269 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(1000));
        assert_eq!(cpu_ticks("garbage"), None);
        assert_eq!(cpu_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn cpu_is_divided_by_the_transactions_and_the_client_kept_apart() {
        let before = CpuSnapshot(vec![
            ("orderer1".into(), 100),
            ("peer0".into(), 1_000),
            (CLIENT.into(), 5),
        ]);
        let after = CpuSnapshot(vec![
            ("orderer1".into(), 150),
            ("peer0".into(), 1_400),
            ("peer1".into(), 70), // started during the run: not counted
            (CLIENT.into(), 25),
        ]);
        // 4.5 s of server CPU over 1,000 transactions: 4.5 ms each.
        let cpu = ServerCpu::between(&before, &after, 1_000).unwrap();
        assert!((cpu.total_ms - 4.5).abs() < 1e-9);
        assert!((cpu.per_node_ms["orderer1"] - 0.5).abs() < 1e-9);
        assert!((cpu.per_node_ms["peer0"] - 4.0).abs() < 1e-9);
        assert!((cpu.client_ms - 0.2).abs() < 1e-9);
        assert!(!cpu.per_node_ms.contains_key("peer1"));
        assert!(cpu.summary().contains("4.500 ms/tx"));
    }

    #[test]
    fn nothing_to_report_without_nodes_or_successes() {
        let client = CpuSnapshot(vec![(CLIENT.into(), 1)]);
        assert_eq!(ServerCpu::between(&client, &client, 10), None);
        let node = CpuSnapshot(vec![("peer0".into(), 1)]);
        assert_eq!(ServerCpu::between(&node, &node, 0), None);
    }

    #[test]
    fn this_process_can_be_measured() {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(cpu_ticks(&stat).is_some());
    }
}
