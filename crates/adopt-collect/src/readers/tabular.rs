//! Table-shaped files (CSV, TSV, Parquet, JSON, JSONL) read with polars.

use std::io::Cursor;

use polars::prelude::*;

use super::text;

/// A table file read into a frame, with what happened on the way.
pub struct TabularContent {
    pub frame: DataFrame,
    pub encoding: Option<&'static str>,
    pub warnings: Vec<String>,
}

/// Reads CSV or TSV. The bytes are decoded first (GBK CSVs exported by Excel on Chinese Windows
/// are common), so polars always parses UTF-8.
pub fn read_delimited(bytes: &[u8], separator: u8) -> Result<TabularContent, String> {
    let decoded = text::decode(bytes);
    let mut warnings = decoded.warnings();
    let utf8 = decoded.text.into_bytes();
    let read = |lenient: bool| {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(10_000))
            .with_ignore_errors(lenient)
            .map_parse_options(|p| {
                p.with_separator(separator)
                    .with_truncate_ragged_lines(lenient)
                    .with_try_parse_dates(true)
            })
            .into_reader_with_file_handle(Cursor::new(utf8.as_slice()))
            .finish()
    };
    let frame = match read(false) {
        Ok(df) => df,
        Err(strict) => {
            let df = read(true).map_err(|e| e.to_string())?;
            warnings.push(format!(
                "read leniently (ragged rows truncated, unparsable values null): {strict}"
            ));
            df
        }
    };
    Ok(TabularContent {
        frame,
        encoding: Some(decoded.encoding),
        warnings,
    })
}

pub fn read_parquet(bytes: &[u8]) -> Result<TabularContent, String> {
    let frame = ParquetReader::new(Cursor::new(bytes))
        .finish()
        .map_err(|e| e.to_string())?;
    Ok(TabularContent {
        frame,
        encoding: None,
        warnings: Vec::new(),
    })
}

/// JSON that is an array of records, or JSON Lines. Anything else is not a table, and the
/// caller keeps it as text.
pub fn read_json(bytes: &[u8], lines: bool) -> Result<TabularContent, String> {
    let decoded = text::decode(bytes);
    let warnings = decoded.warnings();
    let utf8 = decoded.text.into_bytes();
    let format = if lines {
        JsonFormat::JsonLines
    } else {
        JsonFormat::Json
    };
    let frame = JsonReader::new(Cursor::new(utf8.as_slice()))
        .with_json_format(format)
        .infer_schema_len(std::num::NonZeroUsize::new(10_000))
        .finish()
        .map_err(|e| e.to_string())?;
    Ok(TabularContent {
        frame,
        encoding: Some(decoded.encoding),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_csv_with_chinese_headers() {
        let csv = "客户,授信额度,开户日期\n张三,500000,2023-04-01\n李四,120000.5,2022-11-30\n";
        let (bytes, _, _) = encoding_rs::GBK.encode(csv);
        let t = read_delimited(&bytes, b',').unwrap();
        assert_eq!(t.encoding, Some("gb18030"));
        assert_eq!(t.frame.shape(), (2, 3));
        assert_eq!(t.frame.get_column_names()[0].as_str(), "客户");
        assert_eq!(
            t.frame.column("授信额度").unwrap().dtype(),
            &DataType::Float64
        );
        assert_eq!(t.frame.column("开户日期").unwrap().dtype(), &DataType::Date);
    }

    #[test]
    fn ragged_csv_is_read_leniently_with_a_warning() {
        let t = read_delimited(b"a,b\n1,2\n3,4,5\n", b',').unwrap();
        assert_eq!(t.frame.height(), 2);
        assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    }

    #[test]
    fn json_records_and_lines() {
        let t = read_json(br#"[{"id":1,"name":"a"},{"id":2,"name":"b"}]"#, false).unwrap();
        assert_eq!(t.frame.shape(), (2, 2));
        let t = read_json(b"{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n", true).unwrap();
        assert_eq!(t.frame.shape(), (3, 1));
    }
}
