//! A second opinion on single-byte Cyrillic. Six code pages put the same letters at different
//! bytes; chardetng knows five of them (not IBM855) and often takes MacCyrillic, which shares
//! windows-1251's lower case, for windows-1251. Each candidate's reading is scored on how
//! Russian-like text behaves: lower case inside words, capitals only at a word's start or in
//! acronyms, no Cyrillic letter glued to a Latin one, common letters common, few symbols.

use encoding_rs::{
    Encoding, IBM866, ISO_8859_5, KOI8_R, KOI8_U, WINDOWS_1251, WINDOWS_1252, X_MAC_CYRILLIC,
};

use super::Decoded;

/// IBM855 (DOS Cyrillic), bytes 0x80..=0xFF; encoding_rs does not have it.
pub(super) const IBM855_HIGH: &str = "ђЂѓЃёЁєЄѕЅіІїЇјЈљЉњЊћЋќЌўЎџЏюЮъЪаАбБцЦдДеЕфФгГ«»░▒▓│┤хХиИ╣║╗╝йЙ┐└┴┬├─┼кК╚╔╩╦╠═╬¤лЛмМнНоОп┘┌█▄Пя▀ЯрРсСтТуУжЖвВьЬ№\u{AD}ыЫзЗшШэЭщЩчЧ§■\u{A0}";

/// The most frequent letters of Russian (and, nearly, Bulgarian and Ukrainian) text.
const FREQUENT: &str = "оеаинтсрвлкмдпу";

/// Letters of Serbian and Macedonian only: one of them in a Russian-looking text is more likely a
/// byte read in the wrong code page.
const RARE: &str = "ђѓѕјљњћќџЂЃЅЈЉЊЋЌЏ";

/// Bytes where KOI8-U has Ukrainian letters and KOI8-R box drawing.
const KOI8_U_ONLY: [u8; 10] = [0xA4, 0xA6, 0xA7, 0xAD, 0xAE, 0xB4, 0xB6, 0xB7, 0xBD, 0xBE];

/// Readings closer than this (per non-ASCII byte) leave the choice uncertain.
const CLOSE: f64 = 0.05;

/// When chardetng guessed a Cyrillic code page or windows-1252 (its fallback for what it does not
/// know), the best-scoring Cyrillic reading, if it reads as Cyrillic text; `None` keeps the guess.
pub(super) fn second_opinion(bytes: &[u8], guess: &'static Encoding) -> Option<Decoded> {
    let cyrillic_guess = [
        WINDOWS_1251,
        KOI8_R,
        KOI8_U,
        ISO_8859_5,
        IBM866,
        X_MAC_CYRILLIC,
    ]
    .contains(&guess);
    let non_ascii = bytes.iter().filter(|b| !b.is_ascii()).count();
    if (!cyrillic_guess && guess != WINDOWS_1252) || non_ascii < super::THIN_EVIDENCE {
        return None;
    }
    let candidates: Vec<(&'static str, [char; 128])> =
        [WINDOWS_1251, KOI8_R, ISO_8859_5, IBM866, X_MAC_CYRILLIC]
            .iter()
            .map(|&enc| (enc.name(), table_of(enc)))
            .chain(std::iter::once(("IBM855", ibm855())))
            .collect();
    let mut scored: Vec<(f64, &'static str, &[char; 128])> = candidates
        .iter()
        .map(|(name, table)| (score(bytes, table), *name, table))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (best, name, table) = scored[0];
    // From windows-1252, switch only to a reading that is clearly Cyrillic text.
    if !cyrillic_guess && best < 0.6 {
        return None;
    }
    // KOI8-U differs from KOI8-R only at the bytes of a few Ukrainian letters: it is KOI8-U
    // when those occur and chardetng said so.
    let name = if name == KOI8_R.name()
        && guess == KOI8_U
        && bytes.iter().any(|b| KOI8_U_ONLY.contains(b))
    {
        KOI8_U.name()
    } else {
        name
    };
    let mut decoded = Decoded {
        text: bytes
            .iter()
            .map(|&b| {
                if b < 0x80 {
                    char::from(b)
                } else {
                    table[usize::from(b - 0x80)]
                }
            })
            .collect(),
        encoding: name,
        had_errors: false,
        unsure: None,
    };
    if name == KOI8_U.name() {
        decoded.text = KOI8_U.decode_without_bom_handling(bytes).0.into_owned();
    }
    let (runner_up, other, _) = scored[1];
    if best - runner_up < CLOSE {
        decoded.unsure = Some(format!(
            "{other} reads almost as well as {name} (Cyrillic scores {best:.2} and {runner_up:.2})"
        ));
    }
    Some(decoded)
}

fn table_of(enc: &'static Encoding) -> [char; 128] {
    let mut table = ['\u{FFFD}'; 128];
    for (i, slot) in table.iter_mut().enumerate() {
        let byte = [0x80 + i as u8];
        let (text, _) = enc.decode_without_bom_handling(&byte);
        *slot = text.chars().next().unwrap_or('\u{FFFD}');
    }
    table
}

fn ibm855() -> [char; 128] {
    let mut table = ['\u{FFFD}'; 128];
    for (slot, c) in table.iter_mut().zip(IBM855_HIGH.chars()) {
        *slot = c;
    }
    table
}

fn is_cyrillic(c: char) -> bool {
    ('\u{400}'..='\u{4FF}').contains(&c)
}

/// Mean plausibility of the characters the non-ASCII bytes become (about -2..1.5).
fn score(bytes: &[u8], table: &[char; 128]) -> f64 {
    let ch = |b: u8| {
        if b < 0x80 {
            char::from(b)
        } else {
            table[usize::from(b - 0x80)]
        }
    };
    let (mut total, mut n) = (0.0, 0usize);
    for (i, &b) in bytes.iter().enumerate() {
        if b < 0x80 {
            continue;
        }
        n += 1;
        let c = ch(b);
        let prev = i.checked_sub(1).map(|j| ch(bytes[j]));
        let next = bytes.get(i + 1).map(|&b| ch(b));
        total += if is_cyrillic(c) && c.is_alphabetic() {
            let glued_to_latin = [prev, next]
                .iter()
                .flatten()
                .any(|p| p.is_ascii_alphabetic());
            let alone = [prev, next].iter().flatten().all(|p| !p.is_alphabetic());
            if glued_to_latin {
                -2.0
            } else if alone {
                // A one-letter word: common in Russian (в, и, с), but "€" read as "А" too.
                if c.is_lowercase() {
                    0.5
                } else {
                    0.0
                }
            } else if RARE.contains(c) {
                -0.5
            } else if c.is_lowercase() {
                if FREQUENT.contains(c) {
                    1.5
                } else {
                    1.0
                }
            } else if prev.is_none_or(|p| !p.is_alphabetic() || p.is_uppercase()) {
                1.0
            } else {
                -1.0
            }
        } else if matches!(
            c,
            '«' | '»'
                | '—'
                | '–'
                | '…'
                | '„'
                | '“'
                | '”'
                | '№'
                | '\u{A0}'
                | '°'
                | '’'
                | '‘'
        ) {
            0.0
        } else {
            -1.0
        };
    }
    if n == 0 {
        0.0
    } else {
        total / n as f64
    }
}
