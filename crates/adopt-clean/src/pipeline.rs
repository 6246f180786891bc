//! Runs the operators in order: per-document operators in parallel, then deduplication over the
//! survivors, and assembles the report from what each step said.

use std::collections::{BTreeMap, HashMap};

use adopt_core::{Document, Reporter};
use rayon::prelude::*;

use crate::dedup::{exact_key, DedupKeys, NearDupDetector};
use crate::operator::{DocOperator, Outcome, Verdict};
use crate::report::{CleanReport, DropAlert, GroupStats, OperatorStats, NO_DEPARTMENT};
use crate::{
    CleanConfig, CleanError, CleanOutput, CleanedDocument, DedupConfig, Dropped,
    LanguageIdentifier, Normalizer, PiiDetector, Result,
};

/// The built cleaning pipeline: validated settings turned into operators.
pub struct Cleaner {
    operators: Vec<Box<dyn DocOperator>>,
    dedup: DedupConfig,
    near: Option<NearDupDetector>,
}

/// Cleans `docs` with `config`; see [`Cleaner::run`].
pub fn run(
    docs: Vec<Document>,
    config: &CleanConfig,
    reporter: &dyn Reporter,
) -> Result<CleanOutput> {
    Ok(Cleaner::new(config)?.run(docs, reporter))
}

impl Cleaner {
    /// Validates `config` (reporting every problem) and builds the operators.
    pub fn new(config: &CleanConfig) -> Result<Self> {
        config.validate()?;
        let mut operators: Vec<Box<dyn DocOperator>> = Vec::new();
        operators.extend(config.quality.garbled_operator());
        if config.normalize.enabled {
            operators.push(Box::new(Normalizer::new(config.normalize.clone())));
        }
        operators.extend(config.quality.operators());
        if config.lang.enabled {
            operators.push(Box::new(LanguageIdentifier::new(config.lang.clone())));
        }
        if config.pii.enabled {
            operators.push(Box::new(
                PiiDetector::new(&config.pii).map_err(CleanError::InvalidConfig)?,
            ));
        }
        Ok(Cleaner {
            operators,
            near: config
                .dedup
                .near
                .then(|| NearDupDetector::new(&config.dedup)),
            dedup: config.dedup.clone(),
        })
    }

