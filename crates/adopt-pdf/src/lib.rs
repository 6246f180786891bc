//! PDF text and table extraction for `adopt`'s collect stage.
//!
//! lopdf parses the file; our own content-stream interpreter decodes fonts (encodings, ToUnicode,
//! CID/CJK CMaps) and places every glyph, and a layout pass rebuilds reading order and tables.
//! Broken input never panics: a bad page becomes a page warning and the rest still comes out.

mod cff;
mod cmap;
mod encoding;
mod font;
mod glyph_tables;
mod interpreter;
mod layout;
mod lexer;
mod metadata;
mod program;
mod resolve;
mod sfnt;
mod tables;

use std::panic::{catch_unwind, AssertUnwindSafe};

use interpreter::{FontCache, Interpreter};

/// Errors that stop a whole document from being read. Page-level problems are warnings instead.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The file is encrypted and cannot be opened without a password (or uses an unsupported
    /// security handler).
    #[error("PDF is encrypted: {reason}")]
    Encrypted { reason: String },
    /// lopdf could not parse the file structure.
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// The input holds no bytes (or only whitespace).
    #[error("empty PDF file")]
    Empty,
}

pub type Result<T> = std::result::Result<T, PdfError>;

/// Everything extracted from one PDF.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PdfDocument {
    pub pages: Vec<PdfPage>,
    pub metadata: PdfMetadata,
    /// Document-level problems that did not stop extraction.
    pub warnings: Vec<String>,
}

impl PdfDocument {
    /// The text of all pages, separated by form feeds (as `pdftotext` does).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.pages {
            out.push_str(&p.text);
            out.push('\u{c}');
        }
        out
    }
}

/// One page's text (in reading order) and tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PdfPage {
    /// 1-based page number.
    pub number: u32,
    /// Lines joined by `\n`, text blocks separated by a blank line; tables row by row with cells
    /// separated by tabs.
    pub text: String,
    pub tables: Vec<PdfTable>,
    pub warnings: Vec<String>,
}

/// A table as rows of cell strings; the first row is the header when the table has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfTable {
    pub rows: Vec<Vec<String>>,
    pub method: TableMethod,
}

/// How a table was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableMethod {
    /// Drawn with ruling lines or cell borders.
    Ruled,
    /// Inferred from text aligned in columns over several lines.
    Aligned,
}

/// Document information; dates are ISO 8601 where the PDF date parses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfMetadata {
    pub title: Option<String>,
    pub author: Option<String>,
    pub subject: Option<String>,
    pub creator: Option<String>,
    pub producer: Option<String>,
    pub created: Option<String>,
    pub modified: Option<String>,
}

/// Opens a PDF held in memory, decrypting it when the user password is empty.
fn load(bytes: &[u8]) -> Result<lopdf::Document> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PdfError::Empty);
    }
    let doc = match catch_unwind(AssertUnwindSafe(|| lopdf::Document::load_mem(bytes))) {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => {
            return Err(match e {
                lopdf::Error::InvalidPassword | lopdf::Error::Decryption(_) => {
                    PdfError::Encrypted {
                        reason: e.to_string(),
                    }
                }
                other => PdfError::Malformed(other.to_string()),
            })
        }
        Err(_) => {
            return Err(PdfError::Malformed(
                "the PDF parser crashed on this file".into(),
            ))
        }
    };
    // lopdf decrypts on load when the user password is empty; an /Encrypt entry still present
    // means it could not.
    if doc.is_encrypted() {
        let reason = match doc.get_encrypted().ok().and_then(|d| d.get(b"Filter").ok()) {
            Some(lopdf::Object::Name(f)) if f.as_slice() != b"Standard" => format!(
                "unsupported security handler /{}",
                String::from_utf8_lossy(f)
            ),
            _ => "a user password is required to open it".to_string(),
        };
        return Err(PdfError::Encrypted { reason });
    }
    Ok(doc)
}

/// Extracts text, tables and metadata from a whole PDF document.
pub fn extract(bytes: &[u8]) -> Result<PdfDocument> {
    let doc = load(bytes)?;
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(PdfError::Malformed(
            "the document has no readable pages".into(),
        ));
    }
    let mut warnings = Vec::new();
    let metadata = catch_unwind(AssertUnwindSafe(|| metadata::read(&doc))).unwrap_or_else(|_| {
        warnings.push("metadata could not be read".to_string());
        PdfMetadata::default()
    });
    let mut fonts = FontCache::default();
    let mut out = Vec::with_capacity(pages.len());
    for (number, page_id) in pages {
        let result = catch_unwind(AssertUnwindSafe(|| {
            let content = Interpreter::new(&doc, &mut fonts).run_page(page_id);
            let (text, tables) = layout::layout_page(&content);
            (text, tables, content.warnings)
        }));
        out.push(match result {
            Ok((text, tables, warnings)) => PdfPage {
                number,
                text,
                tables,
                warnings,
            },
            Err(_) => {
                // Fonts touched by the failed page may be half-built; start afresh.
                fonts = FontCache::default();
                PdfPage {
                    number,
                    warnings: vec!["internal error while reading this page; it was skipped".into()],
                    ..PdfPage::default()
                }
            }
        });
    }
    Ok(PdfDocument {
        pages: out,
        metadata,
        warnings,
    })
}
