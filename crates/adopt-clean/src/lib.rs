//! `adopt clean`: turns collected documents into cleaned ones plus a data-quality report.
//! Operators (normalise, quality filters, language id, PII, exact and near-duplicate removal) are
//! each configurable under `[clean]` and each report what they changed and dropped, and why.

pub mod dedup;
pub mod lang;
pub mod normalize;
pub mod operator;
pub mod pii;
mod pipeline;
pub mod quality;
pub mod report;
pub mod script;
pub mod tables;

use std::collections::BTreeMap;

use adopt_core::{Document, Format};
use serde::{Deserialize, Serialize};

pub use dedup::{DedupConfig, NearDupDetector};
pub use lang::{LangConfig, LanguageIdentifier};
pub use normalize::{NormalizeConfig, Normalizer};
pub use operator::{DocOperator, Outcome, Verdict};
pub use pii::{CustomPii, PiiConfig, PiiDetector, PiiKind, PiiMode};
pub use pipeline::{run, Cleaner};
pub use quality::QualityConfig;
pub use report::{CleanReport, DropAlert, GroupStats, OperatorStats, PiiSummary};
pub use tables::{ColumnProfile, TableProfile};

/// Errors of `adopt clean`.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    /// The `[clean]` settings are invalid; every problem found is listed.
    #[error("invalid [clean] settings:\n  {}", .0.join("\n  "))]
    InvalidConfig(Vec<String>),
}

pub type Result<T> = std::result::Result<T, CleanError>;

/// Settings of `adopt clean`, the `[clean]` table of a pipeline file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct CleanConfig {
    /// Unicode, whitespace, broken lines, running headers and footers.
    pub normalize: NormalizeConfig,
    /// Quality filters: too short, symbols, repeated lines, garbled text.
    pub quality: QualityConfig,
    /// Language identification.
    pub lang: LangConfig,
    /// PII detection, redaction or dropping.
    pub pii: PiiConfig,
    /// Exact and near-duplicate removal.
    pub dedup: DedupConfig,
}

impl CleanConfig {
    /// Checks every setting and reports all problems at once.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        self.normalize.validate(&mut errors);
        self.quality.validate(&mut errors);
        self.lang.validate(&mut errors);
        self.pii.validate(&mut errors);
        self.dedup.validate(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CleanError::InvalidConfig(errors))
        }
    }
}

/// A document that survived cleaning, with what cleaning learnt about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanedDocument {
    /// The document, its `text` cleaned (units still separated by form feeds).
    pub doc: Document,
    /// ISO 639-3 language code ("cmn", "eng"), where it could be told.
    pub lang: Option<String>,
    /// whatlang's confidence in `lang`, 0..=1.
    pub lang_confidence: Option<f64>,
    /// For members of a duplicate cluster (exact or near): the `doc_id` of the member that was
    /// kept, which identifies the cluster.
    pub dup_cluster: Option<String>,
    /// PII values found, by kind (in every mode, also when they were redacted).
    pub pii_counts: BTreeMap<String, u64>,
    /// Operators that modified the document, in order.
    pub changed_by: Vec<String>,
    /// Dedup keys of the text as it was before PII redaction: records that differ only in
    /// their ID or phone numbers are different records, not duplicates.
    #[serde(skip)]
    pub(crate) dedup_keys: Option<dedup::DedupKeys>,
}

impl CleanedDocument {
    pub fn new(doc: Document) -> Self {
        CleanedDocument {
            doc,
            lang: None,
            lang_confidence: None,
            dup_cluster: None,
            pii_counts: BTreeMap::new(),
            changed_by: Vec::new(),
            dedup_keys: None,
        }
    }
}

/// A document that cleaning dropped, and why. Holds no document text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    pub doc_id: String,
    pub source_path: String,
    pub department: Option<String>,
    pub format: Format,
    /// The operator that dropped it ("near-dedup").
    pub operator: String,
    /// Reason code ("near-duplicate", "too-short").
    pub reason: String,
    /// This document's case ("near duplicate of 3fa4…, estimated similarity 0.91").
    pub detail: String,
    /// For duplicates: the `doc_id` of the kept cluster member.
    pub dup_cluster: Option<String>,
    /// PII values found before it was dropped, by kind.
    pub pii_counts: BTreeMap<String, u64>,
}

/// What [`run`] produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanOutput {
    /// Kept documents, in input order.
    pub kept: Vec<CleanedDocument>,
    /// Dropped documents, in input order.
    pub dropped: Vec<Dropped>,
    pub report: CleanReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_toml_and_rejects_unknown_keys() {
        let text = r#"
            [normalize]
            rejoin-lines = false
            page-formats = ["pdf", "text"]

            [pii]
            mode = "drop"
            kinds = ["phone", "id-card"]
            [[pii.custom]]
            name = "EMPLOYEE_ID"
            pattern = 'EMP-\d{6}'

            [dedup]
            threshold = 0.7
        "#;
        let config: CleanConfig = toml::from_str(text).unwrap();
        assert!(!config.normalize.rejoin_lines);
        assert_eq!(
            config.normalize.page_formats,
            vec![Format::Pdf, Format::Text]
        );
        assert_eq!(config.pii.mode, PiiMode::Drop);
        assert_eq!(config.pii.kinds, vec![PiiKind::Phone, PiiKind::IdCard]);
        assert_eq!(config.dedup.threshold, 0.7);
        assert_eq!(config.dedup.num_perm, 128, "unset fields keep defaults");
        config.validate().unwrap();

        let back: CleanConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(back, config);

        let err = toml::from_str::<CleanConfig>("[dedup]\nthreshhold = 0.7").unwrap_err();
        assert!(err.to_string().contains("threshhold"), "{err}");
    }

    #[test]
    fn validation_lists_every_problem() {
        let mut config = CleanConfig::default();
        config.dedup.threshold = 1.5;
        config.quality.max_symbol_ratio = -1.0;
        config.pii.custom.push(CustomPii {
            name: "BAD".into(),
            pattern: "[".into(),
            placeholder: None,
        });
        let Err(CleanError::InvalidConfig(errors)) = config.validate() else {
            panic!("expected errors");
        };
        assert_eq!(errors.len(), 3, "{errors:?}");
    }
}