    /// Names of the operators in the order they run.
    pub fn operator_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.operators.iter().map(|o| o.name()).collect();
        if self.dedup.exact {
            names.push("exact-dedup");
        }
        if self.near.is_some() {
            names.push("near-dedup");
        }
        names
    }

    /// Cleans `docs`: kept documents and dropped ones (both in input order) and the report.
    pub fn run(&self, docs: Vec<Document>, reporter: &dyn Reporter) -> CleanOutput {
        let n_in = docs.len();
        reporter.start("clean documents", n_in as u64);
        let traced: Vec<(std::result::Result<CleanedDocument, Dropped>, Vec<Outcome>)> = docs
            .into_par_iter()
            .map(|doc| {
                let result = self.apply_operators(doc);
                reporter.advance(match &result.0 {
                    Ok(d) => &d.doc.source_path,
                    Err(d) => &d.source_path,
                });
                result
            })
            .collect();
        reporter.finish();

        let mut stats: Vec<OperatorStats> = self
            .operators
            .iter()
            .map(|o| OperatorStats {
                name: o.name().to_string(),
                ..OperatorStats::default()
            })
            .collect();
        let mut report = CleanReport {
            docs_in: n_in as u64,
            ..CleanReport::default()
        };
        let mut kept = Vec::new();
        let mut dropped: Vec<(usize, Dropped)> = Vec::new();
        for (index, (result, outcomes)) in traced.into_iter().enumerate() {
            for (op, outcome) in outcomes.iter().enumerate() {
                let s = &mut stats[op];
                s.docs_in += 1;
                match &outcome.verdict {
                    Verdict::Keep { changed } => {
                        s.docs_out += 1;
                        s.changed += u64::from(*changed);
                    }
                    Verdict::Drop { reason, .. } => {
                        s.dropped += 1;
                        *s.drop_reasons.entry(reason.to_string()).or_default() += 1;
                    }
                }
                for (name, value) in &outcome.counters {
                    *s.counters.entry(name.clone()).or_default() += value;
                }
            }
            match result {
                Ok(doc) => kept.push((index, doc)),
                Err(d) => dropped.push((index, d)),
            }
        }

        reporter.start("deduplicate", kept.len() as u64);
        let kept = self.deduplicate(kept, &mut stats, &mut dropped, &mut report);
        reporter.finish();

        dropped.sort_by_key(|(i, _)| *i);
        let dropped: Vec<Dropped> = dropped.into_iter().map(|(_, d)| d).collect();
        summarise(&mut report, &kept, &dropped);
        report.alerts = drop_alerts(&kept, &dropped);
        for alert in &report.alerts {
            reporter.warn(&alert.message());
        }
        report.operators = stats;
        CleanOutput {
            kept,
            dropped,
            report,
        }
    }

    /// Runs the per-document operators until one drops the document.
    fn apply_operators(
        &self,
        doc: Document,
    ) -> (std::result::Result<CleanedDocument, Dropped>, Vec<Outcome>) {
        let mut doc = CleanedDocument::new(doc);
        let mut outcomes = Vec::with_capacity(self.operators.len());
        for op in &self.operators {
            if op.name() == "pii" {
                doc.dedup_keys = Some(self.dedup_keys(&doc.doc.text));
            }
            let outcome = op.apply(&mut doc);
            match &outcome.verdict {
                Verdict::Keep { changed: true } => doc.changed_by.push(op.name().to_string()),
                Verdict::Keep { changed: false } => {}
                Verdict::Drop { reason, detail } => {
                    let dropped = dropped_record(&doc, op.name(), reason, detail.clone(), None);
                    outcomes.push(outcome);
                    return (Err(dropped), outcomes);
                }
            }
            outcomes.push(outcome);
        }
        (Ok(doc), outcomes)
    }

    /// What dedup compares `text` by; only the enabled kinds are computed.
    fn dedup_keys(&self, text: &str) -> DedupKeys {
        DedupKeys {
            exact: self.dedup.exact.then(|| exact_key(text)).flatten(),
            near: self.near.as_ref().and_then(|n| n.signature(text)),
        }
    }

    /// Exact, then near-duplicate removal over the documents the other operators kept, compared
    /// by their text before PII redaction where it ran. One
    /// document per cluster stays: the longest, ties broken by the smaller `doc_id`, so the choice
    /// does not depend on input order or thread timing.
    fn deduplicate(
        &self,
        kept: Vec<(usize, CleanedDocument)>,
        stats: &mut Vec<OperatorStats>,
        dropped: &mut Vec<(usize, Dropped)>,
        report: &mut CleanReport,
    ) -> Vec<CleanedDocument> {
        let n = kept.len();
        let lens: Vec<usize> = kept
            .par_iter()
            .map(|(_, d)| d.doc.text.chars().count())
            .collect();
        let better = |a: usize, b: usize| {
            lens[a] > lens[b] || (lens[a] == lens[b] && kept[a].1.doc.doc_id < kept[b].1.doc.doc_id)
        };
        let best = |members: &[usize]| {
            members
                .iter()
                .copied()
                .reduce(|a, b| if better(b, a) { b } else { a })
                .expect("clusters are non-empty")
        };
        // rep[i]: the member i was folded into (i itself when kept); why[i]: how.
        let mut rep: Vec<usize> = (0..n).collect();
        let mut why: Vec<Option<(&'static str, &'static str, String)>> = vec![None; n];

        if self.dedup.exact {
            let keys: Vec<Option<u128>> = kept
                .par_iter()
                .map(|(_, d)| match &d.dedup_keys {
                    Some(keys) => keys.exact,
                    None => exact_key(&d.doc.text),
                })
                .collect();
            let mut groups: HashMap<u128, Vec<usize>> = HashMap::new();
            for (i, k) in keys.iter().enumerate() {
                if let Some(k) = k {
                    groups.entry(*k).or_default().push(i);
                }
            }
            let mut groups: Vec<Vec<usize>> =
                groups.into_values().filter(|g| g.len() > 1).collect();
            groups.sort_unstable_by_key(|g| g[0]);
            let mut s = OperatorStats {
                name: "exact-dedup".into(),
                docs_in: n as u64,
                ..OperatorStats::default()
            };
            for g in &groups {
                let keep = best(g);
                for &m in g.iter().filter(|&&m| m != keep) {
                    rep[m] = keep;
                    why[m] = Some((
                        "exact-dedup",
                        "exact-duplicate",
                        format!("exact duplicate of {}", kept[keep].1.doc.doc_id),
                    ));
                    s.dropped += 1;
                }
            }
            s.docs_out = s.docs_in - s.dropped;
            if s.dropped > 0 {
                s.drop_reasons.insert("exact-duplicate".into(), s.dropped);
                s.counters.insert("clusters".into(), groups.len() as u64);
            }
            stats.push(s);
        }

        if let Some(detector) = &self.near {
            let alive: Vec<usize> = (0..n).filter(|&i| why[i].is_none()).collect();
            let sigs: Vec<Option<Vec<u32>>> = alive
                .par_iter()
                .map(|&i| match &kept[i].1.dedup_keys {
                    Some(keys) => keys.near.clone(),
                    None => detector.signature(&kept[i].1.doc.text),
                })
                .collect();
            let clusters = detector.clusters_of_signatures(&sigs);
            let mut s = OperatorStats {
                name: "near-dedup".into(),
                docs_in: alive.len() as u64,
                ..OperatorStats::default()
            };
            for cluster in &clusters {
                let members: Vec<usize> = cluster.iter().map(|&j| alive[j]).collect();
                let keep = best(&members);
                let keep_sig = sigs[alive.binary_search(&keep).expect("alive")].as_ref();
                for (&j, &m) in cluster.iter().zip(&members).filter(|(_, &m)| m != keep) {
                    let sim = match (keep_sig, &sigs[j]) {
                        (Some(a), Some(b)) => NearDupDetector::similarity(a, b),
                        _ => 0.0,
                    };
                    rep[m] = keep;
                    why[m] = Some((
                        "near-dedup",
                        "near-duplicate",
                        format!(
                            "near duplicate of {} (estimated similarity {sim:.2})",
                            kept[keep].1.doc.doc_id
                        ),
                    ));
                    s.dropped += 1;
                }
            }
            s.docs_out = s.docs_in - s.dropped;
            if s.dropped > 0 {
                s.drop_reasons.insert("near-duplicate".into(), s.dropped);
                s.counters.insert("clusters".into(), clusters.len() as u64);
            }
            stats.push(s);
        }

        // Follow exact -> near chains to the document finally kept; it names the cluster.
        let root = |mut i: usize| {
            while rep[i] != i {
                i = rep[i];
            }
            i
        };
        let roots: Vec<usize> = (0..n).map(root).collect();
        let mut cluster_size: HashMap<usize, usize> = HashMap::new();
        for &r in &roots {
            *cluster_size.entry(r).or_default() += 1;
        }
        report.duplicate_clusters = cluster_size.values().filter(|&&s| s > 1).count() as u64;
        let ids: Vec<String> = kept.iter().map(|(_, d)| d.doc.doc_id.clone()).collect();

        let mut out = Vec::with_capacity(n);
        for (i, ((index, mut doc), why)) in kept.into_iter().zip(why).enumerate() {
            let r = roots[i];
            if cluster_size[&r] > 1 {
                doc.dup_cluster = Some(ids[r].clone());
            }
            match why {
                None => out.push(doc),
                Some((op, reason, detail)) => dropped.push((
                    index,
                    dropped_record(&doc, op, reason, detail, doc.dup_cluster.clone()),
                )),
            }
        }
        out
    }
}

