//! Offline OCR for scanned pages and image files: PP-OCRv4 text detection (DBNet), PP-OCR's
//! 0/180 degree direction classifier and PP-OCRv4 recognition (CTC, Chinese and English),
//! run on the one dynamically loaded ONNX Runtime the embedder uses. Pre- and
//! post-processing follow RapidOCR 1.4.4, whose wheel carries the models (`models.rs`);
//! lines come out grouped into blocks in reading order (`layout.rs`), each with its
//! confidence.

mod det;
mod geometry;
mod image;
pub mod layout;
pub mod models;
mod rec;
#[cfg(feature = "render")]
pub mod render;

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::Tensor;

pub use crate::det::DetSettings;
pub use crate::image::RgbImage;
pub use crate::layout::OcrBlock;
use crate::rec::CharacterTable;

/// Why OCR could not run.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// The model files are absent or not the expected bytes.
    #[error("OCR models not usable: {0} (run `{cmd}`)", cmd = models::FETCH_COMMAND)]
    MissingModels(String),
    #[error(transparent)]
    Runtime(#[from] adopt_embed::LoadError),
    #[error("OCR model {model}: {message}")]
    Model { model: String, message: String },
    #[error("fetching the OCR models: {0}")]
    Fetch(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, OcrError>;

/// One recognised line.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrLine {
    pub text: String,
    /// Mean probability of the recognised characters (0..1).
    pub confidence: f32,
    /// Left, top, right, bottom, in the pixels of the image given.
    pub bounds: [f32; 4],
}

impl OcrLine {
    pub fn height(&self) -> f32 {
        (self.bounds[3] - self.bounds[1]).max(1.0)
    }
}

/// What OCR found on one image.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OcrPage {
    pub blocks: Vec<OcrBlock>,
}

impl OcrPage {
    /// The text: lines of a block on lines of their own, blocks apart by a blank line.
    pub fn text(&self) -> String {
        let blocks: Vec<String> = self.blocks.iter().map(OcrBlock::text).collect();
        blocks.join("\n\n")
    }

    pub fn lines(&self) -> impl Iterator<Item = &OcrLine> {
        self.blocks.iter().flat_map(|b| b.lines.iter())
    }

    /// Mean line confidence weighted by characters; `None` when nothing was read.
    pub fn confidence(&self) -> Option<f32> {
        let (mut sum, mut n) = (0f64, 0usize);
        for line in self.lines() {
            let chars = line.text.chars().count();
            sum += line.confidence as f64 * chars as f64;
            n += chars;
        }
        (n > 0).then(|| (sum / n as f64) as f32)
    }
}

/// Settings of the whole pipeline, RapidOCR's defaults.
#[derive(Debug, Clone, Copy)]
pub struct OcrSettings {
    pub det: DetSettings,
    /// Lines recognised with less confidence are dropped (RapidOCR's `text_score`).
    pub min_line_confidence: f32,
    /// The classifier must be this sure before a line is turned upside down.
    pub cls_thresh: f32,
    /// Lines per classifier / recogniser batch.
    pub batch: usize,
    /// Threads ONNX Runtime uses inside one model call.
    pub threads: usize,
    /// Larger images are scaled down to this longest side first.
    pub max_side_len: usize,
}

impl Default for OcrSettings {
    fn default() -> Self {
        Self {
            det: DetSettings::default(),
            min_line_confidence: 0.5,
            cls_thresh: 0.9,
            batch: 6,
            threads: 1,
            max_side_len: 2000,
        }
    }
}

/// The three loaded models.
pub struct OcrEngine {
    det: Session,
    cls: Session,
    rec: Session,
    table: CharacterTable,
    settings: OcrSettings,
}

