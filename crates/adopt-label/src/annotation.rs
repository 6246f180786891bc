//! The human round trip: pick the records the label model is least sure about (active
//! learning), export them as Label Studio tasks (with the model's guess as a pre-annotation) or
//! a CSV sheet, and import the finished annotations back from Label Studio's JSON export or a
//! CSV of `annotator,id,label`.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agreement::Annotation;
use crate::model::entropy;
use crate::output::LabeledRecord;
use crate::{csv, LabelError, LabelRecord, LabelSet, Result};

/// Name of the Choices control in the Label Studio config; results are read back by it.
pub const CONTROL_NAME: &str = "label";
/// Name of the Text object (and of the task data field it shows).
pub const TEXT_NAME: &str = "text";

/// How uncertainty is measured when picking records for annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Uncertainty {
    /// Lowest top probability first.
    #[default]
    LeastConfidence,
    /// Highest entropy of the label distribution first.
    Entropy,
    /// Smallest gap between the two most probable labels first.
    Margin,
}

/// Settings of the annotation round, `[label.annotation]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct AnnotationConfig {
    /// Records to send to annotators per round; 0 sends none.
    pub budget: usize,
    /// How to rank records by uncertainty.
    pub strategy: Uncertainty,
    /// Also send records no function voted on (their probabilities are only the class prior,
    /// so they rank as very uncertain; turn off to spend the budget on real conflicts).
    pub include_uncovered: bool,
    /// Longest text sent to annotators, in characters; longer texts are cut with "…".
    pub max_text_chars: usize,
    /// `model_version` written into the pre-annotations.
    pub model_version: String,
}

impl Default for AnnotationConfig {
    fn default() -> Self {
        AnnotationConfig {
            budget: 100,
            strategy: Uncertainty::LeastConfidence,
            include_uncovered: true,
            max_text_chars: 4000,
            model_version: "adopt-label".into(),
        }
    }
}

impl AnnotationConfig {
    pub(crate) fn validate(&self, errors: &mut Vec<String>) {
        if self.max_text_chars == 0 {
            errors.push("annotation.max-text-chars must be at least 1".into());
        }
        if self.model_version.trim().is_empty() {
            errors.push("annotation.model-version must not be empty".into());
        }
    }
}

/// How uncertain one distribution is under `strategy`; larger is more uncertain.
pub fn uncertainty(p: &[f64], strategy: Uncertainty) -> f64 {
    match strategy {
        Uncertainty::LeastConfidence => 1.0 - p.iter().copied().fold(0.0, f64::max),
        Uncertainty::Entropy => entropy(p),
        Uncertainty::Margin => {
            let (mut a, mut b) = (0.0f64, 0.0f64);
            for &x in p {
                if x > a {
                    b = a;
                    a = x;
                } else if x > b {
                    b = x;
                }
            }
            1.0 - (a - b)
        }
    }
}

/// Indices of up to `budget` records to annotate, most uncertain first (ties by id, so rounds
/// are reproducible). Records already labelled by humans or gold, and those in `exclude`, are
/// skipped.
pub fn select_for_annotation(
    records: &[LabeledRecord],
    config: &AnnotationConfig,
    exclude: &BTreeSet<String>,
) -> Vec<usize> {
    let mut candidates: Vec<(f64, usize)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.source == crate::LabelSource::Model)
        .filter(|(_, r)| config.include_uncovered || r.votes > 0)
        .filter(|(_, r)| !exclude.contains(&r.id))
        .map(|(i, r)| (uncertainty(&r.probabilities, config.strategy), i))
        .collect();
    candidates.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| records[a.1].id.cmp(&records[b.1].id))
    });
    candidates
        .into_iter()
        .take(config.budget)
        .map(|(_, i)| i)
        .collect()
}

/// The Label Studio labelling config: a text and a single-choice list of the labels.
pub fn label_studio_config(labels: &LabelSet) -> String {
    let mut xml = format!(
        "<View>\n  <Text name=\"{TEXT_NAME}\" value=\"${TEXT_NAME}\"/>\n  \
         <Choices name=\"{CONTROL_NAME}\" toName=\"{TEXT_NAME}\" choice=\"single\" showInline=\"true\">\n"
    );
    for l in labels.names() {
        xml.push_str(&format!("    <Choice value=\"{}\"/>\n", xml_escape(l)));
    }
    xml.push_str("  </Choices>\n</View>\n");
    xml
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// One task in Label Studio's JSON import format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelStudioTask {
    /// Position in the export, from 1 (Label Studio assigns its own ids on import; the record
    /// is found again through `data.record_id`).
    pub id: u64,
    pub data: TaskData,
    /// The label model's guess, shown to annotators as a pre-annotation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predictions: Vec<Prediction>,
}

