//! The kb stage on a run directory: builds (incrementally) the knowledge base from the cleaned
//! documents (or the collected ones when clean was not run), evaluates retrieval on a question
//! set when there is one (the label stage's `label/qa.jsonl` by default), and writes
//! `kb/eval.json` for the readiness report and `kb/build.json` for people.
//!
//! The index lives in `<run>/kb/index` (embedded Qdrant) unless a Qdrant server is named. The
//! manifest, `kb/manifest.json`, is written after the index is flushed, so a build killed at any
//! moment is redone by the next one and, because chunk ids are derived from their content and
//! upserts replace by id, nothing is duplicated.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use adopt_core::layout::write_atomic;
use adopt_core::{Embedder, Reporter, RunDir, Stage, StageContext, StageSummary};
use adopt_kb::{
    BuildStats, ChunkFilter, ChunkSettings, EvalReport, Fusion, KbPaths, KbSettings, KnowledgeBase,
    Query, SearchMode, ServerIndex, ServerSettings, SparseSettings,
};
use serde::{Deserialize, Serialize};

/// Whether the knowledge base gets dense vectors from the embedding model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Embeddings {
    /// Dense + BM25 when the model is installed, BM25 alone (with a warning) when it is not.
    #[default]
    Auto,
    /// Dense + BM25; a missing model is an error.
    On,
    /// BM25 alone: keyword search, no model needed.
    Off,
}

/// `[kb]`: how the knowledge base is built and evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct KbStageSettings {
    /// Dense vectors: `auto`, `on` or `off`.
    pub embeddings: Embeddings,
    /// Folder of the embedding model (as `models/prepare.py` writes it); default: the cache.
    pub model_dir: Option<PathBuf>,
    /// Search mode for evaluation and for the trial's retrieved context: `hybrid`, `dense` or
    /// `sparse`. Dense and hybrid fall back to `sparse` when the index has no dense vectors.
    pub search: SearchMode,
    /// Question set (JSONL `{"question", "answers", "doc"}`) to evaluate retrieval on, relative
    /// to the pipeline file; default: `label/qa.jsonl` of the run when the label stage made one.
    pub eval_queries: Option<PathBuf>,
    /// gRPC URL of a Qdrant server or cluster (`http://qdrant:6334`) to hold the index instead
    /// of the embedded one in the run directory.
    pub qdrant_url: Option<String>,
    /// Collection, shards, replication and API-key variable on that server.
    pub server: ServerSettings,
    /// How documents are cut into chunks.
    pub chunking: ChunkSettings,
    /// BM25 tokenisation and parameters.
    pub sparse: SparseSettings,
    /// Chunks per upsert call.
    pub upsert_batch: usize,
    /// How hybrid search fuses dense and sparse candidates: `confidence` (DBSF with each list
    /// weighted by how far its best hit stands above its other candidates, the default),
    /// `dbsf` (scores scaled by each list's spread, Qdrant's DBSF, equal weights) or `rrf`
    /// (reciprocal rank).
    pub fusion: Fusion,
    /// `k` of reciprocal rank fusion in hybrid search.
    pub rrf_k: usize,
    /// Candidates each of dense and sparse search contributes to hybrid fusion.
    pub prefetch: usize,
}

impl Default for KbStageSettings {
    fn default() -> Self {
        let kb = KbSettings::default();
        KbStageSettings {
            embeddings: Embeddings::Auto,
            model_dir: None,
            search: SearchMode::Hybrid,
            eval_queries: None,
            qdrant_url: None,
            server: ServerSettings::default(),
            chunking: kb.chunking,
            sparse: kb.sparse,
            upsert_batch: kb.upsert_batch,
            fusion: kb.fusion,
            rrf_k: kb.rrf_k,
            prefetch: kb.prefetch,
        }
    }
}

