//! The audit log: one JSON line per search (by any route), naming the key by its id and the query by its
//! SHA-256, so the log shows who read which documents without holding a key or a question.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{Result, ServeError};

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub time: String,
    /// First 8 hex digits of the key's SHA-256; `None` with `--no-auth`.
    pub key_id: Option<String>,
    /// How the search came in: `search` (`POST /v1/search`), `chat` (the retrieval behind
    /// `POST /v1/chat/completions`) or `mcp` (the MCP `search` tool).
    #[serde(default)]
    pub route: String,
    /// SHA-256 of the query text (for `chat`, of the last user message).
    pub query_sha256: String,
    pub mode: String,
    pub top_k: usize,
    /// HTTP status of the answer: 200, or 403 for a filter outside the key's departments.
    pub status: u16,
    /// Documents of the returned chunks (for `chat`, those put into the prompt), in rank order,
    /// each once.
    pub doc_ids: Vec<String>,
}

/// An append-only JSONL file, written one whole line at a time.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Opens `path` for appending, creating it and its folder.
    pub fn open(path: &Path) -> Result<AuditLog> {
        let io = |source| ServeError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&self, record: &AuditRecord) -> Result<()> {
        let mut line = serde_json::to_vec(record).expect("audit records serialise");
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&line).map_err(|source| ServeError::Io {
            path: self.path.clone(),
            source,
        })
    }
}
