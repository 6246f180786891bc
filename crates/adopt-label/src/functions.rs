//! Labelling functions: cheap, noisy rules that each vote for one label or abstain. Declared in
//! the pipeline file ([`FunctionConfig`]), compiled into [`LabelingFunction`]s by
//! [`Labeler::build`], applied to records into a [`LabelMatrix`].

use std::collections::BTreeMap;

use adopt_core::{Embedder, Format, Reporter};
use rayon::prelude::*;
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::matrix::LabelMatrix;
use crate::{LabelConfig, LabelError, LabelRecord, LabelSet, Result};

/// One labelling function as declared under `[[label.functions]]`; `kind` picks the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FunctionConfig {
    /// Votes when keywords occur in the text.
    Keywords(KeywordsFunction),
    /// Votes when a regular expression matches the text.
    Regex(RegexFunction),
    /// Votes on where a record comes from: department, format, path, metadata.
    Metadata(MetadataFunction),
    /// Votes when the text's embedding is close to the mean of a few seed examples.
    Similarity(SimilarityFunction),
}

impl FunctionConfig {
    /// The function's name, unique within a pipeline.
    pub fn name(&self) -> &str {
        match self {
            FunctionConfig::Keywords(f) => &f.name,
            FunctionConfig::Regex(f) => &f.name,
            FunctionConfig::Metadata(f) => &f.name,
            FunctionConfig::Similarity(f) => &f.name,
        }
    }

    /// The label it votes for.
    pub fn label(&self) -> &str {
        match self {
            FunctionConfig::Keywords(f) => &f.label,
            FunctionConfig::Regex(f) => &f.label,
            FunctionConfig::Metadata(f) => &f.label,
            FunctionConfig::Similarity(f) => &f.label,
        }
    }

    pub(crate) fn validate(&self, labels: &[String], errors: &mut Vec<String>) {
        let at = format!("function {:?}", self.name());
        if self.name().trim().is_empty() {
            errors.push("a function has an empty name".into());
        }
        if !labels.iter().any(|l| l == self.label()) {
            errors.push(format!(
                "{at}: label {:?} is not one of `labels` {labels:?}",
                self.label()
            ));
        }
        match self {
            FunctionConfig::Keywords(f) => {
                if f.any.is_empty() && f.all.is_empty() {
                    errors.push(format!("{at}: give `any` or `all` keywords"));
                }
                let lists = [&f.any, &f.all, &f.none];
                if lists.iter().any(|l| l.iter().any(|k| k.trim().is_empty())) {
                    errors.push(format!("{at}: empty keyword"));
                }
            }
            FunctionConfig::Regex(f) => {
                if let Err(e) = f.compile() {
                    errors.push(format!("{at}: {e}"));
                }
            }
            FunctionConfig::Metadata(f) => {
                if f.department.is_empty()
                    && f.format.is_empty()
                    && f.path_glob.is_empty()
                    && f.path_prefix.is_empty()
                    && f.metadata.is_empty()
                {
                    errors.push(format!("{at}: give at least one condition"));
                }
                for glob in &f.path_glob {
                    if let Err(e) = glob_to_regex(glob) {
                        errors.push(format!("{at}: path-glob {glob:?}: {e}"));
                    }
                }
            }
            FunctionConfig::Similarity(f) => {
                if f.seeds.iter().all(|s| s.trim().is_empty()) {
                    errors.push(format!("{at}: give at least one seed example"));
                }
                if !(-1.0..=1.0).contains(&f.threshold) {
                    errors.push(format!(
                        "{at}: threshold {} is not a cosine similarity (-1..=1)",
                        f.threshold
                    ));
                }
            }
        }
    }
}

