//! Johab (KS X 1001 annex 3), the Korean encoding that spells every Hangul syllable out of its
//! jamo, which encoding_rs lacks. A Hangul code is 16 bits: a set top bit, then 5 bits each for
//! the initial consonant, the vowel and the final consonant, so syllables are computed, not
//! looked up. Symbols and hanja are KS X 1001's, two of its rows folded into each lead byte;
//! they are unfolded and looked up through encoding_rs's EUC-KR. What a code means follows
//! Python's `johab` codec, checked against it over every two-byte code.

use encoding_rs::EUC_KR;

/// A jamo position of a Hangul code: the fill code (no jamo there) or a jamo's index in
/// Unicode's order.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Fill,
    Jamo(u32),
}

fn initial(bits: u16) -> Option<Slot> {
    match bits {
        1 => Some(Slot::Fill),
        2..=20 => Some(Slot::Jamo(u32::from(bits - 2))),
        _ => None,
    }
}

/// Vowels skip the codes 8, 9, 16, 17, 24 and 25.
fn medial(bits: u16) -> Option<Slot> {
    let index = match bits {
        2 => return Some(Slot::Fill),
        3..=7 => bits - 3,
        10..=15 => bits - 5,
        18..=23 => bits - 7,
        26..=29 => bits - 9,
        _ => return None,
    };
    Some(Slot::Jamo(u32::from(index)))
}

/// Final consonants count from 1 (0 is "none" in Unicode's syllable arithmetic) and skip code 18.
fn final_consonant(bits: u16) -> Option<Slot> {
    let index = match bits {
        1 => return Some(Slot::Fill),
        2..=17 => bits - 1,
        19..=29 => bits - 2,
        _ => return None,
    };
    Some(Slot::Jamo(u32::from(index)))
}

/// The Hangul compatibility jamo (U+3131..) of the initials and of the finals, in Unicode's
/// order of each; a lone jamo decodes to these, as in KS X 1001.
const INITIAL_JAMO: &str = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ";
const FINAL_JAMO: &str = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ";

fn hangul(code: u16) -> Option<char> {
    let i = initial((code >> 10) & 0x1F)?;
    let m = medial((code >> 5) & 0x1F)?;
    let f = final_consonant(code & 0x1F)?;
    let nth = |jamo: &str, n: u32| jamo.chars().nth(n as usize);
    match (i, m, f) {
        (Slot::Jamo(i), Slot::Jamo(m), f) => {
            let f = if let Slot::Jamo(f) = f { f } else { 0 };
            char::from_u32(0xAC00 + (i * 21 + m) * 28 + f)
        }
        (Slot::Fill, Slot::Fill, Slot::Fill) => Some('\u{3000}'),
        (Slot::Jamo(i), Slot::Fill, Slot::Fill) => nth(INITIAL_JAMO, i),
        (Slot::Fill, Slot::Jamo(m), Slot::Fill) => char::from_u32(0x314F + m),
        (Slot::Fill, Slot::Fill, Slot::Jamo(f)) => nth(FINAL_JAMO, f - 1),
        _ => None,
    }
}

/// Lead bytes 0xD9..=0xDE hold KS X 1001 rows 0x21..=0x2C and 0xE0..=0xF9 the hanja rows
/// 0x4A..=0x7D, two rows each: trail bytes 0x31..=0x7E and 0x91..=0xFE run through both.
fn ks_x_1001(lead: u8, trail: u8) -> Option<char> {
    // KS X 1001's jamo row: Johab spells those in the Hangul area instead.
    if lead == 0xDA && (0xA1..=0xD3).contains(&trail) {
        return None;
    }
    let first_row = match lead {
        0xD9..=0xDE => 0x21 + 2 * (lead - 0xD9),
        0xE0..=0xF9 => 0x4A + 2 * (lead - 0xE0),
        _ => return None,
    };
    let cell = match trail {
        0x31..=0x7E => trail - 0x31,
        0x91..=0xFE => trail - 0x43,
        _ => return None,
    };
    let euc_kr = [(first_row + cell / 94) | 0x80, (0x21 + cell % 94) | 0x80];
    let text = EUC_KR.decode_without_bom_handling_and_without_replacement(&euc_kr)?;
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// The character of a two-byte Johab code.
fn pair(lead: u8, trail: u8) -> Option<char> {
    match lead {
        0x84..=0xD3 => hangul(u16::from_be_bytes([lead, trail])),
        _ => ks_x_1001(lead, trail),
    }
}

/// Decodes `bytes` as Johab; also returns how many sequences were not Johab (each read as
/// U+FFFD). Gives up (`None`) past `max_errors` of them.
pub(super) fn decode(bytes: &[u8], max_errors: usize) -> Option<(String, usize)> {
    let mut text = String::with_capacity(bytes.len() * 3 / 2);
    let (mut errors, mut i) = (0, 0);
    while i < bytes.len() {
        let lead = bytes[i];
        if lead.is_ascii() {
            text.push(char::from(lead));
            i += 1;
            continue;
        }
        match bytes.get(i + 1).and_then(|&trail| pair(lead, trail)) {
            Some(c) => {
                text.push(c);
                i += 2;
            }
            None => {
                errors += 1;
                if errors > max_errors {
                    return None;
                }
                text.push('\u{FFFD}');
                i += 1;
            }
        }
    }
    Some((text, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every two-byte code against Python's `johab` codec: the number of valid codes and an
    /// FNV-1a hash over each valid code's two bytes and its code point (four bytes, little
    /// endian), in byte order, as Python 3.11's codec gives them:
    ///
    /// ```python
    /// h, n = 0xcbf29ce484222325, 0
    /// for a in range(0x80, 0x100):
    ///     for b in range(0x100):
    ///         try: s = bytes([a, b]).decode("johab")
    ///         except UnicodeDecodeError: continue
    ///         n += 1
    ///         for x in bytes([a, b]) + ord(s).to_bytes(4, "little"):
    ///             h = ((h ^ x) * 0x100000001b3) & 0xffffffffffffffff
    /// ```
    #[test]
    fn whole_code_space_matches_pythons_codec() {
        let (mut hash, mut valid) = (0xcbf2_9ce4_8422_2325_u64, 0);
        for lead in 0x80..=0xFF_u8 {
            for trail in 0..=0xFF_u8 {
                let Some(c) = pair(lead, trail) else { continue };
                valid += 1;
                for b in [lead, trail].into_iter().chain((c as u32).to_le_bytes()) {
                    hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                }
            }
        }
        assert_eq!((valid, hash), (17065, 0xd5ec_62d3_a641_5646));
    }

    #[test]
    fn syllables_jamo_symbols_and_hanja() {
        // 한 (initial ㅎ, vowel ㅏ, final ㄴ), ㄳ alone, the fill code, ※ and 株 via KS X 1001.
        let bytes = b"\xd0\x65\x84\x44\x84\x41\xd9\x68\xf3\xbb A\xd8\x31";
        let (text, errors) = decode(bytes, 1).unwrap();
        assert_eq!((text.as_str(), errors), ("한ㄳ\u{3000}※株 A\u{FFFD}1", 1));
        assert!(decode(bytes, 0).is_none());
    }
}
