//! The engine's threads. candle 0.11 runs quantized matrix products and large element-wise ops
//! on one spinning "barrier pool" sized once per process from `CANDLE_NUM_THREADS`, while its
//! f32 matmuls (gemm), softmax, rotary embeddings and norms go to rayon pools sized from
//! `RAYON_NUM_THREADS` or the core count. Used together, N threads asked for become 2N-1 busy
//! threads on N cores: the pool's workers spin while rayon's run, every op waits for a worker
//! the kernel descheduled, and 2 threads ran several times slower than 1 (measured on 2 cores).
//!
//! So the decoder does everything that is not a quantized matrix product itself, on that same
//! pool, through [`for_each_row`]: one pool of exactly N threads, and rayon is never entered.

use std::sync::OnceLock;

use candle_core::utils::barrier_pool;

/// Below this much work (about one unit per value computed) a loop runs on the calling thread:
/// waking the pool would cost more than it saves.
const PARALLEL_MIN_WORK: usize = 16 * 1024;

static THREADS: OnceLock<usize> = OnceLock::new();

/// Sizes candle's pools for `requested` threads (default: candle's own choice, the physical
/// cores) before any of them starts, and returns the number the process runs with: the first
/// model loaded decides, later requests get the same pool.
pub(crate) fn configure(requested: Option<usize>) -> usize {
    *THREADS.get_or_init(|| {
        if let Some(n) = requested.filter(|n| *n > 0) {
            if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
                // Read once, when the pool starts (just below). Rayon's size is left alone: the
                // decoder never enters rayon, other crates in the process may.
                std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
            }
        }
        barrier_pool().n_workers() + 1
    })
}

/// Threads of the pool, the calling thread included.
pub(crate) fn pool_threads() -> usize {
    barrier_pool().n_workers() + 1
}

/// Runs `f(i, row)` for each `row_len`-long row of `out` (the last may be shorter), the rows
/// spread over the pool when there is enough work: `work` per row, in about one unit per value
/// computed.
pub(crate) fn for_each_row<T, F>(out: &mut [T], row_len: usize, work: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    if row_len == 0 {
        return;
    }
    let len = out.len();
    let rows = len.div_ceil(row_len);
    if rows <= 1 || rows * work < PARALLEL_MIN_WORK || barrier_pool().n_workers() == 0 {
        for (i, row) in out.chunks_mut(row_len).enumerate() {
            f(i, row);
        }
        return;
    }
    let rows_at = RowsPtr(out.as_mut_ptr());
    barrier_pool().execute_chunked(rows, |range| {
        for i in range {
            let start = i * row_len;
            // SAFETY: `execute_chunked` hands every index in 0..rows to exactly one call, so
            // the rows built here are disjoint; each lies within `out`, which outlives the call.
            #[allow(unsafe_code)]
            let row = unsafe {
                std::slice::from_raw_parts_mut(rows_at.get().add(start), row_len.min(len - start))
            };
            f(i, row);
        }
    });
}

/// The base of the output rows, shared with the pool's threads.
struct RowsPtr<T>(*mut T);

impl<T> Clone for RowsPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for RowsPtr<T> {}

impl<T> RowsPtr<T> {
    /// A method, so that closures capture the whole `Sync` wrapper, not its raw field.
    fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: the pointer is only turned into disjoint rows of `T: Send` values, each row used by
// one thread at a time (see `for_each_row`).
#[allow(unsafe_code)]
unsafe impl<T: Send> Sync for RowsPtr<T> {}
#[allow(unsafe_code)]
unsafe impl<T: Send> Send for RowsPtr<T> {}
