//! Quality filters: too short, mostly symbols, mostly repeated lines, garbled text.
//!
//! Each filter is its own operator so the report says which one dropped what. Digits are
//! content, not noise: a bank's notes and ledgers are full of IDs, phone numbers and amounts,
//! and PII redaction (which runs later) must see them. Lengths are counted
//! in tokens (a CJK character or a word, see [`crate::script::tokens`]) so one threshold means about
//! the same amount of text in Chinese and in English.

use std::collections::HashSet;
use std::sync::LazyLock;

use adopt_core::Format;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::operator::{DocOperator, Outcome};
use crate::script::token_counts;
use crate::CleanedDocument;

/// Settings of the quality filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct QualityConfig {
    /// Run the quality filters at all.
    pub enabled: bool,
    /// Drop documents with fewer tokens than this (a token is one CJK character or one word);
    /// 0 turns the filter off.
    pub min_tokens: usize,
    /// Drop documents where more than this share of the non-space characters are punctuation or
    /// symbols rather than letters or digits (CJK characters count as letters): markup debris,
    /// not ledgers. Table layout (`|`, box drawing) is not counted and a run of one symbol
    /// ("-----", "......") counts once; 1 turns it off.
    pub max_symbol_ratio: f64,
    /// Drop documents where more than this share of the non-blank lines repeat an earlier line;
    /// 1 turns it off.
    pub max_repeated_line_ratio: f64,
    /// The repeated-line filter looks only at documents with at least this many non-blank lines.
    pub repeated_line_min_lines: usize,
    /// Drop documents where more than this share of the non-space characters are garbled:
    /// U+FFFD replacement characters, "锟斤拷"/"烫烫烫" (GBK/UTF-8 round-trip debris) and UTF-8
    /// read as Latin-1 or Windows-1252 ("Ã©", "â€™", "ä¸­æ–‡"); 1 turns it off.
    pub max_garbled_ratio: f64,
    /// Table-shaped formats, where numbers and repeated rows are normal: only the garbled-text
    /// filter applies to them.
    pub exempt_formats: Vec<Format>,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            enabled: true,
            min_tokens: 10,
            max_symbol_ratio: 0.5,
            max_repeated_line_ratio: 0.5,
            repeated_line_min_lines: 5,
            max_garbled_ratio: 0.02,
            exempt_formats: vec![
                Format::Xlsx,
                Format::Xlsm,
                Format::Xlsb,
                Format::Xls,
                Format::Ods,
                Format::Csv,
                Format::Tsv,
                Format::Parquet,
            ],
        }
    }
}

impl QualityConfig {
    pub(crate) fn validate(&self, errors: &mut Vec<String>) {
        for (name, v) in [
            ("max-symbol-ratio", self.max_symbol_ratio),
            ("max-repeated-line-ratio", self.max_repeated_line_ratio),
            ("max-garbled-ratio", self.max_garbled_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                errors.push(format!("quality.{name} must be within 0..=1, got {v}"));
            }
        }
    }

    /// The garbled-text filter, if enabled. It runs before normalising, which would delete the
    /// C1 control characters that Latin-1 mojibake is partly made of.
    pub(crate) fn garbled_operator(&self) -> Option<Box<dyn DocOperator>> {
        (self.enabled && self.max_garbled_ratio < 1.0).then(|| {
            Box::new(GarbledTextFilter {
                max_ratio: self.max_garbled_ratio,
            }) as Box<dyn DocOperator>
        })
    }

    /// The other enabled filters, in the order they run (after normalising).
    pub(crate) fn operators(&self) -> Vec<Box<dyn DocOperator>> {
        let mut ops: Vec<Box<dyn DocOperator>> = Vec::new();
        if !self.enabled {
            return ops;
        }
        let exempt = self.exempt_formats.clone();
        if self.min_tokens > 0 {
            ops.push(Box::new(TooShortFilter {
                min_tokens: self.min_tokens,
                exempt: exempt.clone(),
            }));
        }
        if self.max_symbol_ratio < 1.0 {
            ops.push(Box::new(SymbolRatioFilter {
                max_ratio: self.max_symbol_ratio,
                exempt: exempt.clone(),
            }));
        }
        if self.max_repeated_line_ratio < 1.0 {
            ops.push(Box::new(RepeatedLinesFilter {
                max_ratio: self.max_repeated_line_ratio,
                min_lines: self.repeated_line_min_lines,
                exempt,
            }));
        }
        ops
    }
}

