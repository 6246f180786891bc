//! PII precision and recall on a labelled set generated here: valid values in Chinese and English
//! sentences, and look-alikes that must not match (wrong check digits, impossible birth dates,
//! numbers inside longer digit runs, versions, times, product codes).
//!
//! The check-digit rules are implemented again below, independently of the library, both to
//! build valid values and to make sure a negative is not accidentally some other valid kind.

use std::collections::BTreeMap;

use adopt_clean::{PiiConfig, PiiDetector};

use crate::Rng;

const PROVINCES: [u32; 31] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65,
];

fn id_check(first17: &str) -> char {
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(weights)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0;
    for (i, d) in digits.bytes().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

fn luhn_digit(partial: &str) -> char {
    (0..10u8)
        .map(|d| char::from(b'0' + d))
        .find(|&c| luhn_ok(&format!("{partial}{c}")))
        .expect("one digit completes Luhn")
}

const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

fn uscc_check(first17: &str) -> char {
    let weights = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: u32 = first17
        .bytes()
        .zip(weights)
        .map(|(c, w)| USCC_CHARS.iter().position(|&x| x == c).unwrap() as u32 * w)
        .sum();
    USCC_CHARS[((31 - sum % 31) % 31) as usize] as char
}

fn birth_date(rng: &mut Rng) -> String {
    let year = 1950 + rng.below(56);
    let month = 1 + rng.below(12);
    let day = 1 + rng.below(28);
    format!("{year:04}{month:02}{day:02}")
}

fn id_first17(rng: &mut Rng, date: &str) -> String {
    format!(
        "{}{}{date}{}",
        rng.pick(&PROVINCES),
        rng.digits(4),
        rng.digits(3)
    )
}

pub(crate) fn valid_id(rng: &mut Rng) -> String {
    let date = birth_date(rng);
    let first = id_first17(rng, &date);
    let check = id_check(&first);
    format!("{first}{check}")
}

pub(crate) fn phone(rng: &mut Rng) -> String {
    format!("1{}{}", 3 + rng.below(7), rng.digits(9))
}

pub(crate) fn bank_card(rng: &mut Rng) -> String {
    let len = 16 + rng.below(4);
    let prefix = *rng.pick(&["62", "4", "5", "35"]);
    let partial = format!("{prefix}{}", rng.digits(len - prefix.len() - 1));
    let check = luhn_digit(&partial);
    format!("{partial}{check}")
}

fn uscc(rng: &mut Rng) -> String {
    let body: String = (0..9)
        .map(|_| USCC_CHARS[rng.below(USCC_CHARS.len())] as char)
        .collect();
    let first = format!(
        "{}{}{}{}{body}",
        rng.pick(&['1', '5', '9']),
        rng.pick(&['1', '2', '3']),
        1 + rng.below(8),
        rng.digits(5)
    );
    let check = uscc_check(&first);
    format!("{first}{check}")
}

/// True when `v` is by the rules some valid value (so it cannot serve as a negative).
fn is_some_valid_value(v: &str) -> bool {
    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
    let card_like = digits.len() == v.chars().filter(|c| !c.is_whitespace()).count()
        && (16..=19).contains(&digits.len())
        && matches!(digits.as_bytes()[0], b'3'..=b'6' | b'9')
        && luhn_ok(&digits);
    let id_like = v.len() == 18
        && v[..17].bytes().all(|b| b.is_ascii_digit())
        && id_check(&v[..17]) == v.as_bytes()[17].to_ascii_uppercase() as char
        && (1..=12).contains(&v[10..12].parse::<u32>().unwrap_or(0));
    let uscc_like = v.len() == 18
        && v.bytes().all(|b| USCC_CHARS.contains(&b))
        && uscc_check(&v[..17]) == v.as_bytes()[17] as char;
    card_like || id_like || uscc_like
}

/// A positive: (kind, value as written).
fn positive(rng: &mut Rng) -> (&'static str, String) {
    match rng.below(7) {
        0 => {
            let mut id = valid_id(rng);
            if id.ends_with('X') && rng.below(2) == 0 {
                id = id.replace('X', "x");
            }
            ("ID_CARD", id)
        }
        1 => {
            let p = phone(rng);
            let written = match rng.below(6) {
                0 => format!("+86 {p}"),
                1 => format!("0086{p}"),
                2 => format!("{}-{}-{}", &p[..3], &p[3..7], &p[7..]),
                3 => format!("{} {} {}", &p[..3], &p[3..7], &p[7..]),
                4 => format!("+86-{p}"),
                _ => p,
            };
            ("PHONE", written)
        }
        2 => {
            let card = bank_card(rng);
            let written = if card.len() == 16 && rng.below(2) == 0 {
                format!(
                    "{} {} {} {}",
                    &card[..4],
                    &card[4..8],
                    &card[8..12],
                    &card[12..]
                )
            } else {
                card
            };
            ("BANK_CARD", written)
        }
        3 => {
            let names = [
                "zhang.san",
                "li_si",
                "wang.wu88",
                "hr",
                "finance-team",
                "j.smith",
            ];
            let domains = [
                "example.com",
                "corp.cn",
                "mail.example.com.cn",
                "163.com",
                "qq.com",
            ];
            let email = format!("{}@{}", rng.pick(&names), rng.pick(&domains));
            ("EMAIL", email)
        }
        4 => {
            let ip = if rng.below(2) == 0 {
                format!(
                    "{}.{}.{}.{}",
                    1 + rng.below(254),
                    rng.below(256),
                    rng.below(256),
                    1 + rng.below(254)
                )
            } else if rng.below(2) == 0 {
                let groups: Vec<String> = (0..8)
                    .map(|_| format!("{:x}", rng.next_u64() as u16))
                    .collect();
                format!("2001:{}", groups[1..].join(":"))
            } else {
                format!(
                    "fe80::{:x}:{:x}",
                    0x1000 + rng.below(0xefff),
                    rng.next_u64() as u16
                )
            };
            ("IP", ip)
        }
        5 => {
            let p = match rng.below(3) {
                0 => format!("E{}", rng.digits(8)),
                1 => format!("G{}", rng.digits(8)),
                _ => format!(
                    "E{}{}",
                    *rng.pick(&['A', 'B', 'C', 'D', 'H', 'K']),
                    rng.digits(7)
                ),
            };
            ("PASSPORT", p)
        }
        _ => ("USCC", uscc(rng)),
    }
}

/// A look-alike that is no PII.
fn negative(rng: &mut Rng) -> String {
    loop {
        let v = match rng.below(12) {
            // ID number with a wrong check character.
            0 => {
                let date = birth_date(rng);
                let first = id_first17(rng, &date);
                let right = id_check(&first);
                let wrong = *rng.pick(&['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X']);
                if wrong == right {
                    continue;
                }
                format!("{first}{wrong}")
            }
            // Right check character, impossible birth date.
            1 => {
                let date = format!("19{:02}1{}15", rng.below(100), 3 + rng.below(7));
                let first = id_first17(rng, &date);
                format!("{first}{}", id_check(&first))
            }
            // A phone number inside a 20-digit run, or an 11-digit run inside 12-13 digits.
            2 => format!("202{}{}", phone(rng), rng.digits(6)),
            3 => {
                let extra = 1 + rng.below(2);
                format!("{}{}", phone(rng), rng.digits(extra))
            }
            4 => format!("{}{}", 1 + rng.below(9), phone(rng)),
            // A card-length number failing Luhn.
            5 => {
                let card = bank_card(rng);
                let last = card.as_bytes()[card.len() - 1] - b'0';
                format!(
                    "{}{}",
                    &card[..card.len() - 1],
                    (last + 1 + rng.below(9) as u8) % 10
                )
            }
            // A credit code with a wrong check character.
            6 => {
                let code = uscc(rng);
                let right = code.as_bytes()[17];
                let wrong = USCC_CHARS[rng.below(USCC_CHARS.len())];
                if wrong == right {
                    continue;
                }
                format!("{}{}", &code[..17], wrong as char)
            }
            7 => format!(
                "v{}.{}.{}.{}.{}",
                rng.below(10),
                rng.below(10),
                rng.below(30),
                rng.below(99),
                rng.below(9)
            ),
            8 => format!(
                "{:02}:{:02}:{:02}",
                rng.below(24),
                rng.below(60),
                rng.below(60)
            ),
            9 => format!(
                "{}.{}.{}.{}",
                256 + rng.below(700),
                rng.below(256),
                rng.below(256),
                rng.below(256)
            ),
            // Product codes shaped almost like passports.
            10 => match rng.below(3) {
                0 => format!("E{}", rng.digits(7)),
                1 => format!("G{}", rng.digits(9)),
                _ => format!("XE{}", rng.digits(8)),
            },
            _ => format!(
                "¥{},{:03},{:03}.{:02}",
                1 + rng.below(999),
                rng.below(1000),
                rng.below(1000),
                rng.below(100)
            ),
        };
        if !is_some_valid_value(&v) {
            return v;
        }
    }
}

/// Sentences a value of each kind typically appears in; `{}` is the slot.
fn templates(kind: &str) -> &'static [&'static str] {
    match kind {
        "ID_CARD" => &[
            "客户身份证号码为{}，请核实。",
            "身份证：{}",
            "ID number {} on file",
        ],
        "PHONE" => &["联系电话：{}。", "请致电{}联系王经理", "Call {} after 6 pm"],
        "BANK_CARD" => &[
            "请将款项汇入账户{}，备注合同编号。",
            "卡号{}已冻结",
            "Card {} was charged on 2024-03-01",
        ],
        "EMAIL" => &[
            "发件人邮箱{}，抄送财务部。",
            "Reach me at {} please",
            "邮箱：{}",
        ],
        "IP" => &[
            "服务器地址{}已下线",
            "Host {} responded in 20 ms",
            "登录IP：{}",
        ],
        "PASSPORT" => &[
            "护照号码：{}（有效期至2030年）",
            "Passport no. {} issued in Beijing",
        ],
        "USCC" => &[
            "统一社会信用代码{}。",
            "纳税人识别号：{}",
            "USCC {} registered",
        ],
        // Neutral sentences, for negatives and for a share of the positives.
        _ => &[
            "订单号{}已发货",
            "编号：{}",
            "见附件{}的说明",
            "Ref {} attached",
            "金额{}元",
        ],
    }
}

