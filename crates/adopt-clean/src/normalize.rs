//! Text normalisation: Unicode NFKC with CJK punctuation kept in CJK context, invisible and
//! control characters, whitespace, lines broken by PDF extraction, and running headers, footers
//! and page numbers repeated across pages.
//!
//! Full-width policy: full-width letters and digits always become ASCII (`ＡＢＣ１２３` ->
//! `ABC123`), as NFKC does. Full-width punctuation (`，：；（）！？`) and `…` stay full-width when
//! the nearest non-space character on either side is CJK, because that is correct Chinese
//! typesetting and what models see in Chinese training text; elsewhere they fold to ASCII
//! (`Hello！` -> `Hello!`). Circled numbers (`①`) are kept: NFKC would turn list markers into
//! plain digits that run into the text. The ideographic space (U+3000) becomes an ASCII space;
//! leading ones still mark a paragraph indent when broken lines are re-joined.

use std::collections::{HashMap, HashSet};

use adopt_core::{Format, UNIT_SEPARATOR};
use regex::Regex;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::operator::{DocOperator, Outcome};
use crate::script::{display_width, is_cjk, is_fullwidth_punct, token_counts};
use crate::CleanedDocument;

/// Settings of the normaliser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct NormalizeConfig {
    /// Run the normaliser at all.
    pub enabled: bool,
    /// Apply Unicode NFKC: full-width letters and digits to ASCII, ligatures and other
    /// compatibility forms to their plain equivalents.
    pub nfkc: bool,
    /// With `nfkc`, keep full-width punctuation (，：（）！？) and … next to CJK text instead of
    /// folding it to ASCII.
    pub keep_cjk_punctuation: bool,
    /// Remove control characters and invisible format characters (zero-width spaces, BOM, soft
    /// hyphens, bidi controls); line breaks become `\n`.
    pub remove_control: bool,
    /// Trim line ends and keep at most one blank line in a row; in page formats also trim line
    /// starts and collapse runs of spaces (other formats keep indentation, which can be meaningful
    /// in Markdown or tables).
    pub collapse_whitespace: bool,
    /// Re-join lines that PDF extraction broke inside a paragraph (page formats only).
    pub rejoin_lines: bool,
    /// Remove the spaces some extractors put between every two CJK characters ("中 文 本" ->
    /// "中文本"), on lines where most CJK neighbours are spaced (page formats only).
    pub remove_cjk_spaces: bool,
    /// Remove running headers, footers and page numbers repeated across pages (page formats only).
    pub strip_headers_footers: bool,
    /// Formats whose units are pages of running text, where line re-joining and header/footer
    /// stripping apply.
    pub page_formats: Vec<Format>,
    /// A line near the top or bottom of a page is a running header/footer when the same line
    /// (digits ignored) is near the top or bottom of at least this share of the pages.
    pub header_footer_min_share: f64,
    /// How many non-blank lines at the top and at the bottom of each page are candidates.
    pub header_footer_lines: usize,
    /// Repeated-line detection needs at least this many pages (page-number lines such as
    /// "第 3 页" or "Page 3 of 10" are removed from two pages up).
    pub header_footer_min_pages: usize,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            enabled: true,
            nfkc: true,
            keep_cjk_punctuation: true,
            remove_control: true,
            collapse_whitespace: true,
            rejoin_lines: true,
            remove_cjk_spaces: true,
            strip_headers_footers: true,
            page_formats: vec![Format::Pdf],
            header_footer_min_share: 0.6,
            header_footer_lines: 2,
            header_footer_min_pages: 3,
        }
    }
}

impl NormalizeConfig {
    pub(crate) fn validate(&self, errors: &mut Vec<String>) {
        if !(0.0..=1.0).contains(&self.header_footer_min_share) {
            errors.push(format!(
                "normalize.header-footer-min-share must be within 0..=1, got {}",
                self.header_footer_min_share
            ));
        }
    }
}

