//! HTML: the text a reader sees, without navigation, scripts or styles; tables as tables.

use scraper::{ElementRef, Html, Node};

use crate::table::StringTable;

/// What an HTML page gives us.
#[derive(Debug, Default)]
pub struct HtmlContent {
    pub title: Option<String>,
    pub text: String,
    pub tables: Vec<StringTable>,
}

/// Elements whose content is never reading text.
const SKIP: &[&str] = &[
    "script", "style", "nav", "noscript", "template", "svg", "head", "iframe", "button", "form",
    "select", "footer", "header", "aside",
];

const BLOCK: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "tr",
    "table",
    "blockquote",
    "pre",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "figure",
    "figcaption",
    "caption",
    "address",
    "body",
];

pub fn read(source: &str) -> HtmlContent {
    let doc = Html::parse_document(source);
    let mut content = HtmlContent {
        title: None,
        ..Default::default()
    };
    let title_sel = scraper::Selector::parse("title").expect("static selector");
    content.title = doc
        .select(&title_sel)
        .next()
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let mut out = String::new();
    walk(doc.root_element(), &mut out, &mut content.tables);
    content.text = out
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .split("\n\n\n")
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
        .trim()
        .to_string();
    if content.title.is_none() {
        let h1 = scraper::Selector::parse("h1").expect("static selector");
        content.title = doc
            .select(&h1)
            .next()
            .map(|t| collapse(&t.text().collect::<String>()))
            .filter(|t| !t.is_empty());
    }
    content
}

fn walk(el: ElementRef, out: &mut String, tables: &mut Vec<StringTable>) {
    let name = el.value().name();
    if SKIP.contains(&name) || el.value().attr("hidden").is_some() {
        return;
    }
    if let Some(level) = heading_level(name) {
        ensure_blank_line(out);
        out.push_str(&"#".repeat(level));
        out.push(' ');
        out.push_str(&collapse(&el.text().collect::<String>()));
        out.push_str("\n\n");
        return;
    }
    if name == "table" {
        let table = read_table(el);
        ensure_blank_line(out);
        for row in std::iter::once(&table.header).chain(&table.rows) {
            out.push_str(&row.join(" | "));
            out.push('\n');
        }
        out.push('\n');
        if table.width() > 0 && !table.rows.is_empty() {
            tables.push(table);
        }
        return;
    }
    let block = BLOCK.contains(&name);
    if block {
        ensure_newline(out);
    }
    if name == "li" {
        out.push_str("- ");
    }
    for child in el.children() {
        match child.value() {
            Node::Text(t) => {
                if name == "pre" {
                    out.push_str(t);
                } else {
                    push_inline(out, t);
                }
            }
            Node::Element(_) => {
                if let Some(c) = ElementRef::wrap(child) {
                    walk(c, out, tables);
                }
            }
            _ => {}
        }
    }
    if block {
        ensure_newline(out);
        if matches!(name, "p" | "blockquote" | "pre" | "ul" | "ol") {
            out.push('\n');
        }
    }
}

fn read_table(table: ElementRef) -> StringTable {
    let row_sel = scraper::Selector::parse("tr").expect("static selector");
    let cell_sel = scraper::Selector::parse("th, td").expect("static selector");
    let rows: Vec<Vec<String>> = table
        .select(&row_sel)
        .map(|tr| {
            let mut cells = Vec::new();
            for cell in tr.select(&cell_sel) {
                let text = collapse(&cell.text().collect::<String>());
                let span: usize = cell
                    .value()
                    .attr("colspan")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1)
                    .clamp(1, 64);
                // A merged header cell names every column it spans.
                cells.extend(std::iter::repeat_n(text, span));
            }
            cells
        })
        .collect();
    StringTable::from_rows(rows)
}

fn heading_level(name: &str) -> Option<usize> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

fn push_inline(out: &mut String, text: &str) {
    let collapsed = collapse(text);
    if collapsed.is_empty() {
        if text.chars().any(char::is_whitespace) && !out.ends_with([' ', '\n']) && !out.is_empty() {
            out.push(' ');
        }
        return;
    }
    let starts_ws = text.starts_with(char::is_whitespace);
    if starts_ws && !out.ends_with([' ', '\n']) && !out.is_empty() {
        out.push(' ');
    }
    out.push_str(&collapsed);
    if text.ends_with(char::is_whitespace) {
        out.push(' ');
    }
}

fn ensure_newline(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn ensure_blank_line(out: &mut String) {
    ensure_newline(out);
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_reading_text_drops_chrome() {
        let page = r#"<html><head><title>信用评分手册</title><style>p{color:red}</style></head>
        <body><nav><a href="/">首页</a> | <a href="/x">导航</a></nav>
        <h1>信用评分</h1><p>评分模型使用<b>五个</b>维度。</p>
        <script>var secret = 1;</script>
        <ul><li>还款记录</li><li>负债比率</li></ul>
        <table><tr><th>等级</th><th>分数</th></tr><tr><td>A</td><td>700+</td></tr></table>
        <footer>版权所有</footer></body></html>"#;
        let c = read(page);
        assert_eq!(c.title.as_deref(), Some("信用评分手册"));
        assert!(c.text.contains("# 信用评分"), "{}", c.text);
        assert!(c.text.contains("评分模型使用五个维度。"), "{}", c.text);
        assert!(c.text.contains("- 还款记录\n- 负债比率"), "{}", c.text);
        assert!(!c.text.contains("secret"));
        assert!(!c.text.contains("导航"));
        assert!(!c.text.contains("版权所有"));
        assert!(!c.text.contains("color"));
        assert_eq!(c.tables.len(), 1);
        assert_eq!(c.tables[0].header, ["等级", "分数"]);
        assert_eq!(c.tables[0].rows, [["A", "700+"]]);
    }

    #[test]
    fn inline_spacing_is_kept() {
        let c = read("<p>Credit <i>limit</i> is <b>500</b>.</p>");
        assert_eq!(c.text, "Credit limit is 500.");
    }
}
