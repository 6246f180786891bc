//! Integration tests over the shared corpus of real workbooks and over files the tests
//! write themselves.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use adopt_sheets::{
    read_workbook, read_workbook_with, Cell, ColumnType, ReadLimits, SheetError, SheetFormat,
    Workbook,
};
use chrono::NaiveDate;

const CORPUS: &str = "../../../shared/corpus/sheets";

fn corpus(name: &str) -> PathBuf {
    Path::new(CORPUS).join(name)
}

fn read(name: &str) -> Workbook {
    read_workbook(&corpus(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn date(y: i32, m: u32, d: u32) -> Cell {
    Cell::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

#[test]
fn reads_a_plain_table_with_header_and_types() {
    let wb = read("readings.xlsx");
    assert_eq!(wb.format, SheetFormat::Xlsx);
    let sheet = &wb.sheets[0];
    assert_eq!(sheet.header, ["Station", "Celsius", "Humidity", "Pressure"]);
    assert_eq!(sheet.header_row, Some(0));
    assert_eq!(sheet.first_data_row, 2);
    assert_eq!(sheet.rows.len(), 3);
    assert_eq!(
        sheet.rows[1],
        [
            text("Paris"),
            Cell::Float(18.5),
            Cell::Int(65),
            Cell::Int(1009)
        ]
    );
    assert_eq!(
        sheet.column_types(),
        [
            ColumnType::Text,
            ColumnType::Float,
            ColumnType::Int,
            ColumnType::Int
        ]
    );
    let text = sheet.to_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Row 2: Station: London; Celsius: 15; Humidity: 72; Pressure: 1013"
    );
    assert_eq!(lines.len(), 3);
}

#[test]
fn every_sheet_of_a_workbook_is_read() {
    let wb = read("temperature-table.xlsx");
    let names: Vec<&str> = wb.sheets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Sheet1", "Sheet2"]);
    let s2 = wb.sheet("Sheet2").unwrap();
    assert_eq!(s2.header, ["label2", "value2"]);
    assert_eq!(
        s2.rows,
        [
            [text("something"), Cell::Float(12.5)],
            [text("else"), Cell::Int(64)]
        ]
    );
    assert!(wb
        .to_text()
        .contains("Sheet: Sheet2\nRow 2: label2: something; value2: 12.5\n"));

    let wb = read("issue127.xlsx");
    assert_eq!(wb.sheets.len(), 8);
}

#[test]
fn every_format_reads_any_sheets() {
    for (file, format) in [
        ("any_sheets.xls", SheetFormat::Xls),
        ("any_sheets.xlsb", SheetFormat::Xlsb),
        ("any_sheets.ods", SheetFormat::Ods),
    ] {
        let wb = read(file);
        assert_eq!(wb.format, format);
        let visible = wb
            .sheet("Visible")
            .unwrap_or_else(|| panic!("{file}: no Visible sheet"));
        assert!(!visible.hidden, "{file}");
        assert!(wb.sheet("Hidden").unwrap().hidden, "{file}");
        assert!(wb.sheet("VeryHidden").unwrap().hidden, "{file}");
        // Three rows of numbers, a blank row, then a note: no header row.
        assert_eq!(visible.header_row, None, "{file}");
        assert_eq!(visible.header, ["column_1", "column_2"], "{file}");
        assert_eq!(visible.rows.len(), 5, "{file}");
        assert_eq!(visible.rows[2], [Cell::Int(5), Cell::Int(6)], "{file}");
        let text = visible.to_text();
        assert!(
            text.starts_with("Row 1: column_1: 1; column_2: 2\n"),
            "{file}: {text}"
        );
        assert!(
            text.contains("Row 5: column_1: This workbook contains 4 sheets"),
            "{file}: {text}"
        );
        if format == SheetFormat::Ods {
            // ODS has no chart sheets in calamine's model: the Chart tab is an empty sheet.
            assert!(wb.sheet("Chart").unwrap().rows.is_empty());
        } else {
            assert!(wb.sheet("Chart").is_none());
            assert!(wb
                .warnings
                .iter()
                .any(|w| w.contains("'Chart'") && w.contains("chart sheet")));
        }
    }
    for file in ["issue221.xlsm", "issue3.xlsm"] {
        assert_eq!(read(file).format, SheetFormat::Xlsm);
    }
    let wb = read("issue221.xlsm");
    assert_eq!(wb.sheets[0].header, ["Cell_A1", "Cell_B1"]);
    assert_eq!(wb.sheets[0].rows, [[text("Cell_A2"), text("Cell_B2")]]);
    for file in ["issue127.xls", "issue127.xlsb", "issue127.ods"] {
        assert_eq!(read(file).sheets.len(), 8, "{file}");
    }
}

#[test]
fn merged_cells_are_filled_xlsx() {
    // A1:B1 "Row Merge", A2:A4 "Column Merge", B2:D4 "Chunk Merged".
    let sheet = &read("merge_cells.xlsx").sheets[0];
    assert_eq!(sheet.merged_filled, 3);
    assert_eq!(sheet.header.len(), 4);
    // The merged band on top makes a two-row header.
    assert_eq!(sheet.header[0], "Row Merge / Column Merge");
    assert_eq!(sheet.rows.len(), 2);
    for row in &sheet.rows {
        assert_eq!(row[0], text("Column Merge"));
        assert_eq!(
            &row[1..],
            [
                text("Chunk Merged"),
                text("Chunk Merged"),
                text("Chunk Merged")
            ]
        );
    }

    let wb = read("merged_range.xlsx");
    let s2 = wb.sheet("Sheet2").unwrap();
    // A1:A4 and F1:H4 span the data rows; C3:D4 fills from C3.
    assert_eq!(s2.merged_filled, 6);
    assert_eq!(
        s2.header,
        ["A1", "B1", "C1", "C1_2", "E1", "F1", "F1_2", "F1_3"]
    );
    assert_eq!(s2.first_data_row, 3);
    assert_eq!(s2.rows[1][0], text("A1"));
    assert_eq!(s2.rows[1][2], text("C3"));
    assert_eq!(s2.rows[1][3], text("C3"));
    assert_eq!(s2.rows[1][7], text("F1"));
}

#[test]
fn merged_cells_are_filled_ods() {
    // A2:A3 is merged in content.xml; calamine reports A3 as empty.
    let sheet = &read("merged_cells.ods").sheets[0];
    assert_eq!(sheet.merged_filled, 1);
    assert_eq!(sheet.header, ["A", "B", "C"]);
    assert_eq!(
        sheet.rows,
        [
            [text("A"), text("B"), text("C")],
            [text("A"), Cell::Empty, text("C")]
        ]
    );
}

#[test]
fn dates_are_dates_in_both_epochs() {
    // date_1904.xls uses the 1904 date system; date.xlsb the 1900 one; same values.
    for file in ["date_1904.xls", "date.xlsb"] {
        let sheet = &read(file).sheets[0];
        assert_eq!(sheet.rows[0], [date(2021, 1, 1), Cell::Int(15)], "{file}");
        assert_eq!(sheet.rows[1], [date(2021, 1, 2), Cell::Int(16)], "{file}");
        // [hh]:mm:ss is an elapsed time, 10.632 days.
        assert_eq!(sheet.rows[2][0].to_string(), "255:10:10", "{file}");
        assert!(matches!(sheet.rows[2][0], Cell::Duration(_)), "{file}");
    }
    // Quoted literals and locale prefixes in the number format still mark a date.
    let sheet = &read("date_quoted_format.xlsx").sheets[0];
    assert_eq!(sheet.rows.len(), 4);
    assert!(sheet.rows.iter().all(|r| r[0] == date(2021, 1, 1)));
    assert_eq!(sheet.column_types(), [ColumnType::Date]);
}

#[test]
fn mislabelled_files_fail_clearly() {
    let err = read_workbook(&corpus("too_small.xls")).unwrap_err();
    assert!(matches!(err, SheetError::FormatMismatch { .. }), "{err}");
    assert!(err.to_string().contains("too_small.xls"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("readings.xls");
    std::fs::copy(corpus("readings.xlsx"), &fake).unwrap();
    let err = read_workbook(&fake).unwrap_err().to_string();
    assert!(
        err.contains("extension says xls") && err.contains("zip package"),
        "{err}"
    );
}

#[test]
fn cell_limit_truncates_with_a_warning() {
    let wb = read_workbook_with(&corpus("readings.xlsx"), &ReadLimits { max_cells: 8 }).unwrap();
    let sheet = &wb.sheets[0];
    // Two rows of four cells fit: the header and London.
    assert_eq!(sheet.rows.len(), 1);
    assert!(
        sheet
            .warnings
            .iter()
            .any(|w| w.contains("ReadLimits::max_cells")),
        "{:?}",
        sheet.warnings
    );
    assert!(wb
        .warnings
        .iter()
        .any(|w| w.starts_with("sheet 'Sheet1': ")));
}

/// A workbook shaped like real exports: title band, blank and repeated headers, a
/// two-row merged header group, dates, float noise.
#[test]
fn realistic_written_workbook_reads_back() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook as XlsxWorkbook};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.xlsx");
    let mut book = XlsxWorkbook::new();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    let datetime_format = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let ws = book.add_worksheet().set_name("Customers").unwrap();
    ws.merge_range(0, 0, 0, 4, "Customer credit report", &Format::new())
        .unwrap();
    for (c, h) in [
        "Customer",
        "Credit limit",
        "Opened",
        "Last call",
        "Customer",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(3, c as u16, *h).unwrap();
    }
    ws.write_string(4, 0, "Alice Zhang").unwrap();
    ws.write_number(4, 1, 50000.0).unwrap();
    ws.write_datetime_with_format(
        4,
        2,
        ExcelDateTime::from_ymd(2023, 4, 1).unwrap(),
        &date_format,
    )
    .unwrap();
    ws.write_datetime_with_format(
        4,
        3,
        ExcelDateTime::from_ymd(2024, 1, 2)
            .unwrap()
            .and_hms(9, 30, 0)
            .unwrap(),
        &datetime_format,
    )
    .unwrap();
    ws.write_string(4, 4, "duplicate header").unwrap();
    ws.write_string(5, 0, "Bob").unwrap();
    ws.write_number(5, 1, 0.1 + 0.2).unwrap();
    ws.write_string(5, 5, "no header here").unwrap();

    let ws2 = book.add_worksheet().set_name("Quarterly").unwrap();
    ws2.merge_range(0, 0, 1, 0, "Region", &Format::new())
        .unwrap();
    ws2.merge_range(0, 1, 0, 2, "Q1", &Format::new()).unwrap();
    ws2.merge_range(0, 3, 0, 4, "Q2", &Format::new()).unwrap();
    for (c, h) in ["Revenue", "Cost", "Revenue", "Cost"].iter().enumerate() {
        ws2.write_string(1, c as u16 + 1, *h).unwrap();
    }
    ws2.write_string(2, 0, "North").unwrap();
    for c in 1..5u16 {
        ws2.write_number(2, c, f64::from(c) * 1000.0).unwrap();
    }
    book.save(&path).unwrap();

    let wb = read_workbook(&path).unwrap();
    let customers = wb.sheet("Customers").unwrap();
    assert_eq!(customers.header_row, Some(3));
    assert_eq!(customers.first_data_row, 5);
    assert_eq!(customers.preamble, ["Customer credit report"]);
    assert_eq!(
        customers.header,
        [
            "Customer",
            "Credit limit",
            "Opened",
            "Last call",
            "Customer_2",
            "column_6"
        ]
    );
    assert_eq!(
        customers.column_types(),
        [
            ColumnType::Text,
            ColumnType::Float,
            ColumnType::Date,
            ColumnType::DateTime,
            ColumnType::Text,
            ColumnType::Text
        ]
    );
    assert_eq!(
        customers.to_text(),
        "Row 5: Customer: Alice Zhang; Credit limit: 50000; Opened: 2023-04-01; \
         Last call: 2024-01-02 09:30:00; Customer_2: duplicate header\n\
         Row 6: Customer: Bob; Credit limit: 0.3; column_6: no header here\n"
    );

    let quarterly = wb.sheet("Quarterly").unwrap();
    assert_eq!(
        quarterly.header,
        [
            "Region",
            "Q1 / Revenue",
            "Q1 / Cost",
            "Q2 / Revenue",
            "Q2 / Cost"
        ]
    );
    assert_eq!(quarterly.merged_filled, 3);
    assert_eq!(
        quarterly.to_text(),
        "Row 3: Region: North; Q1 / Revenue: 1000; Q1 / Cost: 2000; Q2 / Revenue: 3000; Q2 / Cost: 4000\n"
    );
}

/// Files calamine cannot open; every other corpus file must read.
const EXPECTED_ERRORS: &[&str] = &[
    // The zip entry is longer than its declared size: a corrupt package.
    "issue252.xlsx",
    // 68 bytes of text with an .xls extension.
    "too_small.xls",
];

/// Debug builds of the parsers are slow; this only has to catch a hang.
const PER_FILE_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn every_corpus_file_reads_or_errors_without_panic_or_hang() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("corpus folder beside the checkout")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 60,
        "corpus looks incomplete: {} files",
        files.len()
    );
    let mut failures = Vec::new();
    let mut errored = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (tx, rx) = mpsc::channel();
        let started = Instant::now();
        let thread_path = path.clone();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(|| {
                read_workbook(&thread_path).map(|wb| (wb.sheets.len(), wb.to_text().len()))
            });
            let _ = tx.send(result);
        });
        match rx.recv_timeout(PER_FILE_LIMIT) {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(e))) => {
                assert!(
                    e.to_string().contains(&name),
                    "error should name the file: {e}"
                );
                errored.push(name);
            }
            Ok(Err(_)) => failures.push(format!("{name}: panicked")),
            Err(_) => failures.push(format!("{name}: no result after {:?}", started.elapsed())),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(errored, EXPECTED_ERRORS);
}

#[test]
fn hostile_files_do_not_take_the_process_down() {
    // OOM_alloc2.xls once made calamine request a huge allocation; it reads now.
    let wb = read("OOM_alloc2.xls");
    assert_eq!(wb.sheets.len(), 1);
    assert_eq!(wb.sheets[0].rows.len(), 191);
    assert_eq!(wb.sheets[0].header[0], "Sales_Statement_Id");
    // Empty sheets are sheets with no rows, not errors.
    for file in ["empty_sheet.xlsx", "single-empty.ods", "multi-empty.ods"] {
        let wb = read(file);
        assert!(!wb.sheets.is_empty(), "{file}");
    }
    // Broken shared strings still give a table.
    for file in [
        "empty_shared_string.xlsx",
        "empty_shared_string_value.xlsx",
        "non_monotonic_si.xlsx",
    ] {
        let wb = read(file);
        assert!(wb.warnings.is_empty(), "{file}: {:?}", wb.warnings);
    }
}
