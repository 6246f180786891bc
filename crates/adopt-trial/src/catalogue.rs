//! The price catalogue: vendors' list prices shipped inside the crate (so a dry run works offline),
//! each with its currency and the month it was taken, overridable from the trial file.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrialError};

/// The catalogue shipped with adopt: 2024 list prices.
pub const BUILTIN_CATALOGUE: &str = include_str!("../catalogue/prices-2024.toml");

/// One model's list price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PriceEntry {
    /// Catalogue id that models refer to with `price-ref`.
    pub id: String,
    /// Who sells it.
    #[serde(default)]
    pub vendor: Option<String>,
    /// The vendor's model id.
    #[serde(default)]
    pub model: Option<String>,
    /// Price per million input tokens.
    pub input_per_m: f64,
    /// Price per million output tokens.
    pub output_per_m: f64,
    /// Currency of the prices (ISO code).
    pub currency: String,
    /// Month the price was published or checked, "YYYY-MM".
    pub as_of: String,
    /// Anything worth knowing about the price.
    #[serde(default)]
    pub note: Option<String>,
}

impl PriceEntry {
    pub(crate) fn validate(&self, at: &str, errors: &mut Vec<String>) {
        if self.id.trim().is_empty() {
            errors.push(format!("{at}: id is empty"));
        }
        for (name, v) in [
            ("input-per-m", self.input_per_m),
            ("output-per-m", self.output_per_m),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                errors.push(format!("{at}: {name} must be 0 or more"));
            }
        }
        if self.currency.trim().is_empty() {
            errors.push(format!("{at}: currency is empty"));
        }
        let date_ok = self.as_of.len() == 7
            && self.as_of.as_bytes()[4] == b'-'
            && self.as_of[..4].bytes().all(|b| b.is_ascii_digit())
            && self.as_of[5..].bytes().all(|b| b.is_ascii_digit());
        if !date_ok {
            errors.push(format!("{at}: as-of {:?} is not YYYY-MM", self.as_of));
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    price: Vec<PriceEntry>,
}

/// Prices by id.
#[derive(Debug, Clone, Default)]
pub struct PriceCatalogue {
    entries: Vec<PriceEntry>,
}

impl PriceCatalogue {
    /// The catalogue shipped with the crate.
    pub fn builtin() -> Self {
        // The file is part of the crate and checked by a unit test: failing here is a build bug.
        Self::parse(BUILTIN_CATALOGUE).expect("the built-in price catalogue parses")
    }

    /// Parses a catalogue file (`[[price]]` entries).
    pub fn parse(text: &str) -> Result<Self> {
        let file: CatalogueFile =
            toml::from_str(text).map_err(|e| TrialError::Catalogue(e.to_string()))?;
        let mut errors = Vec::new();
        for p in &file.price {
            p.validate(&p.id, &mut errors);
        }
        if !errors.is_empty() {
            return Err(TrialError::Catalogue(errors.join("; ")));
        }
        Ok(PriceCatalogue {
            entries: file.price,
        })
    }

    /// This catalogue with `overrides` replacing entries of the same id and adding new ones.
    pub fn with_overrides(mut self, overrides: &[PriceEntry]) -> Self {
        for o in overrides {
            match self.entries.iter_mut().find(|e| e.id == o.id) {
                Some(e) => *e = o.clone(),
                None => self.entries.push(o.clone()),
            }
        }
        self
    }

    pub fn get(&self, id: &str) -> Option<&PriceEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.id.as_str()).collect()
    }

    pub fn entries(&self) -> &[PriceEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_has_the_2024_list_prices() {
        let c = PriceCatalogue::builtin();
        let p = |id: &str| c.get(id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(
            (p("deepseek-v2").input_per_m, p("deepseek-v2").output_per_m),
            (1.0, 2.0)
        );
        assert_eq!(
            (p("qwen-turbo").input_per_m, p("qwen-turbo").output_per_m),
            (0.3, 0.6)
        );
        assert_eq!(
            (p("qwen-long").input_per_m, p("qwen-long").output_per_m),
            (0.5, 2.0)
        );
        assert_eq!(p("doubao-pro-32k").input_per_m, 0.8);
        assert_eq!(p("glm-3-turbo").input_per_m, 1.0);
        assert_eq!(
            p("ernie-speed").input_per_m + p("ernie-lite").output_per_m,
            0.0
        );
        let gpt = p("gpt-4o");
        assert_eq!(
            (gpt.input_per_m, gpt.output_per_m, gpt.currency.as_str()),
            (5.0, 15.0, "USD")
        );
        for e in c.entries() {
            assert!(e.as_of.starts_with("2024-"), "{} has a date", e.id);
            assert!(!e.currency.is_empty());
        }
    }

    #[test]
    fn overrides_replace_and_add() {
        let o = PriceEntry {
            id: "qwen-turbo".into(),
            vendor: None,
            model: None,
            input_per_m: 0.05,
            output_per_m: 0.2,
            currency: "CNY".into(),
            as_of: "2025-01".into(),
            note: None,
        };
        let mut added = o.clone();
        added.id = "my-model".into();
        let c = PriceCatalogue::builtin().with_overrides(&[o, added]);
        assert_eq!(c.get("qwen-turbo").unwrap().input_per_m, 0.05);
        assert!(c.get("my-model").is_some());
    }
}
