//! Structure-aware chunking: documents become retrieval units that an embedding model can read
//! whole and that a person can trace back to a page, sheet and heading.
//!
//! A chunk never spans two units (pages, sheets), never mixes two sections (a heading starts a
//! new chunk and its path travels with every chunk below it), keeps a table whole when it fits
//! and otherwise splits it by rows with its header repeated, and splits an over-long paragraph at
//! sentence ends (CJK `。！？；` as well as `.!?`) before falling back to a hard split.
//! Sizes are measured in the embedder's own tokens, because that is what gets truncated.

use adopt_core::{Document, UNIT_SEPARATOR};
use serde::{Deserialize, Serialize};

/// How documents are cut into chunks. Stored in the manifest: a change forces a full rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ChunkSettings {
    /// Tokens a chunk aims for; chunks are packed from paragraphs, sentences or table rows up to it.
    pub target_tokens: usize,
    /// Hard ceiling: a single sentence or row longer than this is split.
    pub max_tokens: usize,
    /// Tokens of trailing text repeated at the start of the next chunk when running text is split,
    /// so that a fact cut at a chunk edge is still found whole in one chunk.
    pub overlap_tokens: usize,
}

impl Default for ChunkSettings {
    fn default() -> Self {
        ChunkSettings {
            target_tokens: 256,
            max_tokens: 400,
            overlap_tokens: 32,
        }
    }
}

impl ChunkSettings {
    /// Every problem at once, so a user fixes the settings in one go.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        if self.target_tokens == 0 {
            errors.push("target-tokens must be at least 1".to_string());
        }
        if self.max_tokens < self.target_tokens {
            errors.push(format!(
                "max-tokens ({}) must not be below target-tokens ({})",
                self.max_tokens, self.target_tokens
            ));
        }
        if self.overlap_tokens >= self.target_tokens.max(1) {
            errors.push(format!(
                "overlap-tokens ({}) must be below target-tokens ({})",
                self.overlap_tokens, self.target_tokens
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// What a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChunkKind {
    Text,
    Table,
}

/// One retrieval unit with everything needed to cite it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Stable id (a UUID string) from doc id, position and text: rebuilding the same document
    /// yields the same ids, which is what makes upserts idempotent.
    pub chunk_id: String,
    pub doc_id: String,
    pub source_path: String,
    pub department: Option<String>,
    pub title: Option<String>,
    /// Label of the unit the chunk lies in ("page 3", "sheet Q1"); empty when the document has none.
    pub unit: String,
    /// Index of that unit in the document (0-based).
    pub unit_index: u32,
    /// Index of the chunk within the document (0-based).
    pub chunk_index: u32,
    /// Span in `Document::text`, in characters (not bytes), end exclusive.
    pub char_start: u64,
    pub char_end: u64,
    /// Heading path above the chunk, outermost first.
    pub headings: Vec<String>,
    pub kind: ChunkKind,
    /// The chunk's own text (a table part starts with its repeated header line).
    pub text: String,
    /// Tokens of `text` in the embedder's tokenizer.
    pub tokens: usize,
}

impl Chunk {
    /// The text given to the embedder and the sparse encoder: the title and heading path first,
    /// so that a chunk deep in a section still says what it is about.
    pub fn indexed_text(&self) -> String {
        let mut path: Vec<&str> = Vec::new();
        if let Some(t) = self.title.as_deref().filter(|t| !t.trim().is_empty()) {
            path.push(t.trim());
        }
        for h in &self.headings {
            if path.last() != Some(&h.as_str()) {
                path.push(h);
            }
        }
        if path.is_empty() {
            self.text.clone()
        } else {
            format!("{}\n{}", path.join(" > "), self.text)
        }
    }
}

/// The stable chunk id: a UUID made from BLAKE3 of doc id, position and text.
pub fn chunk_id(doc_id: &str, unit_index: u32, char_start: u64, text: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(doc_id.as_bytes());
    h.update(&[0]);
    h.update(&unit_index.to_le_bytes());
    h.update(&char_start.to_le_bytes());
    h.update(text.as_bytes());
    let b = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&b.as_bytes()[..16]);
    // Mark it as a version-8 (custom) UUID so Qdrant servers and other tools accept it as one.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Cuts documents into [`Chunk`]s, measuring with the embedder's token counter.
pub struct Chunker<'a> {
    settings: ChunkSettings,
    count: &'a (dyn Fn(&str) -> usize + Sync),
}

