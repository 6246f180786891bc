//! Reading order: recognised lines grouped into blocks (lines stacked close together that
//! overlap sideways), and blocks ordered by recursive XY cuts (top to bottom across
//! full-width gaps, else left to right across full-height gaps), so two columns are read
//! one after the other rather than line by line across both.

use crate::OcrLine;

/// A block of lines, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrBlock {
    pub lines: Vec<OcrLine>,
    /// Left, top, right, bottom, in image pixels.
    pub bounds: [f32; 4],
}

impl OcrBlock {
    pub fn text(&self) -> String {
        let lines: Vec<&str> = self.lines.iter().map(|l| l.text.as_str()).collect();
        lines.join("\n")
    }
}

/// `lines` (any order) as blocks in reading order.
pub fn blocks_in_reading_order(mut lines: Vec<OcrLine>) -> Vec<OcrBlock> {
    lines.sort_by(|a, b| {
        a.bounds[1]
            .total_cmp(&b.bounds[1])
            .then(a.bounds[0].total_cmp(&b.bounds[0]))
    });
    let mut blocks: Vec<OcrBlock> = Vec::new();
    for line in lines {
        let [l, t, r, _] = line.bounds;
        let h = line.height();
        let target = blocks.iter_mut().rev().find(|block| {
            let last = block.lines.last().expect("a block has lines");
            let [ll, _, lr, lb] = last.bounds;
            let gap = t - lb;
            let overlap = r.min(lr) - l.max(ll);
            let narrower = (r - l).min(lr - ll).max(1.0);
            let similar = h <= last.height() * 1.6 && last.height() <= h * 1.6;
            gap > -0.5 * h
                && gap < 1.0 * h.max(last.height())
                && overlap > 0.3 * narrower
                && similar
        });
        match target {
            Some(block) => {
                block.bounds = union(block.bounds, line.bounds);
                block.lines.push(line);
            }
            None => blocks.push(OcrBlock {
                bounds: line.bounds,
                lines: vec![line],
            }),
        }
    }
    let mut ordered = Vec::with_capacity(blocks.len());
    xy_cut(blocks, &mut ordered);
    ordered
}

fn union(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

fn xy_cut(blocks: Vec<OcrBlock>, out: &mut Vec<OcrBlock>) {
    if blocks.len() <= 1 {
        out.extend(blocks);
        return;
    }
    for axis in [1usize, 0] {
        let groups = split_on_gaps(&blocks, axis);
        if groups.len() > 1 {
            let mut blocks: Vec<Option<OcrBlock>> = blocks.into_iter().map(Some).collect();
            for group in groups {
                let part = group
                    .iter()
                    .map(|&i| blocks[i].take().expect("each once"))
                    .collect();
                xy_cut(part, out);
            }
            return;
        }
    }
    // Overlapping every way: top to bottom.
    let mut blocks = blocks;
    blocks.sort_by(|a, b| a.bounds[1].total_cmp(&b.bounds[1]));
    out.extend(blocks);
}

/// Indices of `blocks` grouped by the gaps along `axis` (1: y, 0: x) that no block spans.
fn split_on_gaps(blocks: &[OcrBlock], axis: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by(|&a, &b| blocks[a].bounds[axis].total_cmp(&blocks[b].bounds[axis]));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut reach = f32::MIN;
    for i in order {
        let (lo, hi) = (blocks[i].bounds[axis], blocks[i].bounds[axis + 2]);
        // A small tolerance: boxes grown by the detector touch across narrow gutters.
        let slack = 0.1
            * (hi - lo)
                .min(blocks[i].bounds[3 - axis] - blocks[i].bounds[1 - axis])
                .abs();
        if groups.is_empty() || lo > reach - slack {
            groups.push(vec![i]);
        } else {
            groups.last_mut().expect("not empty").push(i);
        }
        reach = reach.max(hi);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, l: f32, t: f32, r: f32, b: f32) -> OcrLine {
        OcrLine {
            text: text.into(),
            confidence: 0.9,
            bounds: [l, t, r, b],
        }
    }

    #[test]
    fn two_columns_under_a_title_read_column_by_column() {
        let lines = vec![
            line("R1", 320.0, 100.0, 600.0, 120.0),
            line("L1", 20.0, 100.0, 300.0, 120.0),
            line("L2", 20.0, 130.0, 300.0, 150.0),
            line("R2", 320.0, 130.0, 600.0, 150.0),
            line("Title", 100.0, 20.0, 500.0, 50.0),
            line("Footer", 20.0, 300.0, 600.0, 320.0),
        ];
        let blocks = blocks_in_reading_order(lines);
        let text: Vec<String> = blocks.iter().map(OcrBlock::text).collect();
        assert_eq!(text, vec!["Title", "L1\nL2", "R1\nR2", "Footer"]);
    }

    #[test]
    fn distant_paragraphs_are_separate_blocks() {
        let lines = vec![
            line("a", 20.0, 10.0, 300.0, 30.0),
            line("b", 20.0, 35.0, 300.0, 55.0),
            line("c", 20.0, 120.0, 300.0, 140.0),
        ];
        let blocks = blocks_in_reading_order(lines);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].text(), "a\nb");
    }
}
