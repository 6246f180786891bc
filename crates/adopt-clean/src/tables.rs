//! Tables collected from documents: profiled with polars (types, null rates, duplicate rows,
//! constant and suspicious mixed-type columns) and copied with PII redacted in text cells.

use std::collections::{BTreeMap, HashSet};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::pii::PiiDetector;

/// What profiling learnt about one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableProfile {
    pub table_id: String,
    pub source_path: String,
    pub department: Option<String>,
    /// Page or sheet the table came from.
    pub unit: String,
    pub n_rows: u64,
    pub n_cols: u64,
    /// Rows identical to an earlier row.
    pub duplicate_rows: u64,
    pub columns: Vec<ColumnProfile>,
    /// One line per finding a person should look at.
    pub issues: Vec<String>,
    /// PII values found in text cells, by kind.
    pub pii_counts: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    pub dtype: String,
    pub null_rate: f64,
    pub n_unique: u64,
    /// Every non-null value is the same (and there are at least two rows).
    pub constant: bool,
    /// For text columns whose values are mostly numbers or dates: what the rest are.
    pub mixed: Option<String>,
}

/// What a text cell looks like, for spotting numeric columns polluted with text ("N/A", "—").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum ValueShape {
    Number,
    Date,
    Text,
}

fn shape(s: &str) -> ValueShape {
    let t = s.trim().trim_end_matches('%');
    let numeric = t.replace([',', '¥', '$', '￥'], "");
    // Long digit strings are identifiers (ID cards, accounts, phone numbers), not quantities.
    let identifier = numeric.len() >= 11
        && numeric.bytes().filter(u8::is_ascii_digit).count() >= 11
        && !numeric.contains('.');
    if identifier {
        return ValueShape::Text;
    }
    if !numeric.is_empty() && numeric.parse::<f64>().is_ok() {
        return ValueShape::Number;
    }
    let b = t.as_bytes();
    let date_like = b.len() >= 8
        && b.len() <= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && matches!(b[4], b'-' | b'/' | b'.')
        && t[5..]
            .chars()
            .all(|c| c.is_ascii_digit() || "-/.: ".contains(c));
    if date_like || (t.contains('年') && t.contains('月')) {
        return ValueShape::Date;
    }
    ValueShape::Text
}

