//! `adopt serve`: the knowledge base of a run directory for the enterprise's applications, as
//! an HTTP API (search, and OpenAI-compatible chat answered by the trial's models from the
//! retrieved chunks) or an MCP server on stdio. Every request carries an API key bound to
//! departments, and the key's departments become a condition of the index query itself, so a
//! chunk outside them is never retrieved, into a hit or into a prompt; each search is written
//! to an audit log.

pub mod api;
pub mod audit;
pub mod chat;
pub mod error;
pub mod keys;
pub mod mcp;
pub mod openapi;
pub mod search;

pub use api::{serve, Limits, ServeState, ROUTES};
pub use audit::{AuditLog, AuditRecord};
pub use chat::{build_prompt, ChatModels};
pub use error::{Result, ServeError};
pub use keys::{key_id, sha256_hex, Access, KeyScope, Keys};
pub use mcp::serve_stdio;
pub use search::{Refusal, RequestFilter, Route, SearchRequest};
