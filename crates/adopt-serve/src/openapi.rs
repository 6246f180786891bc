//! `GET /openapi.json`: the server's OpenAPI 3.1 document, written by hand beside the routes
//! it describes (a test checks it names every one of [`crate::api::ROUTES`]).

use serde_json::{json, Map, Value};

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_body(name: &str) -> Value {
    json!({ "application/json": { "schema": schema(name) } })
}

/// A response of `status` whose body is the schema `name`.
fn answer(description: &str, name: &str) -> Value {
    json!({ "description": description, "content": json_body(name) })
}

/// The error answers of a route, in the route's error shape.
fn errors(codes: &[(u16, &str)], shape: &str, out: &mut Map<String, Value>) {
    for (code, why) in codes {
        out.insert(code.to_string(), answer(why, shape));
    }
}

const UNAUTHORISED: (u16, &str) = (401, "No API key, or not one of the server's keys");
const BUSY: (u16, &str) = (
    503,
    "Too many requests at once (retry after the Retry-After header)",
);

/// The document. `keys`: whether requests need an API key (false under `--no-auth`), so the
/// document says what this server asks for.
pub fn document(keys: bool) -> Value {
    let mut search_responses = Map::new();
    search_responses.insert("200".into(), answer("Hits in rank order", "SearchResponse"));
    errors(
        &[
            (
                400,
                "Invalid body, empty query, top_k out of range, or an unavailable mode",
            ),
            UNAUTHORISED,
            (
                403,
                "The filter names a department outside the key's departments",
            ),
            (413, "Body over the size limit"),
            (500, "The search or the audit log failed"),
            BUSY,
            (504, "The search timed out"),
        ],
        "Error",
        &mut search_responses,
    );
    let mut chat_responses = Map::new();
    chat_responses.insert(
        "200".into(),
        json!({
            "description": "The answer with its sources; with `stream: true`, server-sent \
                events: `data:` lines each holding a ChatCompletionChunk (the first with the \
                sources), an `error` object if the model fails mid-answer, then `data: [DONE]`",
            "content": {
                "application/json": { "schema": schema("ChatCompletion") },
                "text/event-stream": { "schema": { "type": "string" },
                    "x-event-schema": schema("ChatCompletionChunk") },
            },
        }),
    );
    errors(
        &[
            (400, "Invalid body, no user message, unsupported role or content, bad sampling values or retrieval settings"),
            UNAUTHORISED,
            (403, "The retrieval filter names a department outside the key's departments"),
            (404, "The model is not one of the server's models"),
            (413, "Body over the size limit"),
            (500, "The search or the audit log failed"),
            (502, "The model failed"),
            (503, "No chat model configured, the model could not be loaded, or too many requests at once"),
            (504, "The search or the model timed out"),
        ],
        "OpenAiError",
        &mut chat_responses,
    );
    let mut kb_responses = Map::new();
    kb_responses.insert("200".into(), answer("What the key may search", "KbInfo"));
    errors(&[UNAUTHORISED], "Error", &mut kb_responses);
    let mut models_responses = Map::new();
    models_responses.insert(
        "200".into(),
        answer("The models that answer chat requests", "ModelList"),
    );
    errors(&[UNAUTHORISED], "OpenAiError", &mut models_responses);

    let open = json!([]);
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "adopt serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Search and chat over a run directory's knowledge base. Every \
                request to /v1 carries an API key bound to departments; the key's departments \
                are a condition of every index query, so chunks of other departments are never \
                retrieved, into search hits or into a chat prompt.",
        },
        "paths": {
            "/health": { "get": {
                "operationId": "health",
                "summary": "Liveness",
                "security": open,
                "responses": { "200": answer("The server is up", "Health") },
            }},
            "/openapi.json": { "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": open,
                "responses": { "200": {
                    "description": "The OpenAPI document",
                    "content": { "application/json": { "schema": { "type": "object" } } },
                }},
            }},
            "/v1/kb": { "get": {
                "operationId": "kbInfo",
                "summary": "Documents and chunks per department the key may read, and the search settings",
                "responses": kb_responses,
            }},
            "/v1/search": { "post": {
                "operationId": "search",
                "summary": "Search the knowledge base within the key's departments",
                "requestBody": { "required": true, "content": json_body("SearchRequest") },
                "responses": search_responses,
            }},
            "/v1/models": { "get": {
                "operationId": "listModels",
                "summary": "The trial's models that answer chat requests (OpenAI-compatible)",
                "responses": models_responses,
            }},
            "/v1/chat/completions": { "post": {
                "operationId": "createChatCompletion",
                "summary": "Answer the last user message from the knowledge base (OpenAI-compatible)",
                "description": "The last user message is searched as /v1/search searches, \
                    within the key's departments; the chunks found are the prompt's numbered \
                    context and come back as `sources`.",
                "requestBody": { "required": true, "content": json_body("ChatRequest") },
                "responses": chat_responses,
            }},
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key of the server's --keys file or ADOPT_SERVE_KEYS, \
                        sent as `Authorization: Bearer KEY`; it reads only its departments.",
                },
            },
            "schemas": schemas(),
        },
    });
    if keys {
        doc["security"] = json!([{ "bearer": [] }]);
    } else {
        // --no-auth: nothing asks for a key.
        doc["components"]
            .as_object_mut()
            .expect("an object")
            .remove("securitySchemes");
        for path in doc["paths"]
            .as_object_mut()
            .expect("an object")
            .values_mut()
        {
            for op in path.as_object_mut().expect("an object").values_mut() {
                op.as_object_mut().expect("an object").remove("security");
                let responses = op["responses"].as_object_mut().expect("an object");
                responses.remove("401");
                responses.remove("403");
            }
        }
    }
    doc
}

