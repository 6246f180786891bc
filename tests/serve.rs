//! End-to-end tests of `adopt serve`: a keyword knowledge base built from department folders
//! written here is served on loopback and searched over HTTP with two keys scoped to different
//! departments: each key sees only its departments (the scope is part of the index query, so a
//! term found only elsewhere finds nothing), requests without a valid key get 401, a filter
//! naming another department gets 403, and the audit log records each search without the key.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::{json, Value};

const HR_KEY: &str = "hr-only-key-6f1d2c9a";
const FIN_KEY: &str = "fin-legal-key-0b7e44d1";

/// The server process, killed when the test ends however it ends.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `adopt serve` on 127.0.0.1:0 and reads the port it prints.
fn start(run: &Path, keys: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_adopt"))
        .arg("--run-dir")
        .arg(run)
        .args(["serve", "--listen", "127.0.0.1:0", "--keys"])
        .arg(keys)
        .env_remove("ADOPT_SERVE_KEYS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start adopt serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    Server { child, port }
}

/// One HTTP/1.1 request; the status and the body as JSON.
fn request(port: u16, method: &str, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a whole response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {raw}"));
    (status, body)
}

fn search(port: u16, key: Option<&str>, body: Value) -> (u16, Value) {
    request(port, "POST", "/v1/search", key, &body.to_string())
}

fn departments(hits: &Value) -> Vec<String> {
    let mut d: Vec<String> = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["department"].as_str().unwrap().to_string())
        .collect();
    d.sort();
    d.dedup();
    d
}

