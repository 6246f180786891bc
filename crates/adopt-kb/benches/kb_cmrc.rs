//! Retrieval quality and speed on the CMRC 2018 trial set (256 Chinese passages, ~1000
//! questions): dense, sparse and hybrid search (confidence-weighted DBSF, plain DBSF and RRF
//! fusion) through qdrant-edge beside a plain in-memory BM25 over the same chunks, measured in
//! the same run on two kinds of questions; build throughput and query latency.
//!
//! The question sets:
//! - **passage wording**: CMRC's own questions, written from the passage and sharing most of
//!   its words (keywords strong: BM25 beats dense search).
//! - **paraphrased**: the same questions rewritten by OpenCC's `s2twp` (Taiwan Traditional
//!   script and regional wording: 計算機軟體 for 计算机软件) against the Simplified passages,
//!   as a Taiwanese user would ask. Meaning kept, surface words changed: the keywords weaken,
//!   dense search barely notices. A rule anyone can rerun, not a hand-picked list.
//! - **paraphrased, weakest keywords**: the quarter of those whose BM25 terms (CJK bigrams)
//!   overlap their own passage's least (share of the question's distinct terms found in the
//!   passage, lowest first, ties by position).
//!
//! `cargo bench --workspace --bench kb_cmrc`: keyword modes always, dense and hybrid too when
//! adopt-embed's model is installed (`adopt models fetch`). `ADOPT_BENCH_PASSAGES=N` limits the
//! passages.
//!
//! With the model, build throughput is set beside two Python pipelines on the same chunks and the
//! same ONNX file (`benches/embed_baseline.py`): fastembed's own `TextEmbedding.embed` at its
//! defaults, as a Python user would write it (needs `pip install fastembed`), and onnxruntime +
//! tokenizers batched exactly as adopt-embed batches, the strongest Python we could write. Each
//! checks that its vectors match adopt's (cosine) so the figures measure the same work.
//! `ADOPT_BENCH_PYTHON` picks the interpreter (`python3`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::time::Instant;

use adopt_core::{Embedder, NoopReporter};
use adopt_kb::eval::answers;
use adopt_kb::{
    approx_token_count, evaluate, load_cmrc, Chunker, CjkTerms, CmrcSet, EvalQuery, EvalReport,
    EvalTally, Fusion, Hit, KbPaths, KbSettings, KnowledgeBase, MemoryBm25, SearchMode,
    SearchSettings, SparseSettings, TermTokenizer,
};

/// One kind of question, asked of the same knowledge base.
struct QuestionSet {
    name: String,
    queries: Vec<EvalQuery>,
}

/// One line of the results table.
struct Row {
    set: usize,
    retriever: String,
    report: EvalReport,
}

