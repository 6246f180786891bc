//! The OCR engine on pages rendered here with a CJK font: the recognised text is scored
//! against the drawn text. Skips (with a printed line) where the font, the models or ONNX
//! Runtime are absent.

#![allow(clippy::print_stdout)]

use adopt_ocr::render::{self, TextRun};
use adopt_ocr::{character_error_rate, OcrEngine, OcrSettings};

fn engine_and_font() -> Option<(OcrEngine, ab_glyph::FontVec)> {
    let Some(font) = render::load_font(std::path::Path::new(render::DEFAULT_CJK_FONT)) else {
        println!("skipped: no CJK font at {}", render::DEFAULT_CJK_FONT);
        return None;
    };
    match OcrEngine::load_default(OcrSettings::default()) {
        Ok(engine) => Some((engine, font)),
        Err(err) => {
            println!("skipped: {err}");
            None
        }
    }
}

const LINES: [&str; 4] = [
    "数据治理是企业数字化转型的基础",
    "Quarterly report 2024: revenue up 12%",
    "各部门应当按时提交扫描文件",
    "Invoice No. 58213 approved",
];

#[test]
fn rendered_chinese_and_english_lines_are_read_in_order() {
    let Some((mut engine, font)) = engine_and_font() else {
        return;
    };
    let page = render::render_lines(&font, &LINES, 32.0);
    let result = engine.recognise(&page).unwrap();
    let text = result.text();
    let expected = LINES.join("\n");
    let cer = character_error_rate(&expected, &text);
    assert!(cer < 0.03, "CER {cer:.3}: {text:?}");
    let lines: Vec<&str> = result.lines().map(|l| l.text.as_str()).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[0].starts_with("数据") && lines[3].starts_with("Invoice"),
        "{lines:?}"
    );
    let confidence = result.confidence().unwrap();
    assert!(confidence > 0.8, "{confidence}");
}

#[test]
fn two_columns_are_read_one_after_the_other() {
    let Some((mut engine, font)) = engine_and_font() else {
        return;
    };
    let left = ["左栏第一行文字", "左栏第二行文字", "左栏第三行文字"];
    let right = ["Right column one", "Right column two", "Right column three"];
    let mut runs = vec![TextRun {
        text: "年度工作报告".into(),
        x: 300.0,
        y: 40.0,
        px: 40.0,
    }];
    for (i, (l, r)) in left.iter().zip(right).enumerate() {
        let y = 140.0 + i as f32 * 48.0;
        runs.push(TextRun {
            text: l.to_string(),
            x: 40.0,
            y,
            px: 30.0,
        });
        runs.push(TextRun {
            text: r.to_string(),
            x: 480.0,
            y,
            px: 30.0,
        });
    }
    let page = render::render(&font, 900, 340, &runs);
    let text = engine.recognise(&page).unwrap().text();
    let expected = format!(
        "年度工作报告\n\n{}\n\n{}",
        left.join("\n"),
        right.join("\n")
    );
    let cer = character_error_rate(&expected, &text);
    assert!(cer < 0.05, "CER {cer:.3}: {text:?}");
    // Positions in the text without white space: a space OCR drops or adds between two words
    // is a CER matter, not a reading-order one.
    let squashed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let order: Vec<usize> = [
        "年度",
        "左栏第一",
        "左栏第三",
        "Rightcolumnone",
        "Rightcolumnthree",
    ]
    .iter()
    .map(|s| {
        squashed
            .find(s)
            .unwrap_or_else(|| panic!("{s} not in {text:?}"))
    })
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "reading order {order:?} in {text:?}"
    );
}

#[test]
fn an_upside_down_line_is_turned_by_the_classifier() {
    let Some((mut engine, font)) = engine_and_font() else {
        return;
    };
    let page = render::render_lines(&font, &["上下颠倒的扫描行文字"], 36.0).rotate_180();
    let text = engine.recognise(&page).unwrap().text();
    let cer = character_error_rate("上下颠倒的扫描行文字", &text);
    assert!(cer < 0.2, "CER {cer:.3}: {text:?}");
}

#[test]
fn a_blank_page_has_no_text() {
    let Some((mut engine, _)) = engine_and_font() else {
        return;
    };
    let page = adopt_ocr::RgbImage::filled(800, 600, [255, 255, 255]);
    let result = engine.recognise(&page).unwrap();
    assert_eq!(result.text(), "");
    assert_eq!(result.confidence(), None);
}
