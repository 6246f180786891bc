//! The images a page draws, decoded to gray pixels and composed into one raster of the page:
//! what OCR reads when a page is a scan. Every filter a scanner or a PDF writer uses for images
//! is decoded here — DCT (JPEG), JPX (JPEG 2000), CCITT G3/G4, JBIG2 (with its globals) and raw
//! samples behind Flate/LZW/RunLength/ASCII filters, in gray, RGB, CMYK, indexed, ICC-based,
//! Separation and DeviceN colour spaces at 1-16 bits — and an image that still cannot be read
//! is named with its encoding.

use lopdf::{Dictionary, Document, Object, Stream};

use crate::interpreter::{ImageUse, Matrix};
use crate::resolve;

/// Decoded images larger than this many pixels are refused (a 600 dpi A3 scan is 70 M).
const MAX_IMAGE_PIXELS: u64 = 120_000_000;

/// A page drawn from its images only: gray, one byte a pixel, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRaster {
    pub width: usize,
    pub height: usize,
    pub gray: Vec<u8>,
}

/// An image drawn on a page, as [`crate::PdfPage::images`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageImage {
    /// Left, top, right, bottom in display points (y down, page rotation applied).
    pub bounds: [f64; 4],
    /// Its size in samples.
    pub pixel_width: u32,
    pub pixel_height: u32,
    /// The stream's filters, e.g. "DCTDecode" or "FlateDecode" ("none" when unfiltered).
    pub encoding: String,
    pub(crate) use_: ImageUse,
}

/// The images of `uses` that exist, with their placement.
pub(crate) fn describe(doc: &Document, uses: &[ImageUse]) -> Vec<PageImage> {
    uses.iter()
        .filter_map(|u| {
            let stream = doc.get_object(u.id).ok()?.as_stream().ok()?;
            let w = resolve::num(doc, &stream.dict, b"Width").unwrap_or(0.0);
            let h = resolve::num(doc, &stream.dict, b"Height").unwrap_or(0.0);
            let corners =
                [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)].map(|(x, y)| u.ctm.apply(x, y));
            let xs = corners.map(|c| c.0);
            let ys = corners.map(|c| c.1);
            let bounds = [
                xs.iter().copied().fold(f64::MAX, f64::min),
                ys.iter().copied().fold(f64::MAX, f64::min),
                xs.iter().copied().fold(f64::MIN, f64::max),
                ys.iter().copied().fold(f64::MIN, f64::max),
            ];
            if !bounds.iter().all(|v| v.is_finite()) {
                return None;
            }
            Some(PageImage {
                bounds,
                pixel_width: w.clamp(0.0, u32::MAX as f64) as u32,
                pixel_height: h.clamp(0.0, u32::MAX as f64) as u32,
                encoding: filter_names(doc, &stream.dict).join("+").to_string(),
                use_: *u,
            })
        })
        .collect()
}

fn filter_names(doc: &Document, dict: &Dictionary) -> Vec<String> {
    let names: Vec<String> = match dict
        .get(b"Filter")
        .ok()
        .and_then(|o| resolve::deref(doc, o))
    {
        Some(Object::Name(n)) => vec![String::from_utf8_lossy(n).into_owned()],
        Some(Object::Array(a)) => a
            .iter()
            .filter_map(|o| resolve::deref(doc, o)?.as_name().ok())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        vec!["none".into()]
    } else {
        names
    }
}

/// A decoded image: gray samples (0 black) and, for an image mask, which pixels paint.
struct Gray {
    width: usize,
    height: usize,
    gray: Vec<u8>,
    /// An `/ImageMask`: only its black pixels are drawn, the rest leaves the page as it is.
    mask: bool,
}

