//! Near-duplicate detection: our MinHash + LSH against Python datasketch's `MinHashLSH`, on the
//! same generated corpus with planted near-duplicates (Chinese and English), the same shingles,
//! number of permutations, threshold and banding, measured in the same run.
//!
//! `cargo bench -p adopt-clean --bench neardup_vs_datasketch`; `ADOPT_BENCH_DOCS` changes the corpus
//! size (default 100000), `ADOPT_BENCH_PYTHON` the interpreter (default python3).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::Command;
use std::time::Instant;

use adopt_clean::dedup::{DedupConfig, NearDupDetector};

/// Common Chinese characters, most frequent first (sampled with a Zipf-like weighting).
const ZH_CHARS: &str = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严";

/// Common English words.
const EN_WORDS: &str = "the of and to a in is it you that he was for on are with as I his they be at one have this from or had by hot word but what some we can out other were all there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may down side been now find any new work part take get place made live where after back little only round man year came show every good me give our under name very through just form sentence great think say help low line differ turn cause much mean before move right boy old too same tell does set three want air well also play small end put home read hand port large spell add even land here must big high such follow act why ask men change went light kind off need house picture try us again animal point mother world near build self earth father head stand own page should country found answer school grow study still learn plant cover food sun four between state keep eye never last let thought city tree cross farm hard start might story saw far sea draw left late run while press close night real life few north open seem together next white children begin got walk example ease paper group always music those both mark often letter until mile river car feet care second book carry took science eat room friend began idea fish mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual young ready above ever red list though feel talk bird soon body dog family direct pose leave song measure door product black short numeral class wind question happen complete ship area half rock order fire south problem piece told knew pass since top whole king space heard best hour better true during hundred five remember step early hold west ground interest reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay against pattern slow center love person money serve appear road map rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct able pound done beauty drive stood contain front teach week final gave green oh quick develop ocean warm free minute strong special mind behind clear tail produce fact street inch multiply nothing course stay wheel full force blue object decide surface deep moon island foot system busy test record boat common gold possible plane stead dry wonder laugh thousand ago ran check game shape equate miss brought heat snow tire bring yes distant fill east paint language among";

const ZH_PUNCT: [&str; 4] = ["，", "。", "、", "；"];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Zipf-like: small indices much more likely, as in real word frequencies.
    fn zipf(&mut self, n: usize) -> usize {
        ((n as f64).powf(self.unit()) as usize)
            .saturating_sub(1)
            .min(n - 1)
    }
}

/// A document as tokens, so that edits are token edits and rendering is script-appropriate.
#[derive(Clone)]
struct Doc {
    zh: bool,
    tokens: Vec<String>,
}

impl Doc {
    fn render(&self, rng: &mut Rng) -> String {
        let mut s = String::new();
        let mut since_punct = 0;
        for (i, t) in self.tokens.iter().enumerate() {
            if self.zh {
                s.push_str(t);
                since_punct += 1;
                if since_punct > 8 && rng.below(10) == 0 {
                    s.push_str(ZH_PUNCT[rng.below(ZH_PUNCT.len())]);
                    since_punct = 0;
                }
            } else {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(t);
                since_punct += 1;
                if since_punct > 8 && rng.below(12) == 0 {
                    s.push('.');
                    since_punct = 0;
                }
            }
        }
        s
    }
}

fn random_doc(rng: &mut Rng, zh_chars: &[char], en_words: &[&str], boilerplate: &[Doc]) -> Doc {
    let zh = rng.below(2) == 0;
    let mut tokens = Vec::new();
    // One document in ten starts with a shared template (a form header, a disclaimer): similar in
    // part, but not near-duplicates, which is what keeps precision honest.
    if rng.below(10) == 0 {
        let b = &boilerplate[usize::from(zh) * 4 + rng.below(4)];
        tokens.extend(b.tokens.iter().cloned());
    }
    let len = if zh {
        200 + rng.below(300)
    } else {
        60 + rng.below(100)
    };
    for _ in 0..len {
        tokens.push(if zh {
            zh_chars[rng.zipf(zh_chars.len())].to_string()
        } else {
            en_words[rng.zipf(en_words.len())].to_string()
        });
    }
    Doc { zh, tokens }
}

