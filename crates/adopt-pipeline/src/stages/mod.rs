//! One file per stage, and the ordered registry the pipeline file, the runner and the CLI go
//! through.
//!
//! Each stage file holds the stage's settings (its table in a pipeline file), the code that
//! runs it on a run directory, and its [`Stage`] implementation. Adding a stage means one file
//! here, one line in [`REGISTRY`] (its position is where it runs), a field in
//! [`Pipeline`](crate::Pipeline) for its settings, and a section in the readiness report that
//! reads the summary it writes (see `crates/README.md`, "Adding a stage").

pub mod clean;
pub mod collect;
pub mod kb;
pub mod label;
pub mod report;
pub mod trial;

use adopt_collect::Extractor;
use adopt_core::Stage;

use crate::config::Section;
use crate::Pipeline;

/// What stages need at run time besides the run directory, the reporter and the embedder.
pub struct Tools<'a> {
    /// Reads files for collect (the CLI passes one that isolates each file in a worker).
    pub extractor: &'a dyn Extractor,
}

/// A stage as the registry knows it.
pub struct StageEntry {
    /// Its table in a pipeline file (`[collect]`).
    pub name: &'static str,
    /// Reads its table (the file's other lines blanked, so diagnostics keep their line
    /// numbers) into the pipeline, reporting every problem to the section.
    pub load: fn(&mut Section<'_>, &mut Pipeline),
    /// The stage to run, as `pipeline` configures it; `None` when its table is absent.
    pub plan: for<'a> fn(&'a Pipeline, &Tools<'a>) -> Option<Box<dyn Stage + 'a>>,
}

/// Every stage, in the order a pipeline runs them.
pub const REGISTRY: &[StageEntry] = &[
    StageEntry {
        name: "collect",
        load: collect::load,
        plan: collect::plan,
    },
    StageEntry {
        name: "clean",
        load: clean::load,
        plan: clean::plan,
    },
    StageEntry {
        name: "label",
        load: label::load,
        plan: label::plan,
    },
    StageEntry {
        name: "kb",
        load: kb::load,
        plan: kb::plan,
    },
    StageEntry {
        name: "trial",
        load: trial::load,
        plan: trial::plan,
    },
    StageEntry {
        name: "report",
        load: report::load,
        plan: report::plan,
    },
];

/// The registered stage names, in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|e| e.name)
}

/// Settings serialised for a fingerprint (settings are plain data: this cannot fail).
pub(crate) fn settings_bytes<T: serde::Serialize>(settings: &T) -> Vec<u8> {
    serde_json::to_vec(settings).unwrap_or_default()
}
