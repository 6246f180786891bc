//! The collect stage: find files, skip what has not changed, extract the rest under a budget,
//! and commit `documents.parquet`, `tables.parquet` and `quarantine.jsonl` atomically.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use adopt_core::{ContentHash, Document, Format, Reporter, RunDir, UNIT_SEPARATOR};
use rayon::prelude::*;

use crate::error::{CollectError, Result};
use crate::extract::FileJob;
use crate::isolation::Extractor;
use crate::store::{self, QuarantineEntry};

/// Settings of one `adopt collect` run.
#[derive(Debug, Clone, Default)]
pub struct CollectOptions {
    /// Files and folders to collect.
    pub sources: Vec<PathBuf>,
    /// Department for every file; when `None`, the first folder level below a source folder.
    pub department: Option<String>,
    /// Re-extract every file even if its content is unchanged.
    pub full: bool,
    /// Files extracted at once; 0 means one per core.
    pub threads: usize,
    /// When scanned pages and image files are read by OCR.
    pub ocr: crate::ocr::OcrMode,
}

/// What a run did, for the summary line and the report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CollectSummary {
    pub found: usize,
    /// Extracted in this run (new or changed).
    pub read: usize,
    pub unchanged: usize,
    /// Documents of files that no longer exist under the sources.
    pub removed: usize,
    pub quarantined: usize,
    /// Quarantined files by kind of failure.
    pub quarantined_by_kind: BTreeMap<String, usize>,
    /// Documents now in the run directory (all runs).
    pub documents: usize,
    pub tables: usize,
    pub pages: u64,
    /// Pages (of all documents) read by OCR, and those of them read with low confidence.
    pub ocr_pages: u64,
    pub ocr_low_confidence: u64,
    /// Documents with scanned pages OCR could not read at all (no models, say); the reason of
    /// the first, for one line on the terminal.
    pub ocr_not_run: usize,
    pub ocr_not_run_reason: Option<String>,
}

/// A file found under the sources.
#[derive(Debug, Clone)]
struct Found {
    path: PathBuf,
    department: Option<String>,
    format: Option<Format>,
}

enum Outcome {
    Unchanged,
    UnchangedQuarantined,
    Document(Box<Document>),
    Quarantined(QuarantineEntry),
}

