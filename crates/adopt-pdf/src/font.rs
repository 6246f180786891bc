//! Fonts as the text extractor needs them: how to split a string into codes, each code's advance
//! width, and its Unicode text.
//!
//! Unicode comes from, in order: the ToUnicode CMap, then for simple fonts the /Encoding (base
//! encoding + /Differences glyph names, or a Type 1 / CFF program's built-in encoding, or a
//! symbolic TrueType program's own cmap), and for composite fonts a predefined Unicode or legacy
//! CJK CMap, else the CID's text in its Adobe collection (Adobe-GB1, -Japan1, ...; named by the
//! CIDSystemInfo or a CID-keyed CFF program) and the embedded program's glyphs (`program.rs`).

use lopdf::{Dictionary, Document, Object};

use crate::cid_collection::{ByteCMap, Collection};
use crate::cmap::{self, CMap, Predefined};
use crate::encoding::{glyph_name_to_unicode, type1_builtin_encoding, BaseEncoding};
use crate::program::{self, CidText};
use crate::resolve;

/// Splitting strings into codes and looking them up differs for the two font families.
#[derive(Debug)]
enum FontKind {
    /// One byte per code; Unicode text and width (glyph units) per code.
    Simple {
        text: Vec<Option<Box<str>>>,
        widths: Vec<f64>,
    },
    /// Type0: codes of one to four bytes through an encoding CMap, widths per CID.
    Composite {
        encoding: CompositeEncoding,
        /// (first CID, last CID, width) sorted by first CID.
        widths: Vec<(u32, u32, f64)>,
        default_width: f64,
        /// Text per CID from the embedded font program, when there is no ToUnicode.
        program_text: Option<CidText>,
        /// The Adobe collection the CIDs belong to, when there is no ToUnicode.
        collection: Option<Collection>,
        /// A TrueType CIDFont: its own cmap is a better guide than a claimed collection.
        program_first: bool,
    },
}

