//! TrueType / OpenType font programs (`FontFile2`, `FontFile3 /OpenType`), read only for what
//! text extraction needs when a PDF carries no ToUnicode map: which character each glyph draws.
//!
//! The `cmap` table maps characters to glyph ids; we read it backwards. Its Unicode subtables
//! win; a symbol (3,0) or Macintosh (1,0) subtable maps a simple font's codes to glyphs, and the
//! `post` table's glyph names name glyphs no Unicode subtable reaches. Every offset is checked:
//! a hostile font yields fewer mappings, never a panic.

use std::collections::HashMap;

use crate::encoding::glyph_name_to_unicode;
use crate::glyph_tables::MAC_GLYPH_NAMES;

/// No font maps more characters than this; a larger count is a hostile table.
const MAX_MAPPINGS: usize = 1 << 18;

pub(crate) fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

pub(crate) fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// A parsed sfnt: its tables by tag.
pub(crate) struct Sfnt<'a> {
    tables: Vec<([u8; 4], &'a [u8])>,
}

impl<'a> Sfnt<'a> {
    /// Reads the table directory; a collection (`ttcf`) gives its first font.
    pub(crate) fn parse(data: &'a [u8]) -> Option<Sfnt<'a>> {
        let mut start = 0usize;
        if data.get(..4)? == b"ttcf" {
            start = u32_at(data, 12)? as usize;
        }
        let version = data.get(start..start + 4)?;
        if !matches!(version, [0, 1, 0, 0] | b"true" | b"OTTO" | b"typ1") {
            return None;
        }
        let count = usize::from(u16_at(data, start + 4)?);
        let mut tables = Vec::with_capacity(count.min(64));
        for i in 0..count.min(256) {
            let rec = start + 12 + 16 * i;
            let tag: [u8; 4] = data.get(rec..rec + 4)?.try_into().ok()?;
            let offset = u32_at(data, rec + 8)? as usize;
            let len = u32_at(data, rec + 12)? as usize;
            // Subsetters sometimes write a length running past the end: keep what is there.
            let end = offset.saturating_add(len).min(data.len());
            if let Some(body) = data.get(offset..end) {
                tables.push((tag, body));
            }
        }
        Some(Sfnt { tables })
    }

    pub(crate) fn table(&self, tag: &[u8; 4]) -> Option<&'a [u8]> {
        self.tables.iter().find(|(t, _)| t == tag).map(|(_, b)| *b)
    }

    /// Whether the outlines are CFF (an OpenType `OTTO` font): its `CFF ` table.
    pub(crate) fn cff(&self) -> Option<&'a [u8]> {
        self.table(b"CFF ")
    }

    /// Unicode of each glyph: the reverse of the best Unicode `cmap` subtable, completed by the
    /// `post` table's glyph names.
    pub(crate) fn glyph_unicode(&self) -> HashMap<u16, Box<str>> {
        let mut out: HashMap<u16, (u8, char)> = HashMap::new();
        if let Some(cmap) = self.table(b"cmap") {
            for (platform, encoding, sub) in subtables(cmap) {
                let unicode = matches!((platform, encoding), (0, _) | (3, 1) | (3, 10));
                if !unicode {
                    continue;
                }
                for_each_mapping(sub, |code, gid| {
                    let Some(c) = char::from_u32(code) else {
                        return;
                    };
                    if gid == 0 || c.is_control() {
                        return;
                    }
                    let rank = preference(c);
                    match out.get(&gid) {
                        Some(&(r, old)) if (r, old) <= (rank, c) => {}
                        _ => {
                            out.insert(gid, (rank, c));
                        }
                    }
                });
            }
        }
        let mut text: HashMap<u16, Box<str>> = out
            .into_iter()
            .map(|(gid, (_, c))| (gid, c.to_string().into_boxed_str()))
            .collect();
        if let Some(names) = self.table(b"post").and_then(post_names) {
            for (gid, name) in names.into_iter().enumerate() {
                let Ok(gid) = u16::try_from(gid) else { break };
                if gid == 0 || text.contains_key(&gid) {
                    continue;
                }
                if let Some(u) = name.as_deref().and_then(glyph_name_to_unicode) {
                    text.insert(gid, u.into_boxed_str());
                }
            }
        }
        text
    }

    /// A simple TrueType font's code -> glyph id, through its symbol (3,0) subtable (codes at
    /// 0xF000 + code, or the code itself) or its Macintosh (1,0) one, as ISO 32000-1 9.6.6.4 says.
    pub(crate) fn simple_code_to_gid(&self) -> HashMap<u8, u16> {
        let mut out = HashMap::new();
        let Some(cmap) = self.table(b"cmap") else {
            return out;
        };
        for wanted in [(3, 0), (1, 0)] {
            for (platform, encoding, sub) in subtables(cmap) {
                if (platform, encoding) != wanted {
                    continue;
                }
                for_each_mapping(sub, |code, gid| {
                    let low = match code {
                        0xF000..=0xF0FF => code - 0xF000,
                        0..=0xFF => code,
                        _ => return,
                    };
                    if gid != 0 {
                        out.entry(low as u8).or_insert(gid);
                    }
                });
            }
            if !out.is_empty() {
                break;
            }
        }
        out
    }
}

