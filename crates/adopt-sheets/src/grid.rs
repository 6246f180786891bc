//! From the cells a reader yields to a dense, trimmed grid with merged regions filled.

use calamine::Dimensions;

use std::collections::HashSet;

use crate::cell::Cell;
use crate::ReadLimits;

/// Merged regions up to this many cells may extend the grid beyond its values.
const MAX_MERGE_EXTENT: u64 = 10_000;

/// A cell at an absolute, 0-based (row, column) sheet position.
pub(crate) type SparseCell = (u32, u32, Cell);

/// The used range of a sheet, trimmed to its non-empty cells.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    /// Absolute (row, column) of `rows[0][0]`.
    pub origin: (u32, u32),
    pub width: usize,
    pub rows: Vec<Vec<Cell>>,
    /// Merged regions that were filled, relative to `origin`, as (top, left, bottom, right).
    pub merges: Vec<(usize, usize, usize, usize)>,
}

impl Grid {
    /// Builds the grid from sparse cells, trimming empty margins and capping its area at
    /// `limits.max_cells` (a sheet with one stray cell at XFD1048576 must not allocate
    /// seventeen billion cells).
    ///
    /// A merged region whose top-left holds a value widens the grid to cover it (a label
    /// merged down over rows with no other values still labels them), unless the region
    /// is larger than [`MAX_MERGE_EXTENT`] cells: whole-row title merges must not turn into
    /// 16,384 columns.
    pub fn from_sparse(
        mut cells: Vec<SparseCell>,
        merges: &[Dimensions],
        limits: &ReadLimits,
        warnings: &mut Vec<String>,
    ) -> Grid {
        cells.retain(|(_, _, c)| !c.is_empty());
        let Some(first) = cells.first() else {
            return Grid::default();
        };
        let (mut top, mut left, mut bottom, mut right) = (first.0, first.1, first.0, first.1);
        for &(r, c, _) in &cells {
            top = top.min(r);
            bottom = bottom.max(r);
            left = left.min(c);
            right = right.max(c);
        }
        let small: Vec<&Dimensions> = merges
            .iter()
            .filter(|m| region_area(m).is_some_and(|a| a <= MAX_MERGE_EXTENT))
            .collect();
        if !small.is_empty() {
            let anchors: HashSet<(u32, u32)> = small.iter().map(|m| m.start).collect();
            let valued: HashSet<(u32, u32)> = cells
                .iter()
                .map(|&(r, c, _)| (r, c))
                .filter(|p| anchors.contains(p))
                .collect();
            for m in small.iter().filter(|m| valued.contains(&m.start)) {
                bottom = bottom.max(m.end.0);
                right = right.max(m.end.1);
            }
        }
        let max_cells = limits.max_cells.max(1);
        let mut width = (right - left) as usize + 1;
        let mut height = (bottom - top) as usize + 1;
        if width > max_cells {
            warnings.push(format!(
                "{width} columns exceed the limit of {max_cells} cells (ReadLimits::max_cells); kept the first {max_cells} columns"
            ));
            width = max_cells;
        }
        if height.saturating_mul(width) > max_cells {
            let kept = (max_cells / width).max(1);
            warnings.push(format!(
                "{height} rows x {width} columns = {} cells exceed the limit of {max_cells} (ReadLimits::max_cells); kept the first {kept} rows",
                height.saturating_mul(width)
            ));
            height = kept;
        }
        let mut rows = vec![vec![Cell::Empty; width]; height];
        for (r, c, cell) in cells {
            let (r, c) = ((r - top) as usize, (c - left) as usize);
            if r < height && c < width {
                rows[r][c] = cell;
            }
        }
        Grid {
            origin: (top, left),
            width,
            rows,
            merges: Vec::new(),
        }
    }

    /// Copies each merged region's top-left value into its other cells, which readers
    /// report as empty. Regions are clipped to the grid; returns how many were filled.
    pub fn fill_merged(&mut self, regions: &[Dimensions]) -> usize {
        let height = self.rows.len();
        for region in regions {
            let (r0, c0) = region.start;
            let (r1, c1) = region.end;
            if r1 < r0 || c1 < c0 || r0 < self.origin.0 || c0 < self.origin.1 {
                // A top-left outside the trimmed grid holds no value to spread.
                continue;
            }
            let top = (r0 - self.origin.0) as usize;
            let left = (c0 - self.origin.1) as usize;
            if top >= height || left >= self.width {
                continue;
            }
            let value = self.rows[top][left].clone();
            if value.is_empty() {
                continue;
            }
            let bottom = ((r1 - self.origin.0) as usize).min(height - 1);
            let right = ((c1 - self.origin.1) as usize).min(self.width - 1);
            if bottom == top && right == left {
                continue;
            }
            for row in &mut self.rows[top..=bottom] {
                for cell in &mut row[left..=right] {
                    if cell.is_empty() {
                        *cell = value.clone();
                    }
                }
            }
            self.merges.push((top, left, bottom, right));
        }
        self.merges.len()
    }
}

/// Cells in a region, computed without calamine's u32 arithmetic, which overflows on
/// forged coordinates; `None` for an inverted region.
fn region_area(d: &Dimensions) -> Option<u64> {
    let rows = u64::from(d.end.0).checked_sub(u64::from(d.start.0))? + 1;
    let cols = u64::from(d.end.1).checked_sub(u64::from(d.start.1))? + 1;
    Some(rows * cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn trims_margins_and_fills_merges() {
        let cells = vec![
            (2, 1, text("Region")),
            (2, 2, text("Sales")),
            (3, 1, text("North")),
            (3, 2, Cell::Int(5)),
            (5, 2, Cell::Int(7)),
            (9, 9, Cell::Empty),
        ];
        let mut warnings = Vec::new();
        let merges = [
            Dimensions::new((3, 1), (5, 1)),
            Dimensions::new((0, 0), (1, 1)),
            // Too big to widen the grid: clipped to it instead.
            Dimensions::new((2, 2), (2, 20_000)),
            // A small region below the values widens the grid.
            Dimensions::new((5, 2), (6, 2)),
        ];
        let mut grid = Grid::from_sparse(cells, &merges, &ReadLimits::default(), &mut warnings);
        assert_eq!(grid.origin, (2, 1));
        assert_eq!((grid.rows.len(), grid.width), (5, 2));
        let filled = grid.fill_merged(&merges);
        assert_eq!(filled, 2);
        assert_eq!(grid.rows[2][0], text("North"));
        assert_eq!(grid.rows[3][0], text("North"));
        assert_eq!(grid.rows[2][1], Cell::Empty);
        // Existing values inside a region are kept; the region below copies its anchor.
        assert_eq!(grid.rows[3][1], Cell::Int(7));
        assert_eq!(grid.rows[4][1], Cell::Int(7));
        assert!(warnings.is_empty());
    }

    #[test]
    fn caps_area_and_warns() {
        let cells = vec![(0, 0, Cell::Int(1)), (1_000_000, 3, Cell::Int(2))];
        let mut warnings = Vec::new();
        let grid = Grid::from_sparse(cells, &[], &ReadLimits { max_cells: 100 }, &mut warnings);
        assert_eq!((grid.rows.len(), grid.width), (25, 4));
        assert!(
            warnings[0].contains("kept the first 25 rows"),
            "{warnings:?}"
        );
    }
}
