//! A forgiving tokenizer for content streams and CMap programs.
//!
//! Both are PostScript-like: operands followed by an operator. We tokenize by hand instead of using
//! `lopdf::content::Content::decode` because that parser allocates an `Object` per token and gives
//! up on the first syntax error, while real files are often sloppy (stray brackets, bad numbers,
//! binary inline images). Every loop here advances `pos`, so the lexer always terminates.

/// One operand of a content-stream operator. Dictionaries are parsed (to skip them) but not kept:
/// nothing we extract needs them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Number(f64),
    String(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Operand>),
    Other,
}

impl Operand {
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Operand::Number(n) => Some(*n),
            _ => None,
        }
    }
}

/// Arrays nested deeper than this are skipped; real content never comes close.
const MAX_NESTING: usize = 32;

pub(crate) struct Lexer<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Operands kept before an operator; older ones are dropped beyond this (garbage protection).
    max_operands: usize,
}

fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Lexer {
            buf,
            pos: 0,
            max_operands: 64,
        }
    }

    /// A lexer for CMap programs, whose `beginbfchar` sections carry many operands.
    pub(crate) fn for_cmap(buf: &'a [u8]) -> Self {
        Lexer {
            buf,
            pos: 0,
            max_operands: 1 << 20,
        }
    }

    fn skip_white_and_comments(&mut self) {
        while let Some(&b) = self.buf.get(self.pos) {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(&c) = self.buf.get(self.pos) {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Reads operands into `operands` until an operator; returns the operator, or `None` at the end.
    /// `operands` is cleared first.
    pub(crate) fn next_op(&mut self, operands: &mut Vec<Operand>) -> Option<&'a [u8]> {
        operands.clear();
        loop {
            self.skip_white_and_comments();
            let &b = self.buf.get(self.pos)?;
            if let Some(op) = self.parse_token(b, operands, 0) {
                if op == b"BI" {
                    self.skip_inline_image();
                }
                return Some(op);
            }
            if operands.len() > self.max_operands {
                operands.drain(..operands.len() / 2);
            }
        }
    }

    /// Parses one token starting with byte `b`. Operands are pushed; a keyword is returned.
    fn parse_token(&mut self, b: u8, out: &mut Vec<Operand>, depth: usize) -> Option<&'a [u8]> {
        match b {
            b'0'..=b'9' | b'+' | b'-' | b'.' => out.push(Operand::Number(self.parse_number())),
            b'(' => out.push(Operand::String(self.parse_literal())),
            b'<' => {
                if self.buf.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    self.skip_dict(depth);
                    out.push(Operand::Other);
                } else {
                    out.push(Operand::String(self.parse_hex()));
                }
            }
            b'/' => out.push(Operand::Name(self.parse_name())),
            b'[' => {
                self.pos += 1;
                let arr = self.parse_array(depth + 1);
                out.push(Operand::Array(arr));
            }
            b'{' | b'}' | b']' | b')' | b'>' => self.pos += 1,
            _ => {
                let start = self.pos;
                while let Some(&c) = self.buf.get(self.pos) {
                    if is_white(c) || is_delim(c) {
                        break;
                    }
                    self.pos += 1;
                }
                if self.pos == start {
                    // A byte that is neither delimiter nor regular: skip it.
                    self.pos += 1;
                    return None;
                }
                let word = &self.buf[start..self.pos];
                match word {
                    b"true" | b"false" | b"null" => out.push(Operand::Other),
                    _ => return Some(word),
                }
            }
        }
        None
    }

    fn parse_array(&mut self, depth: usize) -> Vec<Operand> {
        let mut items = Vec::new();
        loop {
            self.skip_white_and_comments();
            let Some(&b) = self.buf.get(self.pos) else {
                return items;
            };
            if b == b']' {
                self.pos += 1;
                return items;
            }
            if depth > MAX_NESTING && b == b'[' {
                self.pos += 1;
                continue;
            }
            // A keyword inside an array is malformed; it is dropped.
            let _ = self.parse_token(b, &mut items, depth);
        }
    }

    fn skip_dict(&mut self, depth: usize) {
        let mut scratch = Vec::new();
        loop {
            self.skip_white_and_comments();
            let Some(&b) = self.buf.get(self.pos) else {
                return;
            };
            if b == b'>' {
                self.pos += 1;
                if self.buf.get(self.pos) == Some(&b'>') {
                    self.pos += 1;
                }
                return;
            }
            if depth > MAX_NESTING && b == b'<' {
                self.pos += 1;
                continue;
            }
            let _ = self.parse_token(b, &mut scratch, depth + 1);
            scratch.clear();
        }
    }

    fn parse_number(&mut self) -> f64 {
        let mut neg = false;
        while let Some(&c @ (b'+' | b'-')) = self.buf.get(self.pos) {
            neg ^= c == b'-';
            self.pos += 1;
        }
        let mut int_part: f64 = 0.0;
        let mut frac: f64 = 0.0;
        let mut scale = 1.0;
        let mut seen_dot = false;
        while let Some(&c) = self.buf.get(self.pos) {
            match c {
                b'.' if !seen_dot => seen_dot = true,
                b'0'..=b'9' => {
                    let d = f64::from(c - b'0');
                    if seen_dot {
                        scale *= 0.1;
                        frac += d * scale;
                    } else {
                        int_part = int_part * 10.0 + d;
                    }
                }
                _ => break,
            }
            self.pos += 1;
        }
        let v = int_part + frac;
        let v = if neg { -v } else { v };
        if v.is_finite() {
            v
        } else {
            0.0
        }
    }

    fn parse_literal(&mut self) -> Vec<u8> {
        self.pos += 1; // '('
        let mut out = Vec::new();
        let mut depth = 1usize;
        while let Some(&c) = self.buf.get(self.pos) {
            self.pos += 1;
            match c {
                b'(' => {
                    depth += 1;
                    out.push(c);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    out.push(c);
                }
                b'\\' => {
                    let Some(&e) = self.buf.get(self.pos) else {
                        break;
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.buf.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.buf.get(self.pos) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }

    fn parse_hex(&mut self) -> Vec<u8> {
        self.pos += 1; // '<'
        let mut out = Vec::new();
        let mut hi: Option<u8> = None;
        while let Some(&c) = self.buf.get(self.pos) {
            self.pos += 1;
            if c == b'>' {
                break;
            }
            if let Some(v) = hex_val(c) {
                match hi.take() {
                    Some(h) => out.push(h << 4 | v),
                    None => hi = Some(v),
                }
            }
        }
        if let Some(h) = hi {
            out.push(h << 4);
        }
        out
    }

    fn parse_name(&mut self) -> Vec<u8> {
        self.pos += 1; // '/'
        let mut out = Vec::new();
        while let Some(&c) = self.buf.get(self.pos) {
            if is_white(c) || is_delim(c) {
                break;
            }
            self.pos += 1;
            if c == b'#' {
                let h = self.buf.get(self.pos).copied().and_then(hex_val);
                let l = self.buf.get(self.pos + 1).copied().and_then(hex_val);
                if let (Some(h), Some(l)) = (h, l) {
                    out.push(h << 4 | l);
                    self.pos += 2;
                    continue;
                }
            }
            out.push(c);
        }
        out
    }

    /// Skips `BI ... ID <binary> EI`. The binary data may contain anything, so we look for `EI`
    /// between whitespace (or at the end), as other readers do.
    fn skip_inline_image(&mut self) {
        let mut scratch = Vec::new();
        // Parameters up to the ID keyword.
        loop {
            self.skip_white_and_comments();
            let Some(&b) = self.buf.get(self.pos) else {
                return;
            };
            if let Some(op) = self.parse_token(b, &mut scratch, 0) {
                if op == b"ID" {
                    break;
                }
            }
            scratch.clear();
        }
        // One whitespace byte follows ID.
        self.pos += 1;
        let buf = self.buf;
        while self.pos + 1 < buf.len() {
            if buf[self.pos] == b'E'
                && buf[self.pos + 1] == b'I'
                && (self.pos == 0 || is_white(buf[self.pos - 1]))
                && buf.get(self.pos + 2).is_none_or(|&c| is_white(c))
            {
                self.pos += 2;
                return;
            }
            self.pos += 1;
        }
        self.pos = buf.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(src: &[u8]) -> Vec<(String, Vec<Operand>)> {
        let mut lx = Lexer::new(src);
        let mut operands = Vec::new();
        let mut out = Vec::new();
        while let Some(op) = lx.next_op(&mut operands) {
            out.push((String::from_utf8_lossy(op).into_owned(), operands.clone()));
        }
        out
    }

    #[test]
    fn parses_text_operators() {
        let got =
            ops(b"BT /F1 12 Tf 1 0 0 1 72.5 -.5 Tm (a\\(b\\)\\101) Tj [<0041> -250 (x)] TJ ET");
        assert_eq!(got[1].0, "Tf");
        assert_eq!(
            got[1].1,
            vec![Operand::Name(b"F1".to_vec()), Operand::Number(12.0)]
        );
        assert_eq!(got[2].1[5], Operand::Number(-0.5));
        assert_eq!(got[3].1, vec![Operand::String(b"a(b)A".to_vec())]);
        let Operand::Array(items) = &got[4].1[0] else {
            panic!("array expected")
        };
        assert_eq!(items[0], Operand::String(vec![0, 0x41]));
        assert_eq!(items[1], Operand::Number(-250.0));
    }

    #[test]
    fn skips_inline_images_and_garbage() {
        let got = ops(b"q BI /W 1 /H 1 ID \x00EI\xffEIx\nEI Q ]]) (unterminated");
        let names: Vec<_> = got.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(names, vec!["q", "BI", "Q"]);
    }

    #[test]
    fn survives_deep_nesting() {
        let src = vec![b'['; 100_000];
        assert!(ops(&src).is_empty());
    }
}
