//! The tokenizer of a GGUF model, rebuilt from its metadata (`tokenizer.ggml.*`), or read from a
//! `tokenizer.json` when one is given. Two vocabulary kinds are rebuilt, each the way llama.cpp
//! tokenizes it so that prompts count and split as they would on a llama.cpp server:
//! GPT-2 style byte-level BPE (`tokenizer.ggml.model = "gpt2"`: SmolLM2, Qwen, Llama 3), with the
//! `tokenizers` crate, and SentencePiece BPE (`"llama"`: Gemma, Llama 2, Mistral), merged by
//! token score with byte fallback in [`SentencePiece`].

use std::collections::{BinaryHeap, HashMap};
use std::path::Path;

use candle_core::quantized::gguf_file;
use tokenizers::decoders::byte_level::ByteLevel;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// GGUF token types (llama.cpp's `llama_token_type`).
const TOKEN_TYPE_NORMAL: i32 = 1;
const TOKEN_TYPE_UNKNOWN: i32 = 2;
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;
const TOKEN_TYPE_BYTE: i32 = 6;

/// Qwen2's pre-tokenizer split (llama.cpp `LLAMA_VOCAB_PRE_TYPE_QWEN2`).
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's (llama.cpp `LLAMA_VOCAB_PRE_TYPE_LLAMA3`).
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The tokenizer and the ids the engine needs.
pub struct Vocabulary {
    codec: Codec,
    /// Prepended to the prompt when the model wants it (`tokenizer.ggml.add_bos_token`).
    pub bos: Option<u32>,
    /// Tokens that end the answer: end of sequence, end of turn.
    pub stop_ids: Vec<u32>,
}

enum Codec {
    Bpe(Box<Tokenizer>),
    SentencePiece(SentencePiece),
}

impl Vocabulary {
    /// The ids of a text that may contain special tokens (`<|im_start|>`), which are kept whole.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        let mut ids = Vec::with_capacity(text.len() / 3 + 2);
        ids.extend(self.bos);
        match &self.codec {
            Codec::Bpe(tokenizer) => {
                let enc = tokenizer.encode(text, false).map_err(|e| e.to_string())?;
                ids.extend_from_slice(enc.get_ids());
            }
            Codec::SentencePiece(spm) => spm.encode(text, &mut ids),
        }
        Ok(ids)
    }

    /// The text of generated ids, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        match &self.codec {
            Codec::Bpe(tokenizer) => tokenizer.decode(ids, true).map_err(|e| e.to_string()),
            Codec::SentencePiece(spm) => Ok(spm.decode(ids)),
        }
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        match &self.codec {
            Codec::Bpe(tokenizer) => tokenizer.token_to_id(token),
            Codec::SentencePiece(spm) => spm.ids.get(token).copied(),
        }
    }
}

/// Builds the vocabulary from the GGUF metadata, or from `tokenizer_json` when given.
pub fn load(
    content: &gguf_file::Content,
    tokenizer_json: Option<&Path>,
) -> Result<Vocabulary, String> {
    let md = &content.metadata;
    let get_u32 = |key: &str| md.get(key).and_then(|v| v.to_u32().ok());
    let codec = match tokenizer_json {
        Some(path) => Codec::Bpe(Box::new(
            Tokenizer::from_file(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        )),
        None => from_gguf(content)?,
    };
    let add_bos = md
        .get("tokenizer.ggml.add_bos_token")
        .and_then(|v| v.to_bool().ok())
        // llama.cpp's default for SentencePiece vocabularies that do not say.
        .unwrap_or(matches!(codec, Codec::SentencePiece(_)));
    let mut vocab = Vocabulary {
        codec,
        bos: get_u32("tokenizer.ggml.bos_token_id").filter(|_| add_bos),
        stop_ids: Vec::new(),
    };
    let mut stop_ids: Vec<u32> = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
        .into_iter()
        .filter_map(get_u32)
        .collect();
    for token in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>"] {
        stop_ids.extend(vocab.token_id(token));
    }
    stop_ids.sort_unstable();
    stop_ids.dedup();
    vocab.stop_ids = stop_ids;
    Ok(vocab)
}

