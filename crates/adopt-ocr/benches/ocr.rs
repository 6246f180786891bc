//! OCR of scanned pages: adopt against RapidOCR's own Python pipeline on the same models and
//! against tesseract (chi_sim+eng), on pages this bench renders itself (Chinese passages from
//! CMRC 2018, English prose, several type sizes, one and two columns, A4 at 150 and 200 dpi,
//! with a scanner's tilt, blur, paper tone and specks), written as PNGs every engine reads.
//! Prints pages/s and character error rate per engine, measured in the same run.
//!
//! `cargo bench --workspace --bench ocr`. `ADOPT_OCR_PYTHON` is the interpreter with
//! `rapidocr_onnxruntime` (default python3); `ADOPT_OCR_BENCH_PAGES` takes the first N pages;
//! `ADOPT_OCR_BENCH_SKIP=rapidocr,tesseract` leaves baselines out; `ADOPT_OCR_BENCH_KEEP` is a
//! folder to keep the pages and each engine's text in.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ab_glyph::{Font, FontVec};
use adopt_ocr::render::{self, TextRun};
use adopt_ocr::{character_error_rate, OcrEngine, OcrSettings, RgbImage};

const CMRC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/zh/cmrc2018_trial.json"
);
const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/rapidocr_baseline.py");

/// English prose of the kind scanned into enterprise archives.
const ENGLISH: [&str; 10] = [
    "The quarterly review covers revenue, operating costs and headcount for each business unit. Revenue rose 12% to $48.2 million, driven by renewals in the logistics segment and two new framework contracts signed in March.",
    "All invoices above 5,000 EUR must be approved by the budget owner before payment. Invoices received without a purchase order number are returned to the supplier within ten working days.",
    "Section 4.2 of the service agreement requires the provider to restore the platform within four hours of a severity-one incident and to report the root cause within five business days.",
    "Employees who handle customer records complete the data protection course every year. Access to archived files is logged, and logs are kept for at least 24 months in line with the retention policy.",
    "Meeting minutes, 14 June: the committee agreed to move the warehouse inventory to the new system by the end of Q3, subject to a successful pilot at the Rotterdam site.",
    "The audit found that 37 of 412 sampled contracts lacked a signed amendment, mostly in regional offices where scanned copies were stored outside the document management system.",
    "Please return the completed form to the human resources department. Incomplete applications, or applications without proof of address, cannot be processed.",
    "Maintenance window: Saturday 02:00 to 06:00 UTC. During this period the reporting portal and the supplier interface will be unavailable; batch jobs resume automatically afterwards.",
    "Risk register update: currency exposure remains the largest open item, followed by the delayed migration of legacy billing data and the shortage of qualified network engineers.",
    "Shipping terms are FOB Shanghai unless stated otherwise. Claims for damaged goods must be made in writing within 7 days of delivery, with photographs and the carrier's reference number.",
];

/// One rendered page and the text drawn on it, in reading order.
struct Page {
    name: String,
    kind: &'static str,
    image: RgbImage,
    truth: String,
}

/// What one engine read on one page.
struct Reading {
    seconds: f64,
    text: String,
}

