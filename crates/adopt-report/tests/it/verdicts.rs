//! Verdicts and next actions on constructed inputs.

use adopt_report::*;

use crate::sample::{bank_clean_report, doc, full_inputs};

fn section<'a>(r: &'a Readiness, id: &str) -> &'a Section {
    r.sections
        .iter()
        .find(|s| s.id == id)
        .expect("section exists")
}

#[test]
fn nothing_run_says_how_to_run_each_stage() {
    let r = build(&ReadinessInputs::default());
    assert_eq!(r.sections.len(), 6);
    for s in &r.sections {
        assert_eq!(s.verdict, Verdict::NotRun, "{}", s.id);
        let cmd = s.actions[0].command.as_deref().expect("a command");
        assert!(cmd.starts_with("adopt "), "{cmd}");
    }
    assert_eq!(r.overall, Verdict::NotRun);
    assert!(
        r.headline.starts_with("No stage has run yet"),
        "{}",
        r.headline
    );

    // Once one stage ran, the missing ones are open work, not a block.
    let r = build(&ReadinessInputs {
        clean: Some(bank_clean_report()),
        ..Default::default()
    });
    assert_eq!(r.overall, Verdict::NeedsAttention);
    assert!(
        r.headline.contains("4 stages have not run"),
        "{}",
        r.headline
    );
    let p = section(&r, "parsing");
    assert_eq!(p.verdict, Verdict::NotRun);
    assert!(
        p.summary.starts_with("Per-document figures"),
        "{}",
        p.summary
    );
}

#[test]
fn nothing_collected_is_blocked() {
    let r = build(&ReadinessInputs {
        inventory: Some(Inventory::default()),
        ..Default::default()
    });
    let s = section(&r, "inventory");
    assert_eq!(s.verdict, Verdict::Blocked);
    assert!(s.summary.contains("Nothing was collected"), "{}", s.summary);
    assert_eq!(r.overall, Verdict::Blocked);
    assert!(r.headline.starts_with("Not ready"), "{}", r.headline);
}

#[test]
fn every_file_quarantined_is_blocked_with_reasons() {
    let r = build(&ReadinessInputs {
        inventory: Some(Inventory {
            documents: vec![],
            quarantine: vec![QuarantineItem {
                path: "a.pdf".into(),
                kind: "encrypted".into(),
                reason: "password".into(),
                ..Default::default()
            }],
        }),
        ..Default::default()
    });
    assert_eq!(section(&r, "inventory").verdict, Verdict::Blocked);
    let p = section(&r, "parsing");
    assert_eq!(p.verdict, Verdict::NeedsAttention);
    assert!(p.actions[0].text.contains("1 file is password-protected"));
    assert_eq!(p.tables[0].rows[0][0], "a.pdf");
}

#[test]
fn scanned_pdfs_need_ocr() {
    let mut documents: Vec<DocSummary> = (0..12)
        .map(|i| doc(&format!("risk/scan-{i}.pdf"), Some("risk"), "pdf", 4, 4))
        .collect();
    documents.push(doc("risk/policy.pdf", Some("risk"), "pdf", 10, 0));
    let r = build(&ReadinessInputs {
        inventory: Some(Inventory {
            documents,
            quarantine: vec![],
        }),
        ..Default::default()
    });
    assert_eq!(section(&r, "inventory").verdict, Verdict::Ready);
    let p = section(&r, "parsing");
    assert_eq!(p.verdict, Verdict::NeedsAttention);
    assert_eq!(
        p.actions[0].text,
        "12 scanned PDFs have no text, even after OCR: install the OCR models if collect said they are missing (then collect again with --full), or check whether they are pictures without text."
    );
    assert!(p.actions[0]
        .command
        .as_deref()
        .unwrap()
        .contains("adopt models fetch ocr"));
    assert!(
        p.summary.starts_with("17% of 58 pages have text"),
        "{}",
        p.summary
    );
}

#[test]
fn clean_text_is_ready() {
    let mut d = doc("credit/policy.pdf", Some("credit"), "pdf", 3, 0);
    d.n_tables = 2;
    let r = build(&ReadinessInputs {
        inventory: Some(Inventory {
            documents: vec![d],
            quarantine: vec![],
        }),
        ..Default::default()
    });
    let p = section(&r, "parsing");
    assert_eq!(p.verdict, Verdict::Ready);
    assert!(p.actions.is_empty());
    assert!(p.notes[0].starts_with("2 tables found in 1 document"));
}

#[test]
fn no_text_at_all_is_blocked() {
    let r = build(&ReadinessInputs {
        inventory: Some(Inventory {
            documents: vec![doc("scan.pdf", None, "pdf", 3, 3)],
            quarantine: vec![],
        }),
        ..Default::default()
    });
    assert_eq!(section(&r, "parsing").verdict, Verdict::Blocked);
}

