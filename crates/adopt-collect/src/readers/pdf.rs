//! PDFs: text per page in reading order and the tables on each page. The PDF engine itself
//! lives in `adopt-pdf`; this glue turns its output into units and Parquet tables, and sends
//! scanned pages (no usable text layer, page images) through OCR.

use std::path::Path;

use crate::error::{CollectError, Result};
use crate::extract::{Extracted, Unit};
use crate::ocr::{self, Deadline, OcrMode, NOT_OCRED};
use crate::readers::text::tidy;
use crate::table::{StringTable, TableSink};

pub fn read(
    path: &Path,
    bytes: &[u8],
    sink: &mut TableSink,
    mode: OcrMode,
    deadline: Deadline,
) -> Result<Extracted> {
    let mut pdf = adopt_pdf::Pdf::open(bytes).map_err(|e| match e {
        adopt_pdf::PdfError::Encrypted { reason } => CollectError::Encrypted {
            path: path.to_path_buf(),
            reason,
        },
        other => CollectError::from_reader(path, other),
    })?;
    let meta = pdf.metadata().clone();
    let mut ex = Extracted {
        title: meta.title.filter(|t| !t.trim().is_empty()),
        author: meta.author.filter(|t| !t.trim().is_empty()),
        created: meta.created,
        warnings: pdf.warnings().to_vec(),
        ..Default::default()
    };
    let pages = pdf.page_count();
    let (mut empty_pages, mut image_only_empty) = (0, 0);
    // OCR that could not run at all (missing models) is said once, not on every page.
    let mut ocr_unavailable: Option<String> = None;
    let mut checked = false;
    let mut out_of_time: Vec<String> = Vec::new();
    for index in 0..pages {
        let page = pdf.page(index);
        let label = format!("page {}", page.number);
        ex.warnings
            .extend(page.warnings.iter().map(|w| format!("{label}: {w}")));
        let mut text = page.text.clone();
        let wants_ocr = !page.images.is_empty()
            && match mode {
                OcrMode::Off => false,
                OcrMode::Auto => page.text_is_unusable(),
                // A scan under a poor text layer, not a text page with a logo.
                OcrMode::Force => page.text_is_unusable() || page.image_coverage() >= 0.5,
            };
        if wants_ocr && !checked {
            checked = true;
            ocr_unavailable = ocr::available().err();
        }
        if wants_ocr && ocr_unavailable.is_none() {
            if deadline.passed() {
                out_of_time.push(label.clone());
            } else {
                let mut image_warnings = Vec::new();
                let raster = pdf.render_images(&page, ocr::max_side(), &mut image_warnings);
                ex.warnings
                    .extend(image_warnings.iter().map(|w| format!("{label}: {w}")));
                if let Some(raster) = raster {
                    let image =
                        adopt_ocr::RgbImage::from_gray(raster.width, raster.height, &raster.gray)
                            .expect("a raster's pixels match its size");
                    match ocr::recognise(&image) {
                        Ok(read) => {
                            ex.warnings.push(read.warning(&label));
                            // The text layer stays when OCR finds nothing better.
                            if !read.text.trim().is_empty() {
                                text = read.text;
                            }
                        }
                        Err(why) => ex.warnings.push(format!("{label}: {NOT_OCRED}{why}")),
                    }
                }
            }
        }
        if text.trim().is_empty() {
            empty_pages += 1;
            if !page.images.is_empty() || page.inline_images > 0 {
                image_only_empty += 1;
            }
        }
        if page.inline_images > 0 && text.trim().is_empty() && mode != OcrMode::Off {
            ex.warnings.push(format!(
                "{label}: {} inline image(s) not OCRed (inline images are not decoded)",
                page.inline_images
            ));
        }
        ex.units.push(Unit {
            label: label.clone(),
            text: tidy(&text),
        });
        for t in &page.tables {
            let method = match t.method {
                adopt_pdf::TableMethod::Ruled => "pdf-ruled",
                adopt_pdf::TableMethod::Aligned => "pdf-aligned",
            };
            let mut df = StringTable::from_rows(t.rows.clone())
                .to_frame()
                .map_err(|e| CollectError::table(path, &label, e))?;
            sink.write(&mut df, &label, method)?;
        }
    }
    if let Some(first) = out_of_time.first() {
        ex.warnings.push(deadline.warning(first, out_of_time.len()));
    }
    if let Some(why) = ocr_unavailable {
        ex.warnings.push(format!("{NOT_OCRED}{why}"));
    }
    if empty_pages > 0 {
        let why = match mode {
            _ if image_only_empty == 0 => "and no page images",
            OcrMode::Off => "(scanned images need OCR; ocr is off)",
            _ => "(scanned pages OCR could not read)",
        };
        ex.warnings.push(format!(
            "{empty_pages} of {pages} pages have no text layer {why}"
        ));
    }
    Ok(ex)
}
