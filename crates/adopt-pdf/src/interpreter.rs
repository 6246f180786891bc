//! The content-stream interpreter: runs a page's operators and records positioned glyphs (with
//! their Unicode text) and the straight line segments that tables are drawn with.
//!
//! Coordinates leave here in "display space": the page as a viewer shows it (after /Rotate and
//! the crop box), origin top-left, y growing downwards. Each glyph is further expressed in the
//! frame of its own writing direction (`rot`), so layout code can treat all text as horizontal.

use std::collections::HashMap;
use std::rc::Rc;

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::font::Font;
use crate::lexer::{Lexer, Operand};
use crate::resolve;

/// Limits that keep hostile or broken pages bounded.
const MAX_OPERATORS: usize = 3_000_000;
const MAX_GLYPHS: usize = 1_000_000;
const MAX_FORM_DEPTH: usize = 12;
const MAX_GSTATE_DEPTH: usize = 256;
const MAX_RULINGS: usize = 50_000;

/// An affine matrix `[a b c d e f]`, row-vector convention as in the PDF spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Matrix(pub(crate) [f64; 6]);

impl Matrix {
    pub(crate) const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    pub(crate) fn coefficients(&self) -> [f64; 6] {
        self.0
    }

    /// `self` then `other`.
    fn then(&self, other: &Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [p, q, r, s, t, u] = other.0;
        Matrix([
            a * p + b * r,
            a * q + b * s,
            c * p + d * r,
            c * q + d * s,
            e * p + f * r + t,
            e * q + f * s + u,
        ])
    }

    pub(crate) fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let [a, b, c, d, e, f] = self.0;
        (x * a + y * c + e, x * b + y * d + f)
    }

    fn apply_vector(&self, x: f64, y: f64) -> (f64, f64) {
        let [a, b, c, d, ..] = self.0;
        (x * a + y * c, x * b + y * d)
    }

    fn translate(tx: f64, ty: f64) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, tx, ty])
    }

    fn from_operands(ops: &[Operand]) -> Option<Matrix> {
        if ops.len() < 6 {
            return None;
        }
        let mut m = [0.0; 6];
        for (slot, op) in m.iter_mut().zip(&ops[ops.len() - 6..]) {
            *slot = op.as_f64()?;
        }
        Some(Matrix(m))
    }

    fn from_numbers(v: &[f64]) -> Option<Matrix> {
        let m: [f64; 6] = v.get(..6)?.try_into().ok()?;
        m.iter().all(|x| x.is_finite()).then_some(Matrix(m))
    }
}

/// A glyph in the frame of its writing direction: x grows along the text, y downwards.
#[derive(Debug, Clone)]
pub(crate) struct Glyph {
    pub x0: f64,
    pub x1: f64,
    /// Baseline position across the writing direction.
    pub y: f64,
    /// Font size in display units.
    pub size: f64,
    /// Writing direction in display space, in quarter turns clockwise (0 = left to right).
    pub rot: u8,
    /// Byte range of the glyph's text in [`PageContent::text`].
    pub start: u32,
    pub end: u32,
    /// The glyph is whitespace (a word separator).
    pub space: bool,
}

/// Maps a display-space point into the frame of writing direction `rot` (quarter turns
/// clockwise), where that text runs left to right.
pub(crate) fn to_frame(rot: u8, (x, y): (f64, f64)) -> (f64, f64) {
    match rot {
        1 => (y, -x),
        2 => (-x, -y),
        3 => (-y, x),
        _ => (x, y),
    }
}

/// An axis-aligned line segment in display space (x0 <= x1, y0 <= y1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

/// What the interpreter found on a page.
#[derive(Debug, Default)]
pub(crate) struct PageContent {
    pub glyphs: Vec<Glyph>,
    pub text: String,
    pub segments: Vec<Segment>,
    pub warnings: Vec<String>,
    pub width: f64,
    pub height: f64,
    /// Image XObjects drawn, with the matrix that maps their unit square to display space.
    pub images: Vec<ImageUse>,
    /// Inline images (`BI ... EI`), counted only.
    pub inline_images: usize,
}

/// One image XObject drawn on the page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ImageUse {
    pub id: ObjectId,
    pub ctm: Matrix,
}

/// Most image draws recorded on one page (a page tiled from thousands of strips is cut here).
const MAX_IMAGES: usize = 4096;

