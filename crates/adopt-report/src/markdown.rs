//! The report as Markdown, for chat tools, wikis and e-mail. Charts become small tables of the
//! same numbers, since Markdown cannot draw.

use std::fmt::Write as _;

use crate::readiness::{Chart, DataTable, Readiness, Section, ValueScale, Verdict};
use crate::svg::tick_label;

/// Escapes user text for Markdown: punctuation that would start markup is backslash-escaped
/// and line breaks are flattened, so a file name cannot open a link, a tag or a table cell.
pub(crate) fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span that survives backticks inside the command.
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn badge(v: Verdict) -> String {
    let icon = match v {
        Verdict::Ready => "🟢",
        Verdict::NeedsAttention => "🟡",
        Verdict::Blocked => "🔴",
        Verdict::NotRun => "⚪",
    };
    format!("{icon} **{}** {}", v.label(), v.label_zh())
}

/// Renders the report as Markdown.
pub fn render_markdown(r: &Readiness) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {} {}\n", r.title, r.title_zh);
    let meta: Vec<String> = [
        ("", &r.run.organisation),
        ("run ", &r.run.run_dir),
        ("generated ", &r.run.generated_at),
        ("adopt ", &r.run.adopt_version),
    ]
    .iter()
    .filter_map(|(l, v)| v.as_ref().map(|v| format!("{l}{}", md_escape(v))))
    .collect();
    if !meta.is_empty() {
        let _ = writeln!(md, "{}\n", meta.join(" · "));
    }
    let _ = writeln!(
        md,
        "**Overall:** {} — {}\n",
        badge(r.overall),
        md_escape(&r.headline)
    );

    md.push_str(
        "## At a glance 概览\n\n| area | verdict | situation or next action |\n|---|---|---|\n",
    );
    for s in &r.sections {
        let next = s.actions.first().map_or(&s.summary, |a| &a.text);
        let _ = writeln!(
            md,
            "| {} {} | {} | {} |",
            s.title,
            s.title_zh,
            badge(s.verdict),
            md_escape(next)
        );
    }
    for s in &r.sections {
        section(&mut md, s);
    }
    md.push_str("\n---\nMade by adopt. Counts only: no document text or personal data is copied into this report.\n");
    md
}

fn section(md: &mut String, s: &Section) {
    let _ = write!(
        md,
        "\n## {} {}\n\n{}\n\n{}\n",
        s.title,
        s.title_zh,
        badge(s.verdict),
        md_escape(&s.summary)
    );
    if !s.actions.is_empty() {
        md.push_str("\n**Next actions 下一步**\n\n");
        for (i, a) in s.actions.iter().enumerate() {
            let _ = write!(md, "{}. {}", i + 1, md_escape(&a.text));
            if let Some(cmd) = &a.command {
                let _ = write!(md, " {}", code(cmd));
            }
            md.push('\n');
        }
    }
    if !s.figures.is_empty() {
        md.push_str("\n| figure | value |\n|---|---:|\n");
        for f in &s.figures {
            let _ = writeln!(
                md,
                "| {} {} | {} |",
                md_escape(&f.label),
                md_escape(&f.label_zh),
                md_escape(&f.value)
            );
        }
    }
    if !s.notes.is_empty() {
        md.push('\n');
        for n in &s.notes {
            let _ = writeln!(md, "- {}", md_escape(n));
        }
    }
    for c in &s.charts {
        chart(md, c);
    }
    for t in &s.tables {
        table(md, t);
    }
}

fn chart(md: &mut String, c: &Chart) {
    match c {
        Chart::Bar(b) => {
            let _ = write!(md, "\n**{}**\n\n| |", md_escape(&b.title));
            for s in &b.series {
                let _ = write!(md, " {} |", md_escape(s));
            }
            let _ = write!(md, "\n|---|{}\n", "---:|".repeat(b.series.len()));
            for (cat, row) in b.categories.iter().zip(&b.values) {
                let _ = write!(md, "| {} |", md_escape(cat));
                for v in row {
                    let _ = write!(md, " {} |", tick_label(*v, b.scale));
                }
                md.push('\n');
            }
        }
        Chart::Scatter(p) => {
            let _ = write!(
                md,
                "\n**{}**\n\n| model | {} | {} |\n|---|---:|---:|\n",
                md_escape(&p.title),
                md_escape(&p.x_label),
                md_escape(&p.y_label)
            );
            for pt in &p.points {
                let _ = writeln!(
                    md,
                    "| {}{} | {} | {} |",
                    md_escape(&pt.label),
                    if pt.highlight { " (recommended)" } else { "" },
                    tick_label(pt.x, ValueScale::Count),
                    tick_label(pt.y, p.y_scale)
                );
            }
        }
    }
}

fn table(md: &mut String, t: &DataTable) {
    let _ = write!(md, "\n**{}**\n\n|", md_escape(&t.caption));
    for c in &t.columns {
        let _ = write!(md, " {} |", md_escape(c));
    }
    md.push_str("\n|");
    for i in 0..t.columns.len() {
        md.push_str(if t.numeric.get(i).copied().unwrap_or(false) {
            "---:|"
        } else {
            "---|"
        });
    }
    md.push('\n');
    for row in &t.rows {
        md.push('|');
        for cell in row {
            let _ = write!(md, " {} |", md_escape(cell));
        }
        md.push('\n');
    }
    if t.more_rows > 0 {
        let _ = writeln!(md, "\n… and {} more rows.", t.more_rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(md_escape("a|b <x> [l](u)\nz"), r"a\|b \<x\> \[l\](u) z");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
