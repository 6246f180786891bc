//! Plain text in whatever encoding the department saved it: detected, never assumed.
//!
//! chardetng (Firefox's detector) makes the main guess. Around it: byte-order marks, UTF-16 and
//! UTF-32 without one, the 7-bit escape encodings (ISO-2022-JP/KR, HZ) that pass for ASCII, and
//! a second opinion on single-byte Cyrillic, which chardetng does not cover fully (no IBM855,
//! MacCyrillic often taken for windows-1251), and on EUC-TW and Johab, which it does not know.
//! When the evidence is thin the guess is flagged.

mod cyrillic;
mod euc_tw;
mod johab;

use std::sync::LazyLock;

use encoding_rs::{Encoding, BIG5, EUC_KR, GB18030, ISO_2022_JP, UTF_16BE, UTF_16LE, UTF_8};

/// Text decoded from bytes, with the encoding it was decoded from.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub text: String,
    /// Name of the encoding: WHATWG's ("UTF-8", "UTF-16LE", "gb18030", ...) or, for those the
    /// WHATWG set lacks, the IANA one ("UTF-32LE", "ISO-2022-KR", "HZ-GB-2312", "IBM855",
    /// "EUC-TW", "Johab").
    pub encoding: &'static str,
    /// True when the bytes had sequences invalid in that encoding (replaced by U+FFFD).
    pub had_errors: bool,
    /// Why the encoding is a guess that may be wrong, when it is one.
    pub unsure: Option<String>,
}

impl Decoded {
    /// The warnings a document decoded this way carries.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.had_errors {
            out.push(format!(
                "bytes invalid in {} were replaced with U+FFFD",
                self.encoding
            ));
        }
        if let Some(why) = &self.unsure {
            out.push(format!(
                "encoding {} is uncertain: {why}; check the text",
                self.encoding
            ));
        }
        out
    }
}

/// Fewer non-ASCII bytes than this leave a legacy-encoding guess on thin evidence.
const THIN_EVIDENCE: usize = 16;

/// The 300 most frequent Chinese characters of the CMRC 2018 passages. They make up about half
/// of the Han characters of any real Chinese text; bytes of another encoding read as GB18030
/// come out as rare characters (EUC-TW, which has the same byte shape as GB2312: about 6%).
const COMMON_HANZI: &str = "的年在为一中是国于有大人月后以成时长和学生日上名个与出地及部了不会公西作之分任被用由其子主赛家区可他南加至行第位到来本自高米发而下海多方斯球尔北开物山经台三里代市并军得东称内队世路也面入场现亚种对等天同约新道员所最当前建此这间文政院小形次或王理式特合战法美要体制者动线因业电教平十元过事二克金首两立数期都利港能司委但外目科化将使广民马基系机花定龙德度四罗香原英水起总全比女书常州表华力车运直士联组性重共巴色省心剧工正从进安城就设视江布阿湾如达该兰拉语无果县林状类界关处标叶列们通近号治曾职她统保包太明属府纪参游洲黄单品尼选武演计身岛谷毛室别结程著京交播条量改节皇意口校则产格务实居相塞河然食只始先应提";

/// The Traditional forms of those of `COMMON_HANZI` that have another one (OpenCC's s2t and
/// Taiwan variants, character by character), so that Traditional text counts as common too.
const COMMON_TRADITIONAL: &str = "為國於後時長學個與會賽區來發爾開經臺裡並軍東稱內隊場現亞種對約員當這間戰體動線業電過兩數將廣馬機龍羅總書華車運聯組劇從進設視灣達該蘭語無縣狀類關處標葉們號職統屬紀參遊黃單選計島別結條節則產務實應";

/// Frequent Hangul syllables of Korean prose (particles, verb endings, Sino-Korean roots); bytes
/// of another encoding read as Johab or EUC-KR come out as syllables spread over all 11,172.
const COMMON_HANGUL: &str = "이다의는에하고을가지기서리로한사자도어대인일아해나시수구정들있으라과전주국적를게여세상부만장원보니면거소계제성동경우공요비화무그었것문위생연내중관미마오발학까데조신실선개등방모영물행분습때없할된년월러와께했되날말안않드려금업용회통결당산식음민점명번호후야저또더두군각간반외바너본치진심출단님운교유현합작법체표활재입특강은차최받같알히";

/// Fewer Chinese or Korean characters than this in an EUC-TW or Johab reading are too few to
/// prefer it to chardetng's guess.
const MIN_UNLISTED: usize = 8;

