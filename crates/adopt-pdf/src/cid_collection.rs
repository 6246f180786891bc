//! Adobe's CJK character collections (Adobe-GB1, -CNS1, -Japan1, -Korea1, -KR): the Unicode text
//! of each CID, and the predefined byte CMaps (GBK-EUC-H, 90ms-RKSJ-V, ...) that map codes to CIDs.
//!
//! A composite font without a ToUnicode CMap still has text when its CIDs are collection CIDs:
//! a non-embedded font, or a CID-keyed CFF program, whose CIDSystemInfo names an Adobe ordering.
//! The tables come from Adobe's cmap-resources (BSD-3-Clause; see `cid_tables/`, whose
//! `gen_cid_tables.py` writes them) and are decoded on first use only.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::cmap::{self, CodeRange};

/// An Adobe character collection: the meaning of a CID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Collection {
    Gb1,
    Cns1,
    Japan1,
    Korea1,
    Kr,
}

/// In the order of `COLLECTIONS` in gen_cid_tables.py (cmaps.bin refers to them by index).
const ALL: [Collection; 5] = [
    Collection::Gb1,
    Collection::Cns1,
    Collection::Japan1,
    Collection::Korea1,
    Collection::Kr,
];

static GB1: &[u8] = include_bytes!("cid_tables/GB1.bin");
static CNS1: &[u8] = include_bytes!("cid_tables/CNS1.bin");
static JAPAN1: &[u8] = include_bytes!("cid_tables/Japan1.bin");
static KOREA1: &[u8] = include_bytes!("cid_tables/Korea1.bin");
static KR: &[u8] = include_bytes!("cid_tables/KR.bin");
static CMAPS: &[u8] = include_bytes!("cid_tables/cmaps.bin");

/// Marks a `UnicodeTable::by_cid` entry that indexes `sequences` instead of being a code point.
const SEQUENCE: u32 = 1 << 31;

/// CID -> text, dense by CID: 0 unmapped, a code point, or `SEQUENCE | index`.
struct UnicodeTable {
    by_cid: Vec<u32>,
    sequences: Vec<Box<str>>,
}

/// Reads big-endian fields off the generated tables. They are compiled in, so a short read is a
/// generator bug; it ends the table rather than panicking.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }

    fn uint(&mut self, n: usize) -> Option<u32> {
        self.bytes(n).map(cmap::code_value)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.uint(1)? as usize;
        std::str::from_utf8(self.bytes(n)?).ok()
    }
}

impl UnicodeTable {
    fn decode(data: &[u8]) -> UnicodeTable {
        let mut r = Reader { data, pos: 0 };
        let mut by_cid = Vec::new();
        let mut sequences = Vec::new();
        let runs = r.uint(4).unwrap_or(0);
        for _ in 0..runs {
            let (Some(cid), Some(count), Some(cp)) = (r.uint(2), r.uint(1), r.uint(3)) else {
                break;
            };
            let (cid, count) = (cid as usize, count as usize + 1);
            if by_cid.len() < cid + count {
                by_cid.resize(cid + count, 0);
            }
            for k in 0..count {
                by_cid[cid + k] = cp + k as u32;
            }
        }
        let seqs = r.uint(4).unwrap_or(0);
        for _ in 0..seqs {
            let (Some(cid), Some(n)) = (r.uint(2), r.uint(1)) else {
                break;
            };
            let text: String = (0..n)
                .filter_map(|_| r.uint(4))
                .filter_map(char::from_u32)
                .collect();
            let cid = cid as usize;
            if by_cid.len() <= cid {
                by_cid.resize(cid + 1, 0);
            }
            by_cid[cid] = SEQUENCE | sequences.len() as u32;
            sequences.push(text.into_boxed_str());
        }
        UnicodeTable { by_cid, sequences }
    }
}

impl Collection {
    /// The collection a CIDSystemInfo names: Registry `Adobe` and a known Ordering.
    pub(crate) fn from_system_info(registry: &str, ordering: &str) -> Option<Collection> {
        if registry != "Adobe" {
            return None;
        }
        Some(match ordering {
            "GB1" => Collection::Gb1,
            "CNS1" => Collection::Cns1,
            "Japan1" => Collection::Japan1,
            "Korea1" => Collection::Korea1,
            "KR" => Collection::Kr,
            _ => return None,
        })
    }

