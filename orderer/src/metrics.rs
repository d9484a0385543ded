//! Orderer metrics, rendered in Prometheus' text format on `/metrics`.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

pub use weft_common::node::operations::Histogram;

/// A metric family read from per-channel counters: name, type, help, getter.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ChannelCounters) -> u64,
);

/// Per-channel counters.
#[derive(Debug, Default)]
struct ChannelCounters {
    blocks: u64,
    envelopes: u64,
    leader_changes: u64,
    term: u64,
    is_leader: bool,
}

/// All orderer metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    channels: Mutex<std::collections::BTreeMap<String, ChannelCounters>>,
    /// Time from a Broadcast envelope's arrival to its commit.
    pub broadcast_latency: Histogram,
    /// Envelopes refused at admission.
    pub broadcast_refused: AtomicU64,
}

impl Metrics {
    /// A block was written.
    pub fn block_written(&self, channel: &str, envelopes: usize) {
        let mut c = self.channels.lock().expect("metrics lock");
        let e = c.entry(channel.to_string()).or_default();
        e.blocks += 1;
        e.envelopes += envelopes as u64;
    }

    /// The leader changed.
    pub fn leader_changed(&self, channel: &str, term: u64, is_leader: bool) {
        let mut c = self.channels.lock().expect("metrics lock");
        let e = c.entry(channel.to_string()).or_default();
        e.leader_changes += 1;
        e.term = term;
        e.is_leader = is_leader;
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let c = self.channels.lock().expect("metrics lock");
        let families: [Family; 5] = [
            (
                "weft_orderer_blocks_cut_total",
                "counter",
                "Blocks written, per channel.",
                |c| c.blocks,
            ),
            (
                "weft_orderer_envelopes_ordered_total",
                "counter",
                "Envelopes in written blocks, per channel.",
                |c| c.envelopes,
            ),
            (
                "weft_orderer_raft_leader_changes_total",
                "counter",
                "Leader changes seen, per channel.",
                |c| c.leader_changes,
            ),
            (
                "weft_orderer_raft_term",
                "gauge",
                "Raft term at the last leader change, per channel.",
                |c| c.term,
            ),
            (
                "weft_orderer_raft_is_leader",
                "gauge",
                "1 if this node leads the channel.",
                |c| u64::from(c.is_leader),
            ),
        ];
        for (name, kind, help, get) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (ch, counters) in c.iter() {
                let _ = writeln!(out, "{name}{{channel=\"{ch}\"}} {}", get(counters));
            }
        }
        let _ = writeln!(
            out,
            "# HELP weft_orderer_txs_per_block Average envelopes per block, per channel.\n# TYPE weft_orderer_txs_per_block gauge"
        );
        for (ch, counters) in c.iter() {
            let avg = if counters.blocks == 0 {
                0.0
            } else {
                counters.envelopes as f64 / counters.blocks as f64
            };
            let _ = writeln!(out, "weft_orderer_txs_per_block{{channel=\"{ch}\"}} {avg}");
        }
        let _ = writeln!(
            out,
            "# HELP weft_orderer_broadcast_latency_seconds Broadcast to commit, seconds.\n# TYPE weft_orderer_broadcast_latency_seconds histogram"
        );
        self.broadcast_latency
            .render("weft_orderer_broadcast_latency_seconds", "", &mut out);
        let _ = writeln!(
            out,
            "# HELP weft_orderer_broadcast_refused_total Envelopes refused at admission.\n# TYPE weft_orderer_broadcast_refused_total counter\nweft_orderer_broadcast_refused_total {}",
            self.broadcast_refused.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.block_written("ch", 10);
        m.block_written("ch", 20);
        m.leader_changed("ch", 3, true);
        m.broadcast_latency
            .observe(std::time::Duration::from_millis(30));
        let text = m.render();
        assert!(
            text.contains("weft_orderer_blocks_cut_total{channel=\"ch\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("weft_orderer_txs_per_block{channel=\"ch\"} 15"),
            "{text}"
        );
        assert!(text.contains("weft_orderer_raft_term{channel=\"ch\"} 3"));
        assert!(text.contains("weft_orderer_broadcast_latency_seconds_bucket{le=\"0.05\"} 1"));
        assert!(text.contains("weft_orderer_broadcast_latency_seconds_bucket{le=\"0.025\"} 0"));
        assert!(text.contains("weft_orderer_broadcast_latency_seconds_count 1"));
    }
}
