//! Loading summaries from a run directory, writing the three files, and escaping user data.

use adopt_report::*;

use crate::sample::full_inputs;

#[test]
fn load_reads_what_exists_and_names_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path();
    std::fs::create_dir_all(run.join("clean")).unwrap();
    std::fs::write(
        run.join("clean/report.json"),
        include_str!("../fixtures/bank-clean-report.json"),
    )
    .unwrap();
    std::fs::write(
        run.join("quarantine.jsonl"),
        "{\"path\":\"a.pdf\",\"department\":null,\"format\":\"pdf\",\"kind\":\"encrypted\",\"reason\":\"password\",\"content_hash\":\"00\"}\n",
    )
    .unwrap();
    let inputs = ReadinessInputs::load(run).unwrap();
    assert_eq!(inputs.clean.as_ref().unwrap().docs_in, 10);
    assert_eq!(inputs.clean.as_ref().unwrap().tables.len(), 8);
    assert_eq!(
        inputs.inventory.as_ref().unwrap().quarantine[0].kind,
        "encrypted"
    );
    assert!(inputs.label.is_none() && inputs.kb.is_none() && inputs.trial.is_none());

    std::fs::create_dir_all(run.join("kb")).unwrap();
    std::fs::write(run.join("kb/eval.json"), "{not json").unwrap();
    let err = ReadinessInputs::load(run).unwrap_err();
    assert!(matches!(err, ReportError::Parse { .. }));
    assert!(err.to_string().contains("kb/eval.json"), "{err}");
}

#[test]
fn writes_three_files_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let r = build(&full_inputs());
    write_report(dir.path(), &r).unwrap();
    let report = adopt_core::RunDir::new(dir.path()).report_dir();
    let mut names: Vec<String> = std::fs::read_dir(&report)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // No temporary files left behind.
    assert_eq!(names, ["index.html", "readiness.json", "readiness.md"]);
    let json: Readiness =
        serde_json::from_str(&std::fs::read_to_string(report.join("readiness.json")).unwrap())
            .unwrap();
    assert_eq!(json, r);
    let md = std::fs::read_to_string(report.join("readiness.md")).unwrap();
    assert!(md.contains("## Parse fidelity 解析质量"));
    assert!(md.contains("12 scanned PDFs have no text, even after OCR"));
    // Writing again replaces the files.
    write_report(dir.path(), &r).unwrap();
}

#[test]
fn hostile_file_names_are_escaped() {
    let r = build(&full_inputs());
    let html = render_html(&r);
    // The report itself has no script at all; the file name must not add one.
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;.pdf"));
    assert!(html.contains("risk/model-&lt;v2&gt;.xlsx"));
    let md = render_markdown(&r);
    assert!(!md.contains("<script>"));
    assert!(md.contains(r"\<script\>"));
}

#[test]
fn html_is_self_contained() {
    let html = render_html(&build(&full_inputs()));
    for external in ["http://", "https://", "<link", "<img", "@import", "url("] {
        let hits: Vec<_> = html.match_indices(external).collect();
        // The SVG namespace URI is an identifier, not a fetch.
        let allowed = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        if external == "http://" {
            assert_eq!(hits.len(), allowed, "{external}");
        } else {
            assert!(hits.is_empty(), "{external}");
        }
    }
}
