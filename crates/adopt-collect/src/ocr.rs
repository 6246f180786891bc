//! OCR inside collect: the scanned pages of PDFs and image files, read by `adopt-ocr` on the
//! shared ONNX Runtime. The engine is loaded once per process (the extraction worker, or the
//! test process) the first time a page needs it; when its models are missing, the page keeps
//! no text and says which command installs them.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use adopt_ocr::{OcrEngine, OcrSettings, RgbImage};
use serde::{Deserialize, Serialize};

/// When collect runs OCR (`[collect] ocr`, `adopt collect --ocr`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OcrMode {
    /// Image files, and PDF pages whose text layer is empty or unusable and that carry images.
    #[default]
    Auto,
    /// Never: image files are quarantined as unsupported, scanned pages stay empty.
    Off,
    /// As `auto`, and also PDF pages with a text layer whose images cover half the page or
    /// more: OCR replaces that text layer (a scanner's poor OCR layer, say).
    Force,
}

impl OcrMode {
    pub const NAMES: [&'static str; 3] = ["auto", "off", "force"];

    pub fn parse(s: &str) -> Option<OcrMode> {
        match s {
            "auto" => Some(OcrMode::Auto),
            "off" => Some(OcrMode::Off),
            "force" => Some(OcrMode::Force),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OcrMode::Auto => "auto",
            OcrMode::Off => "off",
            OcrMode::Force => "force",
        }
    }
}

pub use adopt_core::document::ocr_note::LOW_CONFIDENCE;

/// The start of the warning for a page OCR could not read (models missing, a bad image).
pub const NOT_OCRED: &str = "not OCRed: ";

/// What OCR made of one page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOcr {
    pub text: String,
    /// Character-weighted mean confidence; `None` when nothing was read.
    pub confidence: Option<f32>,
}

impl PageOcr {
    /// The warning line for the page labelled `label` (e.g. "page 2").
    pub fn warning(&self, label: &str) -> String {
        let chars = self.text.chars().filter(|c| !c.is_whitespace()).count();
        adopt_core::document::ocr_note::warning(label, chars, self.confidence)
    }
}

type Loaded = std::result::Result<OcrEngine, String>;

fn engine() -> &'static Mutex<Option<Loaded>> {
    static ENGINE: OnceLock<Mutex<Option<Loaded>>> = OnceLock::new();
    ENGINE.get_or_init(|| Mutex::new(None))
}

/// The longest side a page image is drawn at for OCR (the engine's own cap).
pub fn max_side() -> usize {
    OcrSettings::default().max_side_len
}

/// Reads `image`; `Err` with a one-line reason (missing models name `adopt models fetch`).
pub fn recognise(image: &RgbImage) -> std::result::Result<PageOcr, String> {
    let mut slot = engine().lock().unwrap_or_else(|p| p.into_inner());
    let loaded = slot.get_or_insert_with(|| {
        OcrEngine::load_default(OcrSettings::default()).map_err(|e| e.to_string())
    });
    let engine = loaded.as_mut().map_err(|e| e.clone())?;
    let page = engine.recognise(image).map_err(|e| e.to_string())?;
    Ok(PageOcr {
        text: page.text(),
        confidence: page.confidence(),
    })
}

/// Whether OCR models can be loaded here, without loading them twice.
pub fn available() -> std::result::Result<(), String> {
    adopt_ocr::models::check(&adopt_ocr::models::default_model_dir(), false).map_err(|why| {
        format!(
            "OCR models not usable: {why} (run `{}`)",
            adopt_ocr::models::FETCH_COMMAND
        )
    })
}

/// A time limit for the OCR of one file: pages after it are left unread with a warning, so a
/// long scan keeps what was read instead of losing the whole file to the time budget.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    until: Option<Instant>,
    pub budget_secs: u64,
}

impl Deadline {
    /// `budget_secs` of 0 means none. OCR stops at 85% of the budget, leaving time to write.
    pub fn after(budget_secs: u64) -> Self {
        let until = (budget_secs > 0)
            .then(|| Instant::now() + std::time::Duration::from_millis(budget_secs * 850));
        Deadline { until, budget_secs }
    }

    pub fn passed(&self) -> bool {
        self.until.is_some_and(|t| Instant::now() >= t)
    }

    pub fn warning(&self, first: &str, count: usize) -> String {
        format!(
            "{first} and {} more not OCRed: the file's time budget ({} s) ran out; raise \
             file-timeout to read them",
            count.saturating_sub(1),
            self.budget_secs
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_pages_note_their_confidence() {
        for name in OcrMode::NAMES {
            assert_eq!(OcrMode::parse(name).unwrap().as_str(), name);
        }
        let page = PageOcr {
            text: "数据 治理".into(),
            confidence: Some(0.95),
        };
        let w = page.warning("page 2");
        assert_eq!(adopt_core::document::ocr_note::parse(&w), Some(Some(0.95)));
    }
}
