//! Integration tests of the knowledge base on real data: CMRC 2018 passages (Chinese) and files
//! collected by `adopt-collect`.
//!
//! The backend-agnostic suite (`suite.rs`) runs twice: in `edge::` on an embedded qdrant-edge
//! shard in a temp dir, and in `server::` on a Qdrant server when `ADOPT_TEST_QDRANT_URL` gives
//! its gRPC URL (`http://localhost:6334`; the API key, if any, in `ADOPT_TEST_QDRANT_API_KEY`).
//! Each server test uses a collection of its own and deletes it at the end; without a server
//! they say they are skipped and pass.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod backends;
mod suite;

use adopt_kb::SearchMode;

fn load_embedder() -> Result<adopt_embed::FastEmbedder, String> {
    adopt_embed::FastEmbedder::load(&adopt_embed::default_model_dir(), None)
        .map_err(|e| e.to_string())
}

/// Each test once per backend: `edge::name` always, `server::name` against the server in
/// `ADOPT_TEST_QDRANT_URL` (skipped without one). `$backend` is a `&dyn Backend`.
macro_rules! on_every_backend {
    ($(fn $name:ident($backend:ident) $body:block)*) => {
        mod edge {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let $backend: &dyn backends::Backend = &backends::Edge;
                    $body
                }
            )*
        }
        mod server {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let Some(server) = backends::Server::from_env(stringify!($name)) else {
                        return;
                    };
                    let $backend: &dyn backends::Backend = &server;
                    $body
                }
            )*
        }
    };
}

on_every_backend! {
    fn index_round_trip(backend) {
        suite::index_round_trip(backend);
    }

    fn filter_values_with_spaces_match_exactly(backend) {
        suite::filter_values_with_spaces_match_exactly(backend);
    }

    fn ties_at_the_cut_are_cut_by_chunk_id(backend) {
        suite::ties_at_the_cut_are_cut_by_chunk_id(backend);
    }

    fn keyword_kb_on_cmrc(backend) {
        suite::build_query_rebuild(backend, None, &[(SearchMode::Sparse, 0.9)]);
    }

    fn dense_and_hybrid_kb_on_cmrc(backend) {
        match load_embedder() {
            Ok(e) => suite::build_query_rebuild(
                backend,
                Some(&e),
                &[
                    (SearchMode::Hybrid, 0.9),
                    (SearchMode::Dense, 0.9),
                    (SearchMode::Sparse, 0.9),
                ],
            ),
            Err(e) => {
                let _ = backend;
                println!("skipped: no embedding model ({e}); install it with `adopt models fetch`");
            }
        }
    }

    fn hybrid_keeps_up_with_its_better_input(backend) {
        match load_embedder() {
            Ok(e) => suite::hybrid_keeps_up_with_its_better_input(backend, &e),
            Err(e) => {
                let _ = backend;
                println!("skipped: no embedding model ({e}); install it with `adopt models fetch`");
            }
        }
    }
}
