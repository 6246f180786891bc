//! Document metadata from the /Info dictionary, with the XMP packet's dc:title as a fallback.

use lopdf::{Document, Object};

use crate::resolve;
use crate::PdfMetadata;

pub(crate) fn read(doc: &Document) -> PdfMetadata {
    let info = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|o| resolve::deref(doc, o))
        .and_then(resolve::as_dict);
    let text = |key: &[u8]| -> Option<String> {
        let obj = resolve::get(doc, info?, key)?;
        let s = match obj {
            Object::String(..) => lopdf::decode_text_string(obj).ok()?,
            Object::Name(n) => String::from_utf8_lossy(n).into_owned(),
            _ => return None,
        };
        let s = s
            .trim_matches(|c: char| c.is_whitespace() || c == '\0')
            .to_string();
        (!s.is_empty()).then_some(s)
    };
    let date = |key: &[u8]| text(key).map(|d| pdf_date_to_iso(&d).unwrap_or(d));
    PdfMetadata {
        title: text(b"Title").or_else(|| xmp_title(doc)),
        author: text(b"Author"),
        subject: text(b"Subject"),
        creator: text(b"Creator"),
        producer: text(b"Producer"),
        created: date(b"CreationDate"),
        modified: date(b"ModDate"),
    }
}

/// Converts a PDF date (`D:YYYYMMDDHHmmSSOHH'mm'`, every part after the year optional) to
/// ISO 8601. Returns `None` when it does not parse.
pub(crate) fn pdf_date_to_iso(raw: &str) -> Option<String> {
    let s = raw.trim();
    let s = s.strip_prefix("D:").unwrap_or(s);
    let bytes = s.as_bytes();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits < 4 {
        return None;
    }
    let field = |start: usize, default: u32| -> u32 {
        if digits >= start + 2 {
            s[start..start + 2].parse().unwrap_or(default)
        } else {
            default
        }
    };
    let year: u32 = s[..4].parse().ok()?;
    let (month, day) = (field(4, 1), field(6, 1));
    let (hour, minute, second) = (field(8, 0), field(10, 0), field(12, 0));
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut out = format!("{year:04}-{month:02}-{day:02}");
    if digits <= 8 {
        return Some(out);
    }
    out.push_str(&format!("T{hour:02}:{minute:02}:{second:02}"));
    let rest = &s[digits..];
    match rest.chars().next() {
        Some('Z') => out.push('Z'),
        Some(sign @ ('+' | '-')) => {
            let tz: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            let th: u32 = tz.get(..2).and_then(|t| t.parse().ok()).unwrap_or(0);
            let tm: u32 = tz.get(2..4).and_then(|t| t.parse().ok()).unwrap_or(0);
            if th <= 23 && tm <= 59 {
                out.push_str(&format!("{sign}{th:02}:{tm:02}"));
            }
        }
        _ => {}
    }
    Some(out)
}

/// The first `dc:title` entry of the catalog's XMP packet.
fn xmp_title(doc: &Document) -> Option<String> {
    let catalog = doc.catalog().ok()?;
    let stream = resolve::stream(doc, catalog, b"Metadata")?;
    let bytes = resolve::stream_bytes(stream)?;
    let xml = String::from_utf8_lossy(&bytes);
    let start = xml.find("<dc:title")?;
    let end = start + xml[start..].find("</dc:title>")?;
    let inner = &xml[start..end];
    let li = inner.find("<rdf:li")?;
    let open_end = li + inner[li..].find('>')? + 1;
    let close = open_end + inner[open_end..].find("</rdf:li>")?;
    let title = unescape_xml(inner[open_end..close].trim());
    (!title.is_empty()).then_some(title)
}

fn unescape_xml(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            pdf_date_to_iso("D:20160406142318-07'00'").as_deref(),
            Some("2016-04-06T14:23:18-07:00")
        );
        assert_eq!(
            pdf_date_to_iso("D:20160406142318Z").as_deref(),
            Some("2016-04-06T14:23:18Z")
        );
        assert_eq!(pdf_date_to_iso("D:2016").as_deref(), Some("2016-01-01"));
        assert_eq!(pdf_date_to_iso("D:20161406"), None);
        assert_eq!(pdf_date_to_iso("yesterday"), None);
    }
}
