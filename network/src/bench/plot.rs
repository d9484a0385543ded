//! An SVG plot of a bench run: throughput per second above, p50/p99
//! latency per second below. Hand-written SVG, no plotting dependency.

use std::fmt::Write;

use super::stats::Report;

const W: f64 = 900.0;
const H: f64 = 260.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

/// One panel: axes, grid, a title, and polylines of `series` (label, colour, values).
fn panel(out: &mut String, top: f64, title: &str, unit: &str, series: &[(&str, &str, Vec<f64>)]) {
    let n = series.first().map_or(0, |s| s.2.len()).max(1);
    let max = nice_max(
        series
            .iter()
            .flat_map(|s| s.2.iter().copied())
            .fold(0.0, f64::max),
    );
    let (plot_w, plot_h) = (W - LEFT - RIGHT, H - 60.0);
    let x = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / n as f64;
    let y = |v: f64| top + 30.0 + plot_h * (1.0 - v / max);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="{}" font-size="15" font-weight="bold">{title}</text>"#,
        top + 18.0
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let yy = y(v);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{v:.0} {unit}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    let step = (n / 10).max(1);
    for i in (0..n).step_by(step) {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{i}s</text>"#,
            x(i),
            top + 30.0 + plot_h + 16.0
        );
    }
    for (k, (label, colour, values)) in series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let lx = W - RIGHT - 150.0 + 75.0 * k as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="4" fill="{colour}"/><text x="{:.1}" y="{:.1}" font-size="12">{label}</text>"#,
            top + 12.0,
            lx + 16.0,
            top + 18.0
        );
    }
}

/// The SVG document for `report`.
pub fn svg(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{}" font-family="sans-serif">"#,
        2.0 * H + 10.0
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let tps: Vec<f64> = report.timeline.iter().map(|s| s.successes as f64).collect();
    let failed: Vec<f64> = report.timeline.iter().map(|s| s.failures as f64).collect();
    panel(
        &mut out,
        0.0,
        &format!(
            "{}: throughput ({:.0} tx/s overall)",
            report.workload, report.tps
        ),
        "tx/s",
        &[("ok", "#1f77b4", tps), ("failed", "#d62728", failed)],
    );
    let p50: Vec<f64> = report.timeline.iter().map(|s| s.p50_ms).collect();
    let p99: Vec<f64> = report.timeline.iter().map(|s| s.p99_ms).collect();
    panel(
        &mut out,
        H + 10.0,
        &format!(
            "latency (overall p50 {:.0} ms, p99 {:.0} ms)",
            report.latency_ms.p50, report.latency_ms.p99
        ),
        "ms",
        &[("p50", "#2ca02c", p50), ("p99", "#ff7f0e", p99)],
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::Sample;

    #[test]
    fn plots_both_panels_with_one_point_per_second() {
        let samples: Vec<Sample> = (0..30)
            .map(|i| Sample {
                sent_at: i as f64 * 0.1,
                latency: 0.2,
                outcome: "VALID".into(),
            })
            .collect();
        let r = Report::from_samples("create", &samples);
        let doc = svg(&r);
        assert!(doc.starts_with("<svg"));
        assert!(doc.trim_end().ends_with("</svg>"));
        assert_eq!(doc.matches("<polyline").count(), 4);
        assert!(doc.contains("create: throughput"));
        let first = doc
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(first.split(' ').count(), r.timeline.len());
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(nice_max(480.0), 500.0);
    }
}
