//! QA sets for retrieval evaluation: (question, answers, source document) triples whose answers
//! occur verbatim in the source. [`QaGenerator`] is the seam for generators; the
//! [`ExtractiveQaGenerator`] needs no model: it turns sentences with numbers, dates and
//! quantities into cloze or "……是多少？" questions, and table rows (`Row 5: 客户: 张三; 额度: 5万`)
//! into "张三的额度是多少？". [`generate_qa_set`] filters, de-duplicates and caps whatever a
//! generator proposes, so the LLM generator ([`crate::qa_llm`]) gets the same guarantees.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use adopt_core::Reporter;
use rayon::prelude::*;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::functions::is_cjk;
use crate::qa_llm::{LlmQaConfig, LlmQaStats};
use crate::{LabelRecord, Result};

/// Which generator proposes the QA pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QaGeneratorKind {
    /// Numbers, dates, quantities and table rows, by rule; needs no model.
    #[default]
    Extractive,
    /// A chat model, configured in `[qa.llm]`.
    Llm,
}

/// Settings of QA-set generation, `[label.qa]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct QaConfig {
    /// Generate a QA set at all.
    pub enabled: bool,
    /// Most pairs kept per record, so that long documents do not dominate the set.
    pub max_per_record: usize,
    /// Most pairs overall; 0 keeps all.
    pub max_total: usize,
    /// Shortest answer kept, in characters.
    pub min_answer_chars: usize,
    /// Longest answer kept, in characters (long spans make poor exact-match targets).
    pub max_answer_chars: usize,
    /// Shortest question kept, in characters.
    pub min_question_chars: usize,
    /// Longest question kept, in characters.
    pub max_question_chars: usize,
    /// Ask about sentences with numbers, dates and quantities.
    pub sentences: bool,
    /// Ask about table rows ("Row N: key: value; ...").
    pub table_rows: bool,
    /// `"extractive"` (rules, no model) or `"llm"` (a chat model, `[qa.llm]`; when it cannot be
    /// reached the extractive generator stands in and the report says so).
    pub generator: QaGeneratorKind,
    /// The chat model and chunking of the LLM generator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmQaConfig>,
}

impl Default for QaConfig {
    fn default() -> Self {
        QaConfig {
            enabled: true,
            max_per_record: 5,
            max_total: 0,
            min_answer_chars: 1,
            max_answer_chars: 40,
            min_question_chars: 6,
            max_question_chars: 80,
            sentences: true,
            table_rows: true,
            generator: QaGeneratorKind::Extractive,
            llm: None,
        }
    }
}

impl QaConfig {
    pub(crate) fn validate(&self, errors: &mut Vec<String>) {
        if self.min_answer_chars == 0 || self.min_answer_chars > self.max_answer_chars {
            errors.push(format!(
                "qa: need 1 <= min-answer-chars ({}) <= max-answer-chars ({})",
                self.min_answer_chars, self.max_answer_chars
            ));
        }
        if self.min_question_chars > self.max_question_chars {
            errors.push(format!(
                "qa: min-question-chars ({}) > max-question-chars ({})",
                self.min_question_chars, self.max_question_chars
            ));
        }
        if self.max_per_record == 0 {
            errors.push("qa.max-per-record must be at least 1".into());
        }
        if self.enabled && !self.sentences && !self.table_rows {
            errors.push("qa: enable `sentences` or `table-rows`".into());
        }
        if self.generator == QaGeneratorKind::Llm && self.llm.is_none() {
            errors.push(
                "qa: generator = \"llm\" needs a [qa.llm] table with an [qa.llm.endpoint]".into(),
            );
        }
        if let Some(llm) = &self.llm {
            llm.validate(errors);
        }
    }
}

/// One question with its accepted answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaPair {
    pub question: String,
    /// Accepted answers; each occurs verbatim in the source record.
    pub answers: Vec<String>,
    /// File name of the source document (what the KB eval matches retrieved chunks against).
    pub doc: String,
    /// Id of the record the pair came from.
    pub record_id: String,
    /// How it was made ("cloze", "template", "table-row", or a generator's own name such as
    /// "llm:qwen2.5-7b").
    pub method: String,
    /// The part of the record the generator read, when it read less than the whole record;
    /// the answers occur verbatim in it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<String>,
}