/// An EUC-TW or Johab reading may have one error per this many non-ASCII bytes.
const UNLISTED_ERROR_RATE: usize = 512;

/// Below this share of common characters (over at least `MIN_HAN` Han characters) a Chinese
/// reading is flagged.
const MIN_COMMON_SHARE: f64 = 0.2;
const MIN_HAN: usize = 30;

/// Detects the encoding of `bytes` and decodes them.
///
/// Order: a byte-order mark (UTF-32's before UTF-16's, which it starts with); UTF-32 and UTF-16
/// without a BOM (recognised by their NUL bytes, which no 8-bit encoding of text has); the 7-bit
/// escape encodings, which are valid ASCII; valid UTF-8; otherwise chardetng's guess, with
/// single-byte Cyrillic checked against every Cyrillic code page and EUC-TW and Johab, which
/// chardetng does not know, tried beside it. GBK and GB2312 are decoded as GB18030, their
/// superset, so no character of a GBK file is lost.
pub fn decode(bytes: &[u8]) -> Decoded {
    if let Some(d) = utf32(bytes) {
        return d;
    }
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return finish(enc, &bytes[bom_len..]);
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        return finish(enc, bytes);
    }
    if let Some(d) = seven_bit_escapes(bytes) {
        return d;
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
    let mut decoded = match cyrillic::second_opinion(bytes, enc) {
        Some(d) => d,
        None => finish(enc, bytes),
    };
    if let Some(d) = unlisted_cjk(bytes, &decoded) {
        decoded = d;
    }
    let non_ascii = bytes.iter().filter(|b| !b.is_ascii()).count();
    if decoded.unsure.is_none() && non_ascii < THIN_EVIDENCE {
        decoded.unsure = Some(format!(
            "guessed from only {non_ascii} non-ASCII byte{}",
            if non_ascii == 1 { "" } else { "s" }
        ));
    }
    if decoded.unsure.is_none() && [GB18030.name(), BIG5.name()].contains(&decoded.encoding) {
        decoded.unsure = rare_hanzi(&decoded.text);
    }
    decoded
}

/// Why a Chinese reading looks wrong: too few of its Han characters are common ones.
fn rare_hanzi(text: &str) -> Option<String> {
    let (han, share) = commonness(text);
    if han < MIN_HAN {
        return None;
    }
    (share < MIN_COMMON_SHARE).then(|| {
        format!(
            "only {:.0}% of its Chinese characters are common ones (real text: about half); \
             it may be in another encoding",
            100.0 * share
        )
    })
}

/// How many Han characters and Hangul syllables `text` has, and what share of them are common
/// ones (0 when it has none).
fn commonness(text: &str) -> (usize, f64) {
    // Sorted once, so that a large file costs a binary search per character.
    static COMMON: LazyLock<Vec<char>> = LazyLock::new(|| {
        let mut common: Vec<char> = [COMMON_HANZI, COMMON_TRADITIONAL, COMMON_HANGUL]
            .concat()
            .chars()
            .collect();
        common.sort_unstable();
        common.dedup();
        common
    });
    let (mut counted, mut common) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            // Han (the basic block, extension A, the supplementary planes) and Hangul syllables.
            '\u{4E00}'..='\u{9FFF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{20000}'..='\u{3FFFF}'
            | '\u{AC00}'..='\u{D7A3}' => {
                counted += 1;
                common += usize::from(COMMON.binary_search(&c).is_ok());
            }
            _ => {}
        }
    }
    let share = if counted == 0 {
        0.0
    } else {
        common as f64 / counted as f64
    };
    (counted, share)
}

