//! Line images into model input (direction classifier and recogniser share the resizing:
//! height fixed, width by aspect ratio, zero padding on the right), and CTC greedy decoding
//! of the recogniser's output over the model's own character list.

use crate::image::RgbImage;

/// The recogniser's input height; its width is at least `48 * 320 / 48`.
pub const REC_HEIGHT: usize = 48;
pub const REC_MIN_WIDTH: usize = 320;
/// The direction classifier's input.
pub const CLS_HEIGHT: usize = 48;
pub const CLS_WIDTH: usize = 192;

/// Writes `line` resized to `height` (width from its aspect ratio, at most `plane_width`)
/// into a zeroed CHW slot of `3 * height * plane_width` floats.
pub(crate) fn write_line(line: &RgbImage, height: usize, plane_width: usize, out: &mut [f32]) {
    let ratio = line.width as f32 / line.height as f32;
    let want = (height as f32 * ratio).ceil() as usize;
    let width = want.clamp(1, plane_width);
    let resized = line.resize(width, height);
    resized.write_normalised_bgr(out, plane_width);
}

/// The recogniser's input width for a batch whose widest line has `max_wh_ratio`.
pub(crate) fn batch_width(max_wh_ratio: f32) -> usize {
    let ratio = max_wh_ratio.max(REC_MIN_WIDTH as f32 / REC_HEIGHT as f32);
    (REC_HEIGHT as f32 * ratio) as usize
}

/// The decoding table: index 0 is CTC's blank, then the model's characters, then a space.
#[derive(Debug, Clone)]
pub(crate) struct CharacterTable {
    chars: Vec<String>,
}

impl CharacterTable {
    /// From the model's `character` metadata (one character a line).
    pub fn from_metadata(list: &str) -> Self {
        let mut chars = vec![String::new()];
        // As Python's `splitlines()`, which RapidOCR reads it with.
        chars.extend(list.lines().map(str::to_string));
        chars.push(" ".to_string());
        Self { chars }
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Greedy CTC over one line's `steps` x `classes` probabilities: the best class per
    /// step, repeats merged, blanks dropped; the text and the mean probability of the kept
    /// steps (0 for an empty line).
    pub fn decode(&self, probs: &[f32], classes: usize) -> (String, f32) {
        let mut text = String::new();
        let mut confidence = Vec::new();
        let mut previous = usize::MAX;
        for step in probs.chunks_exact(classes) {
            let (best, p) = step
                .iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f32::MIN),
                    |acc, (i, p)| if p > acc.1 { (i, p) } else { acc },
                );
            if best != previous && best != 0 {
                if let Some(c) = self.chars.get(best) {
                    text.push_str(c);
                }
                confidence.push(p);
            }
            previous = best;
        }
        let mean = if confidence.is_empty() {
            0.0
        } else {
            confidence.iter().sum::<f32>() / confidence.len() as f32
        };
        (text, mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let table = CharacterTable::from_metadata("a\nb\nc");
        assert_eq!(table.len(), 5); // blank, a, b, c, space
        let one_hot = |i: usize, p: f32| {
            let mut v = vec![(1.0 - p) / 4.0; 5];
            v[i] = p;
            v
        };
        let probs: Vec<f32> = [(1, 0.9), (1, 0.8), (0, 0.99), (1, 0.7), (4, 0.6), (3, 0.5)]
            .iter()
            .flat_map(|&(i, p)| one_hot(i, p))
            .collect();
        let (text, conf) = table.decode(&probs, 5);
        assert_eq!(text, "aa c");
        assert!(
            (conf - (0.9 + 0.7 + 0.6 + 0.5) / 4.0).abs() < 1e-6,
            "{conf}"
        );
        assert_eq!(table.decode(&one_hot(0, 0.9), 5), (String::new(), 0.0));
    }

    #[test]
    fn batch_width_grows_with_the_widest_line() {
        assert_eq!(batch_width(1.0), 320);
        assert_eq!(batch_width(10.0), 480);
    }
}