impl KbStageSettings {
    /// The knowledge-base library's settings.
    pub fn kb_settings(&self) -> KbSettings {
        KbSettings {
            chunking: self.chunking.clone(),
            sparse: self.sparse,
            upsert_batch: self.upsert_batch,
            fusion: self.fusion,
            rrf_k: self.rrf_k,
            prefetch: self.prefetch,
        }
    }

    /// Every problem at once.
    pub fn validate(&self) -> Vec<String> {
        let split = |r: adopt_kb::Result<()>| match r {
            Ok(()) => Vec::new(),
            Err(adopt_kb::KbError::Settings(s)) => s.split("; ").map(str::to_string).collect(),
            Err(e) => vec![e.to_string()],
        };
        let mut errors = split(self.kb_settings().validate());
        if let Some(url) = &self.qdrant_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                errors.push(format!(
                    "qdrant-url {url:?}: give the server's gRPC URL, e.g. http://qdrant:6334"
                ));
            }
            errors.extend(split(self.server.validate()));
        }
        errors
    }

    /// Resolves relative paths against the pipeline file's folder.
    pub fn resolve_paths(&mut self, base: &Path) {
        for p in [&mut self.model_dir, &mut self.eval_queries]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KbStageError {
    #[error(transparent)]
    Kb(#[from] adopt_kb::KbError),
    #[error(transparent)]
    Collect(#[from] adopt_collect::CollectError),
    #[error("{0}: no documents here; run `adopt collect` (and `adopt clean`) first")]
    NoInput(PathBuf),
    #[error("{path}: {reason}")]
    Output { path: PathBuf, reason: String },
}

/// Where a knowledge base's index lives, recorded in `kb/backend.json` by every build so that
/// queries find it without being told again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Backend {
    /// `None`: the embedded index in `kb/index`.
    pub qdrant_url: Option<String>,
    #[serde(default)]
    pub server: ServerSettings,
}

impl Backend {
    pub fn of(settings: &KbStageSettings) -> Self {
        Backend {
            qdrant_url: settings.qdrant_url.clone(),
            server: settings.server.clone(),
        }
    }

    /// What the last build of `run_dir` used; the embedded index when nothing is recorded.
    pub fn recorded(run_dir: &RunDir) -> Result<Self, KbStageError> {
        let path = run_dir.kb_dir().join("backend.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| KbStageError::Output {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Backend {
                qdrant_url: None,
                server: ServerSettings::default(),
            }),
            Err(e) => Err(KbStageError::Output {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Opens the knowledge base of `run_dir` on this backend.
    pub fn open(
        &self,
        run_dir: &RunDir,
        settings: KbSettings,
    ) -> Result<KnowledgeBase, KbStageError> {
        let paths = KbPaths::in_run(run_dir);
        Ok(match &self.qdrant_url {
            None => KnowledgeBase::open(paths, settings)?,
            Some(url) => {
                let index = ServerIndex::connect(url, &self.server)?;
                KnowledgeBase::with_index(paths, settings, Box::new(index))?
            }
        })
    }
}

/// What one kb stage run did: written to `kb/build.json`.
#[derive(Debug, Clone, Serialize)]
pub struct KbStageReport {
    /// Where the documents came from (`clean/documents.parquet` or `documents.parquet`).
    pub input: PathBuf,
    pub index: String,
    /// Embedding model of the dense vectors; `None` for a keyword-only knowledge base.
    pub model: Option<String>,
    pub build: BuildStats,
    /// The question set evaluated, if any.
    pub eval_queries: Option<PathBuf>,
    pub eval: Option<EvalReport>,
}

/// The default question set: the label stage's QA pairs.
pub fn default_eval_queries(run_dir: &RunDir) -> PathBuf {
    run_dir.label_dir().join("qa.jsonl")
}

/// The question set a run evaluates on, if any.
pub fn eval_queries_for(run_dir: &RunDir, settings: &KbStageSettings) -> Option<PathBuf> {
    settings
        .eval_queries
        .clone()
        .or_else(|| Some(default_eval_queries(run_dir)).filter(|p| p.is_file()))
}

/// The search mode actually usable: dense and hybrid need an embedder.
pub fn effective_mode(wanted: SearchMode, has_dense: bool) -> SearchMode {
    if wanted.needs_dense() && !has_dense {
        SearchMode::Sparse
    } else {
        wanted
    }
}

/// Builds the knowledge base of `run_dir` and evaluates it.
pub fn kb_run_dir(
    run_dir: &RunDir,
    settings: &KbStageSettings,
    embedder: Option<&dyn Embedder>,
    reporter: &dyn Reporter,
) -> Result<KbStageReport, KbStageError> {
    let (input, docs) = crate::stage_documents(run_dir)?
        .ok_or_else(|| KbStageError::NoInput(run_dir.root().to_path_buf()))?;
    let embedder = match settings.embeddings {
        Embeddings::Off => None,
        _ => embedder,
    };
    let paths = KbPaths::in_run(run_dir);
    let backend = Backend::of(settings);
    let mut kb = backend.open(run_dir, settings.kb_settings())?;
    if backend != Backend::recorded(run_dir)? && kb.manifest().is_some() {
        // The manifest describes the other backend's index: build this one from scratch.
        std::fs::remove_file(paths.manifest()).map_err(|e| KbStageError::Output {
            path: paths.manifest(),
            reason: e.to_string(),
        })?;
        kb = backend.open(run_dir, settings.kb_settings())?;
    }
    write_json(&paths.root().join("backend.json"), &backend)?;
    let build = kb.build(&docs, embedder, reporter)?;

    let queries = eval_queries_for(run_dir, settings);
    let mode = effective_mode(settings.search, embedder.is_some());
    let eval = match &queries {
        Some(q) => {
            let qs = adopt_kb::read_eval_queries(q, reporter)?;
            Some(adopt_kb::evaluate(&kb, &qs, mode, embedder)?)
        }
        None => None,
    };
    let report = KbStageReport {
        input,
        index: kb.index().location(),
        model: embedder.map(|e| e.model_id().to_string()),
        build,
        eval_queries: queries,
        eval,
    };
    let summary = kb_summary(&report, docs.len(), mode);
    write_json(&run_dir.kb_eval(), &summary)?;
    write_json(&paths.root().join("build.json"), &report)?;
    Ok(report)
}

/// `kb/eval.json` in the readiness report's shape; figures only, no timings, so that the same
/// inputs give the same bytes.
fn kb_summary(
    report: &KbStageReport,
    n_documents: usize,
    mode: SearchMode,
) -> adopt_report::KbSummary {
    let e = report.eval.as_ref();
    adopt_report::KbSummary {
        mode: Some(mode.as_str().to_string()),
        n_documents: Some(n_documents as u64),
        n_chunks: report.build.chunks_total as u64,
        n_queries: e.map_or(0, |e| e.answer_queries.max(e.relevance_queries) as u64),
        hit_at_1: e.filter(|e| e.answer_queries > 0).map(|e| e.hit_at_1),
        hit_at_3: e.filter(|e| e.answer_queries > 0).map(|e| e.hit_at_3),
        hit_at_5: e.filter(|e| e.answer_queries > 0).map(|e| e.hit_at_5),
        hit_at_10: e.filter(|e| e.answer_queries > 0).map(|e| e.hit_at_10),
        mrr: e.filter(|e| e.answer_queries > 0).map(|e| e.mrr),
        ndcg: e.and_then(|e| e.ndcg_at_10),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), KbStageError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| KbStageError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_atomic(path, &bytes).map_err(|e| KbStageError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

pub(crate) fn load(section: &mut crate::config::Section<'_>, pipeline: &mut crate::Pipeline) {
    let Some(mut k) = section.parse::<KbStageSettings>() else {
        return;
    };
    for e in k.validate() {
        section.error(e);
    }
    k.resolve_paths(section.base);
    if let Some(q) = &k.eval_queries {
        if !q.is_file() {
            section.error(format!("eval-queries: {} does not exist", q.display()));
        }
    }
    pipeline.kb = Some(k);
}

pub(crate) fn plan<'a>(
    pipeline: &'a crate::Pipeline,
    _tools: &crate::stages::Tools<'a>,
) -> Option<Box<dyn Stage + 'a>> {
    Some(Box::new(KbStage(pipeline.kb.as_ref()?)))
}

/// The build itself is incremental and idempotent: after a kill it redoes only what the
/// manifest does not yet record.
struct KbStage<'a>(&'a KbStageSettings);

impl KbStage<'_> {
    fn dense<'e>(&self, ctx: &'e StageContext<'_>) -> Option<&'e dyn Embedder> {
        match self.0.embeddings {
            Embeddings::Off => None,
            _ => ctx.embedder.as_deref(),
        }
    }
}

impl Stage for KbStage<'_> {
    fn name(&self) -> &'static str {
        "kb"
    }

    fn settings(&self) -> Vec<u8> {
        crate::stages::settings_bytes(self.0)
    }

    fn inputs(&self, ctx: &StageContext<'_>) -> Vec<PathBuf> {
        vec![
            ctx.run_dir.stage_documents(),
            eval_queries_for(ctx.run_dir, self.0).unwrap_or_default(),
        ]
    }

    fn extra_fingerprint(&self, ctx: &StageContext<'_>) -> Option<Vec<u8>> {
        let model = self.dense(ctx).map(|e| e.model_id().to_string());
        Some(model.unwrap_or_default().into_bytes())
    }

    fn outputs(&self, run_dir: &RunDir) -> Vec<PathBuf> {
        vec![run_dir.kb_eval(), KbPaths::in_run(run_dir).manifest()]
    }

    fn run(&self, ctx: &StageContext<'_>) -> Result<StageSummary, adopt_core::StageError> {
        let report = kb_run_dir(ctx.run_dir, self.0, self.dense(ctx), ctx.reporter)?;
        Ok(kb_line(&report).into())
    }
}

