//! The one image type the OCR stages pass around, and the two pixel operations they need
//! (resizing, and cutting a rotated text line out of a page), written to sample the way
//! OpenCV's `INTER_LINEAR` (resizing) and `INTER_CUBIC` (line crops) do, because PP-OCR's
//! models were trained on OpenCV's pixels.

/// An 8-bit RGB image, rows top to bottom, three bytes a pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// An image of `width` x `height` filled with `rgb`.
    pub fn filled(width: usize, height: usize, rgb: [u8; 3]) -> Self {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            pixels.extend_from_slice(&rgb);
        }
        Self {
            width,
            height,
            pixels,
        }
    }

    /// From RGB bytes; `None` when their length is not `width * height * 3`.
    pub fn from_rgb(width: usize, height: usize, pixels: Vec<u8>) -> Option<Self> {
        (pixels.len() == width * height * 3).then_some(Self {
            width,
            height,
            pixels,
        })
    }

    /// From one byte a pixel (0 black, 255 white).
    pub fn from_gray(width: usize, height: usize, gray: &[u8]) -> Option<Self> {
        if gray.len() != width * height {
            return None;
        }
        let pixels = gray.iter().flat_map(|&g| [g, g, g]).collect();
        Some(Self {
            width,
            height,
            pixels,
        })
    }

    fn at(&self, x: usize, y: usize) -> &[u8] {
        let i = (y * self.width + x) * 3;
        &self.pixels[i..i + 3]
    }

    /// Bilinear resize with OpenCV's pixel-centre convention (no antialiasing, as
    /// `cv2.resize(..., INTER_LINEAR)`).
    pub fn resize(&self, width: usize, height: usize) -> RgbImage {
        let width = width.max(1);
        let height = height.max(1);
        if width == self.width && height == self.height {
            return self.clone();
        }
        let sx = self.width as f32 / width as f32;
        let sy = self.height as f32 / height as f32;
        let taps = |d: usize, scale: f32, len: usize| {
            let f = ((d as f32 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (f.floor() as usize).min(len - 1);
            let i1 = (i0 + 1).min(len - 1);
            (i0, i1, f - i0 as f32)
        };
        let xs: Vec<_> = (0..width).map(|x| taps(x, sx, self.width)).collect();
        let mut pixels = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            let (y0, y1, fy) = taps(y, sy, self.height);
            for &(x0, x1, fx) in &xs {
                let (a, b, c, d) = (
                    self.at(x0, y0),
                    self.at(x1, y0),
                    self.at(x0, y1),
                    self.at(x1, y1),
                );
                for ch in 0..3 {
                    let top = a[ch] as f32 * (1.0 - fx) + b[ch] as f32 * fx;
                    let bottom = c[ch] as f32 * (1.0 - fx) + d[ch] as f32 * fx;
                    let v = top * (1.0 - fy) + bottom * fy;
                    pixels.push(v.round().clamp(0.0, 255.0) as u8);
                }
            }
        }
        RgbImage {
            width,
            height,
            pixels,
        }
    }

    /// Pads `top` and `bottom` rows of black (RapidOCR's letterbox for very flat images).
    pub fn pad_vertically(&self, top: usize, bottom: usize) -> RgbImage {
        let row = self.width * 3;
        let mut pixels = vec![0u8; row * top];
        pixels.extend_from_slice(&self.pixels);
        pixels.resize(pixels.len() + row * bottom, 0);
        RgbImage {
            width: self.width,
            height: self.height + top + bottom,
            pixels,
        }
    }

    /// The quadrilateral `quad` (top-left, top-right, bottom-right, bottom-left) cut out and
    /// straightened to `width` x `height` as RapidOCR does it: the perspective transform
    /// taking the output's corners `(0,0) (w,0) (w,h) (0,h)` to the quad's, sampled bicubically
    /// with edge pixels repeated outside the image (`cv2.warpPerspective(..., INTER_CUBIC,
    /// BORDER_REPLICATE)`, its 1/32-pixel sample positions included). Bilinear sampling here
    /// blurred thin strokes and cost spaces and small punctuation.
    pub fn crop_quad(&self, quad: &[[f32; 2]; 4], width: usize, height: usize) -> RgbImage {
        let width = width.max(1);
        let height = height.max(1);
        let warp = UnitSquareToQuad::new(quad);
        let (w, h) = (width as f64, height as f64);
        let (max_x, max_y) = (self.width as i64 - 1, self.height as i64 - 1);
        let mut pixels = Vec::with_capacity(width * height * 3);
        for v in 0..height {
            for u in 0..width {
                let (x, y) = warp.map(u as f64 / w, v as f64 / h);
                // OpenCV rounds the source position to 1/32 of a pixel.
                let (qx, qy) = ((x * 32.0).round() as i64, (y * 32.0).round() as i64);
                let (ix, iy) = (qx.div_euclid(32), qy.div_euclid(32));
                let wx = cubic_weights(qx.rem_euclid(32) as f32 / 32.0);
                let wy = cubic_weights(qy.rem_euclid(32) as f32 / 32.0);
                let mut acc = [0f32; 3];
                for (j, wyj) in wy.iter().enumerate() {
                    let sy = (iy - 1 + j as i64).clamp(0, max_y) as usize;
                    for (i, wxi) in wx.iter().enumerate() {
                        let sx = (ix - 1 + i as i64).clamp(0, max_x) as usize;
                        let p = self.at(sx, sy);
                        let k = wxi * wyj;
                        for ch in 0..3 {
                            acc[ch] += p[ch] as f32 * k;
                        }
                    }
                }
                pixels.extend(acc.map(|a| a.round().clamp(0.0, 255.0) as u8));
            }
        }
        RgbImage {
            width,
            height,
            pixels,
        }
    }

    /// Turned a quarter counter-clockwise (`np.rot90`).
    pub fn rotate_90_ccw(&self) -> RgbImage {
        let (w, h) = (self.height, self.width);
        let mut pixels = Vec::with_capacity(self.pixels.len());
        for y in 0..h {
            for x in 0..w {
                pixels.extend_from_slice(self.at(self.width - 1 - y, x));
            }
        }
        RgbImage {
            width: w,
            height: h,
            pixels,
        }
    }

    /// Turned upside down.
    pub fn rotate_180(&self) -> RgbImage {
        let mut pixels = Vec::with_capacity(self.pixels.len());
        for chunk in self.pixels.chunks_exact(3).rev() {
            pixels.extend_from_slice(chunk);
        }
        RgbImage {
            width: self.width,
            height: self.height,
            pixels,
        }
    }

    /// CHW float planes in B, G, R order (PP-OCR models take OpenCV's BGR), each value
    /// `(v / 255 - 0.5) / 0.5`, written into `out` (len `3 * plane_width * height`) with the
    /// image in the left `self.width` columns of each plane.
    pub(crate) fn write_normalised_bgr(&self, out: &mut [f32], plane_width: usize) {
        let plane = plane_width * self.height;
        for y in 0..self.height {
            for x in 0..self.width.min(plane_width) {
                let p = self.at(x, y);
                for (c, &v) in [p[2], p[1], p[0]].iter().enumerate() {
                    out[c * plane + y * plane_width + x] = v as f32 / 127.5 - 1.0;
                }
            }
        }
    }
}