impl PageContent {
    pub(crate) fn glyph_text(&self, g: &Glyph) -> &str {
        self.text
            .get(g.start as usize..g.end as usize)
            .unwrap_or("")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum FontKey {
    Id(ObjectId),
    Inline(usize),
}

/// Fonts are shared across pages; parsing one (ToUnicode, widths) is worth doing once.
#[derive(Default)]
pub(crate) struct FontCache {
    fonts: HashMap<FontKey, Rc<Font>>,
}

/// The resource dictionaries in effect, nearest first.
#[derive(Clone)]
struct Resources<'a> {
    dicts: Vec<&'a Dictionary>,
}

impl<'a> Resources<'a> {
    fn lookup(
        &self,
        doc: &'a Document,
        category: &[u8],
        name: &[u8],
    ) -> Option<(Option<ObjectId>, &'a Object)> {
        for d in &self.dicts {
            if let Some(cat) = resolve::dict(doc, d, category) {
                if let Ok(obj) = cat.get(name) {
                    return resolve::deref_with_id(doc, obj);
                }
            }
        }
        None
    }
}

#[derive(Clone)]
struct GState {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    font_size: f64,
    char_spacing: f64,
    word_spacing: f64,
    h_scale: f64,
    leading: f64,
    rise: f64,
}

struct PathState {
    segments: Vec<Segment>,
    /// (start, current) of each subpath, in display space.
    subpaths: Vec<((f64, f64), (f64, f64))>,
}

impl PathState {
    fn line_to(&mut self, p: (f64, f64)) {
        if let Some(sp) = self.subpaths.last_mut() {
            let from = sp.1;
            sp.1 = p;
            push_segment(&mut self.segments, from, p);
        } else {
            self.subpaths.push((p, p));
        }
    }

    fn close(&mut self) {
        if let Some(sp) = self.subpaths.last_mut() {
            let (start, cur) = *sp;
            sp.1 = start;
            push_segment(&mut self.segments, cur, start);
        }
    }

    fn clear(&mut self) {
        self.segments.clear();
        self.subpaths.clear();
    }
}

/// Keeps a segment if it is (nearly) horizontal or vertical; curves and diagonals never make
/// table rulings.
fn push_segment(out: &mut Vec<Segment>, a: (f64, f64), b: (f64, f64)) {
    let (dx, dy) = ((a.0 - b.0).abs(), (a.1 - b.1).abs());
    if !(dx.is_finite() && dy.is_finite()) || (dx < 0.01 && dy < 0.01) {
        return;
    }
    if dx <= 1.0 || dy <= 1.0 {
        out.push(Segment {
            x0: a.0.min(b.0),
            y0: a.1.min(b.1),
            x1: a.0.max(b.0),
            y1: a.1.max(b.1),
        });
    }
}

pub(crate) struct Interpreter<'a, 'c> {
    doc: &'a Document,
    fonts: &'c mut FontCache,
    out: PageContent,
    ops_left: usize,
    gs: GState,
    gstack: Vec<GState>,
    tm: Matrix,
    tlm: Matrix,
    path: PathState,
    form_stack: Vec<ObjectId>,
    scratch: String,
    warned_fonts: Vec<String>,
    truncated: bool,
}

/// Reads a rectangle entry ([llx lly urx ury]) of a page, looking up the page tree.
fn page_box(doc: &Document, page: &Dictionary, key: &[u8]) -> Option<[f64; 4]> {
    let mut node = page;
    for _ in 0..32 {
        if let Some(arr) = resolve::array(doc, node, key) {
            let v = resolve::numbers(doc, arr);
            if v.len() == 4 {
                let (x0, x1) = (v[0].min(v[2]), v[0].max(v[2]));
                let (y0, y1) = (v[1].min(v[3]), v[1].max(v[3]));
                if x1 - x0 > 1.0 && y1 - y0 > 1.0 {
                    return Some([x0, y0, x1, y1]);
                }
            }
            return None;
        }
        node = resolve::dict(doc, node, b"Parent")?;
    }
    None
}

fn page_rotation(doc: &Document, page: &Dictionary) -> i64 {
    let mut node = page;
    for _ in 0..32 {
        if let Some(r) = resolve::num(doc, node, b"Rotate") {
            return (r as i64 / 90).rem_euclid(4) * 90;
        }
        match resolve::dict(doc, node, b"Parent") {
            Some(p) => node = p,
            None => break,
        }
    }
    0
}

impl<'a, 'c> Interpreter<'a, 'c> {
    pub(crate) fn new(doc: &'a Document, fonts: &'c mut FontCache) -> Self {
        Interpreter {
            doc,
            fonts,
            out: PageContent::default(),
            ops_left: MAX_OPERATORS,
            gs: GState {
                ctm: Matrix::IDENTITY,
                font: None,
                font_size: 0.0,
                char_spacing: 0.0,
                word_spacing: 0.0,
                h_scale: 1.0,
                leading: 0.0,
                rise: 0.0,
            },
            gstack: Vec::new(),
            tm: Matrix::IDENTITY,
            tlm: Matrix::IDENTITY,
            path: PathState {
                segments: Vec::new(),
                subpaths: Vec::new(),
            },
            form_stack: Vec::new(),
            scratch: String::new(),
            warned_fonts: Vec::new(),
            truncated: false,
        }
    }