/// The normalising operator.
pub struct Normalizer {
    config: NormalizeConfig,
    page_number: Regex,
    list_start: Regex,
}

/// What normalising one document did, beyond the new text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NormalizeStats {
    pub header_footer_lines_removed: u64,
    pub lines_joined: u64,
    pub invisible_chars_removed: u64,
}

impl Normalizer {
    pub fn new(config: NormalizeConfig) -> Self {
        // Page-number lines, matched against an NFKC'd, trimmed line.
        let page_number = Regex::new(
            r"(?xi)^(?:
                第\s*[0-9一二三四五六七八九十百零〇]+\s*页(?:\s*[,，/]?\s*共\s*[0-9一二三四五六七八九十百零〇]+\s*页)?
              | 共\s*\d+\s*页\s*[,，]?\s*第\s*\d+\s*页
              | (?:page|p\.|pg\.?)\s*\d+(?:\s*(?:of|/)\s*\d+)?
              | [-–—~]\s*\d+\s*[-–—~]
              | \d+\s*/\s*\d+
              | \d{1,4}
            )$",
        )
        .expect("static regex");
        // Lines that start a new block even without a blank line or indent: headings and list items.
        let list_start = Regex::new(
            r"^(?:第[0-9一二三四五六七八九十百零〇]+[章节条款部分编篇]|[一二三四五六七八九十]+[、.．]|[(（][0-9一二三四五六七八九十]+[)）]|\d+(?:\.\d+)*[、.)．]\s*\S|[•·●○■□◆▪\-*]\s|[①-⑳])",
        )
        .expect("static regex");
        Normalizer {
            config,
            page_number,
            list_start,
        }
    }

    /// Normalises a document's text (units separated by [`UNIT_SEPARATOR`]).
    pub fn normalize(&self, text: &str, format: Format) -> (String, NormalizeStats) {
        let cfg = &self.config;
        let mut stats = NormalizeStats::default();
        let is_page_format = cfg.page_formats.contains(&format);

        let mut units: Vec<String> = text
            .split(UNIT_SEPARATOR)
            .map(|u| {
                if cfg.remove_control {
                    let (clean, removed) = remove_invisible(u);
                    stats.invisible_chars_removed += removed;
                    clean
                } else {
                    u.to_string()
                }
            })
            .collect();

        if is_page_format && cfg.strip_headers_footers && units.len() >= 2 {
            stats.header_footer_lines_removed = self.strip_headers_footers(&mut units);
        }

        for unit in &mut units {
            if cfg.nfkc {
                *unit = nfkc_cjk_aware(unit, cfg.keep_cjk_punctuation);
            }
            if is_page_format && cfg.remove_cjk_spaces {
                *unit = unit
                    .lines()
                    .map(remove_cjk_spaces)
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            if is_page_format && cfg.rejoin_lines {
                let (joined, n) = self.rejoin_lines(unit);
                *unit = joined;
                stats.lines_joined += n;
            }
            if cfg.collapse_whitespace {
                *unit = collapse_whitespace(unit, is_page_format);
            }
        }
        (units.join(&UNIT_SEPARATOR.to_string()), stats)
    }

    /// Removes page-number lines and lines repeated near the top or bottom of most pages.
    /// Returns how many lines were removed.
    fn strip_headers_footers(&self, units: &mut [String]) -> u64 {
        let k = self.config.header_footer_lines;
        if k == 0 {
            return 0;
        }
        let pages: Vec<Vec<&str>> = units.iter().map(|u| u.lines().collect()).collect();
        // Candidate positions: the first and last k non-blank lines of every page.
        let candidates: Vec<Vec<usize>> = pages
            .iter()
            .map(|lines| {
                let non_blank: Vec<usize> = (0..lines.len())
                    .filter(|&i| !lines[i].trim().is_empty())
                    .collect();
                let mut c: Vec<usize> = non_blank.iter().take(k).copied().collect();
                c.extend(non_blank.iter().rev().take(k).copied());
                c.sort_unstable();
                c.dedup();
                c
            })
            .collect();

        let mut repeated: HashSet<String> = HashSet::new();
        if pages.len() >= self.config.header_footer_min_pages.max(2) {
            let mut pages_with: HashMap<String, usize> = HashMap::new();
            for (lines, cand) in pages.iter().zip(&candidates) {
                let keys: HashSet<String> = cand.iter().map(|&i| header_key(lines[i])).collect();
                for key in keys.into_iter().filter(|k| !k.is_empty()) {
                    *pages_with.entry(key).or_default() += 1;
                }
            }
            let need =
                ((self.config.header_footer_min_share * pages.len() as f64).ceil() as usize).max(2);
            repeated = pages_with
                .into_iter()
                .filter(|(_, n)| *n >= need)
                .map(|(key, _)| key)
                .collect();
        }

        let mut removed = 0;
        let new_units: Vec<String> = pages
            .iter()
            .zip(&candidates)
            .map(|(lines, cand)| {
                let drop: HashSet<usize> = cand
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let line: String = lines[i].trim().nfkc().collect();
                        self.page_number.is_match(line.trim())
                            || repeated.contains(&header_key(lines[i]))
                    })
                    .collect();
                removed += drop.len() as u64;
                lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !drop.contains(i))
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
        for (unit, new) in units.iter_mut().zip(new_units) {
            *unit = new;
        }
        removed
    }

    /// Joins lines that belong to one paragraph. Returns the text and how many breaks were joined.
    fn rejoin_lines(&self, unit: &str) -> (String, u64) {
        let lines: Vec<&str> = unit.lines().collect();
        let non_blank: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if non_blank.len() < 2 {
            return (unit.to_string(), 0);
        }
        // A "full" line reaches the right margin; the margin is estimated from the longer lines
        // of the page (the 80th percentile of widths, so one over-long line does not set it).
        let mut widths: Vec<usize> = non_blank.iter().map(|l| display_width(l.trim())).collect();
        widths.sort_unstable();
        // The floor keeps pages of only short lines (lists, tables, a few words) from being read
        // as narrow wrapped columns: 32 columns is 16 CJK characters, narrower than real text.
        let full_width = widths[(widths.len() * 4 / 5).min(widths.len() - 1)].max(32) as f64;
        let min_indent = non_blank.iter().map(|l| indent_of(l)).min().unwrap_or(0);
        // Chinese and Japanese typesetting breaks lines anywhere, inside numbers and Latin words
        // too, so in CJK text every break is joined without a space.
        let (tokens, cjk) = token_counts(unit);
        let cjk_text = tokens > 0 && 2 * cjk >= tokens;

        let mut out: Vec<String> = Vec::with_capacity(lines.len());
        let mut joined = 0;
        let mut prev: Option<&str> = None;
        for line in lines {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                out.push(String::new());
                prev = None;
                continue;
            }
            let continues = prev.is_some_and(|p| {
                if is_table_row(p) || is_table_row(trimmed) {
                    return false;
                }
                let indented = indent_of(line) >= min_indent + 2;
                let p_width = display_width(p) as f64;
                let ends_sentence = ends_with_terminal(p);
                !(indented
                    || self.list_start.is_match(trimmed)
                    || (ends_sentence && p_width < 0.85 * full_width)
                    || (!ends_sentence && p_width < 0.5 * full_width))
            });
            match out.last_mut() {
                Some(last) if continues => {
                    joined += 1;
                    join_onto(last, trimmed, cjk_text);
                }
                _ => out.push(line.trim_end().to_string()),
            }
            prev = Some(trimmed);
        }
        (out.join("\n"), joined)
    }
}

