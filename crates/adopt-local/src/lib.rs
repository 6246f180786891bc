//! An in-process local LLM engine for model-size trials: GGUF files (Llama-family and Qwen2)
//! run with candle on the CPU behind adopt-trial's [`ChatModel`](adopt_trial::ChatModel), so an
//! offline trial needs no server. Trial files name such a model with `base-url = "local:PATH"`;
//! [`local_clients`] loads them for [`adopt_trial::TrialOptions::clients`].

mod clients;
mod error;
mod model;
mod template;
mod vocab;

pub use clients::{local_clients, LocalSpec, LOCAL_SCHEME};
pub use error::{LocalError, Result};
pub use model::{LocalModel, LocalOptions};
pub use template::ChatTemplate;
