//! The knowledge-base tests every backend must pass, written once over a [`Backend`].

use std::path::{Path, PathBuf};

use adopt_core::{Document, Embedder, NoopReporter};
use adopt_kb::chunk::chunk_id;
use adopt_kb::{
    evaluate, load_cmrc, Chunk, ChunkFilter, ChunkKind, CmrcSet, Fusion, IndexQuery, IndexSpec,
    IndexedChunk, KbPaths, KbSettings, KnowledgeBase, Query, SearchMode, SearchSettings, SparseVec,
};

use crate::backends::Backend;

/// Passages kept small so that the debug build's `optimize()` stays quick.
const PASSAGES: usize = 40;

fn cmrc() -> CmrcSet {
    let path = std::env::current_dir()
        .expect("cargo runs tests and benches in the package folder")
        .join("../../../shared/corpus/zh/cmrc2018_trial.json");
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

fn open_kb(backend: &dyn Backend, paths: &KbPaths) -> KnowledgeBase {
    KnowledgeBase::with_index(
        paths.clone(),
        KbSettings::default(),
        backend.open(paths.root()),
    )
    .unwrap()
}

/// The index holds exactly the chunks the manifest lists: no duplicates, no leftovers.
fn assert_index_matches_manifest(kb: &KnowledgeBase) {
    let manifest = kb.manifest().expect("a manifest after a build");
    let listed: usize = manifest.docs.values().map(|e| e.chunk_ids.len()).sum();
    assert_eq!(
        kb.index().count(&ChunkFilter::default()).unwrap(),
        listed,
        "index and manifest disagree"
    );
    for (doc_id, entry) in &manifest.docs {
        let mut expected = entry.chunk_ids.clone();
        expected.sort();
        assert_eq!(
            kb.index().chunk_ids(doc_id).unwrap(),
            expected,
            "doc {doc_id}"
        );
    }
}

/// Build, query, evaluate, rebuild unchanged, remove one document, change one in place, add
/// the removed one back, reopen. `embedder` `None` exercises the keyword-only path.
pub fn build_query_rebuild(
    backend: &dyn Backend,
    embedder: Option<&dyn Embedder>,
    modes: &[(SearchMode, f64)],
) {
    let set = cmrc();
    let dir = tempfile::tempdir().unwrap();
    let paths = KbPaths::new(dir.path().join("kb"));
    let mut kb = open_kb(backend, &paths);
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
    assert_index_matches_manifest(&kb);

    // Listing gives every chunk with its payload, a document's chunks in reading order.
    assert_eq!(
        kb.chunks(&ChunkFilter::default()).unwrap().len(),
        stats.chunks_total
    );
    let first = &set.documents[0];
    let listed = kb
        .chunks(&ChunkFilter {
            doc_id: Some(first.doc_id.clone()),
            ..Default::default()
        })
        .unwrap();
    let mut ids: Vec<String> = listed.iter().map(|h| h.chunk_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, kb.index().chunk_ids(&first.doc_id).unwrap());
    assert!(listed
        .windows(2)
        .all(|w| w[0].char_start <= w[1].char_start));
    assert!(listed
        .iter()
        .all(|h| h.source_path == first.source_path && !h.text.is_empty()));
    println!(
        "{}: built {} chunks from {} passages in {:.1} s",
        kb.index().location(),
        stats.chunks_total,
        n_docs,
        stats.total_seconds
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
    let own_doc = set
        .documents
        .iter()
        .find(|d| d.source_path.ends_with(q.doc.as_deref().unwrap()))
        .unwrap();
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
    filtered.filter = ChunkFilter {
        doc_id: Some(own_doc.doc_id.clone()),
        ..Default::default()
    };
    let hits = kb.query(&filtered, embedder).unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h.doc_id == own_doc.doc_id), "{hits:#?}");
    filtered.filter = ChunkFilter {
        source_path: Some(own_doc.source_path.clone()),
        ..Default::default()
    };
    let hits = kb.query(&filtered, embedder).unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h.source_path == own_doc.source_path));
    // Every field set must match.
    filtered.filter.department = Some("no-such-department".into());
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

    // Only the search settings change: the manifest records them and the index is untouched,
    // so a knowledge base opened later (`adopt kb query`) searches the same way.
    let rrf = SearchSettings {
        fusion: Fusion::Rrf,
        rrf_k: 10,
        prefetch: 20,
    };
    kb.set_search(rrf);
    let retuned = kb.build(&set.documents, embedder, &NoopReporter).unwrap();
    assert!(!retuned.wrote, "{retuned:?}");
    let changed: Vec<PathBuf> = file_bytes(dir.path())
        .into_iter()
        .filter(|f| !before.contains(f))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(changed, vec![paths.manifest()]);
    let recorded = adopt_kb::Manifest::read(&paths.manifest())
        .unwrap()
        .unwrap();
    assert_eq!(recorded.search, Some(rrf));

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
    assert_index_matches_manifest(&kb);

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
    assert_index_matches_manifest(&kb);

    // The removed document comes back: its chunks once, under the ids they had.
    changed.push(gone.clone());
    let back = kb.build(&changed, embedder, &NoopReporter).unwrap();
    assert_eq!((back.docs_added, back.docs_changed), (1, 0));
    assert_eq!(back.chunks_total, upd.chunks_total + gone_chunks.len());
    assert_eq!(kb.index().chunk_ids(&gone.doc_id).unwrap(), gone_chunks);
    assert_index_matches_manifest(&kb);
    drop(kb);

    // Reopened, the knowledge base answers the same, and searches as the build recorded.
    let mut kb = open_kb(backend, &paths);
    assert_eq!(kb.settings().search(), KbSettings::default().search());
    kb.use_recorded_search();
    assert_eq!(kb.settings().search(), rrf);
    assert_eq!(
        kb.index().count(&ChunkFilter::default()).unwrap(),
        back.chunks_total
    );
    let hits = kb
        .query(&Query::new(q.question.clone(), 5, mode), embedder)
        .unwrap();
    assert!(hits[0].source_path.ends_with(q.doc.as_deref().unwrap()));
}