/// Profiles `df`. Example values quoted in findings pass through `pii` first, so the report
/// never carries a raw ID or phone number.
pub fn profile(
    df: &DataFrame,
    pii: Option<&PiiDetector>,
    table_id: &str,
    source_path: &str,
    department: Option<&str>,
    unit: &str,
) -> TableProfile {
    let n_rows = df.height();
    let mut issues = Vec::new();
    let mut columns = Vec::new();
    for col in df.columns() {
        let name = col.name().to_string();
        let nulls = col.null_count();
        let null_rate = if n_rows == 0 {
            0.0
        } else {
            nulls as f64 / n_rows as f64
        };
        let n_unique = col.n_unique().unwrap_or(0) as u64;
        let non_null_unique = n_unique - u64::from(nulls > 0);
        let constant = n_rows >= 2 && nulls < n_rows && non_null_unique == 1;
        let mut mixed = None;
        if let Ok(strings) = col.str() {
            let mut counts: BTreeMap<ValueShape, usize> = BTreeMap::new();
            let mut examples: Vec<String> = Vec::new();
            for v in strings.iter().flatten() {
                let s = shape(v);
                *counts.entry(s).or_default() += 1;
                if s == ValueShape::Text && examples.len() < 3 {
                    let shown = pii.map_or_else(|| v.to_string(), |p| p.redact(v).0);
                    let shown: String = shown.chars().take(20).collect();
                    if !examples.contains(&shown) {
                        examples.push(shown);
                    }
                }
            }
            let total: usize = counts.values().sum();
            let text = counts.get(&ValueShape::Text).copied().unwrap_or(0);
            let structured = total - text;
            // Mostly numbers or dates with a few text values: a unit, a "N/A", a typo.
            if total >= 5 && structured * 10 >= total * 7 && text > 0 {
                let m = format!(
                    "{}% numbers or dates, {}% text (e.g. {})",
                    structured * 100 / total,
                    (text * 100).div_ceil(total),
                    examples
                        .iter()
                        .map(|e| format!("{e:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                issues.push(format!("column {name:?}: mixed types: {m}"));
                mixed = Some(m);
            }
        }
        if constant {
            issues.push(format!("column {name:?}: constant value"));
        }
        if n_rows >= 5 && null_rate >= 0.9 {
            issues.push(format!("column {name:?}: {:.0}% empty", null_rate * 100.0));
        }
        columns.push(ColumnProfile {
            name,
            dtype: col.dtype().to_string(),
            null_rate,
            n_unique,
            constant,
            mixed,
        });
    }
    let duplicate_rows = duplicate_rows(df);
    if duplicate_rows > 0 {
        issues.push(format!("{duplicate_rows} duplicate rows"));
    }
    TableProfile {
        table_id: table_id.to_string(),
        source_path: source_path.to_string(),
        department: department.map(str::to_string),
        unit: unit.to_string(),
        n_rows: n_rows as u64,
        n_cols: df.width() as u64,
        duplicate_rows,
        columns,
        issues,
        pii_counts: BTreeMap::new(),
    }
}

fn duplicate_rows(df: &DataFrame) -> u64 {
    let mut seen = HashSet::with_capacity(df.height());
    let mut dups = 0;
    let mut key = String::new();
    for row in 0..df.height() {
        key.clear();
        for col in df.columns() {
            if let Ok(v) = col.get(row) {
                key.push_str(&v.to_string());
            }
            key.push('\u{1f}');
        }
        if !seen.insert(xxhash_rust::xxh3::xxh3_128(key.as_bytes())) {
            dups += 1;
        }
    }
    dups
}

/// Replaces PII in every text column; returns the counts per kind.
pub fn redact(df: &mut DataFrame, pii: &PiiDetector) -> PolarsResult<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    let names: Vec<PlSmallStr> = df
        .columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::String)
        .map(|c| c.name().clone())
        .collect();
    for name in names {
        let col = df.column(&name)?.str()?.clone();
        let redacted: StringChunked = col
            .iter()
            .map(|v| {
                v.map(|s| {
                    let (out, c) = pii.redact(s);
                    for (k, n) in c {
                        *counts.entry(k).or_insert(0) += n;
                    }
                    out
                })
            })
            .collect();
        df.replace(&name, redacted.with_name(name.clone()).into_column())?;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::PiiConfig;

    #[test]
    fn profile_finds_duplicates_constants_and_mixed_columns() {
        let df = df!(
            "id" => ["1", "2", "3", "3", "5", "6", "7", "8"],
            "amount" => ["100", "250.5", "N/A", "N/A", "1,200", "80", "95", "12"],
            "bank" => ["ICBC", "ICBC", "ICBC", "ICBC", "ICBC", "ICBC", "ICBC", "ICBC"],
        )
        .unwrap();
        let p = profile(&df, None, "t-0", "a.csv", Some("risk"), "text");
        assert_eq!(shape("44030520000315132X"), ValueShape::Text);
        assert_eq!(shape("440305200003151320"), ValueShape::Text);
        assert_eq!(shape("1,200.50"), ValueShape::Number);
        assert_eq!(shape("2024-03-01"), ValueShape::Date);
        assert_eq!(p.duplicate_rows, 1);
        assert!(p.columns[2].constant);
        assert!(!p.columns[0].constant);
        let mixed = p.columns[1].mixed.as_deref().unwrap();
        assert!(mixed.contains("\"N/A\""), "{mixed}");
        assert_eq!(p.issues.len(), 3, "{:?}", p.issues);
    }

    #[test]
    fn redaction_replaces_pii_in_text_cells_only() {
        let mut df = df!(
            "name" => ["张伟", "李娜"],
            "phone" => ["13812345678", "联系电话 15900001111"],
            "limit" => [50000i64, 80000],
        )
        .unwrap();
        let pii = PiiDetector::new(&PiiConfig::default()).unwrap();
        let counts = redact(&mut df, &pii).unwrap();
        assert_eq!(counts.get("PHONE"), Some(&2), "{counts:?}");
        let phones: Vec<_> = df
            .column("phone")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .map(str::to_string)
            .collect();
        assert_eq!(phones, ["[PHONE]", "联系电话 [PHONE]"]);
        assert_eq!(df.column("limit").unwrap().dtype(), &DataType::Int64);
    }
}
