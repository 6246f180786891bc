//! A scripted OpenAI-compatible server on 127.0.0.1, started by each test: it records what it
//! receives and answers what the test says, including the failures real servers produce
//! (429 with Retry-After, 5xx, stalls, resets, torn streams).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// What to answer.
pub enum Reply {
    /// A complete response with a body and extra headers.
    Json {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// An SSE response: each piece written (and flushed) after its pause; then the connection
    /// closes.
    Stream(Vec<(Vec<u8>, Duration)>),
    /// Say nothing for this long, then close.
    Stall(Duration),
    /// Close the connection at once, without a response.
    Close,
}

impl Reply {
    pub fn ok(body: serde_json::Value) -> Self {
        Reply::Json {
            status: 200,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    pub fn status(status: u16, body: &str) -> Self {
        Reply::Json {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// A non-streamed chat completion.
    pub fn completion(content: &str, usage: Option<(u64, u64)>) -> Self {
        let mut v = serde_json::json!({
            "id": "x", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
        });
        if let Some((i, o)) = usage {
            v["usage"] = serde_json::json!({"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o});
        }
        Reply::ok(v)
    }

    /// A streamed chat completion of `pieces`, with an optional final usage chunk and [DONE].
    pub fn sse(pieces: &[&str], usage: Option<(u64, u64)>, done: bool) -> Self {
        let mut out = Vec::new();
        let chunk = |delta: serde_json::Value, finish: Option<&str>| {
            let v = serde_json::json!({"object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
            format!("data: {v}\n\n").into_bytes()
        };
        out.push((
            chunk(serde_json::json!({"role": "assistant"}), None),
            Duration::ZERO,
        ));
        for p in pieces {
            out.push((
                chunk(serde_json::json!({"content": p}), None),
                Duration::from_millis(2),
            ));
        }
        out.push((chunk(serde_json::json!({}), Some("stop")), Duration::ZERO));
        if let Some((i, o)) = usage {
            let v = serde_json::json!({"object": "chat.completion.chunk", "choices": [],
                "usage": {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}});
            out.push((format!("data: {v}\n\n").into_bytes(), Duration::ZERO));
        }
        if done {
            out.push((b"data: [DONE]\n\n".to_vec(), Duration::ZERO));
        }
        Reply::Stream(out)
    }
}

type Handler = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// The running server; stops when dropped.
pub struct FakeServer {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl FakeServer {
    /// Starts a server answering each request with `handler(request, index of the request)`.
    pub fn start(handler: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let counter = Arc::new(AtomicUsize::new(0));
        {
            let (requests, stop) = (requests.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (requests, handler, counter) =
                        (requests.clone(), handler.clone(), counter.clone());
                    thread::spawn(move || serve(conn, &requests, &*handler, &counter));
                }
            });
        }
        FakeServer {
            url: format!("http://{addr}/v1"),
            requests,
            stop,
            addr,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
    }
}

fn serve(
    conn: TcpStream,
    requests: &Mutex<Vec<Recorded>>,
    handler: &Handler,
    counter: &AtomicUsize,
) {
    let _ = conn.set_nodelay(true);
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let rec = Recorded {
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        requests.lock().unwrap().push(rec.clone());
        let n = counter.fetch_add(1, Ordering::SeqCst);
        match handler(&rec, n) {
            Reply::Json {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if conn
                    .write_all(head.as_bytes())
                    .and_then(|_| conn.write_all(body.as_bytes()))
                    .is_err()
                {
                    return;
                }
                // keep-alive: next request on the same connection
            }
            Reply::Stream(pieces) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.flush();
                for (bytes, pause) in pieces {
                    thread::sleep(pause);
                    if conn.write_all(&bytes).and_then(|_| conn.flush()).is_err() {
                        return;
                    }
                }
                return;
            }
            Reply::Stall(d) => {
                thread::sleep(d);
                return;
            }
            Reply::Close => return,
        }
    }
}
