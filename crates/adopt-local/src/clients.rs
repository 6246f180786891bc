//! The hook between trial files and the engine: models whose `base-url` is `local:PATH` are
//! loaded here and handed to `run_trial` as [`adopt_trial::TrialOptions::clients`].
//!
//! ```toml
//! [[trial.models]]
//! name = "smollm2-135m-local"
//! provider = "llama-cpp"                 # any: only priced/self-hosted defaults follow from it
//! base-url = "local:models/SmolLM2-135M-Instruct.Q4_1.gguf?context-length=2048"
//! model = "smollm2-135m"
//! size = "135M"
//! concurrency = 1
//! ```
//!
//! Options go after `?`, `&`-separated: `threads`, `context-length`, `seed`, `chat-template`,
//! `tokenizer` (a tokenizer.json path). Relative paths are resolved against the trial file.
//! A bare catalogue id instead of a path (`local:smollm2-135m`) names a model that
//! `adopt models fetch` installs into the model cache (see [`crate::registry`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adopt_trial::{ChatModel, ModelConfig, TrialConfig};

use crate::error::{LocalError, Result};
use crate::model::{LocalModel, LocalOptions};
use crate::registry;

/// The scheme of a `base-url` that names a model file run in-process.
pub const LOCAL_SCHEME: &str = "local:";

/// A parsed `local:PATH?options` base URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalSpec {
    pub path: PathBuf,
    pub options: LocalOptions,
    /// The catalogue id when the URL named a model of the catalogue rather than a file.
    pub catalogue_id: Option<String>,
}

impl LocalSpec {
    /// `None` when `url` is not a `local:` URL; an error for a malformed one. Relative paths are
    /// resolved against `base_dir`.
    pub fn parse(url: &str, base_dir: &Path) -> Option<Result<Self, String>> {
        let rest = url.strip_prefix(LOCAL_SCHEME)?;
        Some(Self::parse_rest(rest, base_dir))
    }

    fn parse_rest(rest: &str, base_dir: &Path) -> Result<Self, String> {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.trim().is_empty() {
            return Err("local: needs the path of a model file".into());
        }
        let resolve = |p: &str| {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base_dir.join(p)
            }
        };
        let mut options = LocalOptions::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("option {pair:?} needs a value (key=value)"))?;
            let number = |what: &str| {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0 || what == "seed")
                    .ok_or_else(|| format!("{key}={value:?} is not a {what}"))
            };
            match key {
                "threads" => options.threads = Some(number("positive number")? as usize),
                "context-length" => {
                    options.context_length = Some(number("positive number")? as usize)
                }
                "seed" => options.seed = Some(number("seed")?),
                "chat-template" => options.chat_template = Some(value.to_string()),
                "tokenizer" => options.tokenizer_json = Some(resolve(value)),
                other => {
                    return Err(format!(
                        "unknown option {other:?} (known: threads, context-length, seed, \
                         chat-template, tokenizer)"
                    ))
                }
            }
        }
        // A bare name (no folder, no extension) is a catalogue id, never a file beside the
        // trial: model files end in .gguf.
        let bare = registry::chat_model(path).is_some()
            || !(path.contains(['/', '\\']) || path.ends_with(".gguf"));
        if bare {
            let Some(entry) = registry::chat_model(path) else {
                let known: Vec<&str> = registry::catalogue()
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect();
                return Err(format!(
                    "{path:?} is neither a model file (.gguf) nor a model adopt can fetch \
                     (known: {})",
                    known.join(", ")
                ));
            };
            return Ok(LocalSpec {
                path: entry.default_path(),
                options,
                catalogue_id: Some(entry.id.clone()),
            });
        }
        Ok(LocalSpec {
            path: resolve(path),
            options,
            catalogue_id: None,
        })
    }
}

/// The trial's models that name a catalogue model not installed (or damaged) in the model
/// cache, with the catalogue entry and why: what `adopt models fetch` would install.
pub fn uninstalled_models(
    config: &TrialConfig,
) -> Vec<(String, &'static registry::ChatModelEntry, String)> {
    let cache = adopt_core::layout::model_cache_root();
    local_models(config)
        .into_iter()
        .filter_map(|(m, spec)| {
            let entry = registry::chat_model(spec.ok()?.catalogue_id.as_deref()?)?;
            match entry.state(&cache, false) {
                registry::ModelState::Installed(_) => None,
                registry::ModelState::Missing => {
                    Some((m.name.clone(), entry, "not installed".to_string()))
                }
                registry::ModelState::Damaged(why) => Some((m.name.clone(), entry, why)),
            }
        })
        .collect()
}

/// The trial's models whose base URL is `local:`, with the URL parsed.
fn local_models(config: &TrialConfig) -> Vec<(&ModelConfig, Result<LocalSpec, String>)> {
    config
        .models
        .iter()
        .filter_map(|m| {
            let url = m.base_url.as_deref()?;
            Some((m, LocalSpec::parse(url, &config.base_dir)?))
        })
        .collect()
}