impl DocOperator for Normalizer {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn apply(&self, doc: &mut CleanedDocument) -> Outcome {
        let (text, stats) = self.normalize(&doc.doc.text, doc.doc.format);
        let changed = text != doc.doc.text;
        doc.doc.text = text;
        Outcome::keep(changed)
            .with_counter(
                "header-footer-lines-removed",
                stats.header_footer_lines_removed,
            )
            .with_counter("lines-joined", stats.lines_joined)
            .with_counter("invisible-chars-removed", stats.invisible_chars_removed)
    }
}

/// Appends a continuation line: no space in CJK text or next to a CJK character (Chinese has
/// none), hyphenated English words joined back, one space otherwise.
fn join_onto(out: &mut String, next: &str, cjk_text: bool) {
    let last = out.chars().next_back();
    let first = next.chars().next();
    let before_hyphen = out.chars().rev().nth(1);
    match (last, first) {
        (Some('-'), Some(f))
            if f.is_lowercase() && before_hyphen.is_some_and(|b| b.is_alphabetic()) =>
        {
            out.pop();
        }
        (Some(l), Some(f)) if cjk_text || is_cjk_context(l) || is_cjk_context(f) => {}
        _ => out.push(' '),
    }
    out.push_str(next);
}

fn is_cjk_context(c: char) -> bool {
    is_cjk(c) || matches!(c, '\u{3000}'..='\u{303F}') || is_fullwidth_punct(c) || c == '…'
}