/// Drops documents with too little text.
pub struct TooShortFilter {
    pub min_tokens: usize,
    pub exempt: Vec<Format>,
}

impl DocOperator for TooShortFilter {
    fn name(&self) -> &'static str {
        "too-short"
    }

    fn apply(&self, doc: &mut CleanedDocument) -> Outcome {
        if self.exempt.contains(&doc.doc.format) {
            return Outcome::keep(false);
        }
        let (tokens, _) = token_counts(&doc.doc.text);
        if tokens < self.min_tokens {
            return Outcome::drop(
                "too-short",
                format!("{tokens} tokens < {}", self.min_tokens),
            );
        }
        Outcome::keep(false)
    }
}

/// Share of symbols among the letters, digits and symbols of `text` (see
/// [`QualityConfig::max_symbol_ratio`]). Letters and digits of every script are content; cell
/// separators and box drawing are layout and not counted; a run of one repeated symbol (a ruling
/// line, dot leaders) counts as one.
pub fn symbol_ratio(text: &str) -> f64 {
    let (mut content, mut symbols) = (0usize, 0usize);
    let mut previous = None;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        if c.is_alphanumeric() {
            content += 1;
        } else if !is_table_layout(c) && previous != Some(c) {
            symbols += 1;
        }
        previous = Some(c);
    }
    if content + symbols == 0 {
        0.0
    } else {
        symbols as f64 / (content + symbols) as f64
    }
}

/// Characters that draw tables rather than say anything: cell separators and box drawing.
fn is_table_layout(c: char) -> bool {
    matches!(c, '|' | '\u{FF5C}' | '\u{2500}'..='\u{257F}')
}

/// Drops documents that are mostly punctuation or symbols (markup debris, binary residue).
pub struct SymbolRatioFilter {
    pub max_ratio: f64,
    pub exempt: Vec<Format>,
}

impl DocOperator for SymbolRatioFilter {
    fn name(&self) -> &'static str {
        "symbol-ratio"
    }

    fn apply(&self, doc: &mut CleanedDocument) -> Outcome {
        if self.exempt.contains(&doc.doc.format) {
            return Outcome::keep(false);
        }
        let ratio = symbol_ratio(&doc.doc.text);
        if ratio > self.max_ratio {
            return Outcome::drop(
                "symbol-ratio",
                format!(
                    "{ratio:.2} of characters are symbols (not letters or digits) > {}",
                    self.max_ratio
                ),
            );
        }
        Outcome::keep(false)
    }
}

/// Share of non-blank lines that repeat an earlier line (after trimming), and the line count.
pub fn repeated_line_ratio(text: &str) -> (f64, usize) {
    let mut seen = HashSet::new();
    let (mut lines, mut repeats) = (0usize, 0usize);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        lines += 1;
        if !seen.insert(line) {
            repeats += 1;
        }
    }
    if lines == 0 {
        (0.0, 0)
    } else {
        (repeats as f64 / lines as f64, lines)
    }
}

/// Drops documents made mostly of repeated lines (boilerplate, logs, scraped navigation).
pub struct RepeatedLinesFilter {
    pub max_ratio: f64,
    pub min_lines: usize,
    pub exempt: Vec<Format>,
}

impl DocOperator for RepeatedLinesFilter {
    fn name(&self) -> &'static str {
        "repeated-lines"
    }

    fn apply(&self, doc: &mut CleanedDocument) -> Outcome {
        if self.exempt.contains(&doc.doc.format) {
            return Outcome::keep(false);
        }
        let (ratio, lines) = repeated_line_ratio(&doc.doc.text);
        if lines >= self.min_lines && ratio > self.max_ratio {
            return Outcome::drop(
                "repeated-lines",
                format!(
                    "{ratio:.2} of {lines} lines are repeats > {}",
                    self.max_ratio
                ),
            );
        }
        Outcome::keep(false)
    }
}

