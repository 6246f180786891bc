//! Integration tests of the knowledge base on real data: CMRC 2018 passages (Chinese) and files
//! collected by `adopt-collect`, indexed in a real qdrant-edge shard on disk.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};

use adopt_core::{Document, Embedder, NoopReporter};
use adopt_kb::{
    evaluate, load_cmrc, ChunkFilter, CmrcSet, KbPaths, KbSettings, KnowledgeBase, Query,
    SearchMode,
};

/// Passages kept small so that the debug build's `optimize()` stays quick.
const PASSAGES: usize = 40;

fn cmrc() -> CmrcSet {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/zh/cmrc2018_trial.json");
    load_cmrc(&path, Some(PASSAGES)).expect("CMRC trial set in ../shared/corpus")
}

fn file_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Build, query, evaluate, rebuild unchanged, change one document, remove one document.
/// `embedder` `None` exercises the keyword-only path (BM25 in qdrant-edge sparse vectors).
fn build_query_rebuild(embedder: Option<&dyn Embedder>, modes: &[(SearchMode, f64)]) {
    let set = cmrc();
    let dir = tempfile::tempdir().unwrap();
    let paths = KbPaths::new(dir.path().join("kb"));
    let mut kb = KnowledgeBase::open(paths.clone(), KbSettings::default()).unwrap();
    let stats = kb.build(&set.documents, embedder, &NoopReporter).unwrap();
    let n_docs = set
        .documents
        .iter()
        .map(|d| &d.doc_id)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(stats.docs_added, n_docs);
    assert!(stats.wrote);
    assert_eq!(stats.chunks_total, stats.chunks_upserted);
    assert!(stats.chunks_total >= n_docs, "{stats:?}");
    println!(
        "built {} chunks from {} passages in {:.1} s",
        stats.chunks_total, n_docs, stats.total_seconds
    );

    // Every mode clears its bar on the questions of these passages.
    for &(mode, bar) in modes {
        let report = evaluate(&kb, &set.queries, mode, embedder).unwrap();
        println!(
            "{mode}: {} queries, hit@1 {:.3} hit@5 {:.3} MRR {:.3}",
            report.answer_queries, report.hit_at_1, report.hit_at_5, report.mrr
        );
        assert!(
            report.hit_at_5 >= bar,
            "{mode} hit@5 {} below {bar}",
            report.hit_at_5
        );
    }

    // A question comes back with its own passage first, and filters hold.
    let q = &set.queries[0];
    let mode = modes[0].0;
    let hits = kb
        .query(&Query::new(q.question.clone(), 5, mode), embedder)
        .unwrap();
    assert!(
        hits[0].source_path.ends_with(q.doc.as_deref().unwrap()),
        "{hits:#?}"
    );
    let mut filtered = Query::new(q.question.clone(), 5, mode);
    filtered.filter = ChunkFilter {
        department: Some("no-such-department".into()),
        ..Default::default()
    };
    assert!(kb.query(&filtered, embedder).unwrap().is_empty());

    // No change: nothing written, not even the manifest.
    let before = file_bytes(dir.path());
    let again = kb.build(&set.documents, embedder, &NoopReporter).unwrap();
    assert!(!again.wrote, "{again:?}");
    assert_eq!((again.chunks_upserted, again.chunks_deleted), (0, 0));
    assert_eq!(again.docs_unchanged, n_docs);
    assert_eq!(again.chunks_total, stats.chunks_total);
    assert_eq!(
        file_bytes(dir.path()),
        before,
        "a no-change rebuild wrote files"
    );

    // One document removed: exactly its chunks go.
    let gone = &set.documents[1];
    let gone_chunks = kb.index().chunk_ids(&gone.doc_id).unwrap();
    assert!(!gone_chunks.is_empty());
    let kept: Vec<Document> = set
        .documents
        .iter()
        .filter(|d| d.doc_id != gone.doc_id)
        .cloned()
        .collect();
    let removed = kb.build(&kept, embedder, &NoopReporter).unwrap();
    assert_eq!(removed.docs_removed, 1);
    assert_eq!(removed.chunks_upserted, 0);
    assert_eq!(removed.chunks_total, stats.chunks_total - gone_chunks.len());
    assert!(kb.index().chunk_ids(&gone.doc_id).unwrap().is_empty());

    // One document changed in place (same id, new cleaned text): its chunks are replaced.
    let mut changed = kept.clone();
    changed[0].text.push_str("补充说明：本段为测试追加的内容。");
    let old_ids = kb.index().chunk_ids(&changed[0].doc_id).unwrap();
    let upd = kb.build(&changed, embedder, &NoopReporter).unwrap();
    assert_eq!(
        (upd.docs_changed, upd.docs_added, upd.docs_removed),
        (1, 0, 0)
    );
    let new_ids = kb.index().chunk_ids(&changed[0].doc_id).unwrap();
    assert_ne!(old_ids, new_ids);
    assert_eq!(
        upd.chunks_total,
        removed.chunks_total - old_ids.len() + new_ids.len()
    );
    drop(kb);

    // Reopened from disk, the knowledge base answers the same.
    let kb = KnowledgeBase::open(paths, KbSettings::default()).unwrap();
    assert_eq!(
        kb.index().count(&ChunkFilter::default()).unwrap(),
        upd.chunks_total
    );
    let hits = kb
        .query(&Query::new(q.question.clone(), 5, mode), embedder)
        .unwrap();
    assert!(hits[0].source_path.ends_with(q.doc.as_deref().unwrap()));
}