fn schemas() -> Value {
    let nullable_string = json!({ "type": ["string", "null"] });
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": { "error": { "type": "string" } },
        },
        "OpenAiError": {
            "type": "object",
            "required": ["error"],
            "properties": { "error": {
                "type": "object",
                "required": ["message", "type"],
                "properties": {
                    "message": { "type": "string" },
                    "type": { "type": "string", "enum": ["invalid_request_error", "authentication_error", "permission_error", "not_found_error", "server_error"] },
                    "code": { "type": "null" },
                },
            }},
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": { "status": { "const": "ok" } },
        },
        "KbInfo": {
            "type": "object",
            "required": ["documents", "chunks", "departments", "modes", "default_mode", "search", "max_top_k"],
            "properties": {
                "documents": { "type": "integer" },
                "chunks": { "type": "integer" },
                "departments": { "type": "array", "items": {
                    "type": "object",
                    "required": ["name", "documents", "chunks"],
                    "properties": {
                        "name": nullable_string,
                        "documents": { "type": "integer" },
                        "chunks": { "type": "integer" },
                    },
                }},
                "embedding_model": nullable_string,
                "modes": { "type": "array", "items": schema("Mode") },
                "default_mode": schema("Mode"),
                "search": {
                    "type": "object",
                    "properties": {
                        "fusion": { "type": "string" },
                        "rrf_k": { "type": "integer" },
                        "prefetch": { "type": "integer" },
                    },
                },
                "max_top_k": { "type": "integer" },
            },
        },
        "Mode": { "type": "string", "enum": ["hybrid", "dense", "sparse"] },
        "Filter": {
            "type": "object",
            "additionalProperties": false,
            "description": "Exact matches; all that are given must hold.",
            "properties": {
                "department": nullable_string,
                "doc_id": nullable_string,
                "source_path": nullable_string,
            },
        },
        "SearchRequest": {
            "type": "object",
            "additionalProperties": false,
            "required": ["query"],
            "properties": {
                "query": { "type": "string", "minLength": 1 },
                "top_k": { "type": "integer", "minimum": 1, "maximum": 100, "default": 5 },
                "mode": { "anyOf": [schema("Mode"), { "type": "null" }], "description": "The server's default mode when absent" },
                "filter": schema("Filter"),
            },
        },
        "Hit": {
            "type": "object",
            "required": ["chunk_id", "doc_id", "source_path", "department", "unit", "headings", "char_start", "char_end", "score", "text"],
            "properties": {
                "chunk_id": { "type": "string" },
                "doc_id": { "type": "string" },
                "source_path": { "type": "string" },
                "department": nullable_string,
                "unit": { "type": "string", "description": "Page or sheet label" },
                "headings": { "type": "array", "items": { "type": "string" } },
                "char_start": { "type": "integer" },
                "char_end": { "type": "integer" },
                "score": { "type": "number" },
                "text": { "type": "string" },
            },
        },
        "Source": {
            "description": "A chunk put into the prompt, numbered as the prompt numbers it ([1], [2], ...).",
            "allOf": [schema("Hit"), {
                "type": "object",
                "required": ["index"],
                "properties": { "index": { "type": "integer", "minimum": 1 } },
            }],
        },
        "SearchResponse": {
            "type": "object",
            "required": ["mode", "top_k", "hits"],
            "properties": {
                "mode": schema("Mode"),
                "top_k": { "type": "integer" },
                "hits": { "type": "array", "items": schema("Hit") },
            },
        },
        "ChatMessage": {
            "type": "object",
            "required": ["role"],
            "properties": {
                "role": { "type": "string", "enum": ["system", "developer", "user", "assistant"] },
                "content": { "anyOf": [
                    { "type": "string" },
                    { "type": "null" },
                    { "type": "array", "items": {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": { "type": { "const": "text" }, "text": { "type": "string" } },
                    }},
                ]},
            },
        },
        "ChatRequest": {
            "type": "object",
            "required": ["messages"],
            "description": "OpenAI's request; fields not listed here are accepted and ignored.",
            "properties": {
                "model": { "type": ["string", "null"], "description": "A name from GET /v1/models (or the id it is served under); the server's default model when absent" },
                "messages": { "type": "array", "minItems": 1, "items": schema("ChatMessage") },
                "stream": { "type": ["boolean", "null"], "default": false },
                "stream_options": { "type": ["object", "null"], "properties": { "include_usage": { "type": ["boolean", "null"] } } },
                "max_tokens": { "type": ["integer", "null"], "minimum": 1, "description": "Capped at the server's limit, which is also the default" },
                "max_completion_tokens": { "type": ["integer", "null"], "minimum": 1 },
                "temperature": { "type": ["number", "null"], "minimum": 0, "maximum": 2 },
                "top_p": { "type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1 },
                "seed": { "type": ["integer", "null"], "minimum": 0 },
                "stop": { "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }, { "type": "null" }] },
                "n": { "type": ["integer", "null"], "const": 1 },
                "retrieval": {
                    "type": ["object", "null"],
                    "additionalProperties": false,
                    "description": "adopt's own: how the context is retrieved",
                    "properties": {
                        "top_k": { "type": ["integer", "null"], "minimum": 1, "maximum": 100, "default": 4 },
                        "mode": { "anyOf": [schema("Mode"), { "type": "null" }] },
                        "filter": schema("Filter"),
                    },
                },
            },
        },
        "Usage": {
            "type": "object",
            "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
            "properties": {
                "prompt_tokens": { "type": "integer" },
                "completion_tokens": { "type": "integer" },
                "total_tokens": { "type": "integer" },
            },
        },
        "ChatCompletion": {
            "type": "object",
            "required": ["id", "object", "created", "model", "choices", "usage", "sources"],
            "properties": {
                "id": { "type": "string" },
                "object": { "const": "chat.completion" },
                "created": { "type": "integer" },
                "model": { "type": "string" },
                "choices": { "type": "array", "items": {
                    "type": "object",
                    "required": ["index", "message", "finish_reason"],
                    "properties": {
                        "index": { "type": "integer" },
                        "message": {
                            "type": "object",
                            "required": ["role", "content"],
                            "properties": { "role": { "const": "assistant" }, "content": { "type": "string" } },
                        },
                        "finish_reason": { "type": "string" },
                    },
                }},
                "usage": schema("Usage"),
                "sources": { "type": "array", "items": schema("Source") },
            },
        },
        "ChatCompletionChunk": {
            "type": "object",
            "required": ["id", "object", "created", "model", "choices"],
            "properties": {
                "id": { "type": "string" },
                "object": { "const": "chat.completion.chunk" },
                "created": { "type": "integer" },
                "model": { "type": "string" },
                "choices": { "type": "array", "items": {
                    "type": "object",
                    "required": ["index", "delta", "finish_reason"],
                    "properties": {
                        "index": { "type": "integer" },
                        "delta": {
                            "type": "object",
                            "properties": { "role": { "const": "assistant" }, "content": { "type": "string" } },
                        },
                        "finish_reason": { "type": ["string", "null"] },
                    },
                }},
                "usage": schema("Usage"),
                "sources": { "type": "array", "items": schema("Source"), "description": "In the first chunk only" },
            },
        },
        "ModelList": {
            "type": "object",
            "required": ["object", "data"],
            "properties": {
                "object": { "const": "list" },
                "data": { "type": "array", "items": {
                    "type": "object",
                    "required": ["id", "object", "created", "owned_by", "default"],
                    "properties": {
                        "id": { "type": "string" },
                        "object": { "const": "model" },
                        "created": { "type": "integer" },
                        "owned_by": { "type": "string" },
                        "default": { "type": "boolean", "description": "Answers requests that name no model" },
                        "size": { "type": ["string", "null"] },
                    },
                }},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` of `v`.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_route_is_described_and_every_ref_resolves() {
        for keys in [true, false] {
            let doc = document(keys);
            let mut described: Vec<(String, String)> = Vec::new();
            for (path, ops) in doc["paths"].as_object().unwrap() {
                for method in ops.as_object().unwrap().keys() {
                    described.push((method.to_uppercase(), path.clone()));
                }
            }
            described.sort();
            let mut routes: Vec<(String, String)> = crate::api::ROUTES
                .iter()
                .map(|(m, p)| (m.to_string(), p.to_string()))
                .collect();
            routes.sort();
            assert_eq!(described, routes);
            let mut all = Vec::new();
            refs(&doc, &mut all);
            assert!(!all.is_empty());
            for r in all {
                let name = r.strip_prefix("#/components/schemas/").unwrap();
                assert!(doc["components"]["schemas"][name].is_object(), "{r}");
            }
            assert_eq!(doc["security"].is_array(), keys);
            assert_eq!(
                doc["paths"]["/v1/search"]["post"]["responses"]["401"].is_object(),
                keys
            );
        }
    }
}