/// EUC-TW and Johab, which chardetng does not know and takes for GBK, Big5 or EUC-KR. Their
/// byte ranges have gaps where those encodings have common characters (the rows of GB2312's
/// and Big5's most frequent hanzi and EUC-KR's Hangul are empty in CNS 11643 plane 1; a
/// quarter of EUC-KR's syllables are not Johab codes), so real text in those rarely decodes in
/// either without an error every few characters. A reading with at most one error per
/// `UNLISTED_ERROR_RATE` non-ASCII bytes (room for a damaged byte in a long file, none in a
/// short one) whose characters are common ones, more of them than in the guess's reading, is
/// taken. Four-byte EUC-TW sequences that decode are evidence enough without the floor on
/// common characters: lists of names and places are rare characters in any encoding.
fn unlisted_cjk(bytes: &[u8], guess: &Decoded) -> Option<Decoded> {
    let max_errors = bytes.iter().filter(|b| !b.is_ascii()).count() / UNLISTED_ERROR_RATE;
    let tw = euc_tw::decode(bytes, max_errors)
        .map(|r| (r.text, r.errors, "EUC-TW", r.beyond_plane_1 > 0));
    let ko = johab::decode(bytes, max_errors).map(|(text, errors)| (text, errors, "Johab", false));
    if tw.is_none() && ko.is_none() {
        return None;
    }
    let guess_share = match commonness(&guess.text) {
        (n, share) if n > 0 && !guess.had_errors => share,
        _ => 0.0,
    };
    let mut best: Option<(f64, usize, &'static str, String, usize)> = None;
    for (text, errors, name, strong) in [tw, ko].into_iter().flatten() {
        let (n, share) = commonness(&text);
        let plausible = share >= MIN_COMMON_SHARE || strong;
        if n >= MIN_UNLISTED
            && plausible
            && share > guess_share
            && best.as_ref().is_none_or(|b| share > b.0)
        {
            best = Some((share, n, name, text, errors));
        }
    }
    let (share, n, name, text, errors) = best?;
    let mut d = decoded(text, name, errors > 0);
    if n < MIN_HAN {
        d.unsure = Some(format!(
            "{name} was preferred to {} on only {n} characters",
            guess.encoding
        ));
    } else if share - guess_share < 0.1 {
        d.unsure = Some(format!(
            "{} reads almost as well as {name} ({:.0}% and {:.0}% common characters)",
            guess.encoding,
            100.0 * guess_share,
            100.0 * share
        ));
    }
    Some(d)
}

fn finish(enc: &'static Encoding, bytes: &[u8]) -> Decoded {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: enc.name(),
        had_errors,
        unsure: None,
    }
}

fn decoded(text: String, encoding: &'static str, had_errors: bool) -> Decoded {
    Decoded {
        text,
        encoding,
        had_errors,
        unsure: None,
    }
}

/// UTF-32, with a BOM or without: every four bytes one code point, so with text of any script
/// one byte in four (the top one) is always NUL and the next is at most 0x10, which no other
/// encoding of text produces.
fn utf32(bytes: &[u8]) -> Option<Decoded> {
    let (le, body) = match bytes {
        [0xFF, 0xFE, 0, 0, rest @ ..] => (true, rest),
        [0, 0, 0xFE, 0xFF, rest @ ..] => (false, rest),
        _ if bytes.len() >= 8 && bytes.len().is_multiple_of(4) => {
            let sample = &bytes[..bytes.len().min(4096) & !3];
            let plausible = |le: bool| {
                sample.chunks_exact(4).all(|u| {
                    let (top, high) = if le { (u[3], u[2]) } else { (u[0], u[1]) };
                    top == 0 && high <= 0x10
                }) && sample.iter().any(|&b| b != 0)
            };
            if plausible(true) {
                (true, bytes)
            } else if plausible(false) {
                (false, bytes)
            } else {
                return None;
            }
        }
        _ => return None,
    };
    let mut had_errors = !body.len().is_multiple_of(4);
    let text = body
        .chunks_exact(4)
        .map(|u| {
            let unit = if le {
                u32::from_le_bytes([u[0], u[1], u[2], u[3]])
            } else {
                u32::from_be_bytes([u[0], u[1], u[2], u[3]])
            };
            char::from_u32(unit).unwrap_or_else(|| {
                had_errors = true;
                '\u{FFFD}'
            })
        })
        .collect();
    Some(decoded(
        text,
        if le { "UTF-32LE" } else { "UTF-32BE" },
        had_errors,
    ))
}

/// ISO-2022-JP, ISO-2022-KR and HZ-GB-2312 are 7-bit: valid ASCII, and so valid UTF-8, that
/// switches character sets with escape sequences. Taken for UTF-8 they come out as escapes and
/// Latin letters.
fn seven_bit_escapes(bytes: &[u8]) -> Option<Decoded> {
    if !bytes.is_ascii() {
        return None;
    }
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    if has(b"\x1b$)C") && bytes.contains(&0x0E) {
        return Some(iso_2022_kr(bytes));
    }
    if [&b"\x1b$B"[..], b"\x1b$@", b"\x1b$(D", b"\x1b(J", b"\x1b(I"]
        .iter()
        .any(|e| has(e))
    {
        let (text, had_errors) = ISO_2022_JP.decode_without_bom_handling(bytes);
        return Some(decoded(text.into_owned(), ISO_2022_JP.name(), had_errors));
    }
    if has(b"~{") && has(b"~}") {
        let d = hz(bytes);
        // "~{" also occurs in ASCII text; trust HZ only if its runs decode cleanly.
        if !d.had_errors {
            return Some(d);
        }
    }
    None
}