/// A piece of a unit that is never split further (a sentence, a paragraph, a table row).
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: usize,
    end: usize,
    tokens: usize,
}

enum Block {
    Heading {
        level: usize,
        text: String,
    },
    Text(Vec<Segment>),
    /// Rows of a table; `header` is a byte range repeated at the top of every part.
    Table {
        header: Option<(usize, usize)>,
        rows: Vec<Segment>,
    },
}

impl<'a> Chunker<'a> {
    pub fn new(settings: ChunkSettings, count: &'a (dyn Fn(&str) -> usize + Sync)) -> Self {
        Chunker { settings, count }
    }

    pub fn settings(&self) -> &ChunkSettings {
        &self.settings
    }

    /// Chunks of one document, in reading order.
    pub fn chunk_document(&self, doc: &Document) -> Vec<Chunk> {
        let mut out = Vec::new();
        // Headings carry over page breaks: a section goes on on the next page.
        let mut headings: Vec<(usize, String)> = Vec::new();
        let mut char_base = 0u64;
        for (unit_index, unit_text) in doc.text.split(UNIT_SEPARATOR).enumerate() {
            let label = doc.unit_labels.get(unit_index).cloned().unwrap_or_default();
            let positions = CharPositions::new(unit_text);
            let mut pieces: Vec<Piece> = Vec::new();
            for block in self.blocks(unit_text) {
                match block {
                    Block::Heading { level, text } => {
                        while headings.last().is_some_and(|(l, _)| *l >= level) {
                            headings.pop();
                        }
                        headings.push((level, text));
                    }
                    Block::Text(segments) => {
                        let path: Vec<String> = headings.iter().map(|(_, h)| h.clone()).collect();
                        self.pack_text(unit_text, &segments, &path, &mut pieces);
                    }
                    Block::Table { header, rows } => {
                        let path: Vec<String> = headings.iter().map(|(_, h)| h.clone()).collect();
                        self.pack_table(unit_text, header, &rows, &path, &mut pieces);
                    }
                }
            }
            for p in pieces {
                let chunk_index = out.len() as u32;
                let char_start = char_base + positions.char_of(p.start) as u64;
                let char_end = char_base + positions.char_of(p.end) as u64;
                let tokens = (self.count)(&p.text);
                out.push(Chunk {
                    chunk_id: chunk_id(&doc.doc_id, unit_index as u32, char_start, &p.text),
                    doc_id: doc.doc_id.clone(),
                    source_path: doc.source_path.clone(),
                    department: doc.department.clone(),
                    title: doc.title.clone(),
                    unit: label.clone(),
                    unit_index: unit_index as u32,
                    chunk_index,
                    char_start,
                    char_end,
                    headings: p.headings,
                    kind: p.kind,
                    text: p.text,
                    tokens,
                });
            }
            char_base += positions.total as u64 + 1; // + the separator
        }
        out
    }

