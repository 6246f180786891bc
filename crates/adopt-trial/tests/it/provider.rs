//! The HTTP client against a scripted local server: retries, Retry-After, timeouts, malformed
//! answers and the corners of SSE streaming.

use std::time::{Duration, Instant};

use adopt_trial::provider::{RetryPolicy, UsageSource};
use adopt_trial::{
    ChatModel, ChatRequest, Endpoint, FailureKind, Message, OpenAiCompatible, ProviderKind,
    RequestParams,
};

use crate::fake_server::{FakeServer, Reply};

fn endpoint(server: &FakeServer) -> Endpoint {
    let mut e = Endpoint::new(
        "test-model",
        ProviderKind::OpenaiCompatible,
        &server.url,
        "m-1",
    );
    e.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    };
    e.timeout = Duration::from_secs(10);
    e.read_timeout = Duration::from_secs(5);
    e
}

fn request(stream: bool) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::user("What is the amount?")],
        params: RequestParams {
            temperature: Some(0.0),
            max_tokens: Some(32),
            stream: Some(stream),
            ..Default::default()
        },
    }
}

#[test]
fn server_errors_are_retried_until_success() {
    let server = FakeServer::start(|_, n| match n {
        0 => Reply::status(503, r#"{"error":{"message":"overloaded"}}"#),
        1 => Reply::status(500, "boom"),
        _ => Reply::completion("1200", Some((10, 2))),
    });
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let r = client.chat(&request(false)).unwrap();
    assert_eq!(r.content, "1200");
    assert_eq!(r.attempts, 3);
    assert_eq!(
        (r.input_tokens, r.output_tokens, r.usage),
        (10, 2, UsageSource::Reported)
    );
    assert_eq!(server.count(), 3);
}

#[test]
fn rate_limit_waits_for_retry_after() {
    let server = FakeServer::start(|_, n| match n {
        0 => Reply::Json {
            status: 429,
            headers: vec![("Retry-After".into(), "1".into())],
            body: r#"{"error":{"message":"rate limited"}}"#.into(),
        },
        _ => Reply::completion("ok", Some((5, 1))),
    });
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let t = Instant::now();
    let r = client.chat(&request(false)).unwrap();
    // Backoff alone would have waited ~10 ms; the server asked for a second.
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(r.attempts, 2);
}

#[test]
fn rate_limit_gives_up_after_max_retries_as_transient() {
    let server = FakeServer::start(|_, _| Reply::Json {
        status: 429,
        headers: vec![("retry-after-ms".into(), "5".into())],
        body: "slow down".into(),
    });
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let e = client.chat(&request(false)).unwrap_err();
    assert_eq!(e.kind, FailureKind::Transient);
    assert_eq!(e.status, Some(429));
    assert!(e.message.contains("after 4 attempts"), "{}", e.message);
    assert_eq!(server.count(), 4);
}

#[test]
fn auth_failure_is_permanent_and_never_leaks_the_key() {
    let secret = "sk-adopt-test-0123456789";
    // A unique variable per test: tests run in parallel in one process.
    std::env::set_var("ADOPT_TRIAL_TEST_KEY_401", secret);
    let server = FakeServer::start(move |_, _| {
        Reply::status(
            401,
            &format!(r#"{{"error":{{"message":"Incorrect API key provided: {secret}"}}}}"#),
        )
    });
    let mut ep = endpoint(&server);
    ep.api_key_env = Some("ADOPT_TRIAL_TEST_KEY_401".into());
    ep.headers = vec![("X-Team".into(), "legal".into())];
    let client = OpenAiCompatible::new(ep).unwrap();
    assert!(!format!("{client:?}").contains(secret));
    let e = client.chat(&request(false)).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert_eq!(server.count(), 1, "a permanent error is not retried");
    assert!(!e.message.contains(secret), "{}", e.message);
    assert!(!format!("{e:?}").contains(secret));
    assert!(e.message.contains("***"));
    let got = &server.requests()[0];
    assert_eq!(
        got.header("authorization"),
        Some(format!("Bearer {secret}").as_str())
    );
    assert_eq!(got.header("x-team"), Some("legal"));
    assert_eq!(got.path, "/v1/chat/completions");
}

#[test]
fn missing_key_variable_is_named_not_guessed() {
    let server = FakeServer::start(|_, _| Reply::completion("x", None));
    let mut ep = endpoint(&server);
    ep.api_key_env = Some("ADOPT_TRIAL_TEST_KEY_UNSET".into());
    let e = OpenAiCompatible::new(ep).unwrap_err();
    assert!(e.message.contains("ADOPT_TRIAL_TEST_KEY_UNSET"));
    assert_eq!(e.kind, FailureKind::Permanent);
}

#[test]
fn bad_request_is_permanent() {
    let server =
        FakeServer::start(|_, _| Reply::status(400, r#"{"error":{"message":"model not found"}}"#));
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let e = client.chat(&request(true)).unwrap_err();
    assert_eq!((e.kind, e.status), (FailureKind::Permanent, Some(400)));
    assert!(e.message.contains("model not found"));
    assert_eq!(server.count(), 1);
}

#[test]
fn stalled_server_times_out_and_is_retried() {
    let server = FakeServer::start(|_, n| match n {
        0 => Reply::Stall(Duration::from_secs(3)),
        _ => Reply::completion("late but fine", Some((3, 3))),
    });
    let mut ep = endpoint(&server);
    ep.read_timeout = Duration::from_millis(300);
    let client = OpenAiCompatible::new(ep).unwrap();
    let t = Instant::now();
    let r = client.chat(&request(false)).unwrap();
    assert_eq!(r.attempts, 2);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[test]
fn total_timeout_bounds_a_slow_stream() {
    let server = FakeServer::start(|_, _| {
        Reply::Stream(
            (0..50)
                .map(|_| {
                    (
                        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
                            .to_vec(),
                        Duration::from_millis(100),
                    )
                })
                .collect(),
        )
    });
    let mut ep = endpoint(&server);
    ep.timeout = Duration::from_millis(500);
    ep.retry.max_retries = 0;
    let client = OpenAiCompatible::new(ep).unwrap();
    let t = Instant::now();
    let e = client.chat(&request(true)).unwrap_err();
    assert_eq!(e.kind, FailureKind::Transient, "{}", e.message);
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn connection_reset_is_transient() {
    let server = FakeServer::start(|_, n| match n {
        0 => Reply::Close,
        _ => Reply::completion("again", None),
    });
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let r = client.chat(&request(false)).unwrap();
    assert_eq!((r.content.as_str(), r.attempts), ("again", 2));
    // No usage object: tokens are estimated, and say so.
    assert_eq!(r.usage, UsageSource::Estimated);
    assert!(r.input_tokens > 0 && r.output_tokens > 0);
}

#[test]
fn malformed_body_is_permanent() {
    let server = FakeServer::start(|_, _| Reply::status(200, "<html>proxy login</html>"));
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let e = client.chat(&request(false)).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("not JSON"), "{}", e.message);
    assert_eq!(server.count(), 1);
}

#[test]
fn malformed_stream_chunk_is_permanent() {
    let server = FakeServer::start(|_, _| {
        Reply::Stream(vec![(
            b"data: {\"choices\": [oops\n\n".to_vec(),
            Duration::ZERO,
        )])
    });
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let e = client.chat(&request(true)).unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("malformed"), "{}", e.message);
}

#[test]
fn stream_split_across_reads_with_usage_and_done() {
    // The whole stream, cut into 3-byte writes: lines, JSON and UTF-8 characters all split.
    let Reply::Stream(pieces) = Reply::sse(&["合同", "金额是", "1200元"], Some((21, 7)), true)
    else {
        unreachable!()
    };
    let bytes: Vec<u8> = pieces.into_iter().flat_map(|(b, _)| b).collect();
    let server = FakeServer::start(move |_, _| {
        Reply::Stream(
            bytes
                .chunks(3)
                .map(|c| (c.to_vec(), Duration::from_micros(200)))
                .collect(),
        )
    });
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let r = client.chat(&request(true)).unwrap();
    assert_eq!(r.content, "合同金额是1200元");
    assert!(r.streamed);
    assert_eq!(
        (r.input_tokens, r.output_tokens, r.usage),
        (21, 7, UsageSource::Reported)
    );
    let ttft = r.ttft_ms.expect("time to first token");
    assert!(ttft > 0.0 && ttft <= r.latency_ms);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    let body = server.requests()[0].json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["model"], "m-1");
    assert_eq!(body["max_tokens"], 32);
}

#[test]
fn stream_without_usage_is_estimated_and_without_done_is_accepted_when_finished() {
    let server = FakeServer::start(|_, _| Reply::sse(&["Paris", " is the answer"], None, false));
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let r = client.chat(&request(true)).unwrap();
    assert_eq!(r.content, "Paris is the answer");
    assert_eq!(r.usage, UsageSource::Estimated);
    assert!(r.output_tokens >= 4 && r.input_tokens > 0);
}

#[test]
fn stream_cut_midway_is_retried() {
    let server = FakeServer::start(|_, n| match n {
        0 => Reply::Stream(vec![(
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Par\"}}]}\n\n".to_vec(),
            Duration::ZERO,
        )]),
        _ => Reply::sse(&["Paris"], Some((4, 1)), true),
    });
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let r = client.chat(&request(true)).unwrap();
    assert_eq!((r.content.as_str(), r.attempts), ("Paris", 2));
}

#[test]
fn error_inside_stream_is_transient() {
    let server = FakeServer::start(|_, n| match n {
        0 => Reply::Stream(vec![(
            b"data: {\"error\":{\"message\":\"worker died\"}}\n\n".to_vec(),
            Duration::ZERO,
        )]),
        _ => Reply::sse(&["ok"], Some((4, 1)), true),
    });
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    assert_eq!(client.chat(&request(true)).unwrap().attempts, 2);
}

#[test]
fn server_ignoring_stream_flag_is_read_whole() {
    let server = FakeServer::start(|_, _| Reply::completion("whole", Some((2, 1))));
    let client = OpenAiCompatible::new(endpoint(&server)).unwrap();
    let r = client.chat(&request(true)).unwrap();
    assert_eq!(r.content, "whole");
    assert!(!r.streamed);
}

#[test]
fn zhipu_gets_no_stream_options() {
    let server = FakeServer::start(|_, _| Reply::sse(&["好"], None, true));
    let mut ep = endpoint(&server);
    ep.provider = ProviderKind::Zhipu;
    ep.stream_usage = ProviderKind::Zhipu.supports_stream_usage();
    let client = OpenAiCompatible::new(ep).unwrap();
    client.chat(&request(true)).unwrap();
    assert!(server.requests()[0].json().get("stream_options").is_none());
}
