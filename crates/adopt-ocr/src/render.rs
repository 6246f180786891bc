//! Text drawn into images with a real font, for tests and the benchmark: the "scans" whose
//! text is known, so recognition can be scored. Behind the `render` feature (ab_glyph).

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};

use crate::RgbImage;

/// A CJK font present on Debian with `fonts-wqy-microhei` (what CI installs).
pub const DEFAULT_CJK_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// Loads face 0 of a TrueType file or collection; `None` when it is absent or unreadable.
pub fn load_font(path: &std::path::Path) -> Option<FontVec> {
    let bytes = std::fs::read(path).ok()?;
    FontVec::try_from_vec_and_index(bytes, 0).ok()
}

/// One run of text to draw: its left edge and baseline-top in pixels, and its size.
#[derive(Debug, Clone)]
pub struct TextRun {
    pub text: String,
    pub x: f32,
    pub y: f32,
    pub px: f32,
}

/// Draws black `runs` on a white `width` x `height` page.
pub fn render(font: &FontVec, width: usize, height: usize, runs: &[TextRun]) -> RgbImage {
    let mut gray = vec![255u8; width * height];
    for run in runs {
        let scaled = font.as_scaled(PxScale::from(run.px));
        let mut x = run.x;
        let baseline = run.y + scaled.ascent();
        for c in run.text.chars() {
            let id = font.glyph_id(c);
            let glyph = id.with_scale_and_position(run.px, ab_glyph::point(x, baseline));
            x += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cover| {
                let px = b.min.x as i64 + gx as i64;
                let py = b.min.y as i64 + gy as i64;
                if px >= 0 && py >= 0 && (px as usize) < width && (py as usize) < height {
                    let i = py as usize * width + px as usize;
                    let ink = (cover.clamp(0.0, 1.0) * 255.0) as u8;
                    gray[i] = gray[i].min(255 - ink);
                }
            });
        }
    }
    RgbImage::from_gray(width, height, &gray).expect("sized to fit")
}

/// The advance width of `text` drawn at `px`.
pub fn text_width(font: &FontVec, text: &str, px: f32) -> f32 {
    let scaled = font.as_scaled(PxScale::from(px));
    text.chars()
        .map(|c| scaled.h_advance(font.glyph_id(c)))
        .sum()
}

/// `text` broken into lines no wider than `max_width` at `px`: at spaces where the text has
/// them (English), else between any two characters (Chinese); a word wider than a line is
/// broken inside.
pub fn wrap_text(font: &FontVec, text: &str, px: f32, max_width: f32) -> Vec<String> {
    let scaled = font.as_scaled(PxScale::from(px));
    let advance = |c: char| scaled.h_advance(font.glyph_id(c));
    let mut lines = Vec::new();
    let (mut line, mut width) = (String::new(), 0f32);
    // Pieces that stay together: a word with its trailing space, or one CJK character.
    let mut pieces: Vec<String> = Vec::new();
    for c in text.chars() {
        let joins = c.is_ascii_alphanumeric() || c.is_ascii_punctuation();
        match pieces.last_mut() {
            Some(last) if joins && !last.ends_with(' ') && last.is_ascii() => last.push(c),
            Some(last) if c == ' ' => last.push(c),
            _ => pieces.push(c.to_string()),
        }
    }
    for piece in pieces {
        let piece_width: f32 = piece.chars().map(advance).sum();
        let visible: f32 = piece.trim_end().chars().map(advance).sum();
        if width + visible > max_width && !line.is_empty() {
            lines.push(line.trim_end().to_string());
            line.clear();
            width = 0.0;
        }
        if visible > max_width {
            for c in piece.chars() {
                if width + advance(c) > max_width && !line.is_empty() {
                    lines.push(line.trim_end().to_string());
                    line.clear();
                    width = 0.0;
                }
                line.push(c);
                width += advance(c);
            }
            continue;
        }
        if line.is_empty() && piece.starts_with(' ') {
            continue;
        }
        line.push_str(&piece);
        width += piece_width;
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// Lines stacked from the top-left with `px` glyphs and 1.6 line spacing, on a page just
/// large enough (plus a margin).
pub fn render_lines(font: &FontVec, lines: &[&str], px: f32) -> RgbImage {
    let margin = px * 1.5;
    let widest = lines
        .iter()
        .map(|l| text_width(font, l, px))
        .fold(0.0, f32::max);
    let runs: Vec<TextRun> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| TextRun {
            text: l.to_string(),
            x: margin,
            y: margin + i as f32 * px * 1.6,
            px,
        })
        .collect();
    let width = (widest + 2.0 * margin).ceil() as usize;
    let height = (2.0 * margin + lines.len() as f32 * px * 1.6).ceil() as usize;
    render(font, width, height, &runs)
}
