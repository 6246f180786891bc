//! PDF text and table extraction for `adopt`'s collect stage.
//!
//! lopdf parses the file; our own content-stream interpreter decodes fonts (encodings, ToUnicode,
//! CID/CJK CMaps) and places every glyph, and a layout pass rebuilds reading order and tables.
//! Broken input never panics: a bad page becomes a page warning and the rest still comes out.

mod cff;
mod cid_collection;
mod cmap;
mod encoding;
mod font;
mod glyph_tables;
mod images;
mod interpreter;
mod layout;
mod lexer;
mod metadata;
mod program;
mod resolve;
mod sfnt;
mod tables;

use std::panic::{catch_unwind, AssertUnwindSafe};

pub use images::{PageImage, PageRaster};
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
    /// Page size in points, as displayed (rotation applied).
    pub width: f64,
    pub height: f64,
    /// The image XObjects the page draws, in drawing order.
    pub images: Vec<PageImage>,
    /// Inline images (`BI ... EI`), which are counted but not decoded.
    pub inline_images: usize,
}

impl PdfPage {
    /// Whether the text layer carries nothing a reader could use: empty, or mostly
    /// replacement characters, private-use code points and controls (a font with no
    /// Unicode mapping, or an OCR layer gone wrong).
    pub fn text_is_unusable(&self) -> bool {
        text_is_unusable(&self.text)
    }

    /// The share of the page (0..1) inside the box around all its images: near 1 for a scan,
    /// small for a page with a logo.
    pub fn image_coverage(&self) -> f64 {
        if self.images.is_empty() || self.width <= 0.0 || self.height <= 0.0 {
            return 0.0;
        }
        let b = self
            .images
            .iter()
            .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, i| {
                [
                    b[0].min(i.bounds[0]),
                    b[1].min(i.bounds[1]),
                    b[2].max(i.bounds[2]),
                    b[3].max(i.bounds[3]),
                ]
            });
        let w = (b[2].min(self.width) - b[0].max(0.0)).max(0.0);
        let h = (b[3].min(self.height) - b[1].max(0.0)).max(0.0);
        (w * h / (self.width * self.height)).clamp(0.0, 1.0)
    }
}

/// See [`PdfPage::text_is_unusable`].
pub fn text_is_unusable(text: &str) -> bool {
    let (mut good, mut bad) = (0usize, 0usize);
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        let cp = c as u32;
        if c == '\u{fffd}'
            || c.is_control()
            || (0xE000..=0xF8FF).contains(&cp)
            || (0xF0000..).contains(&cp)
        {
            bad += 1;
        } else if c.is_alphanumeric() {
            good += 1;
        }
    }
    good < 3 || bad * 2 > good
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

/// An open PDF, read page by page: text, tables and images of each page, and on demand a
/// raster of a page's images (for OCR). [`extract`] reads every page at once.
pub struct Pdf {
    doc: lopdf::Document,
    pages: Vec<(u32, lopdf::ObjectId)>,
    fonts: FontCache,
    metadata: PdfMetadata,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Pdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pdf")
            .field("pages", &self.pages.len())
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl Pdf {
    /// Parses a PDF held in memory (decrypting it when the user password is empty).
    pub fn open(bytes: &[u8]) -> Result<Self> {
        let doc = load(bytes)?;
        let pages: Vec<(u32, lopdf::ObjectId)> = doc.get_pages().into_iter().collect();
        if pages.is_empty() {
            return Err(PdfError::Malformed(
                "the document has no readable pages".into(),
            ));
        }
        let mut warnings = Vec::new();
        let metadata =
            catch_unwind(AssertUnwindSafe(|| metadata::read(&doc))).unwrap_or_else(|_| {
                warnings.push("metadata could not be read".to_string());
                PdfMetadata::default()
            });
        Ok(Pdf {
            doc,
            pages,
            fonts: FontCache::default(),
            metadata,
            warnings,
        })
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    pub fn metadata(&self) -> &PdfMetadata {
        &self.metadata
    }

    /// Document-level problems that did not stop extraction.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Reads the page at `index` (0-based; its `number` is the 1-based page number).
    pub fn page(&mut self, index: usize) -> PdfPage {
        let Some(&(number, page_id)) = self.pages.get(index) else {
            return PdfPage::default();
        };
        let doc = &self.doc;
        let fonts = &mut self.fonts;
        let result = catch_unwind(AssertUnwindSafe(|| {
            let content = Interpreter::new(doc, fonts).run_page(page_id);
            let (text, tables) = layout::layout_page(&content);
            let images = images::describe(doc, &content.images);
            (text, tables, content, images)
        }));
        match result {
            Ok((text, tables, content, images)) => PdfPage {
                number,
                text,
                tables,
                warnings: content.warnings,
                width: content.width,
                height: content.height,
                images,
                inline_images: content.inline_images,
            },
            Err(_) => {
                // Fonts touched by the failed page may be half-built; start afresh.
                self.fonts = FontCache::default();
                PdfPage {
                    number,
                    warnings: vec!["internal error while reading this page; it was skipped".into()],
                    ..PdfPage::default()
                }
            }
        }
    }

    /// The page drawn from its images only, gray, longest side at most `max_side` pixels
    /// (finer than the images themselves only never): what a scan looks like to OCR. Images
    /// that cannot be decoded are skipped and named in `warnings` with their encoding;
    /// `None` when the page has no image that could be drawn.
    pub fn render_images(
        &self,
        page: &PdfPage,
        max_side: usize,
        warnings: &mut Vec<String>,
    ) -> Option<PageRaster> {
        let doc = &self.doc;
        let mut found = Vec::new();
        let raster = catch_unwind(AssertUnwindSafe(|| {
            images::compose(
                doc,
                (page.width, page.height),
                &page.images,
                max_side,
                &mut found,
            )
        }))
        .unwrap_or_else(|_| {
            found.push("internal error while decoding this page's images".into());
            None
        });
        warnings.extend(found);
        raster
    }
}

/// Extracts text, tables and metadata from a whole PDF document.
pub fn extract(bytes: &[u8]) -> Result<PdfDocument> {
    let mut pdf = Pdf::open(bytes)?;
    let pages = (0..pdf.page_count()).map(|i| pdf.page(i)).collect();
    Ok(PdfDocument {
        pages,
        metadata: pdf.metadata,
        warnings: pdf.warnings,
    })
}
