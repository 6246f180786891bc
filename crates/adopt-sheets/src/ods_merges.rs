//! calamine reads ODS values but not their spans, so merged regions are recovered from
//! `content.xml`: a cell with `table:number-columns-spanned` / `number-rows-spanned` is the
//! top-left of a region, and the covered cells after it still advance the column.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::Dimensions;
use quick_xml::events::{BytesStart, Event};

/// Merged regions per sheet name, in absolute 0-based coordinates.
pub(crate) fn ods_merged_regions(path: &Path) -> Result<HashMap<String, Vec<Dimensions>>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| e.to_string())?;
    let content = archive.by_name("content.xml").map_err(|e| e.to_string())?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(content));
    let mut buf = Vec::new();
    let mut regions: HashMap<String, Vec<Dimensions>> = HashMap::new();
    // Only the outermost table counts; a table nested in a cell has its own grid.
    let mut table_depth = 0usize;
    let mut sheet = String::new();
    let (mut row, mut col) = (0u64, 0u64);
    let mut row_repeat = 1u64;
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| e.to_string())?;
        match event {
            // `<table:table/>` opens and closes at once, so only `Start` goes one level down.
            Event::Start(e) if is(&e, "table") => {
                table_depth += 1;
                if table_depth == 1 {
                    sheet = attr(&e, "name").unwrap_or_default();
                    row = 0;
                }
            }
            Event::End(e) if e.local_name().as_ref() == "table" => {
                table_depth = table_depth.saturating_sub(1);
            }
            Event::Start(e) if table_depth == 1 && is(&e, "table-row") => {
                col = 0;
                row_repeat = number(&e, "number-rows-repeated");
            }
            Event::Empty(e) if table_depth == 1 && is(&e, "table-row") => {
                row = row.saturating_add(number(&e, "number-rows-repeated"));
            }
            Event::End(e) if table_depth == 1 && e.local_name().as_ref() == "table-row" => {
                row = row.saturating_add(row_repeat);
                row_repeat = 1;
            }
            Event::Start(e) | Event::Empty(e)
                if table_depth == 1 && (is(&e, "table-cell") || is(&e, "covered-table-cell")) =>
            {
                let cols = number(&e, "number-columns-spanned");
                let rows = number(&e, "number-rows-spanned");
                if (cols > 1 || rows > 1) && row <= u32::MAX as u64 && col <= u32::MAX as u64 {
                    let end_row = row.saturating_add(rows - 1).min(u32::MAX as u64);
                    let end_col = col.saturating_add(cols - 1).min(u32::MAX as u64);
                    regions
                        .entry(sheet.clone())
                        .or_default()
                        .push(Dimensions::new(
                            (row as u32, col as u32),
                            (end_row as u32, end_col as u32),
                        ));
                }
                col = col.saturating_add(number(&e, "number-columns-repeated"));
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(regions)
}

fn is(e: &BytesStart<'_>, local: &str) -> bool {
    e.local_name().as_ref() == local
}

fn attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .map(|a| {
            let raw = a.value.into_owned();
            quick_xml::escape::unescape(&raw)
                .map(|s| s.into_owned())
                .unwrap_or(raw)
        })
}

/// A repeat or span count; absent or malformed means 1.
fn number(e: &BytesStart<'_>, local: &str) -> u64 {
    attr(e, local)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(1)
}