    /// Interprets one page's content streams.
    pub(crate) fn run_page(mut self, page_id: ObjectId) -> PageContent {
        let doc = self.doc;
        let Ok(page) = doc.get_dictionary(page_id) else {
            self.out
                .warnings
                .push("page object is not a dictionary".into());
            return self.out;
        };
        let media = page_box(doc, page, b"MediaBox").unwrap_or([0.0, 0.0, 612.0, 792.0]);
        let bbox = page_box(doc, page, b"CropBox")
            .map(|c| {
                // The crop box is clipped to the media box; a disjoint one is ignored.
                let b = [
                    c[0].max(media[0]),
                    c[1].max(media[1]),
                    c[2].min(media[2]),
                    c[3].min(media[3]),
                ];
                if b[2] - b[0] > 1.0 && b[3] - b[1] > 1.0 {
                    b
                } else {
                    media
                }
            })
            .unwrap_or(media);
        let [llx, lly, urx, ury] = bbox;
        let (w, h) = (urx - llx, ury - lly);
        let rotation = page_rotation(doc, page);
        // PDF user space -> display space (y down), per /Rotate (clockwise).
        let base = match rotation {
            90 => Matrix([0.0, 1.0, 1.0, 0.0, -lly, -llx]),
            180 => Matrix([-1.0, 0.0, 0.0, 1.0, urx, -lly]),
            270 => Matrix([0.0, -1.0, -1.0, 0.0, ury, urx]),
            _ => Matrix([1.0, 0.0, 0.0, -1.0, -llx, ury]),
        };
        (self.out.width, self.out.height) = if rotation % 180 == 0 { (w, h) } else { (h, w) };
        self.gs.ctm = base;

        let (inline, ids) = doc
            .get_page_resources(page_id)
            .unwrap_or((None, Vec::new()));
        let mut dicts: Vec<&Dictionary> = inline.into_iter().collect();
        dicts.extend(ids.iter().filter_map(|id| doc.get_dictionary(*id).ok()));
        let resources = Resources { dicts };

        let content = match doc.get_page_content_with_limit(page_id, resolve::MAX_STREAM_BYTES) {
            Ok(c) => c,
            Err(e) => {
                self.out
                    .warnings
                    .push(format!("page content unreadable: {e}"));
                return self.out;
            }
        };
        self.run(&content, &resources);
        self.gs.ctm = base;
        self.gstack.clear();
        self.run_annotations(page_id, &resources);
        if self.truncated {
            self.out
                .warnings
                .push("page content exceeds processing limits; text truncated".into());
        }
        self.out
    }

    fn run(&mut self, content: &[u8], res: &Resources<'a>) {
        let mut lexer = Lexer::new(content);
        let mut ops: Vec<Operand> = Vec::new();
        while let Some(op) = lexer.next_op(&mut ops) {
            if self.ops_left == 0 {
                self.truncated = true;
                return;
            }
            self.ops_left -= 1;
            self.operator(op, &ops, res);
        }
    }

    fn num(ops: &[Operand], from_end: usize) -> Option<f64> {
        ops.len()
            .checked_sub(from_end)
            .and_then(|i| ops[i].as_f64())
    }