fn dropped_record(
    doc: &CleanedDocument,
    operator: &str,
    reason: &str,
    detail: String,
    dup_cluster: Option<String>,
) -> Dropped {
    Dropped {
        doc_id: doc.doc.doc_id.clone(),
        source_path: doc.doc.source_path.clone(),
        department: doc.doc.department.clone(),
        format: doc.doc.format,
        operator: operator.to_string(),
        reason: reason.to_string(),
        detail,
        dup_cluster,
        pii_counts: doc.pii_counts.clone(),
    }
}

/// Totals, per-department and per-format outcomes, PII counts and languages.
fn summarise(report: &mut CleanReport, kept: &[CleanedDocument], dropped: &[Dropped]) {
    let mut by_department: BTreeMap<String, GroupStats> = BTreeMap::new();
    let mut by_format: BTreeMap<String, GroupStats> = BTreeMap::new();
    let dept_key = |d: &Option<String>| d.clone().unwrap_or_else(|| NO_DEPARTMENT.to_string());
    let add_pii = |report: &mut CleanReport, dept: String, counts: &BTreeMap<String, u64>| {
        if counts.is_empty() {
            return;
        }
        report.pii.docs_with_pii += 1;
        let per_dept = report.pii.by_department.entry(dept).or_default();
        for (kind, n) in counts {
            *report.pii.by_kind.entry(kind.clone()).or_default() += n;
            *per_dept.entry(kind.clone()).or_default() += n;
        }
    };

    for doc in kept {
        let changed = !doc.changed_by.is_empty();
        let redacted = doc.changed_by.iter().any(|c| c == "pii");
        for g in [
            by_department
                .entry(dept_key(&doc.doc.department))
                .or_default(),
            by_format.entry(doc.doc.format.to_string()).or_default(),
        ] {
            g.docs_in += 1;
            g.kept += 1;
            g.changed += u64::from(changed);
            g.redacted += u64::from(redacted);
        }
        report.docs_kept += 1;
        report.docs_changed += u64::from(changed);
        report.docs_redacted += u64::from(redacted);
        *report
            .languages
            .entry(doc.lang.clone().unwrap_or_else(|| "und".into()))
            .or_default() += 1;
        add_pii(report, dept_key(&doc.doc.department), &doc.pii_counts);
    }
    for d in dropped {
        for g in [
            by_department.entry(dept_key(&d.department)).or_default(),
            by_format.entry(d.format.to_string()).or_default(),
        ] {
            g.docs_in += 1;
            g.dropped += 1;
            *g.drop_reasons.entry(d.reason.clone()).or_default() += 1;
        }
        report.docs_dropped += 1;
        add_pii(report, dept_key(&d.department), &d.pii_counts);
    }
    report.by_department = by_department;
    report.by_format = by_format;
}

