//! Shared vocabulary of every `adopt` stage: the record types that flow between stages, the
//! run-directory layout that lets stages run alone or one after another, the `Reporter` trait
//! through which libraries report progress without printing, the `Stage` trait every pipeline
//! stage implements, and content hashing.

pub mod document;
pub mod embed;
pub mod hash;
pub mod layout;
pub mod pypi;
pub mod reporter;
pub mod stage;

pub use document::{Document, Format, TableRef, UNIT_SEPARATOR};
pub use embed::{EmbedError, Embedder};
pub use hash::ContentHash;
pub use layout::RunDir;
pub use reporter::{NoopReporter, Reporter, WarningLog};
pub use stage::{Stage, StageContext, StageError, StageSummary};
