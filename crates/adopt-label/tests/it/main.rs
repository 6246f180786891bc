//! Integration tests of adopt-label: agreement statistics against published worked examples,
//! the label model on noisy synthetic voters, the Label Studio round trip (validated by Label
//! Studio's own SDK when it is installed), QA sets from the CMRC 2018 trial contexts in
//! `shared/corpus`, LLM-written QA sets from a real local model (SmolLM2 through llama.cpp), and
//! the whole stage on generated documents.

// The Label Studio check tells on stderr when it is skipped for want of the SDK.
#![allow(clippy::print_stderr)]

mod agreement;
mod label_model;
mod label_studio;
mod pipeline;
mod qa_corpus;
mod qa_llm;

/// Deterministic generator (splitmix64): the synthetic sets are the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// An index drawn with the given probabilities.
    pub fn pick(&mut self, weights: &[f64]) -> usize {
        let mut u = self.unit() * weights.iter().sum::<f64>();
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }
}
