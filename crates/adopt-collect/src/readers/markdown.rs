//! Markdown: kept as written, since headings and lists carry the structure that chunking uses.

/// The title: `title:` in YAML front matter, else the first `# ` heading.
pub fn title(text: &str) -> Option<String> {
    let mut lines = text.lines();
    if text.starts_with("---") {
        lines.next();
        for line in lines.by_ref() {
            if line.trim() == "---" {
                break;
            }
            if let Some(t) = line.strip_prefix("title:") {
                let t = t.trim().trim_matches(['"', '\'']);
                if !t.is_empty() {
                    return Some(t.to_string());
                }
            }
        }
    }
    text.lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_from_front_matter_or_heading() {
        assert_eq!(
            title("---\ntitle: \"Fraud rules\"\n---\n# Other").as_deref(),
            Some("Fraud rules")
        );
        assert_eq!(
            title("intro\n# 反欺诈规则\ntext").as_deref(),
            Some("反欺诈规则")
        );
        assert_eq!(title("no heading"), None);
    }
}
