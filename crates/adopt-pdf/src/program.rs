//! Unicode from a font's embedded program, for fonts whose PDF carries no ToUnicode map.
//!
//! A composite font's code gives a CID; the CID gives a glyph id (`CIDToGIDMap` for TrueType
//! outlines, the charset of a CID-keyed CFF program); the glyph gives a character through the
//! program's own `cmap` or glyph names. A simple TrueType font's codes reach glyphs through its
//! symbol or Macintosh `cmap`, a simple CFF font's through its built-in encoding. pdftotext does
//! the same; without it such fonts extract as nothing.

use std::collections::HashMap;

use lopdf::{Dictionary, Document, Object};

use crate::cff;
use crate::encoding::glyph_name_to_unicode;
use crate::resolve;
use crate::sfnt::Sfnt;

/// CID -> glyph id.
#[derive(Debug)]
enum CidToGid {
    Identity,
    /// `CIDToGIDMap` stream: two bytes per CID.
    Table(Vec<u16>),
    /// A CID-keyed CFF program's charset, inverted.
    Charset(HashMap<u16, u16>),
}

/// The Registry and Ordering a CID-keyed CFF program declares (its ROS operator): they name the
/// collection its CIDs belong to even where the PDF's CIDSystemInfo says Identity.
pub(crate) fn cff_system_info(doc: &Document, cid_font: &Dictionary) -> Option<(String, String)> {
    let desc = resolve::dict(doc, cid_font, b"FontDescriptor")?;
    let (bytes, kind) = program(doc, desc)?;
    let glyphs = match kind {
        Program::Sfnt => Sfnt::parse(&bytes)?.cff().and_then(cff::parse)?,
        Program::Cff => cff::parse(&bytes)?,
    };
    glyphs.ros
}

/// The text of each CID of a composite font, from its embedded program.
#[derive(Debug)]
pub(crate) struct CidText {
    to_gid: CidToGid,
    by_gid: HashMap<u16, Box<str>>,
}

impl CidText {
    /// Reads the descendant CIDFont's program; `None` when it has none or it names no glyph.
    pub(crate) fn load(doc: &Document, cid_font: &Dictionary) -> Option<CidText> {
        let desc = resolve::dict(doc, cid_font, b"FontDescriptor")?;
        let (bytes, kind) = program(doc, desc)?;
        let mut to_gid = match resolve::get(doc, cid_font, b"CIDToGIDMap") {
            Some(Object::Stream(s)) => resolve::stream_bytes(s).map_or(CidToGid::Identity, |b| {
                CidToGid::Table(
                    b.chunks_exact(2)
                        .map(|p| u16::from_be_bytes([p[0], p[1]]))
                        .collect(),
                )
            }),
            _ => CidToGid::Identity,
        };
        let by_gid = match kind {
            Program::Sfnt => {
                let sfnt = Sfnt::parse(&bytes)?;
                // An OpenType font with CID-keyed CFF outlines: CIDs reach glyphs by its charset.
                if let Some(g) = sfnt.cff().and_then(cff::parse) {
                    if g.ros.is_some() {
                        to_gid = charset_inverse(&g.cids);
                    }
                }
                let by_gid = sfnt.glyph_unicode();
                match sfnt.cff().and_then(cff::parse) {
                    Some(g) if by_gid.is_empty() && g.ros.is_none() => names_by_gid(&g.names),
                    _ => by_gid,
                }
            }
            Program::Cff => {
                let g = cff::parse(&bytes)?;
                if g.ros.is_some() {
                    // CID-keyed glyphs have no names: their text comes from the ordering's
                    // CID table (cid_collection.rs), see `cff_system_info`.
                    return None;
                }
                names_by_gid(&g.names)
            }
        };
        (!by_gid.is_empty()).then_some(CidText { to_gid, by_gid })
    }

    /// The text of a CID, if its glyph names one.
    pub(crate) fn get(&self, cid: u32) -> Option<&str> {
        let cid = u16::try_from(cid).ok()?;
        let gid = match &self.to_gid {
            CidToGid::Identity => cid,
            CidToGid::Table(t) => *t.get(usize::from(cid))?,
            CidToGid::Charset(m) => *m.get(&cid)?,
        };
        self.by_gid.get(&gid).map(|s| &**s)
    }
}

