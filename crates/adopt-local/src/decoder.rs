//! One decoder-only transformer for the GGUF architectures run in-process: `llama` (and the
//! Llama-shaped files written with its keys: SmolLM2, Mistral, TinyLlama), `qwen2`, `qwen3` and
//! `gemma3`. Weights stay quantized and their products are candle's kernels; everything else
//! (norms, rotary embeddings, attention over a growing key/value cache, activations) is
//! [`crate::kernels`] on the one thread pool of [`crate::threads`].
//!
//! The graph of each family follows llama.cpp's (`src/models/*.cpp`), so that a file answers as
//! it does on a llama.cpp server. Gemma 3 is built here rather than with
//! candle-transformers' `quantized_gemma3` (MIT/Apache-2.0), which this adapts: that one builds
//! 128k-position RoPE tables per layer (2.4 GB for the 270M model), holds the 262k-token
//! embedding as f32 (0.7 GB), uses SiLU where Gemma has GELU, and lets sliding-window layers
//! see the whole context once generation starts.

use std::cell::RefCell;
use std::io::{Read, Seek};
use std::sync::Arc;

use candle_core::quantized::{gguf_file, QTensor};
use candle_core::{bail, DType, Device, Result, Tensor};

use crate::attention::{self, Cache, Rows};
use crate::kernels;
use crate::matmul::{Activations, Weight};
use crate::threads::for_each_row;

/// Prompt tokens per forward pass: bounds the activations (and matches llama.cpp's batch).
const PREFILL_CHUNK: usize = 512;

/// The families, by their GGUF `general.architecture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Llama,
    Qwen2,
    Qwen3,
    Gemma3,
}

impl Family {
    pub(crate) fn of(architecture: &str) -> Option<Self> {
        Some(match architecture {
            "llama" => Family::Llama,
            "qwen2" => Family::Qwen2,
            "qwen3" => Family::Qwen3,
            "gemma3" => Family::Gemma3,
            _ => return None,
        })
    }
}

/// Rotary embedding of a set of layers: `angle_i(p) = p * freq_scale * base^(-2i/dims) / f_i`.
struct Rope {
    dims: usize,
    base: f32,
    freq_scale: f32,
    /// `rope_freqs.weight` (Llama 3.1 style long-context factors), one per pair.
    factors: Option<Vec<f32>>,
}

impl Rope {
    /// Cosines and sines for positions `start..start + len`, `dims / 2` each per position,
    /// computed as llama.cpp does (`theta *= theta_scale`, in f32) so angles agree to the bit.
    fn table(&self, start: usize, len: usize) -> (Vec<f32>, Vec<f32>) {
        let half = self.dims / 2;
        let theta_scale = self.base.powf(-2.0 / self.dims as f32);
        let mut cos = Vec::with_capacity(len * half);
        let mut sin = Vec::with_capacity(len * half);
        for p in start..start + len {
            let mut theta = p as f32;
            for i in 0..half {
                let ff = self.factors.as_ref().map_or(1.0, |f| f[i]);
                let angle = self.freq_scale * (theta / ff);
                cos.push(angle.cos());
                sin.push(angle.sin());
                theta *= theta_scale;
            }
        }
        (cos, sin)
    }
}

struct Linear {
    weight: Weight,
    bias: Option<Vec<f32>>,
}

impl Linear {
    fn forward(&self, x: &Activations<'_>) -> Result<Vec<f32>> {
        self.weight.forward(x)
    }
}

/// Token embeddings: rows of our repacked blocks (shared with a tied output), or candle's.
enum Embedding {
    Rows(Arc<Weight>),
    Candle(Arc<QTensor>),
}

struct Layer {
    attn_norm: Vec<f32>,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_norm: Option<Vec<f32>>,
    k_norm: Option<Vec<f32>>,
    post_attn_norm: Option<Vec<f32>>,
    ffn_norm: Vec<f32>,
    gate: Linear,
    up: Linear,
    down: Linear,
    post_ffn_norm: Option<Vec<f32>>,
    /// Index into [`Decoder::ropes`].
    rope: usize,
    /// Keys seen by each query, itself included (sliding-window layers).
    window: Option<usize>,
    /// Keys and values of every position so far, `[pos][kv_head][head_dim]`.
    keys: Vec<f32>,
    values: Vec<f32>,
}

/// A loaded model with its key/value cache (one sequence).
pub(crate) struct Decoder {
    family: Family,
    dim: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    eps: f32,
    embedding: Embedding,
    embedding_scale: Option<f32>,
    layers: Vec<Layer>,
    output_norm: Vec<f32>,
    output: Arc<Weight>,
    vocab: usize,
    ropes: Vec<Rope>,
    attn_scale: f32,
    threads: usize,
    /// Positions in the cache.
    len: usize,
}