fn main() {
    let Some(font) = render::load_font(Path::new(render::DEFAULT_CJK_FONT)) else {
        println!(
            "skipped: no CJK font at {} (apt-get install fonts-wqy-microhei)",
            render::DEFAULT_CJK_FONT
        );
        return;
    };
    let mut engine = match OcrEngine::load_default(OcrSettings::default()) {
        Ok(engine) => engine,
        Err(err) => {
            println!("skipped: {err}");
            return;
        }
    };
    let chinese = chinese_passages(&font);
    let mut pages = build_pages(&font, &chinese);
    if let Some(n) = std::env::var("ADOPT_OCR_BENCH_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        pages.truncate(n);
    }
    let skip = std::env::var("ADOPT_OCR_BENCH_SKIP").unwrap_or_default();
    let temp = tempfile::tempdir().expect("a temporary folder");
    let keep = std::env::var_os("ADOPT_OCR_BENCH_KEEP").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("the page folder");
    let mut files = Vec::new();
    for page in &pages {
        let path = dir.join(format!("{}.png", page.name));
        std::fs::write(&path, png_gray(&page.image)).expect("writing a page");
        files.push(path);
    }
    let chars: usize = pages.iter().map(|p| visible_chars(&p.truth)).sum();
    println!(
        "{} pages ({} characters) in {}",
        pages.len(),
        chars,
        dir.display()
    );

    println!("load average before: {}", load_average());
    println!(
        "CER: edit distance over the truth's characters, both texts {} (one function for every engine)",
        adopt_ocr::CER_NORMALISATION
    );

    // (engine, seconds of OCR in all, one reading a page)
    let mut results: Vec<(String, f64, Vec<Reading>)> = Vec::new();

    // adopt: decoded pixels in, as the Python baseline gets them; one untimed warm-up page.
    let _ = engine.recognise(&pages[0].image);
    results.push(adopt_one_by_one(&mut engine, &pages, "adopt (1 thread)"));
    let two = OcrSettings {
        threads: 2,
        ..OcrSettings::default()
    };
    let mut engine2 = OcrEngine::load_default(two).expect("loaded once already");
    let _ = engine2.recognise(&pages[0].image);
    results.push(adopt_one_by_one(&mut engine2, &pages, "adopt (2 threads)"));
    results.push(adopt_two_at_a_time(engine, &pages));

    if skip.contains("rapidocr") {
        println!("skipped: RapidOCR (ADOPT_OCR_BENCH_SKIP)");
    } else {
        match rapidocr(&files) {
            Ok(readings) => results.push((
                "RapidOCR 1.4.4 (Python, its default threads)".into(),
                total(&readings),
                readings,
            )),
            Err(why) => println!("skipped: RapidOCR: {why}"),
        }
    }
    if skip.contains("tesseract") {
        println!("skipped: tesseract (ADOPT_OCR_BENCH_SKIP)");
    } else {
        match tesseract(&files) {
            Ok((version, readings)) => {
                results.push((format!("{version} chi_sim+eng"), total(&readings), readings))
            }
            Err(why) => println!("skipped: tesseract: {why}"),
        }
    }

    if let Some(keep) = &keep {
        for (engine, _, readings) in &results {
            let slug: String = engine
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
                .to_lowercase();
            for (page, reading) in pages.iter().zip(readings) {
                let _ = std::fs::write(
                    keep.join(format!("{}.{slug}.txt", page.name)),
                    &reading.text,
                );
            }
        }
        for page in &pages {
            let _ = std::fs::write(keep.join(format!("{}.truth.txt", page.name)), &page.truth);
        }
    }

    println!("load average after: {}", load_average());
    println!();
    println!("| engine | pages/s | CER | CER zh | CER en | CER two-column |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (engine, seconds, readings) in &results {
        let by_kind = cer_by_kind(&pages, readings);
        let cell = |kind: &str| {
            by_kind
                .get(kind)
                .map_or("-".into(), |c| format!("{:.2}%", c * 100.0))
        };
        println!(
            "| {engine} | {:.3} | {:.2}% | {} | {} | {} |",
            readings.len() as f64 / seconds,
            cer(pages.iter().zip(readings)) * 100.0,
            cell("zh"),
            cell("en"),
            cell("two-column"),
        );
    }
    if let Some((_, theirs, _)) = results.iter().find(|r| r.0.starts_with("RapidOCR")) {
        println!();
        for (engine, ours, _) in results.iter().filter(|r| r.0.starts_with("adopt")) {
            println!("{engine} / RapidOCR pages/s: {:.2}x", theirs / ours);
        }
    }
}

/// Other work on the machine slows every engine; the figures mean more beside it.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn total(readings: &[Reading]) -> f64 {
    readings.iter().map(|r| r.seconds).sum()
}

/// Pages one after another on one engine.
fn adopt_one_by_one(
    engine: &mut OcrEngine,
    pages: &[Page],
    name: &str,
) -> (String, f64, Vec<Reading>) {
    let mut readings = Vec::new();
    for page in pages {
        let start = Instant::now();
        let text = engine.recognise(&page.image).expect("recognise").text();
        readings.push(Reading {
            seconds: start.elapsed().as_secs_f64(),
            text,
        });
    }
    (name.to_string(), total(&readings), readings)
}

