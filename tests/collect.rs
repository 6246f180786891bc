//! End-to-end tests of `adopt collect` on the bundled example, the shared corpus of real-world
//! PDFs and spreadsheets, and files these tests write themselves.

// Skip notices must reach the CI log.
#![allow(clippy::print_stdout)]

mod common;

use std::path::Path;

use common::*;

use adopt_collect::{read_documents, store::read_quarantine};
use adopt_core::{Document, Format, RunDir};

fn docs(run_dir: &Path) -> Vec<Document> {
    let rd = RunDir::new(run_dir);
    read_documents(&rd.documents(), Some(&rd.tables_index())).unwrap()
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect()
}

#[test]
fn bank_example_is_collected_with_departments_encodings_and_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let bank = repo().join("examples/bank");
    let out = adopt(&run, &["collect", bank.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("0 quarantined"), "{stdout}");

    let docs = docs(&run);
    assert_eq!(docs.len(), 10, "{stdout}");

    let pdf = by_name(&docs, "风险评估报告-2024Q1.pdf");
    assert_eq!(pdf.department.as_deref(), Some("risk"));
    assert_eq!(pdf.format, Format::Pdf);
    assert_eq!(pdf.page_count, 2);
    assert_eq!(pdf.unit_labels, ["page 1", "page 2"]);
    assert_eq!(pdf.title.as_deref(), Some("2024年第一季度信用风险评估报告"));
    let pages: Vec<&str> = pdf.units().map(|(_, t)| t).collect();
    assert!(
        squash(pages[0]).contains("不良贷款率为1.32%"),
        "{}",
        pages[0]
    );
    assert!(squash(pages[1]).contains("启动催收流程"), "{}", pages[1]);

    let csv = by_name(&docs, "欺诈案件-2024-03.csv");
    assert_eq!(csv.encoding.as_deref(), Some("gb18030"));
    assert_eq!(csv.department.as_deref(), Some("fraud"));
    assert!(
        csv.text.contains("渠道: 手机银行") || csv.text.contains("渠道: 网银"),
        "{}",
        &csv.text[..300.min(csv.text.len())]
    );
    assert_eq!(csv.tables.len(), 1);
    assert_eq!((csv.tables[0].n_rows, csv.tables[0].n_cols), (40, 6));

    let notes = by_name(&docs, "call-notes.txt");
    assert_eq!(notes.encoding.as_deref(), Some("UTF-16LE"));
    assert!(notes.text.contains("已冻结卡片并转反欺诈组处理"));

    let xlsx = by_name(&docs, "credit-scores-2024-03.xlsx");
    assert_eq!(xlsx.unit_labels, ["sheet 客户评分", "sheet Score bands"]);
    assert_eq!(xlsx.tables.len(), 2);
    assert_eq!((xlsx.tables[0].n_rows, xlsx.tables[0].n_cols), (60, 8));
    // Each value keeps its header, so "what is the credit limit of C10001" has an answer.
    let first_row = xlsx.text.lines().find(|l| l.contains("C10001")).unwrap();
    assert!(first_row.contains("授信额度: "), "{first_row}");
    assert!(first_row.contains("开户日期: 20"), "{first_row}");

    let docx = by_name(&docs, "评分规则.docx");
    assert_eq!(docx.title.as_deref(), Some("个人客户信用评分规则"));
    assert!(
        docx.text.contains("还款记录 | 35% | 近24个月逾期次数"),
        "{}",
        docx.text
    );

    let html = by_name(&docs, "faq.html");
    assert!(html.text.contains("# 发现盗刷怎么办？"));
    assert!(!html.text.contains("analytics"));
    assert!(!html.text.contains("首页"));

    let md = by_name(&docs, "collateral-policy.md");
    assert_eq!(md.title.as_deref(), Some("Collateral revaluation policy"));

    let jsonl = by_name(&docs, "alerts.jsonl");
    assert_eq!((jsonl.tables[0].n_rows, jsonl.tables[0].n_cols), (25, 5));

    // Every table in the index exists as a Parquet file.
    for d in &docs {
        for t in &d.tables {
            assert!(run.join("tables").join(&t.file).is_file(), "{}", t.file);
        }
    }
}