/// ISO-2022-KR (RFC 1557): after the `ESC $ ) C` designation, SO switches to KS X 1001 (pairs
/// of 0x21..0x7E bytes, EUC-KR with the high bits cleared) and SI back to ASCII.
fn iso_2022_kr(bytes: &[u8]) -> Decoded {
    let mut out = String::with_capacity(bytes.len());
    let (mut had_errors, mut shifted, mut i) = (false, false, 0);
    while i < bytes.len() {
        match bytes[i] {
            0x1B if bytes[i..].starts_with(b"\x1b$)C") => i += 4,
            0x0E => {
                shifted = true;
                i += 1;
            }
            0x0F => {
                shifted = false;
                i += 1;
            }
            b'\n' | b'\r' => {
                // A line end resets the shift state (RFC 1557).
                shifted = false;
                out.push(char::from(bytes[i]));
                i += 1;
            }
            b if shifted && (0x21..=0x7E).contains(&b) && i + 1 < bytes.len() => {
                let pair = [b | 0x80, bytes[i + 1] | 0x80];
                let (s, errors) = EUC_KR.decode_without_bom_handling(&pair);
                had_errors |= errors;
                out.push_str(&s);
                i += 2;
            }
            b => {
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    decoded(out, "ISO-2022-KR", had_errors)
}

/// HZ (RFC 1843): GB2312 pairs with the high bits cleared between `~{` and `~}`; `~~` is a
/// tilde and `~` before a line end continues the line.
fn hz(bytes: &[u8]) -> Decoded {
    let mut out = String::with_capacity(bytes.len());
    let (mut had_errors, mut gb, mut i) = (false, false, 0);
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied()) {
            (b'~', Some(b'{')) if !gb => (gb, i) = (true, i + 2),
            (b'~', Some(b'}')) if gb => (gb, i) = (false, i + 2),
            (b'~', Some(b'~')) if !gb => {
                out.push('~');
                i += 2;
            }
            (b'~', Some(b'\n')) if !gb => i += 2,
            (b, _) if b == b'\n' || b == b'\r' => {
                gb = false;
                out.push(char::from(b));
                i += 1;
            }
            (a, Some(b)) if gb => {
                let pair = [a | 0x80, b | 0x80];
                let (s, errors) = GB18030.decode_without_bom_handling(&pair);
                had_errors |= errors || !(0x21..=0x7E).contains(&a);
                out.push_str(&s);
                i += 2;
            }
            (b, _) => {
                had_errors |= gb;
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    decoded(out, "HZ-GB-2312", had_errors)
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

    const RU: &str = "Кредитный комитет банка рассмотрел заявку клиента и одобрил лимит \
                      в пятьсот тысяч рублей. Решение подписал Председатель Правления.";

    fn assert_decodes(bytes: &[u8], encoding: &str, text: &str) {
        let d = decode(bytes);
        assert_eq!((d.encoding, d.text.as_str()), (encoding, text));
        assert!(!d.had_errors && d.unsure.is_none(), "{:?}", d.warnings());
    }

    #[test]
    fn chinese_legacy_encodings() {
        let long = format!("{ZH}本行对公贷款业务实行统一授信管理，分支机构不得越权审批。");
        let (gb18030, _, _) = GB18030.encode(&long);
        assert_decodes(&gb18030, "gb18030", &long);
        // A character outside GBK: GB18030's four-byte form.
        let rare = format!("{long}𠀀");
        let (gb18030, _, _) = GB18030.encode(&rare);
        assert_decodes(&gb18030, "gb18030", &rare);
        let big5_text =
            "風險評估報告：客戶信用等級為甲，授信額度五十萬元。本行對公貸款業務實行統一授信管理。";
        let (big5, _, _) = BIG5.encode(big5_text);
        assert_decodes(&big5, "Big5", big5_text);
    }

    #[test]
    fn seven_bit_escape_encodings_are_not_taken_for_ascii() {
        let ja = "与信審査の結果、融資枠を五千万円に設定しました。";
        let (jis, _, _) = ISO_2022_JP.encode(ja);
        assert!(jis.is_ascii());
        assert_decodes(&jis, "ISO-2022-JP", ja);

        // ISO-2022-KR: the designation once, then EUC-KR with the high bits cleared between
        // SO and SI.
        let ko = "신용 한도";
        let mut kr = b"\x1b$)C".to_vec();
        for word in ko.split(' ') {
            let (euc, _, _) = EUC_KR.encode(word);
            kr.push(0x0E);
            kr.extend(euc.iter().map(|b| b & 0x7F));
            kr.push(0x0F);
            kr.push(b' ');
        }
        kr.pop();
        assert_decodes(&kr, "ISO-2022-KR", ko);

        let (gb, _, _) = GB18030.encode("授信额度");
        let mut hz = b"limit ~{".to_vec();
        hz.extend(gb.iter().map(|b| b & 0x7F));
        hz.extend(b"~} ok ~~");
        let d = decode(&hz);
        assert_eq!(
            (d.encoding, d.text.as_str()),
            ("HZ-GB-2312", "limit 授信额度 ok ~")
        );
    }

    #[test]
    fn plain_ascii_is_utf8_without_doubt() {
        for ascii in [
            "Quarterly report\r\nTotal: 1,234.50 USD\r\n",
            "perl -e 'print ~{a => 1}' # not HZ: braces in code ~}",
            "short",
        ] {
            assert_decodes(ascii.as_bytes(), "UTF-8", ascii);
        }
    }

    #[test]
    fn utf32_with_and_without_bom() {
        let text = format!("{ZH} limit 500 𠀀");
        let le: Vec<u8> = text
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        assert_decodes(&le, "UTF-32LE", &text);
        let mut be = vec![0, 0, 0xFE, 0xFF];
        be.extend(text.chars().flat_map(|c| (c as u32).to_be_bytes()));
        assert_decodes(&be, "UTF-32BE", &text);
        let mut le_bom = vec![0xFF, 0xFE, 0, 0];
        le_bom.extend(&le);
        assert_decodes(&le_bom, "UTF-32LE", &text);
    }

    #[test]
    fn every_cyrillic_code_page_is_told_apart() {
        // IBM855 is not in encoding_rs: encode through the table the decoder uses.
        let ibm855: Vec<u8> = RU
            .chars()
            .map(|c| match u8::try_from(c) {
                Ok(b) if b.is_ascii() => b,
                _ => 0x80 + cyrillic::IBM855_HIGH.chars().position(|h| h == c).unwrap() as u8,
            })
            .collect();
        assert_decodes(&ibm855, "IBM855", RU);
        for enc in [
            encoding_rs::WINDOWS_1251,
            encoding_rs::KOI8_R,
            encoding_rs::ISO_8859_5,
            encoding_rs::IBM866,
            encoding_rs::X_MAC_CYRILLIC,
        ] {
            let (bytes, _, unmappable) = enc.encode(RU);
            assert!(!unmappable);
            assert_decodes(&bytes, enc.name(), RU);
        }
        // Latin text stays Latin, euro signs (0x80, a capital in some Cyrillic pages) too.
        let prices = "Total 100 €, fee 5 €, tax 20 €; ".repeat(8);
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode(&prices);
        assert_eq!(decode(&latin).encoding, "windows-1252");
        let fr = "Le comité de crédit a approuvé la demande; la décision a été signée à Genève.";
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode(fr);
        let d = decode(&latin);
        assert_eq!((d.encoding, d.text.as_str()), ("windows-1252", fr));
    }

    #[test]
    fn doubtful_guesses_say_so() {
        let (one_byte, _, _) = encoding_rs::WINDOWS_1252.encode("Total: 100 €");
        let d = decode(&one_byte);
        assert_eq!(
            d.unsure.as_deref(),
            Some("guessed from only 1 non-ASCII byte")
        );
        assert!(
            d.warnings()[0].contains("is uncertain"),
            "{:?}",
            d.warnings()
        );
        // Real Chinese has common characters; another encoding read as GB18030 has few.
        assert!(rare_hanzi(&ZH.repeat(3)).is_none());
        let junk = "昴僮乃台席杲纣页鲳怩挪亩稀凭掷似芨末阵绎埏填散掼馅淠晡喷筒搜牟抹盘沤摹暖淖";
        assert!(rare_hanzi(junk).unwrap().contains("another encoding"));
    }

    /// Text files under `text/fixtures`: `NAME.utf-8.txt` and the same text in another
    /// encoding, written by glibc's iconv (EUC-TW) or Python's codec (Johab). The Chinese ones
    /// are CMRC 2018 trial passages (shared/corpus) in Taiwan's script, converted with OpenCC's
    /// s2t and Taiwan-variant dictionaries; TRIAL_794 has plane-2 characters, TRIAL_97 plane 3.
    fn fixture(name: &str, encoding: &str) -> (Vec<u8>, String) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/readers/text/fixtures");
        let read = |ext: &str| std::fs::read(format!("{dir}/{name}.{ext}.txt")).unwrap();
        (read(encoding), String::from_utf8(read("utf-8")).unwrap())
    }

    #[test]
    fn euc_tw_is_told_from_gb2312_and_big5() {
        for (name, in_big5) in [
            ("cmrc2018_trial_794_tw", true),
            ("cmrc2018_trial_97_tw", false),
        ] {
            let (bytes, text) = fixture(name, "euc-tw");
            assert_decodes(&bytes, "EUC-TW", &text);
            // The same text in Big5 (where Big5 has all its characters) and GBK stays there.
            if in_big5 {
                let (big5, _, unmappable) = BIG5.encode(&text);
                assert!(!unmappable);
                assert_decodes(&big5, "Big5", &text);
            }
            let (gbk, _, _) = encoding_rs::GBK.encode(&text);
            assert!(!["EUC-TW", "Johab"].contains(&decode(&gbk).encoding));
        }
        // A damaged byte leaves the rest readable, and is reported.
        let (mut bytes, text) = fixture("cmrc2018_trial_794_tw", "euc-tw");
        bytes[1] = b'?';
        let d = decode(&bytes);
        let rest: String = text.chars().skip(1).collect();
        assert_eq!((d.encoding, d.text), ("EUC-TW", format!("\u{FFFD}?{rest}")));
        assert!(d.had_errors);
        // Business prose, too short for a plane-2 character.
        let short =
            "風險評估報告：客戶信用等級為甲，授信額度五十萬元。本行對公貸款業務實行統一授信管理。";
        let euc_tw = b"\xd3\xf8\xf2\xf2\xe2\xa3\xc8\xf5\xde\xde\xc9\xcb\xa1\xa8\xd0\xea\xc5\xc2\xcf\xea\xc6\xee\xe1\xab\xd7\xc8\xd2\xb3\xc6\xf2\xa1\xa2\xda\xe6\xcf\xea\xf7\xec\xd0\xf9\xc4\xec\xc4\xb2\xe5\xdc\xc4\xf7\xa1\xa4\xc6\xdb\xc8\xe7\xe8\xd7\xc4\xfc\xe2\xbc\xe0\xa1\xe4\xc6\xd9\xad\xe8\xd2\xc8\xe7\xdc\xd3\xc4\xa1\xda\xe6\xcf\xea\xea\xa7\xdc\xa1\xa1\xa4";
        assert_decodes(euc_tw, "EUC-TW", short);
        // Four characters decode, but are too few to overrule chardetng.
        assert_ne!(
            decode(b"\xda\xe6\xcf\xea\xf7\xec\xd0\xf9").encoding,
            "EUC-TW"
        );
    }

    #[test]
    fn johab_is_told_from_euc_kr() {
        let (bytes, text) = fixture("credit_committee_ko", "johab");
        assert_decodes(&bytes, "Johab", &text);
        let (euc_kr, _, unmappable) = EUC_KR.encode(&text);
        assert!(!unmappable);
        assert_decodes(&euc_kr, "EUC-KR", &text);
    }

    /// Every CMRC 2018 trial passage, in GB18030 and in GBK, is still read as GB18030: neither
    /// EUC-TW nor Johab takes a real Simplified Chinese text.
    #[test]
    fn cmrc_passages_in_gbk_stay_gbk() {
        let corpus = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/zh/cmrc2018_trial.json"
        );
        let passages: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(corpus).unwrap()).unwrap();
        assert!(passages.len() > 200);
        for p in &passages {
            let text = p["context_text"].as_str().unwrap();
            let (gb18030, _, _) = GB18030.encode(text);
            assert_decodes(&gb18030, "gb18030", text);
            let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
            if !unmappable {
                assert_eq!(decode(&gbk).text, text, "{}", p["context_id"]);
            }
        }
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