/// `kind = "keywords"`: case-insensitive substring search. CJK keywords match anywhere (Chinese
/// has no spaces to mark words); keywords in Latin script match whole words only, so that "hr"
/// does not fire inside "three". Full-width letters and digits match their ASCII forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeywordsFunction {
    /// Name, unique within the pipeline; reports and outputs use it.
    pub name: String,
    /// Label voted for when the keywords match.
    pub label: String,
    /// Fires when at least one of these occurs.
    #[serde(default)]
    pub any: Vec<String>,
    /// Fires only when every one of these occurs.
    #[serde(default)]
    pub all: Vec<String>,
    /// Abstains when any of these occurs ("发票" but not "发票模板").
    #[serde(default)]
    pub none: Vec<String>,
    /// Match letter case exactly.
    #[serde(default)]
    pub case_sensitive: bool,
    /// Match Latin-script keywords only as whole words (no letter or digit on either side).
    #[serde(default = "yes")]
    pub whole_word: bool,
}

/// `kind = "regex"`: fires when the pattern matches anywhere in the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegexFunction {
    /// Name, unique within the pipeline; reports and outputs use it.
    pub name: String,
    /// Label voted for when the pattern matches.
    pub label: String,
    /// Regular expression in Rust `regex` syntax (no look-around, linear time).
    pub pattern: String,
    /// Ignore letter case.
    #[serde(default)]
    pub case_insensitive: bool,
}

impl RegexFunction {
    fn compile(&self) -> std::result::Result<Regex, regex::Error> {
        RegexBuilder::new(&self.pattern)
            .case_insensitive(self.case_insensitive)
            .build()
    }
}

/// `kind = "metadata"`: fires when every condition given holds (within one list, any value
/// may match).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MetadataFunction {
    /// Name, unique within the pipeline; reports and outputs use it.
    pub name: String,
    /// Label voted for when the conditions hold.
    pub label: String,
    /// The record's department is one of these (case-insensitive).
    #[serde(default)]
    pub department: Vec<String>,
    /// The record's format is one of these ("pdf", "xlsx", ...).
    #[serde(default)]
    pub format: Vec<Format>,
    /// The source path matches one of these globs (`*`, `**`, `?`, `[..]`, `{a,b}`); a glob
    /// without `/` is matched against the file name alone, as in `.gitignore`.
    #[serde(default)]
    pub path_glob: Vec<String>,
    /// The source path starts with one of these.
    #[serde(default)]
    pub path_prefix: Vec<String>,
    /// Metadata keys that must hold exactly these values.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// `kind = "similarity"`: fires when the cosine similarity between the record's embedding and
/// the mean embedding of the seeds reaches `threshold`. Needs an embedding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SimilarityFunction {
    /// Name, unique within the pipeline; reports and outputs use it.
    pub name: String,
    /// Label voted for when the record is similar enough.
    pub label: String,
    /// A few example texts of the label.
    pub seeds: Vec<String>,
    /// Cosine similarity at or above which the function fires. Embedding models place scores in
    /// a narrow band (paraphrase 0.93 vs unrelated 0.8 for multilingual-e5): calibrate it.
    pub threshold: f64,
}

fn yes() -> bool {
    true
}

/// What a labelling function sees of one record.
#[derive(Debug, Clone, Copy)]
pub struct VoteInput<'a> {
    pub record: &'a LabelRecord,
    /// The text with full-width ASCII folded to half-width and lower-cased, computed once per
    /// record for every keyword function.
    pub folded: &'a str,
    /// The record's embedding, when some function [`needs_embedding`](LabelingFunction::needs_embedding).
    pub embedding: Option<&'a [f32]>,
}

