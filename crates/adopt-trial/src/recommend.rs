//! The decision: per scenario, the model to use, the models worth considering (the Pareto
//! frontiers of quality against cost and against latency), and one sentence a manager can
//! act on.

use serde::{Deserialize, Serialize};

use crate::config::{Preference, QualityBar};
use crate::measure::ModelTaskMetrics;
use crate::plan::TrialPlan;

/// The recommendation for one task (scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub task: String,
    /// Quality a model had to reach.
    pub threshold: f64,
    /// How the threshold was set, in words.
    pub bar: String,
    /// The model to use; `None` when no model reaches the bar.
    pub chosen: Option<String>,
    /// The best-quality model.
    pub best: Option<String>,
    /// Models meeting the bar, in order of preference.
    pub qualifying: Vec<String>,
    /// Models no other model beats on both quality and cost (cheapest first).
    pub pareto_cost: Vec<String>,
    /// Models no other model beats on both quality and p95 latency (fastest first).
    pub pareto_latency: Vec<String>,
    /// The decision in plain language.
    pub sentence: String,
}

/// Models not dominated on (higher quality, lower `cost`), sorted by cost.
pub fn pareto_front(rows: &[(&str, f64, f64)]) -> Vec<String> {
    let mut front: Vec<(&str, f64, f64)> = rows
        .iter()
        .filter(|(_, q, c)| {
            !rows
                .iter()
                .any(|(_, q2, c2)| (q2 >= q && c2 <= c) && (q2 > q || c2 < c))
        })
        .copied()
        .collect();
    front.sort_by(|a, b| a.2.total_cmp(&b.2).then(b.1.total_cmp(&a.1)));
    front.into_iter().map(|(n, _, _)| n.to_string()).collect()
}

fn fraction(r: f64) -> String {
    if r <= 0.0 {
        "no".into()
    } else if r <= 0.5 {
        format!("1/{:.0} of", (1.0 / r).round())
    } else if r < 1.0 {
        format!("{:.0}% of", r * 100.0)
    } else if (r - 1.0).abs() < 0.05 {
        "about".into()
    } else {
        format!("{r:.1}x")
    }
}