/// Composes the `images` of a page `width` x `height` points into one raster whose longest
/// side is at most `max_side` pixels (and no finer than the images' own resolution). Images
/// that cannot be decoded are skipped with a warning naming their encoding. `None` when no
/// image could be drawn.
pub(crate) fn compose(
    doc: &Document,
    page_size: (f64, f64),
    images: &[PageImage],
    max_side: usize,
    warnings: &mut Vec<String>,
) -> Option<PageRaster> {
    let (pw, ph) = page_size;
    if images.is_empty() || pw <= 0.0 || ph <= 0.0 || max_side == 0 {
        return None;
    }
    let mut decoded = Vec::new();
    for (k, image) in images.iter().enumerate() {
        match decode(doc, image.use_.id) {
            Ok(g) => decoded.push((image, g)),
            Err(why) => warnings.push(format!(
                "image {} ({}, {}x{}) not decoded: {why}",
                k + 1,
                image.encoding,
                image.pixel_width,
                image.pixel_height
            )),
        }
    }
    if decoded.is_empty() {
        return None;
    }
    // Pixels per point: the finest image's own resolution, within what max_side allows.
    let native = decoded
        .iter()
        .map(|(img, g)| {
            let dw = (img.bounds[2] - img.bounds[0]).max(1e-3);
            let dh = (img.bounds[3] - img.bounds[1]).max(1e-3);
            (g.width as f64 / dw).max(g.height as f64 / dh)
        })
        .fold(0.0, f64::max);
    let cap = max_side as f64 / pw.max(ph);
    let scale = native.clamp(1.0, 8.0).min(cap);
    let (cw, ch) = (
        ((pw * scale).round() as usize).max(1),
        ((ph * scale).round() as usize).max(1),
    );
    let mut canvas = vec![255u8; cw * ch];
    for (img, g) in &decoded {
        draw(&mut canvas, cw, ch, scale, img.use_.ctm, g);
    }
    Some(PageRaster {
        width: cw,
        height: ch,
        gray: canvas,
    })
}

/// Draws `g` through `ctm` (its unit square to display points) onto the canvas, sampling
/// bilinearly from the inverse map of each covered canvas pixel.
fn draw(canvas: &mut [u8], cw: usize, ch: usize, scale: f64, ctm: Matrix, g: &Gray) {
    let [a, b, c, d, e, f] = ctm.coefficients();
    let det = a * d - b * c;
    if det.abs() < 1e-12 || g.width == 0 || g.height == 0 {
        return;
    }
    // Inverse of the affine map (row-vector convention).
    let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
    let ie = -(e * ia + f * ic);
    let if_ = -(e * ib + f * id);
    let corners = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)].map(|(x, y)| ctm.apply(x, y));
    let x0 = corners.iter().map(|p| p.0).fold(f64::MAX, f64::min) * scale;
    let x1 = corners.iter().map(|p| p.0).fold(f64::MIN, f64::max) * scale;
    let y0 = corners.iter().map(|p| p.1).fold(f64::MAX, f64::min) * scale;
    let y1 = corners.iter().map(|p| p.1).fold(f64::MIN, f64::max) * scale;
    let xs = (
        x0.floor().max(0.0) as usize,
        (x1.ceil().max(0.0) as usize).min(cw),
    );
    let ys = (
        y0.floor().max(0.0) as usize,
        (y1.ceil().max(0.0) as usize).min(ch),
    );
    let (w, h) = (g.width as f64, g.height as f64);
    for y in ys.0..ys.1 {
        let py = (y as f64 + 0.5) / scale;
        for x in xs.0..xs.1 {
            let px = (x as f64 + 0.5) / scale;
            let u = px * ia + py * ic + ie;
            let v = px * ib + py * id + if_;
            if !(0.0..1.0).contains(&u) || !(0.0..1.0).contains(&v) {
                continue;
            }
            // Image space has row 0 at v = 1.
            let sx = u * w - 0.5;
            let sy = (1.0 - v) * h - 0.5;
            let value = bilinear(g, sx, sy);
            let slot = &mut canvas[y * cw + x];
            if g.mask {
                // Paint where the mask is dark, by how dark (anti-aliased edges).
                *slot = (*slot).min(value);
            } else {
                *slot = value;
            }
        }
    }
}

fn bilinear(g: &Gray, sx: f64, sy: f64) -> u8 {
    let (w, h) = (g.width as isize, g.height as isize);
    let x0 = sx.floor();
    let y0 = sy.floor();
    let (fx, fy) = (sx - x0, sy - y0);
    let at = |x: isize, y: isize| -> f64 {
        let x = x.clamp(0, w - 1) as usize;
        let y = y.clamp(0, h - 1) as usize;
        g.gray[y * g.width + x] as f64
    };
    let (x0, y0) = (x0 as isize, y0 as isize);
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
}