/// Runs the collect stage into `run_dir`.
pub fn collect(
    run_dir: &RunDir,
    opts: &CollectOptions,
    extractor: &dyn Extractor,
    reporter: &dyn Reporter,
) -> Result<CollectSummary> {
    std::fs::create_dir_all(run_dir.root()).map_err(|e| CollectError::io(run_dir.root(), e))?;
    let mut found = Vec::new();
    for source in &opts.sources {
        walk(source, opts.department.as_deref(), &mut found)?;
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);

    let old_docs = if run_dir.documents().exists() {
        store::read_documents(&run_dir.documents(), Some(&run_dir.tables_index()))?
    } else {
        Vec::new()
    };
    let old_quarantine = store::read_quarantine(&run_dir.quarantine())?;
    let old_by_path: HashMap<&str, &Document> = old_docs
        .iter()
        .map(|d| (d.source_path.as_str(), d))
        .collect();
    let old_q_by_path: HashMap<&str, &QuarantineEntry> = old_quarantine
        .iter()
        .map(|q| (q.path.as_str(), q))
        .collect();

    let tables_dir = run_dir.tables_dir();
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| CollectError::unreadable(run_dir.root(), e))?;

    // Ids already taken, so that identical bytes at two paths still get two distinct ids.
    let taken: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
    reporter.start("collect", found.len() as u64);
    let outcomes: Vec<(Found, Outcome)> = pool.install(|| {
        found
            .par_iter()
            .map(|f| {
                let outcome = process(
                    f,
                    opts,
                    &old_by_path,
                    &old_q_by_path,
                    &tables_dir,
                    &taken,
                    extractor,
                );
                if let Outcome::Quarantined(q) = &outcome {
                    reporter.warn(&format!("{}: {}", q.path, q.reason));
                }
                reporter.advance(&f.path.display().to_string());
                (f.clone(), outcome)
            })
            .collect()
    });
    reporter.finish();

    // Merge: documents outside this run's sources stay; inside, this run's view replaces them.
    let seen: HashSet<String> = found.iter().map(|f| f.path.display().to_string()).collect();
    let in_scope = |p: &str| {
        opts.sources
            .iter()
            .any(|s| Path::new(p).starts_with(s) || Path::new(p) == s.as_path())
    };
    let mut summary = CollectSummary {
        found: found.len(),
        ..Default::default()
    };
    let mut docs: Vec<Document> = Vec::new();
    let mut quarantine: Vec<QuarantineEntry> = old_quarantine
        .iter()
        .filter(|q| !in_scope(&q.path))
        .cloned()
        .collect();
    for d in &old_docs {
        if !in_scope(&d.source_path) {
            docs.push(d.clone());
        } else if !seen.contains(&d.source_path) {
            summary.removed += 1;
        }
    }
    for (f, outcome) in outcomes {
        let key = f.path.display().to_string();
        match outcome {
            Outcome::Unchanged => {
                summary.unchanged += 1;
                docs.push((*old_by_path[key.as_str()]).clone());
            }
            Outcome::UnchangedQuarantined => {
                summary.unchanged += 1;
                quarantine.push(old_q_by_path[key.as_str()].clone());
            }
            Outcome::Document(d) => {
                summary.read += 1;
                docs.push(*d);
            }
            Outcome::Quarantined(q) => {
                summary.quarantined += 1;
                *summary
                    .quarantined_by_kind
                    .entry(q.kind.clone())
                    .or_default() += 1;
                quarantine.push(q);
            }
        }
    }
    docs.sort_by(|a, b| a.source_path.cmp(&b.source_path));
    quarantine.sort_by(|a, b| a.path.cmp(&b.path));

    // Commit. Each file is replaced atomically; table files are content-addressed by doc id, so
    // the new index never points at a file of the old run that is about to be removed.
    let mut df = store::documents_frame(&docs)
        .map_err(|e| CollectError::unreadable(&run_dir.documents(), e))?;
    let mut tf = store::tables_frame(&docs)
        .map_err(|e| CollectError::unreadable(&run_dir.tables_index(), e))?;
    store::write_parquet_atomic(&run_dir.tables_index(), &mut tf, "table index")?;
    store::write_parquet_atomic(&run_dir.documents(), &mut df, "documents")?;
    store::write_quarantine(&run_dir.quarantine(), &quarantine)?;
    remove_orphan_tables(&tables_dir, &docs);

    summary.documents = docs.len();
    summary.tables = docs.iter().map(|d| d.tables.len()).sum();
    summary.pages = docs.iter().map(|d| u64::from(d.page_count)).sum();
    for d in &docs {
        for w in &d.warnings {
            if let Some(confidence) = adopt_core::document::ocr_note::parse(w) {
                summary.ocr_pages += 1;
                if adopt_core::document::ocr_note::is_low(confidence) {
                    summary.ocr_low_confidence += 1;
                }
            }
        }
        if let Some(w) = d
            .warnings
            .iter()
            .find(|w| w.starts_with(crate::ocr::NOT_OCRED))
        {
            summary.ocr_not_run += 1;
            summary
                .ocr_not_run_reason
                .get_or_insert_with(|| w[crate::ocr::NOT_OCRED.len()..].to_string());
        }
    }
    Ok(summary)
}

