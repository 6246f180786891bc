//! The trial stage of `adopt`: runs the same task suites, built from the enterprise's own data,
//! over several candidate models (local servers and hosted APIs alike, all OpenAI-compatible),
//! measures quality with confidence intervals, speed and cost, and recommends per scenario the
//! smallest or cheapest model that is good enough, with the Pareto frontiers behind the choice.
//!
//! Flow: [`TrialConfig`] (the `[trial]` table) -> [`TrialPlan`] (validated, prices resolved)
//! -> [`run_trial`] (cached, resumable requests) -> [`TrialReport`] (+ [`render_svg`]).

pub mod catalogue;
pub mod compare;
pub mod config;
pub mod error;
pub mod load;
pub mod measure;
pub mod plan;
pub mod provider;
pub mod recommend;
pub mod report;
pub mod run;
pub mod score;
pub mod stats;
pub mod store;
pub mod svg;
pub mod tasks;
#[doc(hidden)]
pub mod testing;
pub mod tokenize;

pub use catalogue::{PriceCatalogue, PriceEntry};
pub use config::{
    ContextMode, JudgeConfig, Metric, ModelConfig, PriceSpec, QualityBar, RequestParams,
    TaskConfig, TaskKind, TrialConfig, RUN_PATH_PREFIX,
};
pub use error::{FailureKind, ProviderError, Result, TrialError};
pub use load::{LoadConfig, LoadLevel, LoadReport, LoadRequest};
pub use measure::{ItemRecord, ModelTaskMetrics};
pub use plan::TrialPlan;
pub use provider::{
    ChatModel, ChatRequest, ChatResponse, Endpoint, Message, OpenAiCompatible, ProviderKind,
    TimedResponse,
};
pub use recommend::Recommendation;
pub use report::{SweepEstimate, TrialReport};
pub use run::{run_trial, TrialOptions};
pub use svg::render_svg;
pub use tasks::{ContextSource, TaskSuite};