/// Decodes one image XObject to gray.
fn decode(doc: &Document, id: lopdf::ObjectId) -> Result<Gray, String> {
    let stream = doc
        .get_object(id)
        .ok()
        .and_then(|o| o.as_stream().ok())
        .ok_or("not an image stream")?;
    let dict = &stream.dict;
    let width = resolve::num(doc, dict, b"Width").unwrap_or(0.0);
    let height = resolve::num(doc, dict, b"Height").unwrap_or(0.0);
    if !(width >= 1.0 && height >= 1.0) {
        return Err("no width or height".into());
    }
    let (width, height) = (width as usize, height as usize);
    if width as u64 * height as u64 > MAX_IMAGE_PIXELS {
        return Err(format!(
            "{width}x{height} is larger than {MAX_IMAGE_PIXELS} pixels"
        ));
    }
    let mask = matches!(
        dict.get(b"ImageMask")
            .ok()
            .and_then(|o| resolve::deref(doc, o)),
        Some(Object::Boolean(true))
    );
    let filters = filter_names(doc, dict);
    let last = filters.last().map(String::as_str).unwrap_or("none");
    let image_filter = matches!(
        last,
        "DCTDecode" | "DCT" | "JPXDecode" | "CCITTFaxDecode" | "CCF" | "JBIG2Decode"
    );
    // The filters before an image codec (or all of them) are generic byte filters.
    let data = if image_filter {
        if filters.len() == 1 {
            stream.content.clone()
        } else {
            let mut outer = stream.clone();
            strip_last_filter(doc, &mut outer);
            outer
                .decompressed_content_with_limit(resolve::MAX_STREAM_BYTES * 4)
                .map_err(|e| format!("{}: {e}", filters[..filters.len() - 1].join("+")))?
        }
    } else if last == "none" {
        stream.content.clone()
    } else {
        stream
            .decompressed_content_with_limit(resolve::MAX_STREAM_BYTES * 4)
            .map_err(|e| format!("{last}: {e}"))?
    };
    let params = last_params(doc, dict, filters.len());
    let decode_array = resolve::array(doc, dict, b"Decode").map(|a| resolve::numbers(doc, a));
    let gray = match last {
        "DCTDecode" | "DCT" => {
            let mut g = jpeg(&data, width, height)?;
            // An inverted Decode on a gray JPEG ([1 0]).
            if inverted(decode_array.as_deref()) {
                g.iter_mut().for_each(|v| *v = 255 - *v);
            }
            g
        }
        "JPXDecode" => jpx(&data, width, height)?,
        "CCITTFaxDecode" | "CCF" => {
            let black_is_1 = params
                .and_then(|p| p.get(b"BlackIs1").ok())
                .is_some_and(|o| matches!(o, Object::Boolean(true)));
            let bits = ccitt(&data, width, height, params, doc)?;
            // `bits`: true where the fax pixel is black. The sample is 0 for black unless
            // BlackIs1, then Decode (or the mask) says what a sample means.
            bilevel(&bits, black_is_1, decode_array.as_deref())
        }
        "JBIG2Decode" => {
            let globals = params
                .and_then(|p| p.get(b"JBIG2Globals").ok())
                .and_then(|o| resolve::deref(doc, o))
                .and_then(|o| o.as_stream().ok())
                .and_then(resolve::stream_bytes);
            let bits = jbig2(&data, globals.as_deref(), width, height)?;
            // JBIG2Decode yields 0 for black (ISO 32000-1, 7.4.7).
            bilevel(&bits, false, decode_array.as_deref())
        }
        _ => raw(
            doc,
            dict,
            &data,
            width,
            height,
            mask,
            decode_array.as_deref(),
        )?,
    };
    if gray.len() != width * height {
        return Err(format!(
            "decoded {} samples, expected {width}x{height}",
            gray.len()
        ));
    }
    Ok(Gray {
        width,
        height,
        gray,
        mask,
    })
}

/// Drops the last entry of /Filter and /DecodeParms so lopdf applies only the byte filters.
fn strip_last_filter(doc: &Document, s: &mut Stream) {
    if let Some(Object::Array(a)) = s
        .dict
        .get(b"Filter")
        .ok()
        .and_then(|o| resolve::deref(doc, o))
        .cloned()
    {
        let mut a = a;
        a.pop();
        s.dict.set("Filter", Object::Array(a));
    }
    if let Some(Object::Array(a)) = s
        .dict
        .get(b"DecodeParms")
        .ok()
        .and_then(|o| resolve::deref(doc, o))
        .cloned()
    {
        let mut a = a;
        a.pop();
        s.dict.set("DecodeParms", Object::Array(a));
    }
}

/// The /DecodeParms dictionary of the last filter.
fn last_params<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    n_filters: usize,
) -> Option<&'a Dictionary> {
    match dict
        .get(b"DecodeParms")
        .ok()
        .and_then(|o| resolve::deref(doc, o))?
    {
        Object::Dictionary(d) => Some(d),
        Object::Array(a) if a.len() == n_filters => {
            resolve::deref(doc, a.last()?).and_then(resolve::as_dict)
        }
        _ => None,
    }
}