fn process(
    f: &Found,
    opts: &CollectOptions,
    old_by_path: &HashMap<&str, &Document>,
    old_q_by_path: &HashMap<&str, &QuarantineEntry>,
    tables_dir: &Path,
    taken: &Mutex<HashMap<String, String>>,
    extractor: &dyn Extractor,
) -> Outcome {
    let key = f.path.display().to_string();
    let quarantine = |hash: &str, err: &CollectError| {
        Outcome::Quarantined(QuarantineEntry {
            path: key.clone(),
            department: f.department.clone(),
            format: f.format,
            kind: err.kind().to_string(),
            reason: err.reason(),
            content_hash: hash.to_string(),
        })
    };
    let bytes = match std::fs::read(&f.path) {
        Ok(b) => b,
        Err(e) => return quarantine("", &CollectError::io(&f.path, e)),
    };
    let hash = ContentHash::of(&bytes);
    let hex = hash.hex();
    if !opts.full {
        if let Some(old) = old_by_path.get(key.as_str()) {
            if old.content_hash == hex && old.department == f.department {
                taken
                    .lock()
                    .unwrap()
                    .insert(old.doc_id.clone(), key.clone());
                return Outcome::Unchanged;
            }
        }
        if let Some(q) = old_q_by_path.get(key.as_str()) {
            if q.content_hash == hex && q.department == f.department {
                return Outcome::UnchangedQuarantined;
            }
        }
    }
    let Some(format) = f.format else {
        let ext = f.path.extension().map(|e| e.to_string_lossy().into_owned());
        return quarantine(
            &hex,
            &CollectError::Unsupported {
                path: f.path.clone(),
                ext,
            },
        );
    };
    let mut warnings = Vec::new();
    let doc_id = {
        let mut taken = taken.lock().unwrap();
        let mut id = hash.doc_id();
        if let Some(other) = taken.get(&id).filter(|p| **p != key) {
            warnings.push(format!("identical bytes to {other}"));
            id = ContentHash::of(format!("{hex}\n{key}").as_bytes()).doc_id();
        }
        taken.insert(id.clone(), key.clone());
        id
    };
    let job = FileJob {
        path: f.path.clone(),
        format,
        doc_id: doc_id.clone(),
        tables_dir: tables_dir.to_path_buf(),
        ocr: opts.ocr,
        time_budget_secs: extractor.time_budget_secs(),
    };
    let ex = match extractor.extract(&job, &bytes) {
        Ok(ex) => ex,
        Err(e) => return quarantine(&hex, &e),
    };
    let modified_ms = std::fs::metadata(&f.path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    let unit_labels = ex.units.iter().map(|u| u.label.clone()).collect();
    let text = ex
        .units
        .iter()
        .map(|u| u.text.replace(UNIT_SEPARATOR, "\n"))
        .collect::<Vec<_>>()
        .join(&UNIT_SEPARATOR.to_string());
    warnings.extend(ex.warnings);
    Outcome::Document(Box::new(Document {
        doc_id,
        source_path: key,
        department: f.department.clone(),
        format,
        title: ex.title,
        author: ex.author,
        created: ex.created,
        page_count: ex.units.len() as u32,
        text,
        unit_labels,
        encoding: ex.encoding,
        byte_size: bytes.len() as u64,
        modified_ms,
        content_hash: hex,
        warnings,
        tables: ex.tables,
    }))
}

/// Collects the files below `source`. Hidden files and Office lock files (`~$name.xlsx`) are not
/// documents; a missing source is an error, since the user named it.
fn walk(source: &Path, department: Option<&str>, out: &mut Vec<Found>) -> Result<()> {
    let meta = std::fs::metadata(source).map_err(|e| CollectError::io(source, e))?;
    let format_of = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension)
    };
    if meta.is_file() {
        out.push(Found {
            path: source.to_path_buf(),
            department: department.map(str::to_string),
            format: format_of(source),
        });
        return Ok(());
    }
    let walker = walkdir::WalkDir::new(source)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| source.to_path_buf());
                let io = e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("filesystem loop"));
                return Err(CollectError::io(&path, io));
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let rel = path.strip_prefix(source).unwrap_or(path);
        let dept = department.map(str::to_string).or_else(|| {
            let mut comps = rel.components();
            let first = comps.next()?;
            // Only a folder level names a department; a file directly in the source has none.
            comps.next()?;
            Some(first.as_os_str().to_string_lossy().into_owned())
        });
        out.push(Found {
            path: path.to_path_buf(),
            department: dept,
            format: format_of(path),
        });
    }
    Ok(())
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    let n = name.to_string_lossy();
    n.starts_with('.') || n.starts_with("~$")
}

fn remove_orphan_tables(tables_dir: &Path, docs: &[Document]) {
    let live: HashSet<&str> = docs
        .iter()
        .flat_map(|d| d.tables.iter().map(|t| t.file.as_str()))
        .collect();
    let Ok(entries) = std::fs::read_dir(tables_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !live.contains(name.to_string_lossy().as_ref()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
