//! The report as one self-contained HTML page: CSS inline, charts inline SVG, no script and no
//! external resource, so it opens offline, can be mailed as one file and prints on A4.

use std::fmt::Write as _;

use crate::readiness::{Chart, DataTable, Readiness, Section, Verdict};
use crate::svg;

/// Escapes text for HTML content and attribute values. Every string that reaches the page goes
/// through here: file names and table findings are user data.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --paper:#fff; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB",
        "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", sans-serif;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 48px; }
header.top { background: var(--paper); border:1px solid var(--line); border-radius:10px;
  padding: 22px 26px; margin-bottom: 20px; }
h1 { margin:0; font-size: 26px; line-height:1.25; }
h1 .zh, h2 .zh { color: var(--muted); font-weight: 500; margin-left: .5em; }
h1 .zh { font-size: 20px; }
.meta { color: var(--muted); font-size: 13px; margin: 6px 0 14px; }
.meta span + span::before { content: " · "; }
.overall { display:flex; align-items:center; gap: 14px; flex-wrap: wrap; font-size: 17px; }
.overall .badge { font-size: 16px; padding: 5px 14px; }
.badge { display:inline-block; white-space:nowrap; border-radius: 999px; padding: 2px 11px;
  font-size: 13px; font-weight: 600; border: 1px solid; }
