//! Inputs shaped like a real bank's run: the clean report `adopt clean` wrote for
//! examples/bank, plus an inventory, labels, retrieval figures and a trial built here.

use adopt_report::*;

/// `clean/report.json` from `adopt collect examples/bank && adopt clean`.
pub fn bank_clean_report() -> CleanSummary {
    let text = include_str!("../fixtures/bank-clean-report.json");
    serde_json::from_str(text).expect("fixture parses")
}

pub fn doc(path: &str, dept: Option<&str>, format: &str, pages: u32, empty: u32) -> DocSummary {
    DocSummary {
        source_path: path.to_string(),
        department: dept.map(str::to_string),
        format: format.to_string(),
        page_count: pages,
        empty_units: empty,
        n_tables: 0,
        encoding: None,
        byte_size: 40_000 * u64::from(pages.max(1)),
        n_chars: 1_800 * u64::from(pages - empty),
        warnings: 0,
        ..DocSummary::default()
    }
}

/// A full run in which every stage has something to say.
pub fn full_inputs() -> ReadinessInputs {
    let mut documents = Vec::new();
    for i in 0..14 {
        documents.push(doc(
            &format!("credit/loan-policy-{i:02}.pdf"),
            Some("credit"),
            "pdf",
            12,
            0,
        ));
    }
    for i in 0..12 {
        // Scans: every page is an image.
        documents.push(doc(
            &format!("risk/scanned-contract-{i:02}.pdf"),
            Some("risk"),
            "pdf",
            6,
            6,
        ));
    }
    documents.push(doc("risk/annual-review.pdf", Some("risk"), "pdf", 40, 3));
    for i in 0..9 {
        let mut d = doc(
            &format!("customer-service/faq-{i}.md"),
            Some("customer-service"),
            "markdown",
            1,
            0,
        );
        d.encoding = Some("UTF-8".into());
        documents.push(d);
    }
    for i in 0..5 {
        let mut d = doc(
            &format!("fraud/cases-2024-{i}.xlsx"),
            Some("fraud"),
            "xlsx",
            3,
            0,
        );
        d.n_tables = 3;
        documents.push(d);
    }
    let mut legacy = doc("fraud/旧系统导出.txt", Some("fraud"), "text", 1, 0);
    legacy.encoding = Some("GB18030".into());
    documents.push(legacy);
    documents.push(doc("<script>alert('x')</script>.pdf", None, "pdf", 2, 1));
    let quarantine = vec![
        QuarantineItem {
            path: "credit/board-minutes-2023.pdf".into(),
            department: Some("credit".into()),
            format: Some("pdf".into()),
            kind: "encrypted".into(),
            reason: "the PDF is password-protected".into(),
        },
        QuarantineItem {
            path: "risk/model-<v2>.xlsx".into(),
            department: Some("risk".into()),
            format: Some("xlsx".into()),
            kind: "unreadable".into(),
            reason: "not a zip archive: the file is truncated".into(),
        },
    ];
    let label = LabelSummary {
        records: 1200,
        coverage: Some(0.82),
        overlap: Some(0.31),
        conflict: Some(0.06),
        labelled: Some(1010),
        label_counts: [("complaint", 410), ("enquiry", 380), ("fraud-report", 220)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        functions: vec![
            LabelFunctionSummary {
                name: "kw_complaint".into(),
                coverage: 0.41,
                conflicts: 0.03,
                empirical_accuracy: Some(0.91),
            },
            LabelFunctionSummary {
                name: "kw_fraud".into(),
                coverage: 0.22,
                conflicts: 0.05,
                empirical_accuracy: None,
            },
            LabelFunctionSummary {
                name: "regex_account_question".into(),
                coverage: 0.35,
                conflicts: 0.02,
                empirical_accuracy: Some(0.84),
            },
        ],
        agreement: Some(AgreementSummary {
            annotations: 600,
            annotators: vec!["wang".into(), "li".into(), "zhang".into()],
            items_multiply_annotated: 200,
            observed_agreement: Some(0.81),
            fleiss_kappa: Some(0.66),
            krippendorff_alpha: Some(0.67),
            per_label: vec![
                LabelAgreementSummary {
                    label: "complaint".into(),
                    annotations: 240,
                    fleiss_kappa: Some(0.74),
                    krippendorff_alpha: Some(0.74),
                },
                LabelAgreementSummary {
                    label: "enquiry".into(),
                    annotations: 230,
                    fleiss_kappa: Some(0.69),
                    krippendorff_alpha: Some(0.69),
                },
                LabelAgreementSummary {
                    label: "fraud-report".into(),
                    annotations: 130,
                    fleiss_kappa: Some(0.48),
                    krippendorff_alpha: Some(0.49),
                },
            ],
        }),
    };
    let kb = KbSummary {
        mode: Some("hybrid".into()),
        n_documents: Some(40),
        n_chunks: 3120,
        n_queries: 80,
        hit_at_1: Some(0.58),
        hit_at_3: Some(0.76),
        hit_at_5: Some(0.84),
        hit_at_10: Some(0.91),
        mrr: Some(0.68),
        ndcg: Some(0.72),
    };
    let cand = |m: &str, p: f64, q: f64, c: f64| TrialCandidate {
        model: m.into(),
        params_b: Some(p),
        quality: Some(q),
        cost_per_1k_tasks: Some(c),
        ..Default::default()
    };
    let trial = TrialSummary {
        currency: Some("CNY".into()),
        scenarios: vec![
            ScenarioSummary {
                scenario: "Customer-service FAQ 客服问答".into(),
                metric: Some("answer accuracy".into()),
                quality_bar: Some(0.85),
                recommended_model: Some("qwen2.5-14b".into()),
                params_b: Some(14.0),
                quality: Some(0.88),
                cost_per_1k_tasks: Some(4.2),
                monthly_tasks: Some(300_000),
                monthly_cost: Some(1260.0),
                sentence: Some("qwen2.5-14b answers 88% of FAQ questions correctly (bar 85%) for CNY 4.20 per 1,000 questions; the 72B model is 3 points better at 5 times the cost.".into()),
                candidates: vec![
                    cand("qwen2.5-3b", 3.0, 0.71, 0.9),
                    cand("qwen2.5-7b", 7.0, 0.81, 2.1),
                    cand("qwen2.5-14b", 14.0, 0.88, 4.2),
                    cand("qwen2.5-32b", 32.0, 0.90, 9.5),
                    cand("qwen2.5-72b", 72.0, 0.91, 21.0),
                ],
            },
            ScenarioSummary {
                scenario: "Credit memo summary 授信报告摘要".into(),
                metric: Some("rubric score".into()),
                quality_bar: Some(0.80),
                recommended_model: Some("qwen2.5-32b".into()),
                params_b: Some(32.0),
                quality: Some(0.83),
                cost_per_1k_tasks: Some(18.0),
                monthly_tasks: Some(20_000),
                monthly_cost: Some(360.0),
                sentence: None,
                candidates: vec![
                    cand("qwen2.5-7b", 7.0, 0.62, 5.0),
                    cand("qwen2.5-14b", 14.0, 0.74, 9.0),
                    cand("qwen2.5-32b", 32.0, 0.83, 18.0),
                    cand("qwen2.5-72b", 72.0, 0.86, 40.0),
                ],
            },
        ],
        missing_models: vec![],
        hosted: vec![HostedCostSummary {
            scenario: "Customer-service FAQ 客服问答".into(),
            model: "deepseek-v2".into(),
            vendor: Some("DeepSeek".into()),
            list_price: "1 / 2 CNY per million tokens in / out (2024-05)".into(),
            cost_per_1k_tasks: 1.56,
            monthly_cost: Some(468.0),
        }],
        load: None,
    };
    ReadinessInputs {
        run: RunInfo {
            organisation: Some("Example Bank 示例银行".into()),
            run_dir: Some("adopt-run".into()),
            generated_at: Some("2025-03-14 09:30".into()),
            adopt_version: Some("0.1.0".into()),
        },
        inventory: Some(Inventory {
            documents,
            quarantine,
        }),
        clean: Some(bank_clean_report()),
        label: Some(label),
        kb: Some(kb),
        trial: Some(trial),
    }
}
