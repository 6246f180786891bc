//! The labelled records `adopt label` produces and their JSONL / CSV forms.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::csv;
use crate::LabelSet;

/// Where a record's label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelSource {
    /// The label model.
    Model,
    /// A known label carried in the record's metadata.
    Gold,
    /// The consensus of human annotators.
    Human,
}

impl LabelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelSource::Model => "model",
            LabelSource::Gold => "gold",
            LabelSource::Human => "human",
        }
    }
}

/// One labelled record: a row of `label/labels.parquet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledRecord {
    /// The [`LabelRecord::id`](crate::LabelRecord::id) it labels.
    pub id: String,
    /// The label, or `None` when no function voted and no human or gold label exists (a guess
    /// from class priors alone is not a label).
    pub label: Option<String>,
    /// Probability of `label` (the largest of `probabilities`); 1 for human and gold labels.
    pub probability: f64,
    /// Probability of each label, in the order of the pipeline's `labels`.
    pub probabilities: Vec<f64>,
    /// Number of functions that voted.
    pub votes: usize,
    pub source: LabelSource,
}

/// JSON lines, one object per record, probabilities keyed by label name in label order:
/// `{"id":..,"label":..,"probability":..,"probabilities":{"hr":0.9,..},"votes":2,"source":"model"}`.
pub fn labels_jsonl(labels: &LabelSet, records: &[LabeledRecord]) -> String {
    struct Named<'a>(&'a LabelSet, &'a [f64]);
    impl Serialize for Named<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.1.len()))?;
            for (name, p) in self.0.names().iter().zip(self.1) {
                map.serialize_entry(name, p)?;
            }
            map.end()
        }
    }
    #[derive(Serialize)]
    struct Line<'a> {
        id: &'a str,
        label: Option<&'a str>,
        probability: f64,
        probabilities: Named<'a>,
        votes: usize,
        source: LabelSource,
    }
    let mut out = String::new();
    for r in records {
        let line = Line {
            id: &r.id,
            label: r.label.as_deref(),
            probability: r.probability,
            probabilities: Named(labels, &r.probabilities),
            votes: r.votes,
            source: r.source,
        };
        out.push_str(&serde_json::to_string(&line).expect("plain data serialises"));
        out.push('\n');
    }
    out
}

/// CSV with one `p_<label>` column per label: `id,label,probability,votes,source,p_hr,...`.
pub fn labels_csv(labels: &LabelSet, records: &[LabeledRecord]) -> String {
    let mut out = String::new();
    let mut header: Vec<String> = ["id", "label", "probability", "votes", "source"]
        .map(String::from)
        .to_vec();
    header.extend(labels.names().iter().map(|l| format!("p_{l}")));
    csv::write_row(&mut out, &header);
    for r in records {
        let mut row = vec![
            r.id.clone(),
            r.label.clone().unwrap_or_default(),
            format!("{:.6}", r.probability),
            r.votes.to_string(),
            r.source.as_str().to_owned(),
        ];
        row.extend(r.probabilities.iter().map(|p| format!("{p:.6}")));
        csv::write_row(&mut out, &row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_keeps_label_order() {
        let labels = LabelSet::new(vec!["财务".into(), "hr".into()]);
        let r = LabeledRecord {
            id: "a".into(),
            label: Some("hr".into()),
            probability: 0.75,
            probabilities: vec![0.25, 0.75],
            votes: 2,
            source: LabelSource::Model,
        };
        let line = labels_jsonl(&labels, std::slice::from_ref(&r));
        assert_eq!(
            line,
            "{\"id\":\"a\",\"label\":\"hr\",\"probability\":0.75,\"probabilities\":{\"财务\":0.25,\"hr\":0.75},\"votes\":2,\"source\":\"model\"}\n"
        );
        let csv = labels_csv(&labels, &[r]);
        assert_eq!(
            csv,
            "id,label,probability,votes,source,p_财务,p_hr\na,hr,0.750000,2,model,0.250000,0.750000\n"
        );
    }
}
