//! The tokenizer of a GGUF model, rebuilt from its metadata (`tokenizer.ggml.*`) with the
//! `tokenizers` crate, or read from a `tokenizer.json` when one is given. Only GPT-2 style
//! byte-level BPE vocabularies (`tokenizer.ggml.model = "gpt2"`: SmolLM2, Qwen, Llama 3) are
//! rebuilt; SentencePiece ones need their tokenizer.json.

use std::path::Path;

use candle_core::quantized::gguf_file;
use tokenizers::decoders::byte_level::ByteLevel;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// GGUF token types (llama.cpp's `llama_token_type`) that are special tokens.
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// Qwen2's pre-tokenizer split (llama.cpp `LLAMA_VOCAB_PRE_TYPE_QWEN2`).
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Llama 3's (llama.cpp `LLAMA_VOCAB_PRE_TYPE_LLAMA3`).
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The tokenizer and the ids the engine needs.
pub struct Vocabulary {
    pub tokenizer: Tokenizer,
    /// Prepended to the prompt when the model wants it (`tokenizer.ggml.add_bos_token`).
    pub bos: Option<u32>,
    /// Tokens that end the answer: end of sequence, end of turn.
    pub stop_ids: Vec<u32>,
}

impl Vocabulary {
    /// The ids of a text that may contain special tokens (`<|im_start|>`), which are kept whole.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| e.to_string())?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        ids.extend(self.bos);
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// The text of generated ids, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        self.tokenizer.decode(ids, true).map_err(|e| e.to_string())
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }
}

/// Builds the vocabulary from the GGUF metadata, or from `tokenizer_json` when given.
pub fn load(
    content: &gguf_file::Content,
    tokenizer_json: Option<&Path>,
) -> Result<Vocabulary, String> {
    let md = &content.metadata;
    let get_u32 = |key: &str| md.get(key).and_then(|v| v.to_u32().ok());
    let tokenizer = match tokenizer_json {
        Some(path) => Tokenizer::from_file(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        None => from_gguf(content)?,
    };
    let add_bos = md
        .get("tokenizer.ggml.add_bos_token")
        .and_then(|v| v.to_bool().ok())
        .unwrap_or(false);
    let bos = get_u32("tokenizer.ggml.bos_token_id").filter(|_| add_bos);
    let mut stop_ids: Vec<u32> = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
        .into_iter()
        .filter_map(get_u32)
        .collect();
    for token in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>"] {
        stop_ids.extend(tokenizer.token_to_id(token));
    }
    stop_ids.sort_unstable();
    stop_ids.dedup();
    Ok(Vocabulary {
        tokenizer,
        bos,
        stop_ids,
    })
}

fn from_gguf(content: &gguf_file::Content) -> Result<Tokenizer, String> {
    let md = &content.metadata;
    let model = md
        .get("tokenizer.ggml.model")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str)
        .unwrap_or("(none)");
    if model != "gpt2" {
        return Err(format!(
            "tokenizer.ggml.model is {model:?}; only byte-level BPE (\"gpt2\") vocabularies are \
             rebuilt from the model file: give the model's tokenizer.json instead"
        ));
    }
    let strings = |key: &str| -> Result<Vec<String>, String> {
        let values = md
            .get(key)
            .ok_or_else(|| format!("{key} is missing"))?
            .to_vec()
            .map_err(|e| format!("{key}: {e}"))?;
        values
            .iter()
            .map(|v| v.to_string().cloned().map_err(|e| format!("{key}: {e}")))
            .collect()
    };
    let tokens = strings("tokenizer.ggml.tokens")?;
    let merges = strings("tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| format!("tokenizer.ggml.merges: {m:?} is not a pair"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let types: Vec<i32> = match md.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|t| t.to_i32().unwrap_or(1))
            .collect(),
        None => Vec::new(),
    };
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