    /// Splits a unit into headings, text blocks (as segments) and tables (as rows).
    fn blocks(&self, unit: &str) -> Vec<Block> {
        let lines = line_spans(unit);
        let mut blocks = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let (s, e) = lines[i];
            let line = &unit[s..e];
            if line.trim().is_empty() {
                i += 1;
                continue;
            }
            if let Some((level, text)) = heading(line) {
                blocks.push(Block::Heading { level, text });
                i += 1;
                continue;
            }
            // A table: a run of `Row N:` lines or of `|` lines.
            if let Some(kind) = table_line(line) {
                let mut j = i;
                while j < lines.len() && table_line(&unit[lines[j].0..lines[j].1]) == Some(kind) {
                    j += 1;
                }
                let mut first_row = i;
                let mut header = None;
                if kind == TableLine::Pipe {
                    // Header row and `|---|` rule, if present, are repeated in each part.
                    if j - i >= 2 && is_pipe_rule(&unit[lines[i + 1].0..lines[i + 1].1]) {
                        header = Some((lines[i].0, lines[i + 1].1));
                        first_row = i + 2;
                    }
                }
                let rows: Vec<Segment> = lines[first_row..j]
                    .iter()
                    .map(|&(s, e)| Segment {
                        start: s,
                        end: e,
                        tokens: (self.count)(&unit[s..e]),
                    })
                    .collect();
                blocks.push(Block::Table { header, rows });
                i = j;
                continue;
            }
            // A paragraph: non-blank lines up to a blank line, heading or table.
            let mut j = i;
            while j < lines.len() {
                let l = &unit[lines[j].0..lines[j].1];
                if l.trim().is_empty() || heading(l).is_some() || table_line(l).is_some() {
                    break;
                }
                j += 1;
            }
            // A short line right above a table is its caption: it goes with the table.
            if j < lines.len()
                && j == i + 1
                && table_line(&unit[lines[j].0..lines[j].1]) == Some(TableLine::Row)
                && (self.count)(line) <= self.settings.target_tokens / 4
            {
                let mut k = j;
                while k < lines.len()
                    && table_line(&unit[lines[k].0..lines[k].1]) == Some(TableLine::Row)
                {
                    k += 1;
                }
                let rows = lines[j..k]
                    .iter()
                    .map(|&(s, e)| Segment {
                        start: s,
                        end: e,
                        tokens: (self.count)(&unit[s..e]),
                    })
                    .collect();
                blocks.push(Block::Table {
                    header: Some((s, e)),
                    rows,
                });
                i = k;
                continue;
            }
            let (ps, pe) = (lines[i].0, lines[j - 1].1);
            blocks.push(Block::Text(self.paragraph_segments(unit, ps, pe)));
            i = j;
        }
        blocks
    }

    /// A paragraph as one segment when it fits, else its sentences, else hard pieces.
    fn paragraph_segments(&self, unit: &str, start: usize, end: usize) -> Vec<Segment> {
        let tokens = (self.count)(&unit[start..end]);
        if tokens <= self.settings.target_tokens {
            return vec![Segment { start, end, tokens }];
        }
        let mut out = Vec::new();
        for (s, e) in sentence_spans(unit, start, end) {
            let t = (self.count)(&unit[s..e]);
            if t <= self.settings.max_tokens {
                out.push(Segment {
                    start: s,
                    end: e,
                    tokens: t,
                });
            } else {
                self.hard_split(unit, s, e, &mut out);
            }
        }
        out
    }

    /// Splits text with no usable sentence end into pieces of at most `max_tokens`, preferring a
    /// comma or space near the end of each piece.
    fn hard_split(&self, unit: &str, start: usize, end: usize, out: &mut Vec<Segment>) {
        let mut s = start;
        while s < end {
            let rest = &unit[s..end];
            let total = (self.count)(rest);
            if total <= self.settings.max_tokens {
                out.push(Segment {
                    start: s,
                    end,
                    tokens: total,
                });
                return;
            }
            // Estimate the cut from the chars-per-token ratio, then shrink until it fits.
            let n_chars = rest.chars().count();
            let mut take = (n_chars * self.settings.target_tokens / total.max(1)).max(1);
            loop {
                let mut cut = byte_after_chars(rest, take);
                if let Some(soft) = soft_break(&rest[..cut]) {
                    if soft > cut / 2 {
                        cut = soft;
                    }
                }
                let t = (self.count)(&rest[..cut]);
                if t <= self.settings.max_tokens || take == 1 {
                    out.push(Segment {
                        start: s,
                        end: s + cut,
                        tokens: t,
                    });
                    s += cut;
                    break;
                }
                take = (take * 3 / 4).max(1);
            }
        }
    }

    /// Greedy packing of running-text segments up to the target, with overlap when a paragraph
    /// had to be split.
    fn pack_text(&self, unit: &str, segs: &[Segment], headings: &[String], out: &mut Vec<Piece>) {
        // Merge into the previous piece when it is text of the same section and there is room:
        // short paragraphs belong together.
        let mut cur: Vec<Segment> = Vec::new();
        let mut cur_tokens = 0;
        if let Some(last) = out.last() {
            if last.kind == ChunkKind::Text
                && last.headings == headings
                && last.tokens_estimate < self.settings.target_tokens
            {
                let last = out.pop().expect("checked above");
                cur = last.segments;
                cur_tokens = last.tokens_estimate;
            }
        }
        for &seg in segs {
            if !cur.is_empty() && cur_tokens + seg.tokens > self.settings.target_tokens {
                out.push(Piece::text(unit, &cur, headings));
                // Overlap: carry trailing segments of the chunk just closed.
                let mut carried = Vec::new();
                let mut carried_tokens = 0;
                for s in cur.iter().rev() {
                    if carried_tokens + s.tokens > self.settings.overlap_tokens
                        || carried.len() + 1 >= cur.len()
                    {
                        break;
                    }
                    carried_tokens += s.tokens;
                    carried.push(*s);
                }
                carried.reverse();
                if carried_tokens + seg.tokens > self.settings.target_tokens {
                    carried.clear();
                    carried_tokens = 0;
                }
                cur = carried;
                cur_tokens = carried_tokens;
            }
            cur.push(seg);
            cur_tokens += seg.tokens;
        }
        if !cur.is_empty() {
            out.push(Piece::text(unit, &cur, headings));
        }
    }

    /// A table stays whole when it fits the target, else it is split by rows into parts that each
    /// start with the header.
    fn pack_table(
        &self,
        unit: &str,
        header: Option<(usize, usize)>,
        rows: &[Segment],
        headings: &[String],
        out: &mut Vec<Piece>,
    ) {
        if rows.is_empty() {
            return;
        }
        let header_tokens = header.map(|(s, e)| (self.count)(&unit[s..e])).unwrap_or(0);
        let total: usize = header_tokens + rows.iter().map(|r| r.tokens).sum::<usize>();
        if total <= self.settings.target_tokens {
            let start = header.map(|h| h.0).unwrap_or(rows[0].start);
            let end = rows[rows.len() - 1].end;
            out.push(Piece {
                start,
                end,
                text: unit[start..end].trim().to_string(),
                headings: headings.to_vec(),
                kind: ChunkKind::Table,
                segments: Vec::new(),
                tokens_estimate: total,
            });
            return;
        }
        let budget = self
            .settings
            .target_tokens
            .saturating_sub(header_tokens)
            .max(1);
        let mut part: Vec<Segment> = Vec::new();
        let mut part_tokens = 0;
        let flush = |part: &mut Vec<Segment>, out: &mut Vec<Piece>| {
            if part.is_empty() {
                return;
            }
            let (s, e) = (part[0].start, part[part.len() - 1].end);
            let body = unit[s..e].trim();
            let text = match header {
                Some((hs, he)) => format!("{}\n{body}", unit[hs..he].trim()),
                None => body.to_string(),
            };
            out.push(Piece {
                start: s,
                end: e,
                text,
                headings: headings.to_vec(),
                kind: ChunkKind::Table,
                segments: Vec::new(),
                tokens_estimate: self.settings.target_tokens,
            });
            part.clear();
        };
        for &row in rows {
            if row.tokens + header_tokens > self.settings.max_tokens {
                // A single row too long for any chunk: give it its own text pieces.
                flush(&mut part, out);
                part_tokens = 0;
                let mut pieces = Vec::new();
                self.hard_split(unit, row.start, row.end, &mut pieces);
                for p in pieces {
                    flush(&mut vec![p], out);
                }
                continue;
            }
            if !part.is_empty() && part_tokens + row.tokens > budget {
                flush(&mut part, out);
                part_tokens = 0;
            }
            part.push(row);
            part_tokens += row.tokens;
        }
        flush(&mut part, out);
    }
}

