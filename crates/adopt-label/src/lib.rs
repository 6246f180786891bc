//! `adopt label`: weak supervision for cleaned documents or KB chunks. Labelling functions
//! declared in the pipeline file vote, a label model (majority vote or Dawid–Skene) turns the
//! votes into a label and probabilities per record, the least certain records go to humans
//! (Label Studio or CSV) and come back with agreement statistics, and a QA set (extractive, or
//! written by a chat model through adopt-trial's providers) is drawn from the same records for
//! retrieval evaluation and model trials.

pub mod agreement;
pub mod annotation;
mod csv;
pub mod functions;
pub mod matrix;
pub mod model;
pub mod output;
pub mod qa;
pub mod qa_llm;
pub mod record;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use adopt_core::layout::write_atomic;
use adopt_core::{EmbedError, Embedder, Reporter};
use serde::{Deserialize, Serialize};

pub use agreement::{
    agreement, cohen_kappa, consensus, fleiss_kappa, krippendorff_alpha_nominal, AgreementReport,
    Annotation,
};
pub use annotation::{
    annotation_sheet_csv, annotations_from_csv, annotations_from_label_studio, label_studio_config,
    label_studio_tasks, read_annotations, select_for_annotation, AnnotationConfig, LabelStudioTask,
    Uncertainty,
};
pub use functions::{
    FunctionConfig, KeywordsFunction, Labeler, LabelingFunction, MetadataFunction, RegexFunction,
    SimilarityFunction, VoteInput,
};
pub use matrix::{FunctionSummary, LabelMatrix, MatrixTotals};
pub use model::{
    argmax, fit_predict, DawidSkene, LabelModelConfig, MajorityVote, ModelFit, ModelKind,
};
pub use output::{labels_csv, labels_jsonl, LabelSource, LabeledRecord};
pub use qa::{
    generate_qa_set, qa_jsonl, ExtractiveQaGenerator, QaConfig, QaFallback, QaGenerator,
    QaGeneratorKind, QaPair, QaReport, QaSet,
};
pub use qa_llm::{build_qa_set, LlmQaConfig, LlmQaGenerator, LlmQaStats};
pub use record::LabelRecord;

/// Errors of `adopt label`.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// The `[label]` settings are invalid; every problem found is listed.
    #[error("invalid [label] settings:\n  {}", .0.join("\n  "))]
    InvalidConfig(Vec<String>),
    /// A similarity function was declared but no embedding model was given.
    #[error(
        "labelling function {function:?} compares embeddings, but no embedding model is configured"
    )]
    NeedsEmbedder { function: String },
    #[error("embedding {what}: {source}")]
    Embed {
        what: String,
        #[source]
        source: EmbedError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An annotation file could not be read as Label Studio JSON or an annotation CSV.
    #[error("annotations in {}: {message}", path.display())]
    Annotations { path: PathBuf, message: String },
    /// A QA generator failed on a record. `transient` errors (timeouts, rate limits of a remote
    /// model) are worth retrying; others are not.
    #[error("QA generator {generator:?} on record {record:?}: {message}")]
    QaGeneration {
        generator: String,
        record: String,
        message: String,
        transient: bool,
    },
    /// The chat model of the LLM QA generator could not be used at all (down, refused the key,
    /// unknown model, or the API-key variable is unset).
    #[error("QA model {model:?} at {url}: {message}")]
    QaEndpoint {
        model: String,
        url: String,
        message: String,
        transient: bool,
    },
}

pub type Result<T> = std::result::Result<T, LabelError>;

/// The labels of a pipeline, in a fixed order (the order of every probability vector).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSet {
    names: Vec<String>,
}

