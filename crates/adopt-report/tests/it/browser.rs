//! Renders the report in a real headless browser (Debian's `chromium`), takes a screenshot and
//! dumps the DOM the browser built. Skips, saying so, where chromium is not installed:
//! `apt-get install -y chromium`.
//!
//! Set `ADOPT_REPORT_SCREENSHOT_DIR` to keep the screenshots for a look.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adopt_report::*;

use crate::sample::full_inputs;

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Runs chromium on `url` with `extra` flags; returns stdout. Killed after a minute: a
/// headless browser that hangs must fail the test, not the CI job.
fn chromium(bin: &Path, profile: &Path, extra: &[String], url: &str) -> String {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

fn screenshot(bin: &Path, profile: &Path, html: &Path, png: &Path, height: u32) -> Vec<u8> {
    chromium(
        bin,
        profile,
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size=1280,{height}"),
        ],
        &format!("file://{}", html.display()),
    );
    std::fs::read(png).expect("screenshot written")
}

#[test]
#[allow(clippy::print_stdout)] // the skip notice must reach the CI log
fn report_renders_in_headless_chromium() {
    let Some(bin) = find_chromium() else {
        println!("skipped: chromium not installed (apt-get install -y chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    write_report(&run, &build(&full_inputs())).unwrap();
    let index = adopt_core::RunDir::new(&run)
        .report_dir()
        .join("index.html");
    let profile = dir.path().join("profile");

    // A blank page of the same size is the baseline: a report that failed to render (white
    // page, or CSS only) compresses to almost nothing, like it.
    let blank_html = dir.path().join("blank.html");
    std::fs::write(&blank_html, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank = screenshot(
        &bin,
        &profile,
        &blank_html,
        &dir.path().join("blank.png"),
        2400,
    );
    let shot = screenshot(&bin, &profile, &index, &dir.path().join("report.png"), 2400);
    assert_eq!(png_size(&shot), (1280, 2400));
    assert!(
        shot.len() > 20 * blank.len() && shot.len() > 50_000,
        "screenshot looks blank: {} bytes against {} for an empty page",
        shot.len(),
        blank.len()
    );
    if let Some(keep) = std::env::var_os("ADOPT_REPORT_SCREENSHOT_DIR") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(dir.path().join("report.png"), keep.join("report.png")).unwrap();
        std::fs::copy(&index, keep.join("index.html")).unwrap();
        let tall = screenshot(&bin, &profile, &index, &keep.join("report-full.png"), 9000);
        let _ = chromium(
            &bin,
            &profile,
            &[
                format!("--print-to-pdf={}", keep.join("report.pdf").display()),
                "--no-pdf-header-footer".to_string(),
            ],
            &format!("file://{}", index.display()),
        );
        assert!(!tall.is_empty());
    }

    let dom = chromium(
        &bin,
        &profile,
        &["--dump-dom".to_string()],
        &format!("file://{}", index.display()),
    );
    for heading in [
        "Data inventory",
        "数据盘点",
        "Parse fidelity",
        "Cleaning outcome",
        "Labelling coverage and agreement",
        "Knowledge-base retrieval",
        "Model-size recommendation and cost",
    ] {
        assert!(dom.contains(heading), "{heading} missing from the DOM");
    }
    for badge in [
        r#"class="badge v-ready""#,
        r#"class="badge v-needs-attention""#,
    ] {
        assert!(dom.contains(badge), "{badge} missing");
    }
    assert!(dom.contains("12 scanned PDFs have no text, even after OCR"));
    // Inventory (2), parsing (1), cleaning (3), labelling (2), retrieval (1), trial (2).
    assert!(dom.matches("<svg").count() >= 10, "charts missing");
    assert!(dom.contains("<circle"), "scatter plot missing");
    // The hostile file name is text, not an element the browser created.
    assert!(!dom.contains("<script"));
    assert!(dom.contains("&lt;script&gt;alert('x')&lt;/script&gt;.pdf"));
}
