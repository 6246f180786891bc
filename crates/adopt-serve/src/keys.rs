//! API keys and the departments each one may read.
//!
//! Keys are written `KEY=dept1,dept2`, entries separated by `;` or new lines (a file may have
//! `#` comments). Only their SHA-256 is kept once parsed, so a key is neither held in memory in
//! the clear nor compared byte by byte against the one a request presents; messages and the
//! audit log name a key by its id, the first 8 hex digits of that hash.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::error::{Result, ServeError};

/// Shorter keys are refused: they can be guessed.
pub const MIN_KEY_LEN: usize = 16;

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How logs and errors name a key: the first 8 hex digits of its SHA-256.
pub fn key_id(key: &str) -> String {
    sha256_hex(key.as_bytes())[..8].to_string()
}

/// What one key may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    pub key_id: String,
    /// Departments, sorted, at least one.
    pub departments: Vec<String>,
}

impl KeyScope {
    pub fn allows(&self, department: &str) -> bool {
        self.departments.iter().any(|d| d == department)
    }
}

/// The configured keys, by the SHA-256 of the key.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    by_hash: BTreeMap<String, KeyScope>,
}

impl Keys {
    /// Parses `KEY=dept1,dept2;KEY2=dept3` (or one entry a line); `source_name` says where the
    /// text came from in errors. Every problem is reported at once, by entry number.
    pub fn parse(text: &str, source_name: &str) -> Result<Keys> {
        let mut keys = Keys::default();
        let mut problems = Vec::new();
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .flat_map(|l| l.split(';'))
            .map(str::trim)
            .filter(|e| !e.is_empty());
        for (n, entry) in entries.enumerate() {
            let n = n + 1;
            let Some((key, depts)) = entry.split_once('=') else {
                problems.push(format!("entry {n}: expected KEY=dept1,dept2"));
                continue;
            };
            let key = key.trim();
            if key.chars().count() < MIN_KEY_LEN || key.contains(char::is_whitespace) {
                problems.push(format!(
                    "entry {n}: a key needs at least {MIN_KEY_LEN} characters and no spaces"
                ));
                continue;
            }
            let mut departments: Vec<String> = depts
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect();
            departments.sort();
            departments.dedup();
            let id = key_id(key);
            if departments.is_empty() {
                problems.push(format!("entry {n} (key {id}): no departments"));
                continue;
            }
            let scope = KeyScope {
                key_id: id.clone(),
                departments,
            };
            if keys
                .by_hash
                .insert(sha256_hex(key.as_bytes()), scope)
                .is_some()
            {
                problems.push(format!("entry {n} (key {id}): the key is listed twice"));
            }
        }
        if problems.is_empty() {
            Ok(keys)
        } else {
            Err(ServeError::Keys {
                source_name: source_name.to_string(),
                problems,
            })
        }
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The scope of a presented key, `None` when it is not one of ours.
    pub fn scope_of(&self, key: &str) -> Option<&KeyScope> {
        self.by_hash.get(&sha256_hex(key.as_bytes()))
    }
}

/// Who may search.
#[derive(Debug, Clone)]
pub enum Access {
    /// Only requests with one of these keys, each within its departments.
    Keys(Keys),
    /// Anyone, every department: only on a loopback address, when asked for with `--no-auth`.
    Open,
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "alpha-key-0123456789";
    const B: &str = "bravo-key-0123456789";

    #[test]
    fn parses_entries_and_keeps_no_key() {
        let keys = Keys::parse(
            &format!("# keys\n{A}=hr, finance;{B}=legal\n\n"),
            "ADOPT_SERVE_KEYS",
        )
        .unwrap();
        assert_eq!(keys.len(), 2);
        let a = keys.scope_of(A).unwrap();
        assert_eq!(a.departments, ["finance", "hr"]);
        assert!(a.allows("hr") && !a.allows("legal"));
        assert_eq!(a.key_id, &sha256_hex(A.as_bytes())[..8]);
        assert_eq!(keys.scope_of(B).unwrap().departments, ["legal"]);
        assert!(keys.scope_of("not-a-key-at-all-000").is_none());
        assert!(!format!("{keys:?}").contains(A), "keys are kept hashed");
    }

    #[test]
    fn reports_every_problem_without_the_key() {
        let err = Keys::parse(
            &format!("short=hr;{A}=;{B}=it;{B}=hr;nothing-to-split-here"),
            "keys.txt",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("keys.txt: entry 1: a key needs"), "{err}");
        assert!(err.contains("entry 2 (key "), "{err}");
        assert!(err.contains("no departments"), "{err}");
        assert!(err.contains("entry 4 (key "), "{err}");
        assert!(err.contains("listed twice"), "{err}");
        assert!(err.contains("entry 5: expected KEY=dept1,dept2"), "{err}");
        for secret in ["short", A, B] {
            assert!(!err.contains(secret), "{err} names {secret}");
        }
    }

    #[test]
    fn ids_are_sha256_prefixes() {
        // SHA-256("abc") = ba7816bf...
        assert_eq!(key_id("abc"), "ba7816bf");
    }
}