/// A compiled labelling function. Implement it to add rules in code beside the declared ones.
pub trait LabelingFunction: Send + Sync {
    /// Name, unique within a [`Labeler`].
    fn name(&self) -> &str;
    /// Whether [`VoteInput::embedding`] must be filled.
    fn needs_embedding(&self) -> bool {
        false
    }
    /// The index of the label voted for, or `None` to abstain.
    fn vote(&self, input: &VoteInput<'_>) -> Option<usize>;
}

/// Folds full-width ASCII (ＡＢＣ１２３) to ASCII and, unless `keep_case`, lower-cases, so that
/// keyword matching does not depend on how an input method typed the text.
pub fn fold_text(text: &str, keep_case: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        };
        if keep_case {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// Han, kana and Hangul: scripts written without spaces between words.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xAC00..=0xD7AF | 0x20000..=0x2FA1F)
}

/// A keyword prepared for matching.
#[derive(Debug, Clone)]
struct Keyword {
    text: String,
    /// Check word boundaries on the start / end (the keyword starts / ends with a Latin letter
    /// or digit and whole-word matching is on).
    bound_start: bool,
    bound_end: bool,
}

impl Keyword {
    fn new(raw: &str, case_sensitive: bool, whole_word: bool) -> Self {
        let text = fold_text(raw.trim(), case_sensitive);
        let bound_start = whole_word && text.chars().next().is_some_and(is_word_char);
        let bound_end = whole_word && text.chars().last().is_some_and(is_word_char);
        Keyword {
            text,
            bound_start,
            bound_end,
        }
    }

    fn occurs_in(&self, haystack: &str) -> bool {
        if !self.bound_start && !self.bound_end {
            return haystack.contains(&self.text);
        }
        haystack.match_indices(&self.text).any(|(at, m)| {
            let before = haystack[..at].chars().next_back();
            let after = haystack[at + m.len()..].chars().next();
            (!self.bound_start || !before.is_some_and(is_word_char))
                && (!self.bound_end || !after.is_some_and(is_word_char))
        })
    }
}

struct KeywordsLf {
    name: String,
    label: usize,
    any: Vec<Keyword>,
    all: Vec<Keyword>,
    none: Vec<Keyword>,
    case_sensitive: bool,
}

impl LabelingFunction for KeywordsLf {
    fn name(&self) -> &str {
        &self.name
    }

    fn vote(&self, input: &VoteInput<'_>) -> Option<usize> {
        let folded;
        let text = if self.case_sensitive {
            folded = fold_text(&input.record.text, true);
            folded.as_str()
        } else {
            input.folded
        };
        let fires = (self.any.is_empty() || self.any.iter().any(|k| k.occurs_in(text)))
            && self.all.iter().all(|k| k.occurs_in(text))
            && !self.none.iter().any(|k| k.occurs_in(text));
        fires.then_some(self.label)
    }
}

struct RegexLf {
    name: String,
    label: usize,
    regex: Regex,
}

impl LabelingFunction for RegexLf {
    fn name(&self) -> &str {
        &self.name
    }

    fn vote(&self, input: &VoteInput<'_>) -> Option<usize> {
        self.regex
            .is_match(&input.record.text)
            .then_some(self.label)
    }
}

struct MetadataLf {
    name: String,
    label: usize,
    departments: Vec<String>,
    formats: Vec<Format>,
    /// (compiled glob, match against the file name only)
    globs: Vec<(Regex, bool)>,
    prefixes: Vec<String>,
    metadata: BTreeMap<String, String>,
}

impl LabelingFunction for MetadataLf {
    fn name(&self) -> &str {
        &self.name
    }

    fn vote(&self, input: &VoteInput<'_>) -> Option<usize> {
        let r = input.record;
        let path = r.source_path.replace('\\', "/");
        let department_ok = self.departments.is_empty()
            || r.department.as_deref().is_some_and(|d| {
                self.departments
                    .iter()
                    .any(|want| want.to_lowercase() == d.trim().to_lowercase())
            });
        let format_ok =
            self.formats.is_empty() || r.format.is_some_and(|f| self.formats.contains(&f));
        let glob_ok = self.globs.is_empty()
            || self.globs.iter().any(|(re, name_only)| {
                if *name_only {
                    re.is_match(r.file_name())
                } else {
                    re.is_match(&path)
                }
            });
        let prefix_ok =
            self.prefixes.is_empty() || self.prefixes.iter().any(|p| path.starts_with(p.as_str()));
        let metadata_ok = self
            .metadata
            .iter()
            .all(|(k, v)| r.metadata.get(k).is_some_and(|have| have == v));
        (department_ok && format_ok && glob_ok && prefix_ok && metadata_ok).then_some(self.label)
    }
}

struct SimilarityLf {
    name: String,
    label: usize,
    /// Mean of the seed embeddings, L2-normalised so that a dot product is the cosine.
    centroid: Vec<f32>,
    threshold: f64,
}

impl LabelingFunction for SimilarityLf {
    fn name(&self) -> &str {
        &self.name
    }