#[derive(Debug)]
enum CompositeEncoding {
    Predefined(Predefined),
    /// An embedded CMap, with the shipped predefined CMap it `usecmap`s for codes it leaves out.
    Embedded(Box<CMap>, Option<&'static ByteCMap>),
}

impl CompositeEncoding {
    /// The CID of a code, for Identity, embedded and shipped byte CMaps (`None` for the
    /// Unicode and `encoding_rs` ones, which map codes to characters).
    fn cid(&self, code: u32, len: usize) -> Option<u32> {
        match self {
            CompositeEncoding::Embedded(cmap, parent) => Some(
                cmap.cid(code)
                    .or_else(|| parent.and_then(|p| p.cid(code, len)))
                    .unwrap_or(code),
            ),
            CompositeEncoding::Predefined(Predefined::Identity) => Some(code),
            CompositeEncoding::Predefined(Predefined::Cid(cmap, _)) => cmap.cid(code, len),
            CompositeEncoding::Predefined(_) => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Font {
    kind: FontKind,
    to_unicode: Option<CMap>,
    /// Vertical writing mode (a `-V` CMap): glyphs advance downwards.
    pub vertical: bool,
    /// Glyph units to text space: 1/1000, or a Type 3 font's FontMatrix.
    width_scale: f64,
    /// Type 3 glyph space may be scaled vertically too; this rescales the font size.
    pub size_scale: f64,
    /// True when no source of Unicode was found: the caller warns once per font.
    pub lacks_unicode: bool,
    /// A CIDSystemInfo `Registry-Ordering` we have no table for, named in that warning.
    pub unknown_collection: Option<String>,
    pub name: String,
}

/// The Adobe collection of a CIDFont's CIDs: its CIDSystemInfo's, or, where that says Identity
/// (or is missing), the ROS of its CID-keyed CFF program. The second value names a Registry and
/// Ordering we have no table for (not Identity), for the caller's warning.
fn cid_collection(doc: &Document, cid_font: &Dictionary) -> (Option<Collection>, Option<String>) {
    let text = |d: &Dictionary, key: &[u8]| match resolve::get(doc, d, key) {
        Some(Object::String(s, _)) => String::from_utf8_lossy(s).into_owned(),
        Some(Object::Name(n)) => String::from_utf8_lossy(n).into_owned(),
        _ => String::new(),
    };
    let declared = resolve::dict(doc, cid_font, b"CIDSystemInfo")
        .map(|d| (text(d, b"Registry"), text(d, b"Ordering")));
    let is_identity = |o: &str| o.is_empty() || o == "Identity";
    let from_program = || program::cff_system_info(doc, cid_font).filter(|(_, o)| !is_identity(o));
    let (registry, ordering) = match declared {
        Some((r, o)) if !is_identity(&o) => (r, o),
        _ => match from_program() {
            Some(ro) => ro,
            None => return (None, None),
        },
    };
    match Collection::from_system_info(&registry, &ordering) {
        Some(c) => (Some(c), None),
        None => (None, Some(format!("{registry}-{ordering}"))),
    }
}

/// Advance widths (per 1000 em) of the ASCII range for the standard fonts, used when a simple font
/// carries no /Widths (the standard 14 fonts need not). Helvetica also stands in for Arial.
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const TIMES_WIDTHS: [u16; 95] = [
    250, 333, 408, 500, 500, 833, 778, 180, 333, 333, 500, 564, 250, 333, 250, 278, 500, 500, 500,
    500, 500, 500, 500, 500, 500, 500, 278, 278, 564, 564, 564, 444, 921, 722, 667, 667, 722, 611,
    556, 722, 722, 333, 389, 722, 611, 889, 722, 722, 556, 722, 667, 556, 611, 722, 722, 944, 722,
    722, 611, 333, 278, 333, 469, 500, 333, 444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500,
    278, 778, 500, 500, 500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444, 480, 200, 480, 541,
];

fn standard_width(base_font: &str, text: Option<&str>) -> f64 {
    let lower = base_font.to_ascii_lowercase();
    if lower.contains("courier") || lower.contains("mono") {
        return 600.0;
    }
    let times = lower.contains("times") || (lower.contains("serif") && !lower.contains("sans"));
    let c = text.and_then(|t| t.chars().next()).unwrap_or('a');
    let idx = (c as u32).wrapping_sub(32) as usize;
    let table = if times {
        &TIMES_WIDTHS
    } else {
        &HELVETICA_WIDTHS
    };
    match table.get(idx) {
        Some(&w) => f64::from(w),
        None if (c as u32) >= 0x2E80 => 1000.0,
        None => {
            if times {
                500.0
            } else {
                556.0
            }
        }
    }
}

fn descriptor_flags(doc: &Document, desc: Option<&Dictionary>) -> i64 {
    desc.and_then(|d| resolve::num(doc, d, b"Flags"))
        .map_or(0, |f| f as i64)
}

impl Font {
    pub(crate) fn load(doc: &Document, dict: &Dictionary) -> Font {
        let subtype = resolve::name(doc, dict, b"Subtype").unwrap_or(b"Type1");
        let name = resolve::name(doc, dict, b"BaseFont")
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let to_unicode = resolve::stream(doc, dict, b"ToUnicode")
            .and_then(resolve::stream_bytes)
            .map(|b| CMap::parse(&b))
            .filter(CMap::has_unicode);
        if subtype == b"Type0" {
            Self::load_composite(doc, dict, name, to_unicode)
        } else {
            Self::load_simple(doc, dict, subtype, name, to_unicode)
        }
    }

    fn load_simple(
        doc: &Document,
        dict: &Dictionary,
        subtype: &[u8],
        name: String,
        to_unicode: Option<CMap>,
    ) -> Font {
        let desc = resolve::dict(doc, dict, b"FontDescriptor");
        let flags = descriptor_flags(doc, desc);
        let symbolic = flags & 4 != 0 && flags & 32 == 0;
        let is_type3 = subtype == b"Type3";

        let encoding_obj = resolve::get(doc, dict, b"Encoding");
        let (named_base, differences) = match encoding_obj {
            Some(Object::Name(n)) => (BaseEncoding::from_name(n), None),
            Some(Object::Dictionary(d)) => (
                resolve::name(doc, d, b"BaseEncoding").and_then(BaseEncoding::from_name),
                resolve::array(doc, d, b"Differences"),
            ),
            _ => (None, None),
        };

        let mut text: Vec<Option<Box<str>>> = vec![None; 256];
        let base = named_base.or_else(|| {
            let lower = name.to_ascii_lowercase();
            if lower.contains("symbol") && desc.and_then(|d| d.get(b"FontFile2").ok()).is_none() {
                Some(BaseEncoding::Symbol)
            } else if lower.contains("dingbats") {
                None
            } else if subtype == b"TrueType" || symbolic {
                // Symbolic TrueType fonts index their (3,0) cmap by code; Latin-1 is the best guess.
                Some(BaseEncoding::WinAnsi)
            } else {
                Some(BaseEncoding::Standard)
            }
        });
        if let Some(base) = base {
            for (code, slot) in text.iter_mut().enumerate() {
                *slot = base
                    .char_for(code as u8)
                    .map(|c| c.to_string().into_boxed_str());
            }
        }
        // A Type 1 program's own encoding wins over the guessed default, not over a named one.
        if named_base.is_none() {
            let program = desc
                .and_then(|d| resolve::stream(doc, d, b"FontFile"))
                .and_then(resolve::stream_bytes);
            if let Some(builtin) = program.as_deref().and_then(type1_builtin_encoding) {
                for (code, glyph) in builtin {
                    if let Some(u) = glyph_name_to_unicode(&glyph) {
                        text[usize::from(code)] = Some(u.into_boxed_str());
                    }
                }
            }
            // A CFF program's built-in encoding, or a symbolic TrueType program's (3,0) cmap:
            // the codes name glyphs, not characters of any base encoding.
            let embedded = desc.is_some_and(|d| {
                d.get(b"FontFile3").is_ok() || (symbolic && d.get(b"FontFile2").is_ok())
            });
            if embedded {
                let from_program = desc.map(|d| program::simple_font_text(doc, d, symbolic));
                for (code, t) in from_program.unwrap_or_default() {
                    text[usize::from(code)] = Some(t);
                }
            }
        }
        if let Some(diffs) = differences {
            let mut code: i64 = 0;
            for item in diffs {
                match resolve::deref(doc, item) {
                    Some(Object::Integer(i)) => code = *i,
                    Some(Object::Name(n)) => {
                        if (0..256).contains(&code) {
                            let glyph = String::from_utf8_lossy(n);
                            text[code as usize] = glyph_name_to_unicode(&glyph).map(Into::into);
                        }
                        code += 1;
                    }
                    _ => {}
                }
            }
        }

        // Widths: /Widths from FirstChar, else MissingWidth, else standard metrics.
        let first = resolve::num(doc, dict, b"FirstChar")
            .unwrap_or(0.0)
            .max(0.0) as usize;
        let listed = resolve::array(doc, dict, b"Widths").map(|a| resolve::numbers(doc, a));
        let missing = desc.and_then(|d| resolve::num(doc, d, b"MissingWidth"));
        let mut widths = vec![0.0; 256];
        for (code, w) in widths.iter_mut().enumerate() {
            let from_list = listed
                .as_ref()
                .and_then(|l| code.checked_sub(first).and_then(|i| l.get(i)).copied());
            *w = match (from_list, missing, &listed) {
                (Some(w), _, _) => w,
                (None, Some(m), _) if m > 0.0 => m,
                (None, _, Some(_)) if is_type3 => 0.0,
                _ => standard_width(&name, text[code].as_deref()),
            };
        }

        let (width_scale, size_scale) = if is_type3 {
            let m = resolve::array(doc, dict, b"FontMatrix")
                .map(|a| resolve::numbers(doc, a))
                .unwrap_or_default();
            let sx = m
                .first()
                .copied()
                .filter(|v| v.abs() > 1e-9)
                .unwrap_or(0.001);
            let sy = m
                .get(3)
                .copied()
                .filter(|v| v.abs() > 1e-9)
                .unwrap_or(0.001);
            (sx.abs(), (sy.abs() * 1000.0).clamp(0.01, 100.0))
        } else {
            (0.001, 1.0)
        };

        let lacks_unicode = to_unicode.is_none() && text.iter().all(Option::is_none);
        Font {
            kind: FontKind::Simple { text, widths },
            to_unicode,
            vertical: false,
            width_scale,
            size_scale,
            lacks_unicode,
            unknown_collection: None,
            name,
        }
    }

    fn load_composite(
        doc: &Document,
        dict: &Dictionary,
        name: String,
        to_unicode: Option<CMap>,
    ) -> Font {
        let mut vertical = false;
        let encoding = match resolve::get(doc, dict, b"Encoding") {
            Some(Object::Name(n)) => {
                let n = String::from_utf8_lossy(n);
                match Predefined::from_name(&n) {
                    Some((p, v)) => {
                        vertical = v;
                        CompositeEncoding::Predefined(p)
                    }
                    None => CompositeEncoding::Predefined(Predefined::Identity),
                }
            }
            Some(Object::Stream(s)) => {
                let cmap = resolve::stream_bytes(s)
                    .map(|b| CMap::parse(&b))
                    .unwrap_or_default();
                vertical = cmap.vertical;
                let parent = cmap.use_cmap.as_deref().and_then(Predefined::from_name);
                if let Some((_, v)) = parent {
                    vertical |= v;
                }
                match parent {
                    Some((p, _)) if cmap.codespace.is_empty() => CompositeEncoding::Predefined(p),
                    _ if cmap.codespace.is_empty() && !cmap.has_cid_map() => {
                        CompositeEncoding::Predefined(Predefined::Identity)
                    }
                    _ => {
                        let shipped = match parent {
                            Some((Predefined::Cid(p, _), _)) => Some(p),
                            _ => None,
                        };
                        CompositeEncoding::Embedded(Box::new(cmap), shipped)
                    }
                }
            }
            _ => CompositeEncoding::Predefined(Predefined::Identity),
        };

        let descendant = resolve::array(doc, dict, b"DescendantFonts")
            .and_then(|a| a.first())
            .and_then(|o| resolve::deref(doc, o))
            .and_then(resolve::as_dict);
        let default_width = descendant
            .and_then(|d| resolve::num(doc, d, b"DW"))
            .unwrap_or(1000.0);
        let mut widths = Vec::new();
        if let Some(w) = descendant.and_then(|d| resolve::array(doc, d, b"W")) {
            let mut i = 0;
            while i < w.len() && widths.len() < 1 << 20 {
                let first = resolve::deref(doc, &w[i]).and_then(resolve::number);
                let next = w.get(i + 1).and_then(|o| resolve::deref(doc, o));
                match (first, next) {
                    (Some(first), Some(Object::Array(list))) => {
                        let first = first.max(0.0) as u32;
                        for (k, v) in resolve::numbers(doc, list).into_iter().enumerate() {
                            let cid = first.saturating_add(k as u32);
                            widths.push((cid, cid, v));
                        }
                        i += 2;
                    }
                    (Some(first), Some(last)) => {
                        let last = resolve::number(last).unwrap_or(first);
                        let wv = w
                            .get(i + 2)
                            .and_then(|o| resolve::deref(doc, o))
                            .and_then(resolve::number)
                            .unwrap_or(default_width);
                        widths.push((first.max(0.0) as u32, last.max(0.0) as u32, wv));
                        i += 3;
                    }
                    _ => break,
                }
            }
        }
        widths.sort_by_key(|r| r.0);

        let by_cid = matches!(
            encoding,
            CompositeEncoding::Predefined(Predefined::Identity) | CompositeEncoding::Embedded(..)
        );
        let program_text = match descendant {
            Some(d) if to_unicode.is_none() && by_cid => CidText::load(doc, d),
            _ => None,
        };
        let mut unknown_collection = None;
        let collection = match descendant {
            Some(d) if to_unicode.is_none() && by_cid => {
                let (collection, unknown) = cid_collection(doc, d);
                unknown_collection = unknown;
                // An embedded CMap over a shipped one uses that one's CIDs.
                collection.or(match &encoding {
                    CompositeEncoding::Embedded(_, Some(p)) => Some(p.collection),
                    _ => None,
                })
            }
            _ => None,
        };
        let program_first =
            descendant.and_then(|d| resolve::name(doc, d, b"Subtype")) == Some(b"CIDFontType2");
        let lacks_unicode =
            to_unicode.is_none() && by_cid && program_text.is_none() && collection.is_none();
        Font {
            kind: FontKind::Composite {
                encoding,
                widths,
                default_width,
                program_text,
                collection,
                program_first,
            },
            to_unicode,
            vertical,
            width_scale: 0.001,
            size_scale: 1.0,
            lacks_unicode,
            unknown_collection,
            name,
        }
    }

    /// Splits the next code off `bytes` (non-empty): (code value, byte length).
    pub(crate) fn next_code(&self, bytes: &[u8]) -> (u32, usize) {
        match &self.kind {
            FontKind::Simple { .. } => (u32::from(bytes[0]), 1),
            FontKind::Composite { encoding, .. } => match encoding {
                CompositeEncoding::Predefined(p) => p.next_code(bytes),
                CompositeEncoding::Embedded(cmap, _) => cmap::next_code(&cmap.codespace, bytes),
            },
        }
    }

    /// Horizontal advance of a code in text space units (per unit font size).
    pub(crate) fn width(&self, code: u32, code_len: usize) -> f64 {
        let units = match &self.kind {
            FontKind::Simple { widths, .. } => widths.get(code as usize).copied().unwrap_or(0.0),
            FontKind::Composite {
                encoding,
                widths,
                default_width,
                ..
            } => {
                let cid = match encoding {
                    CompositeEncoding::Predefined(Predefined::Identity | Predefined::Cid(..))
                    | CompositeEncoding::Embedded(..) => encoding.cid(code, code_len),
                    // Unicode CMaps and the legacy ones we do not ship map codes to characters,
                    // not CIDs: assume half-width single-byte / Latin codes and full-width others.
                    // Without /W every CID has the default width anyway.
                    CompositeEncoding::Predefined(_) if widths.is_empty() => None,
                    CompositeEncoding::Predefined(p) => {
                        let narrow = match p {
                            Predefined::Legacy(..) => code_len == 1,
                            _ => code < 0x2E80,
                        };
                        return if narrow { 0.5 } else { 1.0 };
                    }
                };
                cid.and_then(|cid| {
                    let i = widths.partition_point(|r| r.0 <= cid);
                    widths[..i]
                        .iter()
                        .rev()
                        .take(8)
                        .find(|r| r.0 <= cid && cid <= r.1)
                        .map(|r| r.2)
                })
                .unwrap_or(*default_width)
            }
        };
        units * self.width_scale
    }

    /// Appends the Unicode text of a code; false when nothing is known about it.
    pub(crate) fn write_text(&self, code: u32, code_bytes: &[u8], out: &mut String) -> bool {
        if let Some(tu) = &self.to_unicode {
            if tu.write_unicode(code, out) {
                return true;
            }
        }
        match &self.kind {
            FontKind::Simple { text, .. } => match text.get(code as usize) {
                Some(Some(s)) => {
                    out.push_str(s);
                    true
                }
                _ => false,
            },
            FontKind::Composite {
                encoding,
                program_text,
                collection,
                program_first,
                ..
            } => match encoding {
                CompositeEncoding::Predefined(Predefined::Identity)
                | CompositeEncoding::Embedded(..) => {
                    let Some(cid) = encoding.cid(code, code_bytes.len()) else {
                        return false;
                    };
                    let from_program =
                        |out: &mut String| match program_text.as_ref().and_then(|p| p.get(cid)) {
                            Some(t) => {
                                out.push_str(t);
                                true
                            }
                            None => false,
                        };
                    let from_collection =
                        |out: &mut String| collection.is_some_and(|c| c.write_unicode(cid, out));
                    let sources: [&dyn Fn(&mut String) -> bool; 2] = if *program_first {
                        [&from_program, &from_collection]
                    } else {
                        [&from_collection, &from_program]
                    };
                    sources.iter().any(|source| source(out))
                }
                CompositeEncoding::Predefined(p) => p.write_unicode(code_bytes, out),
            },
        }
    }

    /// Whether a code is a single-byte 32, to which word spacing (Tw) applies.
    pub(crate) fn is_word_space(code: u32, code_len: usize) -> bool {
        code == 32 && code_len == 1
    }
}

#[cfg(test)]
mod tests {
    use lopdf::{dictionary, Document, Object};

    use super::Font;

    /// A shipped byte CMap turns codes into CIDs, so /W applies: 90ms-RKSJ-H maps 0x41 to CID
    /// 264 (`<20> <7d> 231`) and 0x889F to 1125 (`<889f> <88fc> 1125`).
    #[test]
    fn byte_cmap_codes_take_their_cid_widths() {
        let mut doc = Document::with_version("1.5");
        let cid_font = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "CIDFontType0", "BaseFont" => "HeiseiMin-W3",
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("Japan1"),
                "Supplement" => 2,
            },
            "DW" => 1000,
            "W" => vec![264.into(), vec![610.into()].into(), 1125.into(), 1125.into(), 900.into()],
        });
        let font = dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "HeiseiMin-W3",
            "Encoding" => "90ms-RKSJ-H", "DescendantFonts" => vec![cid_font.into()],
        };
        let font = Font::load(&doc, &font);
        assert_eq!(font.next_code(&[0x88, 0x9F, 0x41]), (0x889F, 2));
        assert!((font.width(0x41, 1) - 0.61).abs() < 1e-9);
        assert!((font.width(0x889F, 2) - 0.9).abs() < 1e-9);
        assert!(
            (font.width(0x42, 1) - 1.0).abs() < 1e-9,
            "DW for CIDs /W leaves out"
        );
        let mut text = String::new();
        assert!(font.write_text(0x889F, &[0x88, 0x9F], &mut text));
        assert_eq!(text, "亜");
    }
}