/// Two engines of one thread each, one page at a time each, taking the next page as they
/// finish: the wall time over all pages is what counts.
fn adopt_two_at_a_time(first: OcrEngine, pages: &[Page]) -> (String, f64, Vec<Reading>) {
    let mut second = OcrEngine::load_default(OcrSettings::default()).expect("loaded once already");
    let _ = second.recognise(&pages[0].image);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    let mut read: Vec<(usize, Reading)> = std::thread::scope(|scope| {
        let workers: Vec<_> = [first, second]
            .into_iter()
            .map(|mut engine| {
                let next = &next;
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(page) = pages.get(i) else { break };
                        let t = Instant::now();
                        let text = engine.recognise(&page.image).expect("recognise").text();
                        let seconds = t.elapsed().as_secs_f64();
                        mine.push((i, Reading { seconds, text }));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker"))
            .collect()
    });
    let wall = start.elapsed().as_secs_f64();
    read.sort_by_key(|(i, _)| *i);
    (
        "adopt (2 pages at a time, 1 thread each)".into(),
        wall,
        read.into_iter().map(|(_, r)| r).collect(),
    )
}

fn visible_chars(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// Character error rate over all the pages given: edits summed over characters summed.
fn cer<'a>(pairs: impl Iterator<Item = (&'a Page, &'a Reading)>) -> f64 {
    let (mut edits, mut total) = (0.0, 0usize);
    for (page, reading) in pairs {
        let n = visible_chars(&page.truth);
        edits += character_error_rate(&page.truth, &reading.text) * n as f64;
        total += n;
    }
    edits / total.max(1) as f64
}

fn cer_by_kind(pages: &[Page], readings: &[Reading]) -> BTreeMap<&'static str, f64> {
    let mut kinds: Vec<&'static str> = pages.iter().map(|p| p.kind).collect();
    kinds.dedup();
    kinds
        .into_iter()
        .map(|kind| {
            let pairs = pages.iter().zip(readings).filter(|(p, _)| p.kind == kind);
            (kind, cer(pairs))
        })
        .collect()
}

/// CMRC 2018 trial passages, characters the font has no glyph for left out (nobody could
/// read them off the page).
fn chinese_passages(font: &FontVec) -> Vec<String> {
    let json = std::fs::read_to_string(CMRC).unwrap_or_else(|e| panic!("{CMRC}: {e}"));
    let data: serde_json::Value = serde_json::from_str(&json).expect("CMRC json");
    data.as_array()
        .expect("a list of passages")
        .iter()
        .filter_map(|p| p["context_text"].as_str())
        .map(|t| {
            t.chars()
                .filter(|&c| c == ' ' || (!c.is_control() && font.glyph_id(c).0 != 0))
                .collect::<String>()
        })
        .collect()
}

/// Page sizes in pixels: A4 at `dpi`.
fn a4(dpi: f32) -> (usize, usize) {
    (
        (8.27 * dpi).round() as usize,
        (11.69 * dpi).round() as usize,
    )
}

/// How a page was "scanned".
#[derive(Clone, Copy)]
struct Scan {
    degrees: f32,
    blur: usize,
    noise: f32,
    specks: f32,
    paper: u8,
}

fn build_pages(font: &FontVec, chinese: &[String]) -> Vec<Page> {
    let clean = Scan {
        degrees: 0.0,
        blur: 0,
        noise: 0.0,
        specks: 0.0,
        paper: 255,
    };
    let scans = [
        clean,
        Scan {
            degrees: 0.6,
            blur: 1,
            noise: 6.0,
            specks: 0.0002,
            paper: 240,
        },
        Scan {
            degrees: -1.2,
            blur: 1,
            noise: 10.0,
            specks: 0.0005,
            paper: 232,
        },
        Scan {
            degrees: 0.3,
            blur: 2,
            noise: 4.0,
            specks: 0.0001,
            paper: 246,
        },
        Scan {
            degrees: -0.4,
            blur: 0,
            noise: 14.0,
            specks: 0.001,
            paper: 236,
        },
    ];
    // (kind, px at 150 dpi): body sizes from 9 to 16 points.
    let plan: [(&str, f32, f32); 24] = [
        ("zh", 150.0, 24.0),
        ("en", 150.0, 24.0),
        ("zh", 150.0, 20.0),
        ("en", 150.0, 20.0),
        ("two-column", 150.0, 22.0),
        ("zh", 150.0, 30.0),
        ("en", 150.0, 30.0),
        ("mixed", 150.0, 24.0),
        ("zh", 200.0, 32.0),
        ("en", 200.0, 30.0),
        ("two-column", 200.0, 28.0),
        ("zh", 150.0, 19.0),
        ("en", 150.0, 19.0),
        ("zh", 150.0, 34.0),
        ("mixed", 200.0, 36.0),
        ("two-column", 150.0, 20.0),
        ("zh", 200.0, 26.0),
        ("en", 200.0, 42.0),
        ("zh", 150.0, 26.0),
        ("en", 150.0, 26.0),
        ("two-column", 150.0, 26.0),
        ("mixed", 150.0, 20.0),
        ("zh", 200.0, 40.0),
        ("en", 150.0, 22.0),
    ];
    let mut zh = chinese.iter().cycle();
    let mut en = ENGLISH.iter().cycle();
    let mut pages = Vec::new();
    for (i, &(kind, dpi, px)) in plan.iter().enumerate() {
        let (w, h) = a4(dpi);
        let margin = 0.8 * dpi;
        let mut layout = Layout::new(font, h as f32 - margin, margin);
        match kind {
            "two-column" => {
                let gutter = 0.3 * dpi;
                let col = (w as f32 - 2.0 * margin - gutter) / 2.0;
                layout.paragraph(
                    &format!("第{}号 季度运营报告", i + 1),
                    px * 1.6,
                    margin,
                    w as f32 - 2.0 * margin,
                );
                let top = layout.y;
                let columns = [margin, margin + col + gutter];
                for (c, &x) in columns.iter().enumerate() {
                    layout.y = top;
                    while layout.fits(px) {
                        let text = if c == 0 || i % 2 == 0 {
                            zh.next().unwrap().as_str()
                        } else {
                            en.next().unwrap()
                        };
                        layout.paragraph(text, px, x, col);
                    }
                }
            }
            _ => {
                let title = match kind {
                    "en" => format!("Document {} - Operations Review", i + 1),
                    _ => format!("文件编号 {} 年度工作报告", 2024000 + i),
                };
                layout.paragraph(&title, px * 1.5, margin, w as f32 - 2.0 * margin);
                let mut k = 0;
                while layout.fits(px) {
                    let text = match kind {
                        "zh" => zh.next().unwrap().as_str(),
                        "en" => en.next().unwrap(),
                        _ if k % 2 == 0 => zh.next().unwrap().as_str(),
                        _ => en.next().unwrap(),
                    };
                    layout.paragraph(text, px, margin, w as f32 - 2.0 * margin);
                    k += 1;
                }
            }
        }
        let scan = scans[i % scans.len()];
        let image = scanned(
            &render::render(font, w, h, &layout.runs),
            scan,
            i as u64 + 1,
        );
        pages.push(Page {
            name: format!("{:02}-{kind}-{}dpi-{}px", i + 1, dpi as u32, px as u32),
            kind: if kind == "mixed" { "zh" } else { kind },
            image,
            truth: layout.lines.join("\n"),
        });
    }
    pages
}

/// Paragraphs placed down a page, each line remembered as the ground truth.
struct Layout<'a> {
    font: &'a FontVec,
    runs: Vec<TextRun>,
    lines: Vec<String>,
    y: f32,
    bottom: f32,
}

