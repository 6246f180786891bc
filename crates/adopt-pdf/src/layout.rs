//! Reading order: glyphs -> words -> lines -> segments -> blocks, then a recursive XY-cut over
//! the blocks so that columns are read one after the other.
//!
//! All geometry here is in a glyph's writing frame (x along the text, y downwards); each of the
//! four writing directions is laid out on its own.

use std::collections::HashMap;

use crate::interpreter::{to_frame, Glyph, PageContent, Segment};
use crate::tables::{self, TableBlock};
use crate::PdfTable;

/// A gap wider than this fraction of the font size separates words.
pub(crate) const WORD_GAP: f64 = 0.15;
/// A gap wider than this fraction of the font size splits a line into separate segments
/// (columns, table cells).
const SEGMENT_GAP: f64 = 1.6;

#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub x0: f64,
    pub x1: f64,
    pub y: f64,
    pub size: f64,
    pub text: String,
}

impl Word {
    pub(crate) fn center_x(&self) -> f64 {
        (self.x0 + self.x1) / 2.0
    }
    /// Approximate vertical middle of the glyphs (the baseline is at the bottom).
    pub(crate) fn center_y(&self) -> f64 {
        self.y - self.size * 0.3
    }
}

/// Words sharing a baseline, sorted left to right.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub words: Vec<Word>,
    pub y: f64,
    pub size: f64,
}

impl Line {
    pub(crate) fn x0(&self) -> f64 {
        self.words.first().map_or(0.0, |w| w.x0)
    }
    pub(crate) fn x1(&self) -> f64 {
        self.words.iter().map(|w| w.x1).fold(f64::MIN, f64::max)
    }
}

/// Joins words of one line, putting a space where the gap between them is wide enough.
pub(crate) fn join_words(words: &[Word]) -> String {
    let mut out = String::new();
    let mut prev: Option<&Word> = None;
    for w in words {
        if let Some(p) = prev {
            let gap = w.x0 - p.x1;
            if gap > WORD_GAP * p.size.min(w.size) {
                out.push(' ');
            }
        }
        out.push_str(&w.text);
        prev = Some(w);
    }
    out
}

/// A rectangle of page text that is read as a unit.
#[derive(Debug, Clone)]
struct Block {
    x0: f64,
    x1: f64,
    top: f64,
    bottom: f64,
    last_y: f64,
    size: f64,
    lines: Vec<String>,
}

/// Removes glyphs drawn again at (nearly) the same place with the same text: fake bold and
/// shadow effects overprint every character.
fn dedupe<'g>(content: &PageContent, glyphs: Vec<&'g Glyph>) -> Vec<&'g Glyph> {
    const CELL: f64 = 2.0;
    let mut seen: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    let mut kept: Vec<&Glyph> = Vec::with_capacity(glyphs.len());
    for g in glyphs {
        if g.space {
            kept.push(g);
            continue;
        }
        let (cx, cy) = ((g.x0 / CELL).floor() as i64, (g.y / CELL).floor() as i64);
        let text = content.glyph_text(g);
        let tol_x = (0.2 * g.size).clamp(0.5, CELL);
        let tol_y = (0.2 * g.size).clamp(0.5, CELL);
        let mut dup = false;
        'search: for dx in -1..=1 {
            for dy in -1..=1 {
                if let Some(list) = seen.get(&(cx + dx, cy + dy)) {
                    for &k in list {
                        let o: &Glyph = kept[k];
                        if (o.x0 - g.x0).abs() <= tol_x
                            && (o.y - g.y).abs() <= tol_y
                            && content.glyph_text(o) == text
                        {
                            dup = true;
                            break 'search;
                        }
                    }
                }
            }
        }
        if !dup {
            seen.entry((cx, cy)).or_default().push(kept.len());
            kept.push(g);
        }
    }
    kept
}

/// Groups glyphs into words, following the content stream order (usually reading order within
/// a line); anything out of order simply starts a new word and is re-sorted by the line step.
fn build_words(content: &PageContent, glyphs: &[&Glyph]) -> Vec<Word> {
    let mut words = Vec::new();
    let mut cur: Option<Word> = None;
    for g in glyphs {
        if g.space {
            if let Some(w) = cur.take() {
                words.push(w);
            }
            continue;
        }
        let text = content.glyph_text(g);
        if let Some(w) = cur.as_mut() {
            let size = w.size.max(g.size);
            let gap = g.x0 - w.x1;
            let ratio = g.size / w.size;
            // Sub- and superscripts shift the baseline but stay in the word.
            if (g.y - w.y).abs() <= 0.4 * size
                && gap > -0.5 * size
                && gap <= WORD_GAP * size
                && (0.6..1.67).contains(&ratio)
            {
                w.text.push_str(text);
                w.x1 = w.x1.max(g.x1);
                w.size = size;
                continue;
            }
            words.push(cur.take().unwrap_or_else(|| unreachable!()));
        }
        cur = Some(Word {
            x0: g.x0,
            x1: g.x1,
            y: g.y,
            size: g.size,
            text: text.to_string(),
        });
    }
    words.extend(cur);
    words
}