/// A near-duplicate: 0.2-1% of tokens substituted, deleted or inserted, sometimes a short tail
/// cut or added, and different punctuation (rendering is random).
fn variant(rng: &mut Rng, base: &Doc, zh_chars: &[char], en_words: &[&str]) -> Doc {
    let rate = 0.002 + 0.008 * rng.unit();
    let word = |rng: &mut Rng| {
        if base.zh {
            zh_chars[rng.zipf(zh_chars.len())].to_string()
        } else {
            en_words[rng.zipf(en_words.len())].to_string()
        }
    };
    let mut tokens = Vec::with_capacity(base.tokens.len() + 8);
    for t in &base.tokens {
        if rng.unit() < rate {
            match rng.below(3) {
                0 => tokens.push(word(rng)),
                1 => {}
                _ => {
                    tokens.push(t.clone());
                    tokens.push(word(rng));
                }
            }
        } else {
            tokens.push(t.clone());
        }
    }
    match rng.below(4) {
        0 => {
            let cut = tokens.len() * rng.below(3) / 100;
            tokens.truncate(tokens.len() - cut);
        }
        1 => {
            for _ in 0..rng.below(tokens.len() / 50 + 1) {
                tokens.push(word(rng));
            }
        }
        _ => {}
    }
    Doc {
        zh: base.zh,
        tokens,
    }
}

struct Corpus {
    texts: Vec<String>,
    family: Vec<u32>,
}

