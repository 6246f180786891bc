//! DOCX: paragraphs, headings (as Markdown `#`), and tables, read straight from the package XML.

use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::table::StringTable;

#[derive(Debug, Default)]
pub struct DocxContent {
    pub title: Option<String>,
    pub author: Option<String>,
    pub created: Option<String>,
    pub text: String,
    pub tables: Vec<StringTable>,
}

/// Largest XML part we inflate: a zip bomb must not take the machine down.
const MAX_PART: u64 = 256 * 1024 * 1024;

pub fn read(bytes: &[u8]) -> Result<DocxContent, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a DOCX (zip) package: {e}"))?;
    let body = read_part(&mut zip, "word/document.xml")?
        .ok_or("not a DOCX: no word/document.xml in the package")?;
    let styles = read_part(&mut zip, "word/styles.xml")?.unwrap_or_default();
    let heading_styles = heading_styles(&styles);
    let mut content =
        read_body(&body, &heading_styles).map_err(|e| format!("word/document.xml: {e}"))?;
    if let Some(core) = read_part(&mut zip, "docProps/core.xml")? {
        let props = core_properties(&core);
        content.title = props.0;
        content.author = props.1;
        content.created = props.2;
    }
    if content.title.is_none() {
        content.title = content
            .text
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .map(str::to_string);
    }
    Ok(content)
}

fn read_part(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
) -> Result<Option<String>, String> {
    let file = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("{name}: {e}")),
    };
    let mut s = String::new();
    file.take(MAX_PART)
        .read_to_string(&mut s)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(Some(s))
}

