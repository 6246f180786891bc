//! The collected document: one row of `documents.parquet`.

use serde::{Deserialize, Serialize};

/// Separates units (pages of a PDF, sheets of a workbook) inside [`Document::text`].
///
/// A form feed, as `pdftotext` uses, so that `text.split(UNIT_SEPARATOR)` recovers the units and
/// lines up with [`Document::unit_labels`]. Readers replace any form feed found inside a unit.
pub const UNIT_SEPARATOR: char = '\u{c}';

/// The file formats `adopt collect` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Xlsx,
    Xlsm,
    Xlsb,
    Xls,
    Ods,
    Csv,
    Tsv,
    Parquet,
    Json,
    Jsonl,
    Markdown,
    Html,
    Text,
    Docx,
}

impl Format {
    /// Every format, for help texts and reports.
    pub const ALL: [Format; 15] = [
        Format::Pdf,
        Format::Xlsx,
        Format::Xlsm,
        Format::Xlsb,
        Format::Xls,
        Format::Ods,
        Format::Csv,
        Format::Tsv,
        Format::Parquet,
        Format::Json,
        Format::Jsonl,
        Format::Markdown,
        Format::Html,
        Format::Text,
        Format::Docx,
    ];

    /// The format a file name's extension names, if we read it.
    pub fn from_extension(ext: &str) -> Option<Format> {
        Some(match ext.to_ascii_lowercase().as_str() {
            "pdf" => Format::Pdf,
            "xlsx" => Format::Xlsx,
            "xlsm" => Format::Xlsm,
            "xlsb" => Format::Xlsb,
            "xls" => Format::Xls,
            "ods" => Format::Ods,
            "csv" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "parquet" | "pq" => Format::Parquet,
            "json" => Format::Json,
            "jsonl" | "ndjson" => Format::Jsonl,
            "md" | "markdown" => Format::Markdown,
            "html" | "htm" | "xhtml" => Format::Html,
            "txt" | "text" | "log" => Format::Text,
            "docx" => Format::Docx,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
            Format::Xlsm => "xlsm",
            Format::Xlsb => "xlsb",
            Format::Xls => "xls",
            Format::Ods => "ods",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Text => "text",
            Format::Docx => "docx",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// Spreadsheet workbooks, whose units are sheets rather than pages.
    pub fn is_workbook(self) -> bool {
        matches!(
            self,
            Format::Xlsx | Format::Xlsm | Format::Xlsb | Format::Xls | Format::Ods
        )
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One collected document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable id: the first 16 bytes of the BLAKE3 hash of the file's bytes, in hex.
    pub doc_id: String,
    /// Source path as given on the command line joined with the path below it.
    pub source_path: String,
    /// Department, from `--department` or the first folder level below a source folder.
    pub department: Option<String>,
    pub format: Format,
    pub title: Option<String>,
    pub author: Option<String>,
    /// Creation date from the file's own metadata (ISO 8601), where it has one.
    pub created: Option<String>,
    /// Number of units: pages of a PDF, sheets of a workbook, 1 for everything else.
    pub page_count: u32,
    /// Text of all units joined by [`UNIT_SEPARATOR`].
    pub text: String,
    /// One label per unit ("page 3", "sheet Customers"), in the order of `text`'s units.
    pub unit_labels: Vec<String>,
    /// Encoding a text file was decoded from (detected, not assumed).
    pub encoding: Option<String>,
    pub byte_size: u64,
    /// File modification time, milliseconds since the Unix epoch.
    pub modified_ms: i64,
    /// Content hash of the whole file (full BLAKE3, hex).
    pub content_hash: String,
    /// Things that went wrong without losing the document ("page 4: unknown font encoding").
    pub warnings: Vec<String>,
    /// Tables extracted from this document.
    pub tables: Vec<TableRef>,
}

impl Document {
    /// Splits [`Document::text`] back into `(label, unit text)` pairs.
    pub fn units(&self) -> impl Iterator<Item = (&str, &str)> {
        self.text
            .split(UNIT_SEPARATOR)
            .enumerate()
            .map(|(i, t)| (self.unit_labels.get(i).map(String::as_str).unwrap_or(""), t))
    }
}

/// Where one extracted table lives and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRef {
    /// `{doc_id}-{index}`.
    pub table_id: String,
    /// File name under the run directory's `tables/`.
    pub file: String,
    /// Unit the table came from ("page 2", "sheet Q1").
    pub unit: String,
    pub n_rows: u64,
    pub n_cols: u64,
    /// How it was found: "sheet", "pdf-ruled", "pdf-aligned", "docx", "html", "file".
    pub method: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(Format::from_extension("XLSX"), Some(Format::Xlsx));
        assert_eq!(Format::from_extension("exe"), None);
    }

    #[test]
    fn units_line_up_with_labels() {
        let d = Document {
            doc_id: "x".into(),
            source_path: "a.pdf".into(),
            department: None,
            format: Format::Pdf,
            title: None,
            author: None,
            created: None,
            page_count: 2,
            text: format!("one{UNIT_SEPARATOR}two"),
            unit_labels: vec!["page 1".into(), "page 2".into()],
            encoding: None,
            byte_size: 0,
            modified_ms: 0,
            content_hash: String::new(),
            warnings: vec![],
            tables: vec![],
        };
        let units: Vec<_> = d.units().collect();
        assert_eq!(units, vec![("page 1", "one"), ("page 2", "two")]);
    }
}