/// Sorts words into lines by baseline.
pub(crate) fn build_lines(mut words: Vec<Word>) -> Vec<Line> {
    words.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x0.total_cmp(&b.x0)));
    let mut lines: Vec<Line> = Vec::new();
    for w in words {
        if let Some(line) = lines.last_mut() {
            if (w.y - line.y).abs() <= 0.5 * line.size.max(w.size).min(2.0 * line.size.min(w.size))
            {
                line.size = line.size.max(w.size);
                line.words.push(w);
                continue;
            }
        }
        lines.push(Line {
            y: w.y,
            size: w.size,
            words: vec![w],
        });
    }
    for line in &mut lines {
        line.words.sort_by(|a, b| a.x0.total_cmp(&b.x0));
    }
    lines
}

/// Splits a line where the horizontal gap is wide: each piece belongs to one column or cell.
pub(crate) fn split_line(line: &Line, gap_factor: f64) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    for w in &line.words {
        if let Some(seg) = out.last_mut() {
            let prev_x1 = seg.x1();
            if w.x0 - prev_x1 <= gap_factor * seg.size.max(w.size) {
                seg.size = seg.size.max(w.size);
                seg.words.push(w.clone());
                continue;
            }
        }
        out.push(Line {
            y: w.y,
            size: w.size,
            words: vec![w.clone()],
        });
    }
    out
}

fn build_blocks(segments: Vec<Line>) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    for seg in segments {
        let (x0, x1) = (seg.x0(), seg.x1());
        let size = seg.size;
        let tol = 1.5 * size;
        // The nearest block above that overlaps horizontally; only it may continue.
        let mut best: Option<(usize, f64)> = None;
        for (i, b) in blocks.iter().enumerate().rev() {
            let dy = seg.y - b.last_y;
            if dy < 0.3 * size || b.x1.min(x1) - b.x0.max(x0) <= 0.0 {
                continue;
            }
            if best.is_none_or(|(_, d)| dy < d) {
                best = Some((i, dy));
            }
            if seg.y - b.bottom > 4.0 * size && i + 64 < blocks.len() {
                break;
            }
        }
        let text = join_words(&seg.words);
        if let Some((i, dy)) = best {
            let b = &mut blocks[i];
            let ratio = size / b.size;
            let inside = x0 >= b.x0 - tol && x1 <= b.x1 + tol;
            let widens = b.lines.len() == 1 && b.x0 >= x0 - tol && b.x1 <= x1 + tol;
            if dy <= 1.8 * size.max(b.size) && (0.7..1.43).contains(&ratio) && (inside || widens) {
                b.x0 = b.x0.min(x0);
                b.x1 = b.x1.max(x1);
                b.bottom = b.bottom.max(seg.y + 0.25 * size);
                b.last_y = seg.y;
                b.lines.push(text);
                continue;
            }
        }
        blocks.push(Block {
            x0,
            x1,
            top: seg.y - 0.8 * size,
            bottom: seg.y + 0.25 * size,
            last_y: seg.y,
            size,
            lines: vec![text],
        });
    }
    blocks
}

/// Orders blocks by recursive XY-cut: split at vertical gaps (columns) first, then horizontal.
fn xy_cut(blocks: &[Block], idx: Vec<usize>, depth: usize, out: &mut Vec<usize>) {
    if idx.len() <= 1 || depth > 64 {
        let mut idx = idx;
        idx.sort_by(|&a, &b| {
            blocks[a]
                .top
                .total_cmp(&blocks[b].top)
                .then(blocks[a].x0.total_cmp(&blocks[b].x0))
        });
        out.extend(idx);
        return;
    }
    // Columns: gaps in the projection on the x axis.
    let groups = split_by_gaps(&idx, |i| (blocks[i].x0, blocks[i].x1), 0.5);
    if groups.len() > 1 {
        for g in groups {
            xy_cut(blocks, g, depth + 1, out);
        }
        return;
    }
    let groups = split_by_gaps(&idx, |i| (blocks[i].top, blocks[i].bottom), 0.0);
    if groups.len() > 1 {
        for g in groups {
            xy_cut(blocks, g, depth + 1, out);
        }
        return;
    }
    xy_cut(blocks, idx, 65, out);
}

