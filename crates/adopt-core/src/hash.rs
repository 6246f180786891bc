//! Content hashing: document ids and change detection both come from the file's bytes; and
//! the SHA-256 checks of downloaded model files against the digests their catalogues pin.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

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

/// SHA-256 of the file at `path`, read in 1 MiB pieces, as lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(lower_hex(&hasher.finalize()))
}

/// Bytes (a digest) as lower-case hex, the form model catalogues pin digests in.
pub fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

    #[test]
    fn sha256_of_a_file_is_the_known_digest() {
        let dir = std::env::temp_dir().join(format!("adopt-core-sha256-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hello.txt");
        std::fs::write(&path, b"hello").unwrap();
        let digest = sha256_file(&path);
        let absent = sha256_file(&dir.join("absent"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            digest.unwrap(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert!(absent.is_err());
    }
}