#[test]
fn rerun_is_incremental_and_tracks_changes_and_deletions() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("data");
    let run = tmp.path().join("run");
    std::fs::create_dir_all(src.join("risk")).unwrap();
    std::fs::create_dir_all(src.join("credit")).unwrap();
    std::fs::write(src.join("risk/a.md"), "# A\n\n风险提示一").unwrap();
    std::fs::write(src.join("risk/b.txt"), "plain note").unwrap();
    std::fs::write(src.join("credit/c.csv"), "id,limit\n1,500\n2,800\n").unwrap();
    let s = src.to_str().unwrap();

    let out = adopt(&run, &["collect", s, "--json"]);
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["read"], 3);

    let out = adopt(&run, &["collect", s, "--json"]);
    let second: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (second["read"].as_u64(), second["unchanged"].as_u64()),
        (Some(0), Some(3))
    );

    std::fs::write(src.join("risk/a.md"), "# A\n\n风险提示二").unwrap();
    std::fs::remove_file(src.join("credit/c.csv")).unwrap();
    let out = adopt(&run, &["collect", s, "--json"]);
    let third: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(third["read"], 1, "{third}");
    assert_eq!(third["removed"], 1, "{third}");
    assert_eq!(third["documents"], 2, "{third}");
    let d = docs(&run);
    assert!(by_name(&d, "a.md").text.contains("风险提示二"));
    // The removed CSV's table file is gone too.
    assert_eq!(std::fs::read_dir(run.join("tables")).unwrap().count(), 0);

    let out = adopt(&run, &["collect", s, "--json", "--full"]);
    let full: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(full["read"], 2, "{full}");
}

#[test]
fn text_encodings_are_detected_and_bad_files_do_not_stop_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("in");
    let run = tmp.path().join("run");
    std::fs::create_dir_all(&src).unwrap();
    let zh = "客户张伟的信用卡额度为五万元，逾期记录为零。";
    std::fs::write(src.join("gbk.txt"), encoding_rs::GBK.encode(zh).0).unwrap();
    let utf16: Vec<u8> = zh.encode_utf16().flat_map(u16::to_le_bytes).collect();
    std::fs::write(src.join("utf16-nobom.txt"), utf16).unwrap();
    std::fs::write(
        src.join("broken.pdf"),
        b"%PDF-1.4\n this is not really a pdf",
    )
    .unwrap();
    std::fs::write(src.join("broken.xlsx"), b"PK\x03\x04 truncated zip").unwrap();
    std::fs::write(src.join("broken.docx"), b"not a zip at all").unwrap();
    std::fs::write(src.join("photo.png"), b"\x89PNG\r\n").unwrap();
    std::fs::write(src.join(".hidden.txt"), b"ignored").unwrap();
    // 7-bit ISO-2022-JP passes for ASCII; one non-ASCII byte is too little to go on.
    let ja = "与信審査の結果、融資枠を五千万円に設定しました。";
    std::fs::write(src.join("jis.txt"), encoding_rs::ISO_2022_JP.encode(ja).0).unwrap();
    let euro = "Fee: 5 € per transfer";
    std::fs::write(
        src.join("fee.txt"),
        encoding_rs::WINDOWS_1252.encode(euro).0,
    )
    .unwrap();

    adopt(
        &run,
        &["collect", src.to_str().unwrap(), "--department", "ops"],
    );
    let d = docs(&run);
    assert_eq!(d.len(), 4);
    for name in ["gbk.txt", "utf16-nobom.txt"] {
        let doc = by_name(&d, name);
        assert_eq!(doc.text, zh, "{name}");
        assert_eq!(doc.department.as_deref(), Some("ops"));
        assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);
    }
    let jis = by_name(&d, "jis.txt");
    assert_eq!(
        (jis.text.as_str(), jis.encoding.as_deref()),
        (ja, Some("ISO-2022-JP"))
    );
    let fee = by_name(&d, "fee.txt");
    assert_eq!(fee.text, euro);
    assert!(
        fee.warnings
            .iter()
            .any(|w| w.contains("windows-1252 is uncertain")),
        "{:?}",
        fee.warnings
    );
    assert_eq!(by_name(&d, "gbk.txt").encoding.as_deref(), Some("gb18030"));
    assert_eq!(
        by_name(&d, "utf16-nobom.txt").encoding.as_deref(),
        Some("UTF-16LE")
    );

    let q = read_quarantine(&RunDir::new(&run).quarantine()).unwrap();
    let names: Vec<&str> = q
        .iter()
        .map(|e| e.path.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["broken.docx", "broken.pdf", "broken.xlsx", "photo.png"]
    );
    for e in &q {
        assert!(!e.reason.is_empty());
        assert_eq!(e.department.as_deref(), Some("ops"));
    }
    // A .png is an image file now (read by OCR); these bytes are no picture.
    assert_eq!(q[3].kind, "unreadable");
    assert!(q[3].reason.contains("not a picture"), "{}", q[3].reason);
    assert!(q[0].reason.contains("DOCX"), "{}", q[0].reason);
}

