//! What the same work would cost on hosted APIs at list price: each task's measured tokens per
//! item (from the models the trial did run) priced with the catalogue entries the trial names
//! in `cost-comparison`. Nothing is sent to those APIs, so their quality is not known; the
//! comparison answers "what would the bill be", not "would it be good enough".

use serde::{Deserialize, Serialize};

use crate::catalogue::PriceCatalogue;
use crate::config::TrialConfig;
use crate::report::TrialReport;

/// One hosted model priced for one task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostedCost {
    pub task: String,
    /// Catalogue id ("deepseek-v2").
    pub price_id: String,
    pub vendor: Option<String>,
    pub model: Option<String>,
    /// List prices per million tokens, in the catalogue's currency, and when they were taken.
    pub input_per_m: f64,
    pub output_per_m: f64,
    pub list_currency: String,
    pub as_of: String,
    /// Tokens per item the price is applied to: the mean over the models that answered.
    pub input_tokens_per_item: f64,
    pub output_tokens_per_item: f64,
    /// In the report currency.
    pub cost_per_1k: f64,
    pub monthly_volume: Option<u64>,
    pub monthly_cost: Option<f64>,
}

/// Prices every task of `report` with every `cost-comparison` entry of `config`. Tasks no model
/// answered are left out (there are no tokens to price); entries missing from the catalogue or
/// without an exchange rate were refused by validation and are skipped here.
pub fn hosted_costs(config: &TrialConfig, report: &TrialReport) -> Vec<HostedCost> {
    let catalogue = PriceCatalogue::builtin().with_overrides(&config.prices);
    let mut out = Vec::new();
    for task in &report.tasks {
        let answered: u64 = report
            .metrics
            .iter()
            .filter(|m| m.task == task.name)
            .map(|m| m.answered as u64)
            .sum();
        if answered == 0 {
            continue;
        }
        let (input, output) = report
            .metrics
            .iter()
            .filter(|m| m.task == task.name)
            .fold((0u64, 0u64), |(i, o), m| {
                (i + m.input_tokens, o + m.output_tokens)
            });
        let input = input as f64 / answered as f64;
        let output = output as f64 / answered as f64;
        let volume = config
            .tasks
            .iter()
            .find(|t| t.name == task.name)
            .and_then(|t| t.monthly_volume)
            .or(config.monthly_volume);
        for id in &config.cost_comparison {
            let Some(p) = catalogue.get(id) else { continue };
            let rate = if p.currency == config.currency {
                1.0
            } else {
                match config.exchange_rates.get(&p.currency) {
                    Some(r) => *r,
                    None => continue,
                }
            };
            let per_item = (input * p.input_per_m + output * p.output_per_m) / 1e6 * rate;
            out.push(HostedCost {
                task: task.name.clone(),
                price_id: p.id.clone(),
                vendor: p.vendor.clone(),
                model: p.model.clone(),
                input_per_m: p.input_per_m,
                output_per_m: p.output_per_m,
                list_currency: p.currency.clone(),
                as_of: p.as_of.clone(),
                input_tokens_per_item: input,
                output_tokens_per_item: output,
                cost_per_1k: per_item * 1000.0,
                monthly_volume: volume,
                monthly_cost: volume.map(|v| per_item * v as f64),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Metric, TaskKind};
    use crate::measure::ModelTaskMetrics;
    use crate::report::TaskSummary;

    #[test]
    fn tokens_per_item_are_priced_in_the_report_currency() {
        let config: TrialConfig = toml::from_str(
            r#"
currency = "CNY"
exchange-rates = { USD = 7.0 }
monthly-volume = 10000
cost-comparison = ["deepseek-v2", "gpt-4o", "ernie-speed"]
"#,
        )
        .unwrap();
        let metric = |model: &str, answered, input, output| ModelTaskMetrics {
            model: model.into(),
            task: "qa".into(),
            items: 4,
            answered,
            errors: 0,
            echoed: 0,
            metric: Metric::TokenF1,
            quality: 0.5,
            quality_low: 0.4,
            quality_high: 0.6,
            all_metrics: Default::default(),
            ttft_p50_ms: None,
            latency_p50_ms: None,
            latency_p95_ms: None,
            tokens_per_s_p50: None,
            input_tokens: input,
            output_tokens: output,
            usage_estimated: 0,
            cost_per_1k: None,
            monthly_volume: None,
            monthly_cost: None,
            context_hit_rate: None,
            model_errors_with_answer_in_context: None,
            errors_with_answer_missing: None,
            groundedness: None,
        };
        let task = |name: &str| TaskSummary {
            name: name.into(),
            kind: TaskKind::RagQa,
            metric: Metric::TokenF1,
            items: 4,
            monthly_volume: None,
        };
        let report = TrialReport {
            tasks: vec![task("qa"), task("unanswered")],
            // 4 answers, 4,000 input and 200 output tokens: 1,000 and 50 per item.
            metrics: vec![metric("a", 3, 3000, 150), metric("b", 1, 1000, 50)],
            ..TrialReport::default()
        };
        let costs = hosted_costs(&config, &report);
        assert_eq!(costs.len(), 3, "{costs:#?}");
        let deepseek = &costs[0];
        assert_eq!(deepseek.price_id, "deepseek-v2");
        assert_eq!(deepseek.input_tokens_per_item, 1000.0);
        // (1000 * 1 + 50 * 2) / 1e6 CNY per item.
        assert!((deepseek.cost_per_1k - 1.1).abs() < 1e-9);
        assert!((deepseek.monthly_cost.unwrap() - 11.0).abs() < 1e-9);
        // (1000 * 5 + 50 * 15) / 1e6 USD at 7 CNY.
        assert!((costs[1].cost_per_1k - 5.75 * 7.0).abs() < 1e-9);
        assert_eq!(costs[2].cost_per_1k, 0.0);
    }
}
