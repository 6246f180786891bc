//! Integration tests of adopt-clean: PII precision/recall on a generated labelled set, the whole
//! pipeline on real Chinese text (CMRC 2018 contexts from `shared/corpus`) and generated documents,
//! business records full of numbers kept and redacted, and the alert when filters empty a department.

mod neardup;
mod pii_eval;
mod pipeline;
mod records;

use adopt_core::{Document, Format, UNIT_SEPARATOR};

/// Deterministic generator (splitmix64): the labelled sets are the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

pub fn doc(id: &str, department: Option<&str>, format: Format, units: &[&str]) -> Document {
    Document {
        doc_id: id.to_string(),
        source_path: format!("{}/{id}.{}", department.unwrap_or("misc"), format),
        department: department.map(str::to_string),
        format,
        title: None,
        author: None,
        created: None,
        page_count: units.len() as u32,
        text: units.join(&UNIT_SEPARATOR.to_string()),
        unit_labels: (1..=units.len()).map(|i| format!("page {i}")).collect(),
        encoding: None,
        byte_size: 0,
        modified_ms: 0,
        content_hash: String::new(),
        warnings: vec![],
        tables: vec![],
    }
}

/// Paragraphs of real Chinese text: the contexts of the CMRC 2018 trial set, or `None` when the
/// shared corpus is not checked out next to this repository.
pub fn cmrc_contexts() -> Option<Vec<String>> {
    let path = std::env::current_dir()
        .expect("cargo runs tests and benches in the package folder")
        .join("../../../shared/corpus/zh/cmrc2018_trial.json");
    let text = std::fs::read_to_string(path).ok()?;
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).ok()?;
    Some(
        items
            .iter()
            .filter_map(|i| i["context_text"].as_str().map(str::to_string))
            .collect(),
    )
}
