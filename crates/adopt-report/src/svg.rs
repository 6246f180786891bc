//! Charts as hand-written SVG: no script, no fonts to fetch, so the page works offline, in a
//! mail attachment and on paper. Bars are horizontal because department names (often Chinese)
//! are long and read better on the side than slanted under a column.

use std::fmt::Write as _;

use crate::html::escape;
use crate::readiness::{BarChart, ScatterChart, ValueScale};
use crate::units::count;

/// Drawing width in CSS pixels: charts are drawn at their natural size (so text stays 12 px)
/// and two fit side by side on a laptop screen and on A4; they shrink only on narrow screens.
const WIDTH: f64 = 470.0;
/// Series colours: blue first, then amber so that a second series ("dropped", "no text")
/// reads as the one needing attention; all distinct in grey-scale print.
const PALETTE: [&str; 8] = [
    "#2f6db5", "#e39b2d", "#5f9e4f", "#a9558a", "#4fa7a7", "#8c6d4f", "#6b6fc7", "#9a9a9a",
];
const LABEL_MAX: usize = 20;
const FONT: f64 = 12.0;

/// Rough text width at `FONT`: CJK glyphs are square, Latin ones about half as wide. Good
/// enough to size margins without a font engine.
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| {
            if (c as u32) >= 0x2E80 {
                FONT
            } else {
                FONT * 0.66
            }
        })
        .sum()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// A step of 1, 2 or 5 times a power of ten giving about five ticks up to `max`.
fn nice_step(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

pub(crate) fn tick_label(v: f64, scale: ValueScale) -> String {
    if scale == ValueScale::Percent {
        format!("{:.0}%", v * 100.0)
    } else if scale == ValueScale::Ratio {
        format!("{v:.2}")
    } else if (v - v.round()).abs() < 1e-9 && v.abs() < 1e15 {
        count(v.round().max(0.0) as u64)
    } else if v.abs() >= 10.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Axis ticks: ratios need one decimal only (0.2, 0.4).
fn axis_label(v: f64, scale: ValueScale) -> String {
    if scale == ValueScale::Ratio {
        format!("{v:.1}")
    } else {
        tick_label(v, scale)
    }
}

fn open_svg(out: &mut String, height: f64, title: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0}" width="{WIDTH}" height="{height:.0}" role="img" aria-label="{t}" font-size="{FONT}"><title>{t}</title>"#,
        t = escape(title)
    );
}

fn legend(out: &mut String, series: &[String], y: f64, x0: f64) {
    let mut x = x0;
    for (i, name) in series.iter().enumerate() {
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{:.1}" width="12" height="12" rx="2" fill="{}"/><text x="{:.1}" y="{:.1}" fill="#333">{}</text>"##,
            y - 10.0,
            PALETTE[i % PALETTE.len()],
            x + 16.0,
            y,
            escape(name)
        );
        x += 16.0 + text_width(name) + 18.0;
    }
}

