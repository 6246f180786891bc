//! Integration tests over the shared PDF corpus and PDFs written by the tests themselves.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use adopt_pdf::{extract, PdfDocument, PdfError, TableMethod};
use lopdf::{dictionary, Document, Object, Stream};

const CORPUS: &str = "../../../shared/corpus/pdf";

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(CORPUS).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn open(name: &str) -> PdfDocument {
    extract(&corpus(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn simple_text_and_page_numbers() {
    let doc = open("hello_structure.pdf");
    assert_eq!(doc.pages.len(), 2);
    assert_eq!(doc.pages[0].number, 1);
    assert_eq!(doc.pages[1].number, 2);
    assert!(doc.pages[0].text.contains("Hello World"));
    assert!(doc.pages[1].text.contains("Goodbye Cruel World..."));
    assert!(doc.pages[1].text.contains("I’ll be back shortly!"));
}

#[test]
fn reading_order_top_to_bottom() {
    let doc = open("scotus-transcript-p1.pdf");
    let text = squash(&doc.pages[0].text);
    let court = text
        .find("IN THE SUPREME COURT OF THE UNITED STATES")
        .expect("heading");
    let official = text
        .find("Official - Subject to Final Review")
        .expect("header");
    assert!(official < court, "{text}");
}

#[test]
fn tex_fonts_with_builtin_encoding_and_two_columns() {
    let doc = open("issue-982-example.pdf");
    let text = squash(&doc.pages[0].text);
    assert!(text.contains("Creativity in Machine Learning"), "{text}");
    assert!(text.contains("Martin Thoma"));
    // The abstract (left column) is read before the right column's text continues.
    let abs = text
        .find("Recent machine learning techniques")
        .expect("abstract");
    assert!(text[abs..].contains("forms: As images, as text and as audio."));
    assert_eq!(
        doc.metadata.title.as_deref(),
        Some("Art in Machine Learning")
    );
    assert_eq!(doc.metadata.author.as_deref(), Some("Martin Thoma"));
}

#[test]
fn cjk_gbk_cmap_and_metadata() {
    let doc = open("pr-136-example.pdf");
    assert_eq!(doc.pages.len(), 6);
    assert!(
        doc.pages[0]
            .text
            .contains("关于浙江菲达环保科技股份有限公司"),
        "{}",
        doc.pages[0].text
    );
    assert!(doc.pages[0].text.contains("上海证券交易所"));
    assert_eq!(doc.metadata.author.as_deref(), Some("投知网"));
}

#[test]
fn cjk_identity_h_with_to_unicode_and_duplicate_chars() {
    let doc = open("issue-71-duplicate-chars.pdf");
    let text = doc.text();
    assert!(text.contains("项目描述"), "{text}");
    assert!(text.contains("爆破方案优化设计"));
    assert!(
        !text.contains("项项目目"),
        "overprinted characters must not double"
    );
}

#[test]
fn overprinted_latin_is_deduplicated() {
    let doc = open("issue-71-duplicate-chars-2.pdf");
    let text = squash(&doc.text());
    assert!(
        text.contains("Troubles de l’équilibre acido-basique"),
        "{}",
        &text[..2000.min(text.len())]
    );
    assert!(!text.contains("TTrroouubblleess"));
}

#[test]
fn rotated_page_reads_horizontally_with_table() {
    let doc = open("nics-background-checks-2015-11-rotated.pdf");
    let page = &doc.pages[0];
    assert!(page.text.contains("State / Territory"), "{}", page.text);
    assert!(page.text.contains("Alabama"));
    let table = page
        .tables
        .iter()
        .find(|t| t.rows.len() > 50)
        .expect("NICS table");
    assert_eq!(table.method, TableMethod::Ruled);
    let alabama = table
        .rows
        .iter()
        .find(|r| r.first().is_some_and(|c| c == "Alabama"))
        .expect("Alabama row");
    assert_eq!(alabama.get(1).map(String::as_str), Some("18,870"));
    assert!(alabama.len() >= 20);
}

#[test]
fn ruled_table_rows_and_header() {
    let doc = open("WARN-Report-for-7-1-2015-to-03-25-2016.pdf");
    assert_eq!(doc.pages.len(), 16);
    let table = &doc.pages[0].tables[0];
    assert_eq!(table.method, TableMethod::Ruled);
    assert_eq!(table.rows[0][0], "Notice Date");
    assert!(table.rows[0].iter().any(|c| c == "Company"));
    let maxim = &table.rows[1];
    assert_eq!(maxim.len(), table.rows[0].len());
    assert_eq!(maxim[0], "06/22/2015");
    assert!(maxim.iter().any(|c| c == "Maxim Integrated Product"));
    assert!(maxim.iter().any(|c| c == "San Jose"));
    // The page text carries the table row by row.
    assert!(doc.pages[0]
        .text
        .contains("06/22/2015\t03/25/2016\t07/01/2015\tMaxim Integrated Product"));
    assert_eq!(
        doc.metadata.author.as_deref(),
        Some("Cuellar-Lopez, Monica")
    );
    assert_eq!(
        doc.metadata.created.as_deref().map(|d| &d[..10]),
        Some("2016-03-25")
    );
}

#[test]
fn banded_ruled_table_in_precinct_bulletin() {
    // The bulletin rules only its four main columns and every few records; each record still
    // becomes its own row.
    let doc = open("la-precinct-bulletin-2014-p1.pdf");
    let page = &doc.pages[0];
    assert!(page.text.contains("GOVERNOR"));
    let table = page
        .tables
        .iter()
        .find(|t| {
            t.rows
                .iter()
                .any(|r| r.iter().any(|c| c.contains("NEEL KASHKARI")))
        })
        .expect("governor table");
    assert_eq!(table.method, TableMethod::Ruled);
    let header = table
        .rows
        .iter()
        .find(|r| r[0] == "GOVERNOR")
        .expect("header row");
    assert_eq!(header.len(), 4);
    assert!(header.iter().any(|c| c == "STATE MEASURE 48"));
    let row = table
        .rows
        .iter()
        .find(|r| r[0].starts_with("NEEL KASHKARI"))
        .expect("row");
    assert_eq!(row[0], "NEEL KASHKARI REP 247");
    assert_eq!(row[1], "NO 142");
}

#[test]
fn password_protected_file_is_reported() {
    // pdfinfo reports "Incorrect password" for this file: its user password is not empty.
    match extract(&corpus("password-example.pdf")) {
        Err(PdfError::Encrypted { reason }) => assert!(!reason.is_empty()),
        other => panic!("expected Encrypted, got {other:?}"),
    }
}

#[test]
fn empty_file_is_empty() {
    assert!(matches!(
        extract(&corpus("empty.pdf")),
        Err(PdfError::Empty)
    ));
    assert!(matches!(extract(b""), Err(PdfError::Empty)));
    assert!(matches!(extract(b"  \n"), Err(PdfError::Empty)));
}

#[test]
fn garbage_is_malformed() {
    assert!(matches!(
        extract(b"this is not a pdf"),
        Err(PdfError::Malformed(_))
    ));
    let mut truncated = corpus("cupertino_usd_4-6-16.pdf");
    truncated.truncate(truncated.len() / 3);
    // Either lopdf rebuilds what it can or reports a malformed file; it must not panic.
    let _ = extract(&truncated);
}

#[test]
fn malformed_corpus_file_does_not_panic() {
    match extract(&corpus("malformed-from-issue-932.pdf")) {
        Ok(doc) => assert!(!doc.pages.is_empty()),
        Err(PdfError::Malformed(msg)) => assert!(!msg.is_empty()),
        Err(other) => panic!("unexpected error {other}"),
    }
}

/// Every corpus PDF either extracts or fails with an error, each within a time bound.
#[test]
fn whole_corpus_extracts_or_errors_in_time() {
    // Debug builds are several times slower than release; the bound catches hangs, not speed.
    const LIMIT: Duration = Duration::from_secs(60);
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("corpus folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "corpus looks incomplete: {files:?}");
    let mut extracted = 0;
    for path in files {
        let bytes = std::fs::read(&path).expect("read");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(extract(&bytes).map(|d| d.pages.len()));
        });
        match rx.recv_timeout(LIMIT) {
            Ok(Ok(pages)) => {
                assert!(pages > 0, "{}: no pages", path.display());
                extracted += 1;
            }
            Ok(Err(_)) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{}: no result within {LIMIT:?}", path.display())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("{}: extraction panicked", path.display())
            }
        }
    }
    assert!(extracted >= 25);
}

/// Builds a one-page PDF with a Type0 / Identity-H font, a ToUnicode CMap and hex strings, with
/// no embedded font program (none is needed to extract text).
fn handmade_cjk_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let to_unicode = b"/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
4 beginbfchar
<0001> <4E2D>
<0002> <6587>
<0003> <6D4B>
<0004> <8BD5>
endbfchar
1 beginbfrange
<0010> <0011> <D840DC00>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end";
    let cmap_id = doc.add_object(Stream::new(dictionary! {}, to_unicode.to_vec()));
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => "SimSun",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Identity"),
            "Supplement" => 0,
        },
        "DW" => 1000,
    });
    let font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "SimSun",
        "Encoding" => "Identity-H",
        "DescendantFonts" => vec![cid_font.into()],
        "ToUnicode" => cmap_id,
    });
    // "中文测试" as one string, then "中文" drawn glyph by glyph, then a supplementary-plane pair.
    let content = b"BT /F1 12 Tf 72 720 Td <0001000200030004> Tj ET