/// A line laid out in columns (`pdftotext -layout` pads cells with runs of spaces): a table row,
/// whose line break is structure, not wrapping.
fn is_table_row(trimmed: &str) -> bool {
    trimmed.contains('\t') || trimmed.contains("   ")
}

fn ends_with_terminal(line: &str) -> bool {
    let trimmed = line.trim_end_matches(['"', '\'', '”', '’', '」', '』', ')', '）', '】']);
    trimmed.ends_with(['。', '！', '？', '!', '?', '.', '…', ';', '；'])
}

fn indent_of(line: &str) -> usize {
    line.chars()
        .take_while(|c| c.is_whitespace())
        .map(|c| match c {
            '\t' => 4,
            '\u{3000}' => 2,
            _ => 1,
        })
        .sum()
}

/// Key under which header/footer lines are compared: NFKC, lower case, no spaces, digit runs
/// folded to `#` so "第 3 页" and "第 12 页" match.
fn header_key(line: &str) -> String {
    let mut key = String::new();
    let mut in_digits = false;
    for c in line.nfkc().flat_map(char::to_lowercase) {
        if c.is_ascii_digit() {
            if !in_digits {
                key.push('#');
            }
            in_digits = true;
        } else {
            in_digits = false;
            if !c.is_whitespace() {
                key.push(c);
            }
        }
    }
    key
}

/// Removes control characters (keeping `\n` and `\t`; `\r\n` and lone `\r` become `\n`) and
/// invisible format characters. ZWJ (U+200D) is kept: it holds emoji sequences together.
fn remove_invisible(s: &str) -> (String, u64) {
    let mut out = String::with_capacity(s.len());
    let mut removed = 0;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\t' => out.push(c),
            '\u{200B}'
            | '\u{200C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' => removed += 1,
            c if c.is_control() => removed += 1,
            c => out.push(c),
        }
    }
    (out, removed)
}

/// NFKC, except full-width punctuation in CJK context and circled numbers (see the module doc).
fn nfkc_cjk_aware(s: &str, keep_cjk_punct: bool) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut pending = String::new();
    // Whether the last non-space character is CJK context (CJK, CJK symbol, or kept punctuation).
    let mut last_is_cjk = false;
    for (i, &c) in chars.iter().enumerate() {
        let keep_punct = keep_cjk_punct
            && (is_fullwidth_punct(c) || c == '…')
            && (last_is_cjk || next_is_cjk(&chars[i + 1..]));
        let protected = matches!(c, '\u{2460}'..='\u{24FF}' | '\u{2776}'..='\u{2793}' | '\u{3251}'..='\u{325F}' | '\u{32B1}'..='\u{32BF}');
        if keep_punct || protected {
            out.extend(pending.nfkc());
            pending.clear();
            out.push(c);
        } else {
            pending.push(c);
        }
        if !c.is_whitespace() {
            last_is_cjk = keep_punct || is_cjk(c) || matches!(c, '\u{3001}'..='\u{303F}');
        }
    }
    out.extend(pending.nfkc());
    out
}

