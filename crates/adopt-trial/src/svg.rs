//! The chart: quality against model size and against cost per 1,000 tasks, one colour per
//! task, with confidence intervals and the quality bar. Hand-written SVG: no script, no fonts or
//! styles fetched from anywhere, so it opens offline and embeds in the HTML report.

use std::fmt::Write;

use crate::report::TrialReport;

const W: f64 = 1000.0;
const PANEL_W: f64 = 440.0;
const PANEL_H: f64 = 300.0;
const TOP: f64 = 70.0;
const LEFT: [f64; 2] = [70.0, 560.0];
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A log-scale axis over positive values, padded to whole decades.
struct LogAxis {
    lo: f64,
    hi: f64,
}

impl LogAxis {
    fn over(values: impl Iterator<Item = f64>) -> Option<Self> {
        let v: Vec<f64> = values.filter(|x| *x > 0.0 && x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let lo = v
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .log10()
            .floor();
        let mut hi = v
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
            .log10()
            .ceil();
        if hi <= lo {
            hi = lo + 1.0;
        }
        Some(LogAxis { lo, hi })
    }

    /// Position in 0..=1, kept off the frame so points at a decade edge stay visible.
    fn pos(&self, v: f64) -> f64 {
        0.04 + 0.92 * ((v.log10() - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }
}

fn size_label(v: f64) -> String {
    match v {
        v if v >= 1e12 => format!("{}T", v / 1e12),
        v if v >= 1e9 => format!("{}B", v / 1e9),
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}K", v / 1e3),
        v => format!("{v}"),
    }
}

fn cost_label(v: f64) -> String {
    if v >= 1.0 {
        format!("{v}")
    } else {
        format!("{v:.prec$}", prec = (-v.log10()).ceil() as usize)
    }
}

/// Renders the report's quality-vs-size and quality-vs-cost chart.
pub fn render_svg(report: &TrialReport) -> String {
    let h = TOP + PANEL_H + 60.0 + 18.0 * report.tasks.len() as f64 + 20.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let title = match &report.name {
        Some(n) => format!("Model-size trial: {n}"),
        None => "Model-size trial".to_string(),
    };
    let _ = writeln!(
        s,
        r#"<text x="20" y="28" font-size="18" font-weight="bold">{}</text>"#,
        esc(&title)
    );
    let _ = writeln!(
        s,
        r##"<text x="20" y="48" fill="#555">Quality (task metric, {:.0}% bootstrap interval) against size and against cost; dashed: quality bar</text>"##,
        report.confidence * 100.0
    );

    let size_of = |model: &str| {
        report
            .models
            .iter()
            .find(|m| m.name == model)
            .and_then(|m| m.parameters)
    };
    let size_axis = LogAxis::over(report.metrics.iter().filter_map(|m| size_of(&m.model)));
    let cost_axis = LogAxis::over(report.metrics.iter().filter_map(|m| m.cost_per_1k));
    let panels: [(&str, Option<LogAxis>, String); 2] = [
        (
            "Model size (parameters, log scale)",
            size_axis,
            "no model has a size".into(),
        ),
        (
            "Cost per 1,000 tasks (log scale)",
            cost_axis,
            format!("no model has a price in {}", report.currency),
        ),
    ];
    for (p, (xlabel, axis, empty)) in panels.iter().enumerate() {
        let x0 = LEFT[p];
        let xlabel = if p == 1 {
            format!("{xlabel}, {}", report.currency)
        } else {
            xlabel.to_string()
        };
        let _ = writeln!(
            s,
            r##"<rect x="{x0}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#999"/>"##
        );
        // Quality gridlines.
        for i in 0..=5 {
            let q = f64::from(i) / 5.0;
            let y = TOP + PANEL_H * (1.0 - q);
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{q:.1}</text>"##,
                x0 + PANEL_W,
                x0 - 6.0,
                y + 4.0
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
            x0 + PANEL_W / 2.0,
            TOP + PANEL_H + 36.0,
            esc(&xlabel)
        );
        let _ = writeln!(
            s,
            r##"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle" fill="#333">quality</text>"##,
            x0 - 40.0,
            TOP + PANEL_H / 2.0
        );
        let Some(axis) = axis else {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#999">{}</text>"##,
                x0 + PANEL_W / 2.0,
                TOP + PANEL_H / 2.0,
                esc(if report.metrics.is_empty() {
                    "no measurements (dry run?)"
                } else {
                    empty
                })
            );
            continue;
        };
        let mut d = axis.lo;
        while d <= axis.hi + 1e-9 {
            let v = 10f64.powf(d);
            let x = x0 + PANEL_W * axis.pos(v);
            let label = if p == 0 { size_label(v) } else { cost_label(v) };
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
                TOP + PANEL_H,
                TOP + PANEL_H + 16.0,
                esc(&label)
            );
            d += 1.0;
        }
        for (ti, task) in report.tasks.iter().enumerate() {
            let colour = COLOURS[ti % COLOURS.len()];
            if let Some(r) = report.recommendation(&task.name) {
                if r.threshold > 0.0 {
                    let y = TOP + PANEL_H * (1.0 - r.threshold.clamp(0.0, 1.0));
                    let _ = writeln!(
                        s,
                        r#"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-dasharray="5,4" stroke-width="1"/>"#,
                        x0 + PANEL_W
                    );
                }
            }
            for m in report.metrics.iter().filter(|m| m.task == task.name) {
                let xv = if p == 0 {
                    size_of(&m.model)
                } else {
                    m.cost_per_1k
                };
                let Some(xv) = xv.filter(|v| *v > 0.0) else {
                    continue;
                };
                let x = x0 + PANEL_W * axis.pos(xv);
                let y = |q: f64| TOP + PANEL_H * (1.0 - q.clamp(0.0, 1.0));
                let chosen = report
                    .recommendation(&task.name)
                    .and_then(|r| r.chosen.as_deref())
                    == Some(m.model.as_str());
                let _ = writeln!(
                    s,
                    r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.5"/>"#,
                    y(m.quality_low),
                    y(m.quality_high)
                );
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x:.1}" cy="{:.1}" r="{}" fill="{colour}" stroke="{}" stroke-width="2"><title>{}</title></circle>"#,
                    y(m.quality),
                    if chosen { 7 } else { 5 },
                    if chosen { "black" } else { "white" },
                    esc(&format!(
                        "{} on {}: {} {:.3} [{:.3}, {:.3}]",
                        m.model,
                        m.task,
                        m.metric.as_str(),
                        m.quality,
                        m.quality_low,
                        m.quality_high
                    ))
                );
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#333">{}</text>"##,
                    x + 8.0,
                    y(m.quality) - 6.0,
                    esc(&m.model)
                );
            }
        }
    }
    // Legend: one line per task with its recommendation.
    let mut y = TOP + PANEL_H + 64.0;
    for (ti, task) in report.tasks.iter().enumerate() {
        let colour = COLOURS[ti % COLOURS.len()];
        let rec = report
            .recommendation(&task.name)
            .map(|r| match &r.chosen {
                Some(c) => format!("use {c}"),
                None => "no model meets the bar".into(),
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            r#"<circle cx="28" cy="{:.1}" r="5" fill="{colour}"/><text x="40" y="{:.1}">{} ({}, {}): {}</text>"#,
            y - 4.0,
            y,
            esc(&task.name),
            task.metric.as_str(),
            task.items,
            esc(&rec)
        );
        y += 18.0;
    }
    s.push_str("</svg>\n");
    s
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v` (at least 1): a round axis end.
fn round_up(v: f64) -> f64 {
    if !(v.is_finite() && v > 1.0) {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|&c| c >= v)
        .unwrap_or(10.0 * mag)
}

/// An axis value without float noise (0.6, not 0.6000000000000001).
fn tick(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Renders the load test: TTFT p50 (solid) and p99 (dashed) per load level, and output tokens/s
/// against median end-to-end latency, one colour per model, objectives dashed in grey.
pub fn render_load_svg(load: &crate::load::LoadReport) -> String {
    let mut models: Vec<&str> = Vec::new();
    let mut levels: Vec<&str> = Vec::new();
    for l in &load.levels {
        if !models.contains(&l.model.as_str()) {
            models.push(&l.model);
        }
        if !levels.contains(&l.level.as_str()) {
            levels.push(&l.level);
        }
    }
    let h = TOP + PANEL_H + 60.0 + 18.0 * models.len() as f64 + 20.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="20" y="28" font-size="18" font-weight="bold">Latency under load</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="20" y="48" fill="#555">{}; dashed grey: objectives</text>"##,
        esc(&load.prompts)
    );
    let ttft_max = round_up(
        load.levels
            .iter()
            .filter_map(|l| l.ttft_p99_ms.or(l.ttft_p50_ms))
            .chain(load.slo.ttft_ms)
            .fold(0.0, f64::max),
    );
    let tps_max = round_up(
        load.levels
            .iter()
            .map(|l| l.output_tokens_per_s)
            .fold(0.0, f64::max),
    );
    let e2e_max = round_up(
        load.levels
            .iter()
            .filter_map(|l| l.e2e_p50_ms)
            .chain(load.slo.e2e_ms)
            .fold(0.0, f64::max),
    );
    let panels = [
        ("load level", "TTFT p50 / p99, ms", ttft_max),
        (
            "output tokens per second",
            "end-to-end latency p50, ms",
            e2e_max,
        ),
    ];
    for (p, (xlabel, ylabel, ymax)) in panels.iter().enumerate() {
        let x0 = LEFT[p];
        let _ = writeln!(
            s,
            r##"<rect x="{x0}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#999"/>"##
        );
        for i in 0..=5 {
            let v = tick(ymax * f64::from(i) / 5.0);
            let y = TOP + PANEL_H * (1.0 - f64::from(i) / 5.0);
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{v}</text>"##,
                x0 + PANEL_W,
                x0 - 6.0,
                y + 4.0
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">{xlabel}</text><text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle" fill="#333">{ylabel}</text>"##,
            x0 + PANEL_W / 2.0,
            TOP + PANEL_H + 36.0,
            x0 - 48.0,
            TOP + PANEL_H / 2.0
        );
        if load.levels.is_empty() {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#999">no level measured</text>"##,
                x0 + PANEL_W / 2.0,
                TOP + PANEL_H / 2.0
            );
            continue;
        }
        let y_of = |v: f64| TOP + PANEL_H * (1.0 - (v / ymax).clamp(0.0, 1.0));
        let slo = if p == 0 {
            load.slo.ttft_ms
        } else {
            load.slo.e2e_ms
        };
        if let Some(v) = slo {
            let _ = writeln!(
                s,
                r##"<line x1="{x0}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="5,4"/>"##,
                y_of(v),
                x0 + PANEL_W,
                y_of(v)
            );
        }
        let x_of = |l: &crate::load::LoadLevel| -> f64 {
            if p == 0 {
                let i = levels.iter().position(|&v| v == l.level).unwrap_or(0);
                x0 + PANEL_W * (i as f64 + 0.5) / levels.len() as f64
            } else {
                x0 + PANEL_W * (0.04 + 0.92 * (l.output_tokens_per_s / tps_max).clamp(0.0, 1.0))
            }
        };
        if p == 0 {
            for (i, level) in levels.iter().enumerate() {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
                    x0 + PANEL_W * (i as f64 + 0.5) / levels.len() as f64,
                    TOP + PANEL_H + 16.0,
                    esc(level)
                );
            }
        } else {
            for i in 0..=4 {
                let v = tick(tps_max * f64::from(i) / 4.0);
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">{v}</text>"##,
                    x0 + PANEL_W * (0.04 + 0.92 * f64::from(i) / 4.0),
                    TOP + PANEL_H + 16.0
                );
            }
        }
        for (mi, model) in models.iter().enumerate() {
            let colour = COLOURS[mi % COLOURS.len()];
            let rows: Vec<&crate::load::LoadLevel> =
                load.levels.iter().filter(|l| l.model == *model).collect();
            // (p99?, dash pattern): the left panel draws p50 solid and p99 dashed.
            let series: &[(bool, &str)] = if p == 0 {
                &[(false, ""), (true, "5,4")]
            } else {
                &[(false, "")]
            };
            for &(p99, dash) in series {
                let value = |l: &crate::load::LoadLevel| match (p, p99) {
                    (0, false) => l.ttft_p50_ms,
                    (0, true) => l.ttft_p99_ms,
                    _ => l.e2e_p50_ms,
                };
                let points: Vec<(f64, f64, &crate::load::LoadLevel)> = rows
                    .iter()
                    .filter_map(|l| value(l).map(|v| (x_of(l), y_of(v), *l)))
                    .collect();
                let path: Vec<String> = points
                    .iter()
                    .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
                    .collect();
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}"/>"#,
                    path.join(" ")
                );
                for (x, y, l) in &points {
                    let tip = format!(
                        "{} at {}: TTFT p50 {} / p99 {} ms, {:.1} output tokens/s, {:.2} req/s, e2e p50 {} ms",
                        l.model,
                        l.level,
                        l.ttft_p50_ms.map_or("-".into(), |v| format!("{v:.0}")),
                        l.ttft_p99_ms.map_or("-".into(), |v| format!("{v:.0}")),
                        l.output_tokens_per_s,
                        l.request_throughput,
                        l.e2e_p50_ms.map_or("-".into(), |v| format!("{v:.0}")),
                    );
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{colour}" stroke="white" stroke-width="1.5"><title>{}</title></circle>"#,
                        esc(&tip)
                    );
                    if p == 1 {
                        let _ = writeln!(
                            s,
                            r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#333">{}</text>"##,
                            x + 6.0,
                            y - 6.0,
                            esc(&l.level)
                        );
                    }
                }
            }
        }
    }
    let mut y = TOP + PANEL_H + 64.0;
    for (mi, model) in models.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<circle cx="28" cy="{:.1}" r="5" fill="{}"/><text x="40" y="{y:.1}">{}</text>"#,
            y - 4.0,
            COLOURS[mi % COLOURS.len()],
            esc(model)
        );
        y += 18.0;
    }
    s.push_str("</svg>\n");
    s
}