/// Loads every `local:` model of the trial, each file once (models naming the same file share
/// it), keyed by the trial's model name, for [`adopt_trial::TrialOptions::clients`]. The
/// trial's seed is the default sampling seed. Every problem is reported at once.
///
/// A local model serves one request at a time, so `concurrency` above 1 is refused; leave it
/// unset or 1 (with an hourly price, set it to 1: the cost per task divides by it).
pub fn local_clients(config: &TrialConfig) -> Result<HashMap<String, Arc<dyn ChatModel>>> {
    let mut errors = Vec::new();
    let mut loaded: HashMap<LocalSpec, LocalModel> = HashMap::new();
    let mut clients: HashMap<String, Arc<dyn ChatModel>> = HashMap::new();
    for (m, spec) in local_models(config) {
        let mut spec = match spec {
            Ok(spec) => spec,
            Err(why) => {
                errors.push(format!("model {}: base-url: {why}", m.name));
                continue;
            }
        };
        let hourly = m.price.as_ref().is_some_and(|p| p.per_hour.is_some());
        match m.concurrency {
            Some(n) if n > 1 => {
                errors.push(format!(
                    "model {}: concurrency {n}: a local model answers one request at a time; set 1",
                    m.name
                ));
                continue;
            }
            None if hourly => {
                errors.push(format!(
                    "model {}: set concurrency = 1: a local model answers one request at a time, \
                     and the hourly price is spread over the concurrency (default 4)",
                    m.name
                ));
                continue;
            }
            _ => {}
        }
        spec.options.seed = spec.options.seed.or(Some(config.seed));
        if let Some(model) = loaded.get(&spec) {
            clients.insert(m.name.clone(), Arc::new(model.named(&m.name)));
            continue;
        }
        match LocalModel::load(&spec.path, &spec.options) {
            Ok(model) => {
                clients.insert(m.name.clone(), Arc::new(model.named(&m.name)));
                loaded.insert(spec, model);
            }
            Err(e) => errors.push(format!("model {}: {e}", m.name)),
        }
    }
    if errors.is_empty() {
        Ok(clients)
    } else {
        Err(LocalError::Config(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_urls_parse_with_options() {
        let base = Path::new("/trials");
        assert!(LocalSpec::parse("http://127.0.0.1:8080/v1", base).is_none());
        let spec = LocalSpec::parse("local:m/a.gguf", base).unwrap().unwrap();
        assert_eq!(spec.path, Path::new("/trials/m/a.gguf"));
        assert_eq!(spec.options, LocalOptions::default());
        assert_eq!(spec.catalogue_id, None);
        let spec = LocalSpec::parse("local:smollm2-135m?threads=1", base)
            .unwrap()
            .unwrap();
        assert_eq!(spec.catalogue_id.as_deref(), Some("smollm2-135m"));
        assert!(spec
            .path
            .ends_with("chat/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf"));
        assert_eq!(spec.options.threads, Some(1));
        let err = LocalSpec::parse("local:no-such-model", base)
            .unwrap()
            .unwrap_err();
        assert!(err.contains("smollm2-135m"), "{err}");
        let spec = LocalSpec::parse(
            "local:/abs/a.gguf?threads=2&context-length=1024&seed=0&chat-template=chatml&tokenizer=t.json",
            base,
        )
        .unwrap()
        .unwrap();
        assert_eq!(spec.path, Path::new("/abs/a.gguf"));
        assert_eq!(
            spec.options,
            LocalOptions {
                threads: Some(2),
                context_length: Some(1024),
                seed: Some(0),
                chat_template: Some("chatml".into()),
                tokenizer_json: Some("/trials/t.json".into()),
            }
        );
        for bad in [
            "local:",
            "local:a.gguf?threads=0",
            "local:a.gguf?x=1",
            "local:a.gguf?seed",
        ] {
            assert!(LocalSpec::parse(bad, base).unwrap().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_model() {
        let toml = r#"
[[models]]
name = "missing"
provider = "llama-cpp"
base-url = "local:nowhere/model.gguf"
model = "m"

[[models]]
name = "too-wide"
provider = "llama-cpp"
base-url = "local:model.gguf"
model = "m"
concurrency = 4

[[models]]
name = "served"
provider = "llama-cpp"
model = "m"
"#;
        let dir = tempfile::tempdir().unwrap();
        let mut config: TrialConfig = toml::from_str(toml).unwrap();
        config.base_dir = dir.path().to_path_buf();
        let Err(LocalError::Config(errors)) = local_clients(&config) else {
            panic!("expected errors")
        };
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("model missing: ") && errors[0].contains("model.gguf"));
        assert!(errors[1].contains("too-wide") && errors[1].contains("concurrency 4"));
    }
}