/// Operators that judge a document's text and may drop it for that: the quality filters and
/// language id. Dedup keeps a copy of what it drops, and PII drops are asked for.
const FILTERS: [&str; 5] = [
    "garbled-text",
    "too-short",
    "symbol-ratio",
    "repeated-lines",
    "lang-id",
];

/// An alert is raised for a group when the filters dropped all of it, or at least
/// `ALERT_MIN_DROPPED` documents and `ALERT_SHARE` of it.
const ALERT_SHARE: f64 = 0.3;
const ALERT_MIN_DROPPED: u64 = 3;
/// Folders smaller than this are not alerted on (a one-file folder is one dropped document, and
/// the dropped table already lists it); departments of any size are.
const ALERT_MIN_FOLDER: u64 = 3;

/// Departments, then folders, that the filters thinned out badly (see [`DropAlert`]). A folder
/// holding exactly the documents of an alerted department is not repeated.
fn drop_alerts(kept: &[CleanedDocument], dropped: &[Dropped]) -> Vec<DropAlert> {
    #[derive(Default)]
    struct Tally {
        docs_in: u64,
        by_operator: BTreeMap<String, u64>,
        departments: std::collections::BTreeSet<String>,
    }
    let folder = |path: &str| match path.replace('\\', "/").rsplit_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => ".".to_string(),
    };
    let dept_key = |d: &Option<String>| d.clone().unwrap_or_else(|| NO_DEPARTMENT.to_string());
    let mut departments: BTreeMap<String, Tally> = BTreeMap::new();
    let mut folders: BTreeMap<String, Tally> = BTreeMap::new();
    let docs = kept
        .iter()
        .map(|k| (&k.doc.department, &k.doc.source_path, None))
        .chain(
            dropped
                .iter()
                .map(|d| (&d.department, &d.source_path, Some(d.operator.as_str()))),
        );
    for (department, path, operator) in docs {
        let dept = dept_key(department);
        for tally in [
            departments.entry(dept.clone()).or_default(),
            folders.entry(folder(path)).or_default(),
        ] {
            tally.docs_in += 1;
            tally.departments.insert(dept.clone());
            if let Some(op) = operator.filter(|op| FILTERS.contains(op)) {
                *tally.by_operator.entry(op.to_string()).or_default() += 1;
            }
        }
    }
    let alarming = |t: &Tally, min_size: u64| {
        let dropped: u64 = t.by_operator.values().sum();
        t.docs_in >= min_size
            && dropped > 0
            && (dropped == t.docs_in
                || (dropped >= ALERT_MIN_DROPPED
                    && dropped as f64 >= ALERT_SHARE * t.docs_in as f64))
    };
    let alert = |group: &str, name: &str, t: &Tally| DropAlert {
        group: group.to_string(),
        name: name.to_string(),
        docs_in: t.docs_in,
        dropped: t.by_operator.values().sum(),
        by_operator: t.by_operator.clone(),
    };
    let mut alerts: Vec<DropAlert> = departments
        .iter()
        .filter(|(_, t)| alarming(t, 1))
        .map(|(name, t)| alert("department", name, t))
        .collect();
    for (name, t) in &folders {
        let same_as_department = t.departments.len() == 1
            && alerts.iter().any(|a| {
                t.departments.contains(&a.name) && a.docs_in == t.docs_in && a.group == "department"
            });
        if alarming(t, ALERT_MIN_FOLDER) && !same_as_department {
            alerts.push(alert("folder", name, t));
        }
    }
    alerts
}