/// Whether the next character that is neither a space nor full-width punctuation is CJK.
fn next_is_cjk(rest: &[char]) -> bool {
    rest.iter()
        .find(|c| !c.is_whitespace() && !is_fullwidth_punct(**c) && **c != '…')
        .is_some_and(|&c| is_cjk(c) || matches!(c, '\u{3001}'..='\u{303F}'))
}

/// Removes single spaces between two CJK characters when the line looks letter-spaced (at least
/// half of its CJK neighbours are separated by a space); a line with one such space is more likely
/// a deliberate gap between two names or columns.
fn remove_cjk_spaces(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let (mut adjacent, mut spaced) = (0, 0);
    for w in chars.windows(3) {
        if is_cjk(w[0]) && w[1] == ' ' && is_cjk(w[2]) {
            spaced += 1;
        }
    }
    for w in chars.windows(2) {
        if is_cjk(w[0]) && is_cjk(w[1]) {
            adjacent += 1;
        }
    }
    if spaced < 2 || spaced < adjacent {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    for (i, &c) in chars.iter().enumerate() {
        let between_cjk = c == ' '
            && i > 0
            && i + 1 < chars.len()
            && is_cjk(chars[i - 1])
            && is_cjk(chars[i + 1]);
        if !between_cjk {
            out.push(c);
        }
    }
    out
}

/// Trims line ends and keeps at most one blank line in a row; `flow` (page formats) also trims
/// line starts and collapses inner runs of spaces and tabs.
fn collapse_whitespace(unit: &str, flow: bool) -> String {
    let mut out = String::with_capacity(unit.len());
    let mut blank_run = 0;
    for line in unit.lines() {
        let line = line.trim_end();
        if line.trim_start().is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        if flow {
            let mut space = false;
            for c in line.trim_start().chars() {
                if c == ' ' || c == '\t' {
                    space = true;
                } else {
                    if space {
                        out.push(' ');
                    }
                    space = false;
                    out.push(c);
                }
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str, format: Format) -> String {
        Normalizer::new(NormalizeConfig::default())
            .normalize(text, format)
            .0
    }

    #[test]
    fn fullwidth_letters_fold_but_cjk_punctuation_stays() {
        assert_eq!(
            norm("ＡＢＣ１２３，你好！（一）Ｈｅｌｌｏ！", Format::Text),
            "ABC123，你好！（一）Hello!"
        );
        assert_eq!(
            norm("报告（２０２３年）……完毕。", Format::Text),
            "报告（2023年）……完毕。"
        );
        assert_eq!(norm("Hello，world！！", Format::Text), "Hello,world!!");
        assert_eq!(norm("①项目ﬁle", Format::Text), "①项目file");
    }

    #[test]
    fn invisible_and_control_chars_go() {
        assert_eq!(
            norm(
                "\u{feff}合\u{200b}同\u{0007}编号\r\n第二行\u{00ad}",
                Format::Text
            ),
            "合同编号\n第二行"
        );
    }

    #[test]
    fn whitespace_in_flow_and_non_flow_formats() {
        assert_eq!(
            norm("  a\tb  \n\n\n\nc   d  ", Format::Markdown),
            "  a\tb\n\nc   d"
        );
        assert_eq!(norm("  a\tb  \n\n\n\nc   d  ", Format::Pdf), "a b\n\nc d");
    }

    #[test]
    fn letter_spaced_cjk_lines_are_closed_up() {
        assert_eq!(remove_cjk_spaces("中 华 人 民 共 和 国"), "中华人民共和国");
        assert_eq!(remove_cjk_spaces("张三 李四"), "张三 李四");
    }

    #[test]
    fn cjk_lines_rejoin_without_spaces_and_paragraphs_survive() {
        let page = [
            "第一章\u{3000}总则",
            "\u{3000}\u{3000}为了规范公司合同管理，防范经营风险，根据有关法律法规",
            "的规定，结合本公司实际情况，制定本办法。本办法适用于公",
            "司各部门。",
            "\u{3000}\u{3000}合同管理实行统一领导、分级负责的原则。",
        ]
        .join("\n");
        assert_eq!(
            norm(&page, Format::Pdf),
            "第一章 总则\n\
             为了规范公司合同管理，防范经营风险，根据有关法律法规的规定，结合本公司实际情况，制定本办法。本办法适用于公司各部门。\n\
             合同管理实行统一领导、分级负责的原则。"
        );
    }

    #[test]
    fn english_lines_rejoin_with_spaces_and_hyphens() {
        let page = "The committee reviewed the quarterly results and the com-\n\
                    pany's plans for the next financial year in some detail.\n\
                    It approved the budget.\n\
                    \n\
                    A new paragraph starts here and continues on the next\n\
                    line.";
        assert_eq!(
            norm(page, Format::Pdf),
            "The committee reviewed the quarterly results and the company's plans for the next financial year in some detail. \
             It approved the budget.\n\n\
             A new paragraph starts here and continues on the next line."
        );
        // Outside page formats, line breaks are the author's.
        assert_eq!(norm("one\ntwo", Format::Text), "one\ntwo");
    }

    #[test]
    fn table_rows_are_not_joined() {
        let page = "项目名称            合同金额          签订日期          负责人\n\
                    办公楼装修工程      1,200,000         2024-03-01        张三\n\
                    服务器采购          860,000           2024-04-15        李四";
        assert_eq!(
            norm(page, Format::Pdf),
            "项目名称 合同金额 签订日期 负责人\n办公楼装修工程 1,200,000 2024-03-01 张三\n服务器采购 860,000 2024-04-15 李四"
        );
    }

    #[test]
    fn mixed_lines_join_without_space_at_cjk_boundary() {
        let page = "我们使用Python与Rust开发数据清洗工具，并在生产环境中部署\nKubernetes集群用于调度任务，效果良好并且稳定可靠的运行。";
        assert_eq!(
            norm(page, Format::Pdf),
            "我们使用Python与Rust开发数据清洗工具，并在生产环境中部署Kubernetes集群用于调度任务，效果良好并且稳定可靠的运行。"
        );
    }

    #[test]
    fn headers_footers_and_page_numbers_are_stripped() {
        let bodies = [
            "营业收入稳步增长。\n毛利率有所下降。",
            "研发投入继续加大。\n专利数量创新高。",
            "正文第3页的内容。\n第二行正文。",
            "海外市场拓展顺利。\n渠道建设初见成效。",
            "风险管理持续加强。\n内控体系不断完善。",
        ];
        let pages: Vec<String> = (1..=5)
            .map(|p| {
                let body = bodies[p - 1];
                format!("XX集团有限公司 2023 年度报告\n{body}\n第 {p} 页 共 5 页")
            })
            .collect();
        let text = pages.join("\u{c}");
        let (out, stats) =
            Normalizer::new(NormalizeConfig::default()).normalize(&text, Format::Pdf);
        assert_eq!(stats.header_footer_lines_removed, 10);
        let units: Vec<&str> = out.split('\u{c}').collect();
        assert_eq!(units.len(), 5, "unit boundaries are kept");
        assert_eq!(units[2], "正文第3页的内容。\n第二行正文。");

        for footer in ["Page 3 of 10", "- 3 -", "3", "3 / 10", "— 12 —", "p. 7"] {
            let text = format!("Body one.\n{footer}\u{c}Body two.\n{footer}");
            assert_eq!(
                norm(&text, Format::Pdf),
                "Body one.\u{c}Body two.",
                "{footer}"
            );
        }
        // A body line that merely mentions a page is not a page number.
        assert_eq!(
            norm("See page 3 of the contract.\u{c}Nothing else.", Format::Pdf),
            "See page 3 of the contract.\u{c}Nothing else."
        );
    }
}