/// Proposes QA pairs for records. Implementations need not filter: [`generate_qa_set`] checks
/// lengths, verbatim answers and duplicates for every generator alike.
pub trait QaGenerator: Send + Sync {
    /// Name for reports ("extractive", "llm:qwen2.5-7b").
    fn name(&self) -> &str;
    /// Candidate pairs for one record.
    fn generate(&self, record: &LabelRecord) -> Result<Vec<QaPair>>;
    /// Records per [`generate_batch`](QaGenerator::generate_batch) call; LLM generators batch.
    fn batch_size(&self) -> usize {
        16
    }
    /// Candidates for several records, one list per record.
    fn generate_batch(&self, records: &[LabelRecord]) -> Result<Vec<Vec<QaPair>>> {
        records.iter().map(|r| self.generate(r)).collect()
    }
}

/// What [`generate_qa_set`] kept and dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QaReport {
    pub generator: String,
    pub records: usize,
    pub candidates: usize,
    pub kept: usize,
    /// Answers not found verbatim in the source, answers that are a redaction placeholder
    /// (`[PHONE]`: the value is gone), or questions that give their answer away.
    pub dropped_not_verbatim: usize,
    pub dropped_length: usize,
    /// The same question asked again with the same answers.
    pub dropped_duplicate: usize,
    /// The same question with different answers (in one document or across documents): no
    /// single right answer, so every copy goes.
    pub dropped_ambiguous: usize,
    /// Over `max-per-record` or `max-total`.
    pub dropped_cap: usize,
    /// Set when `generator` is not the configured one: why the configured one was not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<QaFallback>,
    /// Requests, replies and failures of the LLM generator, when one was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmQaStats>,
}

/// The configured generator could not be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaFallback {
    /// The generator the configuration asked for ("llm:qwen2.5-7b").
    pub requested: String,
    /// Why it was not used (names the endpoint's URL).
    pub reason: String,
}

/// A QA set and its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaSet {
    pub pairs: Vec<QaPair>,
    pub report: QaReport,
}

/// Runs `generator` over `records` and keeps candidates that pass every check, in record order.
pub fn generate_qa_set(
    generator: &dyn QaGenerator,
    records: &[LabelRecord],
    config: &QaConfig,
    reporter: &dyn Reporter,
) -> Result<QaSet> {
    let mut report = QaReport {
        generator: generator.name().to_owned(),
        records: records.len(),
        ..QaReport::default()
    };
    reporter.start("QA candidates", records.len() as u64);
    let batches: Vec<Vec<Vec<QaPair>>> = records
        .par_chunks(generator.batch_size().max(1))
        .map(|chunk| {
            let out = generator.generate_batch(chunk);
            for r in chunk {
                reporter.advance(&r.id);
            }
            out
        })
        .collect::<Result<_>>()?;
    reporter.finish();

    let mut per_record: Vec<Vec<QaPair>> = Vec::with_capacity(records.len());
    for (record, candidates) in records.iter().zip(batches.into_iter().flatten()) {
        let mut kept = Vec::new();
        for mut pair in candidates {
            report.candidates += 1;
            let qlen = pair.question.chars().count();
            pair.answers.retain(|a| {
                let n = a.chars().count();
                n >= config.min_answer_chars && n <= config.max_answer_chars
            });
            if pair.answers.is_empty()
                || qlen < config.min_question_chars
                || qlen > config.max_question_chars
            {
                report.dropped_length += 1;
                continue;
            }
            let chunk = pair.chunk.as_deref();
            pair.answers.retain(|a| {
                record.text.contains(a.as_str())
                    && chunk.is_none_or(|c| c.contains(a.as_str()))
                    && !pair.question.contains(a.as_str())
                    && !is_placeholder(a)
            });
            if pair.answers.is_empty() {
                report.dropped_not_verbatim += 1;
                continue;
            }
            kept.push(pair);
        }
        per_record.push(kept);
    }

    // Ambiguity is judged on every candidate, before caps, so a cap cannot hide a conflict.
    let mut answers_of: HashMap<String, Vec<String>> = HashMap::new();
    let mut ambiguous: HashMap<String, bool> = HashMap::new();
    for pair in per_record.iter().flatten() {
        let key = question_key(&pair.question);
        let mut answers = pair.answers.clone();
        answers.sort();
        match answers_of.get(&key) {
            Some(seen) if *seen != answers => {
                ambiguous.insert(key, true);
            }
            Some(_) => {}
            None => {
                answers_of.insert(key, answers);
            }
        }
    }
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut pairs = Vec::new();
    for kept in per_record {
        let mut n = 0;
        for pair in kept {
            let key = question_key(&pair.question);
            if ambiguous.contains_key(&key) {
                report.dropped_ambiguous += 1;
            } else if seen.insert(key, ()).is_some() {
                report.dropped_duplicate += 1;
            } else if n >= config.max_per_record
                || (config.max_total > 0 && pairs.len() >= config.max_total)
            {
                report.dropped_cap += 1;
            } else {
                n += 1;
                pairs.push(pair);
            }
        }
    }
    report.kept = pairs.len();
    Ok(QaSet { pairs, report })
}