    fn needs_embedding(&self) -> bool {
        true
    }

    fn vote(&self, input: &VoteInput<'_>) -> Option<usize> {
        let e = input.embedding?;
        (cosine(e, &self.centroid) >= self.threshold).then_some(self.label)
    }
}

/// Cosine similarity; 0 for a zero vector.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Translates a glob into an anchored regex: `**` crosses folders, `*` and `?` do not.
pub(crate) fn glob_to_regex(glob: &str) -> std::result::Result<Regex, String> {
    let mut re = String::from("^");
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    let mut in_braces = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                // `**/` also matches no folder at all.
                if chars.get(i + 2) == Some(&'/') {
                    re.push_str("(?:.*/)?");
                    i += 1;
                } else {
                    re.push_str(".*");
                }
                i += 1;
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == ']')
                    .ok_or("unclosed `[`")?;
                let class: String = chars[i + 1..i + 1 + end].iter().collect();
                let class = class
                    .strip_prefix('!')
                    .map(|c| format!("^{c}"))
                    .unwrap_or(class);
                re.push('[');
                re.push_str(&class.replace('\\', "\\\\"));
                re.push(']');
                i += end + 1;
            }
            '{' if !in_braces => {
                in_braces = true;
                re.push_str("(?:");
            }
            ',' if in_braces => re.push('|'),
            '}' if in_braces => {
                in_braces = false;
                re.push(')');
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if in_braces {
        return Err("unclosed `{`".into());
    }
    re.push('$');
    Regex::new(&re).map_err(|e| e.to_string())
}

/// The labelling functions of a pipeline, ready to apply.
pub struct Labeler {
    labels: LabelSet,
    functions: Vec<Box<dyn LabelingFunction>>,
}