#[test]
fn redacted_pii_is_ready_with_a_note() {
    // The real report of examples/bank: 61 ID numbers and 61 phone numbers, redacted.
    let r = build(&ReadinessInputs {
        clean: Some(bank_clean_report()),
        ..Default::default()
    });
    let c = section(&r, "cleaning");
    assert_eq!(c.verdict, Verdict::Ready, "{:?}", c.actions);
    let note = c
        .notes
        .iter()
        .find(|n| n.contains("Personal data"))
        .unwrap();
    assert!(note.contains("ID_CARD 61"), "{note}");
    assert!(note.contains("placeholders"), "{note}");
    assert!(
        c.summary.contains("9 of 10 documents kept"),
        "{}",
        c.summary
    );
    // The inventory falls back to the clean report's counts.
    let inv = section(&r, "inventory");
    assert_eq!(inv.verdict, Verdict::Ready);
    assert!(inv.summary.starts_with("10 documents from 4 departments"));
}

#[test]
fn unredacted_pii_blocks() {
    let mut clean = bank_clean_report();
    // What `mode = "report"` leaves: PII counted, no document changed by the operator.
    for op in &mut clean.operators {
        if op.name == "pii" {
            op.changed = 0;
        }
    }
    clean.docs_redacted = 0;
    let r = build(&ReadinessInputs {
        clean: Some(clean),
        ..Default::default()
    });
    let c = section(&r, "cleaning");
    assert_eq!(c.verdict, Verdict::Blocked);
    assert!(c.actions[0]
        .text
        .starts_with("2 documents contain personal data"));
}

#[test]
fn heavy_quality_drops_need_attention() {
    let mut clean = bank_clean_report();
    clean.operators[2]
        .drop_reasons
        .insert("too-short".into(), 3);
    let r = build(&ReadinessInputs {
        clean: Some(clean),
        ..Default::default()
    });
    let c = section(&r, "cleaning");
    assert_eq!(c.verdict, Verdict::NeedsAttention);
    assert!(
        c.actions[0].text.contains("too-short 3"),
        "{}",
        c.actions[0].text
    );
}

#[test]
fn retrieval_thresholds() {
    let kb = |hit: f64| KbSummary {
        n_chunks: 100,
        n_queries: 60,
        hit_at_5: Some(hit),
        ..Default::default()
    };
    let verdict = |k: KbSummary| {
        section(
            &build(&ReadinessInputs {
                kb: Some(k),
                ..Default::default()
            }),
            "retrieval",
        )
        .verdict
    };
    assert_eq!(verdict(kb(0.9)), Verdict::Ready);
    assert_eq!(verdict(kb(0.7)), Verdict::NeedsAttention);
    assert_eq!(verdict(kb(0.3)), Verdict::Blocked);
    assert_eq!(verdict(KbSummary::default()), Verdict::Blocked);
    assert_eq!(
        verdict(KbSummary {
            n_chunks: 10,
            ..Default::default()
        }),
        Verdict::NeedsAttention
    );
}

#[test]
fn weak_annotator_agreement_names_the_label() {
    let r = build(&full_inputs());
    let l = section(&r, "labelling");
    assert_eq!(l.verdict, Verdict::NeedsAttention);
    assert!(
        l.actions[0].text.contains("for fraud-report"),
        "{}",
        l.actions[0].text
    );
}

#[test]
fn model_without_a_passing_candidate_blocks() {
    let mut inputs = full_inputs();
    let r = build(&inputs);
    assert_eq!(section(&r, "model").verdict, Verdict::Ready);
    assert!(section(&r, "model").summary.contains("CNY 1,620 a month"));

    inputs.trial.as_mut().unwrap().scenarios[1].recommended_model = None;
    let r = build(&inputs);
    let m = section(&r, "model");
    assert_eq!(m.verdict, Verdict::NeedsAttention);
    assert!(
        m.actions[0]
            .text
            .contains("the best, qwen2.5-72b, reached 86%"),
        "{}",
        m.actions[0].text
    );

    let trial = inputs.trial.as_mut().unwrap();
    for s in &mut trial.scenarios {
        s.recommended_model = None;
    }
    assert_eq!(section(&build(&inputs), "model").verdict, Verdict::Blocked);
}

#[test]
fn trial_without_installed_models_says_how_to_fetch_them() {
    let mut inputs = full_inputs();
    let r = build(&inputs);
    let m = section(&r, "model");
    let hosted = m
        .tables
        .iter()
        .find(|t| t.caption.contains("hosted APIs"))
        .expect("hosted cost table");
    assert_eq!(hosted.rows[0][1], "deepseek-v2");
    assert_eq!(hosted.rows[0][4], "CNY 1.56");
    assert!(
        m.charts
            .iter()
            .any(|c| matches!(c, Chart::Scatter(s) if s.title.contains("model size"))),
        "quality against size"
    );

    let trial = inputs.trial.as_mut().unwrap();
    trial.scenarios.clear();
    trial.missing_models = vec![
        MissingModel {
            model: "smollm2-135m".into(),
            size: "135M".into(),
            reason: "not installed".into(),
            fetch: "adopt models fetch smollm2-135m".into(),
        },
        MissingModel {
            model: "gemma3-270m".into(),
            size: "270M".into(),
            reason: "not installed".into(),
            fetch: "adopt models fetch gemma3-270m".into(),
        },
    ];
    let r = build(&inputs);
    let m = section(&r, "model");
    assert_eq!(m.verdict, Verdict::NeedsAttention);
    assert!(
        m.summary
            .contains("2 local models of the trial are not installed"),
        "{}",
        m.summary
    );
    assert_eq!(m.actions[0].command.as_deref(), Some("adopt models fetch"));
    assert!(m.actions[0].text.contains("smollm2-135m (135M)"));
}

