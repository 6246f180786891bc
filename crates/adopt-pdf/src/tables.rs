//! Table detection: grids drawn with ruling lines, and runs of lines whose words line up in
//! columns. Both yield rows of cell strings and take their words out of the running text, which
//! then gets the table back row by row.

use crate::interpreter::Segment;
use crate::layout::{build_lines, join_words, split_line, Line, Word};
use crate::{PdfTable, TableMethod};

/// A detected table and the page area it covers (display space).
pub(crate) struct TableBlock {
    pub table: PdfTable,
    pub x0: f64,
    pub x1: f64,
    pub top: f64,
    pub bottom: f64,
}

/// Rulings closer than this (points) are the same line; gaps this small are bridged.
const SNAP: f64 = 2.0;
/// Ruling pieces shorter than this are ignored (glyph strokes, rectangle ends).
const MIN_RULING: f64 = 6.0;
/// More rulings than this on one page is artwork, not a table.
const MAX_RULINGS: usize = 4000;
/// Mean words per filled cell above which a "table" is really laid-out prose.
const MAX_WORDS_PER_CELL: f64 = 20.0;

#[derive(Debug, Clone, Copy)]
struct Rule {
    /// Position across the line (y for horizontal rules, x for vertical).
    at: f64,
    lo: f64,
    hi: f64,
}

fn merge_rules(mut rules: Vec<Rule>) -> Vec<Rule> {
    rules.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.lo.total_cmp(&b.lo)));
    // Cluster by position, then merge overlapping extents within a cluster.
    let mut out: Vec<Rule> = Vec::new();
    let mut i = 0;
    while i < rules.len() {
        let mut j = i;
        while j + 1 < rules.len() && rules[j + 1].at - rules[j].at <= SNAP {
            j += 1;
        }
        let mut cluster: Vec<Rule> = rules[i..=j].to_vec();
        let at = cluster.iter().map(|r| r.at).sum::<f64>() / cluster.len() as f64;
        cluster.sort_by(|a, b| a.lo.total_cmp(&b.lo));
        let mut cur: Option<Rule> = None;
        for r in cluster {
            match cur.as_mut() {
                Some(c) if r.lo <= c.hi + SNAP => c.hi = c.hi.max(r.hi),
                _ => {
                    out.extend(cur.take());
                    cur = Some(Rule {
                        at,
                        lo: r.lo,
                        hi: r.hi,
                    });
                }
            }
        }
        out.extend(cur);
        i = j + 1;
    }
    out.retain(|r| r.hi - r.lo >= MIN_RULING);
    out
}

fn cluster_positions(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    let mut out: Vec<f64> = Vec::new();
    for x in v {
        match out.last() {
            Some(&last) if x - last <= SNAP => {}
            _ => out.push(x),
        }
    }
    out
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Index of the band `v` falls into, given sorted boundaries.
fn band(bounds: &[f64], v: f64) -> Option<usize> {
    if bounds.len() < 2 || v < bounds[0] || v > bounds[bounds.len() - 1] {
        return None;
    }
    let i = bounds.partition_point(|&b| b <= v);
    Some(i.saturating_sub(1).min(bounds.len() - 2))
}

/// Turns cells of words into a table, dropping empty rows and columns.
fn make_table(cells: Vec<Vec<Vec<Word>>>, method: TableMethod) -> Option<PdfTable> {
    let ncols = cells.first().map_or(0, Vec::len);
    let mut rows: Vec<Vec<String>> = cells
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| {
                    build_lines(cell)
                        .iter()
                        .map(|l| join_words(&l.words))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        })
        .collect();
    rows.retain(|r: &Vec<String>| r.iter().any(|c| !c.is_empty()));
    let keep: Vec<bool> = (0..ncols)
        .map(|c| rows.iter().any(|r| r.get(c).is_some_and(|s| !s.is_empty())))
        .collect();
    for r in &mut rows {
        let mut k = keep.iter();
        r.retain(|_| k.next().copied().unwrap_or(false));
    }
    let cols = keep.iter().filter(|k| **k).count();
    if rows.len() < 2 || cols < 2 {
        return None;
    }
    let filled: Vec<&String> = rows.iter().flatten().filter(|c| !c.is_empty()).collect();
    let words: usize = filled.iter().map(|c| c.split_whitespace().count()).sum();
    if words as f64 / filled.len().max(1) as f64 > MAX_WORDS_PER_CELL {
        return None;
    }
    Some(PdfTable { rows, method })
}