/// Maps style ids to heading levels: ids like `Heading1`, and any style whose name is
/// "heading N" or the localised "标题 N".
fn heading_styles(styles: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut reader = Reader::from_str(styles);
    let mut current: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "style" => current = attr(&e, "styleId"),
                "name" => {
                    if let (Some(id), Some(name)) = (&current, attr(&e, "val")) {
                        if let Some(level) = heading_level(&name).or_else(|| heading_level(id)) {
                            out.push((id.clone(), level));
                        }
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

fn heading_level(name: &str) -> Option<usize> {
    let lower = name.to_lowercase();
    let rest = lower
        .strip_prefix("heading")
        .or_else(|| lower.strip_prefix("标题"))?
        .trim();
    match rest.parse::<usize>() {
        Ok(n) if (1..=6).contains(&n) => Some(n),
        _ if rest.is_empty() => Some(1),
        _ => None,
    }
}

fn read_body(xml: &str, heading_styles: &[(String, usize)]) -> Result<DocxContent, String> {
    let mut reader = Reader::from_str(xml);
    let mut content = DocxContent::default();
    let mut out = String::new();
    let mut para = String::new();
    let mut para_level: Option<usize> = None;
    let mut in_text = false;
    // Tables nest: a stack of (rows, current row, current cell).
    let mut tables: Vec<(Vec<Vec<String>>, Vec<String>, String)> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "t" => in_text = true,
                "tab" => para.push('\t'),
                "br" | "cr" => para.push('\n'),
                "pStyle" => {
                    if let Some(id) = attr(&e, "val") {
                        para_level = heading_styles
                            .iter()
                            .find(|(s, _)| *s == id)
                            .map(|(_, l)| *l)
                            .or_else(|| heading_level(&id));
                    }
                }
                "outlineLvl" => {
                    if let Some(l) = attr(&e, "val").and_then(|v| v.parse::<usize>().ok()) {
                        para_level = para_level.or(Some(l + 1).filter(|l| *l <= 6));
                    }
                }
                "tbl" => tables.push((Vec::new(), Vec::new(), String::new())),
                _ => {}
            },
            Event::Text(t) if in_text => {
                para.push_str(&t.xml10_content());
            }
            Event::GeneralRef(r) if in_text => match r.resolve_char_ref() {
                Ok(Some(c)) => para.push(c),
                _ => para.push_str(match r.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                }),
            },
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_text = false,
                "p" => {
                    let text = para.trim().to_string();
                    para.clear();
                    let level = para_level.take();
                    if let Some((_, _, cell)) = tables.last_mut() {
                        if !cell.is_empty() && !text.is_empty() {
                            cell.push('\n');
                        }
                        cell.push_str(&text);
                    } else if !text.is_empty() {
                        if let Some(l) = level {
                            out.push_str(&"#".repeat(l));
                            out.push(' ');
                        }
                        out.push_str(&text);
                        out.push_str("\n\n");
                    }
                }
                "tc" => {
                    if let Some((_, row, cell)) = tables.last_mut() {
                        row.push(std::mem::take(cell));
                    }
                }
                "tr" => {
                    if let Some((rows, row, _)) = tables.last_mut() {
                        rows.push(std::mem::take(row));
                    }
                }
                "tbl" => {
                    if let Some((rows, _, _)) = tables.pop() {
                        let rendered: Vec<String> = rows
                            .iter()
                            .map(|r| {
                                r.iter()
                                    .map(|c| c.replace('\n', " "))
                                    .collect::<Vec<_>>()
                                    .join(" | ")
                            })
                            .collect();
                        let rendered = rendered.join("\n");
                        match tables.last_mut() {
                            // A table inside a cell becomes that cell's text.
                            Some((_, _, cell)) => cell.push_str(&rendered),
                            None => {
                                out.push_str(&rendered);
                                out.push_str("\n\n");
                            }
                        }
                        let t = StringTable::from_rows(rows);
                        if !t.rows.is_empty() {
                            content.tables.push(t);
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    content.text = out.trim_end().to_string();
    Ok(content)
}

fn core_properties(xml: &str) -> (Option<String>, Option<String>, Option<String>) {
    let mut reader = Reader::from_str(xml);
    let (mut title, mut author, mut created) = (None, None, None);
    let mut current = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => current = e.local_name().as_ref().to_string(),
            Ok(Event::Text(t)) => {
                let v = t.xml10_content().trim().to_string();
                if v.is_empty() {
                    continue;
                }
                match current.as_str() {
                    "title" => title = Some(v),
                    "creator" => author = Some(v),
                    "created" => created = Some(v),
                    _ => {}
                }
            }
            Ok(Event::End(_)) => current.clear(),
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    (title, author, created)
}

fn attr(e: &BytesStart, local: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = a.key.local_name();
        (key.as_ref() == local).then(|| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })?
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Builds a minimal but valid DOCX package; also used by the integration tests' writer.
    pub fn build_docx(body: &str, title: &str) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default();
            z.start_file("[Content_Types].xml", opts).unwrap();
            z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#).unwrap();
            z.start_file("word/document.xml", opts).unwrap();
            write!(z, r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#).unwrap();
            z.start_file("docProps/core.xml", opts).unwrap();
            write!(z, r#"<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"><dc:title>{title}</dc:title><dc:creator>Risk Dept</dc:creator><dcterms:created>2024-05-01T08:00:00Z</dcterms:created></cp:coreProperties>"#).unwrap();
            z.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn paragraphs_headings_tables() {
        let body = r#"<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>反欺诈规则</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">单笔交易超过 </w:t></w:r><w:r><w:t>5 万元 &amp; 异地登录</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>规则</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>阈值</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>夜间交易</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>3 次</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#;
        let c = read(&build_docx(body, "Fraud rules")).unwrap();
        assert_eq!(c.title.as_deref(), Some("Fraud rules"));
        assert_eq!(c.author.as_deref(), Some("Risk Dept"));
        assert!(
            c.text
                .starts_with("# 反欺诈规则\n\n单笔交易超过 5 万元 & 异地登录"),
            "{}",
            c.text
        );
        assert!(c.text.contains("夜间交易 | 3 次"), "{}", c.text);
        assert_eq!(c.tables.len(), 1);
        assert_eq!(c.tables[0].header, ["规则", "阈值"]);
        assert_eq!(c.tables[0].rows, [["夜间交易", "3 次"]]);
    }

    #[test]
    fn not_a_zip_is_a_clear_error() {
        let e = read(b"plain text").unwrap_err();
        assert!(e.contains("not a DOCX"), "{e}");
    }
}