/// One line about a kb build, for people.
pub fn kb_line(report: &KbStageReport) -> String {
    let b = &report.build;
    let mut s = format!(
        "{} documents: {} added, {} changed, {} removed, {} unchanged; {} chunks ({})",
        b.docs_total,
        b.docs_added,
        b.docs_changed,
        b.docs_removed,
        b.docs_unchanged,
        b.chunks_total,
        report
            .model
            .as_deref()
            .map_or("keyword only".to_string(), |m| format!("dense {m} + BM25")),
    );
    if let Some(e) = &report.eval {
        if e.answer_queries > 0 {
            s.push_str(&format!(
                "; {} search on {} questions: hit@1 {:.2}, hit@5 {:.2}, MRR {:.2}",
                e.mode, e.answer_queries, e.hit_at_1, e.hit_at_5, e.mrr
            ));
        }
    }
    s
}

/// The knowledge base as the trial's retriever: each RAG question gets the top chunks of a
/// search over the whole knowledge base, as it would in production (the question's source
/// document is not used to narrow the search).
pub struct KbContext {
    kb: KnowledgeBase,
    embedder: Option<Arc<dyn Embedder>>,
    mode: SearchMode,
    top_k: usize,
}

impl KbContext {
    /// Opens the knowledge base of `run_dir` for retrieval.
    pub fn open(
        run_dir: &RunDir,
        settings: &KbStageSettings,
        embedder: Option<Arc<dyn Embedder>>,
        top_k: usize,
    ) -> Result<Self, KbStageError> {
        let kb = Backend::recorded(run_dir)?.open(run_dir, settings.kb_settings())?;
        // Use the embedder only if the index was built with it.
        let built_with = kb.manifest().and_then(|m| m.embed_model.clone());
        let embedder = embedder.filter(|e| built_with.as_deref() == Some(e.model_id()));
        let mode = effective_mode(settings.search, embedder.is_some());
        Ok(KbContext {
            kb,
            embedder,
            mode,
            top_k: top_k.max(1),
        })
    }
}