/// A chunk before ids and positions are attached.
struct Piece {
    start: usize,
    end: usize,
    text: String,
    headings: Vec<String>,
    kind: ChunkKind,
    /// Segments of a text piece, kept so the next paragraph can be merged into it.
    segments: Vec<Segment>,
    tokens_estimate: usize,
}

impl Piece {
    fn text(unit: &str, segs: &[Segment], headings: &[String]) -> Piece {
        let start = segs[0].start;
        let end = segs[segs.len() - 1].end;
        Piece {
            start,
            end,
            text: unit[start..end].trim().to_string(),
            headings: headings.to_vec(),
            kind: ChunkKind::Text,
            segments: segs.to_vec(),
            tokens_estimate: segs.iter().map(|s| s.tokens).sum(),
        }
    }
}

/// Byte offset -> char offset within one unit.
struct CharPositions {
    /// Byte offset of every char start.
    starts: Vec<usize>,
    total: usize,
}

impl CharPositions {
    fn new(s: &str) -> Self {
        let starts: Vec<usize> = s.char_indices().map(|(b, _)| b).collect();
        let total = starts.len();
        CharPositions { starts, total }
    }

    fn char_of(&self, byte: usize) -> usize {
        self.starts.partition_point(|&b| b < byte)
    }
}

/// `(start, end)` byte spans of lines, without their line ends.
fn line_spans(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '\n' {
            let end = if i > start && s.as_bytes()[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            out.push((start, end));
            start = i + 1;
        }
    }
    if start < s.len() {
        out.push((start, s.len()));
    }
    out
}