/// Every real-world PDF and spreadsheet in the shared corpus is either collected or quarantined
/// with a specific reason: nothing crashes the run, nothing hangs it.
#[test]
fn whole_corpus_is_collected_or_quarantined() {
    let corpus = corpus();
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let pdf = corpus.join("pdf");
    let sheets = corpus.join("sheets");
    adopt(
        &run,
        &[
            "collect",
            pdf.to_str().unwrap(),
            sheets.to_str().unwrap(),
            "--file-timeout",
            "60",
            "--file-memory",
            "1024",
        ],
    );
    let d = docs(&run);
    let q = read_quarantine(&RunDir::new(&run).quarantine()).unwrap();
    let files = |dir: &Path| std::fs::read_dir(dir).unwrap().count();
    assert_eq!(
        d.len() + q.len(),
        files(&pdf) + files(&sheets),
        "quarantined: {q:#?}"
    );
    for e in &q {
        assert!(
            e.reason.len() > 5,
            "vague reason for {}: {}",
            e.path,
            e.reason
        );
    }
    let kind = |name: &str| {
        q.iter()
            .find(|e| e.path.ends_with(name))
            .map(|e| e.kind.as_str())
    };
    assert_eq!(kind("empty.pdf"), Some("unreadable"));
    assert_eq!(kind("too_small.xls"), Some("unreadable"));

    // Real words from real files.
    let text = |name: &str| squash(&by_name(&d, name).text);
    assert!(text("scotus-transcript-p1.pdf").contains("SUPREMECOURT"));
    let warn = by_name(&d, "WARN-Report-for-7-1-2015-to-03-25-2016.pdf");
    assert!(warn.page_count >= 10);
    let inventory = by_name(&d, "inventory-table.xlsx");
    assert!(!inventory.tables.is_empty());
    let merged = by_name(&d, "merge_cells.xlsx");
    assert!(merged.page_count >= 1);
}