    fn operator(&mut self, op: &[u8], ops: &[Operand], res: &Resources<'a>) {
        let n = |k| Self::num(ops, k);
        match op {
            b"q" if self.gstack.len() < MAX_GSTATE_DEPTH => self.gstack.push(self.gs.clone()),
            b"Q" => {
                if let Some(g) = self.gstack.pop() {
                    self.gs = g;
                }
            }
            b"cm" => {
                if let Some(m) = Matrix::from_operands(ops) {
                    self.gs.ctm = m.then(&self.gs.ctm);
                }
            }
            b"BT" => {
                self.tm = Matrix::IDENTITY;
                self.tlm = Matrix::IDENTITY;
            }
            b"ET" => {}
            b"Tf" => {
                if let Some(size) = n(1) {
                    self.gs.font_size = size;
                }
                if let Some(Operand::Name(name)) = ops.len().checked_sub(2).map(|i| &ops[i]) {
                    self.gs.font = self.load_font(res, name);
                }
            }
            b"Tc" => self.gs.char_spacing = n(1).unwrap_or(0.0),
            b"Tw" => self.gs.word_spacing = n(1).unwrap_or(0.0),
            b"Tz" => self.gs.h_scale = n(1).unwrap_or(100.0) / 100.0,
            b"TL" => self.gs.leading = n(1).unwrap_or(0.0),
            b"Ts" => self.gs.rise = n(1).unwrap_or(0.0),
            b"Td" => {
                if let (Some(tx), Some(ty)) = (n(2), n(1)) {
                    self.next_line(tx, ty);
                }
            }
            b"TD" => {
                if let (Some(tx), Some(ty)) = (n(2), n(1)) {
                    self.gs.leading = -ty;
                    self.next_line(tx, ty);
                }
            }
            b"Tm" => {
                if let Some(m) = Matrix::from_operands(ops) {
                    self.tm = m;
                    self.tlm = m;
                }
            }
            b"T*" => self.next_line(0.0, -self.gs.leading),
            b"Tj" => {
                if let Some(Operand::String(s)) = ops.last() {
                    self.show(s);
                }
            }
            b"'" => {
                self.next_line(0.0, -self.gs.leading);
                if let Some(Operand::String(s)) = ops.last() {
                    self.show(s);
                }
            }
            b"\"" => {
                if let (Some(aw), Some(ac)) = (n(3), n(2)) {
                    self.gs.word_spacing = aw;
                    self.gs.char_spacing = ac;
                }
                self.next_line(0.0, -self.gs.leading);
                if let Some(Operand::String(s)) = ops.last() {
                    self.show(s);
                }
            }
            b"TJ" => {
                if let Some(Operand::Array(items)) = ops.last() {
                    for item in items {
                        match item {
                            Operand::String(s) => self.show(s),
                            Operand::Number(adj) => self.adjust(*adj),
                            _ => {}
                        }
                    }
                }
            }
            b"BI" => self.out.inline_images += 1,
            b"Do" => {
                if let Some(Operand::Name(name)) = ops.last() {
                    self.do_xobject(res, name);
                }
            }
            b"m" => {
                if let (Some(x), Some(y)) = (n(2), n(1)) {
                    let p = self.gs.ctm.apply(x, y);
                    self.path.subpaths.push((p, p));
                }
            }
            b"l" => {
                if let (Some(x), Some(y)) = (n(2), n(1)) {
                    let p = self.gs.ctm.apply(x, y);
                    self.path.line_to(p);
                }
            }
            b"c" | b"v" | b"y" => {
                // Curves never form rulings: only move the current point.
                if let (Some(x), Some(y)) = (n(2), n(1)) {
                    let p = self.gs.ctm.apply(x, y);
                    match self.path.subpaths.last_mut() {
                        Some(sp) => sp.1 = p,
                        None => self.path.subpaths.push((p, p)),
                    }
                }
            }
            b"h" => self.path.close(),
            b"re" => {
                if let (Some(x), Some(y), Some(w), Some(h)) = (n(4), n(3), n(2), n(1)) {
                    let m = &self.gs.ctm;
                    let p0 = m.apply(x, y);
                    self.path.subpaths.push((p0, p0));
                    self.path.line_to(m.apply(x + w, y));
                    self.path.line_to(m.apply(x + w, y + h));
                    self.path.line_to(m.apply(x, y + h));
                    self.path.close();
                }
            }
            b"S" | b"s" | b"f" | b"F" | b"f*" | b"B" | b"B*" | b"b" | b"b*" => {
                if op != b"S" && op != b"s" {
                    // Filling closes every open subpath implicitly.
                    let subpaths = std::mem::take(&mut self.path.subpaths);
                    for (start, cur) in &subpaths {
                        push_segment(&mut self.path.segments, *cur, *start);
                    }
                } else if op == b"s" {
                    self.path.close();
                }
                let room = MAX_RULINGS.saturating_sub(self.out.segments.len());
                let segs = std::mem::take(&mut self.path.segments);
                self.out.segments.extend(segs.into_iter().take(room));
                self.path.clear();
            }
            b"n" => self.path.clear(),
            _ => {}
        }
    }

