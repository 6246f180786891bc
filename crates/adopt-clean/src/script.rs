//! Character classes shared by the CJK-aware operators (normalising, shingling, length counting).

/// Han ideographs, kana and Hangul: scripts written without spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'     // CJK Unified Ideographs
        | '\u{3400}'..='\u{4DBF}'   // Extension A
        | '\u{F900}'..='\u{FAFF}'   // Compatibility Ideographs
        | '\u{20000}'..='\u{3134F}' // Extensions B..G
        | '\u{3040}'..='\u{30FF}'   // Hiragana, Katakana
        | '\u{31F0}'..='\u{31FF}'
        | '\u{AC00}'..='\u{D7AF}'   // Hangul syllables
        | '\u{1100}'..='\u{11FF}'
        | '\u{3130}'..='\u{318F}')
}

/// CJK punctuation: the CJK Symbols block (。、「」〈〉) and the full-width forms of ASCII
/// punctuation (，！？：；（）) that NFKC would fold to ASCII.
pub fn is_cjk_punct(c: char) -> bool {
    matches!(c, '\u{3001}'..='\u{303F}' | '\u{FE30}'..='\u{FE4F}') || is_fullwidth_punct(c)
}

/// Full-width forms of ASCII punctuation (U+FF01..U+FF5E minus letters and digits) and the
/// half-width CJK punctuation block.
pub fn is_fullwidth_punct(c: char) -> bool {
    matches!(c,
        '\u{FF01}'..='\u{FF0F}'
        | '\u{FF1A}'..='\u{FF20}'
        | '\u{FF3B}'..='\u{FF40}'
        | '\u{FF5B}'..='\u{FF65}')
}

/// Visual width: CJK characters and full-width forms take two columns. Used to estimate how full a
/// PDF line is, whatever its script.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if is_cjk(c) || is_cjk_punct(c) || matches!(c, '\u{FF00}'..='\u{FFEF}') {
                2
            } else {
                1
            }
        })
        .sum()
}

/// One token of text: a CJK character, or a run of other letters/digits (a word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    Cjk(char),
    Word(&'a str),
}

/// Splits text into CJK characters and words; everything else (spaces, punctuation, symbols)
/// separates tokens. One CJK character carries roughly what one English word does, which is why
/// length thresholds and shingles count these tokens rather than bytes or chars.
pub fn tokens(text: &str) -> impl Iterator<Item = Token<'_>> {
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || loop {
        let (i, c) = rest.next()?;
        if is_cjk(c) {
            return Some(Token::Cjk(c));
        }
        if c.is_alphanumeric() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = rest.peek() {
                if d.is_alphanumeric() && !is_cjk(d) {
                    end = j + d.len_utf8();
                    rest.next();
                } else {
                    break;
                }
            }
            return Some(Token::Word(&text[i..end]));
        }
    })
}

/// Number of tokens (see [`tokens`]), and how many of them are CJK characters.
pub fn token_counts(text: &str) -> (usize, usize) {
    tokens(text).fold((0, 0), |(all, cjk), t| {
        (all + 1, cjk + usize::from(matches!(t, Token::Cjk(_))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_cjk_per_char_and_words_per_run() {
        let t: Vec<_> = tokens("使用Python 3.12开发，v2版").collect();
        assert_eq!(
            t,
            vec![
                Token::Cjk('使'),
                Token::Cjk('用'),
                Token::Word("Python"),
                Token::Word("3"),
                Token::Word("12"),
                Token::Cjk('开'),
                Token::Cjk('发'),
                Token::Word("v2"),
                Token::Cjk('版'),
            ]
        );
        assert_eq!(token_counts("中文 and English"), (4, 2));
        assert_eq!(display_width("中a，"), 5);
    }
}
