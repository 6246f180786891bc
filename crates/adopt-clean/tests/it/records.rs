//! Business records are kept: customer notes full of resident IDs, phone and card numbers,
//! e-mails and amounts, ledgers and table renderings pass the default filters and reach PII
//! redaction. And when a filter does empty a department, the report says so.

use adopt_clean::{run, CleanConfig};
use adopt_core::{Format, WarningLog as Warnings};

use crate::pii_eval::{bank_card, phone, valid_id};
use crate::{doc, Rng};

const SURNAMES: [&str; 6] = ["张", "王", "李", "赵", "陈", "刘"];
const GIVEN: [&str; 6] = ["三", "芳", "伟", "静", "磊", "敏"];

/// One customer note and the PII values it holds (ID, phone, card, e-mail).
fn note(rng: &mut Rng, i: usize) -> (String, [String; 4]) {
    let (id, tel, card) = (valid_id(rng), phone(rng), bank_card(rng));
    let email = format!("client{i:03}@example.com");
    let amount = format!("{}.{:02}", 1_000 + rng.below(90_000), rng.below(100));
    let name = format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN));
    let text = if i.is_multiple_of(2) {
        format!(
            "客户{name}，身份证号{id}，手机{tel}，卡号{card}，联系邮箱{email}。\
             2024-03-{:02} 来电咨询，本期应还金额¥{amount}元，已于次日还款，备注：无逾期。",
            1 + i % 28
        )
    } else {
        format!(
            "Customer #{i:05}: ID {id}, mobile {tel}, card {card}, e-mail {email}. \
             Called on 2024-04-{:02} about a payment of CNY {amount}; balance 0.00, no arrears.",
            1 + i % 28
        )
    };
    (text, [id, tel, card, email])
}

#[test]
fn customer_notes_ledgers_and_tables_are_kept_and_redacted() {
    let mut rng = Rng(13);
    let notes: Vec<(String, [String; 4])> = (0..50).map(|i| note(&mut rng, i)).collect();
    // Each note as its own record, and all of them as one notes file.
    let mut docs: Vec<_> = notes
        .iter()
        .enumerate()
        .map(|(i, (text, _))| {
            doc(
                &format!("note-{i:02}"),
                Some("service"),
                Format::Text,
                &[text],
            )
        })
        .collect();
    let all: Vec<&str> = notes.iter().map(|(t, _)| t.as_str()).collect();
    docs.push(doc(
        "notes-file",
        Some("service"),
        Format::Text,
        &[&all.join("\n")],
    ));
    let ledger = "2024-03-01 1001 现金 借 5,000.00 贷 0.00 余额 125,300.00\n\
                  2024-03-02 1002 银行存款 借 0.00 贷 12,450.50 余额 112,849.50\n\
                  2024-03-03 2202 应付账款 借 3,200.00 贷 0.00 余额 116,049.50";
    docs.push(doc("ledger", Some("finance"), Format::Text, &[ledger]));
    let table = "1,234 | 5,678 | 9,012 | 3,456 | 7,890 | 1,111 | 2,222 | 3,333 | 4,444 | 5,555 | \
                 6,666 | 7,777 | 8,888 | 9,999 | 0,000 页码 备注\n\
                 ------+-------+-------+-------\n\
                 12.5% | 13.0% | 98.25 | 100.00 | 0.75 | 1.25 | 2.50 | 3.75";
    docs.push(doc("table", Some("finance"), Format::Pdf, &[table]));

    let warnings = Warnings::default();
    let out = run(docs, &CleanConfig::default(), &warnings).unwrap();
    let dropped: Vec<(&str, &str)> = out
        .dropped
        .iter()
        .map(|d| (d.doc_id.as_str(), d.detail.as_str()))
        .collect();
    assert!(dropped.is_empty(), "{dropped:?}");
    assert_eq!(out.kept.len(), 53);
    assert!(out.report.alerts.is_empty());
    assert!(warnings.warnings().is_empty());

    // Every value is redacted, in each note and in the notes file, and the amounts stay.
    for kept in &out.kept[..51] {
        for (_, values) in &notes {
            for v in values {
                assert!(
                    !kept.doc.text.contains(v.as_str()),
                    "{v} left in {}",
                    kept.doc.text
                );
            }
        }
        assert!(kept.doc.text.contains("[ID_CARD]"), "{}", kept.doc.text);
        assert!(kept.doc.text.contains("[PHONE]"), "{}", kept.doc.text);
        assert!(kept.doc.text.contains("[BANK_CARD]"), "{}", kept.doc.text);
        assert!(kept.doc.text.contains("[EMAIL]"), "{}", kept.doc.text);
        assert!(kept.doc.text.contains("2024-0"), "{}", kept.doc.text);
    }
    let notes_file = &out.kept[50];
    for kind in ["ID_CARD", "PHONE", "BANK_CARD", "EMAIL"] {
        assert_eq!(notes_file.pii_counts[kind], 50, "{kind}");
        assert_eq!(out.report.pii.by_kind[kind], 100, "{kind}");
    }
    assert_eq!(out.report.by_department["service"].redacted, 51);
    assert_eq!(out.kept[51].doc.text, ledger);
}

#[test]
fn a_filter_emptying_a_department_is_reported_loudly() {
    let debris = "</td></tr><tr><td>&nbsp;</td><td>{{ }}</td></tr> <<< >>> ;; {{{ }}} ## ** __";
    let article = "The procurement committee met on Tuesday to review supplier contracts for the \
                   coming financial year and agreed on two signatures for every large contract.";
    let mut docs: Vec<_> = (0..4)
        .map(|i| {
            doc(
                &format!("export-{i}"),
                Some("web"),
                Format::Html,
                &[&format!("{debris} {i}")],
            )
        })
        .collect();
    docs.push(doc(
        "minutes",
        Some("procurement"),
        Format::Text,
        &[article],
    ));
    let warnings = Warnings::default();
    let out = run(docs, &CleanConfig::default(), &warnings).unwrap();
    assert_eq!(out.kept.len(), 1);

    let alerts = &out.report.alerts;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!((a.group.as_str(), a.name.as_str()), ("department", "web"));
    assert_eq!((a.docs_in, a.dropped), (4, 4));
    assert_eq!(a.by_operator["symbol-ratio"], 4);
    let warnings = warnings.warnings();
    assert_eq!(warnings, [a.message()]);
    assert!(
        a.message()
            .contains("dropped 4 of 4 documents (100%) of department \"web\""),
        "{}",
        a.message()
    );
    let md = out.report.to_markdown();
    assert!(
        md.contains("## Warnings\n\n- **Warning:** the filters dropped 4 of 4"),
        "{md}"
    );
}
