//! The whole stage on generated office documents: functions of every kind (similarity through a
//! small character-bigram embedder), the label model, gold labels, outputs on disk.

use adopt_core::{EmbedError, Embedder, Format, NoopReporter};
use adopt_label::{run, write_outputs, LabelConfig, LabelRecord, LabelSource};

use crate::Rng;

pub const LABELS: [&str; 3] = ["财务", "人事", "法务"];

/// Sentences typical of each label, and neutral filler.
const PHRASES: [&[&str]; 3] = [
    &[
        "请在月底前提交差旅报销单据",
        "本季度增值税发票已全部认证",
        "预算执行率为百分之八十五",
        "付款申请需附发票原件",
    ],
    &[
        "新员工入职培训安排在周一",
        "年度绩效考核结果已公布",
        "请假需提前三天提交申请",
        "社保缴纳基数将于七月调整",
    ],
    &[
        "合同编号：HT2024001 的违约条款需复核",
        "请法务部审核保密协议",
        "诉讼材料已提交法院",
        "本合同自双方签字之日起生效",
    ],
];
const FILLER: [&str; 4] = [
    "会议定于下午三点召开",
    "请各部门相互配合",
    "如有疑问请联系行政部",
    "以上内容请知悉",
];
const DEPARTMENTS: [&str; 3] = ["财务部", "人力资源部", "法务部"];

/// `n` documents with their true labels; a quarter carry the label in `category` metadata.
/// Each mixes two sentences of its label, one of another label (the noise that makes functions
/// conflict) and filler; one in five sits in another department's folder.
pub fn office_records(n: usize, seed: u64) -> (Vec<LabelRecord>, Vec<usize>) {
    let mut rng = Rng(seed);
    let mut records = Vec::new();
    let mut truth = Vec::new();
    for i in 0..n {
        let y = rng.pick(&[0.5, 0.3, 0.2]);
        let other = (y + 1 + rng.below(2)) % 3;
        let mut parts = vec![
            PHRASES[y][rng.below(4)],
            PHRASES[y][rng.below(4)],
            FILLER[rng.below(4)],
        ];
        if rng.unit() < 0.5 {
            parts.push(PHRASES[other][rng.below(4)]);
        }
        let dept = if rng.unit() < 0.8 { y } else { other };
        let mut r = LabelRecord::new(format!("doc-{i:04}"), parts.join("。") + "。");
        r.department = Some(DEPARTMENTS[dept].into());
        r.format = Some(if i % 2 == 0 {
            Format::Docx
        } else {
            Format::Pdf
        });
        r.source_path = format!("share/{}/通知{i}.docx", ["finance", "hr", "legal"][dept]);
        if i % 4 == 0 {
            r.metadata.insert("category".into(), LABELS[y].into());
        }
        records.push(r);
        truth.push(y);
    }
    (records, truth)
}

/// Embeds texts as hashed character-bigram counts: texts sharing phrases land close together,
/// which is what a similarity function needs to be tested without a model file.
pub struct BigramEmbedder;

impl Embedder for BigramEmbedder {
    fn model_id(&self) -> &str {
        "test-bigram-256"
    }
    fn dim(&self) -> usize {
        256
    }
    fn max_tokens(&self) -> usize {
        512
    }
    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts
            .iter()
            .map(|t| {
                let chars: Vec<char> = t.chars().collect();
                let mut v = vec![0f32; 256];
                for w in chars.windows(2) {
                    let h = (u32::from(w[0]).wrapping_mul(31) ^ u32::from(w[1])) as usize;
                    v[h % 256] += 1.0;
                }
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
                v.iter().map(|x| x / norm).collect()
            })
            .collect())
    }
    fn embed_query(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        Ok(self.embed_passages(&[text])?.remove(0))
    }
    fn count_tokens(&self, text: &str) -> usize {
        text.chars().count()
    }
    fn batch_size(&self) -> usize {
        7
    }
}

pub const PIPELINE: &str = r#"
labels = ["财务", "人事", "法务"]
gold-key = "category"