    fn table(self) -> &'static UnicodeTable {
        static TABLES: [OnceLock<UnicodeTable>; 5] = [const { OnceLock::new() }; 5];
        let (slot, data) = match self {
            Collection::Gb1 => (&TABLES[0], GB1),
            Collection::Cns1 => (&TABLES[1], CNS1),
            Collection::Japan1 => (&TABLES[2], JAPAN1),
            Collection::Korea1 => (&TABLES[3], KOREA1),
            Collection::Kr => (&TABLES[4], KR),
        };
        slot.get_or_init(|| UnicodeTable::decode(data))
    }

    /// Appends the Unicode text of a CID; false when the collection gives it none (CID 0, or
    /// beyond the supplement we ship).
    pub(crate) fn write_unicode(self, cid: u32, out: &mut String) -> bool {
        let table = self.table();
        match table.by_cid.get(cid as usize).copied() {
            None | Some(0) => false,
            Some(v) if v & SEQUENCE != 0 => match table.sequences.get((v & !SEQUENCE) as usize) {
                Some(s) if !s.is_empty() => {
                    out.push_str(s);
                    true
                }
                _ => false,
            },
            Some(v) => match char::from_u32(v) {
                Some(c) => {
                    out.push(c);
                    true
                }
                None => false,
            },
        }
    }
}

/// One predefined byte CMap as its resource file has it; a `-V` CMap names its `-H` parent.
#[derive(Debug)]
pub(crate) struct ByteCMap {
    pub name: &'static str,
    parent: Option<&'static str>,
    pub collection: Collection,
    pub vertical: bool,
    codespace: Vec<CodeRange>,
    /// (code length << 32 | first code, last code of the same length, first CID), sorted.
    ranges: Vec<(u64, u64, u32)>,
}

fn decode_cmaps(data: &'static [u8]) -> HashMap<&'static str, ByteCMap> {
    let mut r = Reader { data, pos: 0 };
    let mut out = HashMap::new();
    let count = r.uint(2).unwrap_or(0);
    for _ in 0..count {
        let Some(cmap) = decode_cmap(&mut r) else {
            break;
        };
        out.insert(cmap.name, cmap);
    }
    out
}

fn decode_cmap(r: &mut Reader<'static>) -> Option<ByteCMap> {
    let name = r.str()?;
    let parent = Some(r.str()?).filter(|p| !p.is_empty());
    let collection = *ALL.get(r.uint(1)? as usize)?;
    let vertical = r.uint(1)? == 1;
    let mut codespace = Vec::new();
    for _ in 0..r.uint(1)? {
        let n = r.uint(1)? as usize;
        let (lo, hi) = (r.bytes(n)?, r.bytes(n)?);
        codespace.extend(CodeRange::new(lo, hi));
    }
    let n = r.uint(4)? as usize;
    let mut ranges = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.uint(1)?;
        let code = u64::from(r.uint(len as usize)?) | (u64::from(len) << 32);
        let span = u64::from(r.uint(1)?);
        ranges.push((code, code + span, r.uint(2)?));
    }
    ranges.sort_by_key(|r| r.0);
    Some(ByteCMap {
        name,
        parent,
        collection,
        vertical,
        codespace,
        ranges,
    })
}

