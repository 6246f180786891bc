//! Text detection: PP-OCRv4's DBNet. The page is resized so its shorter side is 736 pixels
//! (both sides multiples of 32), the model gives a text-probability map, and each connected
//! region above the threshold becomes a rotated box, scored, grown ("unclipped") and scaled
//! back. Thresholds are RapidOCR 1.4.4's `config.yaml`.

use crate::geometry::{self, Point, RotatedRect};
use crate::image::RgbImage;

/// DBNet's settings, RapidOCR's defaults.
#[derive(Debug, Clone, Copy)]
pub struct DetSettings {
    /// The shorter side is scaled up to this.
    pub limit_side_len: usize,
    /// Pixel probability that counts as text.
    pub thresh: f32,
    /// Mean probability a box needs to be kept.
    pub box_thresh: f32,
    pub max_candidates: usize,
    pub unclip_ratio: f32,
}

impl Default for DetSettings {
    fn default() -> Self {
        Self {
            limit_side_len: 736,
            thresh: 0.3,
            box_thresh: 0.5,
            max_candidates: 1000,
            unclip_ratio: 1.6,
        }
    }
}

/// The model input for `image`: its size and the normalised BGR planes.
pub(crate) fn preprocess(image: &RgbImage, settings: &DetSettings) -> (usize, usize, Vec<f32>) {
    let (h, w) = (image.height as f32, image.width as f32);
    let short = h.min(w);
    let ratio = if short < settings.limit_side_len as f32 {
        settings.limit_side_len as f32 / short
    } else {
        1.0
    };
    let round32 = |v: f32| (((v.trunc() / 32.0).round() as usize) * 32).max(32);
    let (rh, rw) = (round32(h * ratio), round32(w * ratio));
    let resized = image.resize(rw, rh);
    let mut data = vec![0f32; 3 * rw * rh];
    resized.write_normalised_bgr(&mut data, rw);
    (rw, rh, data)
}

/// Boxes from the probability map `prob` (`map_w` x `map_h`), in the coordinates of an
/// image `dest_w` x `dest_h`, corners top-left, top-right, bottom-right, bottom-left.
pub(crate) fn boxes_from_map(
    prob: &[f32],
    map_w: usize,
    map_h: usize,
    dest_w: usize,
    dest_h: usize,
    settings: &DetSettings,
) -> Vec<[Point; 4]> {
    let on: Vec<bool> = prob.iter().map(|&p| p > settings.thresh).collect();
    // cv2.dilate with a 2x2 kernel: a pixel is set when it or its left, upper or upper-left
    // neighbour is.
    let mut mask = vec![false; on.len()];
    for y in 0..map_h {
        for x in 0..map_w {
            let i = y * map_w + x;
            mask[i] = on[i]
                || (x > 0 && on[i - 1])
                || (y > 0 && on[i - map_w])
                || (x > 0 && y > 0 && on[i - map_w - 1]);
        }
    }
    let mut boxes = Vec::new();
    for region in regions(&mask, map_w, map_h)
        .into_iter()
        .take(settings.max_candidates)
    {
        let Some(rect) = geometry::min_area_rect(region) else {
            continue;
        };
        if rect.shorter_side() < 3.0 {
            continue;
        }
        if box_score(prob, map_w, map_h, &rect.corners) < settings.box_thresh {
            continue;
        }
        let area = rect.width * rect.height;
        let perimeter = 2.0 * (rect.width + rect.height);
        let grown: RotatedRect = rect.grown(area * settings.unclip_ratio / perimeter);
        if grown.shorter_side() < 5.0 {
            continue;
        }
        let sx = dest_w as f32 / map_w as f32;
        let sy = dest_h as f32 / map_h as f32;
        let scaled = grown.corners.map(|[x, y]| {
            [
                (x * sx).round().clamp(0.0, dest_w as f32),
                (y * sy).round().clamp(0.0, dest_h as f32),
            ]
        });
        // filter_tag_det_res: order, clip to the image, drop slivers.
        let clipped = geometry::order_clockwise(scaled).map(|[x, y]| {
            [
                x.clamp(0.0, (dest_w - 1) as f32).trunc(),
                y.clamp(0.0, (dest_h - 1) as f32).trunc(),
            ]
        });
        let bw = geometry::dist(clipped[0], clipped[1]) as usize;
        let bh = geometry::dist(clipped[0], clipped[3]) as usize;
        if bw <= 3 || bh <= 3 {
            continue;
        }
        boxes.push(clipped);
    }
    sort_boxes(&mut boxes);
    boxes
}

