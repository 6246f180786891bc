//! `adopt serve`: the knowledge base of a run directory as an HTTP search API for the
//! enterprise's applications. Every request carries an API key bound to departments, and the
//! key's departments become a condition of the index query itself, so a chunk outside them is
//! never retrieved; each search is written to an audit log.

pub mod api;
pub mod audit;
pub mod error;
pub mod keys;

pub use api::{serve, Limits, ServeState};
pub use audit::{AuditLog, AuditRecord};
pub use error::{Result, ServeError};
pub use keys::{key_id, sha256_hex, Access, KeyScope, Keys};
