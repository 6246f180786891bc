//! Scale: builds an embedded knowledge base of N generated chunks (default 1,000,000) through
//! the same `KnowledgeBase::build` a real `adopt kb build` runs (chunking, BM25 over the text,
//! batched upserts into qdrant-edge, optimize), then prints build rate, peak RSS at
//! checkpoints, on-disk size, query latency p50/p99 for dense, sparse (BM25) and hybrid search,
//! and dense recall@10 against an exact brute-force search over the very same vectors, computed
//! and timed in the same run (the baseline beside qdrant-edge's HNSW).
//!
//! `cargo bench --workspace --bench kb_scale -- --chunks 100000 [--queries 1000]`
//! (`ADOPT_BENCH_CHUNKS` / `ADOPT_BENCH_QUERIES` work too).
//!
//! The data, all from one seed so every run is the same:
//! - **text**: 60% of the documents Chinese, recombined sentences of the CMRC 2018 trial
//!   passages (`/work/shared/corpus/zh`), 40% English, Zipf-distributed words from a fixed list
//!   of common words plus generated names. Each document is one chunk: a topic line shared by
//!   its cluster, a body, and a reference code, so BM25 sees real vocabulary and posting lists.
//! - **vectors** (384-d, from a synthetic `Embedder`, since a real model would embed ~100
//!   chunks/s here): clustered Gaussians of low intrinsic dimension. The topic line picks the
//!   cluster (about 1,000 chunks each): its centroid plus 32 latent directions of its own with
//!   decaying spread, plus a little isotropic noise, normalised. Text embeddings look like this
//!   (clusters of topics, few effective dimensions); uniform random vectors would make HNSW
//!   recall meaningless. A query is a topic line and a fragment of one document's body, embedded
//!   by the same function, so dense and keyword search agree on the topic.
//!
//! The embedder writes every vector it hands to the build into a file next to the index; the
//! exact search reads that file back in blocks, so the vectors are not held twice in memory.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use adopt_core::{ContentHash, Document, EmbedError, Embedder, Format, Reporter};
use adopt_kb::{
    approx_token_count, load_cmrc, Hit, KbPaths, KbSettings, KnowledgeBase, Query, SearchMode,
};

const DIM: usize = 384;
/// Latent directions per cluster and their spread (the k-th has `LATENT_SCALE / sqrt(k + 1)`).
const LATENT: usize = 32;
const LATENT_SCALE: f32 = 0.5;
/// Isotropic noise per coordinate.
const NOISE: f32 = 0.01;
/// Chunks per cluster, about.
const CLUSTER_SIZE: usize = 1000;
const TOP_K: usize = 10;
const SEED: u64 = 0x5ca1_e0f0_adb7;