fn strings(md: &HashMap<String, gguf_file::Value>, key: &str) -> Result<Vec<String>, String> {
    let values = md
        .get(key)
        .ok_or_else(|| format!("{key} is missing"))?
        .to_vec()
        .map_err(|e| format!("{key}: {e}"))?;
    values
        .iter()
        .map(|v| v.to_string().cloned().map_err(|e| format!("{key}: {e}")))
        .collect()
}

fn token_types(md: &HashMap<String, gguf_file::Value>) -> Result<Vec<i32>, String> {
    match md.get("tokenizer.ggml.token_type") {
        Some(v) => Ok(v
            .to_vec()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|t| t.to_i32().unwrap_or(TOKEN_TYPE_NORMAL))
            .collect()),
        None => Ok(Vec::new()),
    }
}

fn from_gguf(content: &gguf_file::Content) -> Result<Codec, String> {
    let md = &content.metadata;
    let model = md
        .get("tokenizer.ggml.model")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
        .unwrap_or("(none)");
    match model {
        "gpt2" => Ok(Codec::Bpe(Box::new(byte_level_bpe(md)?))),
        "llama" => Ok(Codec::SentencePiece(SentencePiece::from_gguf(md)?)),
        other => Err(format!(
            "tokenizer.ggml.model is {other:?}; only byte-level BPE (\"gpt2\") and SentencePiece \
             (\"llama\") vocabularies are rebuilt from the model file: give the model's \
             tokenizer.json instead"
        )),
    }
}

fn byte_level_bpe(md: &HashMap<String, gguf_file::Value>) -> Result<Tokenizer, String> {
    let tokens = strings(md, "tokenizer.ggml.tokens")?;
    let merges = strings(md, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| format!("tokenizer.ggml.merges: {m:?} is not a pair"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let types = token_types(md)?;
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| e.to_string())?;
    let mut tokenizer = Tokenizer::new(bpe);
    let pre = md
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
        .unwrap_or("default");
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer(pre)?));
    tokenizer.with_decoder(Some(ByteLevel::default()));

    // Control and user-defined tokens are matched whole before BPE, as llama.cpp does.
    let unk = md
        .get("tokenizer.ggml.unknown_token_id")
        .and_then(|v| v.to_u32().ok());
    let specials: Vec<AddedToken> = tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            matches!(
                types.get(*i).copied(),
                Some(TOKEN_TYPE_CONTROL | TOKEN_TYPE_USER_DEFINED)
            ) || Some(*i as u32) == unk
        })
        .map(|(_, t)| AddedToken::from(t.clone(), true))
        .collect();
    tokenizer
        .add_special_tokens(specials)
        .map_err(|e| e.to_string())?;
    Ok(tokenizer)
}