impl<'a> Layout<'a> {
    fn new(font: &'a FontVec, bottom: f32, top: f32) -> Self {
        Self {
            font,
            runs: Vec::new(),
            lines: Vec::new(),
            y: top,
            bottom,
        }
    }

    fn fits(&self, px: f32) -> bool {
        self.y + 1.6 * px * 2.0 < self.bottom
    }

    /// As much of `text` as fits, then a paragraph gap.
    fn paragraph(&mut self, text: &str, px: f32, x: f32, width: f32) {
        for line in render::wrap_text(self.font, text, px, width) {
            if self.y + 1.6 * px > self.bottom {
                break;
            }
            self.runs.push(TextRun {
                text: line.clone(),
                x,
                y: self.y,
                px,
            });
            self.lines.push(line);
            self.y += 1.6 * px;
        }
        self.y += 0.8 * px;
    }
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Roughly normal, mean 0, deviation 1 (sum of four uniforms).
    fn normal(&mut self) -> f32 {
        ((0..4).map(|_| self.unit()).sum::<f32>() - 2.0) * 3f32.sqrt()
    }
}

/// `page` as a scanner gives it back: turned by `degrees`, blurred, on toned paper, with
/// sensor noise and dust specks.
fn scanned(page: &RgbImage, scan: Scan, seed: u64) -> RgbImage {
    let (w, h) = (page.width, page.height);
    let gray: Vec<f32> = page.pixels.chunks_exact(3).map(|p| p[0] as f32).collect();
    let mut out = if scan.degrees == 0.0 {
        gray
    } else {
        let (s, c) = scan.degrees.to_radians().sin_cos();
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let mut out = vec![255f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let sx = c * dx + s * dy + cx;
                let sy = -s * dx + c * dy + cy;
                if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
                    continue;
                }
                let (x0, y0) = (sx as usize, sy as usize);
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                let at = |x: usize, y: usize| gray[y * w + x];
                let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
                let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
                out[y * w + x] = top * (1.0 - fy) + bottom * fy;
            }
        }
        out
    };
    for _ in 0..scan.blur {
        out = blur3(&out, w, h);
    }
    let mut rng = Rng(seed);
    let paper = scan.paper as f32 / 255.0;
    let mut bytes: Vec<u8> = out
        .iter()
        .map(|&v| {
            (v * paper + scan.noise * rng.normal())
                .round()
                .clamp(0.0, 255.0) as u8
        })
        .collect();
    let specks = (scan.specks * (w * h) as f32) as usize;
    for _ in 0..specks {
        let (x, y) = (
            (rng.next() % w as u64) as usize,
            (rng.next() % h as u64) as usize,
        );
        let size = 1 + (rng.next() % 3) as usize;
        let ink = (rng.next() % 90) as u8;
        for yy in y..(y + size).min(h) {
            for xx in x..(x + size).min(w) {
                bytes[yy * w + xx] = ink;
            }
        }
    }
    RgbImage::from_gray(w, h, &bytes).expect("sized")
}