/// OpenCV's cubic convolution weights (a = -0.75) for the four taps around a sample `fx`
/// of the way from its left neighbour.
fn cubic_weights(fx: f32) -> [f32; 4] {
    const A: f32 = -0.75;
    let w0 = ((A * (fx + 1.0) - 5.0 * A) * (fx + 1.0) + 8.0 * A) * (fx + 1.0) - 4.0 * A;
    let w1 = ((A + 2.0) * fx - (A + 3.0)) * fx * fx + 1.0;
    let g = 1.0 - fx;
    let w2 = ((A + 2.0) * g - (A + 3.0)) * g * g + 1.0;
    [w0, w1, w2, 1.0 - w0 - w1 - w2]
}

/// The projective map from the unit square (corners in the quad's order) onto a
/// quadrilateral (Heckbert's closed form; affine when the quad is a parallelogram).
struct UnitSquareToQuad {
    a: f64,
    b: f64,
    c: f64,
    d: f64,
    e: f64,
    f: f64,
    g: f64,
    h: f64,
}

impl UnitSquareToQuad {
    fn new(quad: &[[f32; 2]; 4]) -> Self {
        let [x0, x1, x2, x3] = quad.map(|p| p[0] as f64);
        let [y0, y1, y2, y3] = quad.map(|p| p[1] as f64);
        let (sx, sy) = (x0 - x1 + x2 - x3, y0 - y1 + y2 - y3);
        let (dx1, dx2, dy1, dy2) = (x1 - x2, x3 - x2, y1 - y2, y3 - y2);
        let det = dx1 * dy2 - dx2 * dy1;
        let (g, h) = if (sx == 0.0 && sy == 0.0) || det == 0.0 {
            (0.0, 0.0)
        } else {
            ((sx * dy2 - dx2 * sy) / det, (dx1 * sy - sx * dy1) / det)
        };
        Self {
            a: x1 - x0 + g * x1,
            b: x3 - x0 + h * x3,
            c: x0,
            d: y1 - y0 + g * y1,
            e: y3 - y0 + h * y3,
            f: y0,
            g,
            h,
        }
    }