/// A simple font's code -> text from its embedded program: a symbolic TrueType font's
/// (3,0)/(1,0) `cmap` with its glyphs' Unicode, or a CFF font's built-in encoding with its
/// glyph names. Empty when the program says nothing. A non-symbolic TrueType font's codes are
/// characters of its encoding, so its program is not asked.
pub(crate) fn simple_font_text(
    doc: &Document,
    desc: &Dictionary,
    symbolic: bool,
) -> Vec<(u8, Box<str>)> {
    let Some((bytes, kind)) = program(doc, desc) else {
        return Vec::new();
    };
    match kind {
        Program::Sfnt if !symbolic => Vec::new(),
        Program::Sfnt => {
            let Some(sfnt) = Sfnt::parse(&bytes) else {
                return Vec::new();
            };
            let by_gid = sfnt.glyph_unicode();
            let mut out: Vec<(u8, Box<str>)> = sfnt
                .simple_code_to_gid()
                .into_iter()
                .filter_map(|(code, gid)| Some((code, by_gid.get(&gid)?.clone())))
                .collect();
            out.sort_unstable();
            out
        }
        Program::Cff => {
            let Some(g) = cff::parse(&bytes) else {
                return Vec::new();
            };
            g.encoding
                .iter()
                .filter_map(|&(code, gid)| {
                    let name = g.names.get(usize::from(gid))?.as_deref()?;
                    Some((code, glyph_name_to_unicode(name)?.into_boxed_str()))
                })
                .collect()
        }
    }
}

enum Program {
    Sfnt,
    Cff,
}

/// The embedded program of a font descriptor and its container format.
fn program(doc: &Document, desc: &Dictionary) -> Option<(Vec<u8>, Program)> {
    if let Some(s) = resolve::stream(doc, desc, b"FontFile2") {
        return Some((resolve::stream_bytes(s)?, Program::Sfnt));
    }
    let s = resolve::stream(doc, desc, b"FontFile3")?;
    let bytes = resolve::stream_bytes(s)?;
    let is_sfnt = resolve::name(doc, &s.dict, b"Subtype") == Some(b"OpenType".as_slice())
        || matches!(bytes.get(..4), Some(b"OTTO" | [0, 1, 0, 0] | b"true"));
    Some((bytes, if is_sfnt { Program::Sfnt } else { Program::Cff }))
}

fn charset_inverse(cids: &[u16]) -> CidToGid {
    let mut m = HashMap::with_capacity(cids.len());
    for (gid, &cid) in cids.iter().enumerate() {
        if let Ok(gid) = u16::try_from(gid) {
            m.entry(cid).or_insert(gid);
        }
    }
    CidToGid::Charset(m)
}