fn main() {
    let path = std::env::current_dir()
        .expect("cargo runs tests and benches in the package folder")
        .join("../../../shared/corpus/zh/cmrc2018_trial.json");
    let limit = std::env::var("ADOPT_BENCH_PASSAGES")
        .ok()
        .and_then(|s| s.parse().ok());
    let set = load_cmrc(&path, limit).expect("CMRC trial set");
    println!(
        "CMRC 2018 trial: {} passages, {} questions (hit = chunk of the question's own passage containing an answer)",
        set.documents.len(),
        set.queries.len()
    );
    let sets = question_sets(&set);
    for s in &sets {
        println!("  {}: {} questions", s.name, s.queries.len());
    }

    let model = adopt_embed::FastEmbedder::load(&adopt_embed::default_model_dir(), None)
        .map_err(|e| eprintln!("dense: skipped ({e})"))
        .ok();
    let embedder: Option<&dyn Embedder> = model.as_ref().map(|m| m as &dyn Embedder);

    let mut rows: Vec<Row> = Vec::new();
    let mut throughput: Option<String> = None;
    for cjk in [CjkTerms::Jieba, CjkTerms::Bigram] {
        let settings = KbSettings {
            sparse: SparseSettings {
                cjk,
                ..SparseSettings::default()
            },
            ..KbSettings::default()
        };
        let full = embedder.is_some() && cjk == SparseSettings::default().cjk;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut kb = KnowledgeBase::open(KbPaths::new(dir.path().join("kb")), settings.clone())
            .expect("open");
        let t = Instant::now();
        let stats = kb
            .build(&set.documents, embedder, &NoopReporter)
            .expect("build");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "build [{cjk:?}]: {} chunks in {secs:.2} s = {:.0} chunks/s (embed {:.2} s, upsert {:.2} s, optimize {:.2} s)",
            stats.chunks_total,
            stats.chunks_total as f64 / secs,
            stats.embed_seconds,
            stats.upsert_seconds,
            stats.optimize_seconds
        );

        let label = format!("{cjk:?}").to_lowercase();
        let modes: &[SearchMode] = if full {
            &[SearchMode::Dense, SearchMode::Sparse, SearchMode::Hybrid]
        } else {
            &[SearchMode::Sparse]
        };
        for &mode in modes {
            let fusions: &[Fusion] = if mode == SearchMode::Hybrid {
                &Fusion::ALL
            } else {
                &[Fusion::Dbsf]
            };
            for &fusion in fusions {
                kb.set_search(SearchSettings {
                    fusion,
                    ..settings.search()
                });
                let name = match mode {
                    SearchMode::Dense => "qdrant-edge dense".to_string(),
                    SearchMode::Hybrid => format!("qdrant-edge hybrid {fusion} ({label})"),
                    SearchMode::Sparse => format!("qdrant-edge sparse ({label})"),
                };
                for (i, qs) in sets.iter().enumerate() {
                    let report = evaluate(&kb, &qs.queries, mode, embedder).expect("evaluate");
                    rows.push(Row {
                        set: i,
                        retriever: name.clone(),
                        report,
                    });
                }
            }
        }
        kb.set_search(settings.search());

        // Baseline: plain in-memory BM25 over the very same chunks.
        let count = |t: &str| {
            embedder
                .map(|e| e.count_tokens(t))
                .unwrap_or_else(|| approx_token_count(t))
        };
        let chunker = Chunker::new(settings.chunking.clone(), &count);
        let chunks: Vec<_> = set
            .documents
            .iter()
            .flat_map(|d| chunker.chunk_document(d))
            .collect();
        let texts: Vec<String> = chunks.iter().map(|c| c.indexed_text()).collect();
        if let (Some(e), true) = (embedder, full) {
            assert_eq!(
                chunks.len(),
                stats.chunks_total,
                "baseline chunks = built chunks"
            );
            throughput = Some(compare_with_python(e, &chunks, &texts, secs, &stats));
        }
        let tok = TermTokenizer::new(cjk);
        let bm = MemoryBm25::build(&tok, &settings.sparse, texts.iter().map(String::as_str));
        for (i, qs) in sets.iter().enumerate() {
            let mut tally = EvalTally::default();
            let mut fused_tally = EvalTally::default();
            for q in &qs.queries {
                let t = Instant::now();
                let ranked = bm.search(&tok, &q.question, 10);
                tally.add_latency(t.elapsed().as_secs_f64() * 1e3);
                let hits: Vec<Hit> = ranked
                    .iter()
                    .map(|&(i, s)| Hit::of_chunk(&chunks[i], s))
                    .collect();
                tally.add_answers(&hits.iter().map(|h| answers(h, q)).collect::<Vec<_>>());
                if let (Some(e), true) = (embedder, full) {
                    // In-memory BM25 fused with qdrant's dense list: a cross-check of hybrid.
                    let t = Instant::now();
                    let dense = kb
                        .query(
                            &adopt_kb::Query::new(
                                q.question.clone(),
                                settings.prefetch,
                                SearchMode::Dense,
                            ),
                            Some(e),
                        )
                        .expect("dense query");
                    let sparse: Vec<Hit> = bm
                        .search(&tok, &q.question, settings.prefetch)
                        .iter()
                        .map(|&(i, s)| Hit::of_chunk(&chunks[i], s))
                        .collect();
                    let fused = settings.fusion.fuse(&[dense, sparse], settings.rrf_k);
                    fused_tally.add_latency(t.elapsed().as_secs_f64() * 1e3);
                    let answered: Vec<bool> =
                        fused.iter().take(10).map(|h| answers(h, q)).collect();
                    fused_tally.add_answers(&answered);
                }
            }
            rows.push(Row {
                set: i,
                retriever: format!("baseline in-memory BM25 ({label})"),
                report: tally.report(SearchMode::Sparse),
            });
            if full {
                rows.push(Row {
                    set: i,
                    retriever: format!("baseline dense + in-memory BM25, {}", settings.fusion),
                    report: fused_tally.report(SearchMode::Hybrid),
                });
            }
        }
    }

    if let Some(t) = throughput {
        println!();
        print!("{t}");
    }
    let default_cjk = format!("{:?}", SparseSettings::default().cjk).to_lowercase();
    for (i, qs) in sets.iter().enumerate() {
        println!();
        println!("{} ({} questions)", qs.name, qs.queries.len());
        println!(
            "{:<46} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9}",
            "retriever", "hit@1", "hit@5", "hit@10", "MRR", "p50 ms", "p99 ms"
        );
        let of_set: Vec<&Row> = rows.iter().filter(|r| r.set == i).collect();
        for r in &of_set {
            let m = &r.report;
            println!(
                "{:<46} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>9.2} {:>9.2}",
                r.retriever,
                m.hit_at_1,
                m.hit_at_5,
                m.hit_at_10,
                m.mrr,
                m.latency_p50_ms,
                m.latency_p99_ms
            );
        }
        // Fusion should never be worse than the better of its two inputs.
        let find = |name: &str| {
            of_set
                .iter()
                .find(|r| r.retriever == name)
                .map(|r| &r.report)
        };
        let (Some(dense), Some(sparse)) = (
            find("qdrant-edge dense"),
            find(&format!("qdrant-edge sparse ({default_cjk})")),
        ) else {
            continue;
        };
        for fusion in Fusion::ALL {
            let Some(h) = find(&format!("qdrant-edge hybrid {fusion} ({default_cjk})")) else {
                continue;
            };
            let d = |f: fn(&EvalReport) -> f64| f(h) - f(dense).max(f(sparse));
            println!(
                "  hybrid {fusion:<10} minus the better of dense and BM25: hit@1 {:+.3}, hit@5 {:+.3}, MRR {:+.3}",
                d(|r| r.hit_at_1),
                d(|r| r.hit_at_5),
                d(|r| r.mrr)
            );
        }
    }
}

