//! The pipeline file: raw TOML, validated settings, with errors that name their line.

use std::path::{Path, PathBuf};

use adopt_clean::CleanConfig;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::stages::REGISTRY;

/// Top-level keys that are not stages.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TopLevel {
    /// Name shown in summaries and the report.
    name: Option<String>,
    /// What this pipeline is for.
    #[allow(dead_code)]
    description: Option<String>,
    /// Run directory, relative to the directory the command runs in.
    run_dir: Option<PathBuf>,
}

/// A validated pipeline, with paths resolved against the file's folder.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub file: PathBuf,
    pub name: String,
    pub run_dir: Option<PathBuf>,
    pub collect: Option<crate::CollectSettings>,
    pub clean: Option<CleanConfig>,
    pub label: Option<crate::LabelSettings>,
    pub kb: Option<crate::KbStageSettings>,
    pub trial: Option<adopt_trial::TrialConfig>,
    pub report: Option<crate::ReportSettings>,
    /// The stages the file configures, in the order they run.
    configured: Vec<&'static str>,
}

impl Pipeline {
    /// The stages this file runs, in order.
    pub fn stages(&self) -> Vec<&'static str> {
        self.configured.clone()
    }
}

/// One stage's table of a pipeline file, as a stage's `load` sees it.
pub struct Section<'t> {
    name: &'static str,
    /// The file's text with every other table's lines blanked, so spans are lines of the file.
    text: String,
    /// Line of the table's first header, for problems that have no span of their own.
    line: Option<usize>,
    path: &'t Path,
    /// The pipeline file's folder: relative paths in settings are relative to it.
    pub base: &'t Path,
    diags: &'t mut Vec<Diagnostic>,
}

impl Section<'_> {
    /// The table's lines (the rest blanked).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The table deserialized; `None`, with the problem reported at its line, when it does not
    /// fit `T` (or the table is absent).
    pub fn parse<T: DeserializeOwned>(&mut self) -> Option<T> {
        #[derive(Deserialize)]
        struct Probe<T> {
            inner: Option<T>,
        }
        // One probe type for every section: rename the section's headers to `inner`.
        let renamed = rename_section(&self.text, self.name);
        match toml::from_str::<Probe<T>>(&renamed) {
            Ok(p) => p.inner,
            Err(e) => {
                self.diags.push(Diagnostic {
                    file: self.path.to_path_buf(),
                    line: e.span().map(|s| line_of(&renamed, s.start)),
                    message: format!("[{}] {}", self.name, e.message().trim()),
                });
                None
            }
        }
    }

    /// A problem with the table as a whole, reported at its header as `[name] message`.
    pub fn error(&mut self, message: String) {
        self.diags.push(Diagnostic {
            file: self.path.to_path_buf(),
            line: self.line,
            message: format!("[{}] {message}", self.name),
        });
    }
}

/// One problem in a pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line, where known.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found in a pipeline file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} in pipeline file:\n  {}", plural(.0.len()), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
pub struct Diagnostics(pub Vec<Diagnostic>);

fn plural(n: usize) -> String {
    if n == 1 {
        "1 error".into()
    } else {
        format!("{n} errors")
    }
}

/// Reads and validates a pipeline file.
pub fn load(path: &Path) -> Result<Pipeline, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic {
            file: path.to_path_buf(),
            line: None,
            message: format!("cannot read: {e}"),
        }])
    })?;
    load_str(path, &text)
}