fn inverted(decode: Option<&[f64]>) -> bool {
    decode.is_some_and(|d| d.len() >= 2 && d[0] > d[1])
}

/// Bi-level pixels to gray: `black[i]` is the codec's black pixel.
fn bilevel(black: &[bool], black_is_1: bool, decode: Option<&[f64]>) -> Vec<u8> {
    // Sample bit: 0 for black by default.
    let flip = inverted(decode);
    black
        .iter()
        .map(|&b| {
            let bit = b == black_is_1; // the sample's value
                                       // DeviceGray: 1 is white. ImageMask: sample 0 paints (black), 1 leaves the page
                                       // (drawn as white, composed with min): the same mapping, unless Decode flips it.
            let white = bit ^ flip;
            if white {
                255
            } else {
                0
            }
        })
        .collect()
}

fn jpeg(data: &[u8], width: usize, height: usize) -> Result<Vec<u8>, String> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default()
        .set_max_width(width.max(1) * 2 + 16)
        .set_max_height(height.max(1) * 2 + 16)
        .jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        zune_jpeg::zune_core::bytestream::ZCursor::new(data),
        options,
    );
    let pixels = decoder.decode().map_err(|e| format!("JPEG: {e:?}"))?;
    let info = decoder.info().ok_or("JPEG: no header")?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = decoder
        .output_colorspace()
        .map(|c| c.num_components())
        .unwrap_or(3);
    if pixels.len() != w * h * channels {
        return Err("JPEG: truncated".into());
    }
    let gray = to_gray(&pixels, channels, false);
    Ok(fit(gray, w, h, width, height))
}

fn jpx(data: &[u8], width: usize, height: usize) -> Result<Vec<u8>, String> {
    let settings = hayro_jpeg2000::DecodeSettings::default();
    let image =
        hayro_jpeg2000::Image::new(data, &settings).map_err(|e| format!("JPEG 2000: {e:?}"))?;
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w as u64 * h as u64 > MAX_IMAGE_PIXELS {
        return Err("JPEG 2000: too large".into());
    }
    let alpha = image.has_alpha();
    let cmyk = matches!(image.color_space(), hayro_jpeg2000::ColorSpace::CMYK);
    let mut ctx = hayro_jpeg2000::DecoderContext::default();
    let decoded = image
        .decode(&mut ctx)
        .map_err(|e| format!("JPEG 2000: {e:?}"))?;
    let samples = decoded.data_u8();
    let channels = samples.len() / (w * h).max(1);
    if channels == 0 {
        return Err("JPEG 2000: no samples".into());
    }
    let colour = channels - usize::from(alpha && channels > 1);
    let mut gray = Vec::with_capacity(w * h);
    for px in samples.chunks_exact(channels) {
        gray.push(gray_of(&px[..colour], cmyk));
    }
    Ok(fit(gray, w, h, width, height))
}

/// A decoded size that differs from the dictionary's: the codec's size wins only when the
/// dictionary's cannot be filled; otherwise the image is cropped or padded white.
fn fit(gray: Vec<u8>, w: usize, h: usize, width: usize, height: usize) -> Vec<u8> {
    if w == width && h == height {
        return gray;
    }
    let mut out = vec![255u8; width * height];
    for y in 0..h.min(height) {
        let n = w.min(width);
        out[y * width..y * width + n].copy_from_slice(&gray[y * w..y * w + n]);
    }
    out
}

