//! Prints what `adopt-sheets` makes of a workbook: each sheet's shape, column types,
//! warnings and text. `cargo run -p adopt-sheets --example sheet_text -- FILE...`
#![allow(clippy::print_stdout)]

use std::path::Path;

fn main() {
    for arg in std::env::args().skip(1) {
        println!("=== {arg}");
        match adopt_sheets::read_workbook(Path::new(&arg)) {
            Ok(wb) => {
                for w in &wb.warnings {
                    println!("warning: {w}");
                }
                for sheet in &wb.sheets {
                    println!(
                        "--- sheet '{}' header_row={:?} first_data_row={} rows={} merged_filled={}",
                        sheet.name,
                        sheet.header_row,
                        sheet.first_data_row,
                        sheet.rows.len(),
                        sheet.merged_filled
                    );
                    println!("header: {:?}", sheet.header);
                    println!("types: {:?}", sheet.column_types());
                    for line in &sheet.preamble {
                        println!("preamble: {line}");
                    }
                    for line in sheet.to_text().lines().take(8) {
                        println!("{line}");
                    }
                }
            }
            Err(e) => println!("error: {e}"),
        }
    }
}
