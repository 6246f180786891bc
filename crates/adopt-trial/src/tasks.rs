//! Task suites built from the enterprise's own data: QA over its documents, classification of
//! its records, extraction of its fields. Each suite turns records into prompts and answers
//! into scores; the same prompts go to every model, which is what makes the sweep fair.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::{ContextMode, Metric, TaskConfig, TaskKind, TrialConfig};
use crate::error::{Result, TrialError};
use crate::provider::Message;
use crate::score;

/// Supplies the passages a QA question is answered from. The kb stage implements it with its
/// retriever; until a record names no context, none is needed.
pub trait ContextSource: Send + Sync {
    /// Passages for `question`, optionally restricted to document `doc`, best first.
    fn contexts(
        &self,
        question: &str,
        doc: Option<&str>,
    ) -> std::result::Result<Vec<String>, String>;
}

/// What a correct answer is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expected {
    /// Acceptable answers to a question.
    Answers(Vec<String>),
    /// The right label.
    Label(String),
    /// The fields and their values.
    Fields(Map<String, Value>),
}

impl Expected {
    /// The reference as text, for the judge and the per-item output.
    pub fn render(&self) -> String {
        match self {
            Expected::Answers(a) => a.join(" | "),
            Expected::Label(l) => l.clone(),
            Expected::Fields(f) => Value::Object(f.clone()).to_string(),
        }
    }
}

/// One record of a suite, ready to prompt.
#[derive(Debug, Clone)]
pub struct TaskItem {
    /// The record's `id`, or its line (row) number.
    pub id: String,
    /// The messages sent to every model.
    pub messages: Vec<Message>,
    pub expected: Expected,
    /// QA: the context the model is given, as it appears in the prompt (`None` closed-book).
    pub context: Option<String>,
    /// QA with context: whether the context holds a reference answer at all
    /// ([`score::context_has_answer`]), so a wrong answer can be blamed on retrieval or on the
    /// model.
    pub context_hit: Option<bool>,
}

/// Scores of one answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemScores {
    /// Every per-item metric of the task kind, by name.
    pub metrics: BTreeMap<Metric, f64>,
    /// Classification: the label parsed from the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_label: Option<String>,
    /// The answer began by repeating the prompt ([`score::echoes_prompt`]), so it was scored
    /// as an empty answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub echoed: bool,
}

/// A loaded suite.
#[derive(Debug, Clone)]
pub struct TaskSuite {
    pub name: String,
    pub kind: TaskKind,
    pub metric: Metric,
    pub items: Vec<TaskItem>,
    /// Classification: the allowed labels.
    pub labels: Vec<String>,
    /// Extraction: the fields.
    pub fields: Vec<String>,
    /// Typical answer length, for estimates.
    pub expected_output_tokens: u32,
}

const QA_PROMPT: &str = "Answer the question using only the context below. Reply with the answer \
only, as briefly as possible, in the language of the question.\n\nContext:\n{context}\n\nQuestion: {question}";
const QA_CLOSED_PROMPT: &str =
    "Answer the question. Reply with the answer only, as briefly as possible.\n\nQuestion: {question}";
const CLASSIFY_PROMPT: &str = "Classify the text into exactly one of these labels: {labels}.\n\
Reply with the label only.\n\nText:\n{text}";
const EXTRACT_PROMPT: &str =
    "Extract these fields from the text: {fields}.\nReply with a single JSON \
object with exactly these keys; use null for a field the text does not give.\n\nText:\n{text}";

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn record_err(
    task: &TaskConfig,
    path: &Path,
    line: usize,
    message: impl Into<String>,
) -> TrialError {
    TrialError::TaskRecord {
        task: task.name.clone(),
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// JSONL records with their 1-based line numbers; blank lines skipped.
fn read_jsonl(task: &TaskConfig, path: &Path) -> Result<Vec<(usize, Map<String, Value>)>> {
    let file = std::fs::File::open(path).map_err(|source| TrialError::TaskData {
        task: task.name.clone(),
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| TrialError::TaskData {
            task: task.name.clone(),
            path: path.to_path_buf(),
            source,
        })?;
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => out.push((i + 1, m)),
            Ok(_) => return Err(record_err(task, path, i + 1, "not a JSON object")),
            Err(e) => return Err(record_err(task, path, i + 1, format!("invalid JSON: {e}"))),
        }
        if task.limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    Ok(out)
}

/// CSV rows as string maps (header = keys), with their 1-based line numbers.
fn read_csv(task: &TaskConfig, path: &Path) -> Result<Vec<(usize, Map<String, Value>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| record_err(task, path, 0, e.to_string()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| record_err(task, path, 1, e.to_string()))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| record_err(task, path, i + 2, e.to_string()))?;
        let m: Map<String, Value> = headers
            .iter()
            .zip(row.iter())
            .map(|(h, v)| (h.clone(), Value::String(v.to_string())))
            .collect();
        out.push((i + 2, m));
        if task.limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    Ok(out)
}

fn str_field<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

fn item_id(m: &Map<String, Value>, line: usize) -> String {
    match m.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => format!("L{line}"),
    }
}