#[test]
fn keyword_kb_on_cmrc() {
    build_query_rebuild(None, &[(SearchMode::Sparse, 0.9)]);
}

#[cfg(feature = "embed-e2e")]
fn load_embedder() -> Result<adopt_embed::FastEmbedder, String> {
    adopt_embed::FastEmbedder::load(&adopt_embed::default_model_dir(), None)
        .map_err(|e| e.to_string())
}

#[test]
fn dense_and_hybrid_kb_on_cmrc() {
    #[cfg(feature = "embed-e2e")]
    {
        match load_embedder() {
            Ok(e) => build_query_rebuild(
                Some(&e),
                &[
                    (SearchMode::Hybrid, 0.9),
                    (SearchMode::Dense, 0.9),
                    (SearchMode::Sparse, 0.9),
                ],
            ),
            Err(e) => println!("skipped: no embedding model ({e})"),
        }
    }
    #[cfg(not(feature = "embed-e2e"))]
    println!("skipped: no embedding model (build with --features embed-e2e to use adopt-embed's)");
}

/// From files on disk through `adopt-collect` to a knowledge base: headings reach the chunks,
/// department filters work.
#[cfg(feature = "run-dir")]
#[test]
fn collected_run_directory() {
    use adopt_core::RunDir;
    use adopt_kb::load_run_documents;

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("hr")).unwrap();
    std::fs::create_dir_all(src.join("it")).unwrap();
    std::fs::write(
        src.join("hr/leave.md"),
        "# 员工手册\n\n## 年假\n\n员工每年享有十五天带薪年假，需提前两周申请。\n\n## 病假\n\n病假需提供医院证明。\n",
    )
    .unwrap();
    std::fs::write(
        src.join("it/vpn.md"),
        "# VPN setup\n\nInstall the client, then sign in with your employee number.\n",
    )
    .unwrap();
    let run = RunDir::new(dir.path().join("run"));
    adopt_collect::collect(
        &run,
        &adopt_collect::CollectOptions {
            sources: vec![src],
            department: None,
            full: false,
            threads: 1,
        },
        &adopt_collect::InProcessExtractor,
        &NoopReporter,
    )
    .unwrap();
    let docs = load_run_documents(&run).unwrap();
    assert_eq!(docs.len(), 2);
    let mut kb = KnowledgeBase::open(KbPaths::in_run(&run), KbSettings::default()).unwrap();
    kb.build(&docs, None, &NoopReporter).unwrap();
    assert!(run.root().join("kb/index").is_dir());
    assert!(run.root().join("kb/manifest.json").is_file());

    let hits = kb
        .query(&Query::new("年假有几天", 3, SearchMode::Sparse), None)
        .unwrap();
    assert!(hits[0].text.contains("十五天"), "{hits:#?}");
    assert_eq!(hits[0].headings, vec!["员工手册", "年假"]);
    assert_eq!(hits[0].department.as_deref(), Some("hr"));

    let mut q = Query::new("employee number", 3, SearchMode::Sparse);
    q.filter.department = Some("hr".into());
    assert!(kb
        .query(&q, None)
        .unwrap()
        .iter()
        .all(|h| h.department.as_deref() == Some("hr")));
    q.filter.department = Some("it".into());
    assert!(kb.query(&q, None).unwrap()[0]
        .text
        .contains("employee number"));
    // Dense search on a keyword-only knowledge base is a clear error, not an empty answer.
    let err = kb
        .query(&Query::new("x", 3, SearchMode::Hybrid), None)
        .unwrap_err();
    assert!(
        err.to_string().contains("without an embedding model")
            || err.to_string().contains("needs dense"),
        "{err}"
    );
}
