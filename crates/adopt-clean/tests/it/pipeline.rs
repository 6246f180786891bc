//! The whole pipeline on a small mixed corpus: real Chinese paragraphs laid out as PDF pages,
//! English text, duplicates, garbled, short and symbol-only documents, PII in every mode.

use adopt_clean::{run, CleanConfig, PiiMode};
use adopt_core::{Format, NoopReporter};

use crate::{cmrc_contexts, doc};

const ENGLISH: &str = "The procurement committee met on Tuesday to review supplier contracts for the \
coming financial year. Members agreed that every contract above the approval threshold must be \
signed by two directors, and that renewals should be tendered again at least once every three years.";

/// Lays a paragraph out like `pdftotext` output: hard line breaks every `width` characters,
/// a running header and a page-number footer.
fn as_pdf_pages(paragraphs: &[&str], width: usize) -> Vec<String> {
    paragraphs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let chars: Vec<char> = p.chars().collect();
            let lines: Vec<String> = chars.chunks(width).map(|c| c.iter().collect()).collect();
            format!(
                "某某集团 2024 年度财务报告\n\u{3000}\u{3000}{}\n\n第 {} 页 共 {} 页",
                lines.join("\n"),
                i + 1,
                paragraphs.len()
            )
        })
        .collect()
}

fn latin1_mojibake(s: &str) -> String {
    s.bytes().map(char::from).collect()
}

#[test]
fn mixed_corpus_is_cleaned_and_reported() {
    let Some(contexts) = cmrc_contexts() else {
        return;
    };
    let phone = "13912345678";
    let id = "11010519491231002X";
    let p0 = format!("{}联系人电话{phone}，身份证{id}。", contexts[0]);
    let paragraphs = [p0.as_str(), &contexts[1], &contexts[2], &contexts[3]];
    let pages = as_pdf_pages(&paragraphs, 30);
    let pages: Vec<&str> = pages.iter().map(String::as_str).collect();

    // A near duplicate of context 5: a handful of characters changed.
    let near: String = contexts[5]
        .chars()
        .enumerate()
        .map(|(i, c)| if i % 150 == 75 { '某' } else { c })
        .collect();
    let spreadsheet = "月份\t收入\t支出\n1\t1,200\t800\n2\t1,350\t820\n3\t1,410\t905";
    let docs = vec![
        doc("a-report", Some("finance"), Format::Pdf, &pages),
        doc("b-report-copy", Some("finance"), Format::Pdf, &pages),
        doc("c-article", Some("hr"), Format::Text, &[&contexts[5]]),
        doc("d-article-edit", Some("hr"), Format::Text, &[&near]),
        doc("e-english", Some("hr"), Format::Docx, &[ENGLISH]),
        doc("f-garbled", Some("it"), Format::Text, &[&latin1_mojibake(&contexts[6])]),
        doc("g-short", Some("it"), Format::Text, &["同意。"]),
        doc("h-symbols", None, Format::Text, &["</td></tr><tr><td>&nbsp;</td><td>{{ }}</td></tr> <<< >>> ;; {{{ }}} </td></tr><tr><td>&nbsp;</td><td>{{ }}</td></tr> ## ** __ [] () </td></tr><tr><td>&nbsp;</td><td>{{ }}</td></tr>"]),
        doc("i-sheet", None, Format::Xlsx, &[spreadsheet]),
        doc("j-menu", Some("it"), Format::Html, &["首页 登录 注册 联系我们 关于我们\n首页 登录 注册 联系我们 关于我们\n首页 登录 注册 联系我们 关于我们\n首页 登录 注册 联系我们 关于我们\n首页 登录 注册 联系我们 关于我们\n版权所有"]),
    ];
    let out = run(docs, &CleanConfig::default(), &NoopReporter).unwrap();

    let kept: Vec<&str> = out.kept.iter().map(|d| d.doc.doc_id.as_str()).collect();
    assert_eq!(kept, ["a-report", "c-article", "e-english", "i-sheet"]);
    let why: Vec<(&str, &str, &str)> = out
        .dropped
        .iter()
        .map(|d| (d.doc_id.as_str(), d.operator.as_str(), d.reason.as_str()))
        .collect();
    assert_eq!(
        why,
        [
            ("b-report-copy", "exact-dedup", "exact-duplicate"),
            ("d-article-edit", "near-dedup", "near-duplicate"),
            ("f-garbled", "garbled-text", "garbled-text"),
            ("g-short", "too-short", "too-short"),
            ("h-symbols", "symbol-ratio", "symbol-ratio"),
            ("j-menu", "repeated-lines", "repeated-lines"),
        ]
    );

    // The PDF: headers and page numbers gone, lines re-joined, PII redacted, units kept.
    let report_doc = &out.kept[0];
    let text = &report_doc.doc.text;
    assert_eq!(text.split('\u{c}').count(), 4);
    assert!(
        !text.contains("年度财务报告") && !text.contains("共 4 页"),
        "{text}"
    );
    let first_page = text.split('\u{c}').next().unwrap();
    assert!(
        first_page.starts_with(&p0[..60]) && !first_page.contains('\n'),
        "re-joined into one paragraph: {first_page}"
    );
    assert!(text.contains("联系人电话[PHONE]，身份证[ID_CARD]。"));
    assert_eq!(report_doc.changed_by, ["normalize", "pii"]);
    assert_eq!(report_doc.lang.as_deref(), Some("cmn"));
    assert_eq!(report_doc.dup_cluster.as_deref(), Some("a-report"));
    assert_eq!(out.kept[2].lang.as_deref(), Some("eng"));
    assert_eq!(out.kept[1].dup_cluster.as_deref(), Some("c-article"));
    assert_eq!(out.dropped[1].dup_cluster.as_deref(), Some("c-article"));
    assert!(out.dropped[1]
        .detail
        .starts_with("near duplicate of c-article"));
    assert_eq!(
        out.kept[3].doc.text, spreadsheet,
        "tables are exempt and keep their tabs"
    );

    // The report: totals, per-operator, per-department, PII counts, never the values.
    let r = &out.report;
    assert_eq!((r.docs_in, r.docs_kept, r.docs_dropped), (10, 4, 6));
    assert_eq!(r.docs_redacted, 1);
    assert_eq!(r.duplicate_clusters, 2);
    let names: Vec<&str> = r.operators.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "garbled-text",
            "normalize",
            "too-short",
            "symbol-ratio",
            "repeated-lines",
            "lang-id",
            "pii",
            "exact-dedup",
            "near-dedup"
        ]
    );
    for op in &r.operators {
        assert_eq!(op.docs_in, op.docs_out + op.dropped, "{}", op.name);
    }
    let normalize = &r.operators[1];
    assert!(normalize.counters["header-footer-lines-removed"] >= 16);
    assert!(normalize.counters["lines-joined"] > 10);
    let finance = &r.by_department["finance"];
    assert_eq!(
        (
            finance.docs_in,
            finance.kept,
            finance.redacted,
            finance.dropped
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(finance.drop_reasons["exact-duplicate"], 1);
    assert_eq!(r.by_department["(none)"].docs_in, 2);
    assert_eq!(r.by_format["pdf"].docs_in, 2);
    assert_eq!(
        r.pii.by_kind["PHONE"], 2,
        "the dropped copy's PII is counted too"
    );
    assert_eq!(r.pii.by_department["finance"]["ID_CARD"], 2);
    assert_eq!(r.pii.docs_with_pii, 2);
    assert_eq!(
        r.languages["cmn"], 3,
        "the spreadsheet's headers are Chinese too"
    );

    // Every document of "it" was dropped by a filter: the one alert, not repeated for its folder.
    let alerts: Vec<(&str, &str, u64, u64)> = r
        .alerts
        .iter()
        .map(|a| (a.group.as_str(), a.name.as_str(), a.docs_in, a.dropped))
        .collect();
    assert_eq!(alerts, [("department", "it", 3, 3)]);

    let json = r.to_json();
    let dropped_json = serde_json::to_string(&out.dropped).unwrap();
    for secret in [phone, id] {
        assert!(!json.contains(secret) && !dropped_json.contains(secret));
    }
    let back: adopt_clean::CleanReport = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, r);
    let md = r.to_markdown();
    assert!(
        md.contains("| near-dedup | 5 | 4 | 0 | 1 | near-duplicate: 1 | clusters: 1 |"),
        "{md}"
    );
    assert!(
        md.contains("| finance | 2 | 1 | 1 | 1 | 1 | exact-duplicate: 1 |"),
        "{md}"
    );
    assert!(
        md.contains("| department | ID_CARD | PHONE |\n|---|---:|---:|\n| finance | 2 | 2 |"),
        "{md}"
    );
}