fn main() {
    let mut chunks: usize = env_usize("ADOPT_BENCH_CHUNKS").unwrap_or(1_000_000);
    let mut n_queries: usize = env_usize("ADOPT_BENCH_QUERIES").unwrap_or(1000);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = |i: usize| -> usize {
            args.get(i + 1)
                .and_then(|s| s.replace(['_', ','], "").parse().ok())
                .unwrap_or_else(|| panic!("{} wants a number", args[i]))
        };
        match args[i].as_str() {
            "--chunks" => {
                chunks = value(i);
                i += 1;
            }
            "--queries" => {
                n_queries = value(i);
                i += 1;
            }
            // cargo bench passes `--bench`; anything else is a mistake worth naming.
            "--bench" => {}
            other => panic!("unknown argument {other:?} (use --chunks N, --queries N)"),
        }
        i += 1;
    }
    assert!(
        chunks > 0 && n_queries > 0,
        "--chunks and --queries must be at least 1"
    );

    let cmrc_path = std::env::current_dir()
        .expect("cargo runs benches in the package folder")
        .join("../../../shared/corpus/zh/cmrc2018_trial.json");
    let cmrc = load_cmrc(&cmrc_path, None).expect("CMRC trial set (Chinese sentences)");
    let gen = TextGen::new(&cmrc.documents, chunks);
    checkpoint("start");

    let t = Instant::now();
    let docs: Vec<Document> = (0..chunks).map(|i| gen.document(i)).collect();
    let text_bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    println!(
        "generated {chunks} documents ({} clusters, {:.1} MB of text, mean {} bytes) in {:.1} s",
        gen.topics.len(),
        text_bytes as f64 / 1e6,
        text_bytes / chunks,
        t.elapsed().as_secs_f64()
    );
    let queries: Vec<String> = {
        let mut rng = Rng::new(SEED ^ 0x9e37);
        (0..n_queries)
            .map(|_| gen.query(&docs[rng.below(chunks)], &mut rng))
            .collect()
    };
    checkpoint("documents generated");

    let dir = tempfile::tempdir().expect("temp dir");
    let vectors_path = dir.path().join("vectors.f32");
    let embedder = SynthEmbedder::new(&vectors_path);
    let paths = KbPaths::new(dir.path().join("kb"));
    let settings = KbSettings::default();
    let mut kb = KnowledgeBase::open(paths.clone(), settings.clone()).expect("open kb");
    let t = Instant::now();
    let stats = kb
        .build(&docs, Some(&embedder), &CheckpointReporter::default())
        .expect("build");
    let build_secs = t.elapsed().as_secs_f64();
    drop(docs);
    let rows = embedder.finish();
    assert_eq!(
        stats.chunks_total, chunks,
        "each generated document is one chunk"
    );
    assert_eq!(rows.len(), chunks, "one vector written per chunk");
    println!(
        "build: {chunks} chunks in {build_secs:.1} s = {:.0} chunks/s (embed {:.1} s, upsert incl. BM25 {:.1} s, optimize {:.1} s)",
        chunks as f64 / build_secs,
        stats.embed_seconds,
        stats.upsert_seconds,
        stats.optimize_seconds
    );
    checkpoint("built");
    let (apparent, allocated) = disk_size(paths.root());
    println!(
        "disk: {:.1} MB allocated ({:.1} MB apparent) in {}; {:.0} bytes per chunk",
        allocated as f64 / 1e6,
        apparent as f64 / 1e6,
        paths.root().display(),
        allocated as f64 / chunks as f64
    );
    // Reopened as `adopt kb query` would find it.
    drop(kb);
    let t = Instant::now();
    let kb = KnowledgeBase::open(paths.clone(), settings).expect("reopen kb");
    println!("reopen: {:.2} s", t.elapsed().as_secs_f64());
    checkpoint("reopened");

    let row_of: HashMap<u64, u32> = rows
        .iter()
        .enumerate()
        .map(|(i, &h)| (h, i as u32))
        .collect();
    assert_eq!(row_of.len(), rows.len(), "every chunk text is distinct");
    let mut latencies: Vec<(SearchMode, Vec<f64>)> = Vec::new();
    let mut dense_hits: Vec<Vec<u32>> = Vec::new();
    for mode in [SearchMode::Dense, SearchMode::Sparse, SearchMode::Hybrid] {
        let mut ms = Vec::with_capacity(queries.len());
        for q in &queries {
            let t = Instant::now();
            let hits = kb
                .query(&Query::new(q.clone(), TOP_K, mode), Some(&embedder))
                .expect("query");
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            if mode == SearchMode::Dense {
                dense_hits.push(hits.iter().map(|h| row_of_hit(&row_of, h)).collect());
            }
        }
        latencies.push((mode, ms));
    }
    checkpoint("queried");

    // The baseline: exact top 10 by brute force over the stored vectors.
    let qvecs: Vec<Vec<f32>> = queries
        .iter()
        .map(|q| embedder.embed_query(q).expect("synthetic embedding"))
        .collect();
    let t = Instant::now();
    let exact = exact_top_k(&vectors_path, chunks, &qvecs);
    let exact_secs = t.elapsed().as_secs_f64();
    let single: Vec<f64> = qvecs
        .iter()
        .take(20)
        .map(|q| {
            let t = Instant::now();
            let top = exact_top_k(&vectors_path, chunks, std::slice::from_ref(q));
            std::hint::black_box(top);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    checkpoint("exact search");
    let recall: f64 = dense_hits
        .iter()
        .zip(&exact)
        .map(|(got, want)| {
            let found = got
                .iter()
                .take(TOP_K)
                .filter(|r| want.iter().any(|(_, w)| w == *r))
                .count();
            found as f64 / want.len().clamp(1, TOP_K) as f64
        })
        .sum::<f64>()
        / exact.len() as f64;

    println!();
    println!(
        "{chunks} chunks, {} queries, top {TOP_K}; qdrant-edge defaults (HNSW m 16, ef_construct 100, vectors in RAM, no quantization)",
        queries.len()
    );
    println!(
        "{:<44} {:>10} {:>10} {:>11}",
        "search", "p50 ms", "p99 ms", "recall@10"
    );
    for (mode, ms) in &latencies {
        let recall = if *mode == SearchMode::Dense {
            format!("{recall:.4}")
        } else {
            "-".into()
        };
        println!(
            "{:<44} {:>10.2} {:>10.2} {:>11}",
            format!("qdrant-edge {mode} (KnowledgeBase::query)"),
            percentile(ms, 50.0),
            percentile(ms, 99.0),
            recall
        );
    }
    println!(
        "{:<44} {:>10.2} {:>10.2} {:>11}",
        format!("baseline exact dense, one query ({})", single.len()),
        percentile(&single, 50.0),
        percentile(&single, 99.0),
        "1.0000"
    );
    println!(
        "{:<44} {:>10.2} {:>10} {:>11}",
        format!("baseline exact dense, {} batched (per q)", qvecs.len()),
        exact_secs * 1e3 / qvecs.len() as f64,
        "-",
        "1.0000"
    );
    println!(
        "build {:.0} chunks/s; peak RSS {:.0} MB; disk {:.0} MB",
        chunks as f64 / build_secs,
        peak_rss_kb() as f64 / 1024.0,
        allocated as f64 / 1e6
    );
    let dense = &latencies[0].1;
    let hybrid = &latencies[2].1;
    println!(
        "goals: dense p50 < 10 ms with recall@10 >= 0.95: {}; hybrid p50 < 20 ms: {}",
        met(percentile(dense, 50.0) < 10.0 && recall >= 0.95),
        met(percentile(hybrid, 50.0) < 20.0)
    );
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().map(|s| {
        s.parse()
            .unwrap_or_else(|_| panic!("{name}={s:?} is not a number"))
    })
}

fn row_of_hit(row_of: &HashMap<u64, u32>, h: &Hit) -> u32 {
    *row_of
        .get(&text_hash(&h.text))
        .unwrap_or_else(|| panic!("hit {} has a text no vector was made for", h.chunk_id))
}

fn text_hash(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// Nearest-rank percentile of `values` (unsorted).
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

// ---------------------------------------------------------------------------------------------
// Memory and disk.

/// `(VmHWM, VmRSS)` of this process in KiB, from /proc/self/status (0 where unreadable).
fn rss_kb() -> (u64, u64) {
    let (hwm, rss, _, _) = status_kb();
    (hwm, rss)
}

/// `(VmHWM, VmRSS, RssAnon, RssFile)` in KiB: file pages are qdrant-edge's mmapped files,
/// which the kernel can drop under pressure; anonymous pages are heap.
fn status_kb() -> (u64, u64, u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (
        field("VmHWM:"),
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:"),
    )
}

fn peak_rss_kb() -> u64 {
    rss_kb().0
}

fn checkpoint(what: &str) {
    let (hwm, rss, anon, file) = status_kb();
    println!(
        "  [rss] {what}: peak {:.0} MB, now {:.0} MB (heap {:.0} MB, mapped files {:.0} MB)",
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0,
        anon as f64 / 1024.0,
        file as f64 / 1024.0
    );
}

/// Prints peak RSS as the build moves from stage to stage.
#[derive(Default)]
struct CheckpointReporter {
    stage: Mutex<Option<(String, Instant)>>,
}

impl Reporter for CheckpointReporter {
    fn start(&self, what: &str, _total: u64) {
        checkpoint(&format!("build: {what} begins"));
        if let Ok(mut s) = self.stage.lock() {
            *s = Some((what.to_string(), Instant::now()));
        }
    }

    fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }

    fn finish(&self) {
        let stage = self.stage.lock().ok().and_then(|mut s| s.take());
        if let Some((what, t)) = stage {
            checkpoint(&format!(
                "build: {what} done in {:.1} s",
                t.elapsed().as_secs_f64()
            ));
        }
    }
}

/// `(apparent bytes, allocated bytes)` of every file below `dir`.
fn disk_size(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut total = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total.0 += m.len();
                total.1 += m.blocks() * 512;
            }
        }
    }
    total
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness.

