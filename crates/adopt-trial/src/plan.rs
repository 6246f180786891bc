//! Resolved settings: the trial file with defaults filled in, prices looked up and converted
//! to the report currency, and endpoints built. Validation happens here, once, before any data
//! is read or any request is sent.

use serde::{Deserialize, Serialize};

use crate::catalogue::PriceCatalogue;
use crate::config::{parse_size, RequestParams, TaskConfig, TaskKind, TrialConfig};
use crate::error::{Result, TrialError};
use crate::provider::Endpoint;

/// A model's price in the report currency, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedPrice {
    /// Per million input tokens, in the report currency.
    pub input_per_m: f64,
    /// Per million output tokens, in the report currency.
    pub output_per_m: f64,
    /// Serving cost per hour (self-hosted), in the report currency.
    pub per_hour: Option<f64>,
    /// "catalogue:<id>" or "trial file".
    pub source: String,
    /// Currency the price was given in, before conversion.
    pub original_currency: String,
    /// Month the price was taken, when known.
    pub as_of: Option<String>,
}

/// One model with everything resolved.
#[derive(Debug, Clone)]
pub struct ModelPlan {
    pub name: String,
    /// Size as written ("7B").
    pub size: Option<String>,
    /// Parameter count.
    pub parameters: Option<f64>,
    pub endpoint: Endpoint,
    pub price: Option<ResolvedPrice>,
    /// The model's request parameters over the trial defaults (tasks add theirs on top).
    pub params: RequestParams,
    pub judge_only: bool,
}

impl ModelPlan {
    /// The request parameters for `task`: task over model over trial defaults, then deterministic
    /// sampling and a length fitting the task kind where nothing was said.
    pub fn params_for(&self, task: &TaskConfig) -> RequestParams {
        let mut p = task.params.or(&self.params);
        p.temperature.get_or_insert(0.0);
        p.stream.get_or_insert(true);
        p.max_tokens.get_or_insert(match task.kind {
            TaskKind::RagQa => 128,
            TaskKind::Classification => 16,
            TaskKind::Extraction => 256,
        });
        p
    }

    /// Cost of one request in the report currency; `None` when the model has no price.
    /// Self-hosted hourly cost is spread over the requests the endpoint serves at once.
    pub fn request_cost(
        &self,
        input_tokens: f64,
        output_tokens: f64,
        latency_ms: f64,
    ) -> Option<f64> {
        let p = self.price.as_ref()?;
        let tokens = (input_tokens * p.input_per_m + output_tokens * p.output_per_m) / 1e6;
        let hourly = p
            .per_hour
            .map(|h| h / 3600.0 * (latency_ms / 1000.0) / self.endpoint.concurrency.max(1) as f64)
            .unwrap_or(0.0);
        Some(tokens + hourly)
    }
}

/// The trial, resolved.
#[derive(Debug, Clone)]
pub struct TrialPlan {
    pub config: TrialConfig,
    pub models: Vec<ModelPlan>,
    pub catalogue: PriceCatalogue,
}

impl TrialPlan {
    /// Validates `config` (all errors at once) and resolves it.
    pub fn new(config: &TrialConfig) -> Result<Self> {
        let catalogue = PriceCatalogue::builtin().with_overrides(&config.prices);
        config.validate(&catalogue)?;
        let mut errors = Vec::new();
        let mut models = Vec::new();
        for m in &config.models {
            let Some(base_url) = m.base_url.as_deref().or(m.provider.default_base_url()) else {
                errors.push(format!(
                    "model {}: provider openai-compatible needs base-url",
                    m.name
                ));
                continue;
            };
            let endpoint = m.endpoint(base_url);

            let convert = |amount: f64, currency: &str| -> f64 {
                if currency == config.currency {
                    amount
                } else {
                    amount
                        * config
                            .exchange_rates
                            .get(currency)
                            .copied()
                            .unwrap_or(f64::NAN)
                }
            };
            let price = match (&m.price, &m.price_ref) {
                (Some(p), _) => {
                    let cur = p
                        .currency
                        .clone()
                        .unwrap_or_else(|| config.currency.clone());
                    Some(ResolvedPrice {
                        input_per_m: convert(p.input_per_m, &cur),
                        output_per_m: convert(p.output_per_m, &cur),
                        per_hour: p.per_hour.map(|h| convert(h, &cur)),
                        source: "trial file".into(),
                        original_currency: cur,
                        as_of: p.as_of.clone(),
                    })
                }
                (None, Some(id)) => catalogue.get(id).map(|e| ResolvedPrice {
                    input_per_m: convert(e.input_per_m, &e.currency),
                    output_per_m: convert(e.output_per_m, &e.currency),
                    per_hour: None,
                    source: format!("catalogue:{id}"),
                    original_currency: e.currency.clone(),
                    as_of: Some(e.as_of.clone()),
                }),
                (None, None) => None,
            };
            models.push(ModelPlan {
                name: m.name.clone(),
                size: m.size.clone(),
                parameters: m.size.as_deref().and_then(parse_size),
                endpoint,
                price,
                params: m.params.or(&config.defaults),
                judge_only: m.judge_only,
            });
        }
        if !errors.is_empty() {
            return Err(TrialError::InvalidConfig(errors));
        }
        Ok(TrialPlan {
            config: config.clone(),
            models,
            catalogue,
        })
    }

    pub fn model(&self, name: &str) -> Option<&ModelPlan> {
        self.models.iter().find(|m| m.name == name)
    }

    /// Models of the sweep, in trial-file order.
    pub fn swept(&self) -> impl Iterator<Item = &ModelPlan> {
        self.models.iter().filter(|m| !m.judge_only)
    }
}