/// The outline points of each 8-connected region of `mask`: for every row of a region its
/// leftmost and rightmost pixel, enough for the convex hull.
fn regions(mask: &[bool], w: usize, h: usize) -> Vec<Vec<Point>> {
    let mut label = vec![u32::MAX; mask.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || label[start] != u32::MAX {
            continue;
        }
        let id = out.len() as u32;
        label[start] = id;
        stack.push(start);
        // per row: (min x, max x)
        let mut rows: std::collections::BTreeMap<usize, (usize, usize)> = Default::default();
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            let e = rows.entry(y).or_insert((x, x));
            e.0 = e.0.min(x);
            e.1 = e.1.max(x);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if mask[j] && label[j] == u32::MAX {
                        label[j] = id;
                        stack.push(j);
                    }
                }
            }
        }
        let mut pts = Vec::with_capacity(rows.len() * 2);
        for (y, (x0, x1)) in rows {
            pts.push([x0 as f32, y as f32]);
            if x1 != x0 {
                pts.push([x1 as f32, y as f32]);
            }
        }
        out.push(pts);
    }
    out
}

/// Mean probability inside the box (`box_score_fast`).
fn box_score(prob: &[f32], w: usize, h: usize, quad: &[Point; 4]) -> f32 {
    let xs = quad.iter().map(|p| p[0]);
    let ys = quad.iter().map(|p| p[1]);
    let clampi = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi - 1);
    let xmin = clampi(xs.clone().fold(f32::MAX, f32::min).floor(), w);
    let xmax = clampi(xs.fold(f32::MIN, f32::max).ceil(), w);
    let ymin = clampi(ys.clone().fold(f32::MAX, f32::min).floor(), h);
    let ymax = clampi(ys.fold(f32::MIN, f32::max).ceil(), h);
    // fillPoly works on integer vertices.
    let int_quad = quad.map(|[x, y]| [x.trunc(), y.trunc()]);
    let (mut sum, mut n) = (0f64, 0usize);
    for y in ymin..=ymax {
        for x in xmin..=xmax {
            if geometry::inside_convex(&int_quad, [x as f32, y as f32]) {
                sum += prob[y * w + x] as f64;
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64) as f32
    }
}

/// RapidOCR's `sorted_boxes`: by top-left corner, top to bottom, then left to right among
/// boxes whose tops are within 10 pixels.
pub(crate) fn sort_boxes(boxes: &mut [[Point; 4]]) {
    boxes.sort_by(|a, b| {
        a[0][1]
            .total_cmp(&b[0][1])
            .then(a[0][0].total_cmp(&b[0][0]))
    });
    for i in 0..boxes.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            if (boxes[j + 1][0][1] - boxes[j][0][1]).abs() < 10.0
                && boxes[j + 1][0][0] < boxes[j][0][0]
            {
                boxes.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bright_bar_is_one_box_scaled_back() {
        // A 64 x 32 map with a bar at x 10..=40, y 12..=19; the image is twice as large.
        let (w, h) = (64, 32);
        let mut prob = vec![0.0f32; w * h];
        for y in 12..=19 {
            for x in 10..=40 {
                prob[y * w + x] = 0.9;
            }
        }
        let boxes = boxes_from_map(&prob, w, h, 128, 64, &DetSettings::default());
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = boxes[0];
        // Grown by area * 1.6 / perimeter around the dilated region, then doubled.
        assert!(b[0][0] < 20.0 && b[0][1] < 24.0, "{b:?}");
        assert!(b[2][0] > 82.0 && b[2][1] > 40.0, "{b:?}");
        assert!(b[2][1] <= 63.0);
    }

    #[test]
    fn faint_regions_and_specks_are_dropped() {
        let (w, h) = (64, 32);
        let mut prob = vec![0.0f32; w * h];
        for y in 5..=8 {
            for x in 5..=30 {
                prob[y * w + x] = 0.35; // above thresh, below box_thresh
            }
        }
        prob[20 * w + 50] = 0.99; // one pixel
        assert!(boxes_from_map(&prob, w, h, 64, 32, &DetSettings::default()).is_empty());
    }

    #[test]
    fn boxes_on_one_row_read_left_to_right() {
        let mk = |x: f32, y: f32| [[x, y], [x + 5.0, y], [x + 5.0, y + 5.0], [x, y + 5.0]];
        let mut boxes = vec![mk(50.0, 3.0), mk(10.0, 8.0), mk(0.0, 40.0)];
        sort_boxes(&mut boxes);
        assert_eq!(boxes[0][0], [10.0, 8.0]);
        assert_eq!(boxes[1][0], [50.0, 3.0]);
        assert_eq!(boxes[2][0], [0.0, 40.0]);
    }
}