[[functions]]
name = "kw-finance"
kind = "keywords"
label = "财务"
any = ["发票", "报销", "预算"]

[[functions]]
name = "kw-hr"
kind = "keywords"
label = "人事"
any = ["入职", "绩效", "请假", "社保"]

[[functions]]
name = "re-contract"
kind = "regex"
label = "法务"
pattern = '合同|协议|诉讼'

[[functions]]
name = "dept-legal"
kind = "metadata"
label = "法务"
department = ["法务部"]

[[functions]]
name = "path-hr"
kind = "metadata"
label = "人事"
path-glob = ["**/hr/**"]

[[functions]]
name = "sim-finance"
kind = "similarity"
label = "财务"
seeds = ["请在月底前提交差旅报销单据。付款申请需附发票原件。"]
threshold = 0.3

[annotation]
budget = 40
"#;

#[test]
fn stage_labels_generated_documents_and_writes_outputs() {
    let (records, truth) = office_records(600, 7);
    let config: LabelConfig = toml::from_str(PIPELINE).unwrap();
    let out = run(&config, &records, &[], Some(&BigramEmbedder), &NoopReporter).unwrap();
    assert_eq!(out.records.len(), 600);
    let report = &out.report;
    assert_eq!(report.functions.len(), 6);
    let sim = report
        .functions
        .iter()
        .find(|f| f.name == "sim-finance")
        .unwrap();
    assert!(sim.coverage > 0.1, "{sim:?}");
    assert!(report
        .functions
        .iter()
        .all(|f| f.empirical_accuracy.is_some()));
    let totals = report.totals.unwrap();
    assert!(
        totals.coverage > 0.95 && totals.conflict > 0.2,
        "{totals:?}"
    );

    let gold = report.gold.as_ref().unwrap();
    assert_eq!(gold.records, 150);
    let (mv, ds) = (
        gold.majority_accuracy.unwrap(),
        gold.model_accuracy.unwrap(),
    );
    assert!(
        ds >= 0.85 && ds >= mv - 0.02,
        "majority {mv:.3}, model {ds:.3}"
    );

    // Model labels on records without gold agree with the truth as often as on gold records.
    let model_rows: Vec<usize> = (0..600)
        .filter(|&i| out.records[i].source == LabelSource::Model && out.records[i].label.is_some())
        .collect();
    let right = model_rows
        .iter()
        .filter(|&&i| out.records[i].label.as_deref() == Some(LABELS[truth[i]]))
        .count();
    assert!(right as f64 / model_rows.len() as f64 >= 0.85);
    for r in &out.records {
        assert!((r.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
    assert_eq!(report.by_source["gold"], 150);

    // The annotation round skips gold records and goes most uncertain first.
    assert_eq!(out.tasks.len(), 40);
    assert!(out
        .tasks
        .windows(2)
        .all(|w| w[0].data.uncertainty >= w[1].data.uncertainty));
    assert!(out.tasks.iter().all(|t| {
        let i = records
            .iter()
            .position(|r| r.id == t.data.record_id)
            .unwrap();
        !records[i].metadata.contains_key("category")
    }));

    let dir = tempfile::tempdir().unwrap();
    let written = write_outputs(dir.path(), &out).unwrap();
    for name in [
        "labels.jsonl",
        "labels.csv",
        "functions.csv",
        "report.json",
        "annotation/tasks.json",
        "annotation/config.xml",
        "annotation/tasks.csv",
        "qa.jsonl",
    ] {
        assert!(written.contains(&dir.path().join(name)), "{name}");
    }
    let jsonl = std::fs::read_to_string(dir.path().join("labels.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), 600);
    let report_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report_json["records"], 600);
}

#[test]
fn similarity_without_embedder_is_a_clear_error() {
    let config: LabelConfig = toml::from_str(PIPELINE).unwrap();
    let err = run(&config, &[], &[], None, &NoopReporter).unwrap_err();
    assert!(err.to_string().contains("sim-finance"), "{err}");
}
