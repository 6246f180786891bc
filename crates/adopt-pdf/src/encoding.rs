//! Simple-font encodings: base encodings by name and glyph names to Unicode.

use crate::glyph_tables::{
    GLYPH_LIST, MAC_EXPERT_ENCODING, MAC_ROMAN_ENCODING, PDF_DOC_ENCODING, STANDARD_ENCODING,
    SYMBOL_ENCODING, WIN_ANSI_ENCODING,
};

/// The base encodings a PDF may name (ISO 32000-1, Annex D).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaseEncoding {
    Standard,
    WinAnsi,
    MacRoman,
    MacExpert,
    Symbol,
    PdfDoc,
}

impl BaseEncoding {
    pub(crate) fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"WinAnsiEncoding" => Some(Self::WinAnsi),
            b"MacRomanEncoding" => Some(Self::MacRoman),
            b"StandardEncoding" => Some(Self::Standard),
            b"MacExpertEncoding" => Some(Self::MacExpert),
            b"PDFDocEncoding" => Some(Self::PdfDoc),
            _ => None,
        }
    }

    fn table(self) -> &'static [u16; 256] {
        match self {
            Self::Standard => &STANDARD_ENCODING,
            Self::WinAnsi => &WIN_ANSI_ENCODING,
            Self::MacRoman => &MAC_ROMAN_ENCODING,
            Self::MacExpert => &MAC_EXPERT_ENCODING,
            Self::Symbol => &SYMBOL_ENCODING,
            Self::PdfDoc => &PDF_DOC_ENCODING,
        }
    }

    /// The character for `code`, if the encoding defines one.
    pub(crate) fn char_for(self, code: u8) -> Option<char> {
        let u = self.table()[usize::from(code)];
        if u == 0 {
            // WinAnsi leaves a few codes undefined but producers still use them as Latin-1.
            if self == Self::WinAnsi && code >= 0x20 {
                return char::from_u32(u32::from(code));
            }
            return None;
        }
        char::from_u32(u32::from(u))
    }
}

fn agl_lookup(name: &str) -> Option<char> {
    GLYPH_LIST
        .binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
        .ok()
        .and_then(|i| char::from_u32(u32::from(GLYPH_LIST[i].1)))
}

fn hex_units(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Maps a glyph name to Unicode following the Adobe Glyph List specification: the AGL itself,
/// `uniXXXX[XXXX...]`, `uXXXX[XX]`, ligature components joined by `_`, and suffixes after `.`.
pub(crate) fn glyph_name_to_unicode(name: &str) -> Option<String> {
    let base = match name.find('.') {
        Some(0) => return None, // .notdef and friends
        Some(i) => &name[..i],
        None => name,
    };
    if base.contains('_') {
        let mut out = String::new();
        for part in base.split('_') {
            out.push_str(&glyph_name_to_unicode(part)?);
        }
        return Some(out);
    }
    if let Some(c) = agl_lookup(base) {
        return Some(c.to_string());
    }
    if let Some(hex) = base.strip_prefix("uni") {
        if !hex.is_empty() && hex.len() % 4 == 0 {
            let mut units = Vec::with_capacity(hex.len() / 4);
            for i in (0..hex.len()).step_by(4) {
                units.push(hex_units(hex.get(i..i + 4)?)? as u16);
            }
            return String::from_utf16(&units).ok();
        }
    }
    if let Some(hex) = base.strip_prefix('u') {
        if (4..=6).contains(&hex.len()) {
            return char::from_u32(hex_units(hex)?).map(String::from);
        }
    }
    None
}

/// Parses the cleartext part of an embedded Type 1 font program for its built-in encoding
/// (`dup 65 /A put` lines). TeX-produced PDFs rely on this: their fonts carry no /Encoding.
pub(crate) fn type1_builtin_encoding(program: &[u8]) -> Option<Vec<(u8, String)>> {
    let limit = program
        .windows(7)
        .position(|w| w == b"eexec\r" || w == b"eexec\n" || w.starts_with(b"eexec"))
        .unwrap_or(program.len().min(64 * 1024));
    let clear = &program[..limit];
    let start = clear.windows(9).position(|w| w == b"/Encoding")?;
    let rest = &clear[start + 9..];
    let text = String::from_utf8_lossy(rest);
    let head = text.trim_start();
    if head.starts_with("StandardEncoding") {
        return None;
    }
    let mut out = Vec::new();
    let mut words = text.split_ascii_whitespace();
    while let Some(w) = words.next() {
        if w == "readonly" || w == "def" {
            break;
        }
        if w != "dup" {
            continue;
        }
        let (Some(code), Some(name)) = (words.next(), words.next()) else {
            break;
        };
        if let (Ok(code), Some(name)) = (code.parse::<u8>(), name.strip_prefix('/')) {
            out.push((code, name.to_string()));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyph_names() {
        assert_eq!(glyph_name_to_unicode("A").as_deref(), Some("A"));
        assert_eq!(glyph_name_to_unicode("Euro").as_deref(), Some("€"));
        assert_eq!(glyph_name_to_unicode("uni4E2D").as_deref(), Some("中"));
        assert_eq!(glyph_name_to_unicode("uni00660069").as_deref(), Some("fi"));
        assert_eq!(glyph_name_to_unicode("u1F600").as_deref(), Some("😀"));
        assert_eq!(glyph_name_to_unicode("f_f_i").as_deref(), Some("ffi"));
        assert_eq!(glyph_name_to_unicode("a.sc").as_deref(), Some("a"));
        assert_eq!(glyph_name_to_unicode(".notdef"), None);
        assert_eq!(glyph_name_to_unicode("g123"), None);
    }

    #[test]
    fn base_encodings() {
        assert_eq!(BaseEncoding::WinAnsi.char_for(0x80), Some('€'));
        assert_eq!(BaseEncoding::MacRoman.char_for(0xD2), Some('“'));
        assert_eq!(BaseEncoding::Standard.char_for(0x27), Some('’'));
    }

    #[test]
    fn type1_encoding() {
        let prog = b"%!PS-AdobeFont-1.0\n/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\ndup 65 /A put\ndup 12 /fi put\nreadonly def\ncurrentfile eexec\n";
        let enc = type1_builtin_encoding(prog).unwrap();
        assert_eq!(enc, vec![(65, "A".to_string()), (12, "fi".to_string())]);
    }
}