BT /F1 12 Tf 72 700 Td <0001> Tj 12 0 Td <0002> Tj ET
BT /F1 12 Tf 72 680 Td [<0010> -20 <0011>] TJ ET";
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.to_vec()));
    let pages_id = doc.new_object_id();
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content_id,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("write PDF");
    out
}

#[test]
fn handmade_type0_identity_h_cjk() {
    let doc = extract(&handmade_cjk_pdf()).expect("extract");
    let text = &doc.pages[0].text;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines, vec!["中文测试", "中文", "𠀀𠀁"], "{text:?}");
    assert!(
        doc.pages[0].warnings.is_empty(),
        "{:?}",
        doc.pages[0].warnings
    );
}

/// A one-page PDF whose font /F1 is a Type0 font over a CIDFont with the given CIDSystemInfo
/// ordering and /Encoding, no ToUnicode and no embedded program: its text can only come from
/// the Adobe collection's CIDs. `content` draws with it.
fn collection_font_pdf(ordering: &str, encoding: &str, content: &[u8]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor", "FontName" => "STSong-Light", "Flags" => 4,
        "FontBBox" => vec![0.into(), 0.into(), 1000.into(), 1000.into()],
        "ItalicAngle" => 0, "Ascent" => 880, "Descent" => -120, "CapHeight" => 880,
        "StemV" => 80,
    });
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType0",
        "BaseFont" => "STSong-Light",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal(ordering),
            "Supplement" => 4,
        },
        "FontDescriptor" => descriptor,
        "DW" => 1000,
    });
    let font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "STSong-Light",
        "Encoding" => encoding,
        "DescendantFonts" => vec![cid_font.into()],
    });
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.to_vec()));
    let pages_id = doc.new_object_id();
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content_id,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("write PDF");
    out
}