/// The fields of a task the annotator sees (`text`) and the ones that bring it home.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskData {
    pub text: String,
    pub record_id: String,
    pub source_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Why the record was sent: its uncertainty under the configured strategy.
    pub uncertainty: f64,
}

/// A Label Studio prediction (pre-annotation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub model_version: String,
    /// Probability of the predicted label, 0..=1.
    pub score: f64,
    pub result: Vec<ChoiceResult>,
}

/// One region of a result: a choice made in the `label` control for the `text` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceResult {
    pub from_name: String,
    pub to_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: ChoiceValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceValue {
    pub choices: Vec<String>,
}

impl ChoiceResult {
    pub fn choice(label: &str) -> Self {
        ChoiceResult {
            from_name: CONTROL_NAME.into(),
            to_name: TEXT_NAME.into(),
            kind: "choices".into(),
            value: ChoiceValue {
                choices: vec![label.to_owned()],
            },
        }
    }
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Label Studio tasks for the `selected` records (indices into both `records` and `labeled`,
/// which line up).
pub fn label_studio_tasks(
    records: &[LabelRecord],
    labeled: &[LabeledRecord],
    selected: &[usize],
    config: &AnnotationConfig,
) -> Vec<LabelStudioTask> {
    selected
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let (r, l) = (&records[i], &labeled[i]);
            LabelStudioTask {
                id: n as u64 + 1,
                data: TaskData {
                    text: truncate_chars(&r.text, config.max_text_chars),
                    record_id: r.id.clone(),
                    source_path: r.source_path.clone(),
                    department: r.department.clone(),
                    uncertainty: uncertainty(&l.probabilities, config.strategy),
                },
                predictions: l
                    .label
                    .as_deref()
                    .map(|label| Prediction {
                        model_version: config.model_version.clone(),
                        score: l.probability.clamp(0.0, 1.0),
                        result: vec![ChoiceResult::choice(label)],
                    })
                    .into_iter()
                    .collect(),
            }
        })
        .collect()
}

/// The same tasks as a sheet for annotators without Label Studio: fill in `annotator` and
/// `label` and import it back with [`annotations_from_csv`].
pub fn annotation_sheet_csv(tasks: &[LabelStudioTask]) -> String {
    let mut out = String::new();
    csv::write_row(
        &mut out,
        &[
            "annotator",
            "id",
            "label",
            "suggested_label",
            "score",
            "source_path",
            "text",
        ],
    );
    for t in tasks {
        let (suggested, score) = t
            .predictions
            .first()
            .map(|p| {
                (
                    p.result
                        .first()
                        .and_then(|r| r.value.choices.first().cloned())
                        .unwrap_or_default(),
                    format!("{:.4}", p.score),
                )
            })
            .unwrap_or_default();
        csv::write_row(
            &mut out,
            &[
                "",
                t.data.record_id.as_str(),
                "",
                &suggested,
                &score,
                &t.data.source_path,
                &t.data.text,
            ],
        );
    }
    out
}

/// Annotations from Label Studio's JSON export (a list of tasks, each with
/// `annotations[].result[].value.choices` and `completed_by`). Also reads the JSON-MIN export
/// (flat objects with `record_id`, `label` and `annotator`). Cancelled and empty annotations
/// are skipped; the annotator is the user's email where the export has it, else `user-<id>`.
pub fn annotations_from_label_studio(json: &str) -> std::result::Result<Vec<Annotation>, String> {
    let tasks: Vec<Value> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (n, task) in tasks.iter().enumerate() {
        let record_id = task
            .pointer("/data/record_id")
            .or_else(|| task.get("record_id"))
            .and_then(value_as_string)
            .ok_or_else(|| format!("task {}: no data.record_id", n + 1))?;
        let Some(annotations) = task.get("annotations").and_then(Value::as_array) else {
            // JSON-MIN: one flat object per annotated task.
            if let Some(label) = task.get(CONTROL_NAME).and_then(value_as_string) {
                out.push(Annotation {
                    record_id,
                    annotator: task
                        .get("annotator")
                        .and_then(value_as_string)
                        .unwrap_or_else(|| "unknown".into()),
                    label,
                });
            }
            continue;
        };
        for a in annotations {
            if a.get("was_cancelled").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let annotator = match a.get("completed_by") {
                Some(Value::Object(user)) => {
                    user.get("email").and_then(value_as_string).or_else(|| {
                        user.get("id")
                            .and_then(value_as_string)
                            .map(|i| format!("user-{i}"))
                    })
                }
                Some(v) => value_as_string(v).map(|i| format!("user-{i}")),
                None => None,
            }
            .unwrap_or_else(|| "unknown".into());
            let results = a.get("result").and_then(Value::as_array);
            let choice = results.and_then(|rs| {
                let choices = |r: &Value| {
                    r.pointer("/value/choices")
                        .and_then(Value::as_array)
                        .and_then(|c| c.first())
                        .and_then(value_as_string)
                };
                rs.iter()
                    .filter(|r| r.get("from_name").and_then(Value::as_str) == Some(CONTROL_NAME))
                    .find_map(choices)
                    .or_else(|| rs.iter().find_map(choices))
            });
            if let Some(label) = choice {
                out.push(Annotation {
                    record_id: record_id.clone(),
                    annotator,
                    label,
                });
            }
        }
    }
    Ok(out)
}

