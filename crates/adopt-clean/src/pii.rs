//! PII detection and redaction: mainland China resident ID numbers, mobile numbers, bank cards,
//! e-mail and IP addresses, passports, unified social credit codes, and user-defined patterns.
//!
//! Numbers are validated, not just shaped: ID numbers need a valid ISO 7064 MOD 11-2 check digit,
//! province code and birth date; bank cards a Luhn check digit; credit codes the GB 32100-2015
//! check character. A candidate inside a longer run of digits (or letters and digits, for codes)
//! never matches: eleven digits in a 20-digit order number are not a phone number. Matches are
//! reported by type and position only; the values themselves never leave this module.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::operator::{DocOperator, Outcome};
use crate::CleanedDocument;

/// The built-in kinds of PII.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PiiKind {
    /// Mainland China resident identity card number (18 characters).
    IdCard,
    /// Unified social credit code of an organisation (统一社会信用代码).
    Uscc,
    BankCard,
    Passport,
    /// Mainland China mobile number.
    Phone,
    Email,
    /// IPv4 or IPv6 address.
    Ip,
}

impl PiiKind {
    pub const ALL: [PiiKind; 7] = [
        PiiKind::IdCard,
        PiiKind::Uscc,
        PiiKind::BankCard,
        PiiKind::Passport,
        PiiKind::Phone,
        PiiKind::Email,
        PiiKind::Ip,
    ];

    /// The name used in counts and placeholders ("ID_CARD").
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::IdCard => "ID_CARD",
            PiiKind::Uscc => "USCC",
            PiiKind::BankCard => "BANK_CARD",
            PiiKind::Passport => "PASSPORT",
            PiiKind::Phone => "PHONE",
            PiiKind::Email => "EMAIL",
            PiiKind::Ip => "IP",
        }
    }
}

/// What to do with documents that contain PII.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PiiMode {
    /// Count PII, leave the text as it is.
    Report,
    /// Replace each value with a typed placeholder such as `[PHONE]`.
    #[default]
    Redact,
    /// Drop every document that contains PII.
    Drop,
}

/// A user-defined kind of PII.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CustomPii {
    /// Name used in counts ("EMPLOYEE_ID").
    pub name: String,
    /// Regular expression (Rust `regex` syntax) matching one value.
    pub pattern: String,
    /// Replacement text; `[NAME]` when left out.
    #[serde(default)]
    pub placeholder: Option<String>,
}

/// Settings of PII detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct PiiConfig {
    /// Detect PII at all.
    pub enabled: bool,
    /// "report" (count only), "redact" (replace with placeholders) or "drop" (drop the document).
    pub mode: PiiMode,
    /// Built-in kinds to detect: id-card, uscc, bank-card, passport, phone, email, ip.
    pub kinds: Vec<PiiKind>,
    /// User-defined kinds: `[[clean.pii.custom]]` tables with name, pattern and placeholder.
    pub custom: Vec<CustomPii>,
}

impl Default for PiiConfig {
    fn default() -> Self {
        PiiConfig {
            enabled: true,
            mode: PiiMode::Redact,
            kinds: PiiKind::ALL.to_vec(),
            custom: Vec::new(),
        }
    }
}

impl PiiConfig {
    pub(crate) fn validate(&self, errors: &mut Vec<String>) {
        for (i, c) in self.custom.iter().enumerate() {
            if c.name.trim().is_empty() {
                errors.push(format!("pii.custom[{i}]: name is empty"));
            }
            if let Err(e) = Regex::new(&c.pattern) {
                errors.push(format!(
                    "pii.custom[{i}] ({}): invalid pattern: {e}",
                    c.name
                ));
            }
        }
    }
}

/// One detected value: its kind and byte range in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiMatch {
    /// "ID_CARD", "PHONE", ... or a custom name.
    pub kind: String,
    pub start: usize,
    pub end: usize,
}