impl LabelSet {
    pub fn new(names: Vec<String>) -> Self {
        LabelSet { names }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn name(&self, index: usize) -> &str {
        &self.names[index]
    }
}

/// Settings of `adopt label`, the `[label]` table of a pipeline file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct LabelConfig {
    /// The labels, in the order outputs list their probabilities. Needs two or more when
    /// functions are declared.
    pub labels: Vec<String>,
    /// Labelling functions, `[[label.functions]]` with `kind = "keywords" | "regex" |
    /// "metadata" | "similarity"`.
    pub functions: Vec<FunctionConfig>,
    /// Metadata key that holds a known label for some records (e.g. a category column): such
    /// gold labels measure each function's and the model's accuracy and are kept as labels.
    pub gold_key: Option<String>,
    /// The label model.
    pub model: LabelModelConfig,
    /// Which records go to human annotators, and how.
    pub annotation: AnnotationConfig,
    /// QA-set generation for retrieval evaluation.
    pub qa: QaConfig,
}

impl LabelConfig {
    /// Checks every setting and reports all problems at once.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        for l in &self.labels {
            if l.trim().is_empty() {
                errors.push("labels: empty label".into());
            } else if !seen.insert(l) {
                errors.push(format!("labels: {l:?} listed twice"));
            }
        }
        if !self.functions.is_empty() && self.labels.len() < 2 {
            errors.push(format!(
                "labels: functions need at least two labels to choose from, found {}",
                self.labels.len()
            ));
        }
        if self.labels.len() > usize::from(u16::MAX) {
            errors.push(format!("labels: at most {} labels", u16::MAX));
        }
        let mut names = BTreeSet::new();
        for f in &self.functions {
            if !names.insert(f.name()) {
                errors.push(format!("function {:?} declared twice", f.name()));
            }
            f.validate(&self.labels, &mut errors);
        }
        if self
            .gold_key
            .as_deref()
            .is_some_and(|k| k.trim().is_empty())
        {
            errors.push("gold-key must not be empty".into());
        }
        self.model.validate(&mut errors);
        self.annotation.validate(&mut errors);
        self.qa.validate(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(LabelError::InvalidConfig(errors))
        }
    }
}

/// Accuracy of the label models against gold labels (metadata gold and human consensus).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldEvaluation {
    /// Records with a gold label.
    pub records: usize,
    /// Of those, records at least one function voted on.
    pub covered: usize,
    /// Majority-vote accuracy on the covered gold records.
    pub majority_accuracy: Option<f64>,
    /// The configured model's accuracy on the covered gold records.
    pub model_accuracy: Option<f64>,
}

/// What `adopt label` did, for `label/report.json` and the readiness report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelReport {
    pub records: usize,
    /// Snorkel-style summary per labelling function.
    pub functions: Vec<FunctionSummary>,
    /// Coverage, overlap and conflict over all functions.
    pub totals: Option<MatrixTotals>,
    pub model: Option<ModelFit>,
    pub gold: Option<GoldEvaluation>,
    /// Records labelled by source ("model", "gold", "human").
    pub by_source: BTreeMap<String, usize>,
    /// Records per label.
    pub by_label: BTreeMap<String, usize>,
    pub agreement: Option<AgreementReport>,
    /// Tasks exported for annotation.
    pub annotation_tasks: usize,
    pub qa: Option<QaReport>,
}

/// Everything [`run`] produces.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelOutput {
    pub labels: LabelSet,
    /// One per input record, in input order (empty when no functions are declared and no
    /// annotations given).
    pub records: Vec<LabeledRecord>,
    /// The next annotation round, most uncertain first.
    pub tasks: Vec<LabelStudioTask>,
    pub qa: Vec<QaPair>,
    pub report: LabelReport,
}