fn chunk(doc: &str, i: u32, dept: &str, text: &str) -> Chunk {
    Chunk {
        chunk_id: chunk_id(doc, 0, i as u64, text),
        doc_id: doc.into(),
        source_path: format!("{dept}/{doc}.txt"),
        department: Some(dept.into()),
        title: None,
        unit: format!("page {}", i + 1),
        unit_index: 0,
        chunk_index: i,
        char_start: i as u64,
        char_end: i as u64 + 1,
        headings: vec![format!("{doc} heading")],
        kind: ChunkKind::Text,
        text: text.into(),
        tokens: 1,
    }
}

fn sparse(terms: &[(u32, f32)]) -> SparseVec {
    SparseVec {
        indices: terms.iter().map(|t| t.0).collect(),
        values: terms.iter().map(|t| t.1).collect(),
    }
}

/// The index itself on hand-made vectors, where every score is known: upsert twice without
/// duplicates, filtered dense, sparse and hybrid (RRF) search, delete by document, reopen.
pub fn index_round_trip(backend: &dyn Backend) {
    let dir = tempfile::tempdir().unwrap();
    let chunks = [
        chunk("a", 0, "hr", "leave policy"),
        chunk("a", 1, "hr", "sick days"),
        chunk("b", 0, "it", "vpn setup"),
    ];
    let dense = [
        vec![1.0, 0.0, 0.0],
        vec![0.7, 0.7, 0.0],
        vec![0.0, 0.0, 1.0],
    ];
    let sparse_v = [
        sparse(&[(1, 1.0), (2, 1.0)]),
        sparse(&[(3, 1.0)]),
        sparse(&[(4, 1.0), (2, 0.5)]),
    ];
    let spec = IndexSpec { dense_dim: Some(3) };
    {
        let mut index = backend.open(dir.path());
        assert_eq!(index.spec(), None);
        assert_eq!(index.count(&ChunkFilter::default()).unwrap(), 0);
        index.ensure(&spec).unwrap();
        assert_eq!(index.spec(), Some(spec));
        let items: Vec<IndexedChunk> = chunks
            .iter()
            .zip(&dense)
            .zip(&sparse_v)
            .map(|((c, d), s)| IndexedChunk {
                chunk: c,
                dense: Some(d.clone()),
                sparse: s.clone(),
            })
            .collect();
        index.upsert(&items).unwrap();
        index.upsert(&items).unwrap();
        assert_eq!(index.count(&ChunkFilter::default()).unwrap(), 3);
        let hr = ChunkFilter {
            department: Some("hr".into()),
            ..Default::default()
        };
        assert_eq!(index.count(&hr).unwrap(), 2);
        let b_only = ChunkFilter {
            doc_id: Some("b".into()),
            source_path: Some("it/b.txt".into()),
            ..Default::default()
        };
        assert_eq!(index.count(&b_only).unwrap(), 1);
        // A department scope (one of several) is a condition of the index query itself.
        let scope = |ds: &[&str]| ChunkFilter {
            departments: Some(ds.iter().map(|d| d.to_string()).collect()),
            ..Default::default()
        };
        assert_eq!(index.count(&scope(&["hr", "it"])).unwrap(), 3);
        assert_eq!(index.count(&scope(&["it", "legal"])).unwrap(), 1);
        assert_eq!(index.count(&scope(&[])).unwrap(), 0);
        let it_in_hr_scope = ChunkFilter {
            department: Some("it".into()),
            ..scope(&["hr"])
        };
        assert_eq!(index.count(&it_in_hr_scope).unwrap(), 0);

        let q = [0.0, 0.1, 1.0];
        let none = ChunkFilter::default();
        let base = IndexQuery {
            mode: SearchMode::Dense,
            dense: Some(&q),
            sparse: None,
            filter: &none,
            limit: 3,
            prefetch: 10,
            rrf_k: 2,
        };
        let hits = index.query(&base).unwrap();
        assert_eq!(hits.len(), 3);
        assert_eq!(hits[0].chunk_id, chunks[2].chunk_id);
        assert_eq!(hits[0].text, "vpn setup");
        assert_eq!(hits[0].department.as_deref(), Some("it"));
        assert_eq!(hits[0].headings, ["b heading"]);
        assert_eq!(hits[0].unit, "page 1");
        // The filter keeps the far-away HR chunks only.
        let hits = index
            .query(&IndexQuery {
                filter: &hr,
                ..base.clone()
            })
            .unwrap();
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| h.doc_id == "a"));
        // So does a scope: the nearest chunk (IT) is not in it.
        let hr_scope = scope(&["hr", "legal"]);
        let hits = index
            .query(&IndexQuery {
                filter: &hr_scope,
                ..base.clone()
            })
            .unwrap();
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| h.department.as_deref() == Some("hr")));

        let sq = sparse(&[(2, 1.0)]);
        let sparse_q = IndexQuery {
            mode: SearchMode::Sparse,
            dense: None,
            sparse: Some(&sq),
            ..base.clone()
        };
        let hits = index.query(&sparse_q).unwrap();
        assert_eq!(hits.len(), 2, "only chunks holding term 2");
        assert_eq!(hits[0].chunk_id, chunks[0].chunk_id);

        // Hybrid, k = 2, ranks from 0: b is 0th by dense and 1st by sparse -> 1/2 + 1/3;
        // a0 is 0th by sparse and last by dense -> 1/2 + 1/4. The same with k = 60.
        for (k, best) in [
            (2.0f32, 1.0 / 2.0 + 1.0 / 3.0),
            (60.0, 1.0 / 60.0 + 1.0 / 61.0),
        ] {
            let hybrid = IndexQuery {
                mode: SearchMode::Hybrid,
                dense: Some(&q),
                sparse: Some(&sq),
                rrf_k: k as usize,
                ..base.clone()
            };
            let hits = index.query(&hybrid).unwrap();
            assert_eq!(hits[0].chunk_id, chunks[2].chunk_id, "k = {k}");
            assert!((hits[0].score - best).abs() < 1e-5, "k = {k}: {hits:?}");
            let in_hr = index
                .query(&IndexQuery {
                    filter: &hr,
                    ..hybrid
                })
                .unwrap();
            assert!(!in_hr.is_empty() && in_hr.iter().all(|h| h.doc_id == "a"));
        }

        assert_eq!(index.chunk_ids("a").unwrap().len(), 2);
        index.delete_doc("a").unwrap();
        assert_eq!(index.chunk_ids("a").unwrap(), Vec::<String>::new());
        assert_eq!(index.count(&none).unwrap(), 1);
        index.optimize().unwrap();
        index.flush().unwrap();
    }
    let mut index = backend.open(dir.path());
    assert_eq!(index.spec(), Some(spec));
    assert_eq!(index.count(&ChunkFilter::default()).unwrap(), 1);
    assert_eq!(
        index.chunk_ids("b").unwrap(),
        vec![chunks[2].chunk_id.clone()]
    );
    // A keyword-only reset empties it and refuses dense search.
    let keyword_only = IndexSpec { dense_dim: None };
    assert!(index.ensure(&keyword_only).is_err(), "spec mismatch");
    index.reset(&keyword_only).unwrap();
    assert_eq!(index.spec(), Some(keyword_only));
    assert_eq!(index.count(&ChunkFilter::default()).unwrap(), 0);
    let err = index
        .query(&IndexQuery {
            mode: SearchMode::Hybrid,
            dense: Some(&[1.0, 0.0, 0.0]),
            sparse: Some(&sparse(&[(1, 1.0)])),
            filter: &ChunkFilter::default(),
            limit: 1,
            prefetch: 1,
            rrf_k: 2,
        })
        .unwrap_err();
    assert!(
        matches!(err, adopt_kb::KbError::NoDenseVectors { .. }),
        "{err}"
    );
}