impl adopt_trial::ContextSource for KbContext {
    fn contexts(&self, question: &str, _doc: Option<&str>) -> Result<Vec<String>, String> {
        let query = Query {
            text: question.to_string(),
            top_k: self.top_k,
            mode: self.mode,
            filter: ChunkFilter::default(),
        };
        let hits = self
            .kb
            .query(&query, self.embedder.as_deref())
            .map_err(|e| e.to_string())?;
        Ok(hits.into_iter().map(|h| h.text).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adopt_collect::{CollectOptions, InProcessExtractor};
    use adopt_core::NoopReporter;
    use adopt_trial::ContextSource;

    fn collect(run: &RunDir, src: &Path) {
        let opts = CollectOptions {
            sources: vec![src.to_path_buf()],
            department: None,
            full: false,
            threads: 1,
            ocr: Default::default(),
        };
        adopt_collect::collect(run, &opts, &InProcessExtractor, &NoopReporter).unwrap();
    }

    /// Keyword-only so that it needs no model: build from collected files, evaluate, retrieve
    /// for a trial, then follow a deleted and an edited file.
    #[test]
    fn builds_evaluates_retrieves_and_follows_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        for (dept, name, text) in [
            (
                "risk",
                "npl.md",
                "# 资产质量\n\n本季度不良贷款率为1.32%，较上季度下降0.05个百分点。",
            ),
            (
                "fraud",
                "cards.md",
                "# Card fraud\n\nConfirmed card fraud losses fell to 0.021% of card volume.",
            ),
            (
                "service",
                "hotline.md",
                "# 热线\n\n客服热线为95588，工作时间为每天8点至20点。",
            ),
        ] {
            std::fs::create_dir_all(src.join(dept)).unwrap();
            std::fs::write(src.join(dept).join(name), text).unwrap();
        }
        let run = RunDir::new(tmp.path().join("run"));
        collect(&run, &src);
        let queries = tmp.path().join("q.jsonl");
        std::fs::write(
            &queries,
            "{\"question\":\"不良贷款率是多少\",\"answers\":[\"1.32%\"],\"doc\":\"npl.md\"}\n\
             {\"question\":\"客服热线号码\",\"answers\":[\"95588\"]}\n",
        )
        .unwrap();
        let settings = KbStageSettings {
            embeddings: Embeddings::Off,
            eval_queries: Some(queries),
            ..Default::default()
        };
        let report = kb_run_dir(&run, &settings, None, &NoopReporter).unwrap();
        assert_eq!(report.build.docs_added, 3);
        assert_eq!(report.model, None);
        let eval: adopt_report::KbSummary =
            serde_json::from_slice(&std::fs::read(run.kb_eval()).unwrap()).unwrap();
        // Hybrid was asked for; with no model it is keyword search.
        assert_eq!(eval.mode.as_deref(), Some("sparse"));
        assert_eq!((eval.n_documents, eval.n_queries), (Some(3), 2));
        assert_eq!(eval.hit_at_1, Some(1.0));

        let ctx = KbContext::open(&run, &settings, None, 2).unwrap();
        let passages = ctx.contexts("客服热线号码是多少？", None).unwrap();
        assert!(passages[0].contains("95588"), "{passages:?}");

        // A deleted file's chunks go; an edited file's old chunks are replaced.
        std::fs::remove_file(src.join("fraud/cards.md")).unwrap();
        std::fs::write(
            src.join("service/hotline.md"),
            "# 热线\n\n客服热线改为95599。",
        )
        .unwrap();
        collect(&run, &src);
        drop(ctx);
        let report = kb_run_dir(&run, &settings, None, &NoopReporter).unwrap();
        let b = &report.build;
        // Document ids come from content hashes, so the edited file arrives under a new id;
        // its unchanged path makes it a changed document.
        assert_eq!(
            (
                b.docs_removed,
                b.docs_added,
                b.docs_changed,
                b.docs_unchanged
            ),
            (1, 0, 1, 1),
            "{b:?}"
        );
        let kb = KnowledgeBase::open(KbPaths::in_run(&run), settings.kb_settings()).unwrap();
        let m = kb.manifest().unwrap();
        let in_manifest: usize = m.docs.values().map(|d| d.chunk_ids.len()).sum();
        assert_eq!(
            kb.index().count(&ChunkFilter::default()).unwrap(),
            in_manifest
        );
        let hits = kb
            .query(&Query::new("客服热线", 5, SearchMode::Sparse), None)
            .unwrap();
        assert!(hits.iter().any(|h| h.text.contains("95599")));
        assert!(!hits.iter().any(|h| h.text.contains("95588")));
        // Nothing changed: nothing written.
        drop(kb);
        let again = kb_run_dir(&run, &settings, None, &NoopReporter).unwrap();
        assert!(!again.build.wrote);
    }

    fn three_docs(tmp: &Path) -> RunDir {
        let src = tmp.join("src");
        std::fs::create_dir_all(src.join("risk")).unwrap();
        std::fs::write(src.join("risk/npl.md"), "# 资产质量\n\n不良贷款率为1.32%。").unwrap();
        let run = RunDir::new(tmp.join("run"));
        collect(&run, &src);
        run
    }

    #[test]
    fn a_missing_server_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let run = three_docs(tmp.path());
        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let settings = KbStageSettings {
            embeddings: Embeddings::Off,
            qdrant_url: Some(url.clone()),
            server: ServerSettings {
                timeout_secs: 2,
                ..Default::default()
            },
            ..Default::default()
        };
        let err = kb_run_dir(&run, &settings, None, &NoopReporter)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("no Qdrant server at {url}")), "{err}");
    }

    /// The stage on a real Qdrant server, when `ADOPT_TEST_QDRANT_URL` names one; switching
    /// back to the embedded index rebuilds it.
    #[test]
    fn stage_on_a_qdrant_server() {
        let Some(url) = std::env::var("ADOPT_TEST_QDRANT_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: Qdrant server tests: ADOPT_TEST_QDRANT_URL is not set"
            );
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let run = three_docs(tmp.path());
        let collection = format!("adopt-pipeline-test-{}", std::process::id());
        let settings = KbStageSettings {
            embeddings: Embeddings::Off,
            qdrant_url: Some(url.clone()),
            server: ServerSettings {
                collection: collection.clone(),
                api_key_env: std::env::var("ADOPT_TEST_QDRANT_API_KEY")
                    .ok()
                    .map(|_| "ADOPT_TEST_QDRANT_API_KEY".to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        let report = kb_run_dir(&run, &settings, None, &NoopReporter).unwrap();
        assert!(report.index.contains(&url), "{}", report.index);
        let ctx = KbContext::open(&run, &settings, None, 1).unwrap();
        assert!(ctx.contexts("不良贷款率", None).unwrap()[0].contains("1.32%"));
        drop(ctx);
        let local = KbStageSettings {
            qdrant_url: None,
            ..settings.clone()
        };
        let back = kb_run_dir(&run, &local, None, &NoopReporter).unwrap();
        assert!(back.build.full_rebuild.is_some());
        let mut server = ServerIndex::connect(&url, &settings.server).unwrap();
        server.delete_collection().unwrap();
    }

    #[test]
    fn settings_errors_are_listed_together() {
        let s = KbStageSettings {
            upsert_batch: 0,
            chunking: ChunkSettings {
                target_tokens: 100,
                max_tokens: 50,
                overlap_tokens: 200,
            },
            ..Default::default()
        };
        let errors = s.validate();
        assert!(errors.len() >= 3, "{errors:?}");
    }
}
