//! Image files (PNG, JPEG, TIFF with all its pages, BMP, WebP, GIF): each page decoded to RGB
//! for OCR. TIFF goes through the `tiff` crate page by page (scanners write multi-page TIFF,
//! often CCITT G4); the rest through `image`.

use std::io::Cursor;

use adopt_ocr::RgbImage;

/// Pages beyond this in one TIFF are not read (a warning says so).
pub const MAX_PAGES: usize = 2000;
/// Larger pictures are refused rather than decoded (a 600 dpi A3 scan is 70 M pixels).
const MAX_PIXELS: u64 = 120_000_000;

/// The pages of an image file: each one decoded, or why not. `Err` when the file is not an
/// image at all.
pub fn read(bytes: &[u8]) -> Result<Vec<Result<RgbImage, String>>, String> {
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return tiff_pages(bytes);
    }
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let Some(format) = reader.format() else {
        return Err(
            "not a picture in a format collect reads (PNG, JPEG, TIFF, BMP, WebP, GIF)".into(),
        );
    };
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let picture = reader
        .decode()
        .map_err(|e| format!("{format:?} image: {e}"))?;
    let rgb = picture.to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    Ok(vec![RgbImage::from_rgb(w, h, rgb.into_raw()).ok_or_else(
        || "decoded image has the wrong size".to_string(),
    )])
}

fn tiff_pages(bytes: &[u8]) -> Result<Vec<Result<RgbImage, String>>, String> {
    let mut decoder =
        tiff::decoder::Decoder::new(Cursor::new(bytes)).map_err(|e| format!("TIFF: {e}"))?;
    let mut pages = Vec::new();
    loop {
        pages.push(tiff_page(&mut decoder));
        if pages.len() >= MAX_PAGES || !decoder.more_images() {
            break;
        }
        if let Err(e) = decoder.next_image() {
            pages.push(Err(format!("TIFF: {e}")));
            break;
        }
    }
    Ok(pages)
}

fn tiff_page<R: std::io::Read + std::io::Seek>(
    decoder: &mut tiff::decoder::Decoder<R>,
) -> Result<RgbImage, String> {
    use tiff::decoder::DecodingResult;
    use tiff::ColorType;
    let fail = |e: tiff::TiffError| format!("TIFF: {e}");
    let (w, h) = decoder.dimensions().map_err(fail)?;
    let (w, h) = (w as usize, h as usize);
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(format!(
            "TIFF page of {w}x{h} is larger than {MAX_PIXELS} pixels"
        ));
    }
    let colour = decoder.colortype().map_err(fail)?;
    let data = decoder.read_image().map_err(fail)?;
    let samples: Vec<u8> = match data {
        DecodingResult::U8(v) => v,
        DecodingResult::U16(v) => v.iter().map(|s| (s >> 8) as u8).collect(),
        _ => return Err(format!("TIFF samples of type {colour:?} are not read")),
    };
    let gray_or_rgb =
        |channels: usize, colour_channels: usize, cmyk: bool| -> Result<RgbImage, String> {
            if samples.len() < w * h * channels {
                return Err("TIFF: fewer samples than the page size".into());
            }
            let mut px = Vec::with_capacity(w * h * 3);
            for s in samples.chunks_exact(channels).take(w * h) {
                match (colour_channels, cmyk) {
                    (1, _) => px.extend_from_slice(&[s[0], s[0], s[0]]),
                    (_, true) => {
                        let k = 255 - s[3] as u32;
                        px.extend(s[..3].iter().map(|&c| ((255 - c as u32) * k / 255) as u8));
                    }
                    _ => px.extend_from_slice(&s[..3]),
                }
            }
            RgbImage::from_rgb(w, h, px).ok_or_else(|| "TIFF: wrong size".into())
        };
    match colour {
        ColorType::Gray(1) => {
            // Packed bits, each row padded to a byte; the decoder has applied WhiteIsZero.
            let stride = w.div_ceil(8);
            if samples.len() < stride * h {
                return Err("TIFF: fewer samples than the page size".into());
            }
            let mut gray = Vec::with_capacity(w * h);
            for y in 0..h {
                let row = &samples[y * stride..(y + 1) * stride];
                gray.extend((0..w).map(|x| {
                    if row[x / 8] >> (7 - x % 8) & 1 == 1 {
                        255
                    } else {
                        0
                    }
                }));
            }
            RgbImage::from_gray(w, h, &gray).ok_or_else(|| "TIFF: wrong size".into())
        }
        ColorType::Gray(8 | 16) => gray_or_rgb(1, 1, false),
        ColorType::GrayA(8 | 16) => gray_or_rgb(2, 1, false),
        ColorType::RGB(8 | 16) => gray_or_rgb(3, 3, false),
        ColorType::RGBA(8 | 16) => gray_or_rgb(4, 3, false),
        ColorType::CMYK(8 | 16) => gray_or_rgb(4, 4, true),
        other => Err(format!("TIFF colour type {other:?} is not read")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_and_multi_page_tiff_decode() {
        let mut png = Vec::new();
        let img = image::RgbImage::from_fn(40, 20, |x, _| image::Rgb([x as u8 * 6, 0, 0]));
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let pages = read(&png).unwrap();
        assert_eq!(pages.len(), 1);
        let page = pages[0].as_ref().unwrap();
        assert_eq!((page.width, page.height), (40, 20));

        let mut tif = Cursor::new(Vec::new());
        {
            let mut enc = tiff::encoder::TiffEncoder::new(&mut tif).unwrap();
            enc.write_image::<tiff::encoder::colortype::Gray8>(8, 4, &[10u8; 32])
                .unwrap();
            enc.write_image::<tiff::encoder::colortype::RGB8>(3, 2, &[200u8; 18])
                .unwrap();
        }
        let pages = read(tif.get_ref()).unwrap();
        assert_eq!(pages.len(), 2);
        let p1 = pages[0].as_ref().unwrap();
        assert_eq!((p1.width, p1.height, p1.pixels[0]), (8, 4, 10));
        let p2 = pages[1].as_ref().unwrap();
        assert_eq!((p2.width, p2.height), (3, 2));

        assert!(read(b"not an image").is_err());
    }
}
