//! Plain text in whatever encoding the department saved it: detected, never assumed.

use encoding_rs::{Encoding, GB18030, UTF_16BE, UTF_16LE, UTF_8};

/// Text decoded from bytes, with the encoding it was decoded from.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub text: String,
    /// WHATWG name of the encoding ("UTF-8", "UTF-16LE", "gb18030", ...).
    pub encoding: &'static str,
    /// True when the bytes had sequences invalid in that encoding (replaced by U+FFFD).
    pub had_errors: bool,
}

/// Detects the encoding of `bytes` and decodes them.
///
/// Order: a byte-order mark; UTF-16 without a BOM (recognised by its NUL bytes, which no 8-bit
/// encoding of text has); valid UTF-8; otherwise chardetng's guess. GBK and GB2312 are decoded
/// as GB18030, their superset, so no character of a GBK file is lost.
pub fn decode(bytes: &[u8]) -> Decoded {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return finish(enc, &bytes[bom_len..]);
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        return finish(enc, bytes);
    }
    if std::str::from_utf8(bytes).is_ok() {
        return finish(UTF_8, bytes);
    }
    if let Some(enc) = cjk_utf16_without_bom(bytes) {
        return finish(enc, bytes);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let mut enc = detector.guess(None, chardetng::Utf8Detection::Allow);
    if enc == encoding_rs::GBK {
        enc = GB18030;
    }
    finish(enc, bytes)
}

fn finish(enc: &'static Encoding, bytes: &[u8]) -> Decoded {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: enc.name(),
        had_errors,
    }
}

/// UTF-16 text of mostly ASCII or mostly CJK has a tell: in ASCII-heavy text every other byte
/// is NUL; in CJK-heavy text there are no NULs but the bytes decode to valid, common code
/// points. We only trust the NUL pattern, which is unambiguous.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 4 {
        return None;
    }
    let pairs = sample.len() / 2;
    let even_nul = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd_nul = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    if odd_nul * 10 >= pairs * 3 && even_nul * 10 < pairs {
        Some(UTF_16LE)
    } else if even_nul * 10 >= pairs * 3 && odd_nul * 10 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// UTF-16 of mostly Chinese or Japanese text has no NUL bytes, but its code units fall almost
/// all in the CJK blocks, ASCII and CJK punctuation. GBK or Big5 bytes read as UTF-16 land mostly
/// in private-use, Hangul and other blocks, so a high share of plausible units is a safe tell.
fn cjk_utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    if bytes.len() < 8 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let sample = &bytes[..bytes.len().min(8192)];
    let score = |le: bool| {
        let (mut plausible, mut cjk, mut total) = (0usize, 0usize, 0usize);
        for pair in sample.chunks_exact(2) {
            let unit = if le {
                u16::from_le_bytes([pair[0], pair[1]])
            } else {
                u16::from_be_bytes([pair[0], pair[1]])
            };
            total += 1;
            match unit {
                0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x3040..=0x30FF => {
                    plausible += 1;
                    cjk += 1;
                }
                0x09
                | 0x0A
                | 0x0D
                | 0x20..=0x7E
                | 0x3000..=0x303F
                | 0xFF00..=0xFFEF
                | 0x2010..=0x206F => plausible += 1,
                _ => {}
            }
        }
        (plausible * 100 / total, cjk * 100 / total)
    };
    let (le_ok, le_cjk) = score(true);
    let (be_ok, be_cjk) = score(false);
    if le_ok >= 95 && le_cjk >= 30 && le_ok >= be_ok {
        Some(UTF_16LE)
    } else if be_ok >= 95 && be_cjk >= 30 {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Puts text in the form every reader hands on: `\n` line ends, no form feeds (they separate
/// units in a document's text), no NULs.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\u{c}' => out.push('\n'),
            '\0' | '\u{feff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZH: &str = "风险评估报告：客户信用等级为A，授信额度五十万元。";

    #[test]
    fn gbk_is_detected_not_assumed() {
        let (bytes, _, _) = encoding_rs::GBK.encode(ZH);
        let d = decode(&bytes);
        assert_eq!(d.encoding, "gb18030");
        assert_eq!(d.text, ZH);
        assert!(!d.had_errors);
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let le: Vec<u8> = "Credit limit: 500\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let d = decode(&le);
        assert_eq!(d.encoding, "UTF-16LE");
        assert_eq!(d.text, "Credit limit: 500\n");

        let mut be = vec![0xFE, 0xFF];
        be.extend(ZH.encode_utf16().flat_map(u16::to_be_bytes));
        let d = decode(&be);
        assert_eq!(d.encoding, "UTF-16BE");
        assert_eq!(d.text, ZH);
    }

    #[test]
    fn chinese_utf16_without_bom_or_nuls() {
        let zh = "风险评估报告：客户信用等级良好，授信额度五十万元。";
        let le: Vec<u8> = zh.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(!le.contains(&0));
        let d = decode(&le);
        assert_eq!((d.encoding, d.text.as_str()), ("UTF-16LE", zh));
        let be: Vec<u8> = zh.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let d = decode(&be);
        assert_eq!((d.encoding, d.text.as_str()), ("UTF-16BE", zh));
        // Big5 and GBK of the same text must not be taken for UTF-16.
        let (big5, _, _) = encoding_rs::BIG5.encode(zh);
        assert_ne!(decode(&big5).encoding, "UTF-16LE");
        let (gbk, _, _) = encoding_rs::GBK.encode(zh);
        assert_eq!(decode(&gbk).encoding, "gb18030");
        assert_ne!(decode(&big5).encoding, "UTF-16LE");
    }

    #[test]
    fn utf8_stays_utf8() {
        let d = decode(ZH.as_bytes());
        assert_eq!(d.encoding, "UTF-8");
        assert_eq!(d.text, ZH);
    }

    #[test]
    fn tidy_normalises_line_ends_and_form_feeds() {
        assert_eq!(tidy("a\r\nb\rc\u{c}d\0"), "a\nb\nc\nd");
    }
}