impl std::fmt::Debug for OcrEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrEngine")
            .field("characters", &self.table.len())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OcrEngine {
    /// Loads the models in `model_dir` (see [`models::default_model_dir`]) on the ONNX
    /// Runtime `ort_library`, else the one the embedder finds (`$ORT_DYLIB_PATH`, else
    /// `onnxruntime/` beside the model folder).
    pub fn load(
        model_dir: &Path,
        ort_library: Option<&Path>,
        settings: OcrSettings,
    ) -> Result<Self> {
        models::check(model_dir, false).map_err(OcrError::MissingModels)?;
        let library = adopt_embed::find_ort_library(ort_library, model_dir)?;
        let environment = adopt_embed::ort_environment(&library)?;
        let open = |file: &models::ModelFile| -> Result<Session> {
            let fail = |e: ort::Error| OcrError::Model {
                model: file.file.to_string(),
                message: e.to_string(),
            };
            Session::builder(&environment)
                .map_err(fail)?
                .with_intra_threads(settings.threads.max(1))
                .map_err(|e| fail(e.into()))?
                .commit_from_file(model_dir.join(file.file))
                .map_err(fail)
        };
        let det = open(&models::DET)?;
        let cls = open(&models::CLS)?;
        let rec = open(&models::REC)?;
        let list = rec
            .metadata()
            .ok()
            .and_then(|m| m.custom("character"))
            .ok_or_else(|| OcrError::Model {
                model: models::REC.file.into(),
                message: "no `character` list in the model's metadata".into(),
            })?;
        let table = CharacterTable::from_metadata(&list);
        Ok(Self {
            det,
            cls,
            rec,
            table,
            settings,
        })
    }

    /// Loads the models from the default model cache.
    pub fn load_default(settings: OcrSettings) -> Result<Self> {
        Self::load(&models::default_model_dir(), None, settings)
    }

    /// Reads the text on `image`.
    pub fn recognise(&mut self, image: &RgbImage) -> Result<OcrPage> {
        if image.width == 0 || image.height == 0 {
            return Ok(OcrPage::default());
        }
        // RapidOCR's preprocess: cap the longest side, lift a tiny shortest side.
        let (mut work, mut scale_x, mut scale_y) = (image.clone(), 1.0f32, 1.0f32);
        let longest = image.width.max(image.height);
        let shortest = image.width.min(image.height);
        let target = if longest > self.settings.max_side_len {
            Some(self.settings.max_side_len as f32 / longest as f32)
        } else if shortest < 30 {
            Some(30.0 / shortest as f32)
        } else {
            None
        };
        if let Some(ratio) = target {
            let r32 = |v: usize| {
                ((((v as f32 * ratio) as usize) as f32 / 32.0).round() as usize * 32).max(32)
            };
            let (w, h) = (r32(image.width), r32(image.height));
            work = image.resize(w, h);
            scale_x = image.width as f32 / w as f32;
            scale_y = image.height as f32 / h as f32;
        }
        // Letterbox very flat images (a single line) so the detector sees some height.
        let mut pad_top = 0usize;
        if work.height <= 30 || work.width as f32 / work.height as f32 > 8.0 {
            let new_h = ((work.width as f32 / 8.0) as usize).max(30) * 2;
            pad_top = new_h.abs_diff(work.height) / 2;
            work = work.pad_vertically(pad_top, pad_top);
        }

        let boxes = self.detect(&work)?;
        if boxes.is_empty() {
            return Ok(OcrPage::default());
        }
        let crops: Vec<RgbImage> = boxes
            .iter()
            .map(|quad| {
                let w =
                    geometry::dist(quad[0], quad[1]).max(geometry::dist(quad[2], quad[3])) as usize;
                let h =
                    geometry::dist(quad[0], quad[3]).max(geometry::dist(quad[1], quad[2])) as usize;
                let crop = work.crop_quad(quad, w, h);
                if crop.height as f32 / crop.width as f32 >= 1.5 {
                    crop.rotate_90_ccw()
                } else {
                    crop
                }
            })
            .collect();
        let upside_down = self.classify(&crops)?;
        let mut read = self.read_lines(&crops)?;
        self.settle_direction(&crops, &upside_down, &mut read)?;

        let mut lines = Vec::new();
        for (quad, (text, confidence)) in boxes.iter().zip(read) {
            if confidence < self.settings.min_line_confidence || text.trim().is_empty() {
                continue;
            }
            let xs = quad.iter().map(|p| p[0] * scale_x);
            let ys = quad
                .iter()
                .map(|p| (p[1] - pad_top as f32).max(0.0) * scale_y);
            let bounds = [
                xs.clone()
                    .fold(f32::MAX, f32::min)
                    .clamp(0.0, image.width as f32),
                ys.clone()
                    .fold(f32::MAX, f32::min)
                    .clamp(0.0, image.height as f32),
                xs.fold(f32::MIN, f32::max).clamp(0.0, image.width as f32),
                ys.fold(f32::MIN, f32::max).clamp(0.0, image.height as f32),
            ];
            lines.push(OcrLine {
                text,
                confidence,
                bounds,
            });
        }
        Ok(OcrPage {
            blocks: layout::blocks_in_reading_order(lines),
        })
    }

    fn detect(&mut self, image: &RgbImage) -> Result<Vec<[geometry::Point; 4]>> {
        let (w, h, data) = det::preprocess(image, &self.settings.det);
        let probs = run(&mut self.det, &models::DET, [1, 3, h, w], data)?;
        let (shape, map) = probs;
        let (map_h, map_w) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        Ok(det::boxes_from_map(
            &map,
            map_w,
            map_h,
            image.width,
            image.height,
            &self.settings.det,
        ))
    }

    /// The lines the classifier is sure are upside down. PP-OCR's mobile classifier sees a
    /// long line squashed to 192 x 48 and swings past its threshold on a pixel's difference in
    /// the box (measured: 0.56 upright for one English line, 0.97 upside down one pixel
    /// lower), so its verdict is only a candidate: [`Self::settle_direction`] has the
    /// recogniser decide.
    fn classify(&mut self, crops: &[RgbImage]) -> Result<Vec<usize>> {
        let order = by_aspect(crops);
        let mut flipped = Vec::new();
        for batch in order.chunks(self.settings.batch.max(1)) {
            let slot = 3 * rec::CLS_HEIGHT * rec::CLS_WIDTH;
            let mut data = vec![0f32; slot * batch.len()];
            for (k, &i) in batch.iter().enumerate() {
                rec::write_line(
                    &crops[i],
                    rec::CLS_HEIGHT,
                    rec::CLS_WIDTH,
                    &mut data[k * slot..(k + 1) * slot],
                );
            }
            let (_, out) = run(
                &mut self.cls,
                &models::CLS,
                [batch.len(), 3, rec::CLS_HEIGHT, rec::CLS_WIDTH],
                data,
            )?;
            for (k, &i) in batch.iter().enumerate() {
                let (p0, p180) = (out[2 * k], out[2 * k + 1]);
                if p180 > p0 && p180 > self.settings.cls_thresh {
                    flipped.push(i);
                }
            }
        }
        Ok(flipped)
    }

    /// Reads the candidate upside-down lines turned round too and keeps, per line, the
    /// reading the recogniser is surer of.
    fn settle_direction(
        &mut self,
        crops: &[RgbImage],
        candidates: &[usize],
        read: &mut [(String, f32)],
    ) -> Result<()> {
        if candidates.is_empty() {
            return Ok(());
        }
        let turned: Vec<RgbImage> = candidates.iter().map(|&i| crops[i].rotate_180()).collect();
        for (&i, other) in candidates.iter().zip(self.read_lines(&turned)?) {
            if other.1 > read[i].1 {
                read[i] = other;
            }
        }
        Ok(())
    }

    fn read_lines(&mut self, crops: &[RgbImage]) -> Result<Vec<(String, f32)>> {
        let mut out = vec![(String::new(), 0.0); crops.len()];
        let order = by_aspect(crops);
        for batch in order.chunks(self.settings.batch.max(1)) {
            let max_ratio = batch
                .iter()
                .map(|&i| crops[i].width as f32 / crops[i].height as f32)
                .fold(0.0, f32::max);
            let width = rec::batch_width(max_ratio);
            let slot = 3 * rec::REC_HEIGHT * width;
            let mut data = vec![0f32; slot * batch.len()];
            for (k, &i) in batch.iter().enumerate() {
                rec::write_line(
                    &crops[i],
                    rec::REC_HEIGHT,
                    width,
                    &mut data[k * slot..(k + 1) * slot],
                );
            }
            let (shape, probs) = run(
                &mut self.rec,
                &models::REC,
                [batch.len(), 3, rec::REC_HEIGHT, width],
                data,
            )?;
            let (steps, classes) = (shape[1], shape[2]);
            if classes != self.table.len() {
                return Err(OcrError::Model {
                    model: models::REC.file.into(),
                    message: format!(
                        "{classes} output classes but {} characters in its metadata",
                        self.table.len()
                    ),
                });
            }
            for (k, &i) in batch.iter().enumerate() {
                let one = &probs[k * steps * classes..(k + 1) * steps * classes];
                out[i] = self.table.decode(one, classes);
            }
        }
        Ok(out)
    }
}

