//! Extraction of one file: the unit of work that isolation, time and memory budgets guard.

use std::path::{Path, PathBuf};

use adopt_core::{Format, TableRef};
use serde::{Deserialize, Serialize};

use crate::error::{CollectError, Result};
use crate::ocr::{self, Deadline, OcrMode, NOT_OCRED};
use crate::readers::{docx, html, image, markdown, pdf, sheets, tabular, text};
use crate::table::{render_frame, TableSink};

/// What to extract: a file, the id its outputs are named by, and where tables go.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileJob {
    pub path: PathBuf,
    pub format: Format,
    pub doc_id: String,
    pub tables_dir: PathBuf,
    /// When scanned pages and image files are read by OCR.
    #[serde(default)]
    pub ocr: OcrMode,
    /// The file's time budget in seconds (0: none): OCR stops before it runs out, so a long
    /// scan keeps the pages it read.
    #[serde(default)]
    pub time_budget_secs: u64,
}

/// A unit of a document: a page, a sheet, or the whole of a single-unit file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub label: String,
    pub text: String,
}

/// Everything a reader found in one file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Extracted {
    pub title: Option<String>,
    pub author: Option<String>,
    pub created: Option<String>,
    pub units: Vec<Unit>,
    pub encoding: Option<String>,
    pub warnings: Vec<String>,
    pub tables: Vec<TableRef>,
}

impl Extracted {
    fn single(text: String) -> Self {
        Extracted {
            units: vec![Unit {
                label: "text".into(),
                text,
            }],
            ..Default::default()
        }
    }
}

/// Reads the file of `job` and extracts it.
pub fn extract_job(job: &FileJob) -> Result<Extracted> {
    let bytes = std::fs::read(&job.path).map_err(|e| CollectError::io(&job.path, e))?;
    extract_bytes(job, &bytes)
}

/// Extracts a file whose bytes are already in memory (collect hashed them).
pub fn extract_bytes(job: &FileJob, bytes: &[u8]) -> Result<Extracted> {
    let path = job.path.as_path();
    let mut sink = TableSink::new(&job.doc_id, &job.tables_dir, path);
    let deadline = Deadline::after(job.time_budget_secs);
    let mut ex = match job.format {
        Format::Pdf => pdf::read(path, bytes, &mut sink, job.ocr, deadline)?,
        Format::Image => image_file(path, bytes, job.ocr, deadline)?,
        f if f.is_workbook() => sheets::read(path, &mut sink)?,
        Format::Csv | Format::Tsv => {
            let sep = if job.format == Format::Tsv {
                b'\t'
            } else {
                b','
            };
            let t = tabular::read_delimited(bytes, sep)
                .map_err(|e| CollectError::unreadable(path, e))?;
            table_file(t, &mut sink)?
        }
        Format::Parquet => {
            let t = tabular::read_parquet(bytes).map_err(|e| CollectError::unreadable(path, e))?;
            table_file(t, &mut sink)?
        }
        Format::Json | Format::Jsonl => {
            let lines = job.format == Format::Jsonl;
            match tabular::read_json(bytes, lines) {
                Ok(t) if t.frame.height() > 0 && t.frame.width() > 0 => table_file(t, &mut sink)?,
                Ok(_) | Err(_) => json_as_text(path, bytes)?,
            }
        }
        Format::Markdown => {
            let d = text::decode(bytes);
            let mut ex = Extracted::single(text::tidy(&d.text));
            ex.title = markdown::title(&ex.units[0].text);
            ex.encoding = Some(d.encoding.to_string());
            note_decode_errors(&mut ex, &d);
            ex
        }
        Format::Html => {
            let d = text::decode(bytes);
            let c = html::read(&d.text);
            let mut ex = Extracted::single(text::tidy(&c.text));
            ex.title = c.title;
            ex.encoding = Some(d.encoding.to_string());
            note_decode_errors(&mut ex, &d);
            for t in &c.tables {
                let mut df = t
                    .to_frame()
                    .map_err(|e| CollectError::table(path, "text", e))?;
                sink.write(&mut df, "text", "html")?;
            }
            ex
        }
        Format::Text => {
            let d = text::decode(bytes);
            let mut ex = Extracted::single(text::tidy(&d.text));
            ex.encoding = Some(d.encoding.to_string());
            note_decode_errors(&mut ex, &d);
            ex
        }
        Format::Docx => {
            let c = docx::read(bytes).map_err(|e| CollectError::unreadable(path, e))?;
            let mut ex = Extracted::single(text::tidy(&c.text));
            ex.title = c.title;
            ex.author = c.author;
            ex.created = c.created;
            for t in &c.tables {
                let mut df = t
                    .to_frame()
                    .map_err(|e| CollectError::table(path, "text", e))?;
                sink.write(&mut df, "text", "docx")?;
            }
            ex
        }
        _ => unreachable!("workbook formats are matched above"),
    };
    ex.tables = sink.into_refs();
    Ok(ex)
}

