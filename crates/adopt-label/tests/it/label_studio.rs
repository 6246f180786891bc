//! The annotation round trip: export Label Studio tasks, check them with Label Studio's own SDK
//! (when installed), simulate annotators in Label Studio's JSON export format, import, measure
//! agreement, and feed the human labels back into the stage.

use std::path::Path;
use std::process::Command;

use adopt_core::NoopReporter;
use adopt_label::{
    annotation_sheet_csv, annotations_from_csv, read_annotations, run, write_outputs, LabelConfig,
    LabelSource,
};
use serde_json::{json, Value};

use crate::pipeline::{office_records, BigramEmbedder, LABELS, PIPELINE};
use crate::Rng;

/// Label Studio's export of the tasks after three annotators (user ids 11, 12, 13) labelled
/// each: annotator 11 is always right, 12 wrong one time in ten, 13 one time in four; a fourth
/// annotation per task is cancelled, as Label Studio keeps skipped ones in its export.
fn simulated_export(tasks: &[Value], truth_of: impl Fn(&str) -> usize) -> Value {
    let mut rng = Rng(99);
    let mut annotation_id = 500;
    let exported: Vec<Value> = tasks
        .iter()
        .enumerate()
        .map(|(n, task)| {
            let record_id = task["data"]["record_id"].as_str().unwrap();
            let truth = truth_of(record_id);
            let mut annotations = Vec::new();
            for (user, error) in [(11, 0.0), (12, 0.1), (13, 0.25)] {
                let label = if rng.unit() < error {
                    (truth + 1 + rng.below(2)) % 3
                } else {
                    truth
                };
                annotation_id += 1;
                annotations.push(json!({
                    "id": annotation_id,
                    "completed_by": user,
                    "result": [{
                        "id": format!("r{annotation_id}"),
                        "from_name": "label",
                        "to_name": "text",
                        "type": "choices",
                        "origin": "manual",
                        "value": {"choices": [LABELS[label]]}
                    }],
                    "was_cancelled": false,
                    "ground_truth": false,
                    "created_at": "2026-11-23T10:00:00.000000Z",
                    "lead_time": 12.5,
                    "result_count": 1
                }));
            }
            annotations.push(json!({
                "id": 9000 + n, "completed_by": 14, "result": [], "was_cancelled": true
            }));
            json!({
                "id": 1000 + n,
                "data": task["data"],
                "annotations": annotations,
                "predictions": task["predictions"],
                "meta": {},
                "created_at": "2026-11-23T09:00:00.000000Z",
                "project": 3
            })
        })
        .collect();
    Value::Array(exported)
}