/// A markdown ATX heading (`## Title`): its level and text.
fn heading(line: &str) -> Option<(usize, String)> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    let level = t.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    if text.is_empty() {
        None
    } else {
        Some((level, text.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TableLine {
    /// `Row 3: Customer: Li Wei; Limit: 500000`, as adopt-collect renders tables.
    Row,
    /// A markdown pipe-table line.
    Pipe,
}

fn table_line(line: &str) -> Option<TableLine> {
    let t = line.trim();
    if let Some(rest) = t.strip_prefix("Row ") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(':') {
            return Some(TableLine::Row);
        }
    }
    if t.len() >= 2 && t.starts_with('|') && t.ends_with('|') {
        return Some(TableLine::Pipe);
    }
    None
}

fn is_pipe_rule(line: &str) -> bool {
    let t = line.trim();
    t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// Sentence spans of `unit[start..end]`: ends at `。！？；!?;`, at `.` before whitespace, and at
/// line breaks; closing quotes and brackets stay with their sentence.
fn sentence_spans(unit: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let text = &unit[start..end];
    let mut out = Vec::new();
    let mut s = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let boundary = match c {
            '。' | '！' | '？' | '；' | '!' | '?' | ';' | '\n' => true,
            '.' => chars.peek().is_none_or(|(_, n)| n.is_whitespace()),
            _ => false,
        };
        if boundary {
            let mut e = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if matches!(n, '”' | '’' | '」' | '』' | '）' | ')' | '"' | '\'' | '》') {
                    e = j + n.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            if !text[s..e].trim().is_empty() {
                out.push((start + s, start + e));
            }
            s = e;
        }
    }
    if s < text.len() && !text[s..].trim().is_empty() {
        out.push((start + s, end));
    }
    out
}

fn byte_after_chars(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map(|(b, _)| b).unwrap_or(s.len())
}

/// The byte just after the last comma-like or space character, if any.
fn soft_break(s: &str) -> Option<usize> {
    s.char_indices()
        .rev()
        .find(|(_, c)| matches!(c, '，' | ',' | '、' | '：' | ':' | ' ' | '\t'))
        .map(|(i, c)| i + c.len_utf8())
}

/// A token count for when no embedder is loaded (sparse-only knowledge bases): every CJK
/// character counts one, every other word counts one per four letters, rounded up. Close to
/// what multilingual subword tokenizers give, and it only sizes chunks.
pub fn approx_token_count(text: &str) -> usize {
    let mut n = 0;
    let mut word = 0usize;
    for c in text.chars() {
        if crate::sparse::is_cjk(c) {
            n += word.div_ceil(4) + 1;
            word = 0;
        } else if c.is_alphanumeric() {
            word += 1;
        } else {
            n += word.div_ceil(4);
            word = 0;
            if !c.is_whitespace() {
                n += 1;
            }
        }
    }
    n + word.div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use adopt_core::Format;

    fn doc(text: &str, labels: &[&str]) -> Document {
        Document {
            doc_id: "d1".into(),
            source_path: "hr/policy.md".into(),
            department: Some("hr".into()),
            format: Format::Markdown,
            title: Some("Policy".into()),
            author: None,
            created: None,
            page_count: labels.len() as u32,
            text: text.into(),
            unit_labels: labels.iter().map(|s| s.to_string()).collect(),
            encoding: None,
            byte_size: 0,
            modified_ms: 0,
            content_hash: String::new(),
            warnings: vec![],
            tables: vec![],
        }
    }

    fn settings(target: usize, max: usize, overlap: usize) -> ChunkSettings {
        ChunkSettings {
            target_tokens: target,
            max_tokens: max,
            overlap_tokens: overlap,
        }
    }

    #[test]
    fn approx_counts_cjk_chars_and_words() {
        assert_eq!(approx_token_count("你好世界"), 4);
        assert_eq!(approx_token_count("hello"), 2);
        assert_eq!(approx_token_count("a b."), 3);
    }

    #[test]
    fn chinese_paragraph_splits_at_sentence_ends_with_overlap() {
        let text = "甲乙丙。丁戊己！庚辛壬？癸子丑；寅卯辰。巳午未。";
        let count = |s: &str| s.chars().count();
        let c = Chunker::new(settings(12, 14, 6), &count);
        let chunks = c.chunk_document(&doc(text, &["page 1"]));
        let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
        // Four-char sentences, three to a chunk, the last sentence of each repeated as overlap.
        assert_eq!(
            texts,
            vec![
                "甲乙丙。丁戊己！庚辛壬？",
                "庚辛壬？癸子丑；寅卯辰。",
                "寅卯辰。巳午未。"
            ]
        );
        assert_eq!(chunks[1].char_start, 8);
        assert_eq!(chunks[1].char_end, 20);
    }

    #[test]
    fn char_spans_point_into_document_text() {
        let text = "# 标题\n\n第一段。\n\u{c}第二页的内容。";
        let count = |s: &str| s.chars().count();
        let c = Chunker::new(settings(100, 200, 0), &count);
        let d = doc(text, &["page 1", "page 2"]);
        let chunks = c.chunk_document(&d);
        assert_eq!(chunks.len(), 2);
        let chars: Vec<char> = d.text.chars().collect();
        for ch in &chunks {
            let span: String = chars[ch.char_start as usize..ch.char_end as usize]
                .iter()
                .collect();
            assert_eq!(span.trim(), ch.text);
        }
        assert_eq!(chunks[0].unit, "page 1");
        assert_eq!(chunks[1].unit, "page 2");
        assert_eq!(chunks[1].unit_index, 1);
        // Heading path carries over the page break.
        assert_eq!(chunks[1].headings, vec!["标题"]);
    }

    #[test]
    fn never_spans_units() {
        let text = "short one\u{c}short two";
        let count = |s: &str| s.split_whitespace().count();
        let chunks = Chunker::new(settings(100, 200, 0), &count)
            .chunk_document(&doc(text, &["sheet A", "sheet B"]));
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].text, "short one");
        assert_eq!(chunks[1].text, "short two");
    }

    #[test]
    fn markdown_headings_start_chunks_and_form_paths() {
        let text = "# Leave\nIntro.\n\n## Annual\nTwenty days a year.\n\n## Sick\nTen days.\n\n# Pay\nMonthly.";
        let count = |s: &str| s.split_whitespace().count();
        let chunks = Chunker::new(settings(100, 200, 0), &count).chunk_document(&doc(text, &[""]));
        let got: Vec<(Vec<String>, String)> = chunks
            .iter()
            .map(|c| (c.headings.clone(), c.text.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (vec!["Leave".to_string()], "Intro.".to_string()),
                (
                    vec!["Leave".into(), "Annual".into()],
                    "Twenty days a year.".into()
                ),
                (vec!["Leave".into(), "Sick".into()], "Ten days.".into()),
                (vec!["Pay".into()], "Monthly.".into()),
            ]
        );
        assert_eq!(
            chunks[1].indexed_text(),
            "Policy > Leave > Annual\nTwenty days a year."
        );
    }

    #[test]
    fn short_paragraphs_are_packed_together() {
        let text = "one two three.\n\nfour five.\n\nsix seven eight nine ten eleven.";
        let count = |s: &str| s.split_whitespace().count();
        let chunks = Chunker::new(settings(6, 10, 0), &count).chunk_document(&doc(text, &[""]));
        assert_eq!(chunks.len(), 2, "{chunks:#?}");
        assert_eq!(chunks[0].text, "one two three.\n\nfour five.");
    }

    #[test]
    fn english_paragraph_splits_at_periods() {
        let text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota. Kappa lambda mu.";
        let count = |s: &str| s.split_whitespace().count();
        let chunks = Chunker::new(settings(6, 8, 0), &count).chunk_document(&doc(text, &[""]));
        let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Alpha beta gamma. Delta epsilon zeta.",
                "Eta theta iota. Kappa lambda mu."
            ]
        );
    }

    #[test]
    fn row_table_is_split_by_rows_with_caption_repeated() {
        let mut text = String::from("Credit limits\n");
        for i in 1..=6 {
            text.push_str(&format!("Row {i}: Customer: C{i}; Limit: {i}000\n"));
        }
        let count = |s: &str| s.split_whitespace().count();
        // Each row is 6 words, the caption 2: two rows per part.
        let chunks = Chunker::new(settings(14, 20, 4), &count)
            .chunk_document(&doc(&text, &["sheet Limits"]));
        assert_eq!(chunks.len(), 3, "{chunks:#?}");
        for (k, ch) in chunks.iter().enumerate() {
            assert_eq!(ch.kind, ChunkKind::Table);
            assert!(ch.text.starts_with("Credit limits\nRow "), "{:?}", ch.text);
            assert!(ch.text.contains(&format!("Row {}:", 2 * k + 1)));
            assert!(ch.text.contains(&format!("Row {}:", 2 * k + 2)));
        }
    }

    #[test]
    fn small_table_stays_whole() {
        let text = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\nAfter.";
        let count = |s: &str| s.split_whitespace().count();
        let chunks = Chunker::new(settings(100, 200, 0), &count).chunk_document(&doc(text, &[""]));
        assert_eq!(chunks[0].kind, ChunkKind::Table);
        assert_eq!(chunks[0].text, "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |");
        assert_eq!(chunks[1].text, "After.");
    }

    #[test]
    fn pipe_table_parts_repeat_header() {
        let mut text = String::from("| name | age |\n|---|---|\n");
        for i in 0..10 {
            text.push_str(&format!("| p{i} | {i} |\n"));
        }
        let count = |s: &str| s.split_whitespace().count();
        let chunks = Chunker::new(settings(12, 20, 0), &count).chunk_document(&doc(&text, &[""]));
        assert!(chunks.len() > 1);
        for ch in &chunks {
            assert!(
                ch.text.starts_with("| name | age |\n|---|---|\n| p"),
                "{:?}",
                ch.text
            );
        }
        let rows: usize = chunks.iter().map(|c| c.text.lines().count() - 2).sum();
        assert_eq!(rows, 10);
    }

    #[test]
    fn run_on_text_is_hard_split_under_max() {
        let text = "字".repeat(100);
        let count = |s: &str| s.chars().count();
        let chunks = Chunker::new(settings(30, 40, 0), &count).chunk_document(&doc(&text, &[""]));
        assert!(chunks.iter().all(|c| c.tokens <= 40));
        let total: usize = chunks.iter().map(|c| c.text.chars().count()).sum();
        assert_eq!(total, 100);
    }

    #[test]
    fn ids_are_stable_and_positional() {
        let text = "same.\n\n# h\nsame.";
        let count = |s: &str| s.split_whitespace().count();
        let c = Chunker::new(settings(100, 200, 0), &count);
        let a = c.chunk_document(&doc(text, &[""]));
        let b = c.chunk_document(&doc(text, &[""]));
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        assert_ne!(a[0].chunk_id, a[1].chunk_id, "same text at two positions");
        assert_eq!(a[0].chunk_id.len(), 36);
    }

    #[test]
    fn settings_validation_lists_every_problem() {
        let errs = settings(0, 0, 5).validate().unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(ChunkSettings::default().validate().is_ok());
    }
}