#[test]
fn keys_see_only_their_departments() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for (dept, file, text) in [
        (
            "hr",
            "leave.md",
            "# Leave policy\n\nEvery employee has twenty days of paid leave a year. The policy \
             applies from the first day of work.",
        ),
        (
            "finance",
            "budget.md",
            "# Budget policy\n\nThe quarterly budget is approved by the controller. This policy \
             covers travel expenses and reimbursement.",
        ),
        (
            "legal",
            "contracts.md",
            "# Contract policy\n\nEvery supplier contract is reviewed by counsel. The policy \
             names who may sign.",
        ),
    ] {
        std::fs::create_dir_all(src.join(dept)).unwrap();
        std::fs::write(src.join(dept).join(file), text).unwrap();
    }
    let run = dir.path().join("run");
    adopt(&run, &["collect", src.to_str().unwrap()]);
    adopt(&run, &["kb", "build", "--embeddings", "off"]);

    // No keys and no --no-auth, or --no-auth off loopback: the server refuses to start.
    for (extra, says) in [
        (&["--listen", "127.0.0.1:0"][..], "no API keys"),
        (&["--listen", "0.0.0.0:0", "--no-auth"][..], "loopback"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_adopt"))
            .arg("--run-dir")
            .arg(&run)
            .arg("serve")
            .args(extra)
            .env_remove("ADOPT_SERVE_KEYS")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} started");
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }

    let keys = dir.path().join("keys.txt");
    std::fs::write(
        &keys,
        format!("# test keys\n{HR_KEY}=hr\n{FIN_KEY}=finance, legal\n"),
    )
    .unwrap();
    let server = start(&run, &keys);
    let port = server.port;

    let (status, health) = request(port, "GET", "/health", None, "");
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    let policy = json!({"query": "policy", "top_k": 10, "mode": "sparse"});
    let mut searches = 0;
    let (status, hr) = search(port, Some(HR_KEY), policy.clone());
    searches += 1;
    assert_eq!(status, 200, "{hr}");
    assert_eq!(departments(&hr), ["hr"], "{hr}");
    let hit = &hr["hits"][0];
    assert!(hit["source_path"].as_str().unwrap().ends_with("leave.md"));
    assert!(hit["text"].as_str().unwrap().contains("twenty days"));
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    assert!(hit["doc_id"].is_string() && hit["headings"].is_array() && hit["unit"].is_string());

    let (status, fin) = search(port, Some(FIN_KEY), policy.clone());
    searches += 1;
    assert_eq!(status, 200, "{fin}");
    assert_eq!(departments(&fin), ["finance", "legal"], "{fin}");

    // A term only the finance document holds: the HR key's search finds nothing at all.
    let budget = json!({"query": "quarterly budget reimbursement", "mode": "sparse"});
    let (status, none) = search(port, Some(HR_KEY), budget.clone());
    searches += 1;
    assert_eq!(status, 200);
    assert_eq!(none["hits"], json!([]), "{none}");
    let (_, found) = search(port, Some(FIN_KEY), budget);
    searches += 1;
    assert_eq!(departments(&found), ["finance"]);

    // Asking for another department by filter is refused, and audited.
    let (status, err) = search(
        port,
        Some(HR_KEY),
        json!({"query": "policy", "filter": {"department": "finance"}}),
    );
    searches += 1;
    assert_eq!(status, 403, "{err}");
    assert!(err["error"].as_str().unwrap().contains("finance"));
    let (status, own) = search(
        port,
        Some(FIN_KEY),
        json!({"query": "policy", "filter": {"department": "legal"}}),
    );
    searches += 1;
    assert_eq!(
        (status, departments(&own)),
        (200, vec!["legal".to_string()])
    );

    // No key, a wrong key, a key under another scheme: 401 and a JSON error.
    for key in [None, Some("not-a-real-key-at-all"), Some(&HR_KEY[..4])] {
        let (status, err) = search(port, key, policy.clone());
        assert_eq!(status, 401, "{key:?}: {err}");
        assert!(err["error"].as_str().unwrap().contains("API key"));
    }
    let (status, _) = request(port, "GET", "/v1/kb", None, "");
    assert_eq!(status, 401);

    // Bad input: JSON errors, not a dropped connection.
    let (status, err) = request(port, "POST", "/v1/search", Some(HR_KEY), "{\"query\": ");
    assert_eq!(status, 400);
    assert!(
        err["error"].as_str().unwrap().contains("invalid JSON"),
        "{err}"
    );
    let (status, err) = search(port, Some(HR_KEY), json!({"query": "policy", "top_k": 101}));
    assert_eq!(status, 400);
    assert!(err["error"].as_str().unwrap().contains("top_k"), "{err}");
    let (status, err) = search(
        port,
        Some(HR_KEY),
        json!({"query": "policy", "mode": "dense"}),
    );
    assert_eq!(status, 400, "keyword-only knowledge base: {err}");
    let big = json!({"query": "x".repeat(70 * 1024)}).to_string();
    let (status, _) = request(port, "POST", "/v1/search", Some(HR_KEY), &big);
    assert_eq!(status, 413);

    // What the knowledge base holds, as far as the key may see.
    let (status, info) = request(port, "GET", "/v1/kb", Some(FIN_KEY), "");
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["documents"], 2, "{info}");
    assert_eq!(info["embedding_model"], Value::Null);
    assert_eq!(info["modes"], json!(["sparse"]));
    let (_, info) = request(port, "GET", "/v1/kb", Some(HR_KEY), "");
    assert_eq!(info["documents"], 1, "{info}");
    assert_eq!(info["departments"][0]["name"], "hr");

    // One audit line per search that got past the key check, naming keys by id only.
    let log = std::fs::read_to_string(run.join("serve/audit.jsonl")).unwrap();
    for key in [HR_KEY, FIN_KEY] {
        assert!(!log.contains(key), "a key in the audit log");
    }
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), searches, "{log}");
    let hr_id = adopt_serve::key_id(HR_KEY);
    assert_eq!(lines[0]["key_id"], hr_id.as_str());
    assert_eq!(
        lines[0]["query_sha256"],
        adopt_serve::sha256_hex(b"policy").as_str()
    );
    assert_eq!(lines[0]["doc_ids"], json!([hr["hits"][0]["doc_id"]]));
    assert_eq!(lines[2]["doc_ids"], json!([]));
    assert_eq!(
        (lines[4]["status"].as_u64(), lines[4]["key_id"].as_str()),
        (Some(403), Some(hr_id.as_str()))
    );
    assert!(lines
        .iter()
        .all(|l| l["time"].as_str().unwrap().ends_with('Z')));
}
