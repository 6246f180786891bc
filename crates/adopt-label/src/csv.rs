//! Minimal RFC 4180 CSV: enough for the files this crate writes and the annotation sheets it
//! reads back (quoted fields with commas, quotes and line breaks; a UTF-8 BOM from Excel).

/// Quotes a field when it holds a comma, quote or line break.
pub(crate) fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Appends one record (fields joined by commas, `\n` ended).
pub(crate) fn write_row<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    let line: Vec<String> = fields.iter().map(|f| field(f.as_ref())).collect();
    out.push_str(&line.join(","));
    out.push('\n');
}

/// Parses CSV text into records; `Err` names the line of an unclosed quote.
pub(crate) fn parse(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut quote_line = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => quoted = false,
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    cur.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if cur.is_empty() => {
                quoted = true;
                quote_line = line;
            }
            ',' => row.push(std::mem::take(&mut cur)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line += 1;
                row.push(std::mem::take(&mut cur));
                rows.push(std::mem::take(&mut row));
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("unclosed quote opened on line {quote_line}"));
    }
    if !cur.is_empty() || !row.is_empty() {
        row.push(cur);
        rows.push(row);
    }
    rows.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_awkward_fields() {
        let rows = vec![
            vec!["id".to_string(), "text".into()],
            vec!["1".into(), "含逗号, 和\"引号\"\n换行".into()],
            vec!["2".into(), String::new()],
        ];
        let mut out = String::new();
        for r in &rows {
            write_row(&mut out, r);
        }
        assert_eq!(parse(&out).unwrap(), rows);
        assert_eq!(
            parse("\u{feff}a,b\r\n1,2\r\n").unwrap(),
            vec![vec!["a", "b"], vec!["1", "2"]]
        );
        assert!(parse("a,\"b\n").is_err());
    }
}
