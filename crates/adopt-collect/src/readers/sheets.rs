//! Spreadsheet workbooks: every sheet becomes a typed Parquet table and a text rendering that
//! keeps each value with its header. Reading itself lives in `adopt-sheets`.

use std::path::Path;

use adopt_sheets::{Cell, ColumnType, Sheet};
use polars::prelude::*;

use crate::error::{CollectError, Result};
use crate::extract::{Extracted, Unit};
use crate::table::{unique_names, TableSink};

pub fn read(path: &Path, sink: &mut TableSink) -> Result<Extracted> {
    let wb = adopt_sheets::read_workbook(path).map_err(|e| CollectError::from_reader(path, e))?;
    let mut ex = Extracted {
        warnings: wb.warnings.clone(),
        ..Default::default()
    };
    for sheet in &wb.sheets {
        let label = format!("sheet {}", sheet.name);
        ex.warnings
            .extend(sheet.warnings.iter().map(|w| format!("{label}: {w}")));
        ex.units.push(Unit {
            label: label.clone(),
            text: sheet.to_text(),
        });
        let mut df = sheet_frame(sheet).map_err(|e| CollectError::table(path, &label, e))?;
        sink.write(&mut df, &label, "sheet")?;
    }
    Ok(ex)
}

/// Builds a frame whose column types follow the cells: whole numbers stay integers, dates stay
/// dates; a column mixing types is kept as text so no value is lost.
pub fn sheet_frame(sheet: &Sheet) -> PolarsResult<DataFrame> {
    let types = sheet.column_types();
    let names = unique_names(sheet.header.iter().map(|h| Some(h.as_str())));
    let width = types.len().max(names.len());
    let names = if names.len() < width {
        unique_names((0..width).map(|i| sheet.header.get(i).map(String::as_str)))
    } else {
        names
    };
    let cell = |row: &Vec<Cell>, i: usize| row.get(i).cloned().unwrap_or(Cell::Empty);
    let mut columns = Vec::with_capacity(width);
    for (i, name) in names.iter().enumerate() {
        let name: PlSmallStr = name.as_str().into();
        let ty = types.get(i).copied().unwrap_or(ColumnType::Empty);
        let rows = &sheet.rows;
        let col: Column = match ty {
            ColumnType::Int => Column::new(
                name,
                rows.iter()
                    .map(|r| match cell(r, i) {
                        Cell::Int(v) => Some(v),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            ),
            ColumnType::Float => Column::new(
                name,
                rows.iter()
                    .map(|r| match cell(r, i) {
                        Cell::Int(v) => Some(v as f64),
                        Cell::Float(v) => Some(v),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            ),
            ColumnType::Bool => Column::new(
                name,
                rows.iter()
                    .map(|r| match cell(r, i) {
                        Cell::Bool(v) => Some(v),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            ),
            ColumnType::Date => DateChunked::from_naive_date_options(
                name,
                rows.iter().map(|r| match cell(r, i) {
                    Cell::Date(d) => Some(d),
                    _ => None,
                }),
            )
            .into_column(),
            ColumnType::DateTime => DatetimeChunked::from_naive_datetime_options(
                name,
                rows.iter().map(|r| match cell(r, i) {
                    Cell::DateTime(d) => Some(d),
                    Cell::Date(d) => d.and_hms_opt(0, 0, 0),
                    _ => None,
                }),
                TimeUnit::Milliseconds,
            )
            .into_column(),
            _ => Column::new(
                name,
                rows.iter()
                    .map(|r| cell_text(&cell(r, i)))
                    .collect::<Vec<_>>(),
            ),
        };
        columns.push(col);
    }
    DataFrame::new(sheet.rows.len(), columns)
}

fn cell_text(c: &Cell) -> Option<String> {
    match c {
        Cell::Empty => None,
        Cell::Text(s) => Some(s.clone()),
        Cell::Int(v) => Some(v.to_string()),
        Cell::Float(v) => Some(adopt_sheets::format_float(*v)),
        Cell::Bool(v) => Some(v.to_string()),
        Cell::Date(d) => Some(d.to_string()),
        Cell::DateTime(d) => Some(d.format("%Y-%m-%d %H:%M:%S").to_string()),
        Cell::Time(t) => Some(t.to_string()),
        Cell::Duration(d) => Some(format!("{}s", d.num_milliseconds() as f64 / 1000.0)),
        Cell::Error(e) => Some(e.clone()),
    }
}
