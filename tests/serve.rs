//! End-to-end tests of `adopt serve`: a keyword knowledge base built once from department
//! folders written here is served on loopback with two keys scoped to different departments.
//! Over HTTP: each key sees only its departments (the scope is part of the index query, so a
//! term found only elsewhere finds nothing), requests without a valid key get 401, a filter
//! naming another department gets 403, the audit log records each search without the key, and
//! /openapi.json describes every route. Through `POST /v1/chat/completions`, answered by the
//! smallest local GGUF model of the catalogue (skipped with a line when it is not installed),
//! whole and streamed: the sources (the prompt's context) never hold another department's
//! chunk. Over MCP on stdio: the same scope on the `search` tool.

// Skip notices must reach the CI log.
#![allow(clippy::print_stdout)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const HR_KEY: &str = "hr-only-key-6f1d2c9a";
const FIN_KEY: &str = "fin-legal-key-0b7e44d1";

/// The catalogue's smallest chat model, which `adopt models fetch smollm2-135m` installs.
const CHAT_MODEL: &str = "smollm2-135m";

/// A run directory with a keyword knowledge base of three departments, and a keys file: built
/// once for the whole test binary.
struct Fixture {
    root: PathBuf,
    run: PathBuf,
    keys: PathBuf,
}

/// Held by each test while its server runs: the embedded index is opened by one process at a
/// time (a read-only open is still to do, issue 16).
fn one_server_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-e2e");
        let _ = std::fs::remove_dir_all(&root);
        let src = root.join("src");
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
        let run = root.join("run");
        adopt(&run, &["collect", src.to_str().unwrap()]);
        adopt(&run, &["kb", "build", "--embeddings", "off"]);
        let keys = root.join("keys.txt");
        std::fs::write(
            &keys,
            format!("# test keys\n{HR_KEY}=hr\n{FIN_KEY}=finance, legal\n"),
        )
        .unwrap();
        Fixture { root, run, keys }
    })
}

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

