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
    /// A picture (PNG, JPEG, TIFF incl. multi-page, BMP, WebP, GIF): a scan or a photo of a
    /// document, read by OCR.
    Image,
}

impl Format {
    /// Every format, for help texts and reports.
    pub const ALL: [Format; 16] = [
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
        Format::Image,
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
            "png" | "jpg" | "jpeg" | "jpe" | "tif" | "tiff" | "bmp" | "webp" | "gif" => {
                Format::Image
            }
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
            Format::Image => "image",
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

/// How collect notes an OCRed page in a document's `warnings`, so the report can count OCRed
/// and low-confidence pages without a schema change: `"{unit}: OCR: {n} characters,
/// confidence {c:.2}"`, with `" (low: check this page)"` below [`ocr_note::LOW_CONFIDENCE`].
pub mod ocr_note {
    /// Pages read with less mean confidence than this are flagged for a human to check.
    pub const LOW_CONFIDENCE: f32 = 0.8;
    const PREFIX: &str = "OCR: ";

    /// The warning for unit `label` (e.g. "page 2") on which OCR read `chars` characters
    /// with mean `confidence` (`None`: nothing read).
    pub fn warning(label: &str, chars: usize, confidence: Option<f32>) -> String {
        match confidence {
            Some(c) if c < LOW_CONFIDENCE => format!(
                "{label}: {PREFIX}{chars} characters, confidence {c:.2} (low: check this page)"
            ),
            Some(c) => format!("{label}: {PREFIX}{chars} characters, confidence {c:.2}"),
            None => format!("{label}: {PREFIX}no text found in the page image"),
        }
    }

    /// From a warning [`warning`] wrote: `Some(confidence)` (itself `None` when the page had
    /// no text); `None` for any other warning.
    pub fn parse(warning: &str) -> Option<Option<f32>> {
        let (_, rest) = warning.split_once(": ")?;
        let rest = rest.strip_prefix(PREFIX)?;
        Some(
            rest.split_once("confidence ")
                .and_then(|(_, c)| c.split([' ', '(']).next())
                .and_then(|c| c.parse().ok()),
        )
    }

    /// Whether a parsed confidence counts as low (no text read counts as low).
    pub fn is_low(confidence: Option<f32>) -> bool {
        confidence.is_none_or(|c| c < LOW_CONFIDENCE)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn warnings_round_trip() {
            let w = warning("page 3", 4, Some(0.634));
            assert_eq!(
                w,
                "page 3: OCR: 4 characters, confidence 0.63 (low: check this page)"
            );
            assert_eq!(parse(&w), Some(Some(0.63)));
            assert_eq!(parse(&warning("image", 3, Some(0.97))), Some(Some(0.97)));
            assert_eq!(parse(&warning("page 1", 0, None)), Some(None));
            assert_eq!(parse("page 1: font F1 has no Unicode mapping"), None);
            assert!(is_low(Some(0.5)) && is_low(None) && !is_low(Some(0.9)));
        }
    }
}
