use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::Serialize;

use crate::error::{Result, SheetError};

/// The spreadsheet formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SheetFormat {
    Xlsx,
    Xlsm,
    Xlsb,
    Xls,
    Ods,
}

impl SheetFormat {
    /// The format an extension promises (case-insensitive, without the dot).
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension.to_ascii_lowercase().as_str() {
            "xlsx" => Some(Self::Xlsx),
            "xlsm" => Some(Self::Xlsm),
            "xlsb" => Some(Self::Xlsb),
            "xls" => Some(Self::Xls),
            "ods" => Some(Self::Ods),
            _ => None,
        }
    }

    fn container(self) -> Container {
        match self {
            Self::Xls => Container::Cfb,
            Self::Xlsx | Self::Xlsm | Self::Xlsb | Self::Ods => Container::Zip,
        }
    }
}

impl fmt::Display for SheetFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Xlsx => "xlsx",
            Self::Xlsm => "xlsm",
            Self::Xlsb => "xlsb",
            Self::Xls => "xls",
            Self::Ods => "ods",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Zip,
    Cfb,
}

const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn sniff(head: &[u8]) -> std::result::Result<Container, String> {
    if head.starts_with(&CFB_MAGIC) {
        return Ok(Container::Cfb);
    }
    // Local file header, or the end-of-central-directory record of an empty archive.
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Ok(Container::Zip);
    }
    if head.is_empty() {
        return Err("an empty file".into());
    }
    let text = head
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(head)
        .trim_ascii_start();
    if text.starts_with(b"<") {
        // Common in the wild: web exports and Excel 2003 XML saved as .xls.
        return Err(
            "an HTML/XML document (a web export or SpreadsheetML 2003), not a binary workbook"
                .into(),
        );
    }
    if head.len() >= 2 && head[0] == 0x09 && matches!(head[1], 0x00 | 0x02 | 0x04 | 0x08) {
        return Err("a bare BIFF stream (Excel 2-4), which is not supported".into());
    }
    if text
        .iter()
        .take(512)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        return Err("plain text (CSV or TSV?), not a workbook".into());
    }
    Err("neither a zip package nor an OLE compound file".into())
}

/// Decides the format from the extension and checks it against the magic bytes, so that a
/// mislabelled file fails with a message that says what it really is.
pub(crate) fn detect_format(path: &Path) -> Result<SheetFormat> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let Some(format) = SheetFormat::from_extension(extension) else {
        return Err(SheetError::UnsupportedExtension {
            path: path.to_path_buf(),
            extension: extension.to_string(),
        });
    };
    let io_err = |source| SheetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)
        .map_err(io_err)?
        .take(512)
        .read_to_end(&mut head)
        .map_err(io_err)?;
    let mismatch = |found: String| SheetError::FormatMismatch {
        path: path.to_path_buf(),
        expected: format,
        found,
    };
    match (format.container(), sniff(&head)) {
        (expected, Ok(found)) if expected == found => Ok(format),
        (Container::Zip, Ok(_)) => Err(mismatch(
            "an OLE compound file: a legacy .xls workbook, or a password-protected (encrypted) OOXML file"
                .into(),
        )),
        (Container::Cfb, Ok(_)) => Err(mismatch(
            "a zip package: probably an xlsx or ods workbook with the wrong extension".into(),
        )),
        (_, Err(found)) => Err(mismatch(found)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_containers_and_impostors() {
        assert_eq!(sniff(&CFB_MAGIC), Ok(Container::Cfb));
        assert_eq!(sniff(b"PK\x03\x04rest"), Ok(Container::Zip));
        assert!(sniff(b"  <html><body>").unwrap_err().contains("HTML"));
        assert!(sniff(b"a,b,c\n1,2,3\n").unwrap_err().contains("plain text"));
        assert!(sniff(b"").unwrap_err().contains("empty"));
    }

    #[test]
    fn mismatch_names_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.xls");
        std::fs::write(&path, b"PK\x03\x04 not really a zip").unwrap();
        let err = detect_format(&path).unwrap_err().to_string();
        assert!(err.contains("extension says xls"), "{err}");
        assert!(err.contains("zip package"), "{err}");

        let path = dir.path().join("report.xlsx");
        std::fs::write(&path, CFB_MAGIC).unwrap();
        let err = detect_format(&path).unwrap_err().to_string();
        assert!(err.contains("encrypted"), "{err}");

        let path = dir.path().join("report.csv");
        std::fs::write(&path, b"a,b").unwrap();
        assert!(matches!(
            detect_format(&path),
            Err(SheetError::UnsupportedExtension { .. })
        ));
    }
}