.badge .sym { display:inline-block; width: 1.1em; text-align:center; }
.v-ready .badge, .badge.v-ready { background:#dafbe1; color:#116329; border-color:#4ac26b; }
.v-needs-attention .badge, .badge.v-needs-attention { background:#fff8c5; color:#7d4e00; border-color:#d4a72c; }
.v-blocked .badge, .badge.v-blocked { background:#ffebe9; color:#a40e26; border-color:#ff8182; }
.v-not-run .badge, .badge.v-not-run { background:#eef1f4; color:#424a53; border-color:#afb8c1; }
section.card { background: var(--paper); border:1px solid var(--line); border-left: 7px solid #afb8c1;
  border-radius: 10px; padding: 18px 24px 20px; margin: 0 0 20px; }
section.card.v-ready { border-left-color:#2da44e; }
section.card.v-needs-attention { border-left-color:#d4a72c; }
section.card.v-blocked { border-left-color:#cf222e; }
.card-head { display:flex; justify-content: space-between; align-items: baseline; gap: 12px; flex-wrap: wrap; }
h2 { margin: 0; font-size: 20px; }
h2 .zh { font-size: 16px; }
h3 { font-size: 14px; margin: 16px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
h3 .zh { text-transform:none; letter-spacing:0; margin-left:.4em; }
p.summary { font-size: 16px; margin: 10px 0 4px; }
.actions { background:#fffbea; border:1px solid #f0d98c; border-radius: 8px; padding: 4px 16px 8px; margin: 12px 0; }
.v-blocked .actions { background:#fff3f2; border-color:#f6b3ae; }
.v-not-run .actions { background:#f4f6f8; border-color: var(--line); }
.actions ol { margin: 4px 0; padding-left: 22px; }
.actions li { margin: 4px 0; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background:#eef1f4;
  border-radius: 4px; padding: 1px 6px; white-space: pre-wrap; word-break: break-all; }
.actions code { display:inline-block; margin-top: 2px; }
dl.figures { display:grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin: 14px 0; }
dl.figures div { border:1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
dl.figures dt { font-size: 12px; color: var(--muted); }
dl.figures dt .zh { display:block; font-size: 11px; }
dl.figures dd { margin: 2px 0 0; font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
ul.notes { margin: 8px 0; padding-left: 20px; color: #30363d; }
.charts { display:grid; grid-template-columns: repeat(auto-fill, minmax(470px, 1fr)); gap: 18px 24px; margin-top: 12px; }
figure.chart { margin: 0; }
figure.chart figcaption { font-weight: 600; font-size: 14px; margin-bottom: 4px; }
svg.chart-svg { display:block; max-width: 100%; height: auto; }
figure.chart { border-top: 1px solid var(--line); padding-top: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 6px 0 4px; }
caption { text-align:left; font-weight: 600; font-size: 14px; padding: 6px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align:left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { overflow-wrap: anywhere; }
p.more { color: var(--muted); font-size: 13px; margin: 2px 0; }
table.board th:first-child { width: 30%; }
table.board th:nth-child(2) { width: 1%; }
table.board td { vertical-align: middle; padding: 8px; }
table.board a { color: inherit; }
footer { color: var(--muted); font-size: 12.5px; text-align:center; margin-top: 28px; }
@page { size: A4; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  header.top, section.card { border-radius: 0; }
  section.card { break-inside: auto; }
  h2, h3, .card-head { break-after: avoid; }
  /* Long tables may run over pages; rows, charts and single actions stay whole. */
  figure.chart, tr, .actions li, dl.figures div { break-inside: avoid; }
  thead { display: table-header-group; }
  .charts { grid-template-columns: 1fr; }
  a { text-decoration: none; }
}
"#;

fn badge(v: Verdict) -> String {
    format!(
        r#"<span class="badge v-{}"><span class="sym">{}</span> {} <span class="zh">{}</span></span>"#,
        v.slug(),
        v.symbol(),
        v.label(),
        v.label_zh()
    )
}

/// Renders the report as a complete HTML document.
pub fn render_html(r: &Readiness) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{} · {}</title><style>{STYLE}</style></head><body><main>"#,
        escape(&r.title),
        escape(&r.title_zh)
    );

    let _ = write!(
        out,
        r#"<header class="top"><h1>{}<span class="zh">{}</span></h1><div class="meta">"#,
        escape(&r.title),
        escape(&r.title_zh)
    );
    let run = &r.run;
    for (label, v) in [
        ("", &run.organisation),
        ("run ", &run.run_dir),
        ("generated ", &run.generated_at),
        ("adopt ", &run.adopt_version),
    ] {
        if let Some(v) = v {
            let _ = write!(out, "<span>{label}{}</span>", escape(v));
        }
    }
    let _ = write!(
        out,
        r#"</div><div class="overall v-{}">{}<span class="headline">{}</span></div></header>"#,
        r.overall.slug(),
        badge(r.overall),
        escape(&r.headline)
    );

    out.push_str(
        r#"<section class="card board-card"><div class="card-head"><h2>At a glance<span class="zh">概览</span></h2></div><table class="board"><thead><tr><th>area</th><th>verdict</th><th>situation or next action</th></tr></thead><tbody>"#,
    );
    for s in &r.sections {
        let next = s
            .actions
            .first()
            .map_or_else(|| s.summary.clone(), |a| a.text.clone());
        let _ = write!(
            out,
            r##"<tr><td><a href="#{id}">{}</a><br><span class="zh">{}</span></td><td>{}</td><td>{}</td></tr>"##,
            escape(&s.title),
            escape(&s.title_zh),
            badge(s.verdict),
            escape(&next),
            id = escape(&s.id),
        );
    }
    out.push_str("</tbody></table></section>");

    for s in &r.sections {
        section(&mut out, s);
    }
    out.push_str(
        "<footer>Made by adopt from the stage outputs in the run directory. Counts only: no document text or personal data is copied into this report. 本报告仅含统计数字，不含文档原文或个人信息。</footer></main></body></html>\n",
    );
    out
}

fn section(out: &mut String, s: &Section) {
    let _ = write!(
        out,
        r#"<section class="card v-{slug}" id="{id}"><div class="card-head"><h2>{}<span class="zh">{}</span></h2>{}</div><p class="summary">{}</p>"#,
        escape(&s.title),
        escape(&s.title_zh),
        badge(s.verdict),
        escape(&s.summary),
        slug = s.verdict.slug(),
        id = escape(&s.id),
    );
    if !s.actions.is_empty() {
        out.push_str(
            r#"<div class="actions"><h3>Next actions<span class="zh">下一步</span></h3><ol>"#,
        );
        for a in &s.actions {
            let _ = write!(out, "<li>{}", escape(&a.text));
            if let Some(cmd) = &a.command {
                let _ = write!(out, "<br><code>{}</code>", escape(cmd));
            }
            out.push_str("</li>");
        }
        out.push_str("</ol></div>");
    }
    if !s.figures.is_empty() {
        out.push_str(r#"<dl class="figures">"#);
        for f in &s.figures {
            let _ = write!(
                out,
                r#"<div><dt>{}<span class="zh">{}</span></dt><dd>{}</dd></div>"#,
                escape(&f.label),
                escape(&f.label_zh),
                escape(&f.value)
            );
        }
        out.push_str("</dl>");
    }
    if !s.notes.is_empty() {
        out.push_str(r#"<ul class="notes">"#);
        for n in &s.notes {
            let _ = write!(out, "<li>{}</li>", escape(n));
        }
        out.push_str("</ul>");
    }
    if !s.charts.is_empty() {
        out.push_str(r#"<div class="charts">"#);
        for c in &s.charts {
            let (title, svg) = match c {
                Chart::Bar(b) => (&b.title, svg::bar_chart(b)),
                Chart::Scatter(p) => (&p.title, svg::scatter_chart(p)),
            };
            let _ = write!(
                out,
                r#"<figure class="chart"><figcaption>{}</figcaption>{svg}</figure>"#,
                escape(title)
            );
        }
        out.push_str("</div>");
    }
    for t in &s.tables {
        table(out, t);
    }
    out.push_str("</section>");
}

fn table(out: &mut String, t: &DataTable) {
    let num = |i: usize| {
        if t.numeric.get(i).copied().unwrap_or(false) {
            r#" class="num""#
        } else {
            ""
        }
    };
    let _ = write!(
        out,
        "<table><caption>{}</caption><thead><tr>",
        escape(&t.caption)
    );
    for (i, c) in t.columns.iter().enumerate() {
        let _ = write!(out, "<th{}>{}</th>", num(i), escape(c));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let _ = write!(out, "<td{}>{}</td>", num(i), escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if t.more_rows > 0 {
        let _ = write!(
            out,
            r#"<p class="more">… and {} more rows.</p>"#,
            t.more_rows
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