/// Indices of `crops` from the narrowest to the widest (similar widths batch with little
/// padding, as RapidOCR sorts them).
fn by_aspect(crops: &[RgbImage]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..crops.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = crops[a].width as f32 / crops[a].height as f32;
        let rb = crops[b].width as f32 / crops[b].height as f32;
        ra.total_cmp(&rb)
    });
    order
}

/// Runs `session` on one float tensor; the first output's shape and values.
fn run(
    session: &mut Session,
    file: &models::ModelFile,
    shape: [usize; 4],
    data: Vec<f32>,
) -> Result<(Vec<usize>, Vec<f32>)> {
    let fail = |e: ort::Error| OcrError::Model {
        model: file.file.to_string(),
        message: e.to_string(),
    };
    let input = Tensor::from_array((shape.map(|d| d as i64), data)).map_err(fail)?;
    let outputs = session.run(ort::inputs![input]).map_err(fail)?;
    let (out_shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(fail)?;
    Ok((
        out_shape.iter().map(|&d| d as usize).collect(),
        values.to_vec(),
    ))
}

/// Character error rate of `got` against `expected`: edit distance over characters divided
/// by the expected length (1.0 when nothing expected was read), both sides NFKC-normalised
/// (full-width Latin and digits count as their ASCII forms) with white space dropped
/// ([`CER_NORMALISATION`]). The benchmark scores every engine with this one function.
pub fn character_error_rate(expected: &str, got: &str) -> f64 {
    let a = cer_chars(expected);
    let b = cer_chars(got);
    if a.is_empty() {
        return if b.is_empty() { 0.0 } else { 1.0 };
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()] as f64 / a.len() as f64
}

/// How [`character_error_rate`] normalises both texts, in words.
pub const CER_NORMALISATION: &str = "NFKC, white space dropped";

fn cer_chars(text: &str) -> Vec<char> {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cer_counts_edits_and_ignores_spaces() {
        assert_eq!(character_error_rate("数据 治理", "数据治理"), 0.0);
        assert_eq!(character_error_rate("abcd", "abxd"), 0.25);
        assert_eq!(character_error_rate("abcd", ""), 1.0);
        assert_eq!(character_error_rate("ab", "abcd"), 1.0);
        // Full-width forms are their ASCII selves; CJK punctuation stays itself.
        assert_eq!(character_error_rate("Ｑ３，", "Q3,"), 0.0);
        assert_eq!(character_error_rate("。", "."), 1.0);
    }
}