    fn map(&self, u: f64, v: f64) -> (f64, f64) {
        let w = self.g * u + self.h * v + 1.0;
        let w = if w == 0.0 { 1.0 } else { w };
        (
            (self.a * u + self.b * v + self.c) / w,
            (self.d * u + self.e * v + self.f) / w,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_matches_opencv_on_a_ramp() {
        // cv2.resize(np.array([[0, 100, 200, 255]], np.uint8), (2, 1)) == [[50, 228]]
        let img = RgbImage::from_gray(4, 1, &[0, 100, 200, 255]).unwrap();
        let small = img.resize(2, 1);
        assert_eq!(small.pixels, vec![50, 50, 50, 228, 228, 228]);
        // and up: cv2.resize([[0, 200]], (4, 1)) == [[0, 50, 150, 200]]
        let img = RgbImage::from_gray(2, 1, &[0, 200]).unwrap();
        assert_eq!(
            img.resize(4, 1)
                .pixels
                .chunks(3)
                .map(|p| p[0])
                .collect::<Vec<_>>(),
            vec![0, 50, 150, 200]
        );
    }

    #[test]
    fn rotations_move_the_corner_pixel() {
        let mut img = RgbImage::filled(3, 2, [0, 0, 0]);
        img.pixels[0] = 255; // top-left
        let ccw = img.rotate_90_ccw();
        assert_eq!((ccw.width, ccw.height), (2, 3));
        // top-left goes to bottom-left
        assert_eq!(ccw.at(0, 2)[0], 255);
        let flipped = img.rotate_180();
        assert_eq!(flipped.at(2, 1)[0], 255);
    }

    #[test]
    fn crop_of_an_axis_aligned_box_is_the_sub_image() {
        let gray: Vec<u8> = (0..100).map(|i| i as u8).collect();
        let img = RgbImage::from_gray(10, 10, &gray).unwrap();
        let quad = [[2.0, 3.0], [6.0, 3.0], [6.0, 5.0], [2.0, 5.0]];
        let crop = img.crop_quad(&quad, 4, 2);
        let got: Vec<u8> = crop.pixels.chunks(3).map(|p| p[0]).collect();
        assert_eq!(got, vec![32, 33, 34, 35, 42, 43, 44, 45]);
    }

    #[test]
    fn perspective_map_hits_the_corners_of_a_trapezoid() {
        let quad = [[10.0, 5.0], [50.0, 8.0], [44.0, 30.0], [12.0, 26.0]];
        let warp = UnitSquareToQuad::new(&quad);
        for (uv, p) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
            .iter()
            .zip(quad)
        {
            let (x, y) = warp.map(uv.0, uv.1);
            assert!(
                (x - p[0] as f64).abs() < 1e-9 && (y - p[1] as f64).abs() < 1e-9,
                "{uv:?}"
            );
        }
    }

    #[test]
    fn cubic_weights_sum_to_one_and_interpolate() {
        assert_eq!(cubic_weights(0.0), [0.0, 1.0, 0.0, 0.0]);
        let w = cubic_weights(0.5);
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(
            (w[0] + 0.09375).abs() < 1e-6 && (w[1] - 0.59375).abs() < 1e-6,
            "{w:?}"
        );
    }
}