/// `[PHONE]`, `[ID_CARD]`: what clean's PII redaction left in place of a value.
fn is_placeholder(answer: &str) -> bool {
    let a = answer.trim();
    a.len() > 2
        && a.starts_with('[')
        && a.ends_with(']')
        && a[1..a.len() - 1]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Questions equal up to case, spacing and punctuation are the same question.
fn question_key(q: &str) -> String {
    q.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// JSON lines in the KB evaluation's format: `{"question":..,"answers":[..],"doc":..}`.
pub fn qa_jsonl(pairs: &[QaPair]) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        question: &'a str,
        answers: &'a [String],
        doc: &'a str,
    }
    let mut out = String::new();
    for p in pairs {
        let line = Line {
            question: &p.question,
            answers: &p.answers,
            doc: &p.doc,
        };
        out.push_str(&serde_json::to_string(&line).expect("plain data serialises"));
        out.push('\n');
    }
    out
}

/// The model-free generator described in the module docs.
#[derive(Debug, Clone)]
pub struct ExtractiveQaGenerator {
    config: QaConfig,
}

impl ExtractiveQaGenerator {
    pub fn new(config: &QaConfig) -> Self {
        ExtractiveQaGenerator {
            config: config.clone(),
        }
    }
}

/// What a span is, which decides the question word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpanKind {
    Decade,
    Year,
    Date,
    Percent,
    Quantity,
    ChineseQuantity,
    Ordinal,
    EnglishNumber,
}

const UNITS: &str = "个月|世纪|年代|平方公里|平方千米|平方米|立方米|公里|千米|厘米|毫米|公顷|公斤|千克|小时|分钟|美元|欧元|日元|港元|英镑|人民币|元|人|名|位|件|次|年|岁|天|日|秒|米|亩|吨|克|座|所|家|项|条|种|部|本|层|届|场|集|首|章|卷|期|辆|架|艘|倍|度|户|栋|间|台|株|只|匹|册|份|页|字|国|省|县|队|支|分|票|枚|款|代|周|季|局|球|门|篇|张|幅|块|英里|英尺|磅|盎司|瓦|伏|赫兹|毫升|升";

