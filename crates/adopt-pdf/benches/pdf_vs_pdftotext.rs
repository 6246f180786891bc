//! Benchmark: `adopt_pdf::extract` against poppler's `pdftotext FILE -` on a folder of PDFs.
//!
//! `cargo bench -p adopt-pdf --bench pdf_vs_pdftotext [-- DIR]` (default: the shared corpus).
//! For every PDF it prints page count, throughput of both tools (median of several runs; the
//! pdftotext figure includes starting its process, which is how it is used), and two
//! similarity figures of our text against pdftotext's, both over whitespace-separated words
//! (each CJK character counting as a word):
//! - `bagF1`: F1 of the two word multisets (order-insensitive);
//! - `seqSim`: 1 - word-level Levenshtein distance / longer length (order-sensitive).
//!
//! We deliberately read tables row by row while pdftotext reads them column by column, so
//! `seqSim` is expected to be lower than `bagF1` on table-heavy files.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DEFAULT_DIR: &str = "../../../shared/corpus/pdf";
/// Each tool runs until this much time is spent on a file (at least once, at most MAX_RUNS).
const TIME_PER_FILE: Duration = Duration::from_millis(300);
const MAX_RUNS: usize = 15;
/// Word-level Levenshtein is quadratic; beyond this many cells we skip it.
const MAX_LEVENSHTEIN_CELLS: usize = 400_000_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time_runs<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let start = Instant::now();
    let mut last;
    loop {
        let t = Instant::now();
        last = f();
        times.push(t.elapsed());
        if start.elapsed() >= TIME_PER_FILE || times.len() >= MAX_RUNS {
            break;
        }
    }
    (median(times), last)
}

/// Chinese, Japanese and Korean scripts do not separate words with spaces; each of their
/// characters counts as one word so spacing differences do not dominate the figures.
fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FFFF)
}

fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in text.split_whitespace() {
        let mut start = 0;
        for (i, c) in w.char_indices() {
            if is_cjk(c) {
                if start < i {
                    out.push(&w[start..i]);
                }
                out.push(&w[i..i + c.len_utf8()]);
                start = i + c.len_utf8();
            }
        }
        if start < w.len() {
            out.push(&w[start..]);
        }
    }
    out
}

