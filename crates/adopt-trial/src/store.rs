//! What survives a kill: an append-only JSONL log, fsynced after every record, for the response
//! cache and for the per-item results. A torn last line (killed mid-write) is cut off when the
//! log is reopened, so appends after a restart start on a clean line.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrialError};
use crate::provider::{ChatRequest, ChatResponse, Endpoint};

/// An append-only JSONL file of `T` records.
#[derive(Debug)]
pub struct JsonlLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl JsonlLog {
    /// Opens (creating) `path` and returns the log with the records already in it. Lines that
    /// do not parse are skipped (a record of an older format, or a torn write).
    pub fn open<T: DeserializeOwned>(path: &Path) -> Result<(Self, Vec<T>)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| TrialError::io(dir, e))?;
        }
        let io = |e| TrialError::io(path, e);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let mut records = Vec::new();
        let mut good_len = 0u64;
        let mut reader = BufReader::new(&file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                break; // torn tail: dropped below
            }
            good_len += n as u64;
            if let Ok(r) = serde_json::from_slice(&line) {
                records.push(r);
            }
        }
        drop(reader);
        if file.metadata().map_err(io)?.len() != good_len {
            file.set_len(good_len).map_err(io)?;
            file.seek(SeekFrom::End(0)).map_err(io)?;
        }
        Ok((
            JsonlLog {
                path: path.to_path_buf(),
                file: Mutex::new(file),
            },
            records,
        ))
    }

    /// Appends one record and syncs it to disk before returning: once this returns, a kill
    /// cannot lose it.
    pub fn append<T: Serialize>(&self, record: &T) -> Result<()> {
        let mut line =
            serde_json::to_vec(record).map_err(|e| TrialError::io(&self.path, e.into()))?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(&line)
            .and_then(|_| file.sync_data())
            .map_err(|e| TrialError::io(&self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The cache key of a request: BLAKE3 of the model id, the base URL, the messages and the
/// parameters. Not the API key or the extra headers (they may hold secrets, and they do not
/// change what the model answers).
pub fn request_key(endpoint: &Endpoint, request: &ChatRequest) -> String {
    let mut params = request.params.clone();
    // Streaming changes how an answer arrives, not what it is.
    params.stream = None;
    let canonical = serde_json::json!({
        "v": 1,
        "model": endpoint.model,
        "base_url": endpoint.base_url,
        "messages": request.messages,
        "params": params,
    });
    adopt_core::ContentHash::of(canonical.to_string().as_bytes()).hex()
}

#[derive(Serialize, Deserialize)]
struct CacheRecord {
    key: String,
    response: ChatResponse,
}

/// Responses by request key, persisted as JSONL so a re-run (or a resumed run) pays nothing.
/// The cached response keeps its original timings, so latency figures stay those measured.
#[derive(Debug)]
pub struct ResponseCache {
    log: JsonlLog,
    map: Mutex<HashMap<String, ChatResponse>>,
}

impl ResponseCache {
    pub fn open(dir: &Path) -> Result<Self> {
        let (log, records) = JsonlLog::open::<CacheRecord>(&dir.join("responses.jsonl"))?;
        let map = records.into_iter().map(|r| (r.key, r.response)).collect();
        Ok(ResponseCache {
            log,
            map: Mutex::new(map),
        })
    }

    pub fn get(&self, key: &str) -> Option<ChatResponse> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(key)
    }

    pub fn put(&self, key: &str, response: &ChatResponse) -> Result<()> {
        self.log.append(&CacheRecord {
            key: key.to_string(),
            response: response.clone(),
        })?;
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), response.clone());
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_dropped_and_appends_continue_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"a\":2}\n{\"a\":").unwrap();
        let (log, recs) = JsonlLog::open::<serde_json::Value>(&path).unwrap();
        assert_eq!(recs.len(), 2);
        log.append(&serde_json::json!({"a": 3})).unwrap();
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
    }
}
