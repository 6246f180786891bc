//! The vector indexes the suite runs on, each behind one small factory.

use std::path::Path;

use adopt_kb::{EdgeIndex, KbPaths, ServerIndex, ServerSettings, VectorIndex};

/// Gives a test's knowledge base its vector index; called again, it reopens the same index.
pub trait Backend {
    fn open(&self, kb_dir: &Path) -> Box<dyn VectorIndex>;
}

/// The embedded qdrant-edge shard, in the knowledge base's own folder (where
/// `KnowledgeBase::open` puts it).
pub struct Edge;

impl Backend for Edge {
    fn open(&self, kb_dir: &Path) -> Box<dyn VectorIndex> {
        Box::new(EdgeIndex::open(&KbPaths::new(kb_dir).index()).expect("open the edge index"))
    }
}

/// Env var with the gRPC URL of a Qdrant server for the server tests (`http://localhost:6334`).
pub const QDRANT_URL_VAR: &str = "ADOPT_TEST_QDRANT_URL";
/// Env var holding the server's API key, when it wants one.
pub const QDRANT_API_KEY_VAR: &str = "ADOPT_TEST_QDRANT_API_KEY";

/// A collection of its own in the Qdrant server at `ADOPT_TEST_QDRANT_URL`, deleted when the
/// test ends (pass or fail).
pub struct Server {
    url: String,
    settings: ServerSettings,
}

impl Server {
    /// `None`, after saying so on stderr, when no server is configured.
    pub fn from_env(test: &str) -> Option<Server> {
        let Some(url) = std::env::var(QDRANT_URL_VAR).ok().filter(|u| !u.is_empty()) else {
            eprintln!("skipped: Qdrant server tests: {QDRANT_URL_VAR} is not set");
            return None;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let settings = ServerSettings {
            collection: format!("adopt-test-{test}-{}-{nanos}", std::process::id()),
            api_key_env: std::env::var_os(QDRANT_API_KEY_VAR).map(|_| QDRANT_API_KEY_VAR.into()),
            ..ServerSettings::default()
        };
        Some(Server { url, settings })
    }

    fn connect(&self) -> adopt_kb::Result<ServerIndex> {
        ServerIndex::connect(&self.url, &self.settings)
    }
}

impl Backend for Server {
    fn open(&self, _kb_dir: &Path) -> Box<dyn VectorIndex> {
        Box::new(self.connect().expect("connect to the Qdrant server"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Err(e) = self.connect().and_then(|mut i| i.delete_collection()) {
            eprintln!(
                "warning: test collection {} left behind: {e}",
                self.settings.collection
            );
        }
    }
}
