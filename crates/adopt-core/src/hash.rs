//! Content hashing: document ids and change detection both come from the file's bytes.

/// BLAKE3 hash of a file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }

    pub fn hex(&self) -> String {
        blake3::Hash::from(self.0).to_hex().to_string()
    }

    /// The stable document id: 16 bytes are plenty to keep ids unique in any one corpus.
    pub fn doc_id(&self) -> String {
        self.hex()[..32].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_id_is_stable_prefix() {
        let h = ContentHash::of(b"hello");
        assert_eq!(h.doc_id().len(), 32);
        assert!(h.hex().starts_with(&h.doc_id()));
        assert_eq!(h, ContentHash::of(b"hello"));
        assert_ne!(h, ContentHash::of(b"hello!"));
    }
}
