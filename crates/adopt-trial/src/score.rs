//! Per-item scoring: QA overlap metrics (CJK-aware), label parsing for classification, JSON
//! field checks for extraction, and the judge's grade. Aggregates that are not means of item
//! scores (macro-F1) live in [`crate::measure`].

use serde_json::{Map, Value};

use crate::tokenize::{answer_tokens, fold_width, normalize_answer};

/// 1 when the normalised answer equals a normalised reference.
pub fn exact_match(answer: &str, references: &[String]) -> f64 {
    let a = normalize_answer(strip_answer_prefix(answer));
    let hit = references.iter().any(|r| normalize_answer(r) == a);
    f64::from(u8::from(hit))
}

/// Best token-overlap F1 over the references (SQuAD's metric, with CJK characters as tokens).
pub fn token_f1(answer: &str, references: &[String]) -> f64 {
    let a = answer_tokens(strip_answer_prefix(answer));
    references
        .iter()
        .map(|r| f1(&a, &answer_tokens(r)))
        .fold(0.0, f64::max)
}

fn f1(pred: &[String], gold: &[String]) -> f64 {
    if pred.is_empty() || gold.is_empty() {
        return f64::from(u8::from(pred.is_empty() && gold.is_empty()));
    }
    let mut counts = std::collections::HashMap::new();
    for t in gold {
        *counts.entry(t.as_str()).or_insert(0i64) += 1;
    }
    let mut common = 0i64;
    for t in pred {
        if let Some(c) = counts.get_mut(t.as_str()) {
            if *c > 0 {
                *c -= 1;
                common += 1;
            }
        }
    }
    if common == 0 {
        return 0.0;
    }
    let p = common as f64 / pred.len() as f64;
    let r = common as f64 / gold.len() as f64;
    2.0 * p * r / (p + r)
}

/// 1 when a reference's tokens appear, in order and contiguous, in the answer's tokens: small
/// models tend to answer in a sentence ("The capital is Paris."), which exact match punishes.
pub fn contains(answer: &str, references: &[String]) -> f64 {
    let a = answer_tokens(answer);
    let hit = references.iter().any(|r| {
        let g = answer_tokens(r);
        !g.is_empty() && a.windows(g.len()).any(|w| w == g.as_slice())
    });
    f64::from(u8::from(hit))
}

/// Whether `context` holds a reference answer: the reference's tokens, in order and contiguous,
/// among the context's, with the same CJK-aware normalisation as [`contains`]. A wrong answer
/// whose context lacks every reference is retrieval's miss, not the model's.
pub fn context_has_answer(context: &str, references: &[String]) -> bool {
    contains(context, references) == 1.0
}

/// Drops a leading "Answer:" / "答案：" that models add despite being told not to.
fn strip_answer_prefix(answer: &str) -> &str {
    let t = answer.trim();
    for p in ["answer:", "answer：", "答案：", "答案:", "答：", "答:"] {
        if t.len() >= p.len() && t.is_char_boundary(p.len()) && t[..p.len()].eq_ignore_ascii_case(p)
        {
            return t[p.len()..].trim();
        }
    }
    t
}

/// Characters of the prompt an answer must repeat, from its start, to be an echo.
const ECHO_CHARS: usize = 24;

/// Whether `answer` begins by repeating `prompt` (at least its first [`ECHO_CHARS`]
/// characters, ignoring case and spacing): what a base model with no chat tuning does. Such an
/// answer holds every label and the whole context, so string metrics would credit it.
pub fn echoes_prompt(answer: &str, prompt: &str) -> bool {
    let squash = |t: &str| -> Vec<char> {
        t.split_whitespace()
            .flat_map(|w| w.chars().flat_map(char::to_lowercase).chain([' ']))
            .take(ECHO_CHARS)
            .collect()
    };
    let p = squash(prompt);
    p.len() == ECHO_CHARS && squash(answer) == p
}