/// Filter values are matched whole, spaces and all: "Risk Management" is neither "Risk" nor
/// "Management Risk", nor every value sharing a word with it (as a full-text match would be).
pub fn filter_values_with_spaces_match_exactly(backend: &dyn Backend) {
    let dir = tempfile::tempdir().unwrap();
    let chunks = [
        chunk("a", 0, "Risk Management", "limits"),
        chunk("b", 0, "Risk", "appetite"),
        chunk("c", 0, "Management Risk", "board"),
        chunk("d", 0, "Asset Management", "funds"),
    ];
    let spec = IndexSpec { dense_dim: None };
    let mut index = backend.open(dir.path());
    index.ensure(&spec).unwrap();
    let items: Vec<IndexedChunk> = chunks
        .iter()
        .map(|c| IndexedChunk {
            chunk: c,
            dense: None,
            sparse: sparse(&[(1, 1.0)]),
        })
        .collect();
    index.upsert(&items).unwrap();
    let dept = |d: &str| ChunkFilter {
        department: Some(d.into()),
        ..Default::default()
    };
    assert_eq!(index.count(&dept("Risk Management")).unwrap(), 1);
    assert_eq!(index.count(&dept("Risk")).unwrap(), 1);
    assert_eq!(index.count(&dept("Management")).unwrap(), 0);
    let path = ChunkFilter {
        source_path: Some("Risk Management/a.txt".into()),
        ..Default::default()
    };
    assert_eq!(index.count(&path).unwrap(), 1);
    let scope = ChunkFilter {
        departments: Some(vec!["Risk Management".into(), "Asset Management".into()]),
        ..Default::default()
    };
    assert_eq!(index.count(&scope).unwrap(), 2);
    let q = sparse(&[(1, 1.0)]);
    let filter = dept("Risk Management");
    let hits = index
        .query(&IndexQuery {
            mode: SearchMode::Sparse,
            dense: None,
            sparse: Some(&q),
            filter: &filter,
            limit: 10,
            prefetch: 10,
            rrf_k: 2,
        })
        .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].doc_id, "a");
    assert_eq!(index.chunk_ids("a").unwrap().len(), 1);
}

