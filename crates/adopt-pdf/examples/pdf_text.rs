//! Prints what `adopt_pdf::extract` finds in a PDF: `cargo run -p adopt-pdf --example pdf_text -- FILE`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: pdf_text FILE.pdf [--tables]");
        return ExitCode::FAILURE;
    };
    let show_tables = std::env::args().any(|a| a == "--tables");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match adopt_pdf::extract(&bytes) {
        Ok(doc) => {
            println!("{:#?}", doc.metadata);
            for w in &doc.warnings {
                println!("warning: {w}");
            }
            for page in &doc.pages {
                println!("===== page {} =====", page.number);
                for w in &page.warnings {
                    println!("warning: {w}");
                }
                println!("{}", page.text);
                if show_tables {
                    for (i, t) in page.tables.iter().enumerate() {
                        println!(
                            "--- table {} ({:?}, {} rows)",
                            i + 1,
                            t.method,
                            t.rows.len()
                        );
                        for row in &t.rows {
                            println!("{}", row.join(" | "));
                        }
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}
