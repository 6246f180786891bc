//! CMaps: embedded ToUnicode / encoding CMap programs, and the predefined CMaps: Adobe's legacy
//! byte CMaps from `cid_collection.rs`, Unicode ones decoded directly, and the rarer legacy ones
//! we do not ship decoded through `encoding_rs`.

use std::collections::HashMap;

use crate::cid_collection::ByteCMap;
use crate::encoding::glyph_name_to_unicode;
use crate::lexer::{Lexer, Operand};

/// Codes are at most four bytes long (ISO 32000-1, 9.7.6.2).
const MAX_CODESPACE_BYTES: usize = 4;

/// A code-space range: codes of `len` bytes, each byte within its own bounds. The spec compares
/// byte by byte, so `<8140> <9FFC>` excludes `<82FD>` even though its value lies in between.
#[derive(Debug, Clone)]
pub(crate) struct CodeRange {
    pub len: usize,
    lo: [u8; MAX_CODESPACE_BYTES],
    hi: [u8; MAX_CODESPACE_BYTES],
}

impl CodeRange {
    pub(crate) fn new(lo: &[u8], hi: &[u8]) -> Option<Self> {
        if lo.is_empty() || lo.len() != hi.len() || lo.len() > MAX_CODESPACE_BYTES {
            return None;
        }
        let mut r = CodeRange {
            len: lo.len(),
            lo: [0; MAX_CODESPACE_BYTES],
            hi: [0; MAX_CODESPACE_BYTES],
        };
        r.lo[..lo.len()].copy_from_slice(lo);
        r.hi[..hi.len()].copy_from_slice(hi);
        Some(r)
    }

    fn matches(&self, bytes: &[u8]) -> bool {
        bytes.len() >= self.len
            && (0..self.len).all(|i| self.lo[i] <= bytes[i] && bytes[i] <= self.hi[i])
    }
}

/// Splits `bytes` into codes using code-space ranges; returns (code, length). Bytes matching no
/// range are consumed one at a time (shortest declared length), as the spec suggests.
pub(crate) fn next_code(ranges: &[CodeRange], bytes: &[u8]) -> (u32, usize) {
    for r in ranges {
        if r.matches(bytes) {
            return (code_value(&bytes[..r.len]), r.len);
        }
    }
    let len = ranges
        .iter()
        .map(|r| r.len)
        .min()
        .unwrap_or(1)
        .clamp(1, bytes.len().max(1));
    let len = len.min(bytes.len());
    (code_value(&bytes[..len]), len.max(1))
}

pub(crate) fn code_value(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

/// A parsed CMap program. ToUnicode CMaps fill the `bf*` maps, encoding CMaps the `cid*` maps.
#[derive(Debug, Default, Clone)]
pub(crate) struct CMap {
    pub codespace: Vec<CodeRange>,
    uni: HashMap<u32, Box<str>>,
    /// (lo, hi, UTF-16 of `lo`): consecutive codes map to consecutive last code units.
    uni_ranges: Vec<(u32, u32, Vec<u16>)>,
    cid: HashMap<u32, u32>,
    cid_ranges: Vec<(u32, u32, u32)>,
    /// Name of a parent CMap (`usecmap`), e.g. a predefined one.
    pub use_cmap: Option<String>,
    /// `/WMode 1` in the program: vertical writing.
    pub vertical: bool,
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    let mut units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| {
            if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from(c[0])
            }
        })
        .collect();
    if units.is_empty() {
        units.push(0);
    }
    units
}

fn dst_string(op: &Operand) -> Option<Box<str>> {
    match op {
        Operand::String(s) => Some(String::from_utf16_lossy(&utf16_units(s)).into_boxed_str()),
        Operand::Name(n) => glyph_name_to_unicode(&String::from_utf8_lossy(n)).map(Into::into),
        _ => None,
    }
}

/// Caps on how much of a (possibly hostile) CMap we keep.
const MAX_ENTRIES: usize = 1 << 20;