/// Lower ranks win when several characters share a glyph: ordinary characters before
/// compatibility forms and radicals (which fonts map onto the unified ideograph's glyph), and
/// private-use code points last.
fn preference(c: char) -> u8 {
    match u32::from(c) {
        0xE000..=0xF8FF | 0xF0000.. => 3,
        0x2E80..=0x2FDF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F | 0xFE30..=0xFE4F => 2,
        0xFB00..=0xFB4F | 0xFF00..=0xFFEF | 0x00A0 | 0x00AD | 0x2000..=0x200F => 1,
        _ => 0,
    }
}

/// The (platform, encoding, subtable) records of a `cmap` table.
fn subtables(cmap: &[u8]) -> Vec<(u16, u16, &[u8])> {
    let count = u16_at(cmap, 2).unwrap_or(0);
    (0..usize::from(count))
        .filter_map(|i| {
            let rec = 4 + 8 * i;
            let platform = u16_at(cmap, rec)?;
            let encoding = u16_at(cmap, rec + 2)?;
            let offset = u32_at(cmap, rec + 4)? as usize;
            Some((platform, encoding, cmap.get(offset..)?))
        })
        .collect()
}

/// Calls `f(code, glyph id)` for every mapping of a subtable in formats 0, 4, 6, 10 or 12, at
/// most [`MAX_MAPPINGS`] times whatever the table claims.
fn for_each_mapping(sub: &[u8], mut f: impl FnMut(u32, u16)) {
    let mut budget = MAX_MAPPINGS;
    // False once the budget is spent: every loop below stops then.
    let mut emit = |code: u32, gid: u16| {
        if budget == 0 {
            return false;
        }
        budget -= 1;
        f(code, gid);
        true
    };
    match u16_at(sub, 0) {
        Some(0) => {
            for code in 0..256u32 {
                if let Some(&g) = sub.get(6 + code as usize) {
                    emit(code, u16::from(g));
                }
            }
        }
        Some(4) => {
            let Some(seg_x2) = u16_at(sub, 6) else { return };
            let seg_x2 = usize::from(seg_x2);
            let ends = 14;
            let starts = ends + seg_x2 + 2;
            let deltas = starts + seg_x2;
            let range_offsets = deltas + seg_x2;
            // Segments may overlap or point at zeros: bound the work, not only the output.
            let mut steps = 4 * MAX_MAPPINGS;
            for seg in 0..seg_x2 / 2 {
                let (Some(end), Some(start), Some(delta), Some(ro)) = (
                    u16_at(sub, ends + 2 * seg),
                    u16_at(sub, starts + 2 * seg),
                    u16_at(sub, deltas + 2 * seg),
                    u16_at(sub, range_offsets + 2 * seg),
                ) else {
                    return;
                };
                if start > end {
                    continue;
                }
                for code in start..=end {
                    if code == 0xFFFF || steps == 0 {
                        break;
                    }
                    steps -= 1;
                    let gid = if ro == 0 {
                        code.wrapping_add(delta)
                    } else {
                        let at = range_offsets
                            + 2 * seg
                            + usize::from(ro)
                            + 2 * usize::from(code - start);
                        match u16_at(sub, at) {
                            None => break,
                            Some(0) => continue,
                            Some(g) => g.wrapping_add(delta),
                        }
                    };
                    if !emit(u32::from(code), gid) {
                        return;
                    }
                }
            }
        }
        Some(6) => {
            let (Some(first), Some(count)) = (u16_at(sub, 6), u16_at(sub, 8)) else {
                return;
            };
            for i in 0..count {
                match u16_at(sub, 10 + 2 * usize::from(i)) {
                    Some(g) if emit(u32::from(first) + u32::from(i), g) => {}
                    _ => return,
                }
            }
        }
        Some(10) => {
            let (Some(first), Some(count)) = (u32_at(sub, 12), u32_at(sub, 16)) else {
                return;
            };
            for i in 0..count.min(MAX_MAPPINGS as u32) {
                match u16_at(sub, 20 + 2 * i as usize) {
                    Some(g) if emit(first.saturating_add(i), g) => {}
                    _ => return,
                }
            }
        }
        Some(12) => {
            let Some(groups) = u32_at(sub, 12) else {
                return;
            };
            for i in 0..groups.min(MAX_MAPPINGS as u32) as usize {
                let rec = 16 + 12 * i;
                let (Some(start), Some(end), Some(gid)) =
                    (u32_at(sub, rec), u32_at(sub, rec + 4), u32_at(sub, rec + 8))
                else {
                    return;
                };
                if start > end || end > 0x10FFFF {
                    continue;
                }
                for code in start..=end {
                    let Ok(g) = u16::try_from(gid.saturating_add(code - start)) else {
                        break;
                    };
                    if !emit(code, g) {
                        return;
                    }
                }
            }
        }
        _ => {}
    }
}