struct Custom {
    name: String,
    placeholder: String,
    regex: Regex,
}

/// Finds and redacts PII.
pub struct PiiDetector {
    kinds: Vec<PiiKind>,
    custom: Vec<Custom>,
    mode: PiiMode,
    id_card: Regex,
    uscc: Regex,
    bank_card: Regex,
    passport: Regex,
    phone: Regex,
    email: Regex,
    ipv4: Regex,
    ipv6: Regex,
    max_birth_year: u32,
}

/// Validation and boundary rule of one built-in kind.
#[derive(Clone, Copy)]
enum Boundary {
    /// The value may not touch another ASCII letter or digit (codes mixing both).
    Alnum,
    /// No digit before ("tel13812345678" is fine), no letter or digit after: eleven digits
    /// followed by letters are the start of a code, not a phone number.
    Phone,
    /// Handled by the kind's own check.
    Custom,
}

impl PiiDetector {
    /// Builds the detector; fails with every invalid custom pattern.
    pub fn new(config: &PiiConfig) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        config.validate(&mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let re = |p: &str| Regex::new(p).expect("static regex");
        let custom = config
            .custom
            .iter()
            .map(|c| Custom {
                name: c.name.clone(),
                placeholder: c
                    .placeholder
                    .clone()
                    .unwrap_or_else(|| format!("[{}]", c.name)),
                regex: Regex::new(&c.pattern).expect("validated above"),
            })
            .collect();
        let now_year = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(2025, |d| 1970 + d.as_secs() / 31_556_952) as u32;
        Ok(PiiDetector {
            kinds: config.kinds.clone(),
            custom,
            mode: config.mode,
            id_card: re(r"[0-9]{17}[0-9Xx]"),
            uscc: re(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"),
            bank_card: re(r"[0-9]{16,19}|[0-9]{4}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?"),
            passport: re(r"[EG][0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|[DSP]E[0-9]{7}"),
            phone: re(
                r"(?:(?:\+86|0086|\(\+?86\)|（\+?86）)[ -]?)?1[3-9][0-9](?:[0-9]{8}|[ -][0-9]{4}[ -][0-9]{4})",
            ),
            email: re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
            ipv4: re(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"),
            // Ends on a hex digit or colon so that a sentence's full stop is not taken in.
            ipv6: re(r"[0-9A-Fa-f:][0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*[0-9A-Fa-f:]"),
            max_birth_year: now_year,
        })
    }

    /// All PII in `text`, non-overlapping, in text order. Where candidates overlap the longer one
    /// wins (an e-mail address over the phone number that forms its local part), then the kind
    /// with the stricter check (an ID number over a bank card that happens to pass Luhn).
    pub fn find(&self, text: &str) -> Vec<PiiMatch> {
        // (start, end, priority, kind)
        let mut found: Vec<(usize, usize, usize, String)> = Vec::new();
        for &kind in &self.kinds {
            let priority = kind as usize;
            let mut push = |s: usize, e: usize| found.push((s, e, priority, kind.label().into()));
            match kind {
                PiiKind::IdCard => scan(
                    &self.id_card,
                    text,
                    Boundary::Alnum,
                    |v| valid_id_card(v, self.max_birth_year),
                    &mut push,
                ),
                PiiKind::Uscc => scan(
                    &self.uscc,
                    text,
                    Boundary::Alnum,
                    |v| valid_uscc(v) && (!valid_bank_card(v) || uscc_context(text, v)),
                    &mut push,
                ),
                PiiKind::BankCard => scan(
                    &self.bank_card,
                    text,
                    Boundary::Alnum,
                    valid_bank_card,
                    &mut push,
                ),
                PiiKind::Passport => {
                    scan(&self.passport, text, Boundary::Alnum, |_| true, &mut push)
                }
                PiiKind::Phone => scan(&self.phone, text, Boundary::Phone, |_| true, &mut push),
                PiiKind::Email => scan(&self.email, text, Boundary::Custom, |_| true, &mut push),
                PiiKind::Ip => {
                    scan(
                        &self.ipv4,
                        text,
                        Boundary::Custom,
                        |v| valid_ipv4(text, v),
                        &mut push,
                    );
                    scan(
                        &self.ipv6,
                        text,
                        Boundary::Custom,
                        |v| valid_ipv6(text, v),
                        &mut push,
                    );
                }
            }
        }
        for (i, c) in self.custom.iter().enumerate() {
            for m in c.regex.find_iter(text).filter(|m| !m.is_empty()) {
                found.push((m.start(), m.end(), PiiKind::ALL.len() + i, c.name.clone()));
            }
        }

        found.sort_by(|a, b| (b.1 - b.0, a.2, a.0).cmp(&(a.1 - a.0, b.2, b.0)));
        // Accepted spans by start; a table of customers can hold many thousands, so overlap is
        // checked against the neighbours only.
        let mut taken: BTreeMap<usize, (usize, String)> = BTreeMap::new();
        for (s, e, _, kind) in found {
            let before_ok = taken
                .range(..=s)
                .next_back()
                .is_none_or(|(_, (te, _))| *te <= s);
            let after_ok = taken.range(s..).next().is_none_or(|(ts, _)| *ts >= e);
            if before_ok && after_ok {
                taken.insert(s, (e, kind));
            }
        }
        taken
            .into_iter()
            .map(|(start, (end, kind))| PiiMatch { kind, start, end })
            .collect()
    }

    /// Replaces every match with its placeholder; returns the new text and counts per kind.
    pub fn redact(&self, text: &str) -> (String, BTreeMap<String, u64>) {
        let matches = self.find(text);
        let mut counts = BTreeMap::new();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for m in &matches {
            *counts.entry(m.kind.clone()).or_insert(0) += 1;
            out.push_str(&text[at..m.start]);
            out.push_str(&self.placeholder(&m.kind));
            at = m.end;
        }
        out.push_str(&text[at..]);
        (out, counts)
    }

    fn placeholder(&self, kind: &str) -> String {
        self.custom
            .iter()
            .find(|c| c.name == kind)
            .map_or_else(|| format!("[{kind}]"), |c| c.placeholder.clone())
    }
}

impl DocOperator for PiiDetector {
    fn name(&self) -> &'static str {
        "pii"
    }

    fn apply(&self, doc: &mut CleanedDocument) -> Outcome {
        let (redacted, counts) = self.redact(&doc.doc.text);
        let total: u64 = counts.values().sum();
        let counters: Vec<(String, u64)> = counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
        doc.pii_counts = counts;
        let mut outcome = match self.mode {
            _ if total == 0 => Outcome::keep(false),
            PiiMode::Report => Outcome::keep(false),
            PiiMode::Redact => {
                doc.doc.text = redacted;
                Outcome::keep(true)
            }
            PiiMode::Drop => {
                let what: Vec<String> = doc
                    .pii_counts
                    .iter()
                    .map(|(k, v)| format!("{k} x{v}"))
                    .collect();
                Outcome::drop("pii", format!("contains PII: {}", what.join(", ")))
            }
        };
        outcome.counters = counters;
        outcome
    }
}

type ByteTest = fn(u8) -> bool;

/// Runs `re` over `text` and passes every candidate that respects `boundary` and `valid` to `push`.
/// After a rejected candidate the search resumes one character later, so a rejected shape cannot
/// hide a valid value that overlaps it.
fn scan(
    re: &Regex,
    text: &str,
    boundary: Boundary,
    valid: impl Fn(&str) -> bool,
    push: &mut impl FnMut(usize, usize),
) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(m) = re.find_at(text, at) {
        let (s, e) = (m.start(), m.end());
        let (before, after): (ByteTest, ByteTest) = match boundary {
            Boundary::Alnum => (|b| b.is_ascii_alphanumeric(), |b| b.is_ascii_alphanumeric()),
            Boundary::Phone => (|b| b.is_ascii_digit(), |b| b.is_ascii_alphanumeric()),
            Boundary::Custom => (|_| false, |_| false),
        };
        let touches = (s > 0 && before(bytes[s - 1])) || (e < bytes.len() && after(bytes[e]));
        if !touches && valid(m.as_str()) {
            push(s, e);
            at = e;
        } else {
            at = s + text[s..].chars().next().map_or(1, char::len_utf8);
        }
        if at >= text.len() {
            break;
        }
    }
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// An 18-character mainland resident ID number: known province code, a real birth date between
/// 1900 and `max_year`, and the ISO 7064 MOD 11-2 check character.
pub fn valid_id_card(s: &str, max_year: u32) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let province = num(0..2);
    if !matches!(province, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83 | 91)
    {
        return false;
    }
    if !valid_date(num(6..10), num(10..12), num(12..14), max_year) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize] == b[17].to_ascii_uppercase()
}

