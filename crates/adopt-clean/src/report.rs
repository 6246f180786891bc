//! The data-quality report of a cleaning run: per-operator statistics (as Data-Juicer reports
//! them), per-department and per-format outcomes, PII counts. Serialises to JSON (snake_case keys,
//! like the document records); `to_markdown` gives the human summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Key used for documents without a department.
pub const NO_DEPARTMENT: &str = "(none)";

/// What one operator did over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorStats {
    pub name: String,
    /// Documents that reached the operator.
    pub docs_in: u64,
    /// Documents it passed on.
    pub docs_out: u64,
    /// Documents it modified (text or, for dedup, nothing: dedup only drops).
    pub changed: u64,
    pub dropped: u64,
    /// Dropped documents by reason code.
    pub drop_reasons: BTreeMap<String, u64>,
    /// Operator-specific totals ("lines-joined", "PHONE", "clusters").
    pub counters: BTreeMap<String, u64>,
}

/// Outcome for one department or one format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    pub docs_in: u64,
    pub kept: u64,
    /// Kept documents whose text any operator modified.
    pub changed: u64,
    /// Kept documents with PII replaced by placeholders.
    pub redacted: u64,
    pub dropped: u64,
    /// Dropped documents by reason code.
    pub drop_reasons: BTreeMap<String, u64>,
}

/// PII found, as counts only: values never enter the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PiiSummary {
    /// Documents in which any PII was found (kept or not).
    pub docs_with_pii: u64,
    /// Values found by kind ("PHONE" -> 120).
    pub by_kind: BTreeMap<String, u64>,
    /// Values found by department, then kind.
    pub by_department: BTreeMap<String, BTreeMap<String, u64>>,
}

/// A department or folder that the filters (quality, language) thinned out badly: the loud
/// part of the report, because a threshold that suits articles can wipe out a whole
/// department's records. Duplicates and PII drops (asked for) do not count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropAlert {
    /// "department" or "folder".
    pub group: String,
    /// The department's name, or the folder's path.
    pub name: String,
    pub docs_in: u64,
    /// Documents the filters dropped.
    pub dropped: u64,
    /// Those drops by operator ("symbol-ratio" -> 200).
    pub by_operator: BTreeMap<String, u64>,
}

impl DropAlert {
    /// One line for a warning or the report.
    pub fn message(&self) -> String {
        format!(
            "the filters dropped {} of {} documents ({:.0}%) of {} {:?}: {}; check clean/dropped.parquet and, if they are real records, relax or turn off that filter under [clean.quality]",
            self.dropped,
            self.docs_in,
            100.0 * self.dropped as f64 / self.docs_in.max(1) as f64,
            self.group,
            self.name,
            join_counts(&self.by_operator)
        )
    }
}

/// The data-quality report of `adopt clean`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CleanReport {
    pub docs_in: u64,
    pub docs_kept: u64,
    pub docs_dropped: u64,
    /// Kept documents whose text was modified.
    pub docs_changed: u64,
    /// Kept documents with PII redacted.
    pub docs_redacted: u64,
    /// One entry per enabled operator, in the order they ran.
    pub operators: Vec<OperatorStats>,
    pub by_department: BTreeMap<String, GroupStats>,
    pub by_format: BTreeMap<String, GroupStats>,
    pub pii: PiiSummary,
    /// Kept documents by language (ISO 639-3; "und" where it could not be told).
    pub languages: BTreeMap<String, u64>,
    /// Clusters of duplicate documents (exact or near), each reduced to one kept document.
    pub duplicate_clusters: u64,
    /// Departments and folders that the filters thinned out badly.
    #[serde(default)]
    pub alerts: Vec<DropAlert>,
}

impl CleanReport {
    /// Pretty JSON, for `clean/report.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises")
    }

    /// A Markdown summary for people: totals, operators, departments, formats, PII, languages.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Data-quality report\n");
        let _ = writeln!(
            md,
            "{} documents in, {} kept ({} changed, {} with PII redacted), {} dropped; {} duplicate clusters.\n",
            self.docs_in,
            self.docs_kept,
            self.docs_changed,
            self.docs_redacted,
            self.docs_dropped,
            self.duplicate_clusters
        );
        if !self.alerts.is_empty() {
            md.push_str("## Warnings\n\n");
            for alert in &self.alerts {
                let _ = writeln!(md, "- **Warning:** {}", alert.message());
            }
            md.push('\n');
        }

        md.push_str("## Operators\n\n| operator | in | out | changed | dropped | why dropped | counters |\n|---|---:|---:|---:|---:|---|---|\n");
        for op in &self.operators {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                op.name,
                op.docs_in,
                op.docs_out,
                op.changed,
                op.dropped,
                join_counts(&op.drop_reasons),
                join_counts(&op.counters)
            );
        }

        for (title, groups) in [
            ("Departments", &self.by_department),
            ("Formats", &self.by_format),
        ] {
            let _ = write!(
                md,
                "\n## {title}\n\n| {} | in | kept | changed | redacted | dropped | why dropped |\n|---|---:|---:|---:|---:|---:|---|\n",
                title.trim_end_matches('s').to_lowercase()
            );
            for (name, g) in groups {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    name,
                    g.docs_in,
                    g.kept,
                    g.changed,
                    g.redacted,
                    g.dropped,
                    join_counts(&g.drop_reasons)
                );
            }
        }

        let _ = write!(
            md,
            "\n## PII\n\n{} documents contain PII. Values are never stored; counts only.\n\n",
            self.pii.docs_with_pii
        );
        if !self.pii.by_kind.is_empty() {
            let kinds: Vec<&String> = self.pii.by_kind.keys().collect();
            let _ = writeln!(
                md,
                "| department | {} |\n|---|{}",
                kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" | "),
                "---:|".repeat(kinds.len())
            );
            for (dept, counts) in &self.pii.by_department {
                let cells: Vec<String> = kinds
                    .iter()
                    .map(|k| counts.get(*k).copied().unwrap_or(0).to_string())
                    .collect();
                let _ = writeln!(md, "| {dept} | {} |", cells.join(" | "));
            }
            let totals: Vec<String> = self.pii.by_kind.values().map(u64::to_string).collect();
            let _ = writeln!(md, "| **total** | {} |", totals.join(" | "));
        }

        let _ = write!(
            md,
            "\n## Languages\n\n{}\n",
            if self.languages.is_empty() {
                "none identified".to_string()
            } else {
                join_counts(&self.languages)
            }
        );
        md
    }
}

fn join_counts(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