/// Splits one grid row into one row per text line when several columns hold the same stack of
/// lines: grids that rule only every few rows (colour bands) still give one row per record. A
/// row where a single cell wraps its text stays whole.
fn split_banded_row(row: Vec<Vec<Word>>) -> Vec<Vec<Vec<Word>>> {
    let mut ys: Vec<(f64, f64)> = row.iter().flatten().map(|w| (w.y, w.size)).collect();
    ys.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut baselines: Vec<f64> = Vec::new();
    for (y, size) in ys {
        match baselines.last() {
            Some(&last) if y - last <= 0.5 * size => {}
            _ => baselines.push(y),
        }
    }
    if baselines.len() < 2 {
        return vec![row];
    }
    let line_of = |w: &Word| {
        baselines
            .partition_point(|&b| b <= w.y + 0.5 * w.size)
            .saturating_sub(1)
    };
    let stacked = row
        .iter()
        .filter(|cell| {
            let mut lines: Vec<usize> = cell.iter().map(line_of).collect();
            lines.sort_unstable();
            lines.dedup();
            lines.len() >= 2
        })
        .count();
    if stacked < 2 {
        return vec![row];
    }
    let mut out = vec![vec![Vec::new(); row.len()]; baselines.len()];
    for (c, cell) in row.into_iter().enumerate() {
        for w in cell {
            let l = line_of(&w).min(out.len() - 1);
            out[l][c].push(w);
        }
    }
    out
}

/// Finds ruled tables; returns them and the words not inside any of them.
pub(crate) fn find_ruled(segments: &[Segment], words: Vec<Word>) -> (Vec<TableBlock>, Vec<Word>) {
    let mut h = Vec::new();
    let mut v = Vec::new();
    for s in segments {
        if s.y1 - s.y0 <= 1.0 {
            h.push(Rule {
                at: (s.y0 + s.y1) / 2.0,
                lo: s.x0,
                hi: s.x1,
            });
        } else if s.x1 - s.x0 <= 1.0 {
            v.push(Rule {
                at: (s.x0 + s.x1) / 2.0,
                lo: s.y0,
                hi: s.y1,
            });
        }
    }
    let (h, v) = (merge_rules(h), merge_rules(v));
    if h.len() < 2 || v.len() < 2 || h.len() > MAX_RULINGS || v.len() > MAX_RULINGS {
        return (Vec::new(), words);
    }

    // Connected components of crossing rulings.
    let n = h.len() + v.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for (i, hr) in h.iter().enumerate() {
        for (j, vr) in v.iter().enumerate() {
            if vr.at >= hr.lo - SNAP
                && vr.at <= hr.hi + SNAP
                && hr.at >= vr.lo - SNAP
                && hr.at <= vr.hi + SNAP
            {
                let (a, b) = (find(&mut parent, i), find(&mut parent, h.len() + j));
                parent[a] = b;
            }
        }
    }
    let mut comps: std::collections::BTreeMap<usize, (Vec<f64>, Vec<f64>)> = Default::default();
    for i in 0..n {
        let root = find(&mut parent, i);
        let e = comps.entry(root).or_default();
        if i < h.len() {
            e.1.push(h[i].at);
        } else {
            e.0.push(v[i - h.len()].at);
        }
    }

    let mut words: Vec<Option<Word>> = words.into_iter().map(Some).collect();
    let mut out = Vec::new();
    for (_, (xs, ys)) in comps {
        let (xs, ys) = (cluster_positions(xs), cluster_positions(ys));
        if xs.len() < 3 && ys.len() < 3 || xs.len() < 2 || ys.len() < 2 {
            continue;
        }
        let mut cells: Vec<Vec<Vec<Word>>> = vec![vec![Vec::new(); xs.len() - 1]; ys.len() - 1];
        let mut taken = Vec::new();
        for (k, w) in words.iter().enumerate() {
            let Some(w) = w else { continue };
            if let (Some(c), Some(r)) = (band(&xs, w.center_x()), band(&ys, w.center_y())) {
                cells[r][c].push(w.clone());
                taken.push(k);
            }
        }
        let cells: Vec<Vec<Vec<Word>>> = cells.into_iter().flat_map(split_banded_row).collect();
        if let Some(table) = make_table(cells, TableMethod::Ruled) {
            for k in taken {
                words[k] = None;
            }
            out.push(TableBlock {
                table,
                x0: xs[0],
                x1: xs[xs.len() - 1],
                top: ys[0],
                bottom: ys[ys.len() - 1],
            });
        }
    }
    (out, words.into_iter().flatten().collect())
}

/// Gap (in font sizes) that separates cells of an aligned table.
const CELL_GAP: f64 = 1.0;
/// Consecutive rows further apart than this (in font sizes) end a table.
const MAX_ROW_GAP: f64 = 2.6;
/// Aligned tables hold short cells; prose columns do not.
const MAX_ALIGNED_WORDS_PER_CELL: f64 = 4.0;
const MIN_ALIGNED_ROWS: usize = 3;

/// Gaps (lo, hi) in the union of intervals.
fn union_gaps(mut spans: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut gaps = Vec::new();
    let mut reach = f64::MIN;
    for (lo, hi) in spans {
        if reach > f64::MIN && lo > reach {
            gaps.push((reach, lo));
        }
        reach = reach.max(hi);
    }
    gaps
}