fn valid_date(year: u32, month: u32, day: u32, max_year: u32) -> bool {
    if !(1900..=max_year).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// An 18-character unified social credit code with a valid GB 32100-2015 check character, a
/// registration-authority and organisation-type code in use, and a province in the division code.
pub fn valid_uscc(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 {
        return false;
    }
    if !matches!(b[0], b'1'..=b'9' | b'A'..=b'G' | b'Y') || !matches!(b[1], b'1'..=b'9') {
        return false;
    }
    if !(b'1'..=b'8').contains(&b[2]) {
        return false;
    }
    let value = |c: u8| USCC_CHARS.iter().position(|&x| x == c).map(|p| p as u32);
    let mut sum = 0;
    for (c, w) in b[..17].iter().zip(USCC_WEIGHTS) {
        match value(*c) {
            Some(v) => sum += v * w,
            None => return false,
        }
    }
    let check = (31 - sum % 31) % 31;
    USCC_CHARS[check as usize] == b[17]
}

/// Luhn check over the digits of `s` (separators ignored).
pub fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|d| u32::from(d - b'0'))
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// 16 to 19 digits, Luhn-valid, starting with a digit card networks issue under (3 JCB/Amex,
/// 4 Visa, 5 Mastercard, 6 UnionPay/Discover, 9 some domestic debit cards): a long number that
/// merely passes Luhn (one in ten do) and starts otherwise is more likely an order number.
fn valid_bank_card(s: &str) -> bool {
    let n = s.bytes().filter(u8::is_ascii_digit).count();
    (16..=19).contains(&n) && matches!(s.as_bytes()[0], b'3'..=b'6' | b'9') && luhn_valid(s)
}