static SPAN: LazyLock<Regex> = LazyLock::new(|| {
    let units = UNITS;
    Regex::new(&format!(
        r"(?x)
        (?P<decade>\d{{3}}0年代)
        |(?P<date>\d{{4}}年\d{{1,2}}月(?:\d{{1,2}}日)?|\d{{1,2}}月\d{{1,2}}日|\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}})
        |(?P<year>\d{{4}}年)
        |(?P<ordinal>第[\d零一二两三四五六七八九十百千]+(?:届|次|名|位|个|章|集|季|代|任|期|号|条|款|层|天|年|轮|场|局))
        |(?P<percent>\d+(?:\.\d+)?\s?[%％‰])
        |(?P<quantity>\d[\d,，]*(?:\.\d+)?(?:[万亿千百])*(?:余|多)?(?:{units}))
        |(?P<zh>[两三四五六七八九十百千万亿][零一二两三四五六七八九十百千万亿]*(?:{units}))
        |(?P<en>\b\d[\d,]*(?:\.\d+)?(?:\s?(?:million|billion|thousand|percent))?\b)
        "
    ))
    .expect("static regex")
});

static ROW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Row \d+: (.+)$").expect("static regex"));

/// Verbs after which a trailing quantity is the clause's value: "人口达13亿" -> "人口是多少？".
/// Longer verbs first, so that "可达" is not read as "可" + "达".
const COPULAS: [&str; 19] = [
    "约为", "达到", "高达", "可达", "长达", "多达", "共有", "超过", "总计", "约有", "仅有", "约合",
    "为", "是", "达", "约", "共", "有", "逾",
];

impl QaGenerator for ExtractiveQaGenerator {
    fn name(&self) -> &str {
        "extractive"
    }

    fn generate(&self, record: &LabelRecord) -> Result<Vec<QaPair>> {
        let doc = record.file_name().to_owned();
        let mut out = Vec::new();
        let mut push = |question: String, answer: &str, method: &str| {
            out.push(QaPair {
                question,
                answers: vec![answer.to_owned()],
                doc: doc.clone(),
                record_id: record.id.clone(),
                method: method.to_owned(),
                chunk: None,
            })
        };
        let mut prose = String::new();
        for line in record.text.lines() {
            match ROW.captures(line.trim()) {
                Some(c) if self.config.table_rows => {
                    for (q, a) in table_row_questions(&c[1]) {
                        push(q, a, "table-row");
                    }
                }
                Some(_) => {}
                None => {
                    prose.push_str(line);
                    prose.push('\n');
                }
            }
        }
        if self.config.sentences {
            let title = record.metadata.get("title").map(String::as_str);
            for sentence in sentences(&prose) {
                for (q, a, method) in sentence_questions(sentence, title) {
                    push(q, a, method);
                }
            }
        }
        Ok(out)
    }
}

