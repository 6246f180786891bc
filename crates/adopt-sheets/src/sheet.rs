use std::collections::HashSet;
use std::fmt::Write as _;

use serde::Serialize;

use crate::cell::{Cell, ColumnType};
use crate::grid::Grid;

/// One worksheet as a typed table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sheet {
    pub name: String,
    /// Hidden (or very hidden) in the workbook's UI; still read.
    pub hidden: bool,
    /// Unique, non-empty column names, one per column of `rows`.
    pub header: Vec<String>,
    /// Data rows below the header, each as wide as `header`. Empty rows inside the table
    /// are kept so that `first_data_row + i` is the sheet row of `rows[i]`.
    pub rows: Vec<Vec<Cell>>,
    /// 0-based sheet row of the (first) header row; `None` when no row looked like one
    /// and the columns got generated names.
    pub header_row: Option<usize>,
    /// Sheet row number of `rows[0]`, 1-based as Excel shows it.
    pub first_data_row: usize,
    /// Text above the header (titles, notes), one entry per non-empty row.
    pub preamble: Vec<String>,
    /// How many merged regions had their top-left value copied into their other cells.
    pub merged_filled: usize,
    /// Problems confined to this sheet: truncation, unreadable merge info, partial reads.
    pub warnings: Vec<String>,
}

/// How many leading rows are searched for a header.
const HEADER_SEARCH_ROWS: usize = 30;
/// How many rows below a candidate decide which columns the table uses.
const HEADER_LOOKAHEAD_ROWS: usize = 50;

impl Sheet {
    /// Turns a filled grid into a table: finds the header, names the columns, drops
    /// columns that hold nothing at all.
    pub(crate) fn from_grid(
        name: String,
        hidden: bool,
        grid: Grid,
        merged_filled: usize,
        warnings: Vec<String>,
    ) -> Sheet {
        let Grid {
            origin,
            width,
            mut rows,
            merges,
        } = grid;
        let header_at = find_header(&rows, width);
        let (header_row, header_height) = match header_at {
            Some(r) => (Some(r), header_height(&rows, width, r, &merges)),
            None => (None, 0),
        };
        let data_start = header_row.map_or(0, |r| r + header_height).min(rows.len());
        let mut header: Vec<String> = (0..width)
            .map(|c| {
                let mut parts: Vec<String> = Vec::new();
                for row in rows
                    .iter()
                    .skip(header_row.unwrap_or(0))
                    .take(header_height)
                {
                    let part = one_line(&row[c].to_string());
                    if !part.is_empty() && !parts.contains(&part) {
                        parts.push(part);
                    }
                }
                parts.join(" / ")
            })
            .collect();
        let preamble = rows
            .iter()
            .take(header_row.unwrap_or(0))
            .map(|row| {
                let mut seen: Vec<String> = Vec::new();
                for cell in row.iter().filter(|c| !c.is_empty()) {
                    let s = one_line(&cell.to_string());
                    // A merged title repeats across its region; say it once.
                    if !seen.contains(&s) {
                        seen.push(s);
                    }
                }
                seen.join(" ")
            })
            .filter(|s| !s.is_empty())
            .collect();
        let mut data: Vec<Vec<Cell>> = rows.drain(data_start..).collect();

        // Spacer columns (no header, no value) carry nothing; they appear when a title
        // or note widens the used range beyond the table.
        let keep: Vec<bool> = (0..width)
            .map(|c| !header[c].is_empty() || data.iter().any(|row| !row[c].is_empty()))
            .collect();
        if keep.iter().any(|k| !k) {
            header = header
                .into_iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(h, _)| h)
                .collect();
            for row in &mut data {
                let mut i = 0;
                row.retain(|_| {
                    i += 1;
                    keep[i - 1]
                });
            }
        }
        let header = unique_names(header);
        let origin_row = origin.0 as usize;
        Sheet {
            name,
            hidden,
            header,
            rows: data,
            header_row: header_row.map(|r| origin_row + r),
            first_data_row: origin_row + data_start + 1,
            preamble,
            merged_filled,
            warnings,
        }
    }

    /// An empty sheet (no cells at all).
    pub(crate) fn empty(name: String, hidden: bool, warnings: Vec<String>) -> Sheet {
        Sheet::from_grid(name, hidden, Grid::default(), 0, warnings)
    }

    /// The type of each column, ignoring empty and error cells.
    pub fn column_types(&self) -> Vec<ColumnType> {
        let mut types = vec![ColumnType::Empty; self.header.len()];
        for row in &self.rows {
            for (t, cell) in types.iter_mut().zip(row) {
                *t = t.merge(cell.column_type());
            }
        }
        types
    }

    /// One line per non-empty data row, each value next to its column name, e.g.
    /// `Row 5: Customer: Alice Zhang; Credit limit: 50000; Opened: 2023-04-01`.
    /// Empty cells are skipped and line breaks inside values become spaces, so each line
    /// stands alone as a retrievable fact.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, row) in self.rows.iter().enumerate() {
            if row.iter().all(Cell::is_empty) {
                continue;
            }
            let _ = write!(out, "Row {}:", self.first_data_row + i);
            let mut first = true;
            for (name, cell) in self.header.iter().zip(row) {
                if cell.is_empty() {
                    continue;
                }
                let sep = if first { " " } else { "; " };
                first = false;
                let _ = write!(out, "{sep}{name}: {}", one_line(&cell.to_string()));
            }
            out.push('\n');
        }
        out
    }
}