    fn next_line(&mut self, tx: f64, ty: f64) {
        self.tlm = Matrix::translate(tx, ty).then(&self.tlm);
        self.tm = self.tlm;
    }

    fn adjust(&mut self, adj: f64) {
        let fs = self.gs.font_size;
        let vertical = self.gs.font.as_ref().is_some_and(|f| f.vertical);
        if vertical {
            self.tm = Matrix::translate(0.0, -adj / 1000.0 * fs).then(&self.tm);
        } else {
            let tx = -adj / 1000.0 * fs * self.gs.h_scale;
            self.tm = Matrix::translate(tx, 0.0).then(&self.tm);
        }
    }

    fn load_font(&mut self, res: &Resources<'a>, name: &[u8]) -> Option<Rc<Font>> {
        let (id, obj) = res.lookup(self.doc, b"Font", name)?;
        let dict = resolve::as_dict(obj)?;
        let key = match id {
            Some(id) => FontKey::Id(id),
            None => FontKey::Inline(dict as *const Dictionary as usize),
        };
        if let Some(f) = self.fonts.fonts.get(&key) {
            return Some(f.clone());
        }
        let font = Rc::new(Font::load(self.doc, dict));
        self.fonts.fonts.insert(key, font.clone());
        Some(font)
    }

    fn show(&mut self, bytes: &[u8]) {
        let Some(font) = self.gs.font.clone() else {
            return;
        };
        let gs = self.gs.clone();
        let fs = gs.font_size;
        let th = gs.h_scale;
        let mut rest = bytes;
        while !rest.is_empty() {
            let (code, len) = font.next_code(rest);
            let len = len.clamp(1, rest.len());
            let code_bytes = &rest[..len];
            rest = &rest[len..];
            let w = font.width(code, len);
            let word_space = if Font::is_word_space(code, len) {
                gs.word_spacing
            } else {
                0.0
            };

            let m = self.tm.then(&gs.ctm);
            if self.out.glyphs.len() < MAX_GLYPHS {
                self.scratch.clear();
                let known = font.write_text(code, code_bytes, &mut self.scratch);
                if !known && font.lacks_unicode && !self.warned_fonts.contains(&font.name) {
                    self.warned_fonts.push(font.name.clone());
                    self.out.warnings.push(match &font.unknown_collection {
                        Some(c) => format!(
                            "font {:?} has no Unicode mapping (no ToUnicode, and character \
                             collection {c:?} is not one we know); its text is left out",
                            font.name
                        ),
                        None => format!(
                            "font {:?} has no Unicode mapping; its text is left out",
                            font.name
                        ),
                    });
                }
                if known && !self.scratch.is_empty() {
                    let (origin, end, dir, up) = if font.vertical {
                        let o = m.apply(0.0, 0.0);
                        (
                            o,
                            m.apply(0.0, -fs),
                            m.apply_vector(0.0, -1.0),
                            m.apply_vector(fs, 0.0),
                        )
                    } else {
                        (
                            m.apply(0.0, gs.rise),
                            m.apply(w * fs * th, gs.rise),
                            m.apply_vector(1.0, 0.0),
                            m.apply_vector(0.0, fs * font.size_scale),
                        )
                    };
                    self.push_glyph(origin, end, dir, up);
                }
            } else {
                self.truncated = true;
            }

            if font.vertical {
                let ty = -(fs + gs.char_spacing + word_space);
                self.tm = Matrix::translate(0.0, ty).then(&self.tm);
            } else {
                let tx = (w * fs + gs.char_spacing + word_space) * th;
                self.tm = Matrix::translate(tx, 0.0).then(&self.tm);
            }
        }
    }

