//! The one image type the OCR stages pass around, and the two pixel operations they need
//! (resizing, and cutting a rotated text line out of a page), written to sample the way
//! OpenCV's `INTER_LINEAR` does, because PP-OCR's models were trained on OpenCV's pixels.

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
                let (a, b, c, d) = (self.at(x0, y0), self.at(x1, y0), self.at(x0, y1), self.at(x1, y1));
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
    /// straightened to `width` x `height`, sampling bilinearly with edge pixels repeated
    /// outside the image. The mapping is the affine one through three corners, exact for the
    /// rectangles the detector gives.
    pub fn crop_quad(&self, quad: &[[f32; 2]; 4], width: usize, height: usize) -> RgbImage {
        let width = width.max(1);
        let height = height.max(1);
        let [p0, p1, _, p3] = *quad;
        let ux = [(p1[0] - p0[0]) / width as f32, (p1[1] - p0[1]) / width as f32];
        let vy = [(p3[0] - p0[0]) / height as f32, (p3[1] - p0[1]) / height as f32];
        let max_x = (self.width - 1) as f32;
        let max_y = (self.height - 1) as f32;
        let mut pixels = Vec::with_capacity(width * height * 3);
        for v in 0..height {
            for u in 0..width {
                let x = (p0[0] + u as f32 * ux[0] + v as f32 * vy[0]).clamp(0.0, max_x);
                let y = (p0[1] + u as f32 * ux[1] + v as f32 * vy[1]).clamp(0.0, max_y);
                let (x0, y0) = (x.floor() as usize, y.floor() as usize);
                let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
                let (fx, fy) = (x - x0 as f32, y - y0 as f32);
                let (a, b, c, d) = (self.at(x0, y0), self.at(x1, y0), self.at(x0, y1), self.at(x1, y1));
                for ch in 0..3 {
                    let top = a[ch] as f32 * (1.0 - fx) + b[ch] as f32 * fx;
                    let bottom = c[ch] as f32 * (1.0 - fx) + d[ch] as f32 * fx;
                    pixels.push((top * (1.0 - fy) + bottom * fy).round() as u8);
                }
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
            img.resize(4, 1).pixels.chunks(3).map(|p| p[0]).collect::<Vec<_>>(),
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
}
