//! The engine alone: answers, token counts, limits, determinism.

use std::time::Instant;

use adopt_local::{LocalModel, LocalOptions};
use adopt_trial::{ChatModel, ChatRequest, Message, RequestParams};

use crate::{model_or_skip, say};

fn ask(question: &str, params: RequestParams) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::user(question)],
        params,
    }
}

fn greedy(max_tokens: u32) -> RequestParams {
    RequestParams {
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        ..RequestParams::default()
    }
}

#[test]
fn answers_a_question_deterministically_within_max_tokens() {
    let model = model_or_skip!();
    let request = ask("What is the capital of France?", greedy(24));
    let t = Instant::now();
    let first = model.chat(&request).unwrap();
    let elapsed = t.elapsed();
    let second = model.chat(&request).unwrap();

    assert!(!first.content.trim().is_empty(), "{first:?}");
    // What llama.cpp (xllamacpp 2026.10.11549, temperature 0) answers with the same file: the
    // 135M model at 4 bits is weak, and greedy decoding must reproduce it token for token.
    assert_eq!(
        first.content,
        "L'Étoile, la Marseillaise, la femme, la femme au martyre, la"
    );
    assert_eq!(first.input_tokens, 37, "as llama.cpp counts: {first:?}");
    assert!(
        first.output_tokens > 0 && first.output_tokens <= 24,
        "{first:?}"
    );
    assert_eq!(first.content, second.content, "temperature 0 is greedy");
    assert_eq!(first.output_tokens, second.output_tokens);
    assert_eq!(first.input_tokens, second.input_tokens);
    assert!(first.latency_ms > 0.0 && first.tokens_per_s.is_some());
    assert!(!first.streamed && first.ttft_ms.is_none());
    say(&format!(
        "local engine: {} prompt + {} answer tokens in {:.0} ms ({:.1} tokens/s): {:?}",
        first.input_tokens,
        first.output_tokens,
        elapsed.as_secs_f64() * 1000.0,
        first.tokens_per_s.unwrap_or(f64::NAN),
        first.content
    ));
}

#[test]
fn the_prompt_is_tokenized_as_llama_cpp_does() {
    let model = model_or_skip!();
    let ids = model
        .prompt_ids(&ask("What is the capital of France?", greedy(1)))
        .unwrap();
    // llama.cpp's /tokenize of the rendered ChatML prompt (special tokens parsed), same file.
    let llama_cpp: [u32; 37] = [
        1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411,
        407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1,
        520, 9531, 198,
    ];
    assert_eq!(ids, llama_cpp);

    // Digits one by one (SmolLM's pre-tokenizer), CJK, accents, emoji, runs of spaces, tabs.
    let text = "Pay 1234 yuan within 30 days, 中文 ok? café 🙂  double  space\n\nnew line\tTab";
    let ids = model.prompt_ids(&ask(text, greedy(1))).unwrap();
    let llama_cpp_user_turn: [u32; 40] = [
        1, 4093, 198, 25017, 216, 33, 34, 35, 36, 329, 9819, 1127, 216, 35, 32, 2009, 28, 216,
        28589, 29184, 10907, 47, 37366, 47526, 216, 5561, 216, 1898, 198, 198, 2241, 1761, 197,
        30064, 2, 198, 1, 520, 9531, 198,
    ];
    assert!(ids.ends_with(&llama_cpp_user_turn), "{ids:?}");
}

#[test]
fn max_tokens_and_stop_strings_end_the_answer() {
    let model = model_or_skip!();
    let long = "Write a long story about a dragon who learns to bake bread.";
    let cut = model.chat(&ask(long, greedy(5))).unwrap();
    assert_eq!(cut.output_tokens, 5, "{cut:?}");
    assert_eq!(cut.finish_reason.as_deref(), Some("length"));

    // Stop at the first space the answer writes: whatever the story, it has one.
    let full = model.chat(&ask(long, greedy(12))).unwrap();
    let stop = " ";
    let stopped = model
        .chat(&ask(
            long,
            RequestParams {
                stop: Some(vec![stop.into()]),
                ..greedy(12)
            },
        ))
        .unwrap();
    assert_eq!(
        stopped.finish_reason.as_deref(),
        Some("stop"),
        "{stopped:?}"
    );
    assert!(!stopped.content.contains(stop));
    assert!(
        full.content.starts_with(&stopped.content),
        "{full:?} / {stopped:?}"
    );
    assert!(stopped.output_tokens < full.output_tokens);
}

#[test]
fn streaming_requests_report_time_to_first_token() {
    let model = model_or_skip!();
    let answer = model
        .chat(&ask(
            "Name three colours.",
            RequestParams {
                stream: Some(true),
                ..greedy(8)
            },
        ))
        .unwrap();
    assert!(answer.streamed);
    let ttft = answer.ttft_ms.unwrap();
    assert!(ttft > 0.0 && ttft <= answer.latency_ms, "{answer:?}");
}

#[test]
fn sampling_follows_the_seed() {
    let model = model_or_skip!();
    let sampled = |seed| {
        model
            .chat(&ask(
                "Invent a name for a cat.",
                RequestParams {
                    temperature: Some(1.0),
                    seed: Some(seed),
                    ..greedy(10)
                },
            ))
            .unwrap()
            .content
    };
    assert_eq!(sampled(7), sampled(7));
}

#[test]
fn errors_name_the_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-model.gguf");
    std::fs::write(&path, b"GGUF but not really").unwrap();
    let err = LocalModel::load(&path, &LocalOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not-a-model.gguf"), "{err}");
    let err =
        LocalModel::load(&dir.path().join("absent.gguf"), &LocalOptions::default()).unwrap_err();
    assert!(err.to_string().contains("absent.gguf"), "{err}");
}

#[test]
fn prompts_longer_than_the_context_are_refused() {
    let model = model_or_skip!();
    let Ok(path) = crate::smollm2_path() else {
        return;
    };
    let small = LocalModel::load(
        path,
        &LocalOptions {
            context_length: Some(16),
            ..LocalOptions::default()
        },
    )
    .unwrap()
    .named("tiny-context");
    assert_eq!(small.context_length(), 16);
    let err = small
        .chat(&ask("Hello there, how are you today?", greedy(4)))
        .unwrap_err();
    assert_eq!(err.model, "tiny-context");
    assert!(
        err.message.contains("SmolLM2") && err.message.contains("context"),
        "{err}"
    );
    assert!(model.context_length() > 16);
}