/// The label an answer names: an exact (normalised) match, else the one label the answer
/// mentions, preferring the longest when labels nest ("non-urgent" over "urgent").
pub fn parse_label(answer: &str, labels: &[String]) -> Option<String> {
    let a = normalize_answer(strip_answer_prefix(answer));
    if let Some(l) = labels.iter().find(|l| normalize_answer(l) == a) {
        return Some(l.clone());
    }
    let mut found: Vec<&String> = labels
        .iter()
        .filter(|l| {
            let n = normalize_answer(l);
            !n.is_empty() && a.contains(&n)
        })
        .collect();
    found.sort_by_key(|l| std::cmp::Reverse(normalize_answer(l).chars().count()));
    let first = found.first()?;
    // Several labels that do not contain one another: the answer is ambiguous.
    let first_n = normalize_answer(first);
    if found[1..]
        .iter()
        .all(|l| first_n.contains(&normalize_answer(l)))
    {
        Some((*first).clone())
    } else {
        None
    }
}

/// The first JSON object in a model's answer: bare, inside a ```json fence, or after a preamble.
pub fn extract_json_object(answer: &str) -> Option<Map<String, Value>> {
    let t = answer.trim();
    if let Ok(Value::Object(m)) = serde_json::from_str(t) {
        return Some(m);
    }
    let mut start = 0;
    while let Some(offset) = t[start..].find('{') {
        let open = start + offset;
        if let Some(close) = matching_close(t.as_bytes(), open) {
            if let Ok(Value::Object(m)) = serde_json::from_str(&t[open..=close]) {
                return Some(m);
            }
        }
        start = open + 1;
    }
    None
}

/// Index of the bracket (`[` or `{`) closing the one at `open`, minding JSON strings; `None`
/// when it never closes. For finding JSON inside a model's prose.
pub fn matching_close(bytes: &[u8], open: usize) -> Option<usize> {
    let (mut depth, mut in_str, mut escaped) = (0i32, false, false);
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether an extracted value equals the expected one: numbers numerically (so "1,200.00"
/// matches 1200), strings after width folding, case folding and whitespace removal; null and
/// "" both mean "absent".
pub fn field_matches(pred: Option<&Value>, gold: &Value) -> bool {
    let absent = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    };
    if absent(Some(gold)) {
        return absent(pred);
    }
    let Some(pred) = pred else { return false };
    if let (Some(a), Some(b)) = (as_number(pred), as_number(gold)) {
        return (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    }
    canonical(pred) == canonical(gold)
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let cleaned: String = s
                .chars()
                .map(fold_width)
                .filter(|c| !matches!(c, ',' | ' '))
                .collect();
            cleaned.parse().ok()
        }
        _ => None,
    }
}

