//! Embedding throughput and memory on the CMRC 2018 Chinese trial set.
//!
//! `cargo bench -p adopt-embed` prints sentences per second for one text per call (the
//! baseline) and for batches of `batch_size()`, measured in the same run, plus peak RSS.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use adopt_core::Embedder;
use adopt_embed::{default_model_dir, FastEmbedder, SPEC_FILE};

const CMRC: &str = "../../../shared/corpus/zh/cmrc2018_trial.json";

/// Sentences (split on 。！？) from the passages: the size of text a chunker hands over.
fn sentences(limit: usize) -> Vec<String> {
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(CMRC).expect("shared corpus")).unwrap();
    let mut out = Vec::new();
    for item in data.as_array().unwrap() {
        let text = item["context_text"].as_str().unwrap_or_default();
        for sentence in text.split_inclusive(['。', '！', '？']) {
            if sentence.chars().count() >= 8 {
                out.push(sentence.to_owned());
            }
            if out.len() == limit {
                return out;
            }
        }
    }
    out
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds this process has used, all threads (`/proc/self/stat`, 100 ticks a second).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Runs `work` and returns (wall seconds, CPU seconds).
fn timed(work: impl FnOnce()) -> (f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    work();
    (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu)
}

fn main() {
    let dir = default_model_dir();
    if !dir.join(SPEC_FILE).is_file() {
        println!(
            "skipped: no prepared model in {}; run python3 models/prepare.py",
            dir.display()
        );
        return;
    }
    let started = Instant::now();
    let model = FastEmbedder::load(&dir, None).unwrap_or_else(|err| panic!("{err}"));
    println!(
        "load: {:.2} s, peak RSS {:.0} MB",
        started.elapsed().as_secs_f64(),
        peak_rss_mb()
    );

    let texts = sentences(512);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let tokens: usize = refs.iter().map(|t| model.count_tokens(t)).sum();
    println!(
        "{} sentences, {:.1} tokens each on average",
        refs.len(),
        tokens as f64 / refs.len() as f64
    );

    // Wall time depends on what else runs on the machine; CPU time says what the work costs.
    let single = &refs[..64];
    let (wall, cpu) = timed(|| {
        for text in single {
            model.embed_passages(&[text]).unwrap();
        }
    });
    let n = single.len() as f64;
    println!(
        "one per call (baseline): {:.1} sentences/s wall, {:.1} per CPU second",
        n / wall,
        n / cpu
    );
    let (wall, cpu) = timed(|| {
        for chunk in refs.chunks(model.batch_size()) {
            model.embed_passages(chunk).unwrap();
        }
    });
    let n = refs.len() as f64;
    println!(
        "{} per call: {:.1} sentences/s wall ({:.0} tokens/s), {:.1} per CPU second",
        model.batch_size(),
        n / wall,
        tokens as f64 / wall,
        n / cpu
    );
    println!("peak RSS {:.0} MB", peak_rss_mb());
}