/// Twelve documents with the same text tie on every BM25 score. Whatever order they were
/// indexed in and whichever of them the index puts at its cut, a search returns the tied chunks
/// with the smallest ids, so two builds of the same documents answer the same.
pub fn ties_at_the_cut_are_cut_by_chunk_id(backend: &dyn Backend) {
    let docs: Vec<Document> = (0..12)
        .map(|i| Document {
            doc_id: format!("doc{i:02}"),
            source_path: format!("finance/form-{i:02}.md"),
            department: Some("finance".into()),
            format: adopt_core::Format::Markdown,
            title: None,
            author: None,
            created: None,
            page_count: 1,
            text: "报销流程：填写报销单，部门经理签字后交财务部。".into(),
            unit_labels: vec![],
            encoding: None,
            byte_size: 0,
            modified_ms: 0,
            content_hash: String::new(),
            warnings: vec![],
            tables: vec![],
        })
        .collect();
    let mut answers = Vec::new();
    for order in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let paths = KbPaths::new(dir.path().join("kb"));
        let mut kb = open_kb(backend, &paths);
        let mut these = docs.clone();
        if order {
            these.reverse();
        }
        kb.build(&these, None, &NoopReporter).unwrap();
        let mut all: Vec<String> = kb
            .manifest()
            .unwrap()
            .docs
            .values()
            .flat_map(|e| e.chunk_ids.clone())
            .collect();
        all.sort();
        assert_eq!(all.len(), 12, "one chunk per document");
        let hits = kb
            .query(&Query::new("报销单", 3, SearchMode::Sparse), None)
            .unwrap();
        let got: Vec<String> = hits.iter().map(|h| h.chunk_id.clone()).collect();
        assert!(hits.iter().all(|h| h.score == hits[0].score), "{hits:?}");
        assert_eq!(got, all[..3].to_vec());
        answers.push(got);
    }
    assert_eq!(answers[0], answers[1]);
}