/// The three question sets (see the top of this file).
fn question_sets(set: &CmrcSet) -> Vec<QuestionSet> {
    let s2twp = ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::S2twp)
        .expect("OpenCC s2twp dictionaries are built into ferrous-opencc");
    let paraphrased: Vec<EvalQuery> = set
        .queries
        .iter()
        .map(|q| EvalQuery {
            question: s2twp.convert(&q.question),
            ..q.clone()
        })
        .collect();
    let changed = paraphrased
        .iter()
        .zip(&set.queries)
        .filter(|(p, q)| p.question != q.question)
        .count();

    let tok = TermTokenizer::new(CjkTerms::Bigram);
    let passage_terms: HashMap<&str, BTreeSet<String>> = set
        .documents
        .iter()
        .map(|d| {
            let file = d.source_path.rsplit('/').next().unwrap_or(&d.source_path);
            (file, tok.terms(&d.text).into_iter().collect())
        })
        .collect();
    let overlap = |q: &EvalQuery| -> f64 {
        let terms: BTreeSet<String> = tok.terms(&q.question).into_iter().collect();
        let Some(passage) = q.doc.as_deref().and_then(|d| passage_terms.get(d)) else {
            return 1.0;
        };
        if terms.is_empty() {
            return 1.0;
        }
        terms.iter().filter(|t| passage.contains(*t)).count() as f64 / terms.len() as f64
    };
    let mut by_overlap: Vec<(f64, usize)> = paraphrased
        .iter()
        .enumerate()
        .map(|(i, q)| (overlap(q), i))
        .collect();
    by_overlap.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let quarter = paraphrased.len().div_ceil(4);
    let cut = by_overlap
        .get(quarter.saturating_sub(1))
        .map_or(0.0, |x| x.0);
    let mut weakest: Vec<usize> = by_overlap[..quarter].iter().map(|x| x.1).collect();
    weakest.sort_unstable();
    let mean = |qs: &[EvalQuery]| qs.iter().map(overlap).sum::<f64>() / qs.len().max(1) as f64;
    let weakest: Vec<EvalQuery> = weakest
        .into_iter()
        .map(|i| paraphrased[i].clone())
        .collect();
    vec![
        QuestionSet {
            name: format!(
                "passage wording: CMRC's questions (term overlap with the passage {:.2})",
                mean(&set.queries)
            ),
            queries: set.queries.clone(),
        },
        QuestionSet {
            name: format!(
                "paraphrased: OpenCC s2twp rewrite, {changed} questions changed (overlap {:.2})",
                mean(&paraphrased)
            ),
            queries: paraphrased,
        },
        QuestionSet {
            name: format!(
                "paraphrased, weakest keywords: lowest quarter by overlap (<= {cut:.2}, mean {:.2})",
                mean(&weakest)
            ),
            queries: weakest,
        },
    ]
}

