//! Compact Font Format programs (`FontFile3` of subtype `Type1C` / `CIDFontType0C`, or an
//! OpenType font's `CFF ` table), read only for what text extraction needs when a PDF carries no
//! ToUnicode map: the glyph names of a name-keyed font (its charset), its built-in encoding, and
//! for a CID-keyed font each glyph's CID and the font's registry and ordering.
//!
//! Adobe Technical Note #5176. Every offset is checked: a hostile program yields less, never a
//! panic.

use crate::glyph_tables::CFF_STANDARD_STRINGS;
use crate::sfnt::u16_at;

/// CFF fonts hold at most 65,535 glyphs.
const MAX_GLYPHS: usize = u16::MAX as usize;

/// What a CFF program says about its glyphs.
#[derive(Debug, Default)]
pub(crate) struct CffGlyphs {
    /// Name-keyed fonts: each glyph's name, by glyph id.
    pub names: Vec<Option<String>>,
    /// CID-keyed fonts: each glyph's CID, by glyph id.
    pub cids: Vec<u16>,
    /// CID-keyed fonts: (Registry, Ordering) from the ROS operator, e.g. ("Adobe", "GB1").
    pub ros: Option<(String, String)>,
    /// A name-keyed font's own encoding: (code, glyph id), empty for the standard encoding.
    pub encoding: Vec<(u8, u16)>,
}

/// One INDEX: its items' bytes and where the INDEX ends.
fn index(data: &[u8], at: usize) -> Option<(Vec<&[u8]>, usize)> {
    let count = usize::from(u16_at(data, at)?);
    if count == 0 {
        return Some((Vec::new(), at + 2));
    }
    let off_size = usize::from(*data.get(at + 2)?);
    if !(1..=4).contains(&off_size) {
        return None;
    }
    let offsets_at = at + 3;
    let offset = |i: usize| -> Option<usize> {
        let b = data.get(offsets_at + i * off_size..offsets_at + (i + 1) * off_size)?;
        Some(b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x)))
    };
    // Offsets count from the byte before the data.
    let base = offsets_at + (count + 1) * off_size - 1;
    let mut items = Vec::with_capacity(count.min(MAX_GLYPHS));
    for i in 0..count {
        let (start, end) = (offset(i)?, offset(i + 1)?);
        items.push(data.get(base + start..base + end).unwrap_or(&[]));
    }
    Some((items, base + offset(count)?))
}

