//! Measures the local engine's speed on a GGUF file: load time, then prompt processing and
//! generation rates for a prompt of about PROMPT_TOKENS tokens (one warm-up run first).
//!
//! cargo run --release --example local_speed -- MODEL.gguf [THREADS] [PROMPT_TOKENS] [ANSWER_TOKENS] [RUNS]
//!
//! `benches/engine_vs_llamacpp.rs` runs llama.cpp beside it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use adopt_local::{LocalModel, LocalOptions};
use adopt_trial::{ChatRequest, Message, RequestParams};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        let _ = writeln!(
            std::io::stderr(),
            "usage: local_speed MODEL.gguf [THREADS] [PROMPT_TOKENS] [ANSWER_TOKENS] [RUNS]"
        );
        return ExitCode::FAILURE;
    };
    let mut number = |default: usize| args.next().and_then(|a| a.parse().ok()).unwrap_or(default);
    let threads = number(0);
    let prompt_tokens = number(1200);
    let answer_tokens = number(48);
    let runs = number(3);
    let mut out = std::io::stdout();
    let t = Instant::now();
    let opts = LocalOptions {
        threads: (threads > 0).then_some(threads),
        ..LocalOptions::default()
    };
    let model = match LocalModel::load(&path, &opts) {
        Ok(m) => m,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{e}");
            return ExitCode::FAILURE;
        }
    };
    let _ = writeln!(
        out,
        "loaded {} in {:.2} s",
        path.display(),
        t.elapsed().as_secs_f64()
    );
    let sentence =
        "The buyer shall pay within 30 days of delivery; late payments accrue interest. ";
    let mut text = String::new();
    let request = |text: &str| ChatRequest {
        messages: vec![Message::user(format!("{text}\nWhen must the buyer pay?"))],
        params: RequestParams::default(),
    };
    let ids = loop {
        let ids = match model.prompt_ids(&request(&text)) {
            Ok(ids) => ids,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "{e}");
                return ExitCode::FAILURE;
            }
        };
        if ids.len() >= prompt_tokens {
            break ids;
        }
        text.push_str(sentence);
    };
    for run in 0..=runs {
        match model.time_greedy(&ids, answer_tokens) {
            Ok(t) => {
                let _ = writeln!(
                    out,
                    "{}: {} prompt tokens in {:.0} ms ({:.0} tokens/s); {} answer tokens at \
                     {:.1} tokens/s",
                    if run == 0 {
                        "warm-up".to_string()
                    } else {
                        format!("run {run}")
                    },
                    t.prompt_tokens,
                    t.prompt_ms,
                    t.prompt_tokens_per_s(),
                    t.generated_tokens,
                    t.generated_tokens_per_s()
                );
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