/// Starts `adopt serve` on 127.0.0.1:0 with the fixture's keys and reads the port it prints;
/// `Err(stderr)` when it does not start.
fn try_start(audit: &Path, extra: &[&str]) -> Result<Server, String> {
    let f = fixture();
    let mut child = Command::new(env!("CARGO_BIN_EXE_adopt"))
        .arg("--run-dir")
        .arg(&f.run)
        .args(["serve", "--listen", "127.0.0.1:0", "--keys"])
        .arg(&f.keys)
        .arg("--audit-log")
        .arg(audit)
        .args(extra)
        .env_remove("ADOPT_SERVE_KEYS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
        .and_then(|p| p.parse().ok());
    match port {
        Some(port) => Ok(Server { child, port }),
        None => {
            let mut stderr = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            let _ = child.wait();
            Err(format!("{line}{stderr}"))
        }
    }
}

fn start(audit: &Path, extra: &[&str]) -> Server {
    try_start(audit, extra).unwrap_or_else(|e| panic!("adopt serve did not start: {e}"))
}

/// One HTTP/1.1 request written by hand (for a body the server must refuse before reading
/// it all); the status and the body as JSON.
fn raw_request(port: u16, method: &str, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
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

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

/// A request through ureq: `body` is sent as JSON (a POST), else it is a GET. The response
/// with its status.
fn send(
    port: u16,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> ureq::http::Response<ureq::Body> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let agent = agent();
    let result = match body {
        Some(body) => {
            let mut req = agent.post(&url).header("Content-Type", "application/json");
            if let Some(k) = key {
                req = req.header("Authorization", format!("Bearer {k}"));
            }
            req.send(body.as_bytes())
        }
        None => {
            let mut req = agent.get(&url);
            if let Some(k) = key {
                req = req.header("Authorization", format!("Bearer {k}"));
            }
            req.call()
        }
    };
    result.unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// [`send`], with the body read as JSON.
fn request(port: u16, path: &str, key: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let mut resp = send(port, path, key, body);
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, value)
}

fn search(port: u16, key: Option<&str>, body: Value) -> (u16, Value) {
    request(port, "/v1/search", key, Some(&body.to_string()))
}

fn departments(hits: &Value) -> Vec<String> {
    let mut d: Vec<String> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["department"].as_str().unwrap().to_string())
        .collect();
    d.sort();
    d.dedup();
    d
}

fn audit_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn keys_see_only_their_departments() {
    let _serial = one_server_at_a_time();
    let f = fixture();
    let run = &f.run;

    // No keys and no --no-auth, or --no-auth off loopback: the server refuses to start.
    for (extra, says) in [
        (&["--listen", "127.0.0.1:0"][..], "no API keys"),
        (&["--listen", "0.0.0.0:0", "--no-auth"][..], "loopback"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_adopt"))
            .arg("--run-dir")
            .arg(run)
            .arg("serve")
            .args(extra)
            .env_remove("ADOPT_SERVE_KEYS")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} started");
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }

    let audit = f.root.join("search-audit.jsonl");
    let server = start(&audit, &[]);
    let port = server.port;

    let (status, health) = request(port, "/health", None, None);
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    // The OpenAPI document, without a key: every route, and the bearer scheme.
    let (status, doc) = request(port, "/openapi.json", None, None);
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (method, path) in adopt_serve::ROUTES {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(op["responses"]["200"].is_object(), "{method} {path}: {op}");
    }
    assert_eq!(doc["paths"].as_object().unwrap().len(), 6);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{ "bearer": [] }]));

    let policy = json!({"query": "policy", "top_k": 10, "mode": "sparse"});
    let mut searches = 0;
    let (status, hr) = search(port, Some(HR_KEY), policy.clone());
    searches += 1;
    assert_eq!(status, 200, "{hr}");
    assert_eq!(departments(&hr["hits"]), ["hr"], "{hr}");
    let hit = &hr["hits"][0];
    assert!(hit["source_path"].as_str().unwrap().ends_with("leave.md"));
    assert!(hit["text"].as_str().unwrap().contains("twenty days"));
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    assert!(hit["doc_id"].is_string() && hit["headings"].is_array() && hit["unit"].is_string());

    let (status, fin) = search(port, Some(FIN_KEY), policy.clone());
    searches += 1;
    assert_eq!(status, 200, "{fin}");
    assert_eq!(departments(&fin["hits"]), ["finance", "legal"], "{fin}");

    // A term only the finance document holds: the HR key's search finds nothing at all.
    let budget = json!({"query": "quarterly budget reimbursement", "mode": "sparse"});
    let (status, none) = search(port, Some(HR_KEY), budget.clone());
    searches += 1;
    assert_eq!(status, 200);
    assert_eq!(none["hits"], json!([]), "{none}");
    let (_, found) = search(port, Some(FIN_KEY), budget);
    searches += 1;
    assert_eq!(departments(&found["hits"]), ["finance"]);

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
        (status, departments(&own["hits"])),
        (200, vec!["legal".to_string()])
    );

    // No key, a wrong key, a key under another scheme: 401 and a JSON error.
    for key in [None, Some("not-a-real-key-at-all"), Some(&HR_KEY[..4])] {
        let (status, err) = search(port, key, policy.clone());
        assert_eq!(status, 401, "{key:?}: {err}");
        assert!(err["error"].as_str().unwrap().contains("API key"));
    }
    let (status, _) = request(port, "/v1/kb", None, None);
    assert_eq!(status, 401);

    // Bad input: JSON errors, not a dropped connection.
    let (status, err) = request(port, "/v1/search", Some(HR_KEY), Some("{\"query\": "));
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
    let (status, _) = raw_request(port, "POST", "/v1/search", Some(HR_KEY), &big);
    assert_eq!(status, 413);

    // What the knowledge base holds, as far as the key may see.
    let (status, info) = request(port, "/v1/kb", Some(FIN_KEY), None);
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["documents"], 2, "{info}");
    assert_eq!(info["embedding_model"], Value::Null);
    assert_eq!(info["modes"], json!(["sparse"]));
    let (_, info) = request(port, "/v1/kb", Some(HR_KEY), None);
    assert_eq!(info["documents"], 1, "{info}");
    assert_eq!(info["departments"][0]["name"], "hr");

    // One audit line per search that got past the key check, naming keys by id only.
    let log = std::fs::read_to_string(&audit).unwrap();
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
    assert!(lines.iter().all(|l| l["route"] == "search"));
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

/// The events of an SSE answer: each `data:` payload, `[DONE]` included.
fn sse_events(resp: ureq::http::Response<ureq::Body>) -> Vec<String> {
    let reader = BufReader::new(resp.into_body().into_reader());
    reader
        .lines()
        .map(|l| l.unwrap())
        .filter_map(|l| l.strip_prefix("data:").map(|d| d.trim().to_string()))
        .collect()
}