/// A PDF written here: page 1 has a text layer, page 2 is a "scan" (a JPEG of rendered
/// Chinese and English lines, drawn over the page), page 3 an image in an encoding that is
/// not valid (JBIG2 bytes that are garbage). Objects are laid out by hand so offsets are exact.
fn mixed_pdf(scan_jpeg: &[u8], scan_w: u32, scan_h: u32) -> Vec<u8> {
    let (pw, ph) = (500, 350);
    let page1 = "BT /F1 14 Tf 40 300 Td (Quarterly credit risk summary for the board) Tj ET";
    let page2 = format!("q {pw} 0 0 {ph} 0 0 cm /Im1 Do Q");
    let page3 = format!("q {pw} 0 0 {ph} 0 0 cm /Im2 Do Q");
    let stream = |dict: String, data: &[u8]| {
        let mut v = format!("{dict} /Length {} >>\nstream\n", data.len()).into_bytes();
        v.extend_from_slice(data);
        v.extend_from_slice(b"\nendstream");
        v
    };
    let page = |content: u32, res: &str| {
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw} {ph}] /Contents {content} 0 R /Resources << {res} >> >>"
        )
        .into_bytes()
    };
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R 6 0 R 9 0 R] /Count 3 >>".to_vec(),
        page(4, "/Font << /F1 5 0 R >>"),
        stream("<<".into(), page1.as_bytes()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        page(7, "/XObject << /Im1 8 0 R >>"),
        stream("<<".into(), page2.as_bytes()),
        stream(
            format!("<< /Type /XObject /Subtype /Image /Width {scan_w} /Height {scan_h} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode"),
            scan_jpeg,
        ),
        page(10, "/XObject << /Im2 11 0 R >>"),
        stream("<<".into(), page3.as_bytes()),
        stream(
            "<< /Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode".into(),
            b"this is not a JBIG2 stream at all",
        ),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn encode(image: &adopt_ocr::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let buf = image::RgbImage::from_raw(
        image.width as u32,
        image.height as u32,
        image.pixels.clone(),
    )
    .unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    buf.write_to(&mut out, format).unwrap();
    out.into_inner()
}

const SCAN_LINES: [&str; 4] = [
    "信用风险评估报告",
    "Loan review committee minutes 2024",
    "不良贷款率为百分之一点三二",
    "Approved by the risk department",
];
const PHOTO_LINES: [&str; 2] = ["反欺诈调查记录第十二号", "Card frozen on 15 March"];

#[test]
fn scanned_pages_and_image_files_are_read_by_ocr_and_text_pages_keep_their_layer() {
    let Some(font) = adopt_ocr::render::load_font(Path::new(adopt_ocr::render::DEFAULT_CJK_FONT))
    else {
        println!(
            "skipped: no CJK font at {}",
            adopt_ocr::render::DEFAULT_CJK_FONT
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src/risk");
    std::fs::create_dir_all(&src).unwrap();
    let scan = adopt_ocr::render::render_lines(&font, &SCAN_LINES, 34.0);
    let jpeg = encode(&scan, image::ImageFormat::Jpeg);
    std::fs::write(
        src.join("minutes.pdf"),
        mixed_pdf(&jpeg, scan.width as u32, scan.height as u32),
    )
    .unwrap();
    let photo = adopt_ocr::render::render_lines(&font, &PHOTO_LINES, 30.0);
    std::fs::write(
        src.join("case-12.png"),
        encode(&photo, image::ImageFormat::Png),
    )
    .unwrap();

    // Without models: collected all the same, one line saying how to get them.
    let empty_cache = tmp.path().join("no-models");
    let run0 = tmp.path().join("run0");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_adopt"))
        .arg("--run-dir")
        .arg(&run0)
        .args(["collect", src.parent().unwrap().to_str().unwrap()])
        .env("ADOPT_MODEL_CACHE", &empty_cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("adopt models fetch ocr"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let d0 = docs(&run0);
    assert_eq!(d0.len(), 2);
    let pdf0 = by_name(&d0, "minutes.pdf");
    assert!(pdf0
        .units()
        .next()
        .unwrap()
        .1
        .contains("Quarterly credit risk"));
    assert!(
        pdf0.warnings
            .iter()
            .any(|w| w.contains("adopt models fetch ocr")),
        "{:?}",
        pdf0.warnings
    );

    if let Err(why) = adopt_ocr::models::check(&adopt_ocr::models::default_model_dir(), false) {
        println!("skipped the OCR half: {why}");
        return;
    }
    let run = tmp.path().join("run");
    let out = adopt(&run, &["collect", src.parent().unwrap().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("0 quarantined"), "{stdout}");
    assert!(stdout.contains("OCR read 2 pages"), "{stdout}");
    let collected = docs(&run);
    let pdf = by_name(&collected, "minutes.pdf");
    assert_eq!(pdf.unit_labels, ["page 1", "page 2", "page 3"]);
    let pages: Vec<&str> = pdf.units().map(|(_, t)| t).collect();
    // The text layer is kept as it is; only the scanned page went through OCR.
    assert_eq!(
        pages[0].trim(),
        "Quarterly credit risk summary for the board"
    );
    let cer = adopt_ocr::character_error_rate(&SCAN_LINES.join("\n"), pages[1]);
    assert!(cer < 0.05, "CER {cer:.3}: {:?}", pages[1]);
    assert!(
        !pdf.warnings.iter().any(|w| w.starts_with("page 1: OCR")),
        "{:?}",
        pdf.warnings
    );
    assert!(
        pdf.warnings
            .iter()
            .any(|w| w.starts_with("page 2: OCR: ") && w.contains("confidence 0.")),
        "{:?}",
        pdf.warnings
    );
    // The broken image is named with its page and encoding; the rest of the file is kept.
    assert!(
        pdf.warnings
            .iter()
            .any(|w| w.starts_with("page 3: image 1 (JBIG2Decode, 64x64) not decoded")),
        "{:?}",
        pdf.warnings
    );
    assert!(pages[2].trim().is_empty());

    let png = by_name(&collected, "case-12.png");
    assert_eq!(png.format, Format::Image);
    assert_eq!(png.department.as_deref(), Some("risk"));
    assert_eq!(png.unit_labels, ["image"]);
    let cer = adopt_ocr::character_error_rate(&PHOTO_LINES.join("\n"), &png.text);
    assert!(cer < 0.05, "CER {cer:.3}: {:?}", png.text);

    // ocr = "off": the scan stays empty and the picture is not a document.
    let run_off = tmp.path().join("run-off");
    let out = adopt(
        &run_off,
        &[
            "collect",
            "--ocr",
            "off",
            src.parent().unwrap().to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 quarantined"));
    let off = docs(&run_off);
    assert_eq!(off.len(), 1);
    assert!(off[0].units().nth(1).unwrap().1.trim().is_empty());
}