/// Horizontal bar chart, grouped or stacked.
pub(crate) fn bar_chart(chart: &BarChart) -> String {
    let n_series = chart.series.len().max(1);
    let labels: Vec<String> = chart
        .categories
        .iter()
        .map(|c| truncate(c, LABEL_MAX))
        .collect();
    let left = labels
        .iter()
        .map(|l| text_width(l))
        .fold(40.0_f64, f64::max)
        .min(150.0)
        + 12.0;
    let right = 40.0;
    let plot_w = WIDTH - left - right;
    let legend_h = if n_series > 1 { 24.0 } else { 0.0 };
    let bar_h = if chart.stacked || n_series == 1 {
        18.0
    } else {
        12.0
    };
    let row_h = if chart.stacked {
        bar_h + 10.0
    } else {
        bar_h * n_series as f64 + 10.0
    };
    let top = 8.0 + legend_h;
    let plot_h = row_h * chart.categories.len().max(1) as f64;
    let height = top + plot_h + 44.0;

    let totals: Vec<f64> = chart
        .values
        .iter()
        .map(|row| {
            if chart.stacked {
                row.iter().map(|v| v.max(0.0)).sum()
            } else {
                row.iter().copied().fold(0.0, f64::max)
            }
        })
        .collect();
    let data_max = totals.iter().copied().fold(0.0, f64::max);
    let (step, axis_max) = if chart.scale != ValueScale::Count {
        (0.2, 1.0_f64.max(data_max))
    } else {
        // Counts are whole: no "1.5 documents" tick.
        let step = nice_step(data_max.max(1.0)).max(1.0);
        (step, (data_max / step).ceil().max(1.0) * step)
    };
    let x_of = |v: f64| left + plot_w * (v / axis_max).clamp(0.0, 1.0);

    let mut out = String::new();
    open_svg(&mut out, height, &chart.title);
    if n_series > 1 {
        legend(&mut out, &chart.series, 18.0, left);
    }
    // Grid and ticks first so bars draw over them.
    let mut t = 0.0;
    while t <= axis_max + step * 1e-6 {
        let x = x_of(t);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{:.1}" stroke="#e3e6ea"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
            top + plot_h,
            top + plot_h + 16.0,
            axis_label(t, chart.scale)
        );
        t += step;
    }
    let _ = write!(
        out,
        r##"<line x1="{left:.1}" y1="{top:.1}" x2="{left:.1}" y2="{:.1}" stroke="#888"/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
        top + plot_h,
        left + plot_w / 2.0,
        top + plot_h + 36.0,
        escape(&chart.value_label)
    );
    for (ci, (label, row)) in labels.iter().zip(&chart.values).enumerate() {
        let y0 = top + row_h * ci as f64 + 5.0;
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333"><title>{}</title>{}</text>"##,
            left - 8.0,
            y0 + (row_h - 10.0) / 2.0 + 4.0,
            escape(&chart.categories[ci]),
            escape(label)
        );
        let mut x = left;
        for (si, v) in row.iter().enumerate() {
            let v = v.max(0.0);
            let color = PALETTE[si % PALETTE.len()];
            let name = chart.series.get(si).map_or("", String::as_str);
            let value_text = tick_label(v, chart.scale);
            if chart.stacked {
                let w = x_of(v) - left;
                if w > 0.0 {
                    let _ = write!(
                        out,
                        r#"<rect x="{x:.1}" y="{y0:.1}" width="{w:.1}" height="{bar_h:.1}" fill="{color}"><title>{}: {} {}</title></rect>"#,
                        escape(&chart.categories[ci]),
                        value_text,
                        escape(name)
                    );
                }
                x += w;
            } else {
                let y = y0 + bar_h * si as f64;
                let w = x_of(v) - left;
                let _ = write!(
                    out,
                    r##"<rect x="{left:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{color}"><title>{}: {} {}</title></rect><text x="{:.1}" y="{:.1}" fill="#333" font-size="11">{}</text>"##,
                    bar_h - 1.0,
                    escape(&chart.categories[ci]),
                    value_text,
                    escape(name),
                    left + w + 4.0,
                    y + bar_h - 4.0,
                    value_text
                );
            }
        }
        if chart.stacked {
            let total = totals[ci];
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{:.1}" fill="#333" font-size="11">{}</text>"##,
                x + 4.0,
                y0 + bar_h - 5.0,
                tick_label(total, chart.scale)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Scatter plot with an optional horizontal reference line (the quality bar).
pub(crate) fn scatter_chart(chart: &ScatterChart) -> String {
    let (left, right, top, bottom) = (52.0, 64.0, 14.0, 46.0);
    let height = 280.0;
    let plot_w = WIDTH - left - right;
    let plot_h = height - top - bottom;

    let x_max_data = chart.points.iter().map(|p| p.x).fold(0.0, f64::max);
    let x_step = nice_step(x_max_data.max(1e-9));
    // Headroom on the right so the costliest model's label is not cut off.
    let x_max = (x_max_data * 1.1 / x_step).ceil().max(1.0) * x_step;
    // Quality usually sits in a narrow band near the top: zoom to it, keeping whole tenths.
    let y_lo_data = chart
        .points
        .iter()
        .map(|p| p.y)
        .chain(chart.y_line.as_ref().map(|(v, _)| *v))
        .fold(f64::INFINITY, f64::min);
    let (y_min, y_max, y_step) = if chart.y_scale != ValueScale::Count {
        let lo = ((y_lo_data - 0.05) * 10.0).floor().clamp(0.0, 9.0) / 10.0;
        let step = if 1.0 - lo > 0.5 { 0.2 } else { 0.1 };
        (lo, 1.0, step)
    } else {
        let hi = chart.points.iter().map(|p| p.y).fold(0.0, f64::max);
        let step = nice_step(hi.max(1e-9));
        (0.0, (hi / step).ceil().max(1.0) * step, step)
    };
    let x_of = |v: f64| left + plot_w * (v / x_max).clamp(0.0, 1.0);
    let y_of = |v: f64| top + plot_h * (1.0 - ((v - y_min) / (y_max - y_min)).clamp(0.0, 1.0));

    let mut out = String::new();
    open_svg(&mut out, height, &chart.title);
    let mut t = 0.0;
    while t <= x_max + x_step * 1e-6 {
        let x = x_of(t);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{:.1}" stroke="#e3e6ea"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
            top + plot_h,
            top + plot_h + 16.0,
            tick_label(t, ValueScale::Count)
        );
        t += x_step;
    }
    let mut t = y_min;
    while t <= y_max + y_step * 1e-6 {
        let y = y_of(t);
        let _ = write!(
            out,
            r##"<line x1="{left:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e3e6ea"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
            left + plot_w,
            left - 6.0,
            y + 4.0,
            axis_label(t, chart.y_scale)
        );
        t += y_step;
    }
    let _ = write!(
        out,
        r##"<line x1="{left:.1}" y1="{top:.1}" x2="{left:.1}" y2="{b:.1}" stroke="#888"/><line x1="{left:.1}" y1="{b:.1}" x2="{:.1}" y2="{b:.1}" stroke="#888"/><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" fill="#333">{}</text>"##,
        left + plot_w,
        left + plot_w / 2.0,
        height - 8.0,
        escape(&chart.x_label),
        top + plot_h / 2.0,
        escape(&chart.y_label),
        b = top + plot_h,
    );
    if let Some((v, label)) = &chart.y_line {
        let y = y_of(*v);
        let _ = write!(
            out,
            r##"<line x1="{left:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#c93c37" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{:.1}" y="{:.1}" fill="#c93c37">{}</text>"##,
            left + plot_w,
            left + plot_w + 6.0,
            y + 4.0,
            escape(label)
        );
    }
    // Circles first, then labels, each label placed at the first of four spots around its
    // point that covers no circle and no label placed before: models of similar cost and quality sit close.
    let mut placed: Vec<(f64, f64, f64, f64)> = chart
        .points
        .iter()
        .map(|p| {
            let (x, y) = (x_of(p.x), y_of(p.y));
            (x - 6.0, y - 6.0, x + 6.0, y + 6.0)
        })
        .collect();
    let mut labels = String::new();
    // The recommended model is labelled first so that it gets the best spot.
    let mut order: Vec<&crate::readiness::ScatterPoint> = chart.points.iter().collect();
    order.sort_by_key(|p| !p.highlight);
    for p in order {
        let (x, y) = (x_of(p.x), y_of(p.y));
        let (r, fill, weight) = if p.highlight {
            (7.0, PALETTE[0], "bold")
        } else {
            (5.0, "#9aa7b5", "normal")
        };
        let _ = write!(
            out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{fill}" stroke="#1f2d3d" stroke-width="{}"><title>{}: quality {}, cost {}</title></circle>"##,
            if p.highlight { 1.5 } else { 0.5 },
            escape(&p.label),
            tick_label(p.y, chart.y_scale),
            tick_label(p.x, ValueScale::Count),
        );
        let text = truncate(&p.label, 18);
        let w = text_width(&text) * 0.95;
        let h = 12.0;
        let candidates = [
            (x + r + 2.0, y - r - 1.0, "start"),
            (x + r + 2.0, y + r + h - 2.0, "start"),
            (x - r - 2.0, y - r - 1.0, "end"),
            (x - r - 2.0, y + r + h - 2.0, "end"),
        ];
        let boxed = |(tx, ty, anchor): (f64, f64, &str)| {
            let x0 = if anchor == "end" { tx - w } else { tx };
            (x0, ty - h + 2.0, x0 + w, ty + 2.0)
        };
        let fits = |b: (f64, f64, f64, f64)| {
            b.0 >= 0.0
                && b.2 <= WIDTH
                && placed
                    .iter()
                    .all(|o| b.2 <= o.0 || b.0 >= o.2 || b.3 <= o.1 || b.1 >= o.3)
        };
        let spot = candidates
            .iter()
            .copied()
            .find(|c| fits(boxed(*c)))
            .unwrap_or(candidates[0]);
        placed.push(boxed(spot));
        let _ = write!(
            labels,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="{}" fill="#222" stroke="#fff" stroke-width="3" paint-order="stroke" font-weight="{weight}" font-size="11">{}</text>"##,
            spot.0,
            spot.1,
            spot.2,
            escape(&text)
        );
    }
    out.push_str(&labels);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(10.0), 2.0);
        assert_eq!(nice_step(47.0), 10.0);
        assert_eq!(nice_step(1.0), 0.2);
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn labels_are_escaped_and_truncated() {
        let svg = bar_chart(&BarChart {
            title: "t".into(),
            value_label: "docs".into(),
            series: vec!["a".into()],
            categories: vec!["<b>&".into(), "x".repeat(40)],
            values: vec![vec![1.0], vec![2.0]],
            stacked: false,
            scale: ValueScale::Count,
        });
        assert!(svg.contains("&lt;b&gt;&amp;"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains('…'));
    }
}
