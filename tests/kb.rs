//! End-to-end tests of `adopt kb` on real files: CMRC 2018 passages written as Markdown, HTML
//! and two-page Chinese PDFs plus real-world PDFs from the shared corpus are collected, indexed, queried and
//! evaluated; deleting files removes exactly their chunks; and a model-size trial answers RAG
//! questions with context retrieved from the knowledge base by the in-process local engine.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// `n` CMRC 2018 passages: (file stem, title, text, [(question, answer)]).
type Passage = (String, String, String, Vec<(String, String)>);

fn cmrc(n: usize) -> Vec<Passage> {
    let text = std::fs::read_to_string(corpus().join("zh/cmrc2018_trial.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .take(n)
        .map(|c| {
            let qas = c["qas"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|q| {
                    let a = q["answers"].as_array()?.first()?;
                    let a = a.as_str().or_else(|| a["text"].as_str())?;
                    let question = q["query_text"]
                        .as_str()
                        .or_else(|| q["question"].as_str())?;
                    Some((question.to_string(), a.to_string()))
                })
                .take(3)
                .collect();
            (
                c["context_id"].as_str().unwrap().to_string(),
                c["title"].as_str().unwrap_or("").to_string(),
                c["context_text"].as_str().unwrap().to_string(),
                qas,
            )
        })
        .collect()
}

/// Department folders: `wiki/` (Markdown), `web/` (HTML), `archive/` (PDF, two pages, written
/// here with a CJK font as reportlab writes Chinese), `public/` (corpus PDFs, one of them empty
/// and so quarantined, never indexed). Returns the queries file.
fn write_sources(src: &Path, passages: &[Passage]) -> PathBuf {
    for d in ["wiki", "web", "archive", "public"] {
        std::fs::create_dir_all(src.join(d)).unwrap();
    }
    let mut queries = String::new();
    for (i, (id, title, text, qas)) in passages.iter().enumerate() {
        let name = if i % 3 == 2 {
            let name = format!("{id}.pdf");
            let [first, second] = two_pages(text);
            write_cjk_pdf(
                &src.join("archive").join(&name),
                &[format!("{title}\n{first}"), second],
            );
            name
        } else if i % 3 == 0 {
            let name = format!("{id}.md");
            std::fs::write(
                src.join("wiki").join(&name),
                format!("# {title}\n\n{text}\n"),
            )
            .unwrap();
            name
        } else {
            let name = format!("{id}.html");
            std::fs::write(
                src.join("web").join(&name),
                format!(
                    "<html><head><title>{title}</title></head><body><nav>首页 | 目录</nav>\
                     <h1>{title}</h1><p>{text}</p></body></html>"
                ),
            )
            .unwrap();
            name
        };
        for (k, (q, a)) in qas.iter().enumerate() {
            // An `id` like public and in-house QA sets carry: ignored, with a warning.
            queries.push_str(
                &serde_json::json!({"id": format!("{name}#{k}"), "question": q, "answers": [a], "doc": name})
                    .to_string(),
            );
            queries.push('\n');
        }
    }
    for pdf in [
        "scotus-transcript-p1.pdf",
        "WARN-Report-for-7-1-2015-to-03-25-2016.pdf",
        "empty.pdf",
    ] {
        std::fs::copy(corpus().join("pdf").join(pdf), src.join("public").join(pdf)).unwrap();
    }
    let path = src.parent().unwrap().join("queries.jsonl");
    std::fs::write(&path, queries).unwrap();
    path
}

/// A passage as two pages, cut after the first sentence end past the middle.
fn two_pages(text: &str) -> [String; 2] {
    let chars: Vec<char> = text.chars().collect();
    let cut = (chars.len() / 2..chars.len())
        .find(|&k| chars[k] == '。')
        .map_or(chars.len(), |k| k + 1);
    [chars[..cut].iter().collect(), chars[cut..].iter().collect()]
}

/// A PDF with one page per entry of `pages`, its text in the Adobe-GB1 font STSong-Light
/// (not embedded) through the UniGB-UCS2-H CMap, 28 characters a line: what reportlab's
/// UnicodeCIDFont writes for Chinese.
fn write_cjk_pdf(path: &Path, pages: &[String]) {
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        String::new(), // the page tree, once the pages are numbered
        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H \
         /DescendantFonts [4 0 R] >>"
            .into(),
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo \
         << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 5 0 R /DW 1000 >>"
            .into(),
        "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] \
         /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
            .into(),
    ];
    let mut kids = Vec::new();
    for text in pages {
        let mut content = String::from("BT /F1 12 Tf 14 TL 50 790 Td\n");
        for para in text.split('\n') {
            let chars: Vec<char> = para.chars().filter(|c| (*c as u32) < 0x10000).collect();
            for line in chars.chunks(28) {
                let hex: String = line.iter().map(|&c| format!("{:04X}", c as u32)).collect();
                content.push_str(&format!("<{hex}> Tj T*\n"));
            }
        }
        content.push_str("ET\n");
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
        let content_id = objects.len();
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_id} 0 R \
             /Resources << /Font << /F1 3 0 R >> >> >>"
        ));
        kids.push(format!("{} 0 R", objects.len()));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        kids.join(" "),
        kids.len()
    );
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.extend_from_slice(tail.as_bytes());
    std::fs::write(path, pdf).unwrap();
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// `adopt collect SRC` then `adopt kb build`, keyword-only (fast; the dense and hybrid paths
/// on the same kind of data are tested in adopt-kb and by the quickstart pipeline); the build's
/// JSON.
fn collect_and_build(run: &Path, src: &Path) -> serde_json::Value {
    adopt(run, &["collect", src.to_str().unwrap()]);
    json(&adopt(
        run,
        &["kb", "build", "--embeddings", "off", "--json"],
    ))
}