fn bag_f1(ours: &[&str], theirs: &[&str]) -> f64 {
    if ours.is_empty() && theirs.is_empty() {
        return 1.0;
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for w in theirs {
        *counts.entry(w).or_default() += 1;
    }
    let mut common = 0usize;
    for w in ours {
        if let Some(c) = counts.get_mut(w) {
            if *c > 0 {
                *c -= 1;
                common += 1;
            }
        }
    }
    if common == 0 {
        return 0.0;
    }
    let p = common as f64 / ours.len() as f64;
    let r = common as f64 / theirs.len() as f64;
    2.0 * p * r / (p + r)
}

fn seq_similarity<'t>(a: &[&'t str], b: &[&'t str]) -> Option<f64> {
    if a.is_empty() && b.is_empty() {
        return Some(1.0);
    }
    if a.len().saturating_mul(b.len()) > MAX_LEVENSHTEIN_CELLS {
        return None;
    }
    // Intern words so the inner loop compares integers.
    let mut ids: HashMap<&'t str, u32> = HashMap::new();
    let mut intern = |s: &[&'t str]| -> Vec<u32> {
        s.iter()
            .map(|w| {
                let n = ids.len() as u32;
                *ids.entry(w).or_insert(n)
            })
            .collect()
    };
    let (a, b) = (intern(a), intern(b));
    let mut prev: Vec<u32> = (0..=b.len() as u32).collect();
    let mut cur = vec![0u32; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i as u32 + 1;
        for (j, y) in b.iter().enumerate() {
            let sub = prev[j] + u32::from(x != y);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let dist = f64::from(prev[b.len()]);
    Some(1.0 - dist / a.len().max(b.len()) as f64)
}

fn pdftotext_available() -> bool {
    Command::new("pdftotext").arg("-v").output().is_ok()
}

fn run_pdftotext(path: &Path) -> Option<String> {
    let out = Command::new("pdftotext").arg(path).arg("-").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn pages_per_s(pages: usize, t: Duration) -> f64 {
    pages as f64 / t.as_secs_f64().max(1e-9)
}

fn main() {
    // `cargo bench` passes `--bench`; anything else not starting with '-' is the folder.
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or_else(|| PathBuf::from(DEFAULT_DIR), PathBuf::from);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("pdf")))
            .collect(),
        Err(e) => {
            eprintln!("cannot read {}: {e}", dir.display());
            std::process::exit(2);
        }
    };
    files.sort();
    let have_pdftotext = pdftotext_available();
    println!("PDF extraction: adopt-pdf vs pdftotext ({})", dir.display());
    if !have_pdftotext {
        println!("NOTE: pdftotext was not found on PATH (Debian: apt-get install poppler-utils);");
        println!("      only adopt-pdf figures are printed.");
    }
    println!("similarity over words (whitespace-separated; each CJK character is a word):");
    println!(
        "  bagF1 = F1 of the word multisets; seqSim = 1 - word-level Levenshtein / longer length"
    );
    println!(
        "{:<44} {:>5} {:>9} {:>10} {:>9} {:>10} {:>6} {:>6}  note",
        "file", "pages", "ours ms", "ours p/s", "ptt ms", "ptt p/s", "bagF1", "seqSim"
    );

    let (mut total_pages, mut ours_total, mut theirs_total) =
        (0usize, Duration::ZERO, Duration::ZERO);
    let (mut compared_pages, mut ours_cmp_total) = (0usize, Duration::ZERO);
    let (mut f1_sum, mut seq_sum, mut seq_n, mut n_cmp) = (0.0, 0.0, 0usize, 0usize);
    let (mut f1_weighted, mut weight) = (0.0, 0.0);
    for path in &files {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                println!("{name:<44} read error: {e}");
                continue;
            }
        };
        let (ours_t, result) = time_runs(|| adopt_pdf::extract(&bytes));
        let doc = match result {
            Ok(doc) => doc,
            Err(e) => {
                println!(
                    "{name:<44} {:>5} {:>9.2} {:>10} {:>9} {:>10} {:>6} {:>6}  ours: {e}",
                    "-",
                    ms(ours_t),
                    "-",
                    "-",
                    "-",
                    "-",
                    "-"
                );
                continue;
            }
        };
        let pages = doc.pages.len();
        total_pages += pages;
        ours_total += ours_t;
        let ours_text = doc.text();

        let theirs = if have_pdftotext {
            let (t, text) = time_runs(|| run_pdftotext(path));
            text.map(|text| (t, text))
        } else {
            None
        };
        match theirs {
            Some((theirs_t, theirs_text)) => {
                theirs_total += theirs_t;
                compared_pages += pages;
                ours_cmp_total += ours_t;
                let (a, b) = (words(&ours_text), words(&theirs_text));
                let f1 = bag_f1(&a, &b);
                let seq = seq_similarity(&a, &b);
                f1_sum += f1;
                f1_weighted += f1 * b.len() as f64;
                weight += b.len() as f64;
                n_cmp += 1;
                if let Some(s) = seq {
                    seq_sum += s;
                    seq_n += 1;
                }
                println!(
                    "{name:<44} {pages:>5} {:>9.2} {:>10.1} {:>9.2} {:>10.1} {f1:>6.3} {:>6}",
                    ms(ours_t),
                    pages_per_s(pages, ours_t),
                    ms(theirs_t),
                    pages_per_s(pages, theirs_t),
                    seq.map_or_else(|| "-".into(), |s| format!("{s:.3}")),
                );
            }
            None => println!(
                "{name:<44} {pages:>5} {:>9.2} {:>10.1} {:>9} {:>10} {:>6} {:>6}  {}",
                ms(ours_t),
                pages_per_s(pages, ours_t),
                "-",
                "-",
                "-",
                "-",
                if have_pdftotext {
                    "pdftotext failed"
                } else {
                    ""
                }
            ),
        }
    }
    println!();
    println!(
        "TOTAL ours: {total_pages} pages in {:.1} ms = {:.1} pages/s",
        ms(ours_total),
        pages_per_s(total_pages, ours_total)
    );
    if n_cmp > 0 {
        println!(
            "TOTAL on the {n_cmp} files both read ({compared_pages} pages): ours {:.1} pages/s, pdftotext {:.1} pages/s ({:.2}x)",
            pages_per_s(compared_pages, ours_cmp_total),
            pages_per_s(compared_pages, theirs_total),
            theirs_total.as_secs_f64() / ours_cmp_total.as_secs_f64().max(1e-9)
        );
        println!(
            "similarity to pdftotext: bagF1 mean {:.3} (word-weighted {:.3}); seqSim mean {:.3} over {seq_n} files",
            f1_sum / n_cmp as f64,
            f1_weighted / weight.max(1.0),
            if seq_n > 0 { seq_sum / seq_n as f64 } else { f64::NAN }
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
