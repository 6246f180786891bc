//! Typed, dereferencing reads of lopdf objects that return `None` instead of failing: a missing
//! or mistyped key in a real-world PDF should degrade output, not abort it.

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

/// Reference chains longer than this are treated as broken (they can be cyclic).
const MAX_DEREF: usize = 16;

/// Largest decoded stream we accept (fonts, CMaps, forms): a guard against decompression bombs.
pub(crate) const MAX_STREAM_BYTES: usize = 64 * 1024 * 1024;

pub(crate) fn deref<'a>(doc: &'a Document, mut obj: &'a Object) -> Option<&'a Object> {
    for _ in 0..MAX_DEREF {
        match obj {
            Object::Reference(id) => obj = doc.objects.get(id)?,
            other => return Some(other),
        }
    }
    None
}

/// Like [`deref`], also giving the id of the last reference followed (for caching).
pub(crate) fn deref_with_id<'a>(
    doc: &'a Document,
    mut obj: &'a Object,
) -> Option<(Option<ObjectId>, &'a Object)> {
    let mut id = None;
    for _ in 0..MAX_DEREF {
        match obj {
            Object::Reference(r) => {
                id = Some(*r);
                obj = doc.objects.get(r)?;
            }
            other => return Some((id, other)),
        }
    }
    None
}

pub(crate) fn get<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    deref(doc, dict.get(key).ok()?)
}

pub(crate) fn dict<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    key: &[u8],
) -> Option<&'a Dictionary> {
    as_dict(get(doc, dict, key)?)
}

/// A dictionary, or a stream's dictionary.
pub(crate) fn as_dict(obj: &Object) -> Option<&Dictionary> {
    match obj {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

pub(crate) fn stream<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    key: &[u8],
) -> Option<&'a Stream> {
    match get(doc, dict, key)? {
        Object::Stream(s) => Some(s),
        _ => None,
    }
}

pub(crate) fn array<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    key: &[u8],
) -> Option<&'a [Object]> {
    match get(doc, dict, key)? {
        Object::Array(a) => Some(a),
        _ => None,
    }
}

pub(crate) fn name<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    match get(doc, dict, key)? {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

pub(crate) fn number(obj: &Object) -> Option<f64> {
    match obj {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) if r.is_finite() => Some(f64::from(*r)),
        _ => None,
    }
}

pub(crate) fn num(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<f64> {
    number(get(doc, dict, key)?)
}

/// Numbers of an array, dereferencing each element.
pub(crate) fn numbers(doc: &Document, arr: &[Object]) -> Vec<f64> {
    arr.iter()
        .filter_map(|o| deref(doc, o).and_then(number))
        .collect()
}

/// Decoded stream bytes, or `None` when a filter fails: compressed garbage fed to the content
/// lexer would come out as junk text.
pub(crate) fn stream_bytes(s: &Stream) -> Option<Vec<u8>> {
    if s.dict.get(b"Filter").is_err() {
        return Some(s.content.clone());
    }
    s.decompressed_content_with_limit(MAX_STREAM_BYTES).ok()
}