/// Validates our export with the `label-studio-sdk` package: the labelling config parses and
/// validates, every task fits its Pydantic task model, every prediction and every simulated
/// annotation validates against the config. Skipped, saying so, without python3 or the SDK.
fn validate_with_label_studio_sdk(dir: &Path) {
    let importable = Command::new("python3")
        .args(["-c", "import label_studio_sdk"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !importable {
        eprintln!(
            "skipped: Label Studio schema check (python3 with label-studio-sdk not found; \
             `pip install label-studio-sdk` to run it)"
        );
        return;
    }
    let script = r#"
import json, sys
from label_studio_sdk.label_interface import LabelInterface
from label_studio_sdk.label_interface.objects import TaskValue, AnnotationValue
d = sys.argv[1]
li = LabelInterface(open(d + "/annotation/config.xml", encoding="utf-8").read())
li.validate()
tasks = json.load(open(d + "/annotation/tasks.json", encoding="utf-8"))
assert tasks, "no tasks"
for t in tasks:
    TaskValue.model_validate(t)
    assert isinstance(t["data"]["text"], str) and t["data"]["text"]
    for p in t["predictions"]:
        errors = li.validate_prediction(p, return_errors=True)
        assert not errors, errors
for t in json.load(open(d + "/export.json", encoding="utf-8")):
    for a in t["annotations"]:
        if a["was_cancelled"]:
            continue
        AnnotationValue.model_validate(a)
        assert li.validate_annotation(a), a
print("label-studio-sdk accepted", len(tasks), "tasks")
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "Label Studio rejected the export:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn label_studio_round_trip() {
    let (records, truth) = office_records(400, 21);
    let config: LabelConfig = toml::from_str(PIPELINE).unwrap();
    let first = run(&config, &records, &[], Some(&BigramEmbedder), &NoopReporter).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_outputs(dir.path(), &first).unwrap();

    let tasks: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("annotation/tasks.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(tasks.len(), 40);
    assert!(tasks[0]["predictions"][0]["result"][0]["value"]["choices"][0].is_string());
    let truth_of = |id: &str| truth[records.iter().position(|r| r.id == id).unwrap()];
    let export = simulated_export(&tasks, truth_of);
    let export_path = dir.path().join("export.json");
    std::fs::write(&export_path, serde_json::to_string_pretty(&export).unwrap()).unwrap();

    validate_with_label_studio_sdk(dir.path());

    let annotations = read_annotations(&export_path).unwrap();
    assert_eq!(annotations.len(), 120, "cancelled annotations are skipped");
    assert!(annotations.iter().any(|a| a.annotator == "user-12"));

    let second = run(
        &config,
        &records,
        &annotations,
        Some(&BigramEmbedder),
        &NoopReporter,
    )
    .unwrap();
    let agreement = second.report.agreement.as_ref().unwrap();
    assert_eq!(agreement.annotators, ["user-11", "user-12", "user-13"]);
    assert_eq!(agreement.items_multiply_annotated, 40);
    let alpha = agreement.krippendorff_alpha.unwrap();
    let fleiss = agreement.fleiss_kappa.unwrap();
    // Error rates 0, 0.1, 0.25 put agreement well above chance and below perfect.
    assert!((0.5..0.95).contains(&alpha), "alpha {alpha}");
    assert!(
        (fleiss - alpha).abs() < 0.05,
        "fleiss {fleiss} vs alpha {alpha}"
    );
    let best_pair = agreement
        .cohen_kappa
        .iter()
        .find(|k| k.annotator_a == "user-11" && k.annotator_b == "user-12")
        .unwrap();
    let worst_pair = agreement
        .cohen_kappa
        .iter()
        .find(|k| k.annotator_a == "user-12" && k.annotator_b == "user-13")
        .unwrap();
    assert!(best_pair.kappa.unwrap() > worst_pair.kappa.unwrap());
    assert_eq!(agreement.per_label.len(), 3);

    // Consensus labels replace the model's, and the next round asks about other records.
    let human: Vec<_> = second
        .records
        .iter()
        .filter(|r| r.source == LabelSource::Human)
        .collect();
    assert!(human.len() >= 38, "{} human labels", human.len());
    for r in &human {
        assert_eq!(r.label.as_deref(), Some(LABELS[truth_of(&r.id)]));
    }
    let annotated: Vec<&str> = tasks
        .iter()
        .map(|t| t["data"]["record_id"].as_str().unwrap())
        .collect();
    assert!(second
        .tasks
        .iter()
        .all(|t| !annotated.contains(&t.data.record_id.as_str())
            || !human.iter().any(|h| h.id == t.data.record_id)));
    assert!(second.report.gold.as_ref().unwrap().records > 100);

    // The CSV sheet goes the same way round.
    let sheet = annotation_sheet_csv(&first.tasks);
    let filled: String = sheet
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                format!("{line}\n")
            } else {
                // annotator and label are the first and third columns.
                let rest = line.splitn(3, ',').nth(2).unwrap();
                format!("li,{},人事,{}\n", first.tasks[i - 1].data.record_id, rest)
            }
        })
        .collect();
    // The text column may span lines, so parse rather than count lines.
    let from_csv = annotations_from_csv(&filled).unwrap();
    assert_eq!(from_csv.len(), 40);
    assert!(from_csv
        .iter()
        .all(|a| a.annotator == "li" && a.label == "人事"));
}