fn generate(n: usize) -> Corpus {
    let mut rng = Rng(20_240_601);
    let zh_chars: Vec<char> = ZH_CHARS.chars().collect();
    let en_words: Vec<&str> = EN_WORDS.split_whitespace().collect();
    let boilerplate: Vec<Doc> = (0..8)
        .map(|i| {
            let zh = i >= 4;
            let len = if zh { 150 } else { 50 };
            Doc {
                zh,
                tokens: (0..len)
                    .map(|_| {
                        if zh {
                            zh_chars[rng.below(zh_chars.len())].to_string()
                        } else {
                            en_words[rng.below(en_words.len())].to_string()
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let mut texts = Vec::with_capacity(n);
    let mut family = Vec::with_capacity(n);
    let mut fam = 0u32;
    while texts.len() < n {
        let base = random_doc(&mut rng, &zh_chars, &en_words, &boilerplate);
        texts.push(base.render(&mut rng));
        family.push(fam);
        // A quarter of the documents get one to three near-duplicates.
        if rng.below(4) == 0 {
            for _ in 0..1 + rng.below(3) {
                if texts.len() == n {
                    break;
                }
                texts.push(variant(&mut rng, &base, &zh_chars, &en_words).render(&mut rng));
                family.push(fam);
            }
        }
        fam += 1;
    }
    // Shuffle so that duplicates are not neighbours.
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    Corpus {
        texts: order.iter().map(|&i| texts[i].clone()).collect(),
        family: order.iter().map(|&i| family[i]).collect(),
    }
}

fn pairs_of_clusters(clusters: &[Vec<usize>]) -> HashSet<(usize, usize)> {
    let mut pairs = HashSet::new();
    for c in clusters {
        for (i, &a) in c.iter().enumerate() {
            for &b in &c[i + 1..] {
                pairs.insert((a.min(b), a.max(b)));
            }
        }
    }
    pairs
}

fn clusters_of_pairs(n: usize, pairs: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for &(a, b) in pairs {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

/// (recall, precision) of predicted pairs against the planted ones.
fn score(predicted: &HashSet<(usize, usize)>, truth: &HashSet<(usize, usize)>) -> (f64, f64) {
    let tp = predicted.intersection(truth).count() as f64;
    (
        tp / truth.len().max(1) as f64,
        tp / predicted.len().max(1) as f64,
    )
}

const PYTHON: &str = r#"
import json, re, sys, time
try:
    from datasketch import MinHash, MinHashLSH
except ImportError:
    print(json.dumps({"error": "datasketch is not installed (pip install datasketch)"}))
    sys.exit(0)
docs_path, pairs_path, num_perm, threshold, cjk_n, word_n, b, r = sys.argv[1:9]
num_perm, threshold, cjk_n, word_n, b, r = int(num_perm), float(threshold), int(cjk_n), int(word_n), int(b), int(r)
with open(docs_path, encoding="utf-8") as f:
    docs = [json.loads(line) for line in f]
CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
token_re = re.compile("[" + CJK + "]|[^\\W_" + CJK + "]+")
cjk_re = re.compile("[" + CJK + "]")

t0 = time.perf_counter()
shingle_sets = []
for d in docs:
    toks = token_re.findall(d.lower())
    if not toks:
        shingle_sets.append([])
        continue
    n_cjk = sum(1 for t in toks if len(t) == 1 and cjk_re.match(t))
    n = cjk_n if 2 * n_cjk >= len(toks) else word_n
    if len(toks) <= n:
        sh = {" ".join(toks)}
    else:
        sh = {" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)}
    shingle_sets.append([s.encode("utf-8") for s in sh])
t1 = time.perf_counter()
mhs = MinHash.bulk(shingle_sets, num_perm=num_perm)
t2 = time.perf_counter()
lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=(b, r))
with lsh.insertion_session() as session:
    for i, m in enumerate(mhs):
        if shingle_sets[i]:
            session.insert(i, m, check_duplication=False)
t3 = time.perf_counter()
pairs = []
for i, m in enumerate(mhs):
    if not shingle_sets[i]:
        continue
    for j in lsh.query(m):
        if j > i and m.jaccard(mhs[j]) >= threshold:
            pairs.append((i, j))
t4 = time.perf_counter()
with open(pairs_path, "w") as f:
    for i, j in pairs:
        f.write(f"{i} {j}\n")
print(json.dumps({"shingle_s": t1 - t0, "minhash_s": t2 - t1, "insert_s": t3 - t2,
                  "query_verify_s": t4 - t3, "total_s": t4 - t0, "b": lsh.b, "r": lsh.r}))
"#;

fn main() {
    let n: usize = std::env::var("ADOPT_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let config = DedupConfig::default();
    let detector = NearDupDetector::new(&config);
    let (b, r) = detector.bands_rows();

    let t = Instant::now();
    let corpus = generate(n);
    let zh_docs = corpus.texts.iter().filter(|t| !t.is_ascii()).count();
    let mut truth = HashSet::new();
    let mut members: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, &f) in corpus.family.iter().enumerate() {
        members.entry(f).or_default().push(i);
    }
    let families: Vec<Vec<usize>> = members.into_values().filter(|m| m.len() > 1).collect();
    truth.extend(pairs_of_clusters(&families));
    let mean_chars = corpus
        .texts
        .iter()
        .map(|t| t.chars().count())
        .sum::<usize>() as f64
        / n as f64;
    println!(
        "corpus: {n} documents ({zh_docs} Chinese, {} English, mean {mean_chars:.0} chars), \
         {} planted near-duplicate pairs in {} families; generated in {:.1}s",
        n - zh_docs,
        truth.len(),
        families.len(),
        t.elapsed().as_secs_f64()
    );

    // True Jaccard of the planted pairs, so the recall target is meaningful.
    let mut below = 0;
    let mut js = Vec::new();
    let mut truth_above = HashSet::new();
    for &(a, bb) in &truth {
        let sa: HashSet<u64> = detector.shingles(&corpus.texts[a]).into_iter().collect();
        let sb: HashSet<u64> = detector.shingles(&corpus.texts[bb]).into_iter().collect();
        let j = sa.intersection(&sb).count() as f64 / sa.union(&sb).count().max(1) as f64;
        below += usize::from(j < config.threshold);
        if j >= config.threshold {
            truth_above.insert((a, bb));
        }
        js.push(j);
    }
    js.sort_by(f64::total_cmp);
    println!(
        "planted pairs' true Jaccard: min {:.3}, median {:.3}; {below} of {} below the threshold {}",
        js.first().copied().unwrap_or(0.0),
        js.get(js.len() / 2).copied().unwrap_or(0.0),
        js.len(),
        config.threshold
    );
    println!(
        "settings: num_perm {}, threshold {}, shingles: {}-char n-grams (CJK) / {}-word n-grams, LSH {b} bands x {r} rows\n",
        config.num_perm, config.threshold, config.cjk_ngram, config.word_ngram
    );

    let texts: Vec<&str> = corpus.texts.iter().map(String::as_str).collect();
    let threads = rayon::current_num_threads();
    let t = Instant::now();
    let clusters = detector.clusters(&texts);
    let ours_s = t.elapsed().as_secs_f64();
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    let t = Instant::now();
    let clusters_1 = one_thread.install(|| detector.clusters(&texts));
    let ours_1_s = t.elapsed().as_secs_f64();
    assert_eq!(clusters, clusters_1, "results do not depend on threads");
    let ours_pairs = pairs_of_clusters(&clusters);
    let (ours_recall, ours_precision) = score(&ours_pairs, &truth);
    let (ours_recall_above, _) = score(&ours_pairs, &truth_above);

    println!(
        "{:<32} {:>9} {:>12} {:>8} {:>10} {:>9}",
        "implementation", "seconds", "docs/s", "recall", "recall J>=t", "precision"
    );
    let row = |name: &str, s: f64, recall: f64, recall_above: f64, precision: f64| {
        println!(
            "{name:<32} {s:>9.2} {:>12.0} {recall:>8.4} {recall_above:>10.4} {precision:>9.4}",
            n as f64 / s
        );
    };
    row(
        &format!("adopt-clean ({threads} threads)"),
        ours_s,
        ours_recall,
        ours_recall_above,
        ours_precision,
    );
    row(
        "adopt-clean (1 thread)",
        ours_1_s,
        ours_recall,
        ours_recall_above,
        ours_precision,
    );

    let python = std::env::var("ADOPT_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().expect("temp dir");
    let docs_path = dir.path().join("docs.jsonl");
    let pairs_path = dir.path().join("pairs.txt");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&docs_path).expect("create"));
        for t in &corpus.texts {
            serde_json::to_writer(&mut f, t).expect("write");
            f.write_all(b"\n").expect("write");
        }
    }
    let output = Command::new(&python)
        .arg("-c")
        .arg(PYTHON)
        .arg(&docs_path)
        .arg(&pairs_path)
        .args([
            config.num_perm.to_string(),
            config.threshold.to_string(),
            config.cjk_ngram.to_string(),
            config.word_ngram.to_string(),
            b.to_string(),
            r.to_string(),
        ])
        .output();
    let result: Option<serde_json::Value> = match &output {
        Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout).ok(),
        Ok(o) => {
            println!(
                "\ndatasketch run failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            println!("\n{python} not found ({e}): showing adopt-clean alone");
            None
        }
    };
    let Some(result) = result else { return };
    if let Some(err) = result.get("error") {
        println!(
            "\n{}: showing adopt-clean alone",
            err.as_str().unwrap_or("datasketch unavailable")
        );
        return;
    }
    let py_s = result["total_s"].as_f64().unwrap_or(f64::NAN);
    let py_pairs: Vec<(usize, usize)> = std::fs::read_to_string(&pairs_path)
        .expect("pairs")
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_once(' ')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect();
    let py_clusters = clusters_of_pairs(n, &py_pairs);
    let py_pairs = pairs_of_clusters(&py_clusters);
    let (py_recall, py_precision) = score(&py_pairs, &truth);
    let (py_recall_above, _) = score(&py_pairs, &truth_above);
    row(
        "datasketch MinHashLSH (python)",
        py_s,
        py_recall,
        py_recall_above,
        py_precision,
    );
    println!(
        "\ndatasketch breakdown: shingling {:.2}s, MinHash.bulk {:.2}s, LSH insert {:.2}s, query + verify {:.2}s (LSH {}x{})",
        result["shingle_s"].as_f64().unwrap_or(0.0),
        result["minhash_s"].as_f64().unwrap_or(0.0),
        result["insert_s"].as_f64().unwrap_or(0.0),
        result["query_verify_s"].as_f64().unwrap_or(0.0),
        result["b"],
        result["r"],
    );
    println!(
        "speed-up: {:.1}x with {threads} threads, {:.1}x on one thread; recall {:.4} vs {:.4}",
        py_s / ours_s,
        py_s / ours_1_s,
        ours_recall,
        py_recall
    );
}