/// A text object showing `bytes` as one hex string at (x, y).
fn show_hex(x: u32, y: u32, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    format!("BT /F1 12 Tf {x} {y} Td <{hex}> Tj ET\n")
}

fn page_lines(pdf: &[u8]) -> (Vec<String>, Vec<String>) {
    let doc = extract(pdf).expect("extract");
    let page = &doc.pages[0];
    let lines = page
        .text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    (lines, page.warnings.clone())
}

/// Adobe-GB1 CIDs under Identity-H, no ToUnicode, nothing embedded. The CIDs come from GB-EUC-H's
/// ranges `<d6a1> <d6fe> 4512`, `<cea1> <cefe> 3760`, `<b0a1> <b0fe> 940`
/// applied to the GB 2312 codes of the characters (中 D6D0 -> 4559, 文 CEC4 -> 3795,
/// 啊 B0A1 -> 940, 阿 B0A2 -> 941), not from the CID -> Unicode table the reader uses.
#[test]
fn adobe_gb1_identity_h_without_to_unicode() {
    let cids: [u16; 4] = [4559, 3795, 940, 941];
    let bytes: Vec<u8> = cids.iter().flat_map(|c| c.to_be_bytes()).collect();
    let pdf = collection_font_pdf("GB1", "Identity-H", show_hex(72, 720, &bytes).as_bytes());
    let (lines, warnings) = page_lines(&pdf);
    assert_eq!(lines, vec!["中文啊阿"]);
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// GBK-EUC-H: GBK bytes (written by encoding_rs) -> Adobe-GB1 CIDs -> Unicode, with single-byte
/// ASCII between the double-byte characters.
#[test]
fn gbk_euc_h_bytes_through_adobe_gb1() {
    let (gbk, _, _) = encoding_rs::GBK.encode("中文 PDF 测试");
    let pdf = collection_font_pdf("GB1", "GBK-EUC-H", show_hex(72, 720, &gbk).as_bytes());
    let (lines, warnings) = page_lines(&pdf);
    assert_eq!(lines, vec!["中文 PDF 测试"]);
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// -V CMaps: columns read top to bottom, right to left; vertical glyph forms (GBK-EUC-V's own
/// CID for 。, B5pc-V's ︵ for （) read as the characters the -H CMap gives.
#[test]
fn vertical_cmaps_read_columns_right_to_left_with_horizontal_text() {
    let (first, _, _) = encoding_rs::GBK.encode("中文。");
    let (second, _, _) = encoding_rs::GBK.encode("测试");
    let content = show_hex(300, 720, &first) + &show_hex(280, 720, &second);
    let pdf = collection_font_pdf("GB1", "GBK-EUC-V", content.as_bytes());
    let (lines, warnings) = page_lines(&pdf);
    assert_eq!(lines, vec!["中文。", "测试"]);
    assert!(warnings.is_empty(), "{warnings:?}");

    let (big5, _, _) = encoding_rs::BIG5.encode("（一）");
    let pdf = collection_font_pdf("CNS1", "B5pc-V", show_hex(300, 720, &big5).as_bytes());
    assert_eq!(page_lines(&pdf).0, vec!["（一）"]);
}

/// Adobe-Japan1 with 90ms-RKSJ-H: Shift_JIS bytes (written by encoding_rs) -> CIDs -> Unicode.
#[test]
fn adobe_japan1_90ms_rksj_h() {
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("日本語のテキスト");
    let pdf = collection_font_pdf("Japan1", "90ms-RKSJ-H", show_hex(72, 720, &sjis).as_bytes());
    let (lines, warnings) = page_lines(&pdf);
    assert_eq!(lines, vec!["日本語のテキスト"]);
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// An ordering we have no table for leaves the text out with one warning naming the font and
/// the collection; a Registry other than Adobe is no better.
#[test]
fn unknown_ordering_warns_with_the_font_name() {
    let content = show_hex(72, 720, &[0x11, 0xCF, 0x0E, 0xD3]);
    for ordering in ["Klingon1", ""] {
        let pdf = collection_font_pdf(ordering, "Identity-H", content.as_bytes());
        let (lines, warnings) = page_lines(&pdf);
        assert!(lines.is_empty(), "{lines:?}");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("STSong-Light"), "{warnings:?}");
        if !ordering.is_empty() {
            assert!(warnings[0].contains("Adobe-Klingon1"), "{warnings:?}");
        }
    }
}