fn canonical(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    s.chars()
        .map(fold_width)
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Share of `fields` extracted correctly; 0 when the answer holds no JSON object.
pub fn field_accuracy(
    pred: Option<&Map<String, Value>>,
    gold: &Map<String, Value>,
    fields: &[String],
) -> f64 {
    let Some(pred) = pred else { return 0.0 };
    if fields.is_empty() {
        return 1.0;
    }
    let ok = fields
        .iter()
        .filter(|f| {
            field_matches(
                pred.get(f.as_str()),
                gold.get(f.as_str()).unwrap_or(&Value::Null),
            )
        })
        .count();
    ok as f64 / fields.len() as f64
}

/// The judge's grade scaled to 0..=1: the number after the last "SCORE:" (half- or full-width
/// colon), clamped to 1..=scale.
pub fn parse_judge_grade(text: &str, scale: u32) -> Option<f64> {
    let upper = text.to_uppercase().replace('：', ":");
    let at = upper.rfind("SCORE:")?;
    let rest = upper[at + 6..].trim_start();
    let num: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let grade: f64 = num.parse().ok()?;
    let scale = f64::from(scale.max(2));
    Some((grade.clamp(1.0, scale) - 1.0) / (scale - 1.0))
}

/// A 0..=1 score: the number after the last "SCORE:" (half- or full-width colon). `None` when
/// there is none or it lies outside 0..=1: a judge that answered on another scale did not answer
/// the question asked.
pub fn parse_unit_score(text: &str) -> Option<f64> {
    let upper = text.to_uppercase().replace('：', ":");
    let at = upper.rfind("SCORE:")?;
    let num: String = upper[at + 6..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let v: f64 = num.parse().ok()?;
    (0.0..=1.0).contains(&v).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn qa_metrics_english_and_chinese() {
        assert_eq!(exact_match("The Paris.", &refs(&["paris"])), 1.0);
        assert_eq!(exact_match("Answer: Paris", &refs(&["paris"])), 1.0);
        assert_eq!(exact_match("It is Paris", &refs(&["paris"])), 0.0);
        assert_eq!(
            contains("The capital of France is Paris.", &refs(&["Paris"])),
            1.0
        );
        let f = token_f1("capital is Paris", &refs(&["Paris", "city of Paris"]));
        assert!((f - 0.5).abs() < 1e-9, "{f}");
        // CJK: character tokens give partial credit.
        let f = token_f1("北京市", &refs(&["北京"]));
        assert!((f - 0.8).abs() < 1e-9, "{f}");
        assert_eq!(
            contains("合同甲方是北京某某公司。", &refs(&["北京某某公司"])),
            1.0
        );
        assert_eq!(exact_match("答案：三十天", &refs(&["三十天"])), 1.0);
    }

    #[test]
    fn answers_that_repeat_the_prompt_are_echoes() {
        let prompt = "Classify the text into exactly one of these labels: 风险, 欺诈, 客服.";
        assert!(echoes_prompt(
            "classify the text into  exactly one of these labels: 风险, 欺",
            prompt
        ));
        assert!(!echoes_prompt("风险", prompt));
        assert!(!echoes_prompt("Classify the text: 风险", prompt));
        assert!(!echoes_prompt("short", "short"), "too short to tell");
    }

    #[test]
    fn labels_are_found_but_not_guessed() {
        let labels = refs(&["urgent", "non-urgent", "spam"]);
        assert_eq!(parse_label("Urgent.", &labels).as_deref(), Some("urgent"));
        assert_eq!(
            parse_label("This is non-urgent", &labels).as_deref(),
            Some("non-urgent")
        );
        assert_eq!(parse_label("spam or urgent", &labels), None);
        assert_eq!(parse_label("no idea", &labels), None);
        let zh = refs(&["投诉", "咨询"]);
        assert_eq!(parse_label("类别：投诉", &zh).as_deref(), Some("投诉"));
    }

    #[test]
    fn json_objects_are_found_in_chatty_answers() {
        let m = extract_json_object("Sure!\n```json\n{\"a\": \"x}\", \"b\": 2}\n```").unwrap();
        assert_eq!(m["a"], "x}");
        assert!(extract_json_object("no json here {").is_none());
        let gold: Map<String, Value> =
            serde_json::from_str(r#"{"amount": 1200, "party": "ＡＢＣ 公司", "date": null}"#)
                .unwrap();
        let pred: Map<String, Value> =
            serde_json::from_str(r#"{"amount": "1,200.00", "party": "abc公司", "date": ""}"#)
                .unwrap();
        let fields = refs(&["amount", "party", "date"]);
        assert_eq!(field_accuracy(Some(&pred), &gold, &fields), 1.0);
        assert_eq!(field_accuracy(None, &gold, &fields), 0.0);
    }

    #[test]
    fn judge_grades() {
        assert_eq!(parse_judge_grade("Reasoning...\nSCORE: 5", 5), Some(1.0));
        assert_eq!(parse_judge_grade("score：3", 5), Some(0.5));
        assert_eq!(parse_judge_grade("SCORE: 1 then SCORE: 9", 5), Some(1.0));
        assert_eq!(parse_judge_grade("great answer", 5), None);
        assert_eq!(parse_unit_score("All supported.\nSCORE: 0.75"), Some(0.75));
        assert_eq!(parse_unit_score("score：1"), Some(1.0));
        assert_eq!(parse_unit_score("SCORE: 4"), None);
    }

    #[test]
    fn answers_are_found_in_context_by_tokens() {
        let ctx = "合同约定付款期限为30天。The buyer is Acme Ltd.";
        assert!(context_has_answer(ctx, &refs(&["30天"])));
        assert!(context_has_answer(ctx, &refs(&["no", "ACME ltd"])));
        assert!(!context_has_answer(ctx, &refs(&["60天"])));
        // Whole tokens only: "Acm" is not "Acme".
        assert!(!context_has_answer(ctx, &refs(&["Acm"])));
    }
}
