//! `adopt serve --mcp`: the knowledge base as a Model Context Protocol server over stdio, for
//! assistants that call tools (JSON-RPC 2.0, one message a line; `initialize`, `ping`,
//! `tools/list`, `tools/call` with one tool, `search`).
//!
//! The process serves one key, given when it starts: every search runs within that key's
//! departments, exactly as `POST /v1/search` does, and is audited with route `mcp`. Only
//! protocol messages go to the output; the caller logs to stderr.

use std::io::{BufRead, Read, Write};

use serde_json::{json, Value};

use crate::api::ServeState;
use crate::error::{Result, ServeError};
use crate::keys::KeyScope;
use crate::search::{Route, SearchRequest};

/// Protocol revisions this server speaks, newest first; a client asking for another gets the
/// newest.
pub const PROTOCOL_VERSIONS: &[&str] = &["2025-06-18", "2025-03-26", "2024-11-05"];

// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;

/// Serves MCP on `input`/`output` until the input ends. `scope`: the key's departments
/// (`None`: every department, `--no-auth`).
pub fn serve_stdio(
    state: &ServeState,
    scope: Option<&KeyScope>,
    mut input: impl BufRead,
    mut output: impl Write,
) -> Result<()> {
    let io = |source| ServeError::Runtime {
        what: "serve MCP on stdio",
        source,
    };
    let limit = state.limits.body_bytes;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut input)
            .take(limit as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        if n == 0 {
            return Ok(());
        }
        let reply = if line.len() > limit && !line.ends_with(b"\n") {
            // Too long: skip the rest of the line and say why.
            let mut rest = Vec::new();
            input.read_until(b'\n', &mut rest).map_err(io)?;
            Some(error_reply(
                Value::Null,
                INVALID_REQUEST,
                &format!("message over {limit} bytes"),
            ))
        } else {
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            handle_message(state, scope, &text)
        };
        if let Some(reply) = reply {
            let mut bytes = serde_json::to_vec(&reply).expect("replies serialise");
            bytes.push(b'\n');
            output.write_all(&bytes).map_err(io)?;
            output.flush().map_err(io)?;
        }
    }
}

fn error_reply(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// The reply to one line, `None` for a notification.
pub fn handle_message(state: &ServeState, scope: Option<&KeyScope>, text: &str) -> Option<Value> {
    let message: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Some(error_reply(
                Value::Null,
                PARSE_ERROR,
                &format!("not JSON: {e}"),
            ))
        }
    };
    let Some(obj) = message.as_object() else {
        return Some(error_reply(
            Value::Null,
            INVALID_REQUEST,
            "expected a JSON-RPC 2.0 object (batches are not supported)",
        ));
    };
    let id = obj.get("id").cloned();
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        // A response to something we never asked, or garbage: nothing to answer but garbage.
        return id.map(|id| error_reply(id, INVALID_REQUEST, "no method"));
    };
    let Some(id) = id else {
        // Notifications (`notifications/initialized`, `notifications/cancelled`, ...): no reply.
        return None;
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(error_reply(id, INVALID_REQUEST, "jsonrpc must be \"2.0\""));
    }
    let params = obj.get("params").cloned().unwrap_or(Value::Null);
    let result = match method {
        "initialize" => Ok(initialize(&params)),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({ "tools": [search_tool()] })),
        "tools/call" => call_tool(state, scope, &params),
        other => Err((METHOD_NOT_FOUND, format!("method {other:?} not found"))),
    };
    Some(match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err((code, message)) => error_reply(id, code, &message),
    })
}

fn initialize(params: &Value) -> Value {
    let asked = params["protocolVersion"].as_str();
    let version = asked
        .filter(|v| PROTOCOL_VERSIONS.contains(v))
        .unwrap_or(PROTOCOL_VERSIONS[0]);
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": { "listChanged": false } },
        "serverInfo": { "name": "adopt", "version": env!("CARGO_PKG_VERSION") },
        "instructions": "Search the organisation's documents with the `search` tool; results \
            are limited to the departments this server's key may read.",
    })
}

fn search_tool() -> Value {
    let nullable = json!({ "type": "string" });
    json!({
        "name": "search",
        "title": "Search the documents",
        "description": "Search the organisation's knowledge base (the departments this key may \
            read) and return the best-matching passages with their source files.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": { "type": "string", "description": "What to look for" },
                "top_k": { "type": "integer", "minimum": 1, "maximum": 100, "default": 5 },
                "mode": { "type": "string", "enum": ["hybrid", "dense", "sparse"] },
                "filter": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "department": nullable,
                        "doc_id": nullable,
                        "source_path": nullable,
                    },
                },
            },
            "required": ["query"],
            "additionalProperties": false,
        },
        "outputSchema": {
            "type": "object",
            "properties": {
                "mode": { "type": "string" },
                "top_k": { "type": "integer" },
                "hits": { "type": "array", "items": { "type": "object" } },
            },
            "required": ["mode", "top_k", "hits"],
        },
    })
}

/// A tool result that reports a failure the model can act on (bad arguments, a refused
/// filter), as MCP asks: in the result, not as a protocol error.
fn tool_error(message: &str) -> Value {
    json!({ "content": [{ "type": "text", "text": message }], "isError": true })
}

fn call_tool(
    state: &ServeState,
    scope: Option<&KeyScope>,
    params: &Value,
) -> std::result::Result<Value, (i64, String)> {
    let name = params["name"].as_str().unwrap_or("");
    if name != "search" {
        return Err((
            INVALID_PARAMS,
            format!("unknown tool {name:?} (tools: search)"),
        ));
    }
    let arguments = params.get("arguments").cloned().unwrap_or(json!({}));
    let req: SearchRequest = match serde_json::from_value(arguments) {
        Ok(r) => r,
        Err(e) => return Ok(tool_error(&format!("invalid arguments: {e}"))),
    };
    let planned = match state.plan_search(scope, req, Route::Mcp) {
        Ok(p) => p,
        Err(r) => return Ok(tool_error(&r.message)),
    };
    let (mode, top_k) = (planned.query.mode, planned.query.top_k);
    let hits = match state.run_search(planned) {
        Ok(h) => h,
        Err(r) => return Ok(tool_error(&r.message)),
    };
    let mut text = String::new();
    if hits.is_empty() {
        text.push_str("No passage matches.");
    }
    for (i, h) in hits.iter().enumerate() {
        text.push_str(&format!(
            "[{}] {} ({}), score {:.3}\n{}\n\n",
            i + 1,
            h.source_path,
            h.unit,
            h.score,
            h.text.trim()
        ));
    }
    Ok(json!({
        "content": [{ "type": "text", "text": text.trim_end() }],
        "structuredContent": { "mode": mode.as_str(), "top_k": top_k, "hits": hits },
        "isError": false,
    }))
}