const KINDS: [&str; 7] = [
    "ID_CARD",
    "PHONE",
    "BANK_CARD",
    "EMAIL",
    "IP",
    "PASSPORT",
    "USCC",
];

struct Sample {
    text: String,
    gold: Vec<(String, usize, usize)>,
}

fn samples(n: usize) -> Vec<Sample> {
    let mut rng = Rng(7_064_112);
    (0..n)
        .map(|_| {
            let mut text = String::new();
            let mut gold = Vec::new();
            for k in 0..1 + rng.below(3) {
                if k > 0 {
                    text.push_str(if rng.below(2) == 0 { " " } else { "；" });
                }
                let (value, kind) = if rng.below(2) == 0 {
                    let (kind, value) = positive(&mut rng);
                    (value, Some(kind))
                } else {
                    (negative(&mut rng), None)
                };
                // Positives mostly in their own kind of sentence, negatives in any sentence.
                let context = match kind {
                    Some(k) if rng.below(5) > 0 => k,
                    Some(_) => "neutral",
                    None if rng.below(2) == 0 => "neutral",
                    None => *rng.pick(&KINDS),
                };
                let template = *rng.pick(templates(context));
                let (before, after) = template.split_once("{}").unwrap();
                text.push_str(before);
                if let Some(kind) = kind {
                    gold.push((kind.to_string(), text.len(), text.len() + value.len()));
                }
                text.push_str(&value);
                text.push_str(after);
            }
            Sample { text, gold }
        })
        .collect()
}