/// Collapses runs of whitespace, including line breaks, into single spaces.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

struct RowShape {
    non_empty: usize,
    text: usize,
    distinct_text: usize,
}

fn shape(row: &[Cell]) -> RowShape {
    let mut distinct: Vec<&str> = Vec::new();
    let mut non_empty = 0;
    let mut text = 0;
    for cell in row {
        match cell {
            Cell::Empty => {}
            Cell::Text(s) => {
                non_empty += 1;
                text += 1;
                if distinct.len() < 2 && !distinct.contains(&s.as_str()) {
                    distinct.push(s);
                }
            }
            _ => non_empty += 1,
        }
    }
    RowShape {
        non_empty,
        text,
        distinct_text: distinct.len(),
    }
}

/// Whether a row reads as column names for a table `active` columns wide: at least half
/// the columns hold text, text dominates the row, and it is not one title repeated
/// across a merged region.
fn looks_like_header(row: &[Cell], active: usize) -> bool {
    let s = shape(row);
    s.text > 0
        && s.text * 2 >= active
        && s.text * 3 >= s.non_empty * 2
        && (s.distinct_text > 1 || active == 1)
}

/// The first row (relative to the grid) that looks like a header, judged against the
/// columns actually used from that row down.
fn find_header(rows: &[Vec<Cell>], width: usize) -> Option<usize> {
    for r in 0..rows.len().min(HEADER_SEARCH_ROWS) {
        let window = &rows[r..rows.len().min(r + HEADER_LOOKAHEAD_ROWS)];
        let active = (0..width)
            .filter(|&c| window.iter().any(|row| !row[c].is_empty()))
            .count();
        if active > 0 && looks_like_header(&rows[r], active) {
            return Some(r);
        }
        // Numbers before any header: the table has none, and text further down is a note.
        let s = shape(&rows[r]);
        if s.non_empty >= active.min(2) && s.non_empty > 0 && s.text * 2 < s.non_empty {
            return None;
        }
    }
    None
}

/// How many rows the header spans. Rows covered by header cells merged downwards belong
/// to it; so does a row of names under a band of merged group labels
/// ("Q1" over "Revenue | Cost").
fn header_height(
    rows: &[Vec<Cell>],
    width: usize,
    r: usize,
    merges: &[(usize, usize, usize, usize)],
) -> usize {
    const MAX_HEADER_ROWS: usize = 4;
    let mut height = 1;
    while height < MAX_HEADER_ROWS {
        let Some(next) = rows.get(r + height) else {
            return height;
        };
        // Only a header merged downwards, not data that happens to match, extends it.
        let below = r + height;
        let repeats = next.iter().any(|v| !v.is_empty())
            && next.iter().enumerate().all(|(c, v)| {
                v.is_empty()
                    || merges.iter().any(|&(top, left, bottom, right)| {
                        (r..below).contains(&top) && bottom >= below && (left..=right).contains(&c)
                    })
            });
        if !repeats {
            break;
        }
        height += 1;
    }
    let last = r + height - 1;
    let Some(next) = rows.get(last + 1) else {
        return height;
    };
    let has_group_band = merges
        .iter()
        .any(|&(top, left, bottom, right)| right > left && top == last && bottom == last);
    if height < MAX_HEADER_ROWS && has_group_band {
        let active = (0..width)
            .filter(|&c| !rows[last][c].is_empty() || !next[c].is_empty())
            .count();
        if looks_like_header(next, active) {
            height += 1;
        }
    }
    height
}

