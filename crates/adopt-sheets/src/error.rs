use std::path::PathBuf;

use crate::format::SheetFormat;

/// Why a workbook could not be read at all.
///
/// Problems confined to one sheet do not surface here: they become warnings on
/// [`crate::Workbook`] so that one broken sheet does not lose the others.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    /// The file could not be opened or its first bytes read.
    #[error("{path}: cannot read file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The extension names no spreadsheet format we read.
    #[error("{path}: unsupported extension {extension:?} (expected xlsx, xlsm, xlsb, xls or ods)")]
    UnsupportedExtension { path: PathBuf, extension: String },
    /// The extension and the file's magic bytes disagree, e.g. an HTML page saved as `.xls`.
    #[error("{path}: the extension says {expected} but the content is {found}")]
    FormatMismatch {
        path: PathBuf,
        expected: SheetFormat,
        found: String,
    },
    /// calamine rejected the workbook (corrupt container, broken shared strings, ...).
    #[error("{path}: cannot open {format} workbook: {source}")]
    Open {
        path: PathBuf,
        format: SheetFormat,
        #[source]
        source: calamine::Error,
    },
    /// calamine panicked while parsing; caught so that the caller's process survives.
    #[error("{path}: {format} reader crashed{}: {message}", sheet.as_ref().map(|s| format!(" on sheet '{s}'")).unwrap_or_default())]
    ReaderPanicked {
        path: PathBuf,
        format: SheetFormat,
        sheet: Option<String>,
        message: String,
    },
}

pub type Result<T, E = SheetError> = std::result::Result<T, E>;
