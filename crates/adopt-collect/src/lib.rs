//! The collect stage of `adopt`: reads PDFs, spreadsheets, CSV/Parquet/JSON, Markdown, HTML,
//! plain text and DOCX from department folders into one table of documents plus the tables
//! they contain, with every unreadable file quarantined with its reason.

pub mod collector;
pub mod error;
pub mod extract;
pub mod isolation;
pub mod ocr;
pub mod readers;
pub mod store;
pub mod table;

pub use collector::{collect, CollectOptions, CollectSummary};
pub use error::{CollectError, Result};
pub use extract::{extract_job, Extracted, FileJob, Unit};
pub use isolation::{run_worker, Budget, Extractor, InProcessExtractor, SubprocessExtractor};
pub use ocr::OcrMode;
pub use store::{read_documents, QuarantineEntry};