    /// Records the glyph whose text is in `self.scratch`.
    fn push_glyph(&mut self, origin: (f64, f64), end: (f64, f64), dir: (f64, f64), up: (f64, f64)) {
        let size = up.0.hypot(up.1);
        let finite = [origin.0, origin.1, end.0, end.1, size];
        if !finite.iter().all(|v| v.is_finite()) {
            return;
        }
        let angle = dir.1.atan2(dir.0);
        let rot = ((angle / std::f64::consts::FRAC_PI_2).round() as i64).rem_euclid(4) as u8;
        let frame = |p: (f64, f64)| to_frame(rot, p);
        let (fx0, fy) = frame(origin);
        let (fx1, _) = frame(end);
        let start = self.out.text.len() as u32;
        let mut space = true;
        for c in self.scratch.chars() {
            match c {
                '\u{FB00}' => self.out.text.push_str("ff"),
                '\u{FB01}' => self.out.text.push_str("fi"),
                '\u{FB02}' => self.out.text.push_str("fl"),
                '\u{FB03}' => self.out.text.push_str("ffi"),
                '\u{FB04}' => self.out.text.push_str("ffl"),
                '\u{FB05}' | '\u{FB06}' => self.out.text.push_str("st"),
                c if c.is_whitespace() || c == '\u{00A0}' => {
                    self.out.text.push(' ');
                    continue;
                }
                c if c.is_control() || c == '\u{FFFD}' || c == '\u{FEFF}' => continue,
                c => self.out.text.push(c),
            }
            space = false;
        }
        let end_idx = self.out.text.len() as u32;
        if end_idx == start {
            return;
        }
        if space {
            // Keep one space glyph's text: it only separates words.
            self.out.text.truncate(start as usize + 1);
        }
        self.out.glyphs.push(Glyph {
            x0: fx0.min(fx1),
            x1: fx0.max(fx1),
            y: fy,
            size: size.max(0.1),
            rot,
            start,
            end: self.out.text.len() as u32,
            space,
        });
    }

    fn do_xobject(&mut self, res: &Resources<'a>, name: &[u8]) {
        let doc = self.doc;
        let Some((id, Object::Stream(stream))) = res.lookup(doc, b"XObject", name) else {
            return;
        };
        match resolve::name(doc, &stream.dict, b"Subtype") {
            Some(b"Form") => self.run_form(id, stream, res, None),
            Some(b"Image") => {
                if let Some(id) = id {
                    if self.out.images.len() < MAX_IMAGES {
                        self.out.images.push(ImageUse {
                            id,
                            ctm: self.gs.ctm,
                        });
                    }
                }
            }
            _ => {}
        }
    }