/// `""` -> `column_3`, a second `Name` -> `Name_2`, keeping every name distinct.
fn unique_names(names: Vec<String>) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::with_capacity(names.len());
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let base = if name.is_empty() {
            format!("column_{}", i + 1)
        } else {
            name
        };
        let mut candidate = base.clone();
        let mut n = 2;
        while used.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        used.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::SparseCell;
    use crate::ReadLimits;
    use calamine::Dimensions;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn sheet(cells: Vec<SparseCell>, merges: &[Dimensions]) -> Sheet {
        let mut warnings = Vec::new();
        let mut grid = Grid::from_sparse(cells, merges, &ReadLimits::default(), &mut warnings);
        let filled = grid.fill_merged(merges);
        Sheet::from_grid("S".into(), false, grid, filled, warnings)
    }

    #[test]
    fn title_is_skipped_and_header_found() {
        let s = sheet(
            vec![
                (0, 0, t("Customer credit report")),
                (2, 1, t("Customer")),
                (2, 2, t("Credit limit")),
                (2, 3, t("Opened")),
                (3, 1, t("Alice Zhang")),
                (3, 2, Cell::Int(50000)),
                (
                    3,
                    3,
                    Cell::Date(chrono::NaiveDate::from_ymd_opt(2023, 4, 1).unwrap()),
                ),
                (4, 1, t("Bob")),
                (4, 2, Cell::Float(0.1)),
            ],
            &[Dimensions::new((0, 0), (0, 3))],
        );
        assert_eq!(s.header_row, Some(2));
        assert_eq!(s.first_data_row, 4);
        assert_eq!(s.header, ["Customer", "Credit limit", "Opened"]);
        assert_eq!(s.preamble, ["Customer credit report"]);
        assert_eq!(
            s.to_text(),
            "Row 4: Customer: Alice Zhang; Credit limit: 50000; Opened: 2023-04-01\n\
             Row 5: Customer: Bob; Credit limit: 0.1\n"
        );
        assert_eq!(
            s.column_types(),
            [ColumnType::Text, ColumnType::Float, ColumnType::Date]
        );
    }

    #[test]
    fn names_are_unique_and_non_empty() {
        let names = unique_names(vec!["a".into(), "".into(), "a".into(), "a_2".into()]);
        assert_eq!(names, ["a", "column_2", "a_2", "a_2_2"]);
    }

    #[test]
    fn merged_group_band_makes_two_row_header() {
        let s = sheet(
            vec![
                (0, 0, t("Region")),
                (0, 1, t("Q1")),
                (0, 3, t("Q2")),
                (1, 1, t("Revenue")),
                (1, 2, t("Cost")),
                (1, 3, t("Revenue")),
                (1, 4, t("Cost")),
                (2, 0, t("North")),
                (2, 1, Cell::Int(1)),
                (2, 2, Cell::Int(2)),
                (2, 3, Cell::Int(3)),
                (2, 4, Cell::Int(4)),
            ],
            &[
                Dimensions::new((0, 0), (1, 0)),
                Dimensions::new((0, 1), (0, 2)),
                Dimensions::new((0, 3), (0, 4)),
            ],
        );
        assert_eq!(
            s.header,
            [
                "Region",
                "Q1 / Revenue",
                "Q1 / Cost",
                "Q2 / Revenue",
                "Q2 / Cost"
            ]
        );
        assert_eq!(s.first_data_row, 3);
        assert_eq!(s.merged_filled, 3);
        assert_eq!(s.rows.len(), 1);
    }

    #[test]
    fn numeric_only_sheet_gets_generated_names() {
        let s = sheet(
            vec![
                (0, 0, Cell::Int(1)),
                (0, 1, Cell::Int(2)),
                (1, 0, Cell::Int(3)),
            ],
            &[],
        );
        assert_eq!(s.header_row, None);
        assert_eq!(s.header, ["column_1", "column_2"]);
        assert_eq!(s.first_data_row, 1);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(
            s.to_text(),
            "Row 1: column_1: 1; column_2: 2\nRow 2: column_1: 3\n"
        );
    }

    #[test]
    fn note_below_numeric_rows_is_not_a_header() {
        let s = sheet(
            vec![
                (0, 0, Cell::Int(1)),
                (0, 1, Cell::Int(2)),
                (1, 0, Cell::Int(3)),
                (1, 1, Cell::Int(4)),
                (3, 0, t("This sheet holds two numbers per row")),
            ],
            &[],
        );
        assert_eq!(s.header_row, None);
        assert_eq!(s.rows.len(), 4);
    }

    #[test]
    fn empty_sheet_is_empty() {
        let s = Sheet::empty("E".into(), false, Vec::new());
        assert!(s.header.is_empty() && s.rows.is_empty());
        assert_eq!(s.to_text(), "");
        assert!(s.column_types().is_empty());
    }
}
