//! One function per calamine reader, each turning sheets into [`Sheet`]s with every
//! calamine call behind `catch_unwind`.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use calamine::{
    open_workbook, Data, Dimensions, Ods, Range, Reader, SheetType, SheetVisible, Xls, Xlsb, Xlsx,
};

use crate::cell::Cell;
use crate::error::{Result, SheetError};
use crate::format::SheetFormat;
use crate::grid::{Grid, SparseCell};
use crate::ods_merges::ods_merged_regions;
use crate::sheet::Sheet;
use crate::{ReadLimits, Workbook};

type FileReader = BufReader<File>;

/// Runs `f`, turning a panic into its message.
fn guarded<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string())
    })
}

/// What one sheet yielded before assembly.
struct SheetCells {
    cells: Vec<SparseCell>,
    /// Set when reading stopped early; the cells read so far are kept.
    stopped: Option<String>,
}

struct Assembler<'a> {
    path: &'a Path,
    format: SheetFormat,
    limits: &'a ReadLimits,
    workbook: Workbook,
}

impl<'a> Assembler<'a> {
    fn new(path: &'a Path, format: SheetFormat, limits: &'a ReadLimits) -> Self {
        Assembler {
            path,
            format,
            limits,
            workbook: Workbook {
                format,
                sheets: Vec::new(),
                warnings: Vec::new(),
            },
        }
    }

    fn open<R>(&self, open: impl FnOnce() -> std::result::Result<R, calamine::Error>) -> Result<R> {
        match guarded(open) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(source)) => Err(SheetError::Open {
                path: self.path.to_path_buf(),
                format: self.format,
                source,
            }),
            Err(message) => Err(SheetError::ReaderPanicked {
                path: self.path.to_path_buf(),
                format: self.format,
                sheet: None,
                message,
            }),
        }
    }

    /// Builds one sheet from what its reader produced, or records why it has none.
    fn add(
        &mut self,
        name: String,
        hidden: bool,
        read: std::result::Result<std::result::Result<SheetCells, String>, String>,
        merges: std::result::Result<std::result::Result<Vec<Dimensions>, String>, String>,
    ) {
        let cells = match read {
            Ok(Ok(cells)) => cells,
            Ok(Err(e)) => {
                self.workbook
                    .warnings
                    .push(format!("sheet '{name}': could not read: {e}"));
                return;
            }
            Err(panic) => {
                self.workbook.warnings.push(format!(
                    "sheet '{name}': could not read: the {} reader crashed: {panic}",
                    self.format
                ));
                return;
            }
        };
        let mut warnings = Vec::new();
        if let Some(e) = cells.stopped {
            if cells.cells.is_empty() {
                self.workbook
                    .warnings
                    .push(format!("sheet '{name}': could not read: {e}"));
                return;
            }
            warnings.push(format!(
                "reading stopped early, later rows are missing: {e}"
            ));
        }
        let merges = match merges {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                warnings.push(format!("merged cells not filled: {e}"));
                Vec::new()
            }
            Err(panic) => {
                warnings.push(format!(
                    "merged cells not filled: the reader crashed: {panic}"
                ));
                Vec::new()
            }
        };
        let sheet = match guarded(|| {
            let mut warnings = warnings.clone();
            let mut grid = Grid::from_sparse(cells.cells, &merges, self.limits, &mut warnings);
            let filled = grid.fill_merged(&merges);
            Sheet::from_grid(name.clone(), hidden, grid, filled, warnings)
        }) {
            Ok(sheet) => sheet,
            // Our own code should not panic; if it does, lose the sheet, not the process.
            Err(panic) => {
                self.workbook
                    .warnings
                    .push(format!("sheet '{name}': could not build table: {panic}"));
                Sheet::empty(name, hidden, warnings)
            }
        };
        for w in &sheet.warnings {
            self.workbook
                .warnings
                .push(format!("sheet '{}': {w}", sheet.name));
        }
        self.workbook.sheets.push(sheet);
    }

    fn skip(&mut self, name: &str, typ: SheetType) {
        let kind = match typ {
            SheetType::ChartSheet => "a chart sheet",
            SheetType::DialogSheet => "a dialog sheet",
            SheetType::MacroSheet => "a macro sheet",
            SheetType::Vba => "a VBA module",
            SheetType::WorkSheet => "a worksheet",
        };
        self.workbook.warnings.push(format!(
            "sheet '{name}': skipped, it is {kind} without cells"
        ));
    }
}