/// Glyph names from a `post` table of format 1 (the 258 Macintosh names) or 2.
fn post_names(post: &[u8]) -> Option<Vec<Option<String>>> {
    match u32_at(post, 0)? {
        0x0001_0000 => Some(
            MAC_GLYPH_NAMES
                .iter()
                .map(|n| Some((*n).to_owned()))
                .collect(),
        ),
        0x0002_0000 => {
            let count = usize::from(u16_at(post, 32)?);
            let indices: Vec<u16> = (0..count).map_while(|i| u16_at(post, 34 + 2 * i)).collect();
            let mut extra: Vec<String> = Vec::new();
            let mut at = 34 + 2 * count;
            while let Some(&len) = post.get(at) {
                let Some(bytes) = post.get(at + 1..at + 1 + usize::from(len)) else {
                    break;
                };
                extra.push(String::from_utf8_lossy(bytes).into_owned());
                at += 1 + usize::from(len);
            }
            Some(
                indices
                    .into_iter()
                    .map(|i| match usize::from(i) {
                        i if i < MAC_GLYPH_NAMES.len() => Some(MAC_GLYPH_NAMES[i].to_owned()),
                        i => extra.get(i - MAC_GLYPH_NAMES.len()).cloned(),
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Test support: a minimal sfnt with the given tables (directory, no checksums).
#[cfg(test)]
pub(crate) fn build_sfnt(tables: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![0, 1, 0, 0];
    out.extend_from_slice(&(tables.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0; 6]);
    let mut offset = 12 + 16 * tables.len();
    let mut bodies = Vec::new();
    for (tag, body) in tables {
        out.extend_from_slice(*tag);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        offset += body.len();
        bodies.extend_from_slice(body);
    }
    out.extend_from_slice(&bodies);
    out
}

/// Test support: a `cmap` table with one (3,1) format 4 subtable, one segment per mapping.
#[cfg(test)]
pub(crate) fn build_cmap_format4(map: &[(u16, u16)]) -> Vec<u8> {
    build_cmap_format4_for((3, 1), map)
}

/// Test support: a `cmap` table with one format 4 subtable for (platform, encoding).
#[cfg(test)]
pub(crate) fn build_cmap_format4_for(
    (platform, encoding): (u16, u16),
    map: &[(u16, u16)],
) -> Vec<u8> {
    let mut segs: Vec<(u16, u16)> = map.to_vec();
    segs.sort_unstable();
    segs.push((0xFFFF, 0));
    let n = segs.len() as u16;
    let mut sub = Vec::new();
    for v in [4u16, 0, 0, 2 * n, 0, 0, 0] {
        sub.extend_from_slice(&v.to_be_bytes());
    }
    for (c, _) in &segs {
        sub.extend_from_slice(&c.to_be_bytes());
    }
    sub.extend_from_slice(&[0, 0]);
    for (c, _) in &segs {
        sub.extend_from_slice(&c.to_be_bytes());
    }
    for (c, g) in &segs {
        let delta = if *c == 0xFFFF { 1 } else { g.wrapping_sub(*c) };
        sub.extend_from_slice(&delta.to_be_bytes());
    }
    for _ in &segs {
        sub.extend_from_slice(&[0, 0]);
    }
    let len = sub.len() as u16;
    sub[2..4].copy_from_slice(&len.to_be_bytes());
    let mut cmap = vec![0, 0, 0, 1];
    cmap.extend_from_slice(&platform.to_be_bytes());
    cmap.extend_from_slice(&encoding.to_be_bytes());
    cmap.extend_from_slice(&12u32.to_be_bytes());
    cmap.extend_from_slice(&sub);
    cmap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_cmap_prefers_unified_ideographs_and_fills_from_post() {
        // 一 and the Kangxi radical ⼀ share glyph 1; 行 is glyph 2; glyph 3 only has a name.
        let cmap = build_cmap_format4(&[(0x2F00, 1), (0x4E00, 1), (0x884C, 2)]);
        let mut post = vec![0, 2, 0, 0];
        post.extend_from_slice(&[0; 28]);
        post.extend_from_slice(&4u16.to_be_bytes());
        for idx in [0u16, 36, 36, 258] {
            post.extend_from_slice(&idx.to_be_bytes());
        }
        post.push(7);
        post.extend_from_slice(b"uni94F6");
        let font = build_sfnt(&[(b"cmap", cmap), (b"post", post)]);
        let sfnt = Sfnt::parse(&font).expect("sfnt");
        let map = sfnt.glyph_unicode();
        assert_eq!(map.get(&1).map(|s| &**s), Some("一"));
        assert_eq!(map.get(&2).map(|s| &**s), Some("行"));
        assert_eq!(map.get(&3).map(|s| &**s), Some("银"));
        assert!(!map.contains_key(&0));
    }

    #[test]
    fn hostile_tables_give_nothing_without_panicking() {
        for bytes in [
            &b""[..],
            b"ttcf",
            b"\x00\x01\x00\x00\xff\xff",
            b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00cmap\x00\x00\x00\x00\xff\xff\xff\xf0\xff\xff\xff\xff",
        ] {
            if let Some(s) = Sfnt::parse(bytes) {
                assert!(s.glyph_unicode().is_empty());
            }
        }
        // A format 12 group claiming the whole code space is capped.
        let mut sub = vec![0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        for v in [0u32, 0x10FFFF, 1] {
            sub.extend_from_slice(&v.to_be_bytes());
        }
        let mut cmap = vec![0, 0, 0, 1, 0, 3, 0, 10, 0, 0, 0, 12];
        cmap.extend_from_slice(&sub);
        let font = build_sfnt(&[(b"cmap", cmap)]);
        let map = Sfnt::parse(&font).unwrap().glyph_unicode();
        assert!(map.len() <= usize::from(u16::MAX));
    }
}