impl CMap {
    pub(crate) fn parse(data: &[u8]) -> CMap {
        let mut cmap = CMap::default();
        let mut lx = Lexer::for_cmap(data);
        let mut ops = Vec::new();
        let mut ops_seen = 0usize;
        while let Some(op) = lx.next_op(&mut ops) {
            ops_seen += 1;
            if ops_seen > 1_000_000 {
                break;
            }
            match op {
                b"endcodespacerange" => {
                    for pair in ops.chunks_exact(2) {
                        if let (Operand::String(lo), Operand::String(hi)) = (&pair[0], &pair[1]) {
                            if let Some(r) = CodeRange::new(lo, hi) {
                                cmap.codespace.push(r);
                            }
                        }
                    }
                }
                b"endbfchar" => {
                    for pair in ops.chunks_exact(2) {
                        if let (Operand::String(src), Some(dst)) = (&pair[0], dst_string(&pair[1]))
                        {
                            if cmap.uni.len() < MAX_ENTRIES {
                                cmap.uni.insert(code_value(src), dst);
                            }
                        }
                    }
                }
                b"endbfrange" => {
                    for triple in ops.chunks_exact(3) {
                        let (Operand::String(lo), Operand::String(hi)) = (&triple[0], &triple[1])
                        else {
                            continue;
                        };
                        let (lo, hi) = (code_value(lo), code_value(hi));
                        if hi < lo {
                            continue;
                        }
                        match &triple[2] {
                            Operand::String(dst) if cmap.uni_ranges.len() < MAX_ENTRIES => {
                                cmap.uni_ranges.push((lo, hi, utf16_units(dst)));
                            }
                            Operand::Array(items) => {
                                for (i, item) in items.iter().enumerate() {
                                    let code = lo.saturating_add(i as u32);
                                    if code > hi || cmap.uni.len() >= MAX_ENTRIES {
                                        break;
                                    }
                                    if let Some(dst) = dst_string(item) {
                                        cmap.uni.insert(code, dst);
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                b"endcidchar" => {
                    for pair in ops.chunks_exact(2) {
                        if let (Operand::String(src), Some(cid)) = (&pair[0], pair[1].as_f64()) {
                            if cmap.cid.len() < MAX_ENTRIES {
                                cmap.cid.insert(code_value(src), cid.max(0.0) as u32);
                            }
                        }
                    }
                }
                b"endcidrange" => {
                    for triple in ops.chunks_exact(3) {
                        if let (Operand::String(lo), Operand::String(hi), Some(cid)) =
                            (&triple[0], &triple[1], triple[2].as_f64())
                        {
                            if cmap.cid_ranges.len() < MAX_ENTRIES {
                                cmap.cid_ranges.push((
                                    code_value(lo),
                                    code_value(hi),
                                    cid.max(0.0) as u32,
                                ));
                            }
                        }
                    }
                }
                b"usecmap" => {
                    if let Some(Operand::Name(n)) = ops.last() {
                        cmap.use_cmap = Some(String::from_utf8_lossy(n).into_owned());
                    }
                }
                b"def" => {
                    if let [Operand::Name(n), Operand::Number(v)] = ops.as_slice() {
                        if n == b"WMode" && *v == 1.0 {
                            cmap.vertical = true;
                        }
                    }
                }
                _ => {}
            }
        }
        // Longer ranges first would be wrong: the spec matches by increasing length, so keep the
        // declared order but make lookups deterministic by sorting ranges for binary search.
        cmap.uni_ranges.sort_by_key(|r| r.0);
        cmap.cid_ranges.sort_by_key(|r| r.0);
        cmap
    }

    pub(crate) fn has_unicode(&self) -> bool {
        !self.uni.is_empty() || !self.uni_ranges.is_empty()
    }

    /// Appends the Unicode text for `code` to `out`; false when the CMap does not map it.
    pub(crate) fn write_unicode(&self, code: u32, out: &mut String) -> bool {
        if let Some(s) = self.uni.get(&code) {
            out.push_str(s);
            return true;
        }
        if let Some((lo, _, base)) = find_range(&self.uni_ranges, code, |r| (r.0, r.1)) {
            let mut units = base.clone();
            if let Some(last) = units.last_mut() {
                *last = last.wrapping_add((code - *lo) as u16);
            }
            out.push_str(&String::from_utf16_lossy(&units));
            return true;
        }
        false
    }

    pub(crate) fn has_cid_map(&self) -> bool {
        !self.cid.is_empty() || !self.cid_ranges.is_empty()
    }

    pub(crate) fn cid(&self, code: u32) -> Option<u32> {
        if let Some(&c) = self.cid.get(&code) {
            return Some(c);
        }
        find_range(&self.cid_ranges, code, |r| (r.0, r.1)).map(|(lo, _, base)| base + (code - lo))
    }
}

/// Finds the range containing `code` in a list sorted by range start. Ranges may overlap, so we
/// scan back from the last range starting at or before `code`.
fn find_range<T>(ranges: &[T], code: u32, bounds: impl Fn(&T) -> (u32, u32)) -> Option<&T> {
    let idx = ranges.partition_point(|r| bounds(r).0 <= code);
    ranges[..idx].iter().rev().take(64).find(|r| {
        let (lo, hi) = bounds(r);
        lo <= code && code <= hi
    })
}

/// Predefined CMaps: Adobe's byte CMaps we ship (codes -> collection CIDs -> Unicode), Unicode
/// ones decoded directly (`Uni*-UCS2-H`, `Uni*-UTF16-H`, ...), and other legacy multi-byte
/// encodings through `encoding_rs`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Predefined {
    Identity,
    /// A shipped byte CMap (GBK-EUC-H, 90ms-RKSJ-V, ...), with the `encoding_rs` encoding of
    /// the same bytes for codes whose CID has no Unicode in the collection.
    Cid(&'static ByteCMap, Option<&'static encoding_rs::Encoding>),
    Ucs2,
    Utf16,
    Utf8,
    Utf32,
    Legacy(&'static encoding_rs::Encoding, LeadBytes),
}

/// How a legacy double-byte encoding marks its lead bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeadBytes {
    /// 0x81..=0xFE start a two-byte code (GBK, Big5, UHC).
    HighHalf,
    /// Shift-JIS: 0x81..=0x9F and 0xE0..=0xFC.
    ShiftJis,
    /// EUC: 0xA1..=0xFE (and 0x8E/0x8F for EUC-JP).
    Euc,
}

impl Predefined {
    /// Recognises a predefined CMap name; the second value says whether it is vertical.
    pub(crate) fn from_name(name: &str) -> Option<(Predefined, bool)> {
        let vertical = name.ends_with("-V");
        let base = name.trim_end_matches("-H").trim_end_matches("-V");
        let legacy = Self::from_base(base);
        if let Some(cmap) = ByteCMap::named(name) {
            let fallback = match legacy {
                Some(Predefined::Legacy(enc, _)) => Some(enc),
                _ => None,
            };
            return Some((Predefined::Cid(cmap, fallback), vertical || cmap.vertical));
        }
        legacy.map(|p| (p, vertical))
    }

    fn from_base(base: &str) -> Option<Predefined> {
        let p = if base == "Identity" {
            Predefined::Identity
        } else if base.starts_with("Uni") && base.ends_with("UCS2") {
            Predefined::Ucs2
        } else if base.starts_with("Uni") && base.ends_with("UTF16") {
            Predefined::Utf16
        } else if base.starts_with("Uni") && base.ends_with("UTF8") {
            Predefined::Utf8
        } else if base.starts_with("Uni") && base.ends_with("UTF32") {
            Predefined::Utf32
        } else if base.starts_with("GBK") || base.starts_with("GBT") || base == "GBpc-EUC" {
            Predefined::Legacy(encoding_rs::GBK, LeadBytes::HighHalf)
        } else if base == "GB-EUC" || base == "GBK2K" {
            Predefined::Legacy(encoding_rs::GB18030, LeadBytes::HighHalf)
        } else if base.starts_with("B5") || base.starts_with("ETen") || base.starts_with("HKscs") {
            Predefined::Legacy(encoding_rs::BIG5, LeadBytes::HighHalf)
        } else if base.contains("RKSJ") {
            Predefined::Legacy(encoding_rs::SHIFT_JIS, LeadBytes::ShiftJis)
        } else if base == "EUC" {
            Predefined::Legacy(encoding_rs::EUC_JP, LeadBytes::Euc)
        } else if base.starts_with("KSC") {
            Predefined::Legacy(encoding_rs::EUC_KR, LeadBytes::HighHalf)
        } else {
            return None;
        };
        Some(p)
    }

    /// Splits the next code off `bytes`: (code, length).
    pub(crate) fn next_code(self, bytes: &[u8]) -> (u32, usize) {
        let want = match self {
            Predefined::Cid(cmap, _) => return cmap.next_code(bytes),
            Predefined::Identity | Predefined::Ucs2 => 2,
            Predefined::Utf32 => 4,
            Predefined::Utf16 => match bytes {
                [0xD8..=0xDB, _, 0xDC..=0xDF, _, ..] => 4,
                _ => 2,
            },
            Predefined::Utf8 => match bytes.first() {
                Some(0xC0..=0xDF) => 2,
                Some(0xE0..=0xEF) => 3,
                Some(0xF0..=0xF7) => 4,
                _ => 1,
            },
            Predefined::Legacy(_, lead) => match (lead, bytes.first().copied().unwrap_or(0)) {
                (LeadBytes::HighHalf, 0x81..=0xFE) => 2,
                (LeadBytes::ShiftJis, 0x81..=0x9F | 0xE0..=0xFC) => 2,
                (LeadBytes::Euc, 0x8F) => 3,
                (LeadBytes::Euc, 0x8E | 0xA1..=0xFE) => 2,
                _ => 1,
            },
        };
        let len = want.min(bytes.len()).max(1);
        (code_value(&bytes[..len.min(bytes.len())]), len)
    }

    /// Appends the text of one code (its raw bytes) to `out`. Identity carries no Unicode.
    pub(crate) fn write_unicode(self, code_bytes: &[u8], out: &mut String) -> bool {
        match self {
            Predefined::Identity => false,
            Predefined::Cid(cmap, fallback) => {
                let code = code_value(code_bytes);
                let from_cid = cmap
                    .text_cid(code, code_bytes.len())
                    .is_some_and(|cid| cmap.collection.write_unicode(cid, out));
                from_cid
                    || fallback.is_some_and(|enc| {
                        let (s, had_errors) = enc.decode_without_bom_handling(code_bytes);
                        !had_errors && {
                            out.push_str(&s);
                            true
                        }
                    })
            }
            Predefined::Ucs2 | Predefined::Utf16 => {
                let s = String::from_utf16_lossy(&utf16_units(code_bytes));
                out.push_str(&s);
                true
            }
            Predefined::Utf8 => {
                out.push_str(&String::from_utf8_lossy(code_bytes));
                true
            }
            Predefined::Utf32 => match char::from_u32(code_value(code_bytes)) {
                Some(c) => {
                    out.push(c);
                    true
                }
                None => false,
            },
            Predefined::Legacy(enc, _) => {
                let (s, had_errors) = enc.decode_without_bom_handling(code_bytes);
                if had_errors {
                    return false;
                }
                out.push_str(&s);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO_UNICODE: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CMapName /Adobe-Identity-UCS def /CMapType 2 def
1 begincodespacerange <0000> <FFFF> endcodespacerange
3 beginbfchar <0003> <0020> <0010> <4E2D> <0011> <D83DDE00> endbfchar
2 beginbfrange <0020> <0022> <0041> <0030> <0031> [<0066006C> /fi] endbfrange
endcmap CMapName currentdict /CMap defineresource pop end end";

    fn text(c: &CMap, code: u32) -> Option<String> {
        let mut s = String::new();
        c.write_unicode(code, &mut s).then_some(s)
    }

    #[test]
    fn parses_to_unicode() {
        let c = CMap::parse(TO_UNICODE);
        assert_eq!(c.codespace.len(), 1);
        assert_eq!(text(&c, 0x10).as_deref(), Some("中"));
        assert_eq!(text(&c, 0x11).as_deref(), Some("😀"));
        assert_eq!(text(&c, 0x22).as_deref(), Some("C"));
        assert_eq!(text(&c, 0x30).as_deref(), Some("fl"));
        assert_eq!(text(&c, 0x31).as_deref(), Some("\u{FB01}"));
        assert_eq!(text(&c, 0x23), None);
        assert_eq!(next_code(&c.codespace, &[0x4e, 0x2d, 0x41]), (0x4e2d, 2));
    }

    #[test]
    fn mixed_codespace() {
        let c = CMap::parse(b"2 begincodespacerange <00> <80> <8140> <FEFE> endcodespacerange");
        assert_eq!(next_code(&c.codespace, b"A\x81\x41"), (0x41, 1));
        assert_eq!(next_code(&c.codespace, b"\x81\x41"), (0x8141, 2));
    }

    #[test]
    fn predefined_gbk_and_ucs2() {
        let (gbk, vertical) = Predefined::from_name("GBK-EUC-H").unwrap();
        assert!(!vertical);
        let bytes = [0xD6, 0xD0, b'A'];
        let (code, len) = gbk.next_code(&bytes);
        assert_eq!((code, len), (0xD6D0, 2));
        let mut s = String::new();
        assert!(gbk.write_unicode(&bytes[..2], &mut s));
        assert_eq!(s, "中");
        let (ucs2, _) = Predefined::from_name("UniGB-UCS2-H").unwrap();
        let mut s = String::new();
        assert!(ucs2.write_unicode(&[0x4E, 0x2D], &mut s));
        assert_eq!(s, "中");
    }
}