#[test]
fn full_run_needs_attention_for_scans_and_quarantine() {
    let r = build(&full_inputs());
    assert_eq!(r.overall, Verdict::NeedsAttention);
    let p = section(&r, "parsing");
    let texts: Vec<&str> = p.actions.iter().map(|a| a.text.as_str()).collect();
    assert!(
        texts[0].starts_with("12 scanned PDFs have no text, even after OCR"),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("4 pages in 2 other documents")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("password-protected")),
        "{texts:?}"
    );
    assert!(p.notes.iter().any(|n| n.contains("GB18030")));
}

#[test]
fn newer_and_older_stage_outputs_still_parse() {
    let inputs: ReadinessInputs = serde_json::from_str(
        r#"{"clean": {"docs_in": 3, "docs_kept": 3, "a_field_from_the_future": [1, 2]},
            "kb": {"n_chunks": 5}, "label": null}"#,
    )
    .unwrap();
    let r = build(&inputs);
    assert_eq!(section(&r, "cleaning").verdict, Verdict::Ready);
    assert_eq!(section(&r, "labelling").verdict, Verdict::NotRun);
}

#[test]
fn load_figures_and_answer_blame_show_in_the_model_section() {
    let mut inputs = full_inputs();
    let trial = inputs.trial.as_mut().unwrap();
    let faq = &mut trial.scenarios[0];
    let chosen = faq.recommended_model.clone().unwrap();
    for c in &mut faq.candidates {
        c.context_hit_rate = Some(0.8);
        c.model_errors_with_answer_in_context = Some(2);
        c.errors_with_answer_missing = Some(7);
        c.groundedness = Some(0.9);
    }
    let level = |level: &str, c: u64, ttft: f64, attainment: f64| LoadLevelSummary {
        model: chosen.clone(),
        level: level.into(),
        concurrency: Some(c),
        completed: 32,
        request_throughput: Some(c as f64 * 0.8),
        output_tokens_per_s: Some(c as f64 * 90.0),
        ttft_p50_ms: Some(ttft),
        ttft_p99_ms: Some(ttft * 2.0),
        itl_p50_ms: Some(30.0),
        itl_p99_ms: Some(60.0),
        e2e_p50_ms: Some(1500.0),
        e2e_p99_ms: Some(3000.0),
        goodput: Some(c as f64 * 0.8 * attainment),
        slo_attainment: Some(attainment),
        ..Default::default()
    };
    trial.load = Some(LoadSummary {
        prompts: Some("task items (faq), cycled".into()),
        slo_ttft_ms: Some(500.0),
        levels: vec![level("c=1", 1, 120.0, 1.0), level("c=8", 8, 900.0, 0.4)],
        ..Default::default()
    });
    let r = build(&inputs);
    let m = section(&r, "model");
    let load = m
        .tables
        .iter()
        .find(|t| t.caption == "Latency under load")
        .expect("load table");
    assert_eq!(load.rows.len(), 2);
    assert_eq!(load.rows[1][4], "900 ms / 1800 ms");
    assert!(m.charts.iter().any(
        |c| matches!(c, Chart::Bar(b) if b.title.starts_with("Time to first token") && b.values[1] == [900.0, 1800.0])
    ));
    let notes = m.notes.join("\n");
    assert!(
        notes.contains(&format!("{chosen} keeps 100% of requests within the objectives (time to first token ≤ 500 ms) at c=1")),
        "{notes}"
    );
    assert!(
        notes.contains("7 of") && notes.contains("better retrieval"),
        "{notes}"
    );
    assert!(m
        .tables
        .iter()
        .any(|t| t.caption.starts_with("Wrong answers") && t.rows[0][2] == "80%"));
    let html = render_html(&r);
    assert!(
        html.contains("Latency under load") && html.contains("Time to first token by load level")
    );
}

#[test]
fn a_model_that_echoes_the_prompt_is_called_out() {
    let mut inputs = full_inputs();
    let faq = &mut inputs.trial.as_mut().unwrap().scenarios[0];
    let c = &mut faq.candidates[0];
    c.echoed = 7;
    c.answered = 8;
    let echoer = c.model.clone();
    let r = build(&inputs);
    let m = section(&r, "model");
    let notes: Vec<&String> = m
        .notes
        .iter()
        .filter(|n| n.contains("repeated the prompt"))
        .collect();
    assert_eq!(notes.len(), 1, "{:?}", m.notes);
    assert!(
        notes[0].contains(&echoer) && notes[0].contains("7 of 8 answers"),
        "{}",
        notes[0]
    );
}