fn ccitt(
    data: &[u8],
    width: usize,
    height: usize,
    params: Option<&Dictionary>,
    doc: &Document,
) -> Result<Vec<bool>, String> {
    use hayro_ccitt::{DecodeSettings, DecoderContext, EncodingMode};
    let num = |k: &[u8], default: f64| {
        params
            .and_then(|p| resolve::num(doc, p, k))
            .unwrap_or(default)
    };
    let flag = |k: &[u8], default: bool| match params.and_then(|p| p.get(k).ok()) {
        Some(Object::Boolean(b)) => *b,
        _ => default,
    };
    let k = num(b"K", 0.0);
    let columns = num(b"Columns", 1728.0).max(1.0) as usize;
    let rows = num(b"Rows", height as f64).max(0.0) as usize;
    let settings = DecodeSettings {
        columns: columns as u32,
        rows: rows as u32,
        end_of_block: flag(b"EndOfBlock", true),
        end_of_line: flag(b"EndOfLine", false),
        rows_are_byte_aligned: flag(b"EncodedByteAlign", false),
        encoding: if k < 0.0 {
            EncodingMode::Group4
        } else if k == 0.0 {
            EncodingMode::Group3_1D
        } else {
            EncodingMode::Group3_2D
        },
        strict: false,
    };
    struct Rows {
        columns: usize,
        bits: Vec<bool>,
        max: usize,
    }
    impl hayro_ccitt::Decoder for Rows {
        fn push_row(&mut self, changes: &[u32]) {
            if self.bits.len() >= self.max {
                return;
            }
            let start = self.bits.len();
            self.bits.resize(start + self.columns, false);
            let row = &mut self.bits[start..];
            for pair in changes.chunks(2) {
                let from = (pair[0] as usize).min(self.columns);
                let to = pair
                    .get(1)
                    .map_or(self.columns, |&t| (t as usize).min(self.columns));
                row[from..to.max(from)].iter_mut().for_each(|b| *b = true);
            }
        }
    }
    let mut sink = Rows {
        columns,
        bits: Vec::with_capacity(columns * height),
        max: columns * height,
    };
    let mut ctx = DecoderContext::new(settings);
    let result = hayro_ccitt::decode(data, &mut sink, &mut ctx);
    if sink.bits.is_empty() {
        return Err(format!("CCITT: {:?}", result.err()));
    }
    // Rows short of the height (a truncated fax) stay white.
    let mut out = vec![false; width * height];
    let got_rows = sink.bits.len() / columns;
    for y in 0..got_rows.min(height) {
        let n = columns.min(width);
        out[y * width..y * width + n].copy_from_slice(&sink.bits[y * columns..y * columns + n]);
    }
    Ok(out)
}

fn jbig2(
    data: &[u8],
    globals: Option<&[u8]>,
    width: usize,
    height: usize,
) -> Result<Vec<bool>, String> {
    let settings = hayro_jbig2::DecodeSettings::default();
    let globals = match globals {
        Some(g) => Some(
            hayro_jbig2::Globals::new(g, &settings).map_err(|e| format!("JBIG2 globals: {e:?}"))?,
        ),
        None => None,
    };
    let page = hayro_jbig2::Page::new_embedded(data, globals.as_ref(), &settings)
        .map_err(|e| format!("JBIG2: {e:?}"))?;
    let (w, h) = (page.width() as usize, page.height() as usize);
    if w as u64 * h as u64 > MAX_IMAGE_PIXELS {
        return Err("JBIG2: too large".into());
    }
    struct Pixels {
        bits: Vec<bool>,
        max: usize,
    }
    impl hayro_jbig2::Decoder for Pixels {
        fn push_pixel(&mut self, black: bool) {
            if self.bits.len() < self.max {
                self.bits.push(black);
            }
        }
        fn push_pixel_chunk(&mut self, black: bool, chunk_count: u32) {
            let n = (chunk_count as usize * 8).min(self.max - self.bits.len());
            self.bits.extend(std::iter::repeat_n(black, n));
        }
        fn next_line(&mut self) {}
    }
    let mut sink = Pixels {
        bits: Vec::with_capacity(w * h),
        max: w * h,
    };
    page.decode(&mut sink)
        .map_err(|e| format!("JBIG2: {e:?}"))?;
    sink.bits.resize(w * h, false);
    if w == width && h == height {
        return Ok(sink.bits);
    }
    let mut out = vec![false; width * height];
    for y in 0..h.min(height) {
        let n = w.min(width);
        out[y * width..y * width + n].copy_from_slice(&sink.bits[y * w..y * w + n]);
    }
    Ok(out)
}

/// A colour space reduced to what gray conversion needs.
enum Space {
    Gray,
    Rgb,
    Cmyk,
    /// Separation / DeviceN: tints, 1 = full ink (dark).
    Ink(usize),
    /// Lab: L* only.
    Lab,
    Indexed {
        base: Box<Space>,
        palette: Vec<u8>,
    },
}

impl Space {
    fn components(&self) -> usize {
        match self {
            Space::Gray | Space::Indexed { .. } => 1,
            Space::Rgb | Space::Lab => 3,
            Space::Cmyk => 4,
            Space::Ink(n) => *n,
        }
    }
}