/// Finds tables of aligned columns among lines; returns them and the remaining lines.
pub(crate) fn find_aligned(lines: Vec<Line>) -> (Vec<TableBlock>, Vec<Line>) {
    let pieces: Vec<Vec<Line>> = lines.iter().map(|l| split_line(l, CELL_GAP)).collect();
    let spans =
        |i: usize| -> Vec<(f64, f64)> { pieces[i].iter().map(|p| (p.x0(), p.x1())).collect() };
    let mut used = vec![false; lines.len()];
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if pieces[i].len() < 2 {
            i += 1;
            continue;
        }
        let mut all = spans(i);
        let mut j = i;
        while j + 1 < lines.len()
            && pieces[j + 1].len() >= 2
            && lines[j + 1].y - lines[j].y <= MAX_ROW_GAP * lines[j].size.max(lines[j + 1].size)
        {
            let mut next = all.clone();
            next.extend(spans(j + 1));
            if union_gaps(next.clone()).is_empty() {
                break;
            }
            all = next;
            j += 1;
        }
        let rows = j - i + 1;
        if rows >= MIN_ALIGNED_ROWS {
            let gaps = union_gaps(all);
            let mut bounds: Vec<f64> = vec![f64::MIN];
            bounds.extend(gaps.iter().map(|g| (g.0 + g.1) / 2.0));
            bounds.push(f64::MAX);
            let cells: Vec<Vec<Vec<Word>>> = (i..=j)
                .map(|r| {
                    let mut row = vec![Vec::new(); bounds.len() - 1];
                    for w in &lines[r].words {
                        if let Some(c) = band(&bounds, w.center_x()) {
                            row[c].push(w.clone());
                        }
                    }
                    row
                })
                .collect();
            let words: usize = cells.iter().flatten().map(Vec::len).sum();
            let filled = cells.iter().flatten().filter(|c| !c.is_empty()).count();
            if (words as f64) / (filled.max(1) as f64) <= MAX_ALIGNED_WORDS_PER_CELL {
                if let Some(table) = make_table(cells, TableMethod::Aligned) {
                    let x0 = (i..=j).map(|r| lines[r].x0()).fold(f64::MAX, f64::min);
                    let x1 = (i..=j).map(|r| lines[r].x1()).fold(f64::MIN, f64::max);
                    out.push(TableBlock {
                        table,
                        x0,
                        x1,
                        top: lines[i].y - lines[i].size,
                        bottom: lines[j].y + 0.25 * lines[j].size,
                    });
                    used[i..=j].iter_mut().for_each(|u| *u = true);
                    i = j + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    let rest = lines
        .into_iter()
        .zip(used)
        .filter_map(|(l, u)| (!u).then_some(l))
        .collect();
    (out, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(x0: f64, x1: f64, y: f64, t: &str) -> Word {
        Word {
            x0,
            x1,
            y,
            size: 10.0,
            text: t.into(),
        }
    }

    fn seg(x0: f64, y0: f64, x1: f64, y1: f64) -> Segment {
        Segment { x0, y0, x1, y1 }
    }

    #[test]
    fn ruled_grid_assigns_words() {
        let mut segs = Vec::new();
        for y in [100.0, 120.0, 140.0] {
            segs.push(seg(50.0, y, 250.0, y));
        }
        for x in [50.0, 150.0, 250.0] {
            segs.push(seg(x, 100.0, x, 140.0));
        }
        let words = vec![
            w(60.0, 90.0, 115.0, "Name"),
            w(160.0, 190.0, 115.0, "Age"),
            w(60.0, 90.0, 135.0, "Ann"),
            w(160.0, 170.0, 135.0, "42"),
            w(60.0, 90.0, 300.0, "outside"),
        ];
        let (tables, rest) = find_ruled(&segs, words);
        assert_eq!(tables.len(), 1);
        assert_eq!(
            tables[0].table.rows,
            vec![vec!["Name", "Age"], vec!["Ann", "42"]]
        );
        assert_eq!(rest.len(), 1);
    }

    #[test]
    fn aligned_columns_make_a_table_but_prose_does_not() {
        let mut lines = Vec::new();
        for (r, y) in [100.0, 112.0, 124.0].into_iter().enumerate() {
            lines.push(Line {
                y,
                size: 10.0,
                words: vec![
                    w(50.0, 80.0, y, &format!("a{r}")),
                    w(200.0, 230.0, y, &format!("b{r}")),
                ],
            });
        }
        let (tables, rest) = find_aligned(lines);
        assert_eq!(tables.len(), 1);
        assert!(rest.is_empty());
        assert_eq!(tables[0].table.rows[2], vec!["a2", "b2"]);

        let prose: Vec<Line> = [100.0, 112.0, 124.0]
            .into_iter()
            .map(|y| Line {
                y,
                size: 10.0,
                words: (0..12)
                    .map(|k| {
                        w(
                            50.0 + 20.0 * f64::from(k),
                            66.0 + 20.0 * f64::from(k),
                            y,
                            "word",
                        )
                    })
                    .chain((0..12).map(|k| {
                        w(
                            320.0 + 20.0 * f64::from(k),
                            336.0 + 20.0 * f64::from(k),
                            y,
                            "word",
                        )
                    }))
                    .collect(),
            })
            .collect();
        let (tables, rest) = find_aligned(prose);
        assert!(tables.is_empty());
        assert_eq!(rest.len(), 3);
    }
}