fn is_hidden(visible: SheetVisible) -> bool {
    !matches!(visible, SheetVisible::Visible)
}

/// Sheets worth reading: worksheets, plus macro sheets, which hold cells too.
fn has_cells(typ: SheetType) -> bool {
    matches!(typ, SheetType::WorkSheet | SheetType::MacroSheet)
}

pub(crate) fn read(path: &Path, format: SheetFormat, limits: &ReadLimits) -> Result<Workbook> {
    let mut asm = Assembler::new(path, format, limits);
    match format {
        SheetFormat::Xlsx | SheetFormat::Xlsm => read_xlsx(&mut asm)?,
        SheetFormat::Xlsb => read_xlsb(&mut asm)?,
        SheetFormat::Xls => read_xls(&mut asm)?,
        SheetFormat::Ods => read_ods(&mut asm)?,
    }
    Ok(asm.workbook)
}

/// Pulls cells from a streaming reader until it ends, fails, or passes the cell budget.
/// Streaming (rather than `worksheet_range`) lets us bound memory before calamine
/// allocates a dense range sized by the sheet's extreme coordinates.
fn stream_cells<'d, E: std::fmt::Display>(
    max_cells: usize,
    mut next: impl FnMut() -> std::result::Result<Option<calamine::Cell<calamine::DataRef<'d>>>, E>,
) -> SheetCells {
    let mut cells = Vec::new();
    loop {
        match next() {
            Ok(Some(cell)) => {
                let (row, col) = cell.get_position();
                let value = Cell::from(cell.get_value().clone());
                if value.is_empty() {
                    continue;
                }
                if cells.len() >= max_cells {
                    return SheetCells {
                        cells,
                        stopped: Some(format!(
                            "more than {max_cells} non-empty cells (ReadLimits::max_cells)"
                        )),
                    };
                }
                cells.push((row, col, value));
            }
            Ok(None) => {
                return SheetCells {
                    cells,
                    stopped: None,
                }
            }
            Err(e) => {
                return SheetCells {
                    cells,
                    stopped: Some(e.to_string()),
                }
            }
        }
    }
}

fn range_cells(range: &Range<Data>, max_cells: usize) -> SheetCells {
    let Some((top, left)) = range.start() else {
        return SheetCells {
            cells: Vec::new(),
            stopped: None,
        };
    };
    let mut cells = Vec::new();
    for (r, c, data) in range.used_cells() {
        let value = Cell::from(data.clone());
        if value.is_empty() {
            continue;
        }
        if cells.len() >= max_cells {
            return SheetCells {
                cells,
                stopped: Some(format!(
                    "more than {max_cells} non-empty cells (ReadLimits::max_cells)"
                )),
            };
        }
        cells.push((top + r as u32, left + c as u32, value));
    }
    SheetCells {
        cells,
        stopped: None,
    }
}

fn read_xlsx(asm: &mut Assembler<'_>) -> Result<()> {
    let path = asm.path;
    let mut wb: Xlsx<FileReader> =
        asm.open(|| open_workbook(path).map_err(calamine::Error::Xlsx))?;
    let max_cells = asm.limits.max_cells;
    let sheets: Vec<calamine::Sheet> = wb.sheets_metadata().to_vec();
    let names: Vec<String> = sheets
        .iter()
        .filter(|m| has_cells(m.typ))
        .map(|m| m.name.clone())
        .collect();
    // calamine finds merged regions by parsing the whole sheet XML a second time, which
    // costs almost as much as reading the cells; a second reader on another thread does
    // it while this one streams the cells.
    std::thread::scope(|scope| {
        let merges_job = scope.spawn(|| xlsx_merges(path, &names));
        let mut reads = Vec::with_capacity(sheets.len());
        for meta in &sheets {
            if !has_cells(meta.typ) {
                continue;
            }
            reads.push(guarded(|| {
                wb.worksheet_cells_reader(&meta.name)
                    .map(|mut reader| stream_cells(max_cells, || reader.next_cell()))
                    .map_err(|e| e.to_string())
            }));
        }
        let mut merges = merges_job
            .join()
            .unwrap_or_else(|_| Err("the merged-cell reader crashed".to_string()));
        let mut reads = reads.into_iter();
        for meta in sheets {
            if !has_cells(meta.typ) {
                asm.skip(&meta.name, meta.typ);
                continue;
            }
            let read = reads
                .next()
                .unwrap_or_else(|| Ok(Err("not read".to_string())));
            let sheet_merges = match &mut merges {
                Ok(by_sheet) => by_sheet.remove(&meta.name).unwrap_or(Ok(Vec::new())),
                Err(e) => Err(e.clone()),
            };
            asm.add(meta.name, is_hidden(meta.visible), read, Ok(sheet_merges));
        }
    });
    Ok(())
}