fn colour_space(doc: &Document, obj: Option<&Object>, depth: usize) -> Result<Space, String> {
    let Some(obj) = obj.and_then(|o| resolve::deref(doc, o)) else {
        return Ok(Space::Gray);
    };
    if depth > 4 {
        return Err("colour space nested too deep".into());
    }
    let name_space = |n: &[u8]| -> Result<Space, String> {
        Ok(match n {
            b"DeviceGray" | b"G" | b"CalGray" => Space::Gray,
            b"DeviceRGB" | b"RGB" | b"CalRGB" => Space::Rgb,
            b"DeviceCMYK" | b"CMYK" => Space::Cmyk,
            other => return Err(format!("colour space /{}", String::from_utf8_lossy(other))),
        })
    };
    match obj {
        Object::Name(n) => name_space(n),
        Object::Array(a) => {
            let family = a
                .first()
                .and_then(|o| resolve::deref(doc, o)?.as_name().ok())
                .unwrap_or(b"");
            match family {
                b"ICCBased" => {
                    let n = a
                        .get(1)
                        .and_then(|o| resolve::deref(doc, o))
                        .and_then(|o| o.as_stream().ok())
                        .and_then(|s| resolve::num(doc, &s.dict, b"N"))
                        .unwrap_or(3.0);
                    Ok(match n as usize {
                        1 => Space::Gray,
                        4 => Space::Cmyk,
                        _ => Space::Rgb,
                    })
                }
                b"CalGray" => Ok(Space::Gray),
                b"CalRGB" => Ok(Space::Rgb),
                b"Lab" => Ok(Space::Lab),
                b"Separation" => Ok(Space::Ink(1)),
                b"DeviceN" => {
                    let n = a
                        .get(1)
                        .and_then(|o| resolve::deref(doc, o))
                        .and_then(|o| o.as_array().ok())
                        .map_or(1, |names| names.len().max(1));
                    Ok(Space::Ink(n))
                }
                b"Indexed" | b"I" => {
                    let base = colour_space(doc, a.get(1), depth + 1)?;
                    let palette = match a.get(3).and_then(|o| resolve::deref(doc, o)) {
                        Some(Object::String(s, _)) => s.clone(),
                        Some(Object::Stream(s)) => {
                            resolve::stream_bytes(s).ok_or("unreadable palette")?
                        }
                        _ => return Err("indexed colour space without a palette".into()),
                    };
                    Ok(Space::Indexed {
                        base: Box::new(base),
                        palette,
                    })
                }
                b"Pattern" => Err("pattern colour space".into()),
                other => name_space(other),
            }
        }
        _ => Ok(Space::Gray),
    }
}

/// Raw samples (after the byte filters) to gray.
fn raw(
    doc: &Document,
    dict: &Dictionary,
    data: &[u8],
    width: usize,
    height: usize,
    mask: bool,
    decode: Option<&[f64]>,
) -> Result<Vec<u8>, String> {
    let (space, bpc) = if mask {
        (Space::Gray, 1)
    } else {
        let space = colour_space(doc, dict.get(b"ColorSpace").ok(), 0)?;
        let bpc = resolve::num(doc, dict, b"BitsPerComponent").unwrap_or(8.0) as usize;
        (space, bpc)
    };
    if !matches!(bpc, 1 | 2 | 4 | 8 | 16) {
        return Err(format!("{bpc} bits per component"));
    }
    let n = space.components();
    let row_bytes = (width * n * bpc).div_ceil(8);
    if data.len() < row_bytes * height {
        // A short stream: decode the rows there are, the rest white.
        if data.len() < row_bytes {
            return Err(format!(
                "{} bytes of samples, expected {}",
                data.len(),
                row_bytes * height
            ));
        }
    }
    let max = ((1u32 << bpc) - 1) as f64;
    // Sample 0 is black in gray and paints in a mask; a Decode of [1 0] flips both.
    let flip = inverted(decode);
    let mut out = vec![255u8; width * height];
    let mut px = vec![0f64; n];
    for y in 0..height {
        let Some(row) = data.get(y * row_bytes..(y + 1) * row_bytes) else {
            break;
        };
        for x in 0..width {
            for (c, v) in px.iter_mut().enumerate() {
                let i = x * n + c;
                let raw = match bpc {
                    8 => row[i] as u32,
                    16 => u16::from_be_bytes([row[2 * i], row[2 * i + 1]]) as u32,
                    _ => {
                        let bit = i * bpc;
                        ((row[bit / 8] >> (8 - bpc - bit % 8)) as u32) & ((1 << bpc) - 1)
                    }
                };
                *v = raw as f64;
            }
            let g = match &space {
                Space::Indexed { base, palette } => {
                    let k = base.components();
                    let at = px[0] as usize * k;
                    match palette.get(at..at + k) {
                        Some(entry) => gray_of_space(
                            base,
                            &entry.iter().map(|&b| b as f64 / 255.0).collect::<Vec<_>>(),
                        ),
                        None => 255,
                    }
                }
                other => {
                    let unit: Vec<f64> = px.iter().map(|v| v / max).collect();
                    gray_of_space(other, &unit)
                }
            };
            out[y * width + x] = if flip && n == 1 && !matches!(space, Space::Indexed { .. }) {
                255 - g
            } else {
                g
            };
        }
    }
    Ok(out)
}