    /// Draws the normal appearance streams of form fields and free-text annotations, whose text
    /// viewers (and pdftotext) show as part of the page.
    fn run_annotations(&mut self, page_id: ObjectId, res: &Resources<'a>) {
        let doc = self.doc;
        let Ok(annots) = doc.get_page_annotations(page_id) else {
            return;
        };
        for annot in annots.into_iter().take(2000) {
            let subtype = resolve::name(doc, annot, b"Subtype").unwrap_or(b"");
            let flags = resolve::num(doc, annot, b"F").unwrap_or(0.0) as i64;
            // Markup annotations (highlights, stamps, notes) restate or decorate page text;
            // only form fields and free-text boxes carry text of their own.
            if !matches!(subtype, b"Widget" | b"FreeText") || flags & (2 | 32) != 0 {
                continue;
            }
            let Some(ap) = resolve::dict(doc, annot, b"AP") else {
                continue;
            };
            let normal = match ap
                .get(b"N")
                .ok()
                .and_then(|o| resolve::deref_with_id(doc, o))
            {
                Some((id, Object::Stream(s))) => Some((id, s)),
                Some((_, Object::Dictionary(states))) => {
                    let state = resolve::name(doc, annot, b"AS").unwrap_or(b"Off");
                    states
                        .get(state)
                        .ok()
                        .and_then(|o| resolve::deref_with_id(doc, o))
                        .and_then(|(id, o)| match o {
                            Object::Stream(s) => Some((id, s)),
                            _ => None,
                        })
                }
                _ => None,
            };
            let Some((id, stream)) = normal else {
                continue;
            };
            let rect = resolve::array(doc, annot, b"Rect").map(|a| resolve::numbers(doc, a));
            let bbox = resolve::array(doc, &stream.dict, b"BBox").map(|a| resolve::numbers(doc, a));
            let (Some(rect), Some(bbox)) = (rect, bbox) else {
                continue;
            };
            if rect.len() < 4 || bbox.len() < 4 {
                continue;
            }
            let form_matrix = resolve::array(doc, &stream.dict, b"Matrix")
                .map(|a| resolve::numbers(doc, a))
                .and_then(|v| Matrix::from_numbers(&v))
                .unwrap_or(Matrix::IDENTITY);
            // ISO 32000-1, 12.5.5: map the transformed BBox onto Rect.
            let corners = [
                (bbox[0], bbox[1]),
                (bbox[2], bbox[1]),
                (bbox[0], bbox[3]),
                (bbox[2], bbox[3]),
            ]
            .map(|(x, y)| form_matrix.apply(x, y));
            let bx0 = corners.iter().map(|c| c.0).fold(f64::MAX, f64::min);
            let bx1 = corners.iter().map(|c| c.0).fold(f64::MIN, f64::max);
            let by0 = corners.iter().map(|c| c.1).fold(f64::MAX, f64::min);
            let by1 = corners.iter().map(|c| c.1).fold(f64::MIN, f64::max);
            if bx1 - bx0 < 1e-6 || by1 - by0 < 1e-6 {
                continue;
            }
            let (rx0, ry0) = (rect[0].min(rect[2]), rect[1].min(rect[3]));
            let (rx1, ry1) = (rect[0].max(rect[2]), rect[1].max(rect[3]));
            let sx = (rx1 - rx0) / (bx1 - bx0);
            let sy = (ry1 - ry0) / (by1 - by0);
            let to_rect = Matrix([sx, 0.0, 0.0, sy, rx0 - bx0 * sx, ry0 - by0 * sy]);
            self.run_form(id, stream, res, Some(to_rect));
        }
    }

    fn run_form(
        &mut self,
        id: Option<ObjectId>,
        stream: &'a lopdf::Stream,
        res: &Resources<'a>,
        outer: Option<Matrix>,
    ) {
        let doc = self.doc;
        if self.form_stack.len() >= MAX_FORM_DEPTH {
            self.truncated = true;
            return;
        }
        if let Some(id) = id {
            if self.form_stack.contains(&id) {
                return; // a form that draws itself
            }
        }
        let Some(content) = resolve::stream_bytes(stream) else {
            self.out
                .warnings
                .push("a form XObject could not be decoded".into());
            return;
        };
        let matrix = resolve::array(doc, &stream.dict, b"Matrix")
            .map(|a| resolve::numbers(doc, a))
            .and_then(|v| Matrix::from_numbers(&v))
            .unwrap_or(Matrix::IDENTITY);
        let form_res = match resolve::dict(doc, &stream.dict, b"Resources") {
            Some(d) => Resources { dicts: vec![d] },
            None => res.clone(),
        };
        let saved_gs = self.gs.clone();
        let saved_stack = self.gstack.len();
        let (saved_tm, saved_tlm) = (self.tm, self.tlm);
        if let Some(outer) = outer {
            // Annotation appearances start from the page's default state.
            self.gs.ctm = outer.then(&self.gs.ctm);
            self.tm = Matrix::IDENTITY;
        }
        self.gs.ctm = matrix.then(&self.gs.ctm);
        self.form_stack.push(id.unwrap_or((0, 0)));
        self.run(&content, &form_res);
        self.form_stack.pop();
        self.gstack.truncate(saved_stack);
        self.gs = saved_gs;
        self.tm = saved_tm;
        self.tlm = saved_tlm;
        self.path.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_composition() {
        let scale = Matrix([2.0, 0.0, 0.0, 2.0, 0.0, 0.0]);
        let shift = Matrix::translate(10.0, 5.0);
        assert_eq!(scale.then(&shift).apply(1.0, 1.0), (12.0, 7.0));
        assert_eq!(shift.then(&scale).apply(1.0, 1.0), (22.0, 12.0));
    }
}