/// Hybrid search with the default fusion is at least as good as the better of its two inputs,
/// on questions that copy their passage's words and on the same questions paraphrased (the
/// test rewrites them into Taiwan Traditional script and wording with OpenCC's s2twp), where
/// BM25 falls behind dense search and equal-weight DBSF can fall behind too.
pub fn hybrid_keeps_up_with_its_better_input(backend: &dyn Backend, embedder: &dyn Embedder) {
    let set = cmrc();
    let dir = tempfile::tempdir().unwrap();
    let paths = KbPaths::new(dir.path().join("kb"));
    let mut kb = open_kb(backend, &paths);
    kb.build(&set.documents, Some(embedder), &NoopReporter)
        .unwrap();
    assert_eq!(kb.settings().fusion, Fusion::Confidence);

    let s2twp =
        ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::S2twp).unwrap();
    let paraphrased: Vec<adopt_kb::EvalQuery> = set
        .queries
        .iter()
        .map(|q| adopt_kb::EvalQuery {
            question: s2twp.convert(&q.question),
            ..q.clone()
        })
        .collect();
    assert_eq!(
        s2twp.convert("计算机软件的发展"),
        "計算機軟體的發展",
        "s2twp changes wording (软件 to 軟體, not 軟件), not only script"
    );

    for (kind, queries) in [
        ("passage wording", &set.queries),
        ("paraphrased", &paraphrased),
    ] {
        let run = |kb: &KnowledgeBase, mode| evaluate(kb, queries, mode, Some(embedder)).unwrap();
        let dense = run(&kb, SearchMode::Dense);
        let sparse = run(&kb, SearchMode::Sparse);
        let mut hybrid = Vec::new();
        for fusion in Fusion::ALL {
            kb.set_search(SearchSettings {
                fusion,
                ..KbSettings::default().search()
            });
            hybrid.push((fusion, run(&kb, SearchMode::Hybrid)));
        }
        kb.set_search(KbSettings::default().search());
        println!(
            "{kind}, {} questions: dense hit@1 {:.3} MRR {:.3}, BM25 {:.3} {:.3}",
            queries.len(),
            dense.hit_at_1,
            dense.mrr,
            sparse.hit_at_1,
            sparse.mrr
        );
        for (fusion, r) in &hybrid {
            println!(
                "  hybrid {fusion}: hit@1 {:.3} MRR {:.3}",
                r.hit_at_1, r.mrr
            );
        }
        let (_, confident) = &hybrid[0];
        for (name, better) in [
            ("hit@1", dense.hit_at_1.max(sparse.hit_at_1)),
            ("MRR", dense.mrr.max(sparse.mrr)),
        ] {
            let got = if name == "MRR" {
                confident.mrr
            } else {
                confident.hit_at_1
            };
            assert!(
                got >= better,
                "{kind}: hybrid {name} {got:.3} below the better input's {better:.3}"
            );
        }
        if kind == "paraphrased" {
            // The rewrite does weaken the keywords: otherwise this test would prove nothing.
            assert!(sparse.mrr < dense.mrr, "{sparse:?} {dense:?}");
        } else {
            assert!(sparse.mrr > dense.mrr, "{sparse:?} {dense:?}");
        }
    }
}