/// Loads a task's data and builds its prompts.
pub fn load_task(
    config: &TrialConfig,
    task: &TaskConfig,
    context_source: Option<&dyn ContextSource>,
) -> Result<TaskSuite> {
    let path = config.resolve(&task.path);
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let records = if is_csv {
        if task.kind != TaskKind::Classification {
            return Err(record_err(
                task,
                &path,
                0,
                "CSV is read for classification tasks only; use JSONL",
            ));
        }
        read_csv(task, &path)?
    } else {
        read_jsonl(task, &path)?
    };
    if records.is_empty() {
        return Err(record_err(task, &path, 0, "no records"));
    }
    let system = task.system.as_deref().map(Message::system);
    let messages = |user: String| -> Vec<Message> {
        system
            .iter()
            .cloned()
            .chain([Message::user(user)])
            .collect()
    };
    let mut suite = TaskSuite {
        name: task.name.clone(),
        kind: task.kind,
        metric: task.primary_metric(),
        items: Vec::with_capacity(records.len()),
        labels: Vec::new(),
        fields: Vec::new(),
        expected_output_tokens: task.expected_output_tokens.unwrap_or(match task.kind {
            TaskKind::RagQa => 32,
            TaskKind::Classification => 4,
            TaskKind::Extraction => 96,
        }),
    };
    match task.kind {
        TaskKind::RagQa => {
            for (line, m) in &records {
                let question = str_field(m, "question")
                    .ok_or_else(|| record_err(task, &path, *line, "no \"question\""))?;
                let answers: Vec<String> = match (m.get("answers"), m.get("answer")) {
                    (Some(Value::Array(a)), _) => a
                        .iter()
                        .filter_map(|v| match v {
                            Value::String(s) => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        })
                        .collect(),
                    (_, Some(Value::String(s))) => vec![s.clone()],
                    _ => Vec::new(),
                };
                if answers.is_empty() {
                    return Err(record_err(
                        task,
                        &path,
                        *line,
                        "no \"answers\" (a list of strings)",
                    ));
                }
                let id = item_id(m, *line);
                let inline: Option<Vec<String>> = match m.get("context") {
                    Some(Value::String(s)) => Some(vec![s.clone()]),
                    Some(Value::Array(a)) => Some(
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                    ),
                    _ => None,
                };
                let contexts = match (task.context, inline) {
                    (ContextMode::None, _) => None,
                    (_, Some(c)) => Some(c),
                    (ContextMode::Source, None) => {
                        let source = context_source.ok_or_else(|| {
                            record_err(task, &path, *line, "context = \"source\" but the run has no context source (kb stage)")
                        })?;
                        Some(
                            source
                                .contexts(question, str_field(m, "doc"))
                                .map_err(|message| TrialError::Context {
                                    task: task.name.clone(),
                                    item: id.clone(),
                                    message,
                                })?,
                        )
                    }
                    (ContextMode::Inline, None) => {
                        return Err(record_err(
                            task,
                            &path,
                            *line,
                            "no \"context\": give it inline, or set context = \"source\" (kb retrieval) or \"none\" (closed book)",
                        ))
                    }
                };
                let joined = contexts.map(|c| {
                    if c.len() == 1 {
                        c[0].clone()
                    } else {
                        c.iter()
                            .enumerate()
                            .map(|(i, p)| format!("[{}] {p}", i + 1))
                            .collect::<Vec<_>>()
                            .join("\n\n")
                    }
                });
                let prompt = match &joined {
                    Some(joined) => fill(
                        task.prompt.as_deref().unwrap_or(QA_PROMPT),
                        &[("context", joined), ("question", question)],
                    ),
                    None => fill(
                        task.prompt.as_deref().unwrap_or(QA_CLOSED_PROMPT),
                        &[("context", ""), ("question", question)],
                    ),
                };
                suite.items.push(TaskItem {
                    id,
                    messages: messages(prompt),
                    context_hit: joined
                        .as_deref()
                        .map(|c| score::context_has_answer(c, &answers)),
                    context: joined,
                    expected: Expected::Answers(answers),
                });
            }
        }
        TaskKind::Classification => {
            let text_key = task.text_field.as_deref().unwrap_or("text");
            let label_key = task.label_field.as_deref().unwrap_or("label");
            let mut rows = Vec::new();
            for (line, m) in &records {
                let text = str_field(m, text_key)
                    .ok_or_else(|| record_err(task, &path, *line, format!("no {text_key:?}")))?;
                let label = match m.get(label_key) {
                    Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => return Err(record_err(task, &path, *line, format!("no {label_key:?}"))),
                };
                rows.push((item_id(m, *line), text.to_string(), label, *line));
            }
            suite.labels = match &task.labels {
                Some(l) => l.clone(),
                None => rows
                    .iter()
                    .map(|r| r.2.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            };
            let label_list = suite.labels.join(", ");
            for (id, text, label, line) in rows {
                if !suite.labels.contains(&label) {
                    return Err(record_err(
                        task,
                        &path,
                        line,
                        format!("label {label:?} is not one of the task's labels"),
                    ));
                }
                let prompt = fill(
                    task.prompt.as_deref().unwrap_or(CLASSIFY_PROMPT),
                    &[("labels", &label_list), ("text", &text)],
                );
                suite.items.push(TaskItem {
                    id,
                    messages: messages(prompt),
                    expected: Expected::Label(label),
                    context: None,
                    context_hit: None,
                });
            }
        }
        TaskKind::Extraction => {
            let mut rows = Vec::new();
            for (line, m) in &records {
                let text = str_field(m, "text")
                    .ok_or_else(|| record_err(task, &path, *line, "no \"text\""))?;
                let fields = match m.get("fields").or_else(|| m.get("expected")) {
                    Some(Value::Object(f)) => f.clone(),
                    _ => return Err(record_err(task, &path, *line, "no \"fields\" object")),
                };
                rows.push((item_id(m, *line), text.to_string(), fields));
            }
            suite.fields = match &task.fields {
                Some(f) => f.clone(),
                None => {
                    let mut seen = Vec::new();
                    for (_, _, f) in &rows {
                        for k in f.keys() {
                            if !seen.contains(k) {
                                seen.push(k.clone());
                            }
                        }
                    }
                    seen
                }
            };
            let field_list = suite.fields.join(", ");
            for (id, text, fields) in rows {
                let prompt = fill(
                    task.prompt.as_deref().unwrap_or(EXTRACT_PROMPT),
                    &[("fields", &field_list), ("text", &text)],
                );
                suite.items.push(TaskItem {
                    id,
                    messages: messages(prompt),
                    expected: Expected::Fields(fields),
                    context: None,
                    context_hit: None,
                });
            }
        }
    }
    Ok(suite)
}

impl TaskSuite {
    /// Scores an answer to `item` with every metric of the kind.
    pub fn score(&self, item: &TaskItem, answer: &str) -> ItemScores {
        let mut s = ItemScores::default();
        let prompt = item.messages.last().map_or("", |m| m.content.as_str());
        let answer = if score::echoes_prompt(answer, prompt) {
            s.echoed = true;
            ""
        } else {
            answer
        };
        match &item.expected {
            Expected::Answers(refs) => {
                s.metrics
                    .insert(Metric::ExactMatch, score::exact_match(answer, refs));
                s.metrics
                    .insert(Metric::TokenF1, score::token_f1(answer, refs));
                s.metrics
                    .insert(Metric::Contains, score::contains(answer, refs));
            }
            Expected::Label(gold) => {
                let predicted = score::parse_label(answer, &self.labels);
                s.metrics.insert(
                    Metric::Accuracy,
                    f64::from(u8::from(predicted.as_ref() == Some(gold))),
                );
                s.predicted_label = predicted;
            }
            Expected::Fields(gold) => {
                let parsed = score::extract_json_object(answer);
                s.metrics
                    .insert(Metric::JsonValid, f64::from(u8::from(parsed.is_some())));
                s.metrics.insert(
                    Metric::FieldAccuracy,
                    score::field_accuracy(parsed.as_ref(), gold, &self.fields),
                );
            }
        }
        s
    }
}
