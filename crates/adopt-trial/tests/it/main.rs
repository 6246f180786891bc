//! Integration tests of adopt-trial: the HTTP client against scripted local servers, whole
//! trials against a fake fleet of models, and a real trial against a real small model served by
//! llama.cpp (skipped, saying why, when it cannot be installed).

mod fake_server;
mod local_llm;
mod provider;
mod trial;