fn value_as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Annotations from a CSV with the columns `annotator`, `id` (or `record_id`) and `label`, in
/// any order; other columns are ignored and rows without a label are skipped.
pub fn annotations_from_csv(text: &str) -> std::result::Result<Vec<Annotation>, String> {
    let rows = csv::parse(text)?;
    let Some((header, rows)) = rows.split_first() else {
        return Ok(Vec::new());
    };
    let col = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&h.trim().to_lowercase().as_str()))
    };
    let (Some(who), Some(id), Some(label)) = (
        col(&["annotator"]),
        col(&["id", "record_id"]),
        col(&["label"]),
    ) else {
        return Err(format!(
            "header {header:?} lacks one of the columns annotator, id, label"
        ));
    };
    Ok(rows
        .iter()
        .filter_map(|r| {
            let get = |i: usize| r.get(i).map(|s| s.trim().to_owned()).unwrap_or_default();
            let l = get(label);
            (!l.is_empty()).then(|| Annotation {
                record_id: get(id),
                annotator: get(who),
                label: l,
            })
        })
        .collect())
}

/// Reads annotations from a file: `.csv` as a sheet, anything else as Label Studio JSON.
pub fn read_annotations(path: &Path) -> Result<Vec<Annotation>> {
    let text = std::fs::read_to_string(path).map_err(|source| LabelError::Io {
        path: path.to_owned(),
        source,
    })?;
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let parsed = if is_csv {
        annotations_from_csv(&text)
    } else {
        annotations_from_label_studio(&text)
    };
    parsed.map_err(|message| LabelError::Annotations {
        path: path.to_owned(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncertainty_orders() {
        let sure = [0.9, 0.05, 0.05];
        let torn = [0.45, 0.45, 0.1];
        for s in [
            Uncertainty::LeastConfidence,
            Uncertainty::Entropy,
            Uncertainty::Margin,
        ] {
            assert!(uncertainty(&torn, s) > uncertainty(&sure, s), "{s:?}");
        }
        // Margin prefers a two-way tie over a flatter but clearer distribution.
        assert!(
            uncertainty(&[0.5, 0.5, 0.0], Uncertainty::Margin)
                > uncertainty(&[0.4, 0.3, 0.3], Uncertainty::Margin)
        );
    }

    #[test]
    fn config_escapes_labels() {
        let xml = label_studio_config(&LabelSet::new(vec!["R&D".into(), "人事".into()]));
        assert!(xml.contains("<Choice value=\"R&amp;D\"/>"));
        assert!(xml.contains("<Choice value=\"人事\"/>"));
    }

    #[test]
    fn reads_completed_by_in_both_shapes_and_skips_cancelled() {
        let json = r#"[
          {"id": 7, "data": {"text": "t", "record_id": "r1"}, "annotations": [
            {"completed_by": 3, "result": [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["hr"]}}]},
            {"completed_by": {"id": 4, "email": "li@example.com"}, "result": [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["财务"]}}]},
            {"completed_by": 5, "was_cancelled": true, "result": []}
          ]},
          {"id": 8, "record_id": "r2", "label": "hr", "annotator": "wang@example.com"}
        ]"#;
        let a = annotations_from_label_studio(json).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].annotator, "user-3");
        assert_eq!(a[1].annotator, "li@example.com");
        assert_eq!(a[1].label, "财务");
        assert_eq!(a[2].record_id, "r2");
    }

    #[test]
    fn csv_columns_in_any_order() {
        let a = annotations_from_csv("label,id,annotator,note\nhr,r1,li,\n,r2,li,skip\n").unwrap();
        assert_eq!(
            a,
            vec![Annotation {
                record_id: "r1".into(),
                annotator: "li".into(),
                label: "hr".into()
            }]
        );
        assert!(annotations_from_csv("who,id\n").is_err());
    }
}