/// A 3 x 3 binomial blur (1 2 1 each way), edges repeated.
fn blur3(src: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut tmp = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let l = src[y * w + x.saturating_sub(1)];
            let r = src[y * w + (x + 1).min(w - 1)];
            tmp[y * w + x] = (l + 2.0 * src[y * w + x] + r) / 4.0;
        }
    }
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let u = tmp[y.saturating_sub(1) * w + x];
            let d = tmp[(y + 1).min(h - 1) * w + x];
            out[y * w + x] = (u + 2.0 * tmp[y * w + x] + d) / 4.0;
        }
    }
    out
}

/// A grayscale PNG of `image`'s first channel, deflate "stored" blocks (no compression
/// dependency; the files are temporary).
fn png_gray(image: &RgbImage) -> Vec<u8> {
    let (w, h) = (image.width, image.height);
    let mut raw = Vec::with_capacity((w + 1) * h);
    for row in image.pixels.chunks_exact(w * 3) {
        raw.push(0); // filter: none
        raw.extend(row.chunks_exact(3).map(|p| p[0]));
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend(len.to_le_bytes());
        zlib.extend((!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + byte as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend(((b << 16) | a).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend((w as u32).to_be_bytes());
    ihdr.extend((h as u32).to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit gray, deflate, no filter method, no interlace
    for (kind, data) in [(b"IHDR", ihdr), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        png.extend((data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend(data);
        png.extend_from_slice(&chunk);
        png.extend(crc32(&chunk).to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// RapidOCR's pipeline in Python on `files`, one reading per file.
fn rapidocr(files: &[PathBuf]) -> Result<Vec<Reading>, String> {
    let python = std::env::var("ADOPT_OCR_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(BASELINE)
        .args(files)
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{python} exited with {}: {} (set ADOPT_OCR_PYTHON to a Python with rapidocr-onnxruntime==1.4.4)",
            out.status,
            err.lines().last().unwrap_or("").trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let readings: Vec<Reading> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| Reading {
            seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
            text: v["text"].as_str().unwrap_or("").to_string(),
        })
        .collect();
    if readings.len() != files.len() {
        return Err(format!(
            "{} results for {} pages",
            readings.len(),
            files.len()
        ));
    }
    Ok(readings)
}

/// tesseract on each file, process start included (that is how it is used on a folder of
/// scans).
fn tesseract(files: &[PathBuf]) -> Result<(String, Vec<Reading>), String> {
    let langs = Command::new("tesseract")
        .arg("--list-langs")
        .output()
        .map_err(|e| {
            format!("not installed ({e}); apt-get install tesseract-ocr tesseract-ocr-chi-sim")
        })?;
    let listed = String::from_utf8_lossy(&langs.stdout).to_string()
        + &String::from_utf8_lossy(&langs.stderr);
    if !listed.lines().any(|l| l.trim() == "chi_sim") {
        return Err("no chi_sim language data (apt-get install tesseract-ocr-chi-sim)".into());
    }
    let version = Command::new("tesseract")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "tesseract".into());
    let mut readings = Vec::new();
    for file in files {
        let start = Instant::now();
        let out = Command::new("tesseract")
            .arg(file)
            .args(["stdout", "-l", "chi_sim+eng"])
            .output()
            .map_err(|e| e.to_string())?;
        let seconds = start.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!(
                "{}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        readings.push(Reading {
            seconds,
            text: String::from_utf8_lossy(&out.stdout).into_owned(),
        });
    }
    Ok((version, readings))
}
