//! The collect stage's outputs as files a user can open: `documents.parquet`, `tables.parquet`
//! and `quarantine.jsonl`. Later stages read documents back through [`read_documents`].

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use adopt_core::layout::write_atomic;
use adopt_core::{Document, Format, TableRef};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{CollectError, Result};

/// A file that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    pub path: String,
    pub department: Option<String>,
    pub format: Option<Format>,
    /// Short kind: "encrypted", "unreadable", "timeout", "out-of-memory", ...
    pub kind: String,
    pub reason: String,
    /// Hash of the bytes that failed, so that an unchanged bad file is not retried each run.
    pub content_hash: String,
}

fn output_err(path: &Path, what: &'static str, e: impl std::fmt::Display) -> CollectError {
    CollectError::Output {
        path: path.to_path_buf(),
        what,
        reason: e.to_string(),
    }
}

fn str_list(name: &str, lists: impl Iterator<Item = Vec<String>>) -> Column {
    let series: Vec<Series> = lists.map(|l| Series::new(PlSmallStr::EMPTY, l)).collect();
    let mut s = Series::new(name.into(), series);
    if s.is_empty() {
        s = Series::new_empty(name.into(), &DataType::List(Box::new(DataType::String)));
    }
    s.into_column()
}

/// Documents as a frame, one row each, in the column order of `documents.parquet`.
pub fn documents_frame(docs: &[Document]) -> PolarsResult<DataFrame> {
    let opt = |f: fn(&Document) -> Option<&str>| docs.iter().map(f).collect::<Vec<_>>();
    let columns = vec![
        Column::new(
            "doc_id".into(),
            docs.iter().map(|d| d.doc_id.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "source_path".into(),
            docs.iter()
                .map(|d| d.source_path.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new("department".into(), opt(|d| d.department.as_deref())),
        Column::new(
            "format".into(),
            docs.iter().map(|d| d.format.as_str()).collect::<Vec<_>>(),
        ),
        Column::new("title".into(), opt(|d| d.title.as_deref())),
        Column::new("author".into(), opt(|d| d.author.as_deref())),
        Column::new("created".into(), opt(|d| d.created.as_deref())),
        Column::new(
            "page_count".into(),
            docs.iter().map(|d| d.page_count).collect::<Vec<_>>(),
        ),
        Column::new(
            "text".into(),
            docs.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
        ),
        str_list("unit_labels", docs.iter().map(|d| d.unit_labels.clone())),
        Column::new("encoding".into(), opt(|d| d.encoding.as_deref())),
        Column::new(
            "byte_size".into(),
            docs.iter().map(|d| d.byte_size).collect::<Vec<_>>(),
        ),
        Int64Chunked::from_vec(
            "modified".into(),
            docs.iter().map(|d| d.modified_ms).collect(),
        )
        .into_datetime(TimeUnit::Milliseconds, None)
        .into_column(),
        Column::new(
            "content_hash".into(),
            docs.iter()
                .map(|d| d.content_hash.as_str())
                .collect::<Vec<_>>(),
        ),
        str_list("warnings", docs.iter().map(|d| d.warnings.clone())),
        Column::new(
            "n_tables".into(),
            docs.iter()
                .map(|d| d.tables.len() as u32)
                .collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(docs.len(), columns)
}

/// The table index: one row per table, with the document and unit it came from.
pub fn tables_frame(docs: &[Document]) -> PolarsResult<DataFrame> {
    let rows: Vec<(&Document, &TableRef)> = docs
        .iter()
        .flat_map(|d| d.tables.iter().map(move |t| (d, t)))
        .collect();
    let columns = vec![
        Column::new(
            "table_id".into(),
            rows.iter()
                .map(|(_, t)| t.table_id.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "doc_id".into(),
            rows.iter()
                .map(|(d, _)| d.doc_id.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "source_path".into(),
            rows.iter()
                .map(|(d, _)| d.source_path.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "department".into(),
            rows.iter()
                .map(|(d, _)| d.department.as_deref())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "unit".into(),
            rows.iter()
                .map(|(_, t)| t.unit.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "file".into(),
            rows.iter()
                .map(|(_, t)| format!("tables/{}", t.file))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "n_rows".into(),
            rows.iter().map(|(_, t)| t.n_rows).collect::<Vec<_>>(),
        ),
        Column::new(
            "n_cols".into(),
            rows.iter().map(|(_, t)| t.n_cols).collect::<Vec<_>>(),
        ),
        Column::new(
            "method".into(),
            rows.iter()
                .map(|(_, t)| t.method.as_str())
                .collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(rows.len(), columns)
}

/// Writes a frame to `path` atomically.
pub fn write_parquet_atomic(path: &Path, df: &mut DataFrame, what: &'static str) -> Result<()> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .finish(df)
        .map_err(|e| output_err(path, what, e))?;
    write_atomic(path, &buf).map_err(|e| CollectError::io(path, e))
}

pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let bytes = std::fs::read(path).map_err(|e| CollectError::io(path, e))?;
    ParquetReader::new(Cursor::new(bytes))
        .finish()
        .map_err(|e| CollectError::unreadable(path, e))
}

/// Reads `documents.parquet` (and the table index beside it, if any) back into documents.
pub fn read_documents(documents: &Path, tables_index: Option<&Path>) -> Result<Vec<Document>> {
    let df = read_parquet(documents)?;
    let bad = |e: PolarsError| CollectError::unreadable(documents, e);
    let s = |name: &str| -> Result<Vec<Option<String>>> {
        Ok(df
            .column(name)
            .map_err(bad)?
            .str()
            .map_err(bad)?
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    };
    let list = |name: &str| -> Result<Vec<Vec<String>>> {
        let col = df.column(name).map_err(bad)?.list().map_err(bad)?.clone();
        col.series_iter()
            .map(|v| match v {
                None => Ok(Vec::new()),
                Some(series) => Ok(series
                    .str()
                    .map_err(bad)?
                    .iter()
                    .map(|x| x.unwrap_or_default().to_string())
                    .collect()),
            })
            .collect()
    };
    let ids = s("doc_id")?;
    let paths = s("source_path")?;
    let departments = s("department")?;
    let formats = s("format")?;
    let titles = s("title")?;
    let authors = s("author")?;
    let created = s("created")?;
    let texts = s("text")?;
    let encodings = s("encoding")?;
    let hashes = s("content_hash")?;
    let labels = list("unit_labels")?;
    let warnings = list("warnings")?;
    let pages: Vec<u32> = df
        .column("page_count")
        .map_err(bad)?
        .u32()
        .map_err(bad)?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    let sizes: Vec<u64> = df
        .column("byte_size")
        .map_err(bad)?
        .u64()
        .map_err(bad)?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    let modified: Vec<i64> = df
        .column("modified")
        .map_err(bad)?
        .cast(&DataType::Int64)
        .map_err(bad)?
        .i64()
        .map_err(bad)?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();

    let mut tables: BTreeMap<String, Vec<TableRef>> = BTreeMap::new();
    if let Some(index) = tables_index.filter(|p| p.exists()) {
        for (doc_id, t) in read_table_index(index)? {
            tables.entry(doc_id).or_default().push(t);
        }
    }

    let mut docs = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let format = formats[i]
            .as_deref()
            .and_then(Format::parse)
            .ok_or_else(|| {
                CollectError::unreadable(
                    documents,
                    format!("row {}: unknown format {:?}", i + 1, formats[i]),
                )
            })?;
        let doc_id = ids[i].clone().unwrap_or_default();
        docs.push(Document {
            tables: tables.remove(&doc_id).unwrap_or_default(),
            doc_id,
            source_path: paths[i].clone().unwrap_or_default(),
            department: departments[i].clone(),
            format,
            title: titles[i].clone(),
            author: authors[i].clone(),
            created: created[i].clone(),
            page_count: pages[i],
            text: texts[i].clone().unwrap_or_default(),
            unit_labels: labels[i].clone(),
            encoding: encodings[i].clone(),
            byte_size: sizes[i],
            modified_ms: modified[i],
            content_hash: hashes[i].clone().unwrap_or_default(),
            warnings: warnings[i].clone(),
        });
    }
    Ok(docs)
}

fn read_table_index(path: &Path) -> Result<Vec<(String, TableRef)>> {
    let df = read_parquet(path)?;
    let bad = |e: PolarsError| CollectError::unreadable(path, e);
    let s = |name: &str| -> Result<Vec<String>> {
        Ok(df
            .column(name)
            .map_err(bad)?
            .str()
            .map_err(bad)?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    };
    let n = |name: &str| -> Result<Vec<u64>> {
        Ok(df
            .column(name)
            .map_err(bad)?
            .u64()
            .map_err(bad)?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    let (ids, docs, units, files, methods) = (
        s("table_id")?,
        s("doc_id")?,
        s("unit")?,
        s("file")?,
        s("method")?,
    );
    let (rows, cols) = (n("n_rows")?, n("n_cols")?);
    Ok((0..df.height())
        .map(|i| {
            (
                docs[i].clone(),
                TableRef {
                    table_id: ids[i].clone(),
                    file: files[i]
                        .strip_prefix("tables/")
                        .unwrap_or(&files[i])
                        .to_string(),
                    unit: units[i].clone(),
                    n_rows: rows[i],
                    n_cols: cols[i],
                    method: methods[i].clone(),
                },
            )
        })
        .collect())
}

pub fn read_quarantine(path: &Path) -> Result<Vec<QuarantineEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CollectError::io(path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| CollectError::unreadable(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

pub fn write_quarantine(path: &Path, entries: &[QuarantineEntry]) -> Result<()> {
    let mut out = String::new();
    for e in entries {
        out.push_str(&serde_json::to_string(e).map_err(|e| output_err(path, "quarantine", e))?);
        out.push('\n');
    }
    write_atomic(path, out.as_bytes()).map_err(|e| CollectError::io(path, e))
}
