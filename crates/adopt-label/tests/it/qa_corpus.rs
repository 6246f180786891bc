//! QA sets from the CMRC 2018 trial contexts (Chinese Wikipedia paragraphs) in shared/corpus.

use std::collections::BTreeSet;

use adopt_core::NoopReporter;
use adopt_label::{generate_qa_set, qa_jsonl, ExtractiveQaGenerator, LabelRecord, QaConfig};
use serde_json::Value;

const CORPUS: &str = "../../../shared/corpus/zh/cmrc2018_trial.json";

/// Each context becomes a record named after its context id; its human questions are returned
/// too, to see how close the extractive questions come to what people ask.
pub fn cmrc_records() -> (Vec<LabelRecord>, BTreeSet<String>) {
    let text = std::fs::read_to_string(CORPUS).expect("shared corpus present");
    let items: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut human = BTreeSet::new();
    let records = items
        .iter()
        .map(|item| {
            let id = item["context_id"].as_str().unwrap();
            for qa in item["qas"].as_array().unwrap() {
                human.insert(qa["query_text"].as_str().unwrap().to_owned());
            }
            let mut r = LabelRecord::new(id, item["context_text"].as_str().unwrap());
            r.source_path = format!("cmrc2018/{id}.txt");
            r.metadata
                .insert("title".into(), item["title"].as_str().unwrap().to_owned());
            r
        })
        .collect();
    (records, human)
}

#[test]
fn extractive_qa_on_cmrc_contexts() {
    let (records, human) = cmrc_records();
    assert_eq!(records.len(), 256);
    let config = QaConfig::default();
    let set = generate_qa_set(
        &ExtractiveQaGenerator::new(&config),
        &records,
        &config,
        &NoopReporter,
    )
    .unwrap();
    let pairs = &set.pairs;
    let report = &set.report;
    assert_eq!(report.kept, pairs.len());

    // Measured: 1023 pairs (of 2324 candidates) from 243 of the 256 contexts, at most 5 each.
    assert!(pairs.len() >= 950, "{report:?}");
    let sources: BTreeSet<&str> = pairs.iter().map(|p| p.record_id.as_str()).collect();
    assert!(sources.len() >= 230, "{} contexts", sources.len());

    let by_id: std::collections::HashMap<&str, &LabelRecord> =
        records.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut questions = BTreeSet::new();
    for p in pairs {
        let source = by_id[p.record_id.as_str()];
        assert_eq!(p.doc, format!("{}.txt", p.record_id));
        assert!(!p.answers.is_empty());
        for a in &p.answers {
            assert!(
                source.text.contains(a.as_str()),
                "{a:?} not in {}",
                p.record_id
            );
            assert!(
                !p.question.contains(a.as_str()),
                "{p:?} gives its answer away"
            );
        }
        assert!(p.question.ends_with('？'), "{p:?}");
        assert!(
            questions.insert(p.question.clone()),
            "duplicate {:?}",
            p.question
        );
    }

    // Some questions come out exactly as the CMRC annotators wrote them
    // ("若游戏中离，则多少分钟内不得进行配对？").
    let same = pairs.iter().filter(|p| human.contains(&p.question)).count();
    assert!(same >= 1, "no generated question matches a human one");

    // The JSONL is what the KB evaluation reads: exactly question, answers, doc.
    let jsonl = qa_jsonl(pairs);
    let first: Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    // Sorted: serde_json keeps insertion order when another crate enables `preserve_order`.
    let mut keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["answers", "doc", "question"]);
    assert_eq!(jsonl.lines().count(), pairs.len());
}

#[test]
fn ambiguous_questions_are_dropped_and_table_rows_asked() {
    let mut a = LabelRecord::new(
        "a",
        "Row 2: 客户: 张三; 授信额度: 50000\nRow 3: 客户: 李四; 授信额度: 80000\n",
    );
    a.source_path = "finance/客户.xlsx".into();
    // Two documents giving different answers to the same question: neither can be gold.
    let b = LabelRecord::new("b", "公司成立于2008年，总部位于上海。");
    let c = LabelRecord::new("c", "公司成立于2010年，总部位于上海。");
    let config = QaConfig::default();
    let set = generate_qa_set(
        &ExtractiveQaGenerator::new(&config),
        &[a, b, c],
        &config,
        &NoopReporter,
    )
    .unwrap();
    let questions: Vec<(&str, &str, &str)> = set
        .pairs
        .iter()
        .map(|p| (p.question.as_str(), p.answers[0].as_str(), p.doc.as_str()))
        .collect();
    assert_eq!(
        questions,
        [
            ("张三的授信额度是多少？", "50000", "客户.xlsx"),
            ("李四的授信额度是多少？", "80000", "客户.xlsx"),
        ]
    );
    assert_eq!(set.report.dropped_ambiguous, 2);
}