#[test]
#[allow(clippy::print_stderr)]
fn pii_precision_and_recall_on_labelled_set() {
    let detector = PiiDetector::new(&PiiConfig::default()).unwrap();
    let set = samples(3000);
    // Per kind: (true positives, false positives, false negatives).
    let mut per_kind: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut errors = Vec::new();
    for s in &set {
        let found: Vec<(String, usize, usize)> = detector
            .find(&s.text)
            .into_iter()
            .map(|m| (m.kind, m.start, m.end))
            .collect();
        for f in &found {
            let e = per_kind.entry(f.0.clone()).or_default();
            if s.gold.contains(f) {
                e.0 += 1;
            } else {
                e.1 += 1;
                errors.push(format!(
                    "false positive {} {:?} in {}",
                    f.0,
                    &s.text[f.1..f.2],
                    s.text
                ));
            }
        }
        for g in &s.gold {
            if !found.contains(g) {
                per_kind.entry(g.0.clone()).or_default().2 += 1;
                errors.push(format!(
                    "missed {} {:?} in {}",
                    g.0,
                    &s.text[g.1..g.2],
                    s.text
                ));
            }
        }
    }
    let (tp, fp, fneg) = per_kind
        .values()
        .fold((0, 0, 0), |a, v| (a.0 + v.0, a.1 + v.1, a.2 + v.2));
    let precision = tp as f64 / (tp + fp) as f64;
    let recall = tp as f64 / (tp + fneg) as f64;
    eprintln!("PII on {} generated samples: precision {precision:.4}, recall {recall:.4} ({tp} TP, {fp} FP, {fneg} FN)", set.len());
    for (kind, (t, f, n)) in &per_kind {
        eprintln!("  {kind:<10} TP {t:>4}  FP {f:>3}  FN {n:>3}");
    }
    assert!(tp > 1000, "the set holds enough positives");
    assert!(
        precision >= 0.98 && recall >= 0.98,
        "precision {precision:.4}, recall {recall:.4}; first errors:\n{}",
        errors
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_kind_and_negative_shape_is_in_the_set() {
    let set = samples(3000);
    for kind in [
        "ID_CARD",
        "PHONE",
        "BANK_CARD",
        "EMAIL",
        "IP",
        "PASSPORT",
        "USCC",
    ] {
        assert!(
            set.iter()
                .filter(|s| s.gold.iter().any(|g| g.0 == kind))
                .count()
                > 100,
            "{kind}"
        );
    }
    // Negatives are present: samples with fewer gold spans than slots filled.
    assert!(set.iter().filter(|s| s.gold.is_empty()).count() > 500);
}