/// A DICT's (operator, operands) pairs; two-byte operators are 1200 + the second byte.
fn dict(data: &[u8]) -> Vec<(u16, Vec<f64>)> {
    let mut out = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while let Some(&b0) = data.get(i) {
        i += 1;
        match b0 {
            0..=11 | 13..=21 => out.push((u16::from(b0), std::mem::take(&mut operands))),
            12 => {
                let b1 = data.get(i).copied().unwrap_or(0);
                i += 1;
                out.push((1200 + u16::from(b1), std::mem::take(&mut operands)));
            }
            28 => {
                let v = u16_at(data, i).map_or(0, |v| v as i16);
                operands.push(f64::from(v));
                i += 2;
            }
            29 => {
                let v = data
                    .get(i..i + 4)
                    .map_or(0, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                operands.push(f64::from(v));
                i += 4;
            }
            30 => {
                // A real: nibbles up to 0xF. Its value never matters to us; skip it.
                while let Some(&b) = data.get(i) {
                    i += 1;
                    if b & 0x0F == 0x0F || b >> 4 == 0x0F {
                        break;
                    }
                }
                operands.push(0.0);
            }
            32..=246 => operands.push(f64::from(b0) - 139.0),
            247..=250 => {
                let b1 = f64::from(data.get(i).copied().unwrap_or(0));
                operands.push((f64::from(b0) - 247.0) * 256.0 + b1 + 108.0);
                i += 1;
            }
            251..=254 => {
                let b1 = f64::from(data.get(i).copied().unwrap_or(0));
                operands.push(-(f64::from(b0) - 251.0) * 256.0 - b1 - 108.0);
                i += 1;
            }
            _ => {}
        }
        if operands.len() > 48 {
            operands.clear();
        }
    }
    out
}

fn string(sid: u16, strings: &[&[u8]]) -> Option<String> {
    let sid = usize::from(sid);
    match CFF_STANDARD_STRINGS.get(sid) {
        Some(s) => Some((*s).to_owned()),
        None => strings
            .get(sid - CFF_STANDARD_STRINGS.len())
            .map(|b| String::from_utf8_lossy(b).into_owned()),
    }
}

/// The charset: glyph id -> SID (name-keyed) or CID (CID-keyed); glyph 0 is .notdef / CID 0.
fn charset(data: &[u8], at: usize, glyphs: usize) -> Option<Vec<u16>> {
    let mut out = Vec::with_capacity(glyphs);
    out.push(0);
    match at {
        // ISOAdobe: glyph i is SID i (229 glyphs at most); Expert charsets we do not carry.
        0 => out.extend((1..glyphs.min(229)).map(|i| i as u16)),
        1 | 2 => return None,
        _ => {
            let format = *data.get(at)?;
            let mut p = at + 1;
            while out.len() < glyphs {
                match format {
                    0 => {
                        out.push(u16_at(data, p)?);
                        p += 2;
                    }
                    1 | 2 => {
                        let first = u16_at(data, p)?;
                        let left = if format == 1 {
                            usize::from(*data.get(p + 2)?)
                        } else {
                            usize::from(u16_at(data, p + 2)?)
                        };
                        p += if format == 1 { 3 } else { 4 };
                        for k in 0..=left {
                            if out.len() >= glyphs {
                                break;
                            }
                            out.push(first.saturating_add(k as u16));
                        }
                    }
                    _ => return None,
                }
            }
        }
    }
    Some(out)
}

/// A custom built-in encoding: (code, glyph id) pairs, supplements resolved through `sid_of`.
fn encoding(data: &[u8], at: usize, sids: &[u16]) -> Vec<(u8, u16)> {
    let mut out = Vec::new();
    let Some(&format) = data.get(at) else {
        return out;
    };
    let mut p = at + 1;
    match format & 0x7F {
        0 => {
            let n = usize::from(data.get(p).copied().unwrap_or(0));
            for gid in 1..=n {
                if let Some(&code) = data.get(p + gid) {
                    out.push((code, gid as u16));
                }
            }
            p += 1 + n;
        }
        1 => {
            let ranges = usize::from(data.get(p).copied().unwrap_or(0));
            let mut gid = 1u16;
            for r in 0..ranges {
                let (Some(&first), Some(&left)) =
                    (data.get(p + 1 + 2 * r), data.get(p + 2 + 2 * r))
                else {
                    break;
                };
                for k in 0..=left {
                    out.push((first.wrapping_add(k), gid));
                    gid = gid.saturating_add(1);
                }
            }
            p += 1 + 2 * ranges;
        }
        _ => return out,
    }
    if format & 0x80 != 0 {
        let n = usize::from(data.get(p).copied().unwrap_or(0));
        for s in 0..n {
            let (Some(&code), Some(sid)) = (data.get(p + 1 + 3 * s), u16_at(data, p + 2 + 3 * s))
            else {
                break;
            };
            if let Some(gid) = sids.iter().position(|&x| x == sid) {
                out.push((code, gid as u16));
            }
        }
    }
    out
}

/// Reads the first font of a CFF program.
pub(crate) fn parse(data: &[u8]) -> Option<CffGlyphs> {
    let header_size = usize::from(*data.get(2)?);
    if *data.first()? != 1 {
        return None; // CFF2 carries no charset; its fonts come with a cmap.
    }
    let (_names, after_names) = index(data, header_size)?;
    let (top_dicts, after_top) = index(data, after_names)?;
    let (strings, _) = index(data, after_top)?;
    let top = dict(top_dicts.first()?);
    let operand =
        |op: u16| -> Option<&Vec<f64>> { top.iter().find(|(o, _)| *o == op).map(|(_, args)| args) };
    let offset = |op: u16| -> Option<usize> {
        operand(op)
            .and_then(|a| a.first())
            .filter(|v| **v >= 0.0)
            .map(|v| *v as usize)
    };
    let char_strings = offset(17)?;
    let glyphs = usize::from(u16_at(data, char_strings)?).min(MAX_GLYPHS);
    let sids = charset(data, offset(15).unwrap_or(0), glyphs)?;

    let mut out = CffGlyphs::default();
    if let Some(ros) = operand(1230) {
        let name = |i: usize| {
            ros.get(i)
                .filter(|v| (0.0..65536.0).contains(*v))
                .and_then(|v| string(*v as u16, &strings))
                .unwrap_or_default()
        };
        out.ros = Some((name(0), name(1)));
        out.cids = sids;
    } else {
        if let Some(at) = offset(16).filter(|&at| at > 1) {
            out.encoding = encoding(data, at, &sids);
        }
        out.names = sids.iter().map(|&sid| string(sid, &strings)).collect();
    }
    Some(out)
}

/// Test support: a CFF program with the given glyph names (name-keyed) or CIDs (`ros` given),
/// glyph 0 being .notdef, and an optional format 0 encoding.
#[cfg(test)]
pub(crate) fn build(
    glyphs: &[&str],
    cids: &[u16],
    ros: Option<(&str, &str)>,
    codes: &[u8],
) -> Vec<u8> {
    fn index_bytes(items: &[Vec<u8>]) -> Vec<u8> {
        let mut out = (items.len() as u16).to_be_bytes().to_vec();
        if items.is_empty() {
            return out;
        }
        out.push(4);
        let mut off = 1u32;
        out.extend_from_slice(&off.to_be_bytes());
        for it in items {
            off += it.len() as u32;
            out.extend_from_slice(&off.to_be_bytes());
        }
        for it in items {
            out.extend_from_slice(it);
        }
        out
    }
    fn int(v: i32) -> Vec<u8> {
        let mut out = vec![29];
        out.extend_from_slice(&v.to_be_bytes());
        out
    }
    let mut strings: Vec<Vec<u8>> = Vec::new();
    let mut sid_of = |name: &str| -> u16 {
        if let Some(i) = CFF_STANDARD_STRINGS.iter().position(|s| *s == name) {
            return i as u16;
        }
        strings.push(name.as_bytes().to_vec());
        (CFF_STANDARD_STRINGS.len() + strings.len() - 1) as u16
    };
    let glyph_ids: Vec<u16> = if ros.is_some() {
        cids.to_vec()
    } else {
        glyphs.iter().map(|g| sid_of(g)).collect()
    };
    let ros_sids = ros.map(|(r, o)| (sid_of(r), sid_of(o)));
    let n = glyph_ids.len() + 1;
    let char_strings = index_bytes(&vec![vec![14u8]; n]);
    let mut charset = vec![0u8];
    for id in &glyph_ids {
        charset.extend_from_slice(&id.to_be_bytes());
    }
    let mut enc = vec![0u8, codes.len() as u8];
    enc.extend_from_slice(codes);

    // The Top DICT uses fixed-size operands, so its size does not depend on the offsets.
    let top = |cs: i32, chs: i32, en: i32| {
        let mut d = Vec::new();
        if let Some((r, o)) = ros_sids {
            d.extend(int(i32::from(r)));
            d.extend(int(i32::from(o)));
            d.extend(int(0));
            d.extend_from_slice(&[12, 30]);
        }
        d.extend(int(cs));
        d.push(15);
        d.extend(int(chs));
        d.push(17);
        if ros.is_none() && !codes.is_empty() {
            d.extend(int(en));
            d.push(16);
        }
        d
    };
    let names = index_bytes(&[b"Test".to_vec()]);
    let strings_index = index_bytes(&strings);
    let top_len = index_bytes(&[top(0, 0, 0)]).len();
    let start = 4 + names.len() + top_len + strings_index.len() + 2;
    let cs_at = start;
    let enc_at = cs_at + charset.len();
    let chs_at = enc_at + enc.len();
    let mut out = vec![1, 0, 4, 4];
    out.extend(names);
    out.extend(index_bytes(&[top(
        cs_at as i32,
        chs_at as i32,
        enc_at as i32,
    )]));
    out.extend(strings_index);
    out.extend_from_slice(&[0, 0]); // global subrs
    out.extend(charset);
    out.extend(enc);
    out.extend(char_strings);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_keyed_charset_and_encoding() {
        let font = build(&["A", "uni94F6", "f_i"], &[], None, &[0x41, 0x80, 0x81]);
        let g = parse(&font).expect("cff");
        assert!(g.ros.is_none());
        assert_eq!(
            g.names,
            vec![
                Some(".notdef".to_owned()),
                Some("A".to_owned()),
                Some("uni94F6".to_owned()),
                Some("f_i".to_owned())
            ]
        );
        assert_eq!(g.encoding, vec![(0x41, 1), (0x80, 2), (0x81, 3)]);
    }

    #[test]
    fn cid_keyed_charset_and_ros() {
        let font = build(&[], &[4559, 1200, 34], Some(("Adobe", "GB1")), &[]);
        let g = parse(&font).expect("cff");
        assert_eq!(g.ros, Some(("Adobe".to_owned(), "GB1".to_owned())));
        assert_eq!(g.cids, vec![0, 4559, 1200, 34]);
        assert!(g.names.is_empty());
    }

    #[test]
    fn hostile_programs_do_not_panic() {
        let good = build(&["A", "B"], &[], None, &[]);
        for cut in 0..good.len() {
            let _ = parse(&good[..cut]);
        }
        let mut bad = good.clone();
        for i in (4..bad.len()).step_by(3) {
            bad[i] = 0xFF;
            let _ = parse(&bad);
        }
    }
}