/// Gray (0..255, 0 black) of one colour whose components are in 0..1.
fn gray_of_space(space: &Space, c: &[f64]) -> u8 {
    let v = match space {
        Space::Gray => c[0],
        Space::Rgb => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2],
        Space::Lab => c[0],
        Space::Cmyk => {
            let k = c[3];
            let (r, g, b) = (
                (1.0 - c[0]) * (1.0 - k),
                (1.0 - c[1]) * (1.0 - k),
                (1.0 - c[2]) * (1.0 - k),
            );
            0.299 * r + 0.587 * g + 0.114 * b
        }
        Space::Ink(_) => 1.0 - c.iter().copied().fold(0.0, f64::max),
        Space::Indexed { .. } => 1.0,
    };
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

/// Gray of one 8-bit pixel of 1, 3 or 4 channels.
fn gray_of(px: &[u8], cmyk: bool) -> u8 {
    match px.len() {
        0 => 255,
        1 | 2 => px[0],
        3 => ((299 * px[0] as u32 + 587 * px[1] as u32 + 114 * px[2] as u32) / 1000) as u8,
        _ if cmyk => {
            let unit: Vec<f64> = px[..4].iter().map(|&b| b as f64 / 255.0).collect();
            gray_of_space(&Space::Cmyk, &unit)
        }
        _ => ((299 * px[0] as u32 + 587 * px[1] as u32 + 114 * px[2] as u32) / 1000) as u8,
    }
}