/// The pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre`.
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper, String> {
    let byte_level = |use_regex: bool| -> PreTokenizerWrapper {
        tokenizers::pre_tokenizers::byte_level::ByteLevel::new(false, true, use_regex).into()
    };
    let split = |pattern: &str| -> Result<PreTokenizerWrapper, String> {
        Split::new(
            SplitPattern::Regex(pattern.into()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map(Into::into)
        .map_err(|e| e.to_string())
    };
    Ok(match pre {
        // GPT-2's split, digits one by one first (SmolLM, StarCoder).
        "smollm" | "starcoder" | "refact" => {
            Sequence::new(vec![Digits::new(true).into(), byte_level(true)]).into()
        }
        "gpt-2" | "gpt2" | "default" => byte_level(true),
        "qwen2" => Sequence::new(vec![split(QWEN2_SPLIT)?, byte_level(false)]).into(),
        "llama3" | "llama-bpe" => {
            Sequence::new(vec![split(LLAMA3_SPLIT)?, byte_level(false)]).into()
        }
        other => {
            return Err(format!(
                "pre-tokenizer {other:?} is not known to the in-process engine: give the \
                 model's tokenizer.json instead"
            ))
        }
    })
}

/// A SentencePiece BPE vocabulary tokenized as llama.cpp's `llm_tokenizer_spm` does: special
/// tokens are cut out of the text first (longest first), spaces become `▁`, then the adjacent
/// pair whose concatenation is the best-scored token is merged until none is left, and whatever
/// is not a token falls back to `<0xNN>` byte tokens.
struct SentencePiece {
    tokens: Vec<String>,
    scores: Vec<f32>,
    types: Vec<i32>,
    ids: HashMap<String, u32>,
    /// The `<0xNN>` token of each byte.
    bytes: Vec<Option<u32>>,
    /// Control, user-defined and unknown tokens, longest first: matched whole in the text.
    specials: Vec<u32>,
    unknown: Option<u32>,
    /// A space before the text and after each special token (`tokenizer.ggml.add_space_prefix`).
    add_space_prefix: bool,
}

/// Piece of the prompt while special tokens are being cut out.
enum Fragment {
    Text(std::ops::Range<usize>),
    Token(u32),
}

/// A run of the text being merged: a linked list over `symbols`.
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge of two adjacent symbols.
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    len: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// Highest score first, then the leftmost pair (llama.cpp's `llm_bigram_spm::comparator`).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

const SPACE: &str = "\u{2581}";

impl SentencePiece {
    fn from_gguf(md: &HashMap<String, gguf_file::Value>) -> Result<Self, String> {
        let tokens = strings(md, "tokenizer.ggml.tokens")?;
        let scores: Vec<f32> = match md.get("tokenizer.ggml.scores") {
            Some(v) => v
                .to_vec()
                .map_err(|e| format!("tokenizer.ggml.scores: {e}"))?
                .iter()
                .map(|s| s.to_f32().unwrap_or(0.0))
                .collect(),
            None => vec![0.0; tokens.len()],
        };
        let mut types = token_types(md)?;
        types.resize(tokens.len(), TOKEN_TYPE_NORMAL);
        if scores.len() != tokens.len() {
            return Err(format!(
                "tokenizer.ggml.scores has {} entries for {} tokens",
                scores.len(),
                tokens.len()
            ));
        }
        let ids: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let bytes = (0..=255u8)
            .map(|b| ids.get(&format!("<0x{b:02X}>")).copied())
            .collect();
        let unknown = md
            .get("tokenizer.ggml.unknown_token_id")
            .and_then(|v| v.to_u32().ok());
        let mut specials: Vec<u32> = (0..tokens.len() as u32)
            .filter(|&i| {
                matches!(
                    types[i as usize],
                    TOKEN_TYPE_CONTROL | TOKEN_TYPE_USER_DEFINED | TOKEN_TYPE_UNKNOWN
                ) && !tokens[i as usize].is_empty()
            })
            .collect();
        specials.sort_by_key(|&i| std::cmp::Reverse(tokens[i as usize].len()));
        let add_space_prefix = md
            .get("tokenizer.ggml.add_space_prefix")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(true);
        Ok(SentencePiece {
            tokens,
            scores,
            types,
            ids,
            bytes,
            specials,
            unknown,
            add_space_prefix,
        })
    }

    fn encode(&self, text: &str, out: &mut Vec<u32>) {
        let mut is_prev_special = true;
        for fragment in self.partition(text) {
            match fragment {
                Fragment::Token(id) => {
                    out.push(id);
                    is_prev_special = true;
                }
                Fragment::Text(range) => {
                    let mut piece = String::with_capacity(range.len() + 3);
                    if self.add_space_prefix && is_prev_special {
                        piece.push(' ');
                    }
                    piece.push_str(&text[range]);
                    self.merge(&piece.replace(' ', SPACE), out);
                    is_prev_special = false;
                }
            }
        }
    }

    /// Cuts the special tokens out of `text`, each token in turn over what is left
    /// (llama.cpp's `tokenizer_st_partition`).
    fn partition(&self, text: &str) -> Vec<Fragment> {
        let mut fragments = vec![Fragment::Text(0..text.len())];
        for &id in &self.specials {
            let special = self.tokens[id as usize].as_str();
            if !text.contains(special) {
                continue;
            }
            let mut next = Vec::with_capacity(fragments.len() + 2);
            for fragment in fragments {
                let Fragment::Text(range) = fragment else {
                    next.push(fragment);
                    continue;
                };
                let mut start = range.start;
                while let Some(at) = text[start..range.end].find(special) {
                    let at = start + at;
                    if at > start {
                        next.push(Fragment::Text(start..at));
                    }
                    next.push(Fragment::Token(id));
                    start = at + special.len();
                }
                if start < range.end {
                    next.push(Fragment::Text(start..range.end));
                }
            }
            fragments = next;
        }
        fragments
    }

    /// Merges the characters of `text` (spaces already `▁`) into tokens.
    fn merge(&self, text: &str, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
        for (i, (start, c)) in text.char_indices().enumerate() {
            symbols.push(Symbol {
                start,
                len: c.len_utf8(),
                prev: i.checked_sub(1),
                next: Some(i + 1),
            });
        }
        if let Some(last) = symbols.last_mut() {
            last.next = None;
        }
        let mut queue = BinaryHeap::new();
        let bigram = |symbols: &[Symbol], left: usize, right: usize| -> Option<Bigram> {
            let (l, r) = (&symbols[left], &symbols[right]);
            let piece = &text[l.start..r.start + r.len];
            let id = *self.ids.get(piece)?;
            Some(Bigram {
                score: self.scores[id as usize],
                left,
                right,
                len: piece.len(),
            })
        };
        for i in 1..symbols.len() {
            queue.extend(bigram(&symbols, i - 1, i));
        }
        while let Some(b) = queue.pop() {
            let (left, right) = (&symbols[b.left], &symbols[b.right]);
            // Stale: one side was merged into something else since.
            if left.len == 0 || right.len == 0 || left.len + right.len != b.len {
                continue;
            }
            let right_next = right.next;
            symbols[b.left].len = b.len;
            symbols[b.right].len = 0;
            symbols[b.left].next = right_next;
            if let Some(n) = right_next {
                symbols[n].prev = Some(b.left);
            }
            if let Some(p) = symbols[b.left].prev {
                queue.extend(bigram(&symbols, p, b.left));
            }
            if let Some(n) = right_next {
                queue.extend(bigram(&symbols, b.left, n));
            }
        }
        let mut at = Some(0);
        while let Some(i) = at {
            let s = &symbols[i];
            let piece = &text[s.start..s.start + s.len];
            match self.ids.get(piece) {
                Some(&id) => out.push(id),
                None => out.extend(
                    piece
                        .bytes()
                        .filter_map(|b| self.bytes[b as usize].or(self.unknown)),
                ),
            }
            at = s.next;
        }
    }

    /// llama.cpp's `token_to_piece` without special tokens, concatenated.
    fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            let Some(token) = self.tokens.get(id as usize) else {
                continue;
            };
            match self.types[id as usize] {
                TOKEN_TYPE_NORMAL | TOKEN_TYPE_USER_DEFINED => {
                    bytes.extend_from_slice(token.replace(SPACE, " ").as_bytes())
                }
                TOKEN_TYPE_BYTE => bytes.extend(
                    token
                        .strip_prefix("<0x")
                        .and_then(|t| t.strip_suffix('>'))
                        .and_then(|hex| u8::from_str_radix(hex, 16).ok()),
                ),
                TOKEN_TYPE_UNKNOWN => bytes.extend_from_slice("\u{2585}".as_bytes()),
                _ => {}
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
