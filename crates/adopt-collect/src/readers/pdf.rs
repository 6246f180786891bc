//! PDFs: text per page in reading order and the tables on each page. The PDF engine itself
//! lives in `adopt-pdf`; this glue turns its output into units and Parquet tables.

use std::path::Path;

use crate::error::{CollectError, Result};
use crate::extract::{Extracted, Unit};
use crate::readers::text::tidy;
use crate::table::{StringTable, TableSink};

pub fn read(path: &Path, bytes: &[u8], sink: &mut TableSink) -> Result<Extracted> {
    let doc = adopt_pdf::extract(bytes).map_err(|e| match e {
        adopt_pdf::PdfError::Encrypted { reason } => CollectError::Encrypted {
            path: path.to_path_buf(),
            reason,
        },
        other => CollectError::from_reader(path, other),
    })?;
    let mut ex = Extracted {
        title: doc.metadata.title.clone().filter(|t| !t.trim().is_empty()),
        author: doc.metadata.author.clone().filter(|t| !t.trim().is_empty()),
        created: doc.metadata.created.clone(),
        warnings: doc.warnings.clone(),
        ..Default::default()
    };
    let mut empty_pages = 0;
    for page in &doc.pages {
        let label = format!("page {}", page.number);
        ex.warnings
            .extend(page.warnings.iter().map(|w| format!("{label}: {w}")));
        if page.text.trim().is_empty() {
            empty_pages += 1;
        }
        ex.units.push(Unit {
            label: label.clone(),
            text: tidy(&page.text),
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
    if empty_pages > 0 {
        ex.warnings.push(format!(
            "{empty_pages} of {} pages have no text layer (scanned images need OCR)",
            doc.pages.len()
        ));
    }
    Ok(ex)
}