impl std::fmt::Debug for Labeler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Labeler")
            .field("labels", &self.labels)
            .field(
                "functions",
                &self.functions.iter().map(|f| f.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Labeler {
    /// A labeller with no functions; add some with [`Labeler::push`].
    pub fn new(labels: LabelSet) -> Self {
        Labeler {
            labels,
            functions: Vec::new(),
        }
    }

    /// Compiles the declared functions of a validated config. Similarity functions embed their
    /// seeds here, so they need `embedder`.
    pub fn build(config: &LabelConfig, embedder: Option<&dyn Embedder>) -> Result<Self> {
        config.validate()?;
        let labels = LabelSet::new(config.labels.clone());
        let mut functions: Vec<Box<dyn LabelingFunction>> = Vec::new();
        for f in &config.functions {
            let label = labels
                .index(f.label())
                .expect("validated: labels contain every function's label");
            let name = f.name().to_owned();
            functions.push(match f {
                FunctionConfig::Keywords(k) => {
                    let kw = |list: &[String]| {
                        list.iter()
                            .map(|s| Keyword::new(s, k.case_sensitive, k.whole_word))
                            .collect()
                    };
                    Box::new(KeywordsLf {
                        name,
                        label,
                        any: kw(&k.any),
                        all: kw(&k.all),
                        none: kw(&k.none),
                        case_sensitive: k.case_sensitive,
                    })
                }
                FunctionConfig::Regex(r) => Box::new(RegexLf {
                    name,
                    label,
                    regex: r.compile().expect("validated"),
                }),
                FunctionConfig::Metadata(m) => Box::new(MetadataLf {
                    name,
                    label,
                    departments: m.department.clone(),
                    formats: m.format.clone(),
                    globs: m
                        .path_glob
                        .iter()
                        .map(|g| (glob_to_regex(g).expect("validated"), !g.contains('/')))
                        .collect(),
                    prefixes: m.path_prefix.iter().map(|p| p.replace('\\', "/")).collect(),
                    metadata: m.metadata.clone(),
                }),
                FunctionConfig::Similarity(s) => {
                    let embedder = embedder.ok_or_else(|| LabelError::NeedsEmbedder {
                        function: s.name.clone(),
                    })?;
                    let seeds: Vec<&str> = s
                        .seeds
                        .iter()
                        .map(String::as_str)
                        .filter(|s| !s.trim().is_empty())
                        .collect();
                    let vectors =
                        embedder
                            .embed_passages(&seeds)
                            .map_err(|source| LabelError::Embed {
                                what: format!("seeds of function {:?}", s.name),
                                source,
                            })?;
                    Box::new(SimilarityLf {
                        name,
                        label,
                        centroid: normalised_mean(&vectors),
                        threshold: s.threshold,
                    })
                }
            });
        }
        Ok(Labeler { labels, functions })
    }

    /// Adds a function written in code.
    pub fn push(&mut self, function: Box<dyn LabelingFunction>) {
        self.functions.push(function);
    }

    pub fn labels(&self) -> &LabelSet {
        &self.labels
    }

    /// Names of the functions, in column order of the [`LabelMatrix`].
    pub fn function_names(&self) -> Vec<String> {
        self.functions.iter().map(|f| f.name().to_owned()).collect()
    }

    /// Applies every function to every record. Records are embedded once (in the embedder's
    /// batch size) when any function needs embeddings, not once per function.
    pub fn apply(
        &self,
        records: &[LabelRecord],
        embedder: Option<&dyn Embedder>,
        reporter: &dyn Reporter,
    ) -> Result<LabelMatrix> {
        let embeddings = if self.functions.iter().any(|f| f.needs_embedding()) {
            let embedder = embedder.ok_or_else(|| LabelError::NeedsEmbedder {
                function: self
                    .functions
                    .iter()
                    .find(|f| f.needs_embedding())
                    .map(|f| f.name().to_owned())
                    .unwrap_or_default(),
            })?;
            Some(embed_records(records, embedder, reporter)?)
        } else {
            None
        };
        reporter.start("labelling functions", records.len() as u64);
        let rows: Vec<Vec<Option<usize>>> = records
            .par_iter()
            .enumerate()
            .map(|(i, record)| {
                let folded = fold_text(&record.text, false);
                let input = VoteInput {
                    record,
                    folded: &folded,
                    embedding: embeddings.as_ref().map(|e| e[i].as_slice()),
                };
                let row = self.functions.iter().map(|f| f.vote(&input)).collect();
                reporter.advance(&record.id);
                row
            })
            .collect();
        reporter.finish();
        Ok(LabelMatrix::from_rows(
            self.labels.len(),
            self.function_names(),
            &rows,
        ))
    }
}

fn embed_records(
    records: &[LabelRecord],
    embedder: &dyn Embedder,
    reporter: &dyn Reporter,
) -> Result<Vec<Vec<f32>>> {
    let batch = embedder.batch_size().max(1);
    reporter.start("embedding records", records.len() as u64);
    let mut out = Vec::with_capacity(records.len());
    for chunk in records.chunks(batch) {
        let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
        let vectors = embedder
            .embed_passages(&texts)
            .map_err(|source| LabelError::Embed {
                what: format!("records {}..", chunk[0].id),
                source,
            })?;
        if vectors.len() != chunk.len() {
            return Err(LabelError::Embed {
                what: format!("records {}..", chunk[0].id),
                source: adopt_core::EmbedError(format!(
                    "{} vectors for {} texts",
                    vectors.len(),
                    chunk.len()
                )),
            });
        }
        out.extend(vectors);
        for r in chunk {
            reporter.advance(&r.id);
        }
    }
    reporter.finish();
    Ok(out)
}

fn normalised_mean(vectors: &[Vec<f32>]) -> Vec<f32> {
    let dim = vectors.first().map_or(0, Vec::len);
    let mut mean = vec![0f32; dim];
    for v in vectors {
        for (m, x) in mean.iter_mut().zip(v) {
            *m += x;
        }
    }
    let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        mean.iter_mut().for_each(|m| *m /= norm);
    }
    mean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(r: &LabelRecord) -> (String, &LabelRecord) {
        (fold_text(&r.text, false), r)
    }

    fn kw(any: &[&str], all: &[&str], none: &[&str]) -> KeywordsLf {
        let k = |l: &[&str]| l.iter().map(|s| Keyword::new(s, false, true)).collect();
        KeywordsLf {
            name: "k".into(),
            label: 1,
            any: k(any),
            all: k(all),
            none: k(none),
            case_sensitive: false,
        }
    }

    fn votes(lf: &dyn LabelingFunction, text: &str) -> Option<usize> {
        let r = LabelRecord::new("1", text);
        let (folded, r) = input(&r);
        lf.vote(&VoteInput {
            record: r,
            folded: &folded,
            embedding: None,
        })
    }

    #[test]
    fn keywords_are_cjk_aware_and_case_insensitive() {
        let lf = kw(&["发票", "Invoice", "HR"], &[], &[]);
        assert_eq!(votes(&lf, "请提交增值税发票"), Some(1));
        assert_eq!(votes(&lf, "see the INVOICE attached"), Some(1));
        assert_eq!(
            votes(&lf, "ＩＮＶＯＩＣＥ № 5"),
            Some(1),
            "full-width folds"
        );
        assert_eq!(
            votes(&lf, "联系HR部门"),
            Some(1),
            "CJK neighbours are boundaries"
        );
        assert_eq!(votes(&lf, "three invoices"), None, "whole words only");
        assert_eq!(votes(&lf, "nothing here"), None);
        let all = kw(&[], &["合同", "违约"], &["模板"]);
        assert_eq!(votes(&all, "合同中的违约责任"), Some(1));
        assert_eq!(votes(&all, "合同条款"), None);
        assert_eq!(votes(&all, "合同违约模板"), None, "`none` vetoes");
    }

    #[test]
    fn globs_translate() {
        let g = |glob: &str, path: &str| glob_to_regex(glob).unwrap().is_match(path);
        assert!(g("**/hr/**", "data/hr/a.pdf"));
        assert!(g("**/hr/**", "hr/a.pdf"));
        assert!(!g("**/hr/**", "data/shr/a.pdf"));
        assert!(g("*.{pdf,docx}", "报告.docx"));
        assert!(!g("*.pdf", "a/b.pdf"), "no folder crossing without **");
        assert!(g("finance/202?/*.xlsx", "finance/2024/q1.xlsx"));
        assert!(g("[!a]*.txt", "b.txt"));
        assert!(glob_to_regex("{a,b").is_err());
    }

    #[test]
    fn metadata_conditions_all_hold() {
        let lf = MetadataLf {
            name: "m".into(),
            label: 0,
            departments: vec!["财务部".into()],
            formats: vec![Format::Xlsx],
            globs: vec![(glob_to_regex("*.xlsx").unwrap(), true)],
            prefixes: vec!["share/".into()],
            metadata: BTreeMap::new(),
        };
        let mut r = LabelRecord::new("1", "");
        r.department = Some("财务部".into());
        r.format = Some(Format::Xlsx);
        r.source_path = "share/2024/预算.xlsx".into();
        let v = |r: &LabelRecord| {
            lf.vote(&VoteInput {
                record: r,
                folded: "",
                embedding: None,
            })
        };
        assert_eq!(v(&r), Some(0));
        r.format = Some(Format::Csv);
        assert_eq!(v(&r), None);
    }
}
