//! Tables found in documents: made into polars frames, written as Parquet, rendered as text
//! that keeps every value beside its header.

use std::fmt::Write as _;
use std::path::Path;

use adopt_core::TableRef;
use polars::prelude::*;

use crate::error::{CollectError, Result};

/// A table whose cells are strings, as PDF, HTML and DOCX tables are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl StringTable {
    /// Takes the first row as the header.
    pub fn from_rows(mut rows: Vec<Vec<String>>) -> Self {
        rows.retain(|r| r.iter().any(|c| !c.trim().is_empty()));
        if rows.is_empty() {
            return StringTable::default();
        }
        let header = rows.remove(0);
        StringTable { header, rows }
    }

    pub fn width(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .chain(std::iter::once(self.header.len()))
            .max()
            .unwrap_or(0)
    }

    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let width = self.width();
        let names = unique_names((0..width).map(|i| self.header.get(i).map(String::as_str)));
        let columns = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let values: Vec<Option<&str>> = self
                    .rows
                    .iter()
                    .map(|r| r.get(i).map(String::as_str).filter(|s| !s.is_empty()))
                    .collect();
                Column::new(name.into(), values)
            })
            .collect();
        DataFrame::new(self.rows.len(), columns)
    }
}

/// Header names that are non-empty and unique: blanks become `column_N`, repeats `name_2`.
pub fn unique_names<'a>(names: impl IntoIterator<Item = Option<&'a str>>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let base = match n.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")) {
                Some(s) if !s.is_empty() => s,
                _ => format!("column_{}", i + 1),
            };
            let mut name = base.clone();
            let mut k = 2;
            while !seen.insert(name.clone()) {
                name = format!("{base}_{k}");
                k += 1;
            }
            name
        })
        .collect()
}

/// Writes tables of one document under `tables_dir` as `{doc_id}-{index}.parquet`.
pub struct TableSink<'a> {
    pub doc_id: &'a str,
    pub tables_dir: &'a Path,
    pub path: &'a Path,
    written: Vec<TableRef>,
}

impl<'a> TableSink<'a> {
    pub fn new(doc_id: &'a str, tables_dir: &'a Path, path: &'a Path) -> Self {
        TableSink {
            doc_id,
            tables_dir,
            path,
            written: Vec::new(),
        }
    }

    /// Writes `df`; empty frames are not worth a file and are skipped.
    pub fn write(&mut self, df: &mut DataFrame, unit: &str, method: &str) -> Result<()> {
        if df.height() == 0 || df.width() == 0 {
            return Ok(());
        }
        let table_id = format!("{}-{}", self.doc_id, self.written.len());
        let file = format!("{table_id}.parquet");
        std::fs::create_dir_all(self.tables_dir)
            .map_err(|e| CollectError::io(self.tables_dir, e))?;
        let target = self.tables_dir.join(&file);
        let out = std::fs::File::create(&target).map_err(|e| CollectError::io(&target, e))?;
        ParquetWriter::new(out)
            .finish(df)
            .map_err(|e| CollectError::table(self.path, unit, e))?;
        self.written.push(TableRef {
            table_id,
            file,
            unit: unit.to_string(),
            n_rows: df.height() as u64,
            n_cols: df.width() as u64,
            method: method.to_string(),
        });
        Ok(())
    }

    pub fn into_refs(self) -> Vec<TableRef> {
        self.written
    }
}

/// Renders a table so that each value keeps its header: `Row 3: Customer: Li Wei; Limit: 500000`.
///
/// A knowledge base that indexes this text can answer "what is the limit of Li Wei" from one
/// chunk, which a bare grid of numbers cannot do. Rows are numbered from 1 after the header.
pub fn render_frame(df: &DataFrame) -> String {
    let mut out = String::new();
    let names: Vec<&str> = df
        .get_column_names()
        .into_iter()
        .map(|s| s.as_str())
        .collect();
    let columns = df.columns();
    for row in 0..df.height() {
        let mut line = String::new();
        for (name, col) in names.iter().zip(columns) {
            let Ok(v) = col.get(row) else { continue };
            let text = any_value_text(&v);
            if text.is_empty() {
                continue;
            }
            if !line.is_empty() {
                line.push_str("; ");
            }
            let _ = write!(line, "{name}: {text}");
        }
        if !line.is_empty() {
            let _ = writeln!(out, "Row {}: {line}", row + 1);
        }
    }
    out
}

fn any_value_text(v: &AnyValue) -> String {
    match v {
        AnyValue::List(_) | AnyValue::Struct(..) | AnyValue::StructOwned(_) => {
            // polars' own display elides long lists with "…"; a document must keep every value.
            serde_json::to_string(&any_value_json(v)).unwrap_or_default()
        }
        AnyValue::Null => String::new(),
        AnyValue::String(s) => s.trim().replace('\n', " "),
        AnyValue::StringOwned(s) => s.trim().replace('\n', " "),
        AnyValue::Float64(f) => format_float(*f),
        AnyValue::Float32(f) => format_float(f64::from(*f)),
        other => {
            let s = other.to_string();
            s.trim_matches('"').to_string()
        }
    }
}

fn any_value_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::String(s) => Value::String(s.to_string()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::Int64(i) => Value::from(*i),
        AnyValue::Int32(i) => Value::from(*i),
        AnyValue::UInt64(i) => Value::from(*i),
        AnyValue::UInt32(i) => Value::from(*i),
        AnyValue::Float64(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        AnyValue::List(series) => Value::Array(series.iter().map(|x| any_value_json(&x)).collect()),
        AnyValue::Struct(_, _, fields) => Value::Object(
            fields
                .iter()
                .zip(v._iter_struct_av())
                .map(|(f, x)| (f.name().to_string(), any_value_json(&x)))
                .collect(),
        ),
        AnyValue::StructOwned(payload) => Value::Object(
            payload
                .1
                .iter()
                .zip(&payload.0)
                .map(|(f, x)| (f.name().to_string(), any_value_json(x)))
                .collect(),
        ),
        other => Value::String(any_value_text(other)),
    }
}

/// Prints floats without noise: 50000 not 50000.0, 0.1 not 0.1000000001.
pub fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        let s = format!("{f:.10}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_non_empty() {
        let n = unique_names([Some("a"), None, Some("a"), Some(" "), Some("b  c")]);
        assert_eq!(n, ["a", "column_2", "a_2", "column_4", "b c"]);
    }

    #[test]
    fn string_table_renders_values_with_headers() {
        let t = StringTable::from_rows(vec![
            vec!["Customer".into(), "Limit".into()],
            vec!["Li Wei".into(), "500000".into()],
            vec!["".into(), "".into()],
            vec!["Zhang San".into()],
        ]);
        let df = t.to_frame().unwrap();
        assert_eq!(df.shape(), (2, 2));
        assert_eq!(
            render_frame(&df),
            "Row 1: Customer: Li Wei; Limit: 500000\nRow 2: Customer: Zhang San\n"
        );
    }

    #[test]
    fn floats_print_without_noise() {
        assert_eq!(format_float(50000.0), "50000");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(-2.5), "-2.5");
    }
}