#[test]
fn pii_modes_report_and_drop() {
    let text =
        "请联系王经理，电话138-1234-5678，邮箱wang@example.com，我们将在三个工作日内答复您的申请。";
    let docs = || vec![doc("x", Some("sales"), Format::Text, &[text])];

    let mut config = CleanConfig::default();
    config.pii.mode = PiiMode::Report;
    let out = run(docs(), &config, &NoopReporter).unwrap();
    assert_eq!(out.kept[0].doc.text, text);
    assert_eq!(out.kept[0].pii_counts["PHONE"], 1);
    assert_eq!(out.kept[0].pii_counts["EMAIL"], 1);
    assert_eq!(out.report.docs_redacted, 0);

    config.pii.mode = PiiMode::Drop;
    let out = run(docs(), &config, &NoopReporter).unwrap();
    assert!(out.kept.is_empty());
    assert_eq!(out.dropped[0].reason, "pii");
    assert_eq!(out.dropped[0].detail, "contains PII: EMAIL x1, PHONE x1");
    assert_eq!(out.report.pii.by_department["sales"]["PHONE"], 1);
}

#[test]
fn operators_can_be_switched_off_and_results_do_not_depend_on_order() {
    let Some(contexts) = cmrc_contexts() else {
        return;
    };
    let mut docs: Vec<_> = contexts[..30]
        .iter()
        .enumerate()
        .map(|(i, c)| doc(&format!("d{i:02}"), Some("kb"), Format::Text, &[c]))
        .collect();
    // Three copies of one article under different ids.
    for id in ["z1", "z2", "z0"] {
        docs.push(doc(id, Some("kb"), Format::Text, &[&contexts[0]]));
    }
    let out = run(docs.clone(), &CleanConfig::default(), &NoopReporter).unwrap();
    docs.reverse();
    let reversed = run(docs.clone(), &CleanConfig::default(), &NoopReporter).unwrap();
    let ids = |o: &adopt_clean::CleanOutput| {
        let mut v: Vec<(String, Option<String>)> = o
            .kept
            .iter()
            .map(|d| (d.doc.doc_id.clone(), d.dup_cluster.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&out), ids(&reversed));
    assert_eq!(out.dropped.len(), 3);
    assert!(out
        .dropped
        .iter()
        .all(|d| d.dup_cluster.as_deref() == Some("d00")));

    let mut config = CleanConfig::default();
    config.dedup.exact = false;
    config.dedup.near = false;
    config.normalize.enabled = false;
    config.quality.enabled = false;
    let out = run(docs, &config, &NoopReporter).unwrap();
    assert_eq!(out.kept.len(), 33);
    let names: Vec<&str> = out
        .report
        .operators
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(names, ["lang-id", "pii"]);
}