/// "客户: 张三; 额度: 5万" -> ("张三的额度是多少？", "5万"); the first cell names the row.
fn table_row_questions(cells: &str) -> Vec<(String, &str)> {
    let cells: Vec<(&str, &str)> = cells
        .split("; ")
        .filter_map(|c| c.split_once(": "))
        .map(|(k, v)| (k.trim(), v.trim()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect();
    let Some(((_, row_key), rest)) = cells.split_first() else {
        return Vec::new();
    };
    rest.iter()
        .filter(|(_, v)| v != row_key)
        .map(|(k, v)| {
            let q = if row_key.chars().chain(k.chars()).any(is_cjk) {
                format!("{row_key}的{k}是多少？")
            } else {
                format!("What is the {k} of {row_key}?")
            };
            (q, *v)
        })
        .collect()
}

/// Sentences of prose: split after 。！？；!?; and line breaks, and after `.` followed by a
/// space (so "3.5" stays whole).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let ends = matches!(c, '。' | '！' | '？' | '；' | '!' | '?' | ';' | '\n')
            || (c == '.' && next.is_none_or(char::is_whitespace));
        if ends {
            let end = i + c.len_utf8();
            let s = text[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    let s = text[start..].trim();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

fn span_kind(c: &regex::Captures<'_>) -> Option<SpanKind> {
    Some(if c.name("decade").is_some() {
        SpanKind::Decade
    } else if c.name("date").is_some() {
        SpanKind::Date
    } else if c.name("year").is_some() {
        SpanKind::Year
    } else if c.name("ordinal").is_some() {
        SpanKind::Ordinal
    } else if c.name("percent").is_some() {
        SpanKind::Percent
    } else if c.name("quantity").is_some() {
        SpanKind::Quantity
    } else if c.name("zh").is_some() {
        SpanKind::ChineseQuantity
    } else if c.name("en").is_some() {
        SpanKind::EnglishNumber
    } else {
        return None;
    })
}

static DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d[\d,，]*(?:\.\d+)?(?:余|多)?").expect("static regex"));
static ZH_NUMERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[零一二两三四五六七八九十百千万亿]+").expect("static regex"));

/// The question phrase that stands in for a span: "4分钟" -> "多少分钟", "第37届" -> "第几届".
fn question_word(span: &str, kind: SpanKind) -> String {
    match kind {
        SpanKind::Decade => "哪个年代".into(),
        SpanKind::Year => "哪一年".into(),
        SpanKind::Date => "什么时候".into(),
        SpanKind::Percent => "百分之多少".into(),
        SpanKind::Quantity => {
            // Keep 万/亿 with the unit: "500万元" -> "多少万元".
            let number = DIGITS.find(span).map_or(0, |m| m.end());
            format!("多少{}", &span[number..])
        }
        SpanKind::ChineseQuantity => {
            let number = ZH_NUMERAL.find(span).map_or(0, |m| m.end());
            format!("几{}", &span[number..])
        }
        SpanKind::Ordinal => {
            let unit = span.chars().last().expect("ordinal has a unit");
            format!("第几{unit}")
        }
        SpanKind::EnglishNumber => "___".into(),
    }
}

/// Words that make a clause lean on the one before it; such questions get the title in front.
const LEANING: [&str; 14] = [
    "他", "她", "它", "其", "该", "此", "这", "那", "但", "而", "并", "同时", "此外", "因此",
];

/// Questions about the numbers, dates and quantities of one sentence.
fn sentence_questions<'s>(
    sentence: &'s str,
    title: Option<&str>,
) -> Vec<(String, &'s str, &'static str)> {
    let cjk = sentence.chars().any(is_cjk);
    let mut out = Vec::new();
    for c in SPAN.captures_iter(sentence) {
        let Some(kind) = span_kind(&c) else { continue };
        let m = c.get(0).expect("whole match");
        let span = m.as_str();
        if cjk == (kind == SpanKind::EnglishNumber) {
            continue; // Chinese templates for Chinese sentences, the blank for others.
        }
        // "一种", "一个" are articles, not quantities.
        if kind == SpanKind::ChineseQuantity && span.starts_with('一') && span.chars().count() == 2
        {
            continue;
        }
        if !cjk {
            let q = format!(
                "Fill in the blank: {}___{}",
                &sentence[..m.start()],
                &sentence[m.end()..]
            );
            out.push((q, span, "cloze"));
            continue;
        }
        // The clause the span sits in, then as many neighbouring clauses as keep the question
        // short: enough context to be answerable, not the whole run-on sentence.
        let before = &sentence[..m.start()];
        let after = &sentence[m.end()..];
        let clause_end = after.find(CLAUSE_END).unwrap_or(after.len());
        let tail = &after[..clause_end];
        let clause_start = before.rfind(CLAUSE_END).map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
        let subject_part = &before[clause_start..];
        let word = question_word(span, kind);

        let template = tail.trim().is_empty().then(|| {
            COPULAS.iter().find_map(|v| {
                let subject = subject_part.strip_suffix(v)?.trim();
                (subject.chars().count() >= 2).then_some(subject)
            })
        });
        let (core, method) = match template.flatten() {
            Some(subject) => {
                let ask = match kind {
                    SpanKind::Year => "是哪一年".to_owned(),
                    SpanKind::Date => "是什么时候".to_owned(),
                    _ => format!("是{word}"),
                };
                (format!("{subject}{ask}"), "template")
            }
            None => (format!("{subject_part}{word}{tail}"), "cloze"),
        };
        let mut question = core;
        let chars = |s: &str| s.chars().count();
        for clause in clauses(&before[..clause_start]).into_iter().rev() {
            if chars(&question) + chars(clause) > 40 {
                break;
            }
            question.insert_str(0, clause);
        }
        if method == "cloze" {
            for clause in clauses(&after[clause_end..]) {
                if chars(&question) + chars(clause) > 50 {
                    break;
                }
                question.push_str(clause);
            }
        }
        let question = without_asides(&question, &word);
        let mut question = strip_end_punct(&question).to_owned();
        if let Some(title) = title {
            let leans = LEANING.iter().any(|w| question.starts_with(w));
            if (leans || question.chars().count() < 12) && !question.contains(title) {
                question = format!("{title}：{question}");
            }
        }
        question.push('？');
        out.push((question, span, method));
    }
    out
}

const CLAUSE_END: [char; 11] = ['，', ',', '。', '！', '？', '；', '：', ':', '!', '?', ';'];

/// Splits text into clauses, each keeping the punctuation that ends it.
fn clauses(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if CLAUSE_END.contains(&c) {
            out.push(&text[start..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Drops bracketed asides ("（1546年）", "(每次中离+4分钟)") that do not hold the question
/// word: they often repeat the answer or another number and only lengthen the question.
fn without_asides(question: &str, word: &str) -> String {
    static ASIDE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[（(][^（）()]*[）)]").expect("static regex"));
    ASIDE
        .replace_all(question, |c: &regex::Captures<'_>| {
            if c[0].contains(word) {
                c[0].to_owned()
            } else {
                String::new()
            }
        })
        .into_owned()
}

fn strip_end_punct(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_whitespace() || "。！？；，,.!?;：:、".contains(c))
}

/// Pairs per `method`, for reports and tests.
pub fn count_by_method(pairs: &[QaPair]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for p in pairs {
        *m.entry(p.method.clone()).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions(s: &str) -> Vec<(String, String)> {
        sentence_questions(s, None)
            .into_iter()
            .map(|(q, a, _)| (q, a.to_owned()))
            .collect()
    }

    #[test]
    fn redaction_placeholders_are_not_answers() {
        assert!(is_placeholder("[PHONE]") && is_placeholder(" [ID_CARD] "));
        assert!(!is_placeholder("[1]x") && !is_placeholder("[]") && !is_placeholder("[张三]"));
    }

    #[test]
    fn cloze_keeps_the_unit() {
        assert_eq!(
            questions("若游戏中离，则4分钟内不得进行配对。"),
            vec![(
                "若游戏中离，则多少分钟内不得进行配对？".into(),
                "4分钟".into()
            )]
        );
    }

    #[test]
    fn copula_template() {
        assert_eq!(
            questions("截至去年，该市常住人口达1200万人。"),
            vec![(
                "截至去年，该市常住人口是多少万人？".into(),
                "1200万人".into()
            )]
        );
        assert_eq!(
            questions("公司成立于2008年，总部位于上海。"),
            vec![("公司成立于哪一年，总部位于上海？".into(), "2008年".into())]
        );
        assert_eq!(
            questions("第37届金马奖于台北举行。"),
            vec![("第几届金马奖于台北举行？".into(), "第37届".into())]
        );
    }

    #[test]
    fn articles_are_not_quantities() {
        assert!(questions("这是一种新的游戏模式。").is_empty());
        assert_eq!(questions("全队共有三名队员。")[0].0, "全队共有几名队员？");
    }

    #[test]
    fn table_rows() {
        let qs = table_row_questions("客户: 张三; 授信额度: 50000; 开户日期: 2023-04-01");
        assert_eq!(
            qs,
            vec![
                ("张三的授信额度是多少？".to_string(), "50000"),
                ("张三的开户日期是多少？".to_string(), "2023-04-01"),
            ]
        );
        let en = table_row_questions("Station: London; Celsius: 15");
        assert_eq!(
            en,
            vec![("What is the Celsius of London?".to_string(), "15")]
        );
    }

    #[test]
    fn sentences_split_without_breaking_decimals() {
        assert_eq!(
            sentences("增长3.5%。Next one. 第二句！"),
            vec!["增长3.5%。", "Next one.", "第二句！"]
        );
    }
}