/// Build throughput beside the Python baseline on the same chunk texts, as printable lines.
fn compare_with_python(
    embedder: &dyn Embedder,
    chunks: &[adopt_kb::Chunk],
    texts: &[String],
    build_secs: f64,
    stats: &adopt_kb::BuildStats,
) -> String {
    let n = chunks.len() as f64;
    let mut out = format!(
        "build throughput, {} chunks, same model and chunk texts:\n\
         {:<58} {:>8.1} chunks/s\n{:<58} {:>8.1} chunks/s\n",
        chunks.len(),
        "adopt, whole build (chunk, embed, BM25, upsert, optimize)",
        n / build_secs,
        "adopt, embedding alone (adopt-embed: fastembed + ort)",
        n / stats.embed_seconds,
    );
    for (pipeline, label) in [
        (
            "fastembed",
            "baseline Python fastembed, its default batching",
        ),
        (
            "adopt-batching",
            "baseline Python onnxruntime, adopt's batching",
        ),
    ] {
        match run_python_baseline(embedder, chunks, texts, pipeline) {
            Ok((rate, detail)) => {
                out.push_str(&format!("{label:<58} {rate:>8.1} chunks/s  ({detail})\n"))
            }
            Err(reason) => out.push_str(&format!("{label}: skipped: {reason}\n")),
        }
    }
    out
}

/// Runs `benches/embed_baseline.py --pipeline PIPELINE` on the chunk texts; its chunks/s and a
/// few words on it.
fn run_python_baseline(
    embedder: &dyn Embedder,
    chunks: &[adopt_kb::Chunk],
    texts: &[String],
    pipeline: &str,
) -> Result<(f64, String), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let chunks_file = dir.path().join("chunks.jsonl");
    let lines: String = chunks
        .iter()
        .zip(texts)
        .map(|(c, t)| serde_json::json!({ "doc_id": c.doc_id, "text": t }).to_string() + "\n")
        .collect();
    std::fs::write(&chunks_file, lines)
        .map_err(|e| format!("writing {}: {e}", chunks_file.display()))?;
    // A few of adopt's own vectors, so the script can show it computes the same embeddings.
    let sample: Vec<usize> = (0..texts.len()).step_by((texts.len() / 8).max(1)).collect();
    let refs: Vec<&str> = sample.iter().map(|&i| texts[i].as_str()).collect();
    let vectors = embedder
        .embed_passages(&refs)
        .map_err(|e| format!("embedding the cross-check sample: {e}"))?;
    let check_file = dir.path().join("rust_vectors.jsonl");
    let lines: String = sample
        .iter()
        .zip(&vectors)
        .map(|(i, v)| serde_json::json!([i, v]).to_string() + "\n")
        .collect();
    std::fs::write(&check_file, lines)
        .map_err(|e| format!("writing {}: {e}", check_file.display()))?;

    let python = std::env::var("ADOPT_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = std::env::current_dir()
        .expect("cargo runs tests and benches in the package folder")
        .join("benches/embed_baseline.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(adopt_embed_model_dir()?)
        .arg(&chunks_file)
        .args(["--pipeline", pipeline])
        .arg("--check")
        .arg(&check_file)
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(last
            .strip_prefix("baseline skipped: ")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{python} {} failed: {last}", script.display())));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("no result line from the script: {stdout:?}"))?;
    let rate = result["chunks_per_s"]
        .as_f64()
        .ok_or_else(|| format!("no chunks_per_s in {result}"))?;
    let cosine = result["min_cosine_vs_rust"].as_f64().unwrap_or(f64::NAN);
    if cosine < 0.99 {
        return Err(format!(
            "its vectors differ from adopt's (min cosine {cosine:.4}), so the figures would not compare"
        ));
    }
    Ok((
        rate,
        format!(
            "{}onnxruntime {}, {} threads, {} batches, min cosine vs adopt {cosine:.4}",
            result["fastembed"]
                .as_str()
                .map(|v| format!("fastembed {v}, "))
                .unwrap_or_default(),
            result["onnxruntime"].as_str().unwrap_or("?"),
            result["threads"],
            result["batches"]
        ),
    ))
}

/// Where the model the benchmark loaded lives.
fn adopt_embed_model_dir() -> Result<std::path::PathBuf, String> {
    Ok(adopt_embed::default_model_dir())
}