/// UTF-8 decoded as Latin-1/Windows-1252: a lead byte U+00C2..U+00F4 followed by a continuation
/// byte, which Latin-1 shows as U+0080..U+00BF and Windows-1252 as one of the characters it puts
/// at 0x80..0x9F (€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ). Plus the classic GBK debris.
static MOJIBAKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        "[\u{00C2}-\u{00F4}][\u{0080}-\u{00BF}\u{20AC}\u{201A}\u{0192}\u{201E}\u{2026}\u{2020}\u{2021}\u{02C6}\u{2030}\u{0160}\u{2039}\u{0152}\u{017D}\u{2018}\u{2019}\u{201C}\u{201D}\u{2022}\u{2013}\u{2014}\u{02DC}\u{2122}\u{0161}\u{203A}\u{0153}\u{017E}\u{0178}]+|锟斤拷|烫烫|屯屯",
    )
    .expect("static regex")
});

/// Share of non-space characters that are garbled (see [`QualityConfig::max_garbled_ratio`]).
pub fn garbled_ratio(text: &str) -> f64 {
    let non_space = text.chars().filter(|c| !c.is_whitespace()).count();
    if non_space == 0 {
        return 0.0;
    }
    let replacement = text.chars().filter(|&c| c == '\u{FFFD}').count();
    let mojibake: usize = MOJIBAKE
        .find_iter(text)
        .map(|m| m.as_str().chars().count())
        .sum();
    (replacement + mojibake) as f64 / non_space as f64
}

/// Drops documents decoded with the wrong encoding or full of replacement characters.
pub struct GarbledTextFilter {
    pub max_ratio: f64,
}

impl DocOperator for GarbledTextFilter {
    fn name(&self) -> &'static str {
        "garbled-text"
    }

    fn apply(&self, doc: &mut CleanedDocument) -> Outcome {
        let ratio = garbled_ratio(&doc.doc.text);
        if ratio > self.max_ratio {
            return Outcome::drop(
                "garbled-text",
                format!("{ratio:.3} of characters are garbled > {}", self.max_ratio),
            );
        }
        Outcome::keep(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Latin-1 decoding makes of UTF-8 bytes: each byte becomes the code point of its value.
    fn latin1_mojibake(s: &str) -> String {
        s.bytes().map(char::from).collect()
    }

    #[test]
    fn garbled_text_is_measured() {
        let clean = "为了规范公司合同管理，防范经营风险。Café au lait, naïve résumé, señor.";
        assert_eq!(garbled_ratio(clean), 0.0);
        let broken = latin1_mojibake("为了规范公司合同管理，防范经营风险。");
        assert!(garbled_ratio(&broken) > 0.5, "{broken}");
        assert!(garbled_ratio("Ã©tÃ© â€™ fine text here") > 0.1);
        assert!(garbled_ratio("锟斤拷锟斤拷正文") > 0.5);
        assert!(garbled_ratio("合同\u{FFFD}\u{FFFD}管理") > 0.2);
    }

    #[test]
    fn ratios() {
        // Business records and tables: digits are content.
        let note =
            "客户张三，身份证号110101199003077777，手机13800138000，卡号6222021234567890123，\
                    邮箱 zhang.san@example.com，本月还款金额¥12,345.67元。";
        assert!(symbol_ratio(note) < 0.2, "{}", symbol_ratio(note));
        assert!(symbol_ratio("1,234,567.00 | 89.5% | 2024-03-31") < 0.35);
        assert!(
            symbol_ratio("科目 | 借方 | 贷方\n------+------+------\n1001 | 5,000.00 | 0.00") < 0.35
        );
        assert!(symbol_ratio("第一章 总则 ........................ 1") < 0.2);
        assert!(symbol_ratio("合同金额为100万元") < 0.01);
        // Markup and symbol debris is still noise.
        assert!(symbol_ratio("</td></tr><tr><td>&nbsp;</td><td>{{ }}</td>") > 0.5);
        assert!(symbol_ratio("#$%^&*()!@#<>?/\\;:[]{}~`+=") > 0.9);
        assert_eq!(symbol_ratio("  \n "), 0.0);
        let (r, n) = repeated_line_ratio("a\nb\na\na\n\nc");
        assert_eq!(n, 5);
        assert!((r - 0.4).abs() < 1e-9);
    }
}