impl ByteCMap {
    /// The shipped predefined CMap of this name, if any (decoded on first use).
    pub(crate) fn named(name: &str) -> Option<&'static ByteCMap> {
        static ALL_CMAPS: OnceLock<HashMap<&'static str, ByteCMap>> = OnceLock::new();
        ALL_CMAPS.get_or_init(|| decode_cmaps(CMAPS)).get(name)
    }

    fn parent(&self) -> Option<&'static ByteCMap> {
        self.parent
            .filter(|p| *p != self.name)
            .and_then(ByteCMap::named)
    }

    /// Splits the next code off `bytes` (non-empty) by the code space (the parent's, for a
    /// `-V` CMap that declares none).
    pub(crate) fn next_code(&self, bytes: &[u8]) -> (u32, usize) {
        let mut cmap = self;
        for _ in 0..4 {
            if !cmap.codespace.is_empty() {
                break;
            }
            match cmap.parent() {
                Some(p) => cmap = p,
                None => break,
            }
        }
        cmap::next_code(&cmap.codespace, bytes)
    }

    /// The CID whose Unicode is the code's text. A `-V` CMap's own mappings pick vertical glyph
    /// forms (rotated brackets, vertical presentation forms); their text is the `-H` one.
    pub(crate) fn text_cid(&self, code: u32, len: usize) -> Option<u32> {
        self.parent()
            .filter(|_| self.vertical)
            .and_then(|p| p.cid(code, len))
            .or_else(|| self.cid(code, len))
    }

    /// The CID of a code of `len` bytes: this CMap's own mappings first, then its parent's.
    pub(crate) fn cid(&self, code: u32, len: usize) -> Option<u32> {
        let key = u64::from(code) | ((len as u64) << 32);
        let mut cmap = Some(self);
        for _ in 0..4 {
            let c = cmap?;
            let idx = c.ranges.partition_point(|r| r.0 <= key);
            let hit = c.ranges[..idx]
                .iter()
                .rev()
                .take(8)
                .find(|r| r.0 <= key && key <= r.1);
            if let Some(&(lo, _, cid)) = hit {
                return Some(cid + (key - lo) as u32);
            }
            cmap = c.parent();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: Collection, cid: u32) -> String {
        let mut s = String::new();
        assert!(c.write_unicode(cid, &mut s), "{c:?} CID {cid}");
        s
    }

    /// Known CIDs, each checked against a source other than the UCS2 CMap the table came from:
    /// the first ideograph of GB 2312 (啊, B0A1) is Adobe-GB1 CID 940 in GB-EUC-H's
    /// `<b0a1> <b0fe> 940`; 亜 (JIS 0x3021), the first kanji, is Adobe-Japan1 CID 1125 in H's
    /// `<3021> <307e> 1125` (and Adobe TN #5078 has the kanji start at CID 1125);
    /// 가 (KS X 1001 B0A1) is Adobe-Korea1 CID 1086 in KSC-EUC-H's `<b0a1> <b0fe> 1086`;
    /// 一 (Big5 A440) is Adobe-CNS1 CID 595 in B5pc-H's `<a440> <a47e> 595`.
    #[test]
    fn known_cids() {
        assert_eq!(text(Collection::Gb1, 940), "啊");
        assert_eq!(text(Collection::Japan1, 1125), "亜");
        assert_eq!(text(Collection::Korea1, 1086), "가");
        assert_eq!(text(Collection::Cns1, 595), "一");
        let mut s = String::new();
        assert!(!Collection::Gb1.write_unicode(0, &mut s));
        assert!(!Collection::Gb1.write_unicode(1_000_000, &mut s));
        assert!(s.is_empty());
    }

    #[test]
    fn byte_cmaps_and_vertical_twins() {
        let h = ByteCMap::named("GBK-EUC-H").expect("GBK-EUC-H shipped");
        let v = ByteCMap::named("GBK-EUC-V").expect("GBK-EUC-V shipped");
        assert!(!h.vertical && v.vertical);
        assert_eq!(h.next_code(&[0xB0, 0xA1, 0x41]), (0xB0A1, 2));
        assert_eq!(v.next_code(&[0x41, 0xB0]), (0x41, 1));
        assert_eq!(h.cid(0xB0A1, 2), Some(940));
        assert_eq!(v.cid(0xB0A1, 2), Some(940));
        // The ideographic full stop has its own vertical-form CID in -V only.
        let (hc, vc) = (h.cid(0xA1A3, 2).unwrap(), v.cid(0xA1A3, 2).unwrap());
        assert_ne!(hc, vc);
        let rksj = ByteCMap::named("90ms-RKSJ-H").unwrap();
        assert_eq!(rksj.collection, Collection::Japan1);
        assert_eq!(rksj.next_code(&[0x88, 0x9F]), (0x889F, 2));
        assert_eq!(rksj.cid(0x889F, 2), Some(1125));
        assert!(ByteCMap::named("NoSuch-H").is_none());
    }
}
