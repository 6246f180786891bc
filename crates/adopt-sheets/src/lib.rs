//! Spreadsheet reader for `adopt`: every sheet of an xlsx, xlsm, xlsb, xls or ods workbook
//! becomes a typed table (header found, merged cells filled, dates as dates) plus a text
//! rendering that keeps each value next to its column name for the knowledge base.
//!
//! Hostile files are expected. calamine panics are caught per sheet and the dense grid is
//! capped by [`ReadLimits`], but a parser can still ask the allocator for more than the
//! machine has before we see a single cell, so callers that read untrusted files should
//! also run under a process-level memory limit (cgroup, `ulimit -v`, or a worker process).

mod cell;
mod error;
mod format;
mod grid;
mod ods_merges;
mod reader;
mod sheet;

use std::path::Path;

use serde::Serialize;

pub use cell::{format_float, Cell, ColumnType};
pub use error::{Result, SheetError};
pub use format::SheetFormat;
pub use sheet::Sheet;

/// Bounds on how much of a workbook is materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Most cells kept per sheet, counting the dense used range (rows x columns). Beyond it
    /// the sheet is truncated to its first rows and a warning says so.
    pub max_cells: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        // About 1.6 GB of cells at 32 bytes each: room for any real sheet (Excel stops at
        // 1,048,576 rows), not for a forged used range of 17 billion cells.
        ReadLimits {
            max_cells: 50_000_000,
        }
    }
}

/// Every sheet of one workbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workbook {
    pub format: SheetFormat,
    pub sheets: Vec<Sheet>,
    /// Workbook-level problems, e.g. `sheet 'X': could not read: ...`. A sheet that failed
    /// is missing from `sheets` and named here; the others are still read.
    pub warnings: Vec<String>,
}

impl Workbook {
    /// The text of every sheet, each introduced by a `Sheet: <name>` line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for sheet in &self.sheets {
            out.push_str("Sheet: ");
            out.push_str(&sheet.name);
            out.push('\n');
            for line in &sheet.preamble {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str(&sheet.to_text());
        }
        out
    }

    /// The sheet with this name.
    pub fn sheet(&self, name: &str) -> Option<&Sheet> {
        self.sheets.iter().find(|s| s.name == name)
    }
}

/// Reads every sheet of the workbook at `path` with the default [`ReadLimits`].
///
/// The format comes from the extension and must agree with the file's magic bytes.
pub fn read_workbook(path: &Path) -> Result<Workbook> {
    read_workbook_with(path, &ReadLimits::default())
}

/// Reads every sheet of the workbook at `path` within `limits`.
pub fn read_workbook_with(path: &Path, limits: &ReadLimits) -> Result<Workbook> {
    let format = format::detect_format(path)?;
    reader::read(path, format, limits)
}
