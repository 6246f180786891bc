//! End-to-end tests of `adopt clean` after `adopt collect`, on the bundled example and on
//! files these tests write: duplicates, PII in text and tables, short and garbled documents.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

use adopt_collect::read_documents;
use adopt_core::{Document, RunDir};

fn clean_docs(run: &Path) -> Vec<Document> {
    let dir = RunDir::new(run).clean_dir();
    read_documents(
        &dir.join("documents.parquet"),
        Some(&dir.join("tables.parquet")),
    )
    .unwrap()
}

/// A resident ID number with a valid check digit.
fn id_card(body: &str) -> String {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// Chinese paragraphs from the CMRC 2018 trial set in the shared corpus.
fn cmrc_contexts(n: usize) -> Vec<String> {
    let raw =
        std::fs::read_to_string(repo().join("../shared/corpus/zh/cmrc2018_trial.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let items = v.as_array().or_else(|| v["data"].as_array()).unwrap();
    items
        .iter()
        .filter_map(|i| i["context_text"].as_str())
        .filter(|t| t.chars().count() > 300)
        .take(n)
        .map(str::to_string)
        .collect()
}

#[test]
fn clean_drops_duplicates_redacts_pii_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("data");
    let run = tmp.path().join("run");
    for d in ["risk", "credit", "ops"] {
        std::fs::create_dir_all(src.join(d)).unwrap();
    }
    let ctx = cmrc_contexts(3);
    std::fs::write(src.join("risk/a.md"), &ctx[0]).unwrap();
    // A near-duplicate: the same passage with a few characters changed, kept in another folder.
    let near: String = ctx[0].replacen("的", "之", 3);
    std::fs::write(src.join("credit/a-copy.md"), &near).unwrap();
    // An exact duplicate once normalised: full-width digits and extra spaces only.
    std::fs::write(src.join("ops/b.txt"), &ctx[1]).unwrap();
    let spaced = format!("  {}  ", ctx[1].replace('1', "１"));
    std::fs::write(src.join("risk/b-spaced.txt"), spaced).unwrap();
    std::fs::write(src.join("ops/c.txt"), &ctx[2]).unwrap();

    let id = id_card("11010519491231002");
    assert_eq!(id, "11010519491231002X");
    let bad_id = format!("{}0", &id[..17]);
    let note = format!(
        "客户王芳的身份证号码为{id}，手机号码 13912345678，邮箱 wangfang@example.com。{}",
        &ctx[2][..300]
    );
    std::fs::write(src.join("risk/note.txt"), &note).unwrap();
    std::fs::write(src.join("ops/short.txt"), "好的").unwrap();
    std::fs::write(
        src.join("ops/garbled.txt"),
        "锟斤拷锟斤拷烫烫烫 Ã©Ã¨Ã  ".repeat(20),
    )
    .unwrap();
    let csv = format!(
        "name,id_card,amount\n张三,{id},100\n李四,{bad_id},250.5\n王五,{id},N/A\n王五,{id},N/A\n赵六,{bad_id},80\n钱七,{bad_id},90\n孙八,,120\n周九,,75\n吴十,,60\n郑一,,310\n"
    );
    std::fs::write(src.join("credit/customers.csv"), csv).unwrap();

    adopt(&run, &["collect", src.to_str().unwrap()]);
    let out = adopt(&run, &["clean"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 near-duplicate"), "{stdout}");

    let docs = clean_docs(&run);
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d.source_path.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    for gone in ["short.txt", "garbled.txt"] {
        assert!(!names.contains(&gone), "{gone} kept: {names:?}");
    }
    assert_eq!(
        names
            .iter()
            .filter(|n| ["a.md", "a-copy.md"].contains(n))
            .count(),
        1,
        "{names:?}"
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| ["b.txt", "b-spaced.txt"].contains(n))
            .count(),
        1,
        "{names:?}"
    );

    let note = docs
        .iter()
        .find(|d| d.source_path.ends_with("note.txt"))
        .unwrap();
    assert!(note.text.contains("身份证号码为[ID_CARD]"), "{}", note.text);
    assert!(note.text.contains("[PHONE]") && note.text.contains("[EMAIL]"));

    // Tables: the valid ID is redacted, the invalid check digit is not an ID and stays.
    let csv_doc = docs
        .iter()
        .find(|d| d.source_path.ends_with("customers.csv"))
        .unwrap();
    let table = RunDir::new(&run)
        .clean_dir()
        .join("tables")
        .join(&csv_doc.tables[0].file);
    let bytes = std::fs::read(&table).unwrap();
    assert!(
        !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
        "raw ID left in {table:?}"
    );

    let dropped = std::fs::read(RunDir::new(&run).clean_dir().join("dropped.parquet")).unwrap();
    assert!(!dropped.is_empty());

    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(RunDir::new(&run).clean_dir().join("report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["docs_in"], 9, "{report}");
    assert_eq!(report["docs_kept"], 5);
    // Three valid IDs in the CSV and one in the note; the three with a wrong check digit are not IDs.
    assert_eq!(report["pii"]["by_kind"]["ID_CARD"], 4, "{}", report["pii"]);
    let profile = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["source_path"]
                .as_str()
                .unwrap()
                .ends_with("customers.csv")
        })
        .unwrap();
    assert_eq!(profile["duplicate_rows"], 1);
    assert_eq!(profile["pii_counts"]["ID_CARD"], 3);
    let amount = profile["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "amount")
        .unwrap();
    assert!(
        amount["mixed"].as_str().unwrap().contains("N/A"),
        "{amount}"
    );

    // No raw PII value anywhere in the reports.
    for f in ["report.json", "report.md"] {
        let text = std::fs::read_to_string(RunDir::new(&run).clean_dir().join(f)).unwrap();
        assert!(
            !text.contains(&id) && !text.contains("13912345678"),
            "{f} leaks PII"
        );
    }
}

#[test]
fn pdf_lines_are_rejoined_in_the_bank_example() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    adopt(
        &run,
        &[
            "collect",
            repo().join("examples/bank/risk").to_str().unwrap(),
        ],
    );
    adopt(&run, &["clean"]);
    let docs = clean_docs(&run);
    let pdf = docs
        .iter()
        .find(|d| d.source_path.ends_with(".pdf"))
        .unwrap();
    // pdf extraction broke "0.05" across two lines; clean joins CJK lines without a space.
    assert!(
        pdf.text.contains("较上季度下降0.05个百分点"),
        "{}",
        pdf.text
    );
}

#[test]
fn clean_settings_errors_are_all_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("p.toml");
    std::fs::write(
        &cfg,
        "[clean.dedup]\nthreshold = 1.5\n[clean.quality]\nmax-symbol-ratio = -1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adopt"))
        .args([
            "--run-dir",
            tmp.path().to_str().unwrap(),
            "clean",
            "--config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("threshold") && err.contains("max-symbol-ratio"),
        "{err}"
    );

    std::fs::write(&cfg, "[clean.dedup]\nthreshhold = 0.5\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adopt"))
        .args(["clean", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("threshhold"), "{err}");
}

/// The settings example in README.md is a valid `--config` file, word for word.
#[test]
fn readme_settings_example_is_accepted() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block = readme
        .split("```toml\n")
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("[clean.pii]"))
        .expect("the clean settings example in README.md");
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("clean.toml");
    std::fs::write(&cfg, block).unwrap();
    let run = tmp.path().join("run");
    adopt(
        &run,
        &[
            "collect",
            repo()
                .join("examples/bank/customer-service")
                .to_str()
                .unwrap(),
        ],
    );
    adopt(&run, &["clean", "--config", cfg.to_str().unwrap()]);
}