fn to_gray(pixels: &[u8], channels: usize, cmyk: bool) -> Vec<u8> {
    if channels == 1 {
        return pixels.to_vec();
    }
    pixels
        .chunks_exact(channels)
        .map(|p| gray_of(p, cmyk))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{dictionary, Stream};

    /// A 20x10 gray test picture: a black bar over the left quarter, the rest white.
    fn bar(x: usize, _y: usize) -> bool {
        x < 5
    }

    fn doc_with(dict: lopdf::Dictionary, data: Vec<u8>) -> (Document, lopdf::ObjectId) {
        let mut doc = Document::with_version("1.7");
        let id = doc.add_object(Stream::new(dict, data));
        (doc, id)
    }

    fn image_dict(w: i64, h: i64) -> lopdf::Dictionary {
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h }
    }

    fn black_at(g: &Gray, x: usize, y: usize) -> bool {
        g.gray[y * g.width + x] < 128
    }

    #[test]
    fn raw_gray_masks_and_indexed_images_decode() {
        let (w, h) = (20usize, 10usize);
        let gray8: Vec<u8> = (0..w * h)
            .map(|i| if bar(i % w, i / w) { 0 } else { 255 })
            .collect();
        let mut d = image_dict(20, 10);
        d.set("ColorSpace", "DeviceGray");
        d.set("BitsPerComponent", 8);
        let (doc, id) = doc_with(d, gray8.clone());
        let g = decode(&doc, id).unwrap();
        assert!(black_at(&g, 0, 0) && !black_at(&g, 10, 5) && !g.mask);

        // A 1-bit image mask: sample 0 paints, rows padded to a byte.
        let mut bits = Vec::new();
        for y in 0..h {
            let mut row = [0xFFu8; 3];
            for x in 0..w {
                if bar(x, y) {
                    row[x / 8] &= !(0x80 >> (x % 8));
                }
            }
            bits.extend_from_slice(&row);
        }
        let mut d = image_dict(20, 10);
        d.set("ImageMask", true);
        let (doc, id) = doc_with(d, bits.clone());
        let g = decode(&doc, id).unwrap();
        assert!(g.mask && black_at(&g, 1, 1) && !black_at(&g, 12, 1));
        // The same bits with Decode [1 0]: painted where the samples are 1.
        let mut d = image_dict(20, 10);
        d.set("ImageMask", true);
        d.set("Decode", vec![1.into(), 0.into()]);
        let (doc, id) = doc_with(d, bits);
        let g = decode(&doc, id).unwrap();
        assert!(!black_at(&g, 1, 1) && black_at(&g, 12, 1));

        // Indexed over RGB: index 0 is dark red, 1 is white.
        let idx: Vec<u8> = (0..w * h).map(|i| u8::from(!bar(i % w, i / w))).collect();
        let mut d = image_dict(20, 10);
        d.set(
            "ColorSpace",
            vec![
                "Indexed".into(),
                "DeviceRGB".into(),
                1.into(),
                Object::string_literal(vec![90u8, 0, 0, 255, 255, 255]),
            ],
        );
        d.set("BitsPerComponent", 8);
        let (doc, id) = doc_with(d, idx);
        let g = decode(&doc, id).unwrap();
        assert!(black_at(&g, 2, 2) && !black_at(&g, 15, 2));

        // A CMYK image: full black ink on the bar.
        let cmyk: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                if bar(i % w, i / w) {
                    [0, 0, 0, 255]
                } else {
                    [0, 0, 0, 0]
                }
            })
            .collect();
        let mut d = image_dict(20, 10);
        d.set("ColorSpace", "DeviceCMYK");
        d.set("BitsPerComponent", 8);
        let (doc, id) = doc_with(d, cmyk);
        let g = decode(&doc, id).unwrap();
        assert!(black_at(&g, 0, 9) && !black_at(&g, 19, 9));
    }

    #[test]
    fn ccitt_group4_decodes_with_pdf_parameters() {
        let (w, h) = (20usize, 10usize);
        let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
        for y in 0..h {
            let pels = (0..w).map(|x| {
                if bar(x, y) {
                    fax::Color::Black
                } else {
                    fax::Color::White
                }
            });
            enc.encode_line(pels, w as u16).unwrap();
        }
        let data = enc.finish().unwrap().finish();
        let mut d = image_dict(20, 10);
        d.set("ColorSpace", "DeviceGray");
        d.set("BitsPerComponent", 1);
        d.set("Filter", "CCITTFaxDecode");
        d.set(
            "DecodeParms",
            dictionary! { "K" => -1, "Columns" => 20, "Rows" => 10 },
        );
        let (doc, id) = doc_with(d, data);
        let g = decode(&doc, id).unwrap();
        for y in 0..h {
            for x in 0..w {
                assert_eq!(black_at(&g, x, y), bar(x, y), "pixel {x},{y}");
            }
        }
    }

    #[test]
    fn a_rotated_placement_is_drawn_turned_and_bad_images_are_named() {
        let (w, h) = (20usize, 10usize);
        let gray8: Vec<u8> = (0..w * h)
            .map(|i| if bar(i % w, i / w) { 0 } else { 255 })
            .collect();
        let mut d = image_dict(20, 10);
        d.set("ColorSpace", "DeviceGray");
        d.set("BitsPerComponent", 8);
        let mut doc = Document::with_version("1.7");
        let good = doc.add_object(Stream::new(d, gray8));
        let mut bad = image_dict(8, 8);
        bad.set("Filter", "JPXDecode");
        let bad = doc.add_object(Stream::new(bad, b"not a codestream".to_vec()));
        // Display space is y-down points; a page 100 x 200. The image's unit square is turned
        // 90 degrees: its width runs down the page, its top row along the page's right edge.
        let turned = Matrix([0.0, 200.0, -100.0, 0.0, 100.0, 0.0]);
        let images = describe(
            &doc,
            &[
                ImageUse {
                    id: good,
                    ctm: turned,
                },
                ImageUse {
                    id: bad,
                    ctm: turned,
                },
            ],
        );
        assert_eq!(images.len(), 2);
        assert_eq!(images[1].encoding, "JPXDecode");
        let mut warnings = Vec::new();
        let r = compose(&doc, (100.0, 200.0), &images, 400, &mut warnings).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("image 2 (JPXDecode, 8x8) not decoded: JPEG 2000"),
            "{warnings:?}"
        );
        // The images are coarser than a point, so the raster is one pixel a point.
        assert_eq!((r.width, r.height), (100, 200));
        let at = |x: usize, y: usize| r.gray[y * r.width + x] < 128;
        // The bar (image x < 5, a quarter of its width) lies along the top quarter of the page.
        assert!(at(50, 20) && at(10, 45) && !at(50, 100) && !at(50, 190));
    }
}