/// Recommends per task from `metrics` (every swept model on every task).
pub fn recommend(plan: &TrialPlan, metrics: &[ModelTaskMetrics]) -> Vec<Recommendation> {
    let config = &plan.config;
    let mut out = Vec::new();
    for task in &config.tasks {
        let rows: Vec<&ModelTaskMetrics> = metrics
            .iter()
            .filter(|m| m.task == task.name && m.answered > 0)
            .collect();
        // On a tie the model listed first (max_by would take the last).
        let best = rows
            .iter()
            .min_by(|a, b| b.quality.total_cmp(&a.quality))
            .copied();
        let QualityBar {
            min_quality,
            min_relative,
        } = config.quality_bar.clone();
        let min_quality = task.min_quality.or(min_quality);
        let min_relative = match (min_quality, min_relative) {
            (None, None) => Some(0.95),
            (_, r) => r,
        };
        let best_q = best.map_or(0.0, |b| b.quality);
        let mut threshold: f64 = 0.0;
        let mut bar = Vec::new();
        if let Some(q) = min_quality {
            threshold = threshold.max(q);
            bar.push(format!("{} >= {q:.2}", task.primary_metric().as_str()));
        }
        if let Some(r) = min_relative {
            threshold = threshold.max(r * best_q);
            bar.push(format!("{:.0}% of the best ({:.2})", r * 100.0, r * best_q));
        }
        let size_of = |name: &str| plan.model(name).and_then(|m| m.parameters);
        let label = |name: &str| match plan.model(name).and_then(|m| m.size.clone()) {
            Some(s) => format!("{name} ({s})"),
            None => name.to_string(),
        };
        let mut qualifying: Vec<&ModelTaskMetrics> = rows
            .iter()
            .filter(|m| m.quality >= threshold - 1e-12 && m.quality > 0.0)
            .copied()
            .collect();
        let cost = |m: &ModelTaskMetrics| m.cost_per_1k.unwrap_or(f64::INFINITY);
        let lat = |m: &ModelTaskMetrics| m.latency_p95_ms.unwrap_or(f64::INFINITY);
        let size = |m: &ModelTaskMetrics| size_of(&m.model).unwrap_or(f64::INFINITY);
        qualifying.sort_by(|a, b| match config.prefer {
            Preference::Smallest => size(a)
                .total_cmp(&size(b))
                .then(cost(a).total_cmp(&cost(b))),
            Preference::Cheapest => cost(a)
                .total_cmp(&cost(b))
                .then(size(a).total_cmp(&size(b))),
            Preference::Fastest => lat(a).total_cmp(&lat(b)).then(cost(a).total_cmp(&cost(b))),
        });
        let chosen = qualifying.first().copied();
        let priced: Vec<(&str, f64, f64)> = rows
            .iter()
            .filter_map(|m| m.cost_per_1k.map(|c| (m.model.as_str(), m.quality, c)))
            .collect();
        let timed: Vec<(&str, f64, f64)> = rows
            .iter()
            .filter_map(|m| m.latency_p95_ms.map(|l| (m.model.as_str(), m.quality, l)))
            .collect();
        let metric = task.primary_metric().as_str();
        let ci = |m: &ModelTaskMetrics| {
            format!(
                "{:.2} [{:.2}, {:.2}]",
                m.quality, m.quality_low, m.quality_high
            )
        };
        let sentence = match (chosen, best) {
            (_, None) => format!(
                "For {}, no model answered; nothing to recommend.",
                task.name
            ),
            (None, Some(b)) => format!(
                "For {}, no model reaches the bar ({}); the best is {} at {metric} {}.",
                task.name,
                bar.join(" and "),
                label(&b.model),
                ci(b)
            ),
            (Some(c), Some(b)) if c.model == b.model || c.quality >= b.quality => {
                let alone = if qualifying.len() == 1 {
                    "is the only model that reaches"
                } else {
                    "is both the best and the preferred model meeting"
                };
                let cost_txt = c
                    .cost_per_1k
                    .map(|k| format!(", {k:.4} {} per 1k tasks", config.currency))
                    .unwrap_or_default();
                format!(
                    "For {}, {} {alone} the bar: {metric} {}{cost_txt}.",
                    task.name,
                    label(&c.model),
                    ci(c)
                )
            }
            (Some(c), Some(b)) => {
                let rel = if b.quality > 0.0 {
                    c.quality / b.quality
                } else {
                    0.0
                };
                let mut s = format!(
                    "For {}, {} reaches {rel:.2} of the quality of {} ({metric} {} vs {})",
                    task.name,
                    label(&c.model),
                    label(&b.model),
                    ci(c),
                    ci(b)
                );
                match (c.cost_per_1k, b.cost_per_1k) {
                    (Some(cc), Some(bc)) if bc > 0.0 && cc == 0.0 => {
                        s.push_str(" at no token cost")
                    }
                    (Some(cc), Some(bc)) if bc > 0.0 => {
                        s.push_str(&format!(" at {} the cost", fraction(cc / bc)))
                    }
                    _ => match (size_of(&c.model), size_of(&b.model)) {
                        (Some(cs), Some(bs)) if cs < 0.95 * bs => {
                            s.push_str(&format!(" with {} the parameters", fraction(cs / bs)))
                        }
                        _ => {}
                    },
                }
                if let (Some(cl), Some(bl)) = (c.latency_p95_ms, b.latency_p95_ms) {
                    s.push_str(&format!(", p95 latency {:.0} ms vs {:.0} ms", cl, bl));
                }
                s.push('.');
                s
            }
        };
        out.push(Recommendation {
            task: task.name.clone(),
            threshold,
            bar: bar.join(" and "),
            chosen: chosen.map(|c| c.model.clone()),
            best: best.map(|b| b.model.clone()),
            qualifying: qualifying.iter().map(|m| m.model.clone()).collect(),
            pareto_cost: pareto_front(&priced),
            pareto_latency: pareto_front(&timed),
            sentence,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_keeps_only_undominated() {
        let rows = [
            ("a", 0.9, 10.0),
            ("b", 0.8, 1.0),
            ("c", 0.7, 5.0),
            ("d", 0.9, 12.0),
            ("e", 0.95, 30.0),
        ];
        assert_eq!(pareto_front(&rows), ["b", "a", "e"]);
    }

    #[test]
    fn fractions_read_naturally() {
        assert_eq!(fraction(1.0 / 9.0), "1/9 of");
        assert_eq!(fraction(0.75), "75% of");
        assert_eq!(fraction(2.0), "2.0x");
        assert_eq!(fraction(0.0), "no");
    }
}