fn doc_id_of(run_hits: &Value, name: &str) -> String {
    run_hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["source_path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no {name} in {run_hits}"))["doc_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn chat_answers_from_the_local_model_within_the_key_scope() {
    let _serial = one_server_at_a_time();
    let f = fixture();
    let trial = f.root.join("chat-trial.toml");
    std::fs::write(
        &trial,
        format!(
            r#"[[models]]
name = "smollm2"
provider = "llama-cpp"
base-url = "local:{CHAT_MODEL}?context-length=2048"
model = "{CHAT_MODEL}"
size = "135M"
concurrency = 1
"#
        ),
    )
    .unwrap();
    let audit = f.root.join("chat-audit.jsonl");
    let trial_arg = trial.to_str().unwrap();
    let server = match try_start(&audit, &["--trial", trial_arg, "--max-answer-tokens", "24"]) {
        Ok(s) => s,
        Err(e) if e.contains("not installed") => {
            println!(
                "skipped: the chat model {CHAT_MODEL} is not installed; install it with \
                 `adopt models fetch {CHAT_MODEL}`"
            );
            return;
        }
        Err(e) => panic!("adopt serve did not start: {e}"),
    };
    let port = server.port;

    let (status, models) = request(port, "/v1/models", Some(HR_KEY), None);
    assert_eq!(status, 200, "{models}");
    assert_eq!(models["data"][0]["id"], "smollm2");
    assert_eq!(models["data"][0]["default"], true);

    // The finance key's answer draws on the finance document, and says so in its sources.
    let question = "Who approves the quarterly budget and reimbursement?";
    let ask = |stream: bool| {
        json!({
            "messages": [
                {"role": "system", "content": "Answer in one sentence."},
                {"role": "user", "content": question},
            ],
            "stream": stream,
            "temperature": 0,
        })
        .to_string()
    };
    let (status, fin) = request(
        port,
        "/v1/chat/completions",
        Some(FIN_KEY),
        Some(&ask(false)),
    );
    assert_eq!(status, 200, "{fin}");
    assert_eq!(fin["object"], "chat.completion");
    assert_eq!(fin["model"], "smollm2");
    assert!(fin["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let answer = fin["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(!answer.trim().is_empty(), "{fin}");
    assert_eq!(fin["choices"][0]["message"]["role"], "assistant");
    assert!(
        fin["usage"]["completion_tokens"].as_u64().unwrap() <= 25,
        "{fin}"
    );
    assert!(
        fin["usage"]["prompt_tokens"].as_u64().unwrap() > 20,
        "{fin}"
    );
    let budget_doc = doc_id_of(&fin["sources"], "budget.md");
    assert_eq!(fin["sources"][0]["index"], 1);
    assert_eq!(fin["sources"][0]["department"], "finance");

    // The HR key asking the same: nothing of finance is retrieved, so none of it is in the
    // prompt's context or the sources; the answer still comes (from an empty context).
    let (status, hr) = request(
        port,
        "/v1/chat/completions",
        Some(HR_KEY),
        Some(&ask(false)),
    );
    assert_eq!(status, 200, "{hr}");
    let hr_sources = hr["sources"].as_array().unwrap();
    assert!(
        hr_sources.iter().all(|s| s["department"] == "hr"),
        "another department's chunk in the context: {hr}"
    );
    assert!(!hr["sources"].to_string().contains("controller"), "{hr}");

    // Asking for the finance department by filter is refused, in OpenAI's error shape.
    let filtered = json!({
        "messages": [{"role": "user", "content": question}],
        "retrieval": {"filter": {"department": "finance"}},
    })
    .to_string();
    let (status, err) = request(port, "/v1/chat/completions", Some(HR_KEY), Some(&filtered));
    assert_eq!(status, 403, "{err}");
    assert_eq!(err["error"]["type"], "permission_error");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("finance"));

    // Streamed: role and sources first, text pieces, a finish_reason, then [DONE].
    for (key, finance_visible) in [(FIN_KEY, true), (HR_KEY, false)] {
        let resp = send(port, "/v1/chat/completions", Some(key), Some(&ask(true)));
        assert_eq!(resp.status().as_u16(), 200);
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        let events = sse_events(resp);
        assert_eq!(
            events.last().map(String::as_str),
            Some("[DONE]"),
            "{events:?}"
        );
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        assert!(
            chunks
                .iter()
                .all(|c| c["object"] == "chat.completion.chunk"),
            "{chunks:?}"
        );
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let sources = chunks[0]["sources"].as_array().unwrap();
        let finance = sources.iter().any(|s| s["doc_id"] == budget_doc.as_str());
        assert_eq!(finance, finance_visible, "{sources:?}");
        assert!(sources
            .iter()
            .all(|s| s["department"] != "legal" || finance_visible));
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert!(!text.trim().is_empty(), "{chunks:?}");
        let finish = chunks.last().unwrap()["choices"][0]["finish_reason"].as_str();
        assert!(matches!(finish, Some("stop" | "length")), "{chunks:?}");
    }

    // A model the trial does not have, a conversation with nothing to answer, no key.
    let other = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    let (status, err) = request(
        port,
        "/v1/chat/completions",
        Some(HR_KEY),
        Some(&other.to_string()),
    );
    assert_eq!(status, 404, "{err}");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("smollm2"));
    let empty = json!({"messages": [{"role": "assistant", "content": "hello"}]});
    let (status, _) = request(
        port,
        "/v1/chat/completions",
        Some(HR_KEY),
        Some(&empty.to_string()),
    );
    assert_eq!(status, 400);
    let (status, err) = request(port, "/v1/chat/completions", None, Some(&ask(false)));
    assert_eq!(
        (status, err["error"]["type"].as_str()),
        (401, Some("authentication_error"))
    );

    // Every retrieval is audited as `chat`; the HR key's never named the finance document.
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 5, "{lines:?}");
    let hr_id = adopt_serve::key_id(HR_KEY);
    for l in &lines {
        assert_eq!(l["route"], "chat");
        if l["key_id"] == hr_id.as_str() {
            assert!(
                !l["doc_ids"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(budget_doc)),
                "{l}"
            );
        }
    }
    assert!(lines.iter().any(|l| l["status"] == 403));
}