/// SplitMix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// In [lo, hi].
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }

    /// Standard normal (Box-Muller).
    fn gauss(&mut self) -> f32 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

/// Draws ranks 0..n with weight 1 / (rank + 1) (Zipf, s = 1).
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut acc = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                acc += 1.0 / (r as f64 + 1.0);
                acc
            })
            .collect();
        Zipf { cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative.last().expect("non-empty");
        let x = rng.unit() as f64 * total;
        self.cumulative
            .partition_point(|&c| c < x)
            .min(self.cumulative.len() - 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Text.

const ENGLISH: &str = "the of and to in a is that for it as was with be by on not he this are or \
his from at which but have an they you were her she there can all their has been one if more \
when will would who so no report customer order payment invoice contract policy employee \
manager department budget quarter revenue cost price product service support account system \
data network server security access password request approval review audit compliance risk \
training schedule meeting project deadline release version update install configure error \
warning failure incident ticket priority escalation response team office branch region market \
sales supplier shipment warehouse inventory stock delivery return refund discount tax annual \
monthly weekly daily leave holiday salary bonus benefit insurance health safety procedure \
manual guide handbook form template document file folder record archive backup storage cloud \
license software hardware device laptop phone printer email message notice announcement \
policyholder claim premium coverage loan credit interest rate balance transfer deposit \
withdrawal branch teller approval limit signature stamp seal minutes agenda board director \
chairman shareholder dividend capital asset liability equity statement ledger journal entry \
reconciliation variance forecast plan target goal metric performance evaluation promotion \
recruitment interview candidate onboarding offboarding termination resignation notice period \
overtime shift roster attendance absence sick maternity travel expense reimbursement receipt \
mileage hotel flight booking vendor quotation tender bid purchase requisition procurement \
quality inspection defect complaint feedback survey satisfaction loyalty campaign brand \
website portal login registration verification identity address contact phone number code \
must should may shall within after before during between under over each every any other new \
first last next previous current total average maximum minimum required optional approved \
pending rejected completed open closed active inactive internal external local global";

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mer", "vin", "tra", "sel", "dor", "qui", "ban", "zen", "fal", "ri", "mon", "tek",
    "sa", "vor", "li", "nex", "pa", "gor", "ul", "be", "cy", "dra",
];

struct TextGen {
    /// Chinese sentences from the CMRC passages.
    zh: Vec<String>,
    /// Common English words first, then generated names (rarer under Zipf).
    en: Vec<String>,
    en_zipf: Zipf,
    /// One topic line per cluster; clusters with index % 5 < 3 are Chinese.
    topics: Vec<String>,
}

impl TextGen {
    fn new(passages: &[Document], chunks: usize) -> Self {
        let mut zh = Vec::new();
        for p in passages {
            let mut cur = String::new();
            for c in p.text.chars() {
                if c == '\n' || c == '\r' {
                    continue;
                }
                cur.push(c);
                if matches!(c, '。' | '！' | '？' | '；') {
                    if (8..=60).contains(&cur.chars().count()) {
                        zh.push(std::mem::take(&mut cur));
                    } else {
                        cur.clear();
                    }
                }
            }
        }
        assert!(zh.len() > 500, "too few Chinese sentences in CMRC");
        let mut en: Vec<String> = ENGLISH.split_whitespace().map(str::to_string).collect();
        let mut rng = Rng::new(SEED ^ 0xe0);
        for _ in 0..20_000 {
            let n = rng.range(2, 4);
            let name: String = (0..n)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect();
            en.push(name);
        }
        let en_zipf = Zipf::new(en.len());
        let clusters = (chunks / CLUSTER_SIZE).max(16);
        let mut topics = Vec::with_capacity(clusters);
        for c in 0..clusters {
            let line = if c % 5 < 3 {
                // Two short Han spans from random sentences.
                let mut terms = Vec::new();
                while terms.len() < 2 {
                    let s: Vec<char> = zh[rng.below(zh.len())].chars().collect();
                    let len = rng.range(2, 4);
                    let start = rng.below(s.len().saturating_sub(len).max(1));
                    let span: String = s[start..(start + len).min(s.len())].iter().collect();
                    if span.chars().count() == len && span.chars().all(adopt_kb::sparse::is_cjk) {
                        terms.push(span);
                    }
                }
                format!("{}与{}", terms[0], terms[1])
            } else {
                // Two generated names and a common word.
                let common = ENGLISH.split_whitespace().count();
                let name = |rng: &mut Rng| en[common + rng.below(en.len() - common)].clone();
                let a = name(&mut rng);
                let b = name(&mut rng);
                let w = &en[rng.range(40, common - 1)];
                format!("{} {w} {b}", capitalise(&a))
            };
            topics.push(line);
        }
        TextGen {
            zh,
            en,
            en_zipf,
            topics,
        }
    }

    fn document(&self, i: usize) -> Document {
        let mut rng = Rng::new(SEED ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
        let cluster = rng.below(self.topics.len());
        let topic = &self.topics[cluster];
        let body = if cluster % 5 < 3 {
            let mut body = String::new();
            let want = rng.range(60, 150);
            while body.chars().count() < want {
                body.push_str(&self.zh[rng.below(self.zh.len())]);
            }
            format!("{body}文件编号 KB-{i:07}。")
        } else {
            let mut body = String::new();
            for _ in 0..rng.range(3, 6) {
                let words: Vec<&str> = (0..rng.range(7, 14))
                    .map(|_| self.en[self.en_zipf.draw(&mut rng)].as_str())
                    .collect();
                body.push_str(&capitalise(&words.join(" ")));
                body.push_str(". ");
            }
            format!("{body}Ref KB-{i:07}.")
        };
        let text = format!("{topic}\n{body}");
        let hash = ContentHash::of(format!("{i}\n{text}").as_bytes());
        Document {
            doc_id: hash.doc_id(),
            source_path: format!("scale/{:03}/doc{i:07}.txt", cluster % 1000),
            department: Some(format!("dept{}", cluster % 8)),
            format: Format::Text,
            title: None,
            author: None,
            created: None,
            page_count: 1,
            byte_size: text.len() as u64,
            text,
            unit_labels: vec![String::new()],
            encoding: Some("UTF-8".into()),
            modified_ms: 0,
            content_hash: hash.hex(),
            warnings: vec![],
            tables: vec![],
        }
    }

    /// The document's topic line and a fragment of its body: a few words, or a Han span.
    fn query(&self, doc: &Document, rng: &mut Rng) -> String {
        let (topic, body) = doc.text.split_once('\n').expect("topic line");
        let fragment: String = if body.is_ascii() {
            let words: Vec<&str> = body.split_whitespace().collect();
            let n = rng.range(2, 4).min(words.len());
            let start = rng.below(words.len() - n + 1);
            words[start..start + n]
                .join(" ")
                .trim_end_matches('.')
                .to_string()
        } else {
            let chars: Vec<char> = body
                .chars()
                .filter(|c| adopt_kb::sparse::is_cjk(*c))
                .collect();
            let n = rng.range(4, 8).min(chars.len());
            let start = rng.below(chars.len() - n + 1);
            chars[start..start + n].iter().collect()
        };
        format!("{topic}\n{fragment}")
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Vectors.

/// A cluster: centroid, then `LATENT` unit directions, each `DIM` long.
type ClusterModel = Arc<Vec<f32>>;

/// A deterministic stand-in for an embedding model (see the top of the file). Passages it embeds
/// are written, in order, to a file of little-endian f32 rows, with their text hashes kept in
/// memory to find a hit's row.
struct SynthEmbedder {
    clusters: Mutex<HashMap<u64, ClusterModel>>,
    record: Mutex<Option<Recorder>>,
}

struct Recorder {
    out: BufWriter<File>,
    rows: Vec<u64>,
    path: PathBuf,
}

impl SynthEmbedder {
    fn new(path: &Path) -> Self {
        let file =
            File::create(path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        SynthEmbedder {
            clusters: Mutex::new(HashMap::new()),
            record: Mutex::new(Some(Recorder {
                out: BufWriter::with_capacity(1 << 20, file),
                rows: Vec::new(),
                path: path.to_path_buf(),
            })),
        }
    }

    /// Stops recording; the text hash of every row written.
    fn finish(&self) -> Vec<u64> {
        let mut rec = self
            .record
            .lock()
            .expect("recorder lock")
            .take()
            .expect("finish is called once");
        rec.out
            .flush()
            .unwrap_or_else(|e| panic!("writing {}: {e}", rec.path.display()));
        rec.rows
    }

    fn cluster(&self, key: u64) -> ClusterModel {
        let mut map = self.clusters.lock().expect("cluster lock");
        map.entry(key)
            .or_insert_with(|| {
                let mut rng = Rng::new(key ^ SEED);
                let mut m = vec![0.0f32; (LATENT + 1) * DIM];
                for row in m.chunks_exact_mut(DIM) {
                    row.iter_mut().for_each(|x| *x = rng.gauss());
                    normalise(row);
                }
                Arc::new(m)
            })
            .clone()
    }

    fn vector(&self, text: &str) -> Vec<f32> {
        let topic = text.split_once('\n').map_or(text, |(t, _)| t);
        let model = self.cluster(text_hash(topic));
        let mut rng = Rng::new(text_hash(text));
        let mut v: Vec<f32> = model[..DIM].to_vec();
        for (k, dir) in model[DIM..].chunks_exact(DIM).enumerate() {
            let z = rng.gauss() * LATENT_SCALE / ((k + 1) as f32).sqrt();
            v.iter_mut().zip(dir).for_each(|(x, d)| *x += z * d);
        }
        v.iter_mut().for_each(|x| *x += NOISE * rng.gauss());
        normalise(&mut v);
        v
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

impl Embedder for SynthEmbedder {
    fn model_id(&self) -> &str {
        "synthetic-clustered-384"
    }

    fn dim(&self) -> usize {
        DIM
    }

    fn max_tokens(&self) -> usize {
        512
    }

    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let vectors: Vec<Vec<f32>> = texts.iter().map(|t| self.vector(t)).collect();
        let mut rec = self.record.lock().expect("recorder lock");
        if let Some(rec) = rec.as_mut() {
            for (t, v) in texts.iter().zip(&vectors) {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                rec.out
                    .write_all(&bytes)
                    .unwrap_or_else(|e| panic!("writing {}: {e}", rec.path.display()));
                rec.rows.push(text_hash(t));
            }
        }
        Ok(vectors)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.vector(text))
    }

    fn count_tokens(&self, text: &str) -> usize {
        approx_token_count(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Exact search.

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum()
}

/// Best `TOP_K` `(score, row)` per query, best first, over the `n` rows of the vectors file,
/// read in blocks; the queries are split over two threads.
fn exact_top_k(path: &Path, n: usize, queries: &[Vec<f32>]) -> Vec<Vec<(f32, u32)>> {
    const BLOCK: usize = 8192;
    let mut file = File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    let mut tops: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(TOP_K + 1); queries.len()];
    let mut bytes = vec![0u8; BLOCK * DIM * 4];
    let mut block = vec![0.0f32; BLOCK * DIM];
    let mut start = 0;
    while start < n {
        let rows = BLOCK.min(n - start);
        let b = &mut bytes[..rows * DIM * 4];
        file.read_exact(b)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        for (x, c) in block.iter_mut().zip(b.chunks_exact(4)) {
            *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        let block = &block[..rows * DIM];
        let half = queries.len().div_ceil(2);
        let scan = |qs: &[Vec<f32>], tops: &mut [Vec<(f32, u32)>]| {
            for (q, top) in qs.iter().zip(tops) {
                for (r, v) in block.chunks_exact(DIM).enumerate() {
                    let s = dot(q, v);
                    if top.len() < TOP_K || s > top[top.len() - 1].0 {
                        let at = top.partition_point(|&(t, _)| t >= s);
                        top.insert(at, (s, (start + r) as u32));
                        top.truncate(TOP_K);
                    }
                }
            }
        };
        let (qa, qb) = queries.split_at(half);
        let (ta, tb) = tops.split_at_mut(half);
        std::thread::scope(|s| {
            if !qb.is_empty() {
                s.spawn(|| scan(qb, tb));
            }
            scan(qa, ta);
        });
        start += rows;
    }
    tops
}