/// Validates pipeline text that came from `path`.
pub fn load_str(path: &Path, text: &str) -> Result<Pipeline, Diagnostics> {
    let mut diags = Vec::new();
    let diag = |line: Option<usize>, message: String| Diagnostic {
        file: path.to_path_buf(),
        line,
        message,
    };

    // serde stops at the first error of a document. To report every error at once, each
    // stage's lines are parsed on their own, with the other lines blanked so that line numbers
    // stay those of the file.
    if let Err(e) = text.parse::<toml::Table>() {
        let line = e.span().map(|s| line_of(text, s.start));
        return Err(Diagnostics(vec![diag(
            line,
            e.message().trim().to_string(),
        )]));
    }
    let owners = line_owners(text);
    let only = |keep: &dyn Fn(Option<&str>) -> bool| -> String {
        text.lines()
            .zip(&owners)
            .map(|(l, o)| if keep(o.as_deref()) { l } else { "" })
            .collect::<Vec<_>>()
            .join("\n")
    };

    // Unknown top-level keys and stages, each on its own line: serde would stop at the first.
    const TOP_KEYS: &[&str] = &["name", "description", "run-dir"];
    let mut reported = std::collections::HashSet::new();
    for (i, owner) in owners.iter().enumerate() {
        if let Some(o) = owner.as_deref() {
            if !REGISTRY.iter().any(|e| e.name == o)
                && !TOP_KEYS.contains(&o)
                && reported.insert(o.to_string())
            {
                let expected: Vec<String> = TOP_KEYS
                    .iter()
                    .copied()
                    .chain(crate::stages::names())
                    .map(|k| format!("`{k}`"))
                    .collect();
                diags.push(diag(
                    Some(i + 1),
                    format!(
                        "unknown key or stage `{o}`, expected one of {}",
                        expected.join(", ")
                    ),
                ));
            }
        }
    }
    let top_text = only(&|o| o.is_some_and(|o| TOP_KEYS.contains(&o)));
    let top: TopLevel = match toml::from_str(&top_text) {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map(|s| line_of(&top_text, s.start));
            diags.push(diag(line, e.message().trim().to_string()));
            TopLevel::default()
        }
    };

    let base = path.parent().unwrap_or(Path::new("."));
    let mut pipeline = Pipeline {
        file: path.to_path_buf(),
        name: top.name.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "pipeline".into())
        }),
        run_dir: top.run_dir,
        collect: None,
        clean: None,
        label: None,
        kb: None,
        trial: None,
        report: None,
        configured: Vec::new(),
    };
    for entry in REGISTRY {
        let mut section = Section {
            name: entry.name,
            text: only(&|o| o == Some(entry.name)),
            line: header_line(text, entry.name),
            path,
            base,
            diags: &mut diags,
        };
        if section.line.is_none() {
            continue;
        }
        (entry.load)(&mut section, &mut pipeline);
        pipeline.configured.push(entry.name);
    }
    if pipeline.configured.is_empty() && diags.is_empty() {
        diags.push(diag(
            None,
            format!(
                "no stage configured; add at least one of {}",
                REGISTRY
                    .iter()
                    .map(|s| format!("[{}]", s.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !diags.is_empty() {
        diags.sort_by_key(|d| d.line.unwrap_or(0));
        return Err(Diagnostics(diags));
    }
    Ok(pipeline)
}

/// `base/rel` with `.` and `..` resolved without touching the file system, so that documents
/// are recorded as `examples/bank/...` rather than `pipelines/../examples/bank/...`.
pub(crate) fn lexical_join(base: &Path, rel: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// Which top-level key each line belongs to: a table header `[a.b]` or `[[a]]` starts key `a`;
/// a `key = value` line before any header belongs to `key`.
fn line_owners(text: &str) -> Vec<Option<String>> {
    let mut current: Option<String> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(header) = t.strip_prefix('[') {
            let header = header.trim_start_matches('[').trim_start();
            let name: String = header
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| !matches!(c, '.' | ']' | '"' | '\'') && !c.is_whitespace())
                .collect();
            current = Some(name);
            out.push(current.clone());
        } else if current.is_none() {
            let key: String = t
                .chars()
                .take_while(|c| !matches!(c, '=' | '.') && !c.is_whitespace())
                .collect();
            out.push((!key.is_empty() && !key.starts_with('#')).then_some(key));
        } else {
            out.push(current.clone());
        }
    }
    out
}

/// Renames the top-level table `name` to `inner` in headers, so one generic probe type can
/// deserialize any section with spans intact.
fn rename_section(text: &str, name: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            for open in ["[[", "["] {
                if let Some(rest) = t.strip_prefix(open) {
                    if let Some(after) = rest.trim_start().strip_prefix(name) {
                        if after.starts_with(['.', ']'])
                            || after.trim_start().starts_with(['.', ']'])
                        {
                            return format!("{open}inner{after}");
                        }
                    }
                }
            }
            l.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn header_line(text: &str, name: &str) -> Option<usize> {
    line_owners(text)
        .iter()
        .position(|o| o.as_deref() == Some(name))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        match load_str(&p, text) {
            Ok(_) => vec![],
            Err(d) => {
                d.0.iter()
                    .map(|d| format!("{}: {}", d.line.unwrap_or(0), d.message))
                    .collect()
            }
        }
    }

    #[test]
    fn every_error_is_reported_with_its_line() {
        let text = "name = \"t\"\ncolour = \"red\"\n\n[collect]\nsources = [\"nowhere\"]\nfile-timout = 5\n\n[clean.dedup]\nthreshhold = 0.5\n\n[clena]\nx = 1\n";
        let e = errors(text);
        assert_eq!(e.len(), 4, "{e:#?}");
        assert!(e[0].starts_with("2: ") && e[0].contains("colour"), "{e:#?}");
        assert!(
            e[1].starts_with("6: ") && e[1].contains("file-timout"),
            "{e:#?}"
        );
        assert!(
            e[2].starts_with("9: ") && e[2].contains("threshhold"),
            "{e:#?}"
        );
        assert!(e[3].starts_with("11: ") && e[3].contains("clena"), "{e:#?}");
    }

    #[test]
    fn semantic_errors_are_all_reported() {
        let text = "[collect]\nsources = [\"a\", \"b\"]\n\n[clean.dedup]\nthreshold = 1.5\n[clean.quality]\nmax-symbol-ratio = 2.0\n";
        let e = errors(text);
        assert_eq!(e.len(), 4, "{e:#?}");
        assert!(e.iter().filter(|m| m.contains("does not exist")).count() == 2);
        assert!(
            e.iter()
                .any(|m| m.starts_with("4: ") && m.contains("threshold")),
            "{e:#?}"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = errors("[collect]\nsources = [\"a\"\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("2: ") || e[0].starts_with("3: "), "{e:#?}");
    }

    #[test]
    fn a_valid_file_resolves_sources_against_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let p = dir.path().join("p.toml");
        let pipe = load_str(&p, "[collect]\nsources = [\"data\"]\n[clean]\n").unwrap();
        assert_eq!(pipe.collect.unwrap().sources, [dir.path().join("data")]);
        assert_eq!(pipe.name, "p");
        assert!(pipe.clean.is_some());
    }
}