/// An MCP client over the server's stdin and stdout.
struct Mcp {
    child: Child,
    /// `None` once closed.
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
    next_id: u64,
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Mcp {
    fn send(&mut self, message: &Value) {
        let input = self.input.as_mut().unwrap();
        writeln!(input, "{message}").unwrap();
        input.flush().unwrap();
    }

    /// A request and its response, checked to be the answer to it.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        let reply: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert_eq!(
            (reply["jsonrpc"].as_str(), reply["id"].as_u64()),
            (Some("2.0"), Some(id))
        );
        reply
    }

    fn search(&mut self, arguments: Value) -> Value {
        let reply = self.call(
            "tools/call",
            json!({"name": "search", "arguments": arguments}),
        );
        reply["result"].clone()
    }
}

#[test]
fn mcp_search_keeps_to_the_key_departments() {
    let _serial = one_server_at_a_time();
    let f = fixture();
    let audit = f.root.join("mcp-audit.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_adopt"))
        .arg("--run-dir")
        .arg(&f.run)
        .args(["serve", "--mcp", "--keys"])
        .arg(&f.keys)
        .arg("--audit-log")
        .arg(&audit)
        .env_remove("ADOPT_SERVE_KEYS")
        .env("ADOPT_SERVE_KEY", HR_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start adopt serve --mcp");
    let mut mcp = Mcp {
        input: child.stdin.take(),
        output: BufReader::new(child.stdout.take().unwrap()),
        child,
        next_id: 0,
    };
    let init = mcp.call(
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "test", "version": "0"}}),
    );
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "adopt");
    assert!(init["result"]["capabilities"]["tools"].is_object());
    mcp.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(mcp.call("ping", json!({}))["result"], json!({}));
    let tools = mcp.call("tools/list", json!({}));
    assert_eq!(tools["result"]["tools"][0]["name"], "search");
    assert_eq!(
        tools["result"]["tools"][0]["inputSchema"]["required"],
        json!(["query"])
    );

    let own = mcp.search(json!({"query": "policy", "top_k": 10}));
    assert_eq!(own["isError"], false, "{own}");
    assert_eq!(
        departments(&own["structuredContent"]["hits"]),
        ["hr"],
        "{own}"
    );
    assert!(own["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("leave.md"));
    // The finance document's words find nothing for the HR key, and asking by filter fails.
    let budget = mcp.search(json!({"query": "quarterly budget reimbursement"}));
    assert_eq!(budget["structuredContent"]["hits"], json!([]), "{budget}");
    let refused = mcp.search(json!({"query": "policy", "filter": {"department": "finance"}}));
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(refused["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("finance"));
    let bad = mcp.search(json!({"top_k": 3}));
    assert_eq!(bad["isError"], true, "{bad}");

    let unknown = mcp.call("resources/list", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let no_tool = mcp.call("tools/call", json!({"name": "delete", "arguments": {}}));
    assert_eq!(no_tool["error"]["code"], -32602, "{no_tool}");
    mcp.send(&json!("not an object"));
    let mut line = String::new();
    mcp.output.read_line(&mut line).unwrap();
    let reply: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(reply["error"]["code"], -32600, "{reply}");

    // End of input ends the server, with nothing but protocol lines on stdout.
    drop(mcp.input.take());
    let mut rest = String::new();
    mcp.output.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "stray output on stdout");
    let status = mcp.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    mcp.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("MCP on stdio"), "{stderr}");
    assert!(!stderr.contains(HR_KEY), "the key in the log: {stderr}");

    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| l["route"] == "mcp"));
    assert_eq!(lines[2]["status"], 403);
}