/// Whether the few characters before `v` name a credit code. Needed only for the all-digit
/// values that are valid both as a credit code and as a bank card (1 in 31 cards): without such a
/// label they are taken for cards.
fn uscc_context(text: &str, v: &str) -> bool {
    let start = v.as_ptr() as usize - text.as_ptr() as usize;
    let before: String = text[..start]
        .chars()
        .rev()
        .take(16)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let before = before.to_ascii_lowercase();
    [
        "信用代码",
        "社会信用",
        "uscc",
        "credit code",
        "税号",
        "纳税人识别号",
    ]
    .iter()
    .any(|k| before.contains(k))
}

fn valid_ipv4(text: &str, v: &str) -> bool {
    if !v
        .split('.')
        .all(|o| o.parse::<u32>().is_ok_and(|n| n <= 255))
    {
        return false;
    }
    // Not part of a longer dotted number (a version such as 1.2.3.4.5).
    let start = v.as_ptr() as usize - text.as_ptr() as usize;
    let before = text[..start].chars().next_back();
    let mut after = text[start + v.len()..].chars();
    let (a1, a2) = (after.next(), after.next());
    let longer = before.is_some_and(|c| c.is_ascii_digit() || c == '.')
        || a1.is_some_and(|c| c.is_ascii_digit())
        || (a1 == Some('.') && a2.is_some_and(|c| c.is_ascii_digit()));
    !longer
}