/// Runs `adopt label` on records: functions, label model, gold and human labels, the next
/// annotation round, agreement of `annotations`, and the QA set. `embedder` is needed only by
/// similarity functions.
pub fn run(
    config: &LabelConfig,
    records: &[LabelRecord],
    annotations: &[Annotation],
    embedder: Option<&dyn Embedder>,
    reporter: &dyn Reporter,
) -> Result<LabelOutput> {
    config.validate()?;
    let labeler = Labeler::build(config, embedder)?;
    let labels = labeler.labels().clone();
    let mut report = LabelReport {
        records: records.len(),
        functions: Vec::new(),
        totals: None,
        model: None,
        gold: None,
        by_source: BTreeMap::new(),
        by_label: BTreeMap::new(),
        agreement: None,
        annotation_tasks: 0,
        qa: None,
    };

    // Gold: metadata first, human consensus over it (a human looked at the text).
    let mut gold: Vec<Option<(usize, LabelSource)>> = vec![None; records.len()];
    let mut unknown = BTreeSet::new();
    if let Some(key) = &config.gold_key {
        for (g, r) in gold.iter_mut().zip(records) {
            if let Some(value) = r.metadata.get(key).filter(|v| !v.trim().is_empty()) {
                match labels.index(value.trim()) {
                    Some(i) => *g = Some((i, LabelSource::Gold)),
                    None => {
                        unknown.insert(value.trim().to_owned());
                    }
                }
            }
        }
    }
    if !annotations.is_empty() {
        report.agreement = Some(agreement(annotations, labels.names()));
        let agreed = consensus(annotations);
        let position: BTreeMap<&str, usize> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let mut missing = 0;
        for (id, (label, _share)) in &agreed {
            match (position.get(id.as_str()), labels.index(label)) {
                (Some(&i), Some(l)) => gold[i] = Some((l, LabelSource::Human)),
                (None, _) => missing += 1,
                (_, None) => {
                    unknown.insert(label.clone());
                }
            }
        }
        if missing > 0 {
            reporter.warn(&format!(
                "{missing} annotated records are not among the records being labelled"
            ));
        }
    }
    if !unknown.is_empty() {
        reporter.warn(&format!(
            "gold or annotated labels not in `labels`, ignored: {unknown:?}"
        ));
    }

    if !config.functions.is_empty() {
        let matrix = labeler.apply(records, embedder, reporter)?;
        let gold_index: Vec<Option<usize>> = gold.iter().map(|g| g.map(|(l, _)| l)).collect();
        let has_gold = gold_index.iter().any(Option::is_some);
        report.functions = matrix.summary(labels.names(), has_gold.then_some(&gold_index[..]));
        report.totals = Some(matrix.totals());
        let prediction = fit_predict(&config.model, &matrix);
        let votes: Vec<usize> = (0..records.len())
            .map(|i| matrix.row(i).flatten().count())
            .collect();
        if has_gold {
            let mv = MajorityVote.predict(&matrix);
            let covered: Vec<(usize, usize)> = gold_index
                .iter()
                .enumerate()
                .filter_map(|(i, g)| g.filter(|_| votes[i] > 0).map(|g| (i, g)))
                .collect();
            let accuracy = |p: &[Vec<f64>]| {
                (!covered.is_empty()).then(|| {
                    covered.iter().filter(|&&(i, g)| argmax(&p[i]) == g).count() as f64
                        / covered.len() as f64
                })
            };
            report.gold = Some(GoldEvaluation {
                records: gold_index.iter().flatten().count(),
                covered: covered.len(),
                majority_accuracy: accuracy(&mv.probabilities),
                model_accuracy: accuracy(&prediction.probabilities),
            });
        }
        report.model = Some(prediction.fit);
        let labeled: Vec<LabeledRecord> = records
            .iter()
            .zip(prediction.probabilities)
            .zip(&votes)
            .map(|((r, p), &votes)| {
                let best = argmax(&p);
                LabeledRecord {
                    id: r.id.clone(),
                    label: (votes > 0).then(|| labels.name(best).to_owned()),
                    probability: p[best],
                    probabilities: p,
                    votes,
                    source: LabelSource::Model,
                }
            })
            .collect();
        // Only records without a gold or human label go out; then those labels replace the
        // model's.
        let exclude: BTreeSet<String> = records
            .iter()
            .zip(&gold)
            .filter(|(_, g)| g.is_some())
            .map(|(r, _)| r.id.clone())
            .collect();
        let selected = select_for_annotation(&labeled, &config.annotation, &exclude);
        let with_gold = apply_gold(labeled, &gold, &labels);
        let tasks = label_studio_tasks(records, &with_gold, &selected, &config.annotation);
        report.annotation_tasks = tasks.len();
        return finish(config, records, labels, with_gold, tasks, report, reporter);
    }
    // No functions: labels come only from gold and annotations.
    let labeled: Vec<LabeledRecord> = if gold.iter().any(Option::is_some) {
        let blank = records
            .iter()
            .map(|r| LabeledRecord {
                id: r.id.clone(),
                label: None,
                probability: 0.0,
                probabilities: vec![0.0; labels.len()],
                votes: 0,
                source: LabelSource::Model,
            })
            .collect();
        apply_gold(blank, &gold, &labels)
    } else {
        Vec::new()
    };
    finish(
        config,
        records,
        labels,
        labeled,
        Vec::new(),
        report,
        reporter,
    )
}

