//! The scoped search every route goes through: `POST /v1/search`, the retrieval behind
//! `POST /v1/chat/completions` and the MCP `search` tool. The key's departments become a
//! condition of the index query, a filter naming a department outside them is refused (and
//! audited), and each search leaves one audit line.

use std::collections::BTreeSet;

use adopt_kb::{ChunkFilter, Hit, Query, SearchMode};
use serde::Deserialize;

use crate::api::ServeState;
use crate::audit::AuditRecord;
use crate::keys::{sha256_hex, KeyScope};

fn default_top_k() -> usize {
    5
}

/// What a caller asks for: the body of `POST /v1/search`, the arguments of the MCP tool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub query: String,
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// `hybrid`, `dense` or `sparse`; the server's default mode when absent.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub filter: RequestFilter,
}

/// Exact-match conditions on the chunks; all that are given must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFilter {
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub doc_id: Option<String>,
    #[serde(default)]
    pub source_path: Option<String>,
}

/// Which door a search came in by, as the audit log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Search,
    Chat,
    Mcp,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Search => "search",
            Route::Chat => "chat",
            Route::Mcp => "mcp",
        }
    }
}

/// Why a search was not run: an HTTP status (400, 403, 500) and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

/// A search checked and ready to run, with its audit line to finish.
#[derive(Debug, Clone)]
pub struct PlannedSearch {
    pub query: Query,
    pub audit: AuditRecord,
}

impl ServeState {
    /// Checks `req` against the limits and the key's scope and builds the index query, with the
    /// scope as one of its conditions. A filter outside the scope is refused with 403 and that
    /// refusal is audited here.
    pub fn plan_search(
        &self,
        scope: Option<&KeyScope>,
        req: SearchRequest,
        route: Route,
    ) -> Result<PlannedSearch, Refusal> {
        if req.query.trim().is_empty() {
            return Err(Refusal::new(400, "query is empty"));
        }
        if !(1..=self.limits.max_top_k).contains(&req.top_k) {
            return Err(Refusal::new(
                400,
                format!("top_k must be from 1 to {}", self.limits.max_top_k),
            ));
        }
        let mode = match req.mode.as_deref() {
            None => self.default_mode,
            Some(m) => SearchMode::parse(m).ok_or_else(|| {
                Refusal::new(400, format!("mode {m:?}: expected hybrid, dense or sparse"))
            })?,
        };
        if mode.needs_dense() && self.embedder.is_none() {
            return Err(Refusal::new(
                400,
                format!(
                    "{mode} search needs dense vectors, but this knowledge base has no embedding \
                     model here; use mode \"sparse\""
                ),
            ));
        }
        let mut audit = AuditRecord {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            key_id: scope.map(|s| s.key_id.clone()),
            route: route.as_str().to_string(),
            query_sha256: sha256_hex(req.query.as_bytes()),
            mode: mode.as_str().to_string(),
            top_k: req.top_k,
            status: 200,
            doc_ids: Vec::new(),
        };
        let filter = ChunkFilter {
            department: req.filter.department,
            doc_id: req.filter.doc_id,
            source_path: req.filter.source_path,
            // The key's departments are a condition of the index query: nothing outside them is
            // retrieved, so nothing has to be taken out of the answer.
            departments: scope.map(|s| s.departments.clone()),
        };
        if let (Some(s), Some(d)) = (scope, &filter.department) {
            if !s.allows(d) {
                audit.status = 403;
                self.write_audit(&audit)?;
                return Err(Refusal::new(
                    403,
                    format!("department {d:?} is outside this key's departments"),
                ));
            }
        }
        Ok(PlannedSearch {
            query: Query {
                text: req.query,
                top_k: req.top_k,
                mode,
                filter,
            },
            audit,
        })
    }

    /// Runs a planned search here, on this thread, and writes its audit line.
    pub fn run_search(&self, planned: PlannedSearch) -> Result<Vec<Hit>, Refusal> {
        let hits = self
            .kb
            .query(&planned.query, self.embedder.as_deref())
            .map_err(|e| Refusal::new(500, format!("search failed: {e}")))?;
        self.finish_audit(planned.audit, &hits)?;
        Ok(hits)
    }

    /// Writes the audit line of a search that returned `hits`.
    pub(crate) fn finish_audit(&self, mut audit: AuditRecord, hits: &[Hit]) -> Result<(), Refusal> {
        let mut seen = BTreeSet::new();
        audit.doc_ids = hits
            .iter()
            .filter(|h| seen.insert(h.doc_id.as_str()))
            .map(|h| h.doc_id.clone())
            .collect();
        self.write_audit(&audit)
    }

    /// An answer that cannot be audited is not given.
    fn write_audit(&self, record: &AuditRecord) -> Result<(), Refusal> {
        match &self.audit {
            None => Ok(()),
            Some(log) => log
                .write(record)
                .map_err(|_| Refusal::new(500, "could not write the audit log")),
        }
    }
}