/// An image file: every page read by OCR, one unit each ("image", or "page N" of a TIFF).
fn image_file(path: &Path, bytes: &[u8], mode: OcrMode, deadline: Deadline) -> Result<Extracted> {
    if mode == OcrMode::Off {
        return Err(CollectError::unreadable(
            path,
            "an image file, and OCR is off ([collect] ocr = \"off\")",
        ));
    }
    let pages = image::read(bytes).map_err(|e| CollectError::unreadable(path, e))?;
    let many = pages.len() > 1;
    let mut ex = Extracted::default();
    let unavailable = ocr::available().err();
    let mut out_of_time = Vec::new();
    for (i, page) in pages.into_iter().enumerate() {
        let label = if many {
            format!("page {}", i + 1)
        } else {
            "image".to_string()
        };
        let mut text = String::new();
        match page {
            Err(why) => ex.warnings.push(format!("{label}: not decoded: {why}")),
            Ok(_) if unavailable.is_some() => {}
            Ok(_) if deadline.passed() => out_of_time.push(label.clone()),
            Ok(picture) => match ocr::recognise(&picture) {
                Ok(read) => {
                    ex.warnings.push(read.warning(&label));
                    text = read.text;
                }
                Err(why) => ex.warnings.push(format!("{label}: {NOT_OCRED}{why}")),
            },
        }
        ex.units.push(Unit {
            label,
            text: text::tidy(&text),
        });
    }
    if let Some(first) = out_of_time.first() {
        ex.warnings.push(deadline.warning(first, out_of_time.len()));
    }
    if let Some(why) = unavailable {
        ex.warnings.push(format!("{NOT_OCRED}{why}"));
    }
    Ok(ex)
}

/// Replaced bytes and doubtful encoding guesses go into the document's warnings.
fn note_decode_errors(ex: &mut Extracted, d: &text::Decoded) {
    ex.warnings.extend(d.warnings());
}

/// A file that is one table: the table goes to `tables/`, its row-by-row rendering is the text.
fn table_file(t: tabular::TabularContent, sink: &mut TableSink) -> Result<Extracted> {
    let mut frame = t.frame;
    let mut ex = Extracted::single(render_frame(&frame));
    ex.encoding = t.encoding.map(str::to_string);
    ex.warnings = t.warnings;
    sink.write(&mut frame, "text", "file")?;
    Ok(ex)
}

/// JSON that is not a list of records (a config, a nested report) is still worth its text.
fn json_as_text(path: &Path, bytes: &[u8]) -> Result<Extracted> {
    let d = text::decode(bytes);
    let value: serde_json::Value = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"))
    {
        let lines: std::result::Result<Vec<serde_json::Value>, _> = d
            .text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
            .collect();
        serde_json::Value::Array(lines.map_err(|e| CollectError::unreadable(path, e))?)
    } else {
        serde_json::from_str(&d.text)
            .map_err(|e| CollectError::unreadable(path, format!("invalid JSON: {e}")))?
    };
    let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
    let mut ex = Extracted::single(pretty);
    ex.encoding = Some(d.encoding.to_string());
    ex.warnings
        .push("JSON is not a list of records; kept as text, no table".into());
    Ok(ex)
}