fn split_by_gaps(
    idx: &[usize],
    span: impl Fn(usize) -> (f64, f64),
    min_gap: f64,
) -> Vec<Vec<usize>> {
    let mut sorted = idx.to_vec();
    sorted.sort_by(|&a, &b| span(a).0.total_cmp(&span(b).0));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut reach = f64::MIN;
    for i in sorted {
        let (lo, hi) = span(i);
        if groups.is_empty() || lo > reach + min_gap {
            groups.push(vec![i]);
        } else if let Some(g) = groups.last_mut() {
            g.push(i);
        }
        reach = reach.max(hi);
    }
    groups
}

/// Lays out one page: its text in reading order and the tables found on it.
pub(crate) fn layout_page(content: &PageContent) -> (String, Vec<PdfTable>) {
    let mut text = String::new();
    let mut tables_out = Vec::new();
    for rot in 0..4u8 {
        let glyphs: Vec<&Glyph> = content.glyphs.iter().filter(|g| g.rot == rot).collect();
        if glyphs.is_empty() {
            continue;
        }
        let glyphs = dedupe(content, glyphs);
        let words = build_words(content, &glyphs);

        let mut table_blocks: Vec<TableBlock> = Vec::new();
        let segments: Vec<Segment> = content
            .segments
            .iter()
            .map(|s| {
                let (ax, ay) = to_frame(rot, (s.x0, s.y0));
                let (bx, by) = to_frame(rot, (s.x1, s.y1));
                Segment {
                    x0: ax.min(bx),
                    y0: ay.min(by),
                    x1: ax.max(bx),
                    y1: ay.max(by),
                }
            })
            .collect();
        let (found, words) = tables::find_ruled(&segments, words);
        table_blocks.extend(found);
        let (found, lines) = tables::find_aligned(build_lines(words));
        table_blocks.extend(found);

        let segments: Vec<Line> = lines
            .iter()
            .flat_map(|l| split_line(l, SEGMENT_GAP))
            .collect();
        let mut blocks = build_blocks(segments);
        for t in &table_blocks {
            blocks.push(Block {
                x0: t.x0,
                x1: t.x1,
                top: t.top,
                bottom: t.bottom,
                last_y: t.bottom,
                size: 0.0,
                lines: t.table.rows.iter().map(|r| r.join("\t")).collect(),
            });
        }
        tables_out.extend(table_blocks.into_iter().map(|t| t.table));

        let mut order = Vec::with_capacity(blocks.len());
        xy_cut(&blocks, (0..blocks.len()).collect(), 0, &mut order);
        for i in order {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&blocks[i].lines.join("\n"));
        }
    }
    (text, tables_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(x0: f64, x1: f64, y: f64, text: &str) -> Word {
        Word {
            x0,
            x1,
            y,
            size: 10.0,
            text: text.into(),
        }
    }

    #[test]
    fn two_columns_read_in_order() {
        let mut words = Vec::new();
        for row in 0..5 {
            let y = 100.0 + 12.0 * f64::from(row);
            words.push(word(50.0, 250.0, y, &format!("left{row}")));
            words.push(word(300.0, 500.0, y, &format!("right{row}")));
        }
        let lines = build_lines(words);
        let segs: Vec<Line> = lines
            .iter()
            .flat_map(|l| split_line(l, SEGMENT_GAP))
            .collect();
        let blocks = build_blocks(segs);
        let mut order = Vec::new();
        xy_cut(&blocks, (0..blocks.len()).collect(), 0, &mut order);
        let text: Vec<String> = order.iter().map(|&i| blocks[i].lines.join(" ")).collect();
        assert_eq!(
            text,
            vec![
                "left0 left1 left2 left3 left4",
                "right0 right1 right2 right3 right4"
            ]
        );
    }

    #[test]
    fn words_join_with_spaces_from_gaps() {
        let words = vec![
            word(0.0, 20.0, 10.0, "Hello"),
            word(23.0, 50.0, 10.0, "world"),
            word(50.2, 55.0, 10.0, "!"),
        ];
        assert_eq!(join_words(&words), "Hello world!");
    }
}
