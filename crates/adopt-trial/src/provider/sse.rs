//! Server-sent events, as chat-completion servers send them. Read line by line from a
//! `BufRead`, so an event split across TCP reads (or a UTF-8 character split across them)
//! arrives whole. Lenient where servers differ: CRLF line ends, comments (keep-alives), and a
//! last event without its closing blank line.

use std::io::{self, BufRead};

/// One event: its `event:` name, if any, and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Pulls events from a byte stream.
pub struct SseReader<R> {
    inner: R,
    line: Vec<u8>,
}

impl<R: BufRead> SseReader<R> {
    pub fn new(inner: R) -> Self {
        SseReader {
            inner,
            line: Vec::new(),
        }
    }

    /// The next event, or `None` at the end of the stream.
    pub fn next_event(&mut self) -> io::Result<Option<SseEvent>> {
        let mut event: Option<String> = None;
        let mut data: Option<String> = None;
        loop {
            self.line.clear();
            let n = self.inner.read_until(b'\n', &mut self.line)?;
            if n == 0 {
                // End of stream: hand over a last event even without its blank line.
                return Ok(data.map(|data| SseEvent { event, data }));
            }
            let mut line = &self.line[..];
            while let Some((&last, rest)) = line.split_last() {
                if last == b'\n' || last == b'\r' {
                    line = rest;
                } else {
                    break;
                }
            }
            if line.is_empty() {
                if let Some(data) = data.take() {
                    return Ok(Some(SseEvent { event, data }));
                }
                event = None;
                continue;
            }
            if line[0] == b':' {
                continue; // comment / keep-alive
            }
            let text = String::from_utf8_lossy(line);
            let (field, value) = match text.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (text.as_ref(), ""),
            };
            match field {
                "data" => match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => data = Some(value.to_string()),
                },
                "event" => event = Some(value.to_string()),
                _ => {} // id, retry: nothing to do for a one-shot request
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Read};

    /// A reader that hands out at most `step` bytes per read, to split events, lines and
    /// multi-byte characters across reads.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn events(text: &str, step: usize) -> Vec<SseEvent> {
        let mut r = SseReader::new(BufReader::with_capacity(
            step.max(1),
            Trickle {
                bytes: text.as_bytes(),
                step,
            },
        ));
        let mut out = Vec::new();
        while let Some(e) = r.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    #[test]
    fn split_reads_and_multibyte_characters_survive() {
        let text = "data: {\"a\":\"合同金额\"}\n\n: keep-alive\n\ndata: [DONE]\n\n";
        for step in [1, 2, 3, 5, 7, 64] {
            let ev = events(text, step);
            assert_eq!(ev.len(), 2, "step {step}");
            assert_eq!(ev[0].data, "{\"a\":\"合同金额\"}");
            assert_eq!(ev[1].data, "[DONE]");
        }
    }

    #[test]
    fn crlf_multiline_named_and_unterminated_events() {
        let ev = events(
            "event: error\r\ndata: line1\r\ndata:line2\r\n\r\ndata: tail-without-blank",
            4,
        );
        assert_eq!(ev[0].event.as_deref(), Some("error"));
        assert_eq!(ev[0].data, "line1\nline2");
        assert_eq!(ev[1].data, "tail-without-blank");
        assert_eq!(ev[1].event, None);
    }
}