fn apply_gold(
    mut labeled: Vec<LabeledRecord>,
    gold: &[Option<(usize, LabelSource)>],
    labels: &LabelSet,
) -> Vec<LabeledRecord> {
    for (r, g) in labeled.iter_mut().zip(gold) {
        if let Some((l, source)) = *g {
            r.label = Some(labels.name(l).to_owned());
            r.probability = 1.0;
            r.probabilities = (0..labels.len())
                .map(|c| f64::from(u8::from(c == l)))
                .collect();
            r.source = source;
        }
    }
    labeled
}

fn finish(
    config: &LabelConfig,
    records: &[LabelRecord],
    labels: LabelSet,
    labeled: Vec<LabeledRecord>,
    tasks: Vec<LabelStudioTask>,
    mut report: LabelReport,
    reporter: &dyn Reporter,
) -> Result<LabelOutput> {
    for r in &labeled {
        *report
            .by_source
            .entry(r.source.as_str().to_owned())
            .or_default() += 1;
        if let Some(l) = &r.label {
            *report.by_label.entry(l.clone()).or_default() += 1;
        }
    }
    let qa = if config.qa.enabled {
        let set = build_qa_set(&config.qa, records, reporter)?;
        report.qa = Some(set.report);
        set.pairs
    } else {
        Vec::new()
    };
    Ok(LabelOutput {
        labels,
        records: labeled,
        tasks,
        qa,
        report,
    })
}

