//! Measures the local engine's speed on a GGUF file: prompt processing and generation rates.
//!
//! cargo run --release -p adopt-local --example local_speed -- MODEL.gguf [ANSWER_TOKENS] [RUNS]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use adopt_local::{LocalModel, LocalOptions};
use adopt_trial::{ChatModel, ChatRequest, Message, RequestParams};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        let _ = writeln!(
            std::io::stderr(),
            "usage: local_speed MODEL.gguf [ANSWER_TOKENS] [RUNS]"
        );
        return ExitCode::FAILURE;
    };
    let tokens: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let mut out = std::io::stdout();
    let t = Instant::now();
    let model = match LocalModel::load(&path, &LocalOptions::default()) {
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
    let request = ChatRequest {
        messages: vec![Message::user(
            "Write a long story about a dragon who learns to bake bread.",
        )],
        params: RequestParams {
            temperature: Some(0.0),
            max_tokens: Some(tokens),
            stream: Some(true),
            ..RequestParams::default()
        },
    };
    for run in 1..=runs {
        match model.chat(&request) {
            Ok(r) => {
                let _ = writeln!(
                    out,
                    "run {run}: {} prompt tokens, TTFT {:.0} ms ({:.0} prompt tokens/s); \
                     {} answer tokens at {:.1} tokens/s; {:.0} ms in all",
                    r.input_tokens,
                    r.ttft_ms.unwrap_or(f64::NAN),
                    r.input_tokens as f64 * 1000.0 / r.ttft_ms.unwrap_or(f64::NAN),
                    r.output_tokens,
                    r.tokens_per_s.unwrap_or(f64::NAN),
                    r.latency_ms
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