fn names_by_gid(names: &[Option<String>]) -> HashMap<u16, Box<str>> {
    names
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(gid, n)| {
            let gid = u16::try_from(gid).ok()?;
            Some((gid, glyph_name_to_unicode(n.as_deref()?)?.into_boxed_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use lopdf::{dictionary, Document, Object, Stream};

    use crate::sfnt::{build_cmap_format4, build_cmap_format4_for, build_sfnt};

    /// A one-page PDF drawing `content` with font /F1 = `font` (a dictionary built by `make`,
    /// which may add the objects it needs, e.g. font programs, to the document).
    fn pdf(make: impl FnOnce(&mut Document) -> lopdf::Dictionary, content: &[u8]) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let font = make(&mut doc);
        let font = doc.add_object(font);
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.to_vec()));
        let pages_id = doc.new_object_id();
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Contents" => content_id,
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).expect("write PDF");
        out
    }

    /// A Type0 font over a CIDFont of `subtype` whose descriptor holds `program` as `key`, with
    /// no ToUnicode.
    fn type0(
        doc: &mut Document,
        encoding: &str,
        subtype: &str,
        key: &str,
        program: Stream,
        cid_to_gid: Option<Vec<u8>>,
    ) -> lopdf::Dictionary {
        let program = doc.add_object(program);
        let descriptor = doc.add_object(dictionary! {
            "Type" => "FontDescriptor", "FontName" => "ABCDEF+Test", "Flags" => 4,
            key => program,
        });
        let mut cid_font = dictionary! {
            "Type" => "Font", "Subtype" => subtype, "BaseFont" => "ABCDEF+Test",
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("Identity"),
                "Supplement" => 0,
            },
            "FontDescriptor" => descriptor, "DW" => 1000,
        };
        if let Some(map) = cid_to_gid {
            let map = doc.add_object(Stream::new(dictionary! {}, map));
            cid_font.set("CIDToGIDMap", map);
        }
        let cid_font = doc.add_object(cid_font);
        dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "ABCDEF+Test",
            "Encoding" => encoding, "DescendantFonts" => vec![cid_font.into()],
        }
    }

    fn lines(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
        let doc = crate::extract(bytes).expect("extract");
        let page = &doc.pages[0];
        let lines = page
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        (lines, page.warnings.clone())
    }

    #[test]
    fn truetype_cid_font_without_to_unicode_reads_its_cmap_through_cid_to_gid_map() {
        // Glyphs 1-4: 银 行 风 险. CIDs 1-4 reach them backwards through a CIDToGIDMap stream.
        let cmap = build_cmap_format4(&[(0x94F6, 1), (0x884C, 2), (0x98CE, 3), (0x9669, 4)]);
        let font = build_sfnt(&[(b"cmap", cmap)]);
        let cid_to_gid = vec![0, 0, 0, 4, 0, 3, 0, 2, 0, 1];
        let bytes = pdf(
            |doc| {
                type0(
                    doc,
                    "Identity-H",
                    "CIDFontType2",
                    "FontFile2",
                    Stream::new(dictionary! {}, font),
                    Some(cid_to_gid),
                )
            },
            b"BT /F1 12 Tf 72 720 Td <0004000300020001> Tj ET",
        );
        let (lines, warnings) = lines(&bytes);
        assert_eq!(lines, vec!["银行风险"]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn vertical_identity_font_reads_top_to_bottom() {
        let cmap = build_cmap_format4(&[(0x4E2D, 1), (0x6587, 2)]);
        let font = build_sfnt(&[(b"cmap", cmap)]);
        let bytes = pdf(
            |doc| {
                type0(
                    doc,
                    "Identity-V",
                    "CIDFontType2",
                    "FontFile2",
                    Stream::new(dictionary! {}, font),
                    None,
                )
            },
            b"BT /F1 12 Tf 300 720 Td <00010002> Tj ET",
        );
        let (lines, _) = lines(&bytes);
        assert_eq!(lines.concat(), "中文");
    }

    #[test]
    fn cff_cid_fonts_name_keyed_and_cid_keyed_in_opentype() {
        // A bare name-keyed CFF (CIDFontType0C): CID = glyph id, glyph names give the text.
        let cff = crate::cff::build(&["uni4FE1", "uni7528", "A"], &[], None, &[]);
        let mut program = Stream::new(dictionary! { "Subtype" => "CIDFontType0C" }, cff);
        program.dict.set("Length", program.content.len() as i64);
        let bytes = pdf(
            |doc| {
                type0(
                    doc,
                    "Identity-H",
                    "CIDFontType0",
                    "FontFile3",
                    program,
                    None,
                )
            },
            b"BT /F1 12 Tf 72 720 Td <000100020003> Tj ET",
        );
        assert_eq!(lines(&bytes).0, vec!["信用A"]);

        // An OpenType font with CID-keyed CFF outlines: CID 700 is glyph 1, CID 9 glyph 2, and
        // the font's cmap names glyphs 1 and 2.
        let cff = crate::cff::build(&[], &[700, 9], Some(("Adobe", "Identity")), &[]);
        let cmap = build_cmap_format4(&[(0x8BC4, 1), (0x5206, 2)]);
        let otf = build_sfnt(&[(b"CFF ", cff), (b"cmap", cmap)]);
        let program = Stream::new(dictionary! { "Subtype" => "OpenType" }, otf);
        let bytes = pdf(
            |doc| {
                type0(
                    doc,
                    "Identity-H",
                    "CIDFontType0",
                    "FontFile3",
                    program,
                    None,
                )
            },
            b"BT /F1 12 Tf 72 720 Td <02BC0009> Tj ET",
        );
        assert_eq!(lines(&bytes).0, vec!["评分"]);
    }

    #[test]
    fn cid_keyed_cff_names_its_adobe_collection() {
        // A bare CID-keyed CFF whose ROS says Adobe-Japan1 while the PDF says Adobe-Identity:
        // its CIDs are Japan1 CIDs (1125 is 亜 by H's `<3021> <307e> 1125`, JIS 3021 = 亜).
        let cff = crate::cff::build(&[], &[1125, 1126], Some(("Adobe", "Japan1")), &[]);
        let program = Stream::new(dictionary! { "Subtype" => "CIDFontType0C" }, cff);
        let bytes = pdf(
            |doc| {
                type0(
                    doc,
                    "Identity-H",
                    "CIDFontType0",
                    "FontFile3",
                    program,
                    None,
                )
            },
            b"BT /F1 12 Tf 72 720 Td <04650466> Tj ET",
        );
        let (lines, warnings) = lines(&bytes);
        assert_eq!(lines, vec!["亜唖"]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn embedded_cmap_over_a_shipped_one_falls_back_to_it() {
        // The embedded CMap maps one code itself (<41> to CID 941, 阿 by GB-EUC-H's
        // `<b0a1> <b0fe> 940`) and leaves GBK's codes to GBK-EUC-H.
        let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/GBK-EUC-H usecmap
/CMapName /Custom def /CMapType 1 def
2 begincodespacerange <00> <80> <8140> <FEFE> endcodespacerange
1 begincidchar <41> 941 endcidchar
endcmap CMapName currentdict /CMap defineresource pop end end";
        let bytes = pdf(
            |doc| {
                let mut font = type0(
                    doc,
                    "Identity-H",
                    "CIDFontType0",
                    "FontFile3",
                    Stream::new(dictionary! {}, b"not a font".to_vec()),
                    None,
                );
                let encoding = doc.add_object(Stream::new(dictionary! {}, cmap.to_vec()));
                font.set("Encoding", encoding);
                font
            },
            b"BT /F1 12 Tf 72 720 Td <D6D041> Tj ET",
        );
        let (lines, warnings) = lines(&bytes);
        assert_eq!(lines, vec!["中阿"]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn simple_fonts_read_their_programs_encoding() {
        // A Type1C font with a built-in encoding (0x21 -> glyph "uni94F6") and no /Encoding.
        let cff = crate::cff::build(&["uni94F6", "uni884C"], &[], None, &[0x21, 0x22]);
        let bytes = pdf(
            |doc| {
                let program =
                    doc.add_object(Stream::new(dictionary! { "Subtype" => "Type1C" }, cff));
                let descriptor = doc.add_object(dictionary! {
                    "Type" => "FontDescriptor", "FontName" => "Subset", "Flags" => 4,
                    "FontFile3" => program,
                });
                dictionary! {
                    "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Subset",
                    "FirstChar" => 33, "LastChar" => 34,
                    "Widths" => vec![1000.into(), 1000.into()], "FontDescriptor" => descriptor,
                }
            },
            b"BT /F1 12 Tf 72 720 Td (!\") Tj ET",
        );
        assert_eq!(lines(&bytes).0, vec!["银行"]);

        // A symbolic TrueType font: codes reach glyphs through its (3,0) cmap at 0xF000 + code,
        // and the glyphs' characters come from its (3,1) cmap.
        let mut cmap = build_cmap_format4_for((3, 0), &[(0xF041, 1), (0xF042, 2)]);
        let unicode = build_cmap_format4(&[(0x98CE, 1), (0x9669, 2)]);
        // Join the two subtables into one cmap: two records, offsets past both.
        let sub30 = cmap.split_off(12);
        let sub31 = unicode[12..].to_vec();
        let mut joined = vec![0, 0, 0, 2, 0, 3, 0, 0];
        joined.extend_from_slice(&20u32.to_be_bytes());
        joined.extend_from_slice(&[0, 3, 0, 1]);
        joined.extend_from_slice(&(20 + sub30.len() as u32).to_be_bytes());
        joined.extend(sub30);
        joined.extend(sub31);
        let font = build_sfnt(&[(b"cmap", joined)]);
        let bytes = pdf(
            |doc| {
                let program = doc.add_object(Stream::new(dictionary! {}, font));
                let descriptor = doc.add_object(dictionary! {
                    "Type" => "FontDescriptor", "FontName" => "Sym", "Flags" => 4,
                    "FontFile2" => program,
                });
                dictionary! {
                    "Type" => "Font", "Subtype" => "TrueType", "BaseFont" => "Sym",
                    "FirstChar" => 65, "LastChar" => 66,
                    "Widths" => vec![1000.into(), 1000.into()], "FontDescriptor" => descriptor,
                }
            },
            b"BT /F1 12 Tf 72 720 Td (AB) Tj ET",
        );
        assert_eq!(lines(&bytes).0, vec!["风险"]);
    }

    #[test]
    fn garbage_program_leaves_the_font_unmapped_with_a_warning() {
        let bytes = pdf(
            |doc| {
                type0(
                    doc,
                    "Identity-H",
                    "CIDFontType2",
                    "FontFile2",
                    Stream::new(dictionary! {}, b"\x00\x01\x00\x00garbage".to_vec()),
                    None,
                )
            },
            b"BT /F1 12 Tf 72 720 Td <00010002> Tj ET",
        );
        let (lines, warnings) = lines(&bytes);
        assert!(lines.is_empty(), "{lines:?}");
        assert!(
            warnings.iter().any(|w| w.contains("no Unicode mapping")),
            "{warnings:?}"
        );
    }
}