/// Writes everything but the Parquet table into `dir` (each file atomically) and returns the
/// paths written:
///
/// ```text
/// labels.jsonl  labels.csv          one row per record: label, probability, per-label probabilities
/// functions.csv                     the labelling-function summary
/// report.json                       LabelReport
/// annotation/tasks.json             Label Studio import (tasks with pre-annotations)
/// annotation/config.xml             Label Studio labelling config
/// annotation/tasks.csv              the same tasks as a sheet to fill in
/// qa.jsonl                          {"question","answers","doc"} per line
/// ```
pub fn write_outputs(dir: &Path, output: &LabelOutput) -> Result<Vec<PathBuf>> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    if !output.records.is_empty() {
        files.push((
            dir.join("labels.jsonl"),
            labels_jsonl(&output.labels, &output.records),
        ));
        files.push((
            dir.join("labels.csv"),
            labels_csv(&output.labels, &output.records),
        ));
    }
    if !output.report.functions.is_empty() {
        files.push((
            dir.join("functions.csv"),
            functions_csv(&output.report.functions),
        ));
    }
    files.push((
        dir.join("report.json"),
        serde_json::to_string_pretty(&output.report).expect("plain data serialises"),
    ));
    if !output.labels.is_empty() {
        let annotation = dir.join("annotation");
        files.push((
            annotation.join("tasks.json"),
            serde_json::to_string_pretty(&output.tasks).expect("plain data serialises"),
        ));
        files.push((
            annotation.join("config.xml"),
            label_studio_config(&output.labels),
        ));
        files.push((
            annotation.join("tasks.csv"),
            annotation_sheet_csv(&output.tasks),
        ));
    }
    if output.report.qa.is_some() {
        files.push((dir.join("qa.jsonl"), qa_jsonl(&output.qa)));
    }
    for (path, text) in &files {
        write_atomic(path, text.as_bytes()).map_err(|source| LabelError::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// The labelling-function summary as CSV.
pub fn functions_csv(summary: &[FunctionSummary]) -> String {
    let mut out = String::new();
    csv::write_row(
        &mut out,
        &[
            "function",
            "polarity",
            "coverage",
            "overlaps",
            "conflicts",
            "correct",
            "incorrect",
            "empirical_accuracy",
        ],
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for s in summary {
        csv::write_row(
            &mut out,
            &[
                s.name.clone(),
                s.polarity.join("|"),
                format!("{:.4}", s.coverage),
                format!("{:.4}", s.overlaps),
                format!("{:.4}", s.conflicts),
                opt(s.correct.map(|c| c.to_string())),
                opt(s.incorrect.map(|c| c.to_string())),
                opt(s.empirical_accuracy.map(|a| format!("{a:.4}"))),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINE: &str = r#"
        labels = ["财务", "人事", "法务"]
        gold-key = "category"

        [[functions]]
        name = "kw-finance"
        kind = "keywords"
        label = "财务"
        any = ["发票", "报销", "invoice"]

        [[functions]]
        name = "re-contract"
        kind = "regex"
        label = "法务"
        pattern = '合同编号[:：]\s*\w+'

        [[functions]]
        name = "dept-hr"
        kind = "metadata"
        label = "人事"
        department = ["人力资源部"]
        path-glob = ["**/hr/**"]

        [[functions]]
        name = "sim-finance"
        kind = "similarity"
        label = "财务"
        seeds = ["请在月底前提交差旅报销单据"]
        threshold = 0.8

        [model]
        kind = "dawid-skene"
        max-iterations = 100

        [annotation]
        budget = 50
        strategy = "entropy"

        [qa]
        max-per-record = 3
    "#;

    #[test]
    fn config_round_trips_and_rejects_unknown_keys() {
        let config: LabelConfig = toml::from_str(PIPELINE).unwrap();
        config.validate().unwrap();
        assert_eq!(config.functions.len(), 4);
        assert!(
            matches!(&config.functions[3], FunctionConfig::Similarity(s) if s.threshold == 0.8)
        );
        assert_eq!(config.annotation.strategy, Uncertainty::Entropy);
        assert_eq!(
            config.model.tolerance,
            LabelModelConfig::default().tolerance
        );
        let back: LabelConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(back, config);

        for bad in [
            "labels = [\"a\", \"b\"]\nlabell = 1",
            "[[functions]]\nname = \"x\"\nkind = \"keywords\"\nlabel = \"a\"\nanyy = [\"k\"]",
            "[[functions]]\nname = \"x\"\nkind = \"magic\"\nlabel = \"a\"",
            "[model]\nmax-iter = 3",
        ] {
            assert!(toml::from_str::<LabelConfig>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_lists_every_problem() {
        let text = r#"
            labels = ["a", "a"]
            [[functions]]
            name = "k"
            kind = "keywords"
            label = "zzz"
            [[functions]]
            name = "k"
            kind = "regex"
            label = "a"
            pattern = "("
            [[functions]]
            name = "m"
            kind = "metadata"
            label = "a"
            path-glob = ["{x"]
            [[functions]]
            name = "s"
            kind = "similarity"
            label = "a"
            seeds = []
            threshold = 2.0
            [model]
            tolerance = 0.0
        "#;
        let config: LabelConfig = toml::from_str(text).unwrap();
        let Err(LabelError::InvalidConfig(errors)) = config.validate() else {
            panic!("expected errors")
        };
        // duplicate label, duplicate name, unknown label, no keywords, bad regex, bad glob,
        // no seeds, bad threshold, bad tolerance
        assert_eq!(errors.len(), 9, "{errors:#?}");
    }
}