thread_local! {
    /// Attention scores of the row a pool thread is computing.
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

fn vector(t: &QTensor) -> Result<Vec<f32>> {
    t.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()
}

impl Decoder {
    pub(crate) fn from_gguf<R: Read + Seek>(
        content: &gguf_file::Content,
        reader: &mut R,
        family: Family,
        architecture: &str,
        threads: usize,
    ) -> Result<Self> {
        let md = &content.metadata;
        let get = |key: &str| md.get(&format!("{architecture}.{key}"));
        let get_u32 = |key: &str| -> Result<Option<usize>> {
            get(key).map(|v| v.to_u32().map(|n| n as usize)).transpose()
        };
        let need = |key: &str| -> Result<usize> {
            match get_u32(key)? {
                Some(n) => Ok(n),
                None => bail!("{architecture}.{key} is missing"),
            }
        };
        let dim = need("embedding_length")?;
        let n_layer = need("block_count")?;
        let n_head = need("attention.head_count")?;
        let n_kv_head = get_u32("attention.head_count_kv")?.unwrap_or(n_head);
        let head_dim = get_u32("attention.key_length")?.unwrap_or(dim / n_head);
        let rope_dims = get_u32("rope.dimension_count")?.unwrap_or(head_dim);
        let eps = match get("attention.layer_norm_rms_epsilon") {
            Some(v) => v.to_f32()?,
            None => 1e-5,
        };
        let base = match get("rope.freq_base") {
            Some(v) => v.to_f32()?,
            None => 10_000.0,
        };
        let linear_scaling = get("rope.scaling.type")
            .and_then(|v| v.to_string().ok())
            .is_some_and(|t| t == "linear");
        let freq_scale = match get("rope.scaling.factor") {
            Some(v) if linear_scaling => 1.0 / v.to_f32()?,
            _ => 1.0,
        };
        if n_kv_head == 0 || n_head % n_kv_head != 0 || rope_dims > head_dim {
            bail!("unsupported attention shape: {n_head} heads, {n_kv_head} key/value heads");
        }

        let cpu = Device::Cpu;
        let mut tensor = |name: &str| content.tensor(reader, name, &cpu);
        let factors = match tensor("rope_freqs.weight") {
            Ok(t) => Some(vector(&t)?),
            Err(_) => None,
        };
        let mut ropes = vec![Rope {
            dims: rope_dims,
            base,
            freq_scale,
            factors,
        }];
        let mut sliding = None;
        if family == Family::Gemma3 {
            // llama.cpp: sliding-window layers use base 10k and no scaling; 5 of each 6 slide.
            let local_base = match get("rope.local_freq_base") {
                Some(v) => v.to_f32()?,
                None => 10_000.0,
            };
            ropes.push(Rope {
                dims: rope_dims,
                base: local_base,
                freq_scale: 1.0,
                factors: None,
            });
            sliding = get_u32("attention.sliding_window")?;
        }
        let attn_scale = if family == Family::Gemma3 && n_layer == 62 {
            // Gemma 3 27B scales queries by the hidden size per head (query_pre_attn_scalar).
            1.0 / ((dim / n_head) as f32).sqrt()
        } else {
            1.0 / (head_dim as f32).sqrt()
        };

        let table = Arc::new(tensor("token_embd.weight")?);
        let (embedding, output) = match tensor("output.weight") {
            Ok(t) => {
                let output = Arc::new(Weight::new(Arc::new(t))?);
                let rows = Weight::new(table.clone())?;
                let embedding = if rows.is_repacked() {
                    Embedding::Rows(Arc::new(rows))
                } else {
                    Embedding::Candle(table)
                };
                (embedding, output)
            }
            // Tied: the output projection is the embedding table, held once.
            Err(_) => {
                let output = Arc::new(Weight::new(table.clone())?);
                let embedding = if output.is_repacked() {
                    Embedding::Rows(output.clone())
                } else {
                    Embedding::Candle(table)
                };
                (embedding, output)
            }
        };
        let output_norm = vector(&tensor("output_norm.weight")?)?;
        let linear = |tensor: &mut dyn FnMut(&str) -> Result<QTensor>,
                      name: &str,
                      with_bias: bool|
         -> Result<Linear> {
            let weight = Weight::new(Arc::new(tensor(&format!("{name}.weight"))?))?;
            let bias = if with_bias {
                Some(vector(&tensor(&format!("{name}.bias"))?)?)
            } else {
                None
            };
            Ok(Linear { weight, bias })
        };
        let mut layers = Vec::with_capacity(n_layer);
        for i in 0..n_layer {
            let p = format!("blk.{i}");
            let bias = family == Family::Qwen2;
            let q = linear(&mut tensor, &format!("{p}.attn_q"), bias)?;
            let k = linear(&mut tensor, &format!("{p}.attn_k"), bias)?;
            let v = linear(&mut tensor, &format!("{p}.attn_v"), bias)?;
            let o = linear(&mut tensor, &format!("{p}.attn_output"), false)?;
            let gate = linear(&mut tensor, &format!("{p}.ffn_gate"), false)?;
            let up = linear(&mut tensor, &format!("{p}.ffn_up"), false)?;
            let down = linear(&mut tensor, &format!("{p}.ffn_down"), false)?;
            let mut norm = |name: &str| -> Result<Vec<f32>> {
                vector(&tensor(&format!("{p}.{name}.weight"))?)
            };
            let attn_norm = norm("attn_norm")?;
            let ffn_norm = norm("ffn_norm")?;
            let (q_norm, k_norm) = match family {
                Family::Qwen3 | Family::Gemma3 => {
                    (Some(norm("attn_q_norm")?), Some(norm("attn_k_norm")?))
                }
                Family::Llama | Family::Qwen2 => (None, None),
            };
            let (post_attn_norm, post_ffn_norm) = match family {
                Family::Gemma3 => (
                    Some(norm("post_attention_norm")?),
                    Some(norm("post_ffw_norm")?),
                ),
                _ => (None, None),
            };
            let slides = family == Family::Gemma3 && i % 6 < 5;
            layers.push(Layer {
                attn_norm,
                q,
                k,
                v,
                o,
                q_norm,
                k_norm,
                post_attn_norm,
                ffn_norm,
                gate,
                up,
                down,
                post_ffn_norm,
                rope: usize::from(slides),
                window: sliding.filter(|_| slides),
                keys: Vec::new(),
                values: Vec::new(),
            });
        }
        let embedding_scale = (family == Family::Gemma3).then(|| (dim as f32).sqrt());
        Ok(Decoder {
            family,
            dim,
            n_head,
            n_kv_head,
            head_dim,
            eps,
            embedding,
            embedding_scale,
            layers,
            output_norm,
            vocab: output.rows(),
            output,
            ropes,
            attn_scale,
            threads,
            len: 0,
        })
    }

    /// Forgets the sequence (the cache keeps its memory for the next one).
    pub(crate) fn clear(&mut self) {
        for layer in &mut self.layers {
            layer.keys.clear();
            layer.values.clear();
        }
        self.len = 0;
    }

    /// Appends `ids` to the sequence and returns the logits of the next token.
    pub(crate) fn forward(&mut self, ids: &[u32]) -> Result<Tensor> {
        if ids.is_empty() {
            bail!("no tokens to run");
        }
        let mut logits = None;
        let chunks = ids.len().div_ceil(PREFILL_CHUNK);
        for (c, chunk) in ids.chunks(PREFILL_CHUNK).enumerate() {
            logits = self.step(chunk, c + 1 == chunks)?;
        }
        logits.ok_or_else(|| candle_core::Error::Msg("no logits".into()))
    }

    /// One pass over `ids` (at positions `len..`); logits only when `want_logits`.
    fn step(&mut self, ids: &[u32], want_logits: bool) -> Result<Option<Tensor>> {
        let cpu = Device::Cpu;
        let n = ids.len();
        let pos = self.len;
        let (dim, hd) = (self.dim, self.head_dim);
        let (q_dim, kv_dim) = (self.n_head * hd, self.n_kv_head * hd);
        let group = self.n_head / self.n_kv_head;
        let eps = self.eps;

        if ids.iter().any(|&id| id as usize >= self.vocab) {
            bail!("token id out of the vocabulary");
        }
        let mut x = match &self.embedding {
            Embedding::Rows(table) => {
                let mut x = vec![0f32; n * dim];
                for (row, &id) in x.chunks_exact_mut(dim).zip(ids) {
                    if !table.dequantize_row(id as usize, row) {
                        bail!("token embedding lookup failed");
                    }
                }
                x
            }
            Embedding::Candle(table) => table
                .embedding(&Tensor::from_slice(ids, n, &cpu)?)?
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?,
        };
        if let Some(s) = self.embedding_scale {
            kernels::scale_in_place(&mut x, s);
        }
        let tables: Vec<(Vec<f32>, Vec<f32>)> =
            self.ropes.iter().map(|r| r.table(pos, n)).collect();
        let rope_neox = self.family != Family::Llama;
        let last = self.layers.len() - 1;

        for (li, layer) in self.layers.iter_mut().enumerate() {
            // Attention input.
            let mut h = vec![0f32; n * dim];
            for_each_row(&mut h, dim, dim, |i, row| {
                kernels::rms_norm(&x[i * dim..(i + 1) * dim], &layer.attn_norm, eps, row)
            });
            let (rot_cos, rot_sin) = &tables[layer.rope];
            let rotation = Some((rot_cos.as_slice(), rot_sin.as_slice()));
            let half = self.ropes[layer.rope].dims / 2;
            // Bias, per-head norm, rotation of queries or keys (row `i` of `out` is position
            // `pos + first + i`).
            let prepare = |rotation: Option<(&[f32], &[f32])>,
                           src: &[f32],
                           bias: Option<&[f32]>,
                           norm: Option<&[f32]>,
                           first: usize,
                           width: usize,
                           out: &mut [f32]| {
                for_each_row(out, width, width, |i, row| {
                    row.copy_from_slice(&src[i * width..(i + 1) * width]);
                    if let Some(b) = bias {
                        kernels::add_in_place(row, b);
                    }
                    if let Some(w) = norm {
                        kernels::rms_norm_in_place(row, w, eps);
                    }
                    if let Some((cos, sin)) = rotation {
                        let at = (first + i) * half;
                        let (c, s) = (&cos[at..at + half], &sin[at..at + half]);
                        for head in row.chunks_exact_mut(hd) {
                            kernels::rope(head, c, s, rope_neox);
                        }
                    }
                });
            };
            // Keys and values of every row go to the cache.
            let input = Activations::new(&h, n);
            let k = layer.k.forward(&input)?;
            let v = layer.v.forward(&input)?;
            let old = layer.keys.len();
            layer.keys.resize(old + n * kv_dim, 0.0);
            layer.values.resize(old + n * kv_dim, 0.0);
            let (k_bias, k_norm) = (layer.k.bias.as_deref(), layer.k_norm.as_deref());
            prepare(
                rotation,
                &k,
                k_bias,
                k_norm,
                0,
                kv_dim,
                &mut layer.keys[old..],
            );
            let v_bias = layer.v.bias.as_deref();
            prepare(None, &v, v_bias, None, 0, kv_dim, &mut layer.values[old..]);
            drop((k, v));
            if li == last && !want_logits {
                // Only the cache of the last layer is needed from a chunk before the last.
                break;
            }
            // The last layer computes only the row whose logits are wanted.
            let first = if li == last { n - 1 } else { 0 };
            let rows = n - first;
            let q = if first == 0 {
                layer.q.forward(&input)?
            } else {
                layer
                    .q
                    .forward(&Activations::new(&h[first * dim..], rows))?
            };
            drop(input);
            drop(h);
            let mut queries = vec![0f32; rows * q_dim];
            let (q_bias, q_norm) = (layer.q.bias.as_deref(), layer.q_norm.as_deref());
            prepare(rotation, &q, q_bias, q_norm, first, q_dim, &mut queries);
            drop(q);
            let q = queries;

            let mut attn = vec![0f32; rows * q_dim];
            let window = layer.window;
            let span = |i: usize| {
                let end = pos + first + i + 1;
                (window.map_or(0, |w| end.saturating_sub(w)), end)
            };
            let cache = |kvh: usize| Cache {
                keys: &layer.keys,
                values: &layer.values,
                stride: kv_dim,
                offset: kvh * hd,
                d: hd,
            };
            let scale = self.attn_scale;
            let n_kv = self.n_kv_head;
            if rows == 1 && self.threads > 1 {
                // One query: its keys split over the threads too (flash-decoding).
                let (start, end) = span(0);
                let parts = self.threads.min((end - start).div_ceil(256)).max(1);
                let part_len = group * hd + 2 * group;
                let mut partial = vec![0f32; n_kv * parts * part_len];
                let spans = vec![(start, end); group];
                let work = (end - start).div_ceil(parts) * group * hd * 4;
                for_each_row(&mut partial, part_len, work, |r, out| {
                    let (kvh, part) = (r / parts, r % parts);
                    let len = end - start;
                    let (s, e) = (start + part * len / parts, start + (part + 1) * len / parts);
                    let rows = Rows {
                        queries: &q[kvh * group * hd..(kvh + 1) * group * hd],
                        spans: &spans,
                        scale,
                    };
                    let (acc, stats) = out.split_at_mut(group * hd);
                    SCORES.with(|scores| {
                        attention::attend(
                            &cache(kvh),
                            &rows,
                            s,
                            e,
                            acc,
                            stats,
                            &mut scores.borrow_mut(),
                        )
                    });
                });
                for kvh in 0..n_kv {
                    let parts_of = &partial[kvh * parts * part_len..][..parts * part_len];
                    let out = &mut attn[kvh * group * hd..][..group * hd];
                    attention::combine(parts_of, group, hd, out);
                }
            } else {
                // Blocks of queries, all heads: the rows of one key/value head are the block's
                // queries times the heads sharing it.
                let block = (16 / group).max(1);
                let seen = (pos + first + rows / 2).min(window.unwrap_or(usize::MAX));
                let work = block * q_dim * seen * 4;
                for_each_row(&mut attn, block * q_dim, work, |b, out| {
                    let count = out.len() / q_dim;
                    let n_rows = count * group;
                    let mut spans = Vec::with_capacity(n_rows);
                    for i in 0..count {
                        spans.extend(std::iter::repeat_n(span(b * block + i), group));
                    }
                    let start = spans.iter().map(|s| s.0).min().unwrap_or(0);
                    let end = spans.iter().map(|s| s.1).max().unwrap_or(0);
                    let mut queries = vec![0f32; n_rows * hd];
                    let mut acc = vec![0f32; n_rows * hd];
                    let mut stats = vec![0f32; 2 * n_rows];
                    for kvh in 0..n_kv {
                        for i in 0..count {
                            let src = (b * block + i) * q_dim + kvh * group * hd;
                            queries[i * group * hd..(i + 1) * group * hd]
                                .copy_from_slice(&q[src..src + group * hd]);
                        }
                        let rows = Rows {
                            queries: &queries,
                            spans: &spans,
                            scale,
                        };
                        SCORES.with(|scores| {
                            let scores = &mut scores.borrow_mut();
                            attention::attend(
                                &cache(kvh),
                                &rows,
                                start,
                                end,
                                &mut acc,
                                &mut stats,
                                scores,
                            )
                        });
                        attention::normalize(&mut acc, &stats, n_rows, hd);
                        for i in 0..count {
                            let dst = i * q_dim + kvh * group * hd;
                            out[dst..dst + group * hd]
                                .copy_from_slice(&acc[i * group * hd..(i + 1) * group * hd]);
                        }
                    }
                });
            }
            drop(q);
            let o = layer.o.forward(&Activations::new(&attn, rows))?;
            drop(attn);
            if first > 0 {
                x.drain(..first * dim);
            }
            let post_attn = layer.post_attn_norm.as_deref();
            for_each_row(&mut x, dim, dim, |i, row| {
                residual(row, &o[i * dim..(i + 1) * dim], post_attn, eps);
            });
            drop(o);

            // Feed-forward.
            let mut h = vec![0f32; rows * dim];
            for_each_row(&mut h, dim, dim, |i, row| {
                kernels::rms_norm(&x[i * dim..(i + 1) * dim], &layer.ffn_norm, eps, row)
            });
            let input = Activations::new(&h, rows);
            let mut act = layer.gate.forward(&input)?;
            let up = layer.up.forward(&input)?;
            drop(input);
            let ffn = layer.gate.weight.rows();
            let gelu = self.family == Family::Gemma3;
            for_each_row(&mut act, ffn, ffn * 8, |i, row| {
                let u = &up[i * ffn..(i + 1) * ffn];
                if gelu {
                    kernels::gelu_mul(row, u)
                } else {
                    kernels::silu_mul(row, u)
                }
            });
            drop(up);
            let down = layer.down.forward(&Activations::new(&act, rows))?;
            let post_ffn = layer.post_ffn_norm.as_deref();
            for_each_row(&mut x, dim, dim, |i, row| {
                residual(row, &down[i * dim..(i + 1) * dim], post_ffn, eps);
            });
        }
        self.len += n;
        if !want_logits {
            return Ok(None);
        }
        let mut last_row = x[x.len() - dim..].to_vec();
        kernels::rms_norm_in_place(&mut last_row, &self.output_norm, eps);
        let logits = self.output.forward(&Activations::new(&last_row, 1))?;
        Ok(Some(Tensor::from_vec(logits, self.vocab, &cpu)?))
    }
}

/// `x += norm(y)` (Gemma's post-norms) or `x += y`.
fn residual(x: &mut [f32], y: &[f32], norm: Option<&[f32]>, eps: f32) {
    match norm {
        Some(w) => {
            let mut tmp = vec![0f32; y.len()];
            kernels::rms_norm(y, w, eps, &mut tmp);
            kernels::add_in_place(x, &tmp);
        }
        None => kernels::add_in_place(x, y),
    }
}