fn top_sources(run: &Path, q: &str, k: &str) -> Vec<String> {
    let hits = json(&adopt(
        run,
        &["kb", "query", q, "--top-k", k, "--mode", "sparse", "--json"],
    ));
    hits.as_array()
        .unwrap()
        .iter()
        .map(|h| h["source_path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn kb_from_real_files_queries_evaluates_and_follows_deletes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let run = tmp.path().join("run");
    let passages = cmrc(24);
    let queries = write_sources(&src, &passages);
    let build = collect_and_build(&run, &src);
    assert_eq!(build["build"]["docs_added"], 26, "{build}"); // 24 passages + 2 readable PDFs

    let out = adopt(
        &run,
        &[
            "kb",
            "eval",
            "--queries",
            queries.to_str().unwrap(),
            "--json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("ignored fields `id`").count(), 1, "{stderr}");
    let eval = json(&out);
    let sparse = &eval[0];
    assert_eq!(sparse["mode"], "sparse");
    assert!(sparse["answer_queries"].as_u64().unwrap() >= 60, "{sparse}");
    assert!(sparse["hit_at_5"].as_f64().unwrap() >= 0.9, "{sparse}");
    assert!(sparse["hit_at_1"].as_f64().unwrap() >= 0.7, "{sparse}");

    // A passage written as a two-page PDF is found on the page that holds the answer.
    let (id, _, text, qas) = &passages[2];
    let pages = two_pages(text);
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    let mut checked = 0;
    for (question, answer) in qas {
        let page = match pages.iter().position(|p| p.contains(answer.as_str())) {
            Some(i) if !pages[1 - i].contains(answer.as_str()) => i + 1,
            _ => continue, // on both pages, or across the cut
        };
        let hits = json(&adopt(
            &run,
            &[
                "kb", "query", question, "--mode", "sparse", "--top-k", "5", "--json",
            ],
        ));
        let hit = hits
            .as_array()
            .unwrap()
            .iter()
            .find(|h| {
                h["source_path"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("{id}.pdf"))
                    && squash(h["text"].as_str().unwrap()).contains(&squash(answer))
            })
            .unwrap_or_else(|| panic!("{question}: no chunk of {id}.pdf with {answer:?}: {hits}"));
        assert_eq!(hit["unit"], format!("page {page}"), "{hit}");
        checked += 1;
    }
    assert!(checked > 0, "no answer of {id} lies on one page only");

    // The chunks of one PDF, as indexed: both pages, in order, nothing from elsewhere.
    let rows = json(&adopt(
        &run,
        &["kb", "chunks", "--filter", "department=archive", "--json"],
    ));
    let rows = rows.as_array().unwrap();
    assert!(
        rows.iter().all(|r| r["department"] == "archive"),
        "{rows:?}"
    );
    let of_pdf: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| {
            r["source_path"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{id}.pdf"))
        })
        .collect();
    let units: Vec<&str> = of_pdf.iter().map(|r| r["unit"].as_str().unwrap()).collect();
    assert_eq!(units.first(), Some(&"page 1"), "{units:?}");
    assert_eq!(units.last(), Some(&"page 2"), "{units:?}");

    // A fusion method that does not exist is refused by name.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_adopt"))
        .arg("--run-dir")
        .arg(&run)
        .args(["kb", "query", "法院", "--fusion", "bogus"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        stderr.contains("--fusion \"bogus\": expected confidence, dbsf or rrf"),
        "{stderr}"
    );

    // English text from a real PDF comes back from its page, and filters hold.
    let top = top_sources(&run, "Supreme Court Knowles Warden petitioner", "3");
    assert!(top[0].ends_with("scotus-transcript-p1.pdf"), "{top:?}");
    let hits = json(&adopt(
        &run,
        &[
            "kb",
            "query",
            "法院",
            "--filter",
            "department=web",
            "--mode",
            "sparse",
            "--json",
        ],
    ));
    assert!(hits
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["department"] == "web"));

    // Delete two passages and a PDF: exactly their chunks go, nothing else is touched.
    let (gone_md, gone_html) = (&passages[0], &passages[1]);
    std::fs::remove_file(src.join("wiki").join(format!("{}.md", gone_md.0))).unwrap();
    std::fs::remove_file(src.join("web").join(format!("{}.html", gone_html.0))).unwrap();
    std::fs::remove_file(src.join("public/scotus-transcript-p1.pdf")).unwrap();
    let build = collect_and_build(&run, &src);
    let b = &build["build"];
    assert_eq!(
        (b["docs_removed"].as_u64(), b["docs_unchanged"].as_u64()),
        (Some(3), Some(23)),
        "{b}"
    );
    assert_eq!(b["chunks_upserted"], 0, "{b}");
    let status = json(&adopt(&run, &["kb", "status", "--json"]));
    assert_eq!(status["documents"], 23);
    assert_eq!(
        status["chunks_in_manifest"], status["points_in_index"],
        "{status}"
    );
    let top = top_sources(&run, "Supreme Court Knowles Warden petitioner", "10");
    assert!(
        !top.iter().any(|s| s.ends_with("scotus-transcript-p1.pdf")),
        "{top:?}"
    );
    let top = top_sources(&run, &gone_md.3[0].0, "10");
    assert!(!top.iter().any(|s| s.contains(&gone_md.0)), "{top:?}");

    // An edited file comes back from collect under a new id (ids follow content): the build
    // counts it as changed, replaces its chunks, and the new text is found.
    let (edited, _, _, _) = &passages[3];
    let path = src.join("wiki").join(format!("{edited}.md"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n补充：本馆闭馆日为每周一，节假日照常开放。\n");
    std::fs::write(&path, text).unwrap();
    let build = collect_and_build(&run, &src);
    let b = &build["build"];
    assert_eq!(
        (
            b["docs_changed"].as_u64(),
            b["docs_added"].as_u64(),
            b["docs_removed"].as_u64()
        ),
        (Some(1), Some(0), Some(0)),
        "{b}"
    );
    let top = top_sources(&run, "闭馆日为每周一", "1");
    assert!(top[0].ends_with(&format!("{edited}.md")), "{top:?}");
    let status = json(&adopt(&run, &["kb", "status", "--json"]));
    assert_eq!(status["documents"], 23);
    assert_eq!(status["chunks_in_manifest"], status["points_in_index"]);

    // No change: nothing written, no duplicates.
    let again = collect_and_build(&run, &src);
    assert_eq!(again["build"]["wrote"], false, "{again}");
    let status = json(&adopt(&run, &["kb", "status", "--json"]));
    assert_eq!(status["points_in_index"], status["chunks_in_manifest"]);
}

/// RAG questions whose context is retrieved from the run's knowledge base, answered by a real
/// model running in-process: the trial only works if retrieval is wired through.
#[test]
fn trial_answers_rag_questions_from_the_knowledge_base_with_a_local_model() {
    let gguf = match adopt_trial::testing::smollm2_gguf() {
        Ok(p) => p,
        Err(why) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: RAG trial with the local engine: {why}"
            );
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let run = tmp.path().join("run");
    let passages = cmrc(6);
    write_sources(&src, &passages);
    adopt(&run, &["collect", src.to_str().unwrap()]);
    adopt(&run, &["kb", "build", "--embeddings", "off"]);

    let questions = tmp.path().join("rag.jsonl");
    let lines: Vec<String> = passages[..1]
        .iter()
        .map(|p| {
            let (q, a) = &p.3[0];
            serde_json::json!({"id": p.0, "question": q, "answers": [a]}).to_string()
        })
        .collect();
    std::fs::write(&questions, lines.join("\n") + "\n").unwrap();
    let trial = tmp.path().join("trial.toml");
    std::fs::write(
        &trial,
        format!(
            r#"[trial]
currency = "CNY"

[[trial.models]]
name = "smollm2-local"
provider = "llama-cpp"
base-url = "local:{}?threads=1&context-length=2048"
model = "smollm2-135m"
size = "135M"
concurrency = 1
price = {{ per-hour = 1.0, currency = "CNY" }}
params = {{ max-tokens = 16 }}

[[trial.tasks]]
name = "faq"
kind = "rag-qa"
path = "{}"
context = "source"
"#,
            gguf.display(),
            questions.display()
        ),
    )
    .unwrap();
    let out = adopt(&run, &["trial", trial.to_str().unwrap(), "--json"]);
    let report = json(&out);
    let items = std::fs::read_to_string(run.join("trial/items.jsonl")).unwrap();
    let items: Vec<serde_json::Value> = items
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(items.len(), 1, "{report}");
    for item in &items {
        assert!(item["error"].is_null(), "{item}");
        assert!(
            item["response"]["output_tokens"].as_u64().unwrap_or(0) > 0,
            "{item}"
        );
    }
}
