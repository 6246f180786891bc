//! Language identification per document with whatlang (ISO 639-3 codes: `cmn`, `eng`, `jpn`).

use serde::{Deserialize, Serialize};

use crate::operator::{DocOperator, Outcome};
use crate::CleanedDocument;

/// Settings of language identification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct LangConfig {
    /// Identify each document's language and store it as `lang` / `lang-confidence`.
    pub enabled: bool,
    /// Identify from the first this many characters: whatlang's cost grows with the text, and a few
    /// thousand characters decide the language as well as a whole book.
    pub sample_chars: usize,
    /// Keep only documents in these languages (ISO 639-3, e.g. ["cmn", "eng"]); empty keeps all.
    /// Documents whose language cannot be told (numbers only, empty) are kept.
    pub keep_only: Vec<String>,
    /// With `keep-only`, a document is dropped only when its language is identified with at least
    /// this confidence (0..=1); below it the document is kept.
    pub min_confidence: f64,
}

impl Default for LangConfig {
    fn default() -> Self {
        LangConfig {
            enabled: true,
            sample_chars: 4000,
            keep_only: Vec::new(),
            min_confidence: 0.5,
        }
    }
}

impl LangConfig {
    pub(crate) fn validate(&self, errors: &mut Vec<String>) {
        for code in &self.keep_only {
            if whatlang::Lang::from_code(code.as_str()).is_none() {
                errors.push(format!(
                    "lang.keep-only: {code:?} is not an ISO 639-3 code whatlang knows (e.g. \"cmn\", \"eng\")"
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.min_confidence) {
            errors.push(format!(
                "lang.min-confidence must be within 0..=1, got {}",
                self.min_confidence
            ));
        }
    }
}

/// Identifies languages with whatlang.
pub struct LanguageIdentifier {
    config: LangConfig,
}

impl LanguageIdentifier {
    pub fn new(config: LangConfig) -> Self {
        LanguageIdentifier { config }
    }

    /// The ISO 639-3 code and confidence of `text`'s language, if whatlang can tell.
    pub fn identify(&self, text: &str) -> Option<(&'static str, f64)> {
        let end = text
            .char_indices()
            .nth(self.config.sample_chars)
            .map_or(text.len(), |(i, _)| i);
        let info = whatlang::detect(&text[..end])?;
        Some((info.lang().code(), info.confidence()))
    }
}

impl DocOperator for LanguageIdentifier {
    fn name(&self) -> &'static str {
        "lang-id"
    }

    fn apply(&self, doc: &mut CleanedDocument) -> Outcome {
        let found = self.identify(&doc.doc.text);
        doc.lang = found.map(|(code, _)| code.to_string());
        doc.lang_confidence = found.map(|(_, conf)| conf);
        match found {
            Some((code, conf))
                if !self.config.keep_only.is_empty()
                    && conf >= self.config.min_confidence
                    && !self.config.keep_only.iter().any(|k| k == code) =>
            {
                Outcome::drop(
                    "language",
                    format!("language {code} (confidence {conf:.2}) is not in keep-only"),
                )
            }
            // Annotating is not a change to the text.
            _ => Outcome::keep(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_chinese_and_english() {
        let id = LanguageIdentifier::new(LangConfig::default());
        let (zh, _) = id
            .identify("为了规范公司合同管理，防范经营风险，根据有关法律法规的规定，制定本办法。")
            .unwrap();
        assert_eq!(zh, "cmn");
        let (en, conf) = id
            .identify("The committee reviewed the quarterly results and approved the budget for next year.")
            .unwrap();
        assert_eq!(en, "eng");
        assert!(conf > 0.5);
        assert!(id.identify("12345 678").is_none());
    }

    #[test]
    fn bad_codes_are_config_errors() {
        let mut errors = Vec::new();
        LangConfig {
            keep_only: vec!["zh".into(), "cmn".into()],
            ..LangConfig::default()
        }
        .validate(&mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
    }
}