fn valid_ipv6(text: &str, v: &str) -> bool {
    if v.matches(':').count() < 2 {
        return false;
    }
    let start = v.as_ptr() as usize - text.as_ptr() as usize;
    let before = text[..start].chars().next_back();
    let after = text[start + v.len()..].chars().next();
    let word = |c: char| c.is_ascii_alphanumeric() || c == ':';
    // A digit is required so that C++ paths such as `a::b` or words like `dead::beef` are not IPs.
    !before.is_some_and(word)
        && !after.is_some_and(word)
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.parse::<Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, String)> {
        let d = PiiDetector::new(&PiiConfig::default()).unwrap();
        d.find(text)
            .into_iter()
            .map(|m| (m.kind, text[m.start..m.end].to_string()))
            .collect()
    }

    #[test]
    fn check_digits() {
        assert!(valid_id_card("11010519491231002X", 2025));
        assert!(!valid_id_card("110105194912310021", 2025));
        assert!(!valid_id_card("110105194913310020", 2025), "month 13");
        assert!(valid_uscc("91350100M000100Y43"));
        assert!(!valid_uscc("91350100M000100Y44"));
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("4111111111111112"));
    }

    #[test]
    fn finds_each_kind_in_chinese_sentences() {
        let text =
            "张三，身份证号11010519491231002X，手机+86 138-1234-5678，邮箱zhang.san@example.com。\
                    开户行卡号4111 1111 1111 1111，服务器10.0.12.7与fe80::1ff:fe23:4567:890a，\
                    护照E12345678，统一社会信用代码91350100M000100Y43。";
        assert_eq!(
            kinds(text),
            vec![
                ("ID_CARD".into(), "11010519491231002X".into()),
                ("PHONE".into(), "+86 138-1234-5678".into()),
                ("EMAIL".into(), "zhang.san@example.com".into()),
                ("BANK_CARD".into(), "4111 1111 1111 1111".into()),
                ("IP".into(), "10.0.12.7".into()),
                ("IP".into(), "fe80::1ff:fe23:4567:890a".into()),
                ("PASSPORT".into(), "E12345678".into()),
                ("USCC".into(), "91350100M000100Y43".into()),
            ]
        );
    }

    #[test]
    fn digits_inside_longer_runs_do_not_match() {
        assert!(kinds("订单号13812345678901234567已发货").is_empty());
        assert!(kinds("流水号 913812345678 与 2138123456789").is_empty());
        assert!(kinds("版本 1.2.3.4.5，时间 12:30:45，std::vector").is_empty());
        assert_eq!(kinds("电话13812345678。").len(), 1);
    }

    #[test]
    fn redact_and_custom_patterns() {
        let config = PiiConfig {
            custom: vec![CustomPii {
                name: "EMPLOYEE_ID".into(),
                pattern: r"EMP-\d{6}".into(),
                placeholder: None,
            }],
            ..PiiConfig::default()
        };
        let d = PiiDetector::new(&config).unwrap();
        let (out, counts) = d.redact("工号EMP-004512，电话13812345678，13912345678。");
        assert_eq!(out, "工号[EMPLOYEE_ID]，电话[PHONE]，[PHONE]。");
        assert_eq!(counts.get("PHONE"), Some(&2));
        assert_eq!(counts.get("EMPLOYEE_ID"), Some(&1));

        let bad = PiiConfig {
            custom: vec![CustomPii {
                name: "X".into(),
                pattern: "(".into(),
                placeholder: None,
            }],
            ..PiiConfig::default()
        };
        assert!(PiiDetector::new(&bad).is_err());
    }
}
