//! Times `read_workbook` against pandas `read_excel(sheet_name=None, engine="openpyxl")`
//! in the same run: on a generated 200k-row, 10-column workbook, and on the corpus xlsx
//! files. `cargo bench -p adopt-sheets --bench sheets_vs_pandas`; set
//! `ADOPT_SHEETS_BENCH_ROWS` to change the generated size.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

const CORPUS: &str = "../../../shared/corpus/sheets";

fn main() {
    let rows: u32 = std::env::var("ADOPT_SHEETS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = dir.path().join("customers.xlsx");
    let started = Instant::now();
    write_workbook(&generated, rows);
    println!(
        "generated {} ({rows} rows x 10 columns, {:.1} MB) in {:.1}s",
        generated.display(),
        std::fs::metadata(&generated)
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0),
        started.elapsed().as_secs_f64()
    );

    let pandas = pandas_available();
    if let Err(why) = &pandas {
        println!("pandas baseline unavailable ({why}); printing our figures alone");
    }

    println!("\n== generated workbook");
    let ours = best_of(3, || {
        let wb = adopt_sheets::read_workbook(&generated).expect("generated workbook reads");
        wb.sheets.iter().map(|s| s.rows.len()).sum()
    });
    report("adopt-sheets", ours);
    if pandas.is_ok() {
        compare(ours, run_pandas(std::slice::from_ref(&generated)));
    }

    println!("\n== corpus xlsx files");
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "xlsx"));
    // Only files both readers open, so that both sides do the same work.
    files.retain(|p| adopt_sheets::read_workbook(p).is_ok());
    files.sort();
    if pandas.is_ok() {
        match pandas_readable(&files) {
            Ok(readable) => {
                let skipped: Vec<_> = files.iter().filter(|f| !readable.contains(f)).collect();
                if !skipped.is_empty() {
                    println!(
                        "skipping {} files openpyxl cannot open: {skipped:?}",
                        skipped.len()
                    );
                }
                files = readable;
            }
            Err(e) => println!("could not probe files with pandas: {e}"),
        }
    }
    if files.is_empty() {
        println!("no corpus files at {CORPUS}");
        return;
    }
    let rounds = 20;
    let ours = best_of(3, || {
        let mut total = 0;
        for _ in 0..rounds {
            for f in &files {
                if let Ok(wb) = adopt_sheets::read_workbook(f) {
                    total += wb.sheets.iter().map(|s| s.rows.len()).sum::<usize>();
                }
            }
        }
        total / rounds
    });
    let ours = (ours.0 / rounds as u32, ours.1);
    println!("{} files, figures per pass over all of them", files.len());
    report("adopt-sheets", ours);
    if pandas.is_ok() {
        compare(ours, run_pandas(&files));
    }
}

/// A sales-ledger shaped sheet: ids, repeated and unique text, money, dates, flags.
fn write_workbook(path: &Path, rows: u32) {
    let mut book = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let sheet = book.add_worksheet().set_name("Ledger").expect("sheet name");
    let header = [
        "Invoice", "Customer", "Region", "Amount", "Quantity", "Issued", "Paid at", "Settled",
        "Discount", "Note",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("write");
    }
    let regions = ["North", "South", "East", "West", "Central"];
    let base = ExcelDateTime::from_ymd(2020, 1, 1).expect("date");
    for i in 0..rows {
        let r = i + 1;
        let n = f64::from(i);
        sheet.write_number(r, 0, 100_000.0 + n).expect("write");
        sheet
            .write_string(r, 1, format!("Customer {}", i % 5_000))
            .expect("write");
        sheet
            .write_string(r, 2, regions[(i % 5) as usize])
            .expect("write");
        sheet
            .write_number(r, 3, (n * 37.13) % 10_000.0)
            .expect("write");
        sheet.write_number(r, 4, f64::from(i % 97)).expect("write");
        let issued = ExcelDateTime::from_serial_datetime(base.to_excel() + f64::from(i % 1500))
            .expect("date");
        sheet
            .write_datetime_with_format(r, 5, issued, &date)
            .expect("write");
        let paid =
            ExcelDateTime::from_serial_datetime(base.to_excel() + f64::from(i % 1500) + 0.375)
                .expect("date");
        sheet
            .write_datetime_with_format(r, 6, paid, &datetime)
            .expect("write");
        sheet.write_boolean(r, 7, i % 3 == 0).expect("write");
        sheet
            .write_number(r, 8, f64::from(i % 20) / 100.0)
            .expect("write");
        sheet
            .write_string(
                r,
                9,
                format!("order {i} shipped to {}", regions[(i % 5) as usize]),
            )
            .expect("write");
    }
    book.save(path).expect("save workbook");
}

/// Fastest of `n` runs: (time, data rows read).
fn best_of(n: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = (Duration::MAX, 0);
    for _ in 0..n {
        let started = Instant::now();
        let rows = f();
        let took = started.elapsed();
        if took < best.0 {
            best = (took, rows);
        }
    }
    best
}

fn report(who: &str, (took, rows): (Duration, usize)) {
    let secs = took.as_secs_f64();
    println!(
        "{who:<28} {secs:>9.3}s  {rows:>8} rows  {:>12.0} rows/s",
        rows as f64 / secs.max(1e-9)
    );
}

fn compare(ours: (Duration, usize), pandas: Result<(Duration, usize), String>) {
    match pandas {
        Ok(theirs) => {
            report("pandas+openpyxl", theirs);
            println!(
                "speed-up: {:.1}x (goal >= 20x)",
                theirs.0.as_secs_f64() / ours.0.as_secs_f64().max(1e-9)
            );
        }
        Err(e) => println!("pandas+openpyxl failed: {e}"),
    }
}

fn pandas_available() -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", "import pandas, openpyxl"])
        .output()
        .map_err(|e| format!("python3 not runnable: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "python3 lacks pandas/openpyxl: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        ))
    }
}

/// The files pandas+openpyxl opens without an exception.
fn pandas_readable(files: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    const SCRIPT: &str = r#"
import sys, warnings
warnings.filterwarnings("ignore")
import pandas as pd
for f in sys.argv[1:]:
    try:
        pd.read_excel(f, sheet_name=None, engine="openpyxl")
        print(f)
    except Exception:
        pass
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(files)
        .output()
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .collect())
}

/// Times pandas inside the Python process, so interpreter start-up and imports are not
/// charged to it; returns the time of one pass over `files` and the rows it read.
fn run_pandas(files: &[PathBuf]) -> Result<(Duration, usize), String> {
    const SCRIPT: &str = r#"
import sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
files = sys.argv[1:]
rounds = 1 if len(files) == 1 else 5
best = None
for _ in range(rounds):
    t = time.perf_counter()
    rows = 0
    for f in files:
        for df in pd.read_excel(f, sheet_name=None, engine="openpyxl").values():
            rows += len(df)
    took = time.perf_counter() - t
    best = took if best is None else min(best, took)
print(best, rows)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(files)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut parts = stdout.split_whitespace();
    let secs: f64 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("no timing from python")?;
    let rows: usize = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("no row count from python")?;
    Ok((Duration::from_secs_f64(secs), rows))
}