/// Merged regions of each named sheet, read through a reader of its own.
fn xlsx_merges(
    path: &Path,
    names: &[String],
) -> std::result::Result<HashMap<String, std::result::Result<Vec<Dimensions>, String>>, String> {
    let mut wb: Xlsx<FileReader> = match guarded(|| open_workbook(path)) {
        Ok(Ok(wb)) => wb,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(panic) => return Err(format!("the reader crashed: {panic}")),
    };
    Ok(names
        .iter()
        .map(|name| {
            let merges = match guarded(|| wb.merge_cells_by_sheet_name(name)) {
                Ok(Ok(m)) => Ok(m),
                Ok(Err(e)) => Err(e.to_string()),
                Err(panic) => Err(format!("the reader crashed: {panic}")),
            };
            (name.clone(), merges)
        })
        .collect())
}

fn read_xlsb(asm: &mut Assembler<'_>) -> Result<()> {
    let path = asm.path;
    let mut wb: Xlsb<FileReader> =
        asm.open(|| open_workbook(path).map_err(calamine::Error::Xlsb))?;
    let max_cells = asm.limits.max_cells;
    for meta in wb.sheets_metadata().to_vec() {
        if !has_cells(meta.typ) {
            asm.skip(&meta.name, meta.typ);
            continue;
        }
        let read = guarded(|| {
            wb.worksheet_cells_reader(&meta.name)
                .map(|mut reader| stream_cells(max_cells, || reader.next_cell()))
                .map_err(|e| e.to_string())
        });
        // calamine 0.38 does not expose merged regions for xlsb.
        asm.add(meta.name, is_hidden(meta.visible), read, Ok(Ok(Vec::new())));
    }
    Ok(())
}

fn read_xls(asm: &mut Assembler<'_>) -> Result<()> {
    let path = asm.path;
    // Xls parses every sheet up front, so a hostile sheet fails the open as a whole.
    let mut wb: Xls<FileReader> = asm.open(|| open_workbook(path).map_err(calamine::Error::Xls))?;
    let max_cells = asm.limits.max_cells;
    for meta in wb.sheets_metadata().to_vec() {
        if !has_cells(meta.typ) {
            asm.skip(&meta.name, meta.typ);
            continue;
        }
        let read = guarded(|| {
            wb.worksheet_range(&meta.name)
                .map(|range| range_cells(&range, max_cells))
                .map_err(|e| e.to_string())
        });
        let merges = guarded(|| {
            wb.merge_cells_by_sheet_name(&meta.name)
                .map_err(|e| e.to_string())
        });
        asm.add(meta.name, is_hidden(meta.visible), read, merges);
    }
    Ok(())
}

fn read_ods(asm: &mut Assembler<'_>) -> Result<()> {
    let path = asm.path;
    let mut wb: Ods<FileReader> = asm.open(|| open_workbook(path).map_err(calamine::Error::Ods))?;
    let max_cells = asm.limits.max_cells;
    let mut merges = match guarded(|| ods_merged_regions(path)) {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(format!("the reader crashed: {panic}")),
    };
    for meta in wb.sheets_metadata().to_vec() {
        let read = guarded(|| {
            wb.worksheet_range(&meta.name)
                .map(|range| range_cells(&range, max_cells))
                .map_err(|e| e.to_string())
        });
        let sheet_merges = match &mut merges {
            Ok(by_sheet) => Ok(by_sheet.remove(&meta.name).unwrap_or_default()),
            Err(e) => Err(e.clone()),
        };
        asm.add(meta.name, is_hidden(meta.visible), read, Ok(sheet_merges));
    }
    Ok(())
}
